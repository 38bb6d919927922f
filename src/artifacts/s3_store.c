/* s3_store.c - the S3 artifact store: open, check, list, delete.
 *
 * A store is a bucket and a key prefix; rel "a/b" is the key
 * "<prefix>/a/b". S3 has no folders: a folder is the keys below
 * "<key>/", listed with ListObjectsV2 and delimiter '/' (CommonPrefixes are
 * the sub-folders) and deleted with DeleteObjects in batches. Credentials
 * and the endpoint come from the environment as boto reads them, once, at
 * open; the secret never leaves the store struct but to curl, and is wiped
 * when the store is freed. Requests use path-style URLs
 * (<endpoint>/<bucket>/<key>), which every S3-compatible server accepts. */
#include "s3.h"

#include <libxml/parser.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "../util/path.h"
#include "listing.h"

static pthread_once_t s3_once = PTHREAD_ONCE_INIT;

/* Both libraries want one initialisation before any thread uses them. */
static void s3_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    xmlInitParser();
}

static char *s3_strdup(const char *s)
{
    char *d = strdup(s);
    if (d == NULL)
        abort();
    return d;
}

/* An environment variable, NULL when unset or empty (as boto treats it). */
static const char *s3_env(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] ? v : NULL;
}

static void s3_wipe_free(char *s)
{
    if (s == NULL)
        return;
    volatile char *p = s;
    while (*p)
        *p++ = '\0';
    free(s);
}

static void s3_free(artifacts_store *st)
{
    s3_store *s = (s3_store *)st;
    if (s == NULL)
        return;
    for (int i = 0; i < s->npool; i++)
        curl_easy_cleanup(s->pool[i]);
    pthread_mutex_destroy(&s->pool_mu);
    free(s->base.uri);
    free(s->bucket);
    free(s->prefix);
    free(s->endpoint);
    free(s->region);
    free(s->sigv4);
    free(s->access_key);
    s3_wipe_free(s->secret_key);
    s3_wipe_free(s->token);
    free(s);
}

/* ---- listing ---- */

/* The ListObjectsV2 query, its parameters in sorted order (see s3.h). */
static void s3_list_query(sbuf *q, const char *token, bool delimit, long max_keys,
                          const char *prefix)
{
    sbuf_reset(q);
    if (token) {
        sbuf_puts(q, "continuation-token=");
        s3_encode(q, token, false);
        sbuf_putc(q, '&');
    }
    if (delimit)
        sbuf_puts(q, "delimiter=%2F&");
    sbuf_printf(q, "list-type=2&max-keys=%ld&prefix=", max_keys);
    s3_encode(q, prefix, false);
}

/* One page of keys under prefix; token NULL for the first. */
static int s3_list_page_get(s3_store *s, const char *prefix, const char *token, bool delimit,
                            long max_keys, s3_list_page *page, cerr *e)
{
    sbuf q = SBUF_INIT;
    s3_list_query(&q, token, delimit, max_keys, prefix);
    s3_call c = {.method = "GET", .query = q.data};
    s3_resp r;
    int rc = s3_request(s, &c, &r, e);
    if (rc == 0 && r.status != 200)
        rc = s3_fail(s, "GET", NULL, &r, e);
    if (rc == 0 && s3_xml_list(r.body.data, r.body.len, page) < 0) {
        sbuf where = SBUF_INIT;
        s3_display(s, prefix, &where);
        rc = cerr_set(e, CERR_INTERNAL_ERROR, "S3 GET %s failed: the listing is not S3's XML",
                      where.data);
        sbuf_free(&where);
    }
    s3_resp_free(&r);
    sbuf_free(&q);
    return rc;
}

int s3_is_folder(s3_store *s, const char *key, bool *folder, cerr *e)
{
    sbuf p = SBUF_INIT;
    sbuf_printf(&p, "%s/", key);
    s3_list_page page;
    int rc = s3_list_page_get(s, p.data, NULL, false, 1, &page, e);
    *folder = rc == 0 && (page.nkeys > 0 || page.nprefixes > 0);
    if (rc == 0)
        s3_list_page_free(&page);
    sbuf_free(&p);
    return rc;
}

static int s3_list(artifacts_store *st, const char *rel, const char *prefix, json_t **out,
                   cerr *e)
{
    s3_store *s = (s3_store *)st;
    *out = NULL;
    sbuf norm = SBUF_INIT, dir = SBUF_INIT;
    if (path_normalize_rel(rel, &norm, e) < 0) {
        sbuf_free(&norm);
        return -1;
    }
    s3_key(s, norm.data, &dir);
    if (dir.len > 0)
        sbuf_putc(&dir, '/');
    artifacts_listing l = ARTIFACTS_LISTING_INIT;
    char *token = NULL;
    int rc = 0;
    for (;;) {
        s3_list_page page;
        rc = s3_list_page_get(s, dir.data, token, true, s->list_max_keys, &page, e);
        if (rc < 0)
            break;
        for (size_t i = 0; i < page.nkeys; i++) {
            const char *name = page.keys[i] + dir.len;
            /* The folder marker some tools create (the key "<dir>/"). */
            if (strncmp(page.keys[i], dir.data, dir.len) != 0 || name[0] == '\0')
                continue;
            artifacts_listing_add(&l, name, strlen(name), false, page.sizes[i]);
        }
        for (size_t i = 0; i < page.nprefixes; i++) {
            const char *name = page.prefixes[i] + dir.len;
            size_t len = strlen(name);
            if (strncmp(page.prefixes[i], dir.data, dir.len) != 0 || len < 2)
                continue; /* "" or "/": an empty name, not a folder */
            artifacts_listing_add(&l, name, len - 1, true, 0);
        }
        free(token);
        token = page.truncated && page.next_token ? s3_strdup(page.next_token) : NULL;
        s3_list_page_free(&page);
        if (token == NULL)
            break;
    }
    free(token);
    if (rc == 0)
        *out = artifacts_listing_json(&l, prefix);
    artifacts_listing_free(&l);
    sbuf_free(&norm);
    sbuf_free(&dir);
    return rc;
}

