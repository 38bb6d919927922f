/* s3_req.c - one signed S3 request with libcurl, and what it needs.
 *
 * Signing is libcurl's (CURLOPT_AWS_SIGV4), with the gaps of curl 7.88
 * filled here: it sends no x-amz-content-sha256 (we add the body's sha256,
 * or UNSIGNED-PAYLOAD for streamed bodies), it signs the query as given (so
 * callers pass it sorted and encoded), and the key id goes in
 * CURLOPT_USERNAME on its own because it may contain ':'. Keys are
 * URI-encoded here the way S3 canonicalises them, so what curl sends and
 * what it signs are the same bytes. The secret is only ever handed to
 * curl: no message built here contains it. */
#include "s3.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S3_SHA256_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

void s3_encode(sbuf *out, const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
            sbuf_putc(out, (char)c);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            sbuf_append(out, esc, 3);
        }
    }
}

void s3_key(const s3_store *s, const char *rel, sbuf *out)
{
    sbuf_reset(out);
    sbuf_puts(out, s->prefix);
    if (s->prefix[0] && rel[0])
        sbuf_putc(out, '/');
    sbuf_puts(out, rel);
}

void s3_display(const s3_store *s, const char *key, sbuf *out)
{
    sbuf_reset(out);
    sbuf_printf(out, "s3://%s/%s", s->bucket, key ? key : "");
}

/* ---- the handle pool: idle handles keep their connections open ---- */

CURL *s3_handle_get(s3_store *s)
{
    CURL *h = NULL;
    pthread_mutex_lock(&s->pool_mu);
    if (s->npool > 0)
        h = s->pool[--s->npool];
    pthread_mutex_unlock(&s->pool_mu);
    if (h == NULL && (h = curl_easy_init()) == NULL)
        abort(); /* as sbuf: no memory for a handle, nothing useful to answer */
    return h;
}

void s3_handle_put(s3_store *s, CURL *h)
{
    if (h == NULL)
        return;
    pthread_mutex_lock(&s->pool_mu);
    if (s->npool < S3_POOL_MAX) {
        s->pool[s->npool++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&s->pool_mu);
    if (h != NULL)
        curl_easy_cleanup(h);
}

/* ---- responses ---- */

void s3_resp_init(s3_resp *r)
{
    memset(r, 0, sizeof *r);
    r->length = r->total = -1;
}

void s3_resp_free(s3_resp *r)
{
    sbuf_free(&r->body);
    sbuf_free(&r->etag);
}

typedef struct {
    CURL *h;
    const s3_call *c;
    s3_resp *r;
    bool too_big;
} s3_xfer;

static bool s3_is_2xx(long status)
{
    return status >= 200 && status < 300;
}

static size_t s3_on_header(char *p, size_t size, size_t n, void *arg)
{
    s3_xfer *x = arg;
    size_t len = size * n;
    /* A new status line (after a 100 Continue): forget the headers seen. */
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        sbuf_reset(&x->r->etag);
        x->r->length = x->r->total = -1;
        return len;
    }
    const char *colon = memchr(p, ':', len);
    if (colon == NULL)
        return len;
    size_t nlen = (size_t)(colon - p);
    const char *v = colon + 1, *end = p + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    sbuf val = SBUF_INIT;
    sbuf_append(&val, v, (size_t)(end - v));
    if (nlen == 4 && strncasecmp(p, "etag", 4) == 0) {
        sbuf_reset(&x->r->etag);
        sbuf_puts(&x->r->etag, val.data);
    } else if (nlen == 14 && strncasecmp(p, "content-length", 14) == 0) {
        x->r->length = strtoll(val.data, NULL, 10);
    } else if (nlen == 13 && strncasecmp(p, "content-range", 13) == 0) {
        const char *slash = strchr(val.data, '/');
        if (slash && slash[1] != '*')
            x->r->total = strtoll(slash + 1, NULL, 10);
    }
    sbuf_free(&val);
    return len;
}

static size_t s3_on_body(char *p, size_t size, size_t n, void *arg)
{
    s3_xfer *x = arg;
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
    if (s3_is_2xx(status) && x->c->sink)
        return x->c->sink(p, len, x->c->sink_arg);
    if (x->r->body.len + len > S3_RESP_MAX) {
        x->too_big = true;
        return 0;
    }
    sbuf_append(&x->r->body, p, len);
    return len;
}

static int s3_on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    s3_xfer *x = arg;
    return x->c->stop && x->c->stop(x->c->stop_arg) ? 1 : 0;
}

static void s3_sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static struct curl_slist *s3_header(struct curl_slist *l, const char *name, const char *value)
{
    sbuf h = SBUF_INIT;
    sbuf_printf(&h, "%s: %s", name, value);
    struct curl_slist *n = curl_slist_append(l, h.data);
    sbuf_free(&h);
    if (n == NULL)
        abort();
    return n;
}