/* ---- deleting ---- */

/* DeleteObjects of keys[0..n): S3 wants Content-MD5 on it, and answers 200
 * even when some keys failed, naming them in <Error> elements. */
static int s3_delete_batch(s3_store *s, char **keys, size_t n, cerr *e)
{
    sbuf body = SBUF_INIT;
    sbuf_puts(&body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                     "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>");
    for (size_t i = 0; i < n; i++) {
        sbuf_puts(&body, "<Object><Key>");
        s3_xml_escape(&body, keys[i]);
        sbuf_puts(&body, "</Key></Object>");
    }
    sbuf_puts(&body, "</Delete>");
    unsigned char md[16];
    unsigned int mdlen = 0;
    EVP_Digest(body.data, body.len, md, &mdlen, EVP_md5(), NULL);
    char md5[32];
    EVP_EncodeBlock((unsigned char *)md5, md, 16);
    s3_call c = {.method = "POST", .query = "delete=", .body = body.data, .body_len = body.len,
                 .has_body = true, .content_type = "application/xml", .content_md5 = md5};
    s3_resp r;
    int rc = s3_request(s, &c, &r, e);
    if (rc == 0 && r.status != 200)
        rc = s3_fail(s, "POST", NULL, &r, e);
    sbuf errs = SBUF_INIT;
    if (rc == 0 && s3_xml_delete_errors(r.body.data, r.body.len, &errs) > 0)
        rc = cerr_set(e, CERR_INTERNAL_ERROR, "S3 DeleteObjects in s3://%s failed for: %s",
                      s->bucket, errs.data);
    sbuf_free(&errs);
    s3_resp_free(&r);
    sbuf_free(&body);
    return rc;
}

static int s3_remove(artifacts_store *st, const char *rel, cerr *e)
{
    s3_store *s = (s3_store *)st;
    sbuf norm = SBUF_INIT, key = SBUF_INIT, dir = SBUF_INIT;
    int rc = path_normalize_rel(rel, &norm, e);
    if (rc == 0 && norm.len == 0)
        rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid path");
    if (rc == 0) {
        s3_key(s, norm.data, &key);
        s3_call c = {.method = "DELETE", .key = key.data};
        s3_resp r;
        rc = s3_request(s, &c, &r, e);
        /* 204 deleted or absent (S3); 404 absent (some servers). */
        if (rc == 0 && r.status != 204 && r.status != 200 && r.status != 404)
            rc = s3_fail(s, "DELETE", key.data, &r, e);
        s3_resp_free(&r);
    }
    /* Everything below key/: one listing pass, each page deleted as it
     * comes (the continuation token does not depend on the deleted keys). */
    if (rc == 0)
        sbuf_printf(&dir, "%s/", key.data);
    char *token = NULL;
    while (rc == 0) {
        s3_list_page page;
        long max = s->list_max_keys < S3_DELETE_BATCH ? s->list_max_keys : S3_DELETE_BATCH;
        rc = s3_list_page_get(s, dir.data, token, false, max, &page, e);
        if (rc < 0)
            break;
        if (page.nkeys > 0)
            rc = s3_delete_batch(s, page.keys, page.nkeys, e);
        free(token);
        token = page.truncated && page.next_token ? s3_strdup(page.next_token) : NULL;
        s3_list_page_free(&page);
        if (token == NULL)
            break;
    }
    free(token);
    sbuf_free(&norm);
    sbuf_free(&key);
    sbuf_free(&dir);
    return rc;
}

/* ---- start-up check ---- */