int s3_perform(s3_store *s, CURL *h, const s3_call *c, s3_resp *r, cerr *e)
{
    s3_resp_init(r);
    curl_easy_reset(h);

    sbuf url = SBUF_INIT;
    sbuf_printf(&url, "%s/", s->endpoint);
    s3_encode(&url, s->bucket, false);
    if (c->key) {
        sbuf_putc(&url, '/');
        s3_encode(&url, c->key, true);
    }
    if (c->query && c->query[0])
        sbuf_printf(&url, "?%s", c->query);

    struct curl_slist *hdrs = NULL;
    char sha[65];
    if (c->read)
        strcpy(sha, "UNSIGNED-PAYLOAD");
    else if (c->has_body)
        s3_sha256_hex(c->body, c->body_len, sha);
    else
        strcpy(sha, S3_SHA256_EMPTY);
    hdrs = s3_header(hdrs, "x-amz-content-sha256", sha);
    if (s->token)
        hdrs = s3_header(hdrs, "x-amz-security-token", s->token);
    if (c->content_type)
        hdrs = s3_header(hdrs, "Content-Type", c->content_type);
    else if (c->has_body || c->read)
        hdrs = s3_header(hdrs, "Content-Type", "application/octet-stream");
    if (c->content_md5)
        hdrs = s3_header(hdrs, "Content-MD5", c->content_md5);
    if (c->range)
        hdrs = s3_header(hdrs, "Range", c->range);

    s3_xfer x = {.h = h, .c = c, .r = r};
    curl_easy_setopt(h, CURLOPT_URL, url.data);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, S3_CONNECT_TIMEOUT_SECS);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, S3_LOW_SPEED);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, S3_LOW_SPEED_SECS);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->curl_err);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, s3_on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s3_on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, s3_on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &x);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, c->stop ? 0L : 1L);
    if (c->sink)
        curl_easy_setopt(h, CURLOPT_BUFFERSIZE, S3_CURL_RECV_BUF);
    if (c->read)
        curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, S3_CURL_SEND_BUF);
    if (s->access_key) {
        curl_easy_setopt(h, CURLOPT_AWS_SIGV4, s->sigv4);
        curl_easy_setopt(h, CURLOPT_USERNAME, s->access_key);
        curl_easy_setopt(h, CURLOPT_PASSWORD, s->secret_key ? s->secret_key : "");
    }

    const char *m = c->method;
    if (strcmp(m, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (c->read) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, c->read);
        curl_easy_setopt(h, CURLOPT_READDATA, c->read_arg);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)c->read_len);
        if (strcmp(m, "PUT") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    } else if (c->has_body || strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->has_body ? c->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(c->has_body ? c->body_len : 0));
        if (strcmp(m, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    } else if (strcmp(m, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    }

    r->cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    sbuf_free(&url);

    if (r->cc == CURLE_OK)
        return 0;
    sbuf where = SBUF_INIT;
    s3_display(s, c->key, &where);
    int rc;
    if (x.too_big)
        rc = cerr_set(e, CERR_INTERNAL_ERROR, "S3 %s %s failed: answer larger than %u bytes", m,
                      where.data, S3_RESP_MAX);
    else if (r->cc == CURLE_ABORTED_BY_CALLBACK || (r->cc == CURLE_WRITE_ERROR && c->sink))
        rc = cerr_set(e, CERR_INTERNAL_ERROR, "S3 %s %s stopped", m, where.data);
    else
        rc = cerr_set(e, CERR_INTERNAL_ERROR, "S3 %s %s failed: no answer from %s: %s", m,
                      where.data, s->endpoint,
                      r->curl_err[0] ? r->curl_err : curl_easy_strerror(r->cc));
    sbuf_free(&where);
    return rc;
}

int s3_request(s3_store *s, const s3_call *c, s3_resp *r, cerr *e)
{
    CURL *h = s3_handle_get(s);
    int rc = s3_perform(s, h, c, r, e);
    if (rc == 0)
        s3_handle_put(s, h);
    else
        curl_easy_cleanup(h); /* its connection may be in any state */
    return rc;
}

int s3_fail(s3_store *s, const char *method, const char *key, const s3_resp *r, cerr *e)
{
    sbuf where = SBUF_INIT, code = SBUF_INIT, msg = SBUF_INIT;
    s3_display(s, key, &where);
    if (s3_xml_error(r->body.data, r->body.len, &code, &msg) && code.len > 0)
        cerr_set(e, CERR_INTERNAL_ERROR, "S3 %s %s failed: %ld %s: %s", method, where.data,
                 r->status, code.data, msg.len ? msg.data : "(no message)");
    else
        cerr_set(e, CERR_INTERNAL_ERROR, "S3 %s %s failed: HTTP %ld", method, where.data,
                 r->status);
    sbuf_free(&where);
    sbuf_free(&code);
    sbuf_free(&msg);
    return -1;
}