static int s3_check(artifacts_store *st, cerr *e)
{
    s3_store *s = (s3_store *)st;
    sbuf q = SBUF_INIT, code = SBUF_INIT, msg = SBUF_INIT;
    s3_list_query(&q, NULL, false, 1, "");
    s3_call c = {.method = "GET", .query = q.data};
    s3_resp r;
    int rc = 0;
    if (s3_request(s, &c, &r, NULL) < 0) {
        rc = cerr_set(e, CERR_INTERNAL_ERROR, "Cannot reach S3 at %s for bucket '%s': %s",
                      s->endpoint, s->bucket,
                      r.curl_err[0] ? r.curl_err : curl_easy_strerror(r.cc));
    } else if (r.status != 200) {
        s3_xml_error(r.body.data, r.body.len, &code, &msg);
        if (r.status == 403 || strcmp(sbuf_str(&code), "InvalidAccessKeyId") == 0 ||
            strcmp(sbuf_str(&code), "SignatureDoesNotMatch") == 0)
            rc = cerr_set(e, CERR_INTERNAL_ERROR,
                          "S3 refused the credentials for bucket '%s' at %s: %s", s->bucket,
                          s->endpoint, code.len ? code.data : "HTTP 403");
        else if (r.status == 404 || strcmp(sbuf_str(&code), "NoSuchBucket") == 0)
            rc = cerr_set(e, CERR_INTERNAL_ERROR, "S3 bucket '%s' does not exist at %s",
                          s->bucket, s->endpoint);
        else
            rc = s3_fail(s, "GET", NULL, &r, e);
    } else {
        s3_list_page page;
        if (s3_xml_list(r.body.data, r.body.len, &page) < 0)
            rc = cerr_set(e, CERR_INTERNAL_ERROR,
                          "%s does not answer as S3 does (bucket '%s'): not a listing",
                          s->endpoint, s->bucket);
        else
            s3_list_page_free(&page);
    }
    s3_resp_free(&r);
    sbuf_free(&q);
    sbuf_free(&code);
    sbuf_free(&msg);
    return rc;
}

/* ---- the store ---- */

static const artifacts_ops s3_ops = {
    .name = "s3",
    .check = s3_check,
    .list = s3_list,
    .remove = s3_remove,
    .writer_open = s3_writer_open,
    .write = s3_write,
    .writer_wait = s3_writer_wait,
    .writer_notify = s3_writer_notify,
    .commit = s3_commit,
    .abort = s3_abort,
    .reader_open = s3_reader_open,
    .read = s3_read,
    .reader_notify = s3_reader_notify,
    .reader_fd = s3_reader_fd,
    .reader_close = s3_reader_close,
    .free = s3_free,
};

int artifacts_s3_open_store(const char *uri, const char *bucket, const char *prefix,
                            artifacts_store **out, cerr *e)
{
    *out = NULL;
    pthread_once(&s3_once, s3_global_init);
    if (bucket == NULL || bucket[0] == '\0')
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "No bucket in the S3 URI '%s'", uri);
    const char *key = s3_env("AWS_ACCESS_KEY_ID");
    const char *secret = s3_env("AWS_SECRET_ACCESS_KEY");
    if ((key == NULL) != (secret == NULL))
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "S3 store '%s': AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set "
                        "together", uri);
    long part_mb = S3_PART_MB_DEFAULT, stream_mb = S3_STREAM_PART_MB_DEFAULT;
    const char *pm = s3_env("CAIRN_S3_PART_MB");
    if (pm) { /* set: every upload's part size */
        char *end;
        part_mb = strtol(pm, &end, 10);
        if (*end != '\0' || part_mb < S3_PART_MB_MIN || part_mb > S3_PART_MB_MAX)
            return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                            "CAIRN_S3_PART_MB must be a whole number of MiB from %d to %d",
                            S3_PART_MB_MIN, S3_PART_MB_MAX);
        stream_mb = part_mb;
    }
    s3_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        abort();
    pthread_mutex_init(&s->pool_mu, NULL);
    s->base.ops = &s3_ops;
    s->base.uri = s3_strdup(uri);
    s->bucket = s3_strdup(bucket);
    s->prefix = s3_strdup(prefix ? prefix : "");
    const char *region = s3_env("AWS_DEFAULT_REGION");
    if (region == NULL)
        region = s3_env("AWS_REGION");
    s->region = s3_strdup(region ? region : "us-east-1");
    sbuf b = SBUF_INIT;
    const char *ep = s3_env("MLFLOW_S3_ENDPOINT_URL");
    if (ep)
        sbuf_puts(&b, ep);
    else
        sbuf_printf(&b, "https://s3.%s.amazonaws.com", s->region);
    while (b.len > 0 && b.data[b.len - 1] == '/')
        b.data[--b.len] = '\0';
    s->endpoint = sbuf_detach(&b);
    sbuf_printf(&b, "aws:amz:%s:s3", s->region);
    s->sigv4 = sbuf_detach(&b);
    s->access_key = key ? s3_strdup(key) : NULL;
    s->secret_key = secret ? s3_strdup(secret) : NULL;
    const char *token = s3_env("AWS_SESSION_TOKEN");
    s->token = token ? s3_strdup(token) : NULL;
    s->part_size = (size_t)part_mb << 20;
    s->stream_part_size = (size_t)stream_mb << 20;
    s->list_max_keys = S3_LIST_MAX_KEYS;
    *out = &s->base;
    return 0;
}

void s3_test_set_list_max_keys(artifacts_store *st, long n)
{
    ((s3_store *)st)->list_max_keys = n;
}

void s3_test_set_part_size(artifacts_store *st, size_t bytes)
{
    ((s3_store *)st)->part_size = bytes;
    ((s3_store *)st)->stream_part_size = bytes;
}
