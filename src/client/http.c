/* http.c - libcairn's HTTP layer over libcurl: JSON requests to the MLflow
 * REST API with the client's credentials, MLflow error bodies turned into
 * the thread's last error, streamed artifact transfers, multipart uploads
 * and text bodies streamed to a callback (the jobs API). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define CL_CONNECT_TIMEOUT_S 10L

CURL *cl_curl_new(void)
{
    return curl_easy_init();
}

char *cl_escape(const char *s, int escape_slash)
{
    cl_buf b = {0};
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char ch = *p;
        int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    ch == '-' || ch == '_' || ch == '.' || ch == '~' || (ch == '/' && !escape_slash);
        char enc[3] = {'%', hex[ch >> 4], hex[ch & 15]};
        if ((plain ? cl_buf_add(&b, p, 1) : cl_buf_add(&b, enc, 3)) < 0) {
            cl_buf_free(&b);
            return NULL;
        }
    }
    return cl_buf_take(&b);
}

static size_t cl_write_buf(char *p, size_t sz, size_t n, void *ud)
{
    return cl_buf_add(ud, p, sz * n) < 0 ? 0 : sz * n;
}

/* Common options: URL, credentials (auth 0: none), timeouts. Returns the
 * header list to free; *gen identifies a stored login's pair (0: none). */
static struct curl_slist *cl_setup_as(cairn_client *c, CURL *h, const char *method, const char *path,
                                      char *url_out, size_t url_cap, char *errbuf, int auth,
                                      uint64_t *gen)
{
    *gen = 0;
    curl_easy_reset(h);
    snprintf(url_out, url_cap, "%s%s", c->uri, path);
    curl_easy_setopt(h, CURLOPT_URL, url_out);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CL_CONNECT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "libcairn/" CAIRN_VERSION_STRING);
    /* libcurl verifies the peer and the host name by default; as MLflow's
     * client (requests' verify=), INSECURE_TLS beats a CA file. */
    if (c->insecure_tls) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (c->ca_cert != NULL) {
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_cert);
    }
    struct curl_slist *hdrs = NULL;
    char bearer[8192];
    /* MLflow's order: MLFLOW_TRACKING_TOKEN, then username/password; then
     * (Cairn) the stored login of `cairn login`. */
    if (!auth) {
    } else if (c->token != NULL) {
        snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", c->token);
        hdrs = curl_slist_append(hdrs, bearer);
    } else if (c->username != NULL) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, c->username);
        curl_easy_setopt(h, CURLOPT_PASSWORD, c->password ? c->password : "");
    } else if (cl_auth_bearer(c, bearer, sizeof bearer, gen)) {
        hdrs = curl_slist_append(hdrs, bearer);
    }
    explicit_bzero(bearer, sizeof bearer);
    /* JSON bodies; "MULTIPART" lets curl set its own */
    if (strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0 || strcmp(method, "DELETE") == 0)
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    return hdrs;
}

static struct curl_slist *cl_setup(cairn_client *c, CURL *h, const char *method, const char *path,
                                   char *url_out, size_t url_cap, char *errbuf)
{
    uint64_t gen;
    return cl_setup_as(c, h, method, path, url_out, url_cap, errbuf, 1, &gen);
}

/* Is rc a TLS failure (a certificate, a CA file, a handshake), which no
 * retry or spool can fix, rather than a server that cannot be reached? */
static int cl_tls_failure(CURLcode rc)
{
    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION: /* unknown issuer, wrong name, expired */
    case CURLE_SSL_CACERT_BADFILE:       /* the CA file cannot be read */
    case CURLE_SSL_CONNECT_ERROR:        /* handshake: no common version, or plain HTTP */
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        return 1;
    default:
        return 0;
    }
}

/* Turns a finished transfer into CAIRN_OK or the thread's error. */
static int cl_outcome(cairn_client *c, CURL *h, CURLcode rc, const char *errbuf, const char *url,
                      const cl_buf *resp)
{
    if (rc != CURLE_OK) {
        if (rc == CURLE_ABORTED_BY_CALLBACK || rc == CURLE_WRITE_ERROR || rc == CURLE_READ_ERROR)
            return cl_fail(CAIRN_EIO, "transfer with %s aborted: %s", url,
                           *errbuf ? errbuf : curl_easy_strerror(rc));
        if (cl_tls_failure(rc))
            return cl_fail(CAIRN_ETLS, "TLS with %s failed: %s%s", c->uri,
                           *errbuf ? errbuf : curl_easy_strerror(rc),
                           rc == CURLE_PEER_FAILED_VERIFICATION
                               ? " (is the server's CA in CAIRN_CA_CERT or "
                                 "MLFLOW_TRACKING_SERVER_CERT_PATH?)"
                               : "");
        return cl_fail(CAIRN_EUNREACHABLE, "cannot reach %s: %s", c->uri,
                       *errbuf ? errbuf : curl_easy_strerror(rc));
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300)
        return CAIRN_OK;
    const char *code = NULL, *msg = NULL;
    json_t *j = resp && resp->data ? json_loadb(resp->data, resp->len, 0, NULL) : NULL;
    if (j != NULL) {
        code = json_string_value(json_object_get(j, "error_code"));
        msg = json_string_value(json_object_get(j, "message"));
    }
    char fallback[256];
    if (msg == NULL) {
        snprintf(fallback, sizeof fallback, "HTTP %ld from %s", status, url);
        msg = fallback;
    }
    if (code == NULL)
        code = status == 404 ? "RESOURCE_DOES_NOT_EXIST" : status >= 500 ? "INTERNAL_ERROR" : "BAD_REQUEST";
    int r = cl_fail_server((int)status, code, msg);
    json_decref(j);
    return r;
}

/* One request; *gen as cl_setup_as. */
static int cl_http_once(cairn_client *c, CURL *h, const char *method, const char *path, const char *body,
                        size_t body_len, char **out, int auth, uint64_t *gen)
{
    char url[8192], errbuf[CURL_ERROR_SIZE] = "";
    cl_buf resp = {0};
    struct curl_slist *hdrs = cl_setup_as(c, h, method, path, url, sizeof url, errbuf, auth, gen);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "{}");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 2));
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        if (body != NULL) {   /* PATCH, DELETE with a JSON body, as MLflow's auth client sends */
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        }
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cl_write_buf);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
    CURLcode rc = curl_easy_perform(h);
    int r = cl_outcome(c, h, rc, errbuf, url, &resp);
    curl_slist_free_all(hdrs);
    if (r == CAIRN_OK && out != NULL) {
        *out = cl_buf_take(&resp);
        if (*out == NULL)
            r = cl_oom();
    }
    cl_buf_free(&resp);
    return r;
}

/* Says what to do about a 401 (the message is the server's). */
static int cl_unauthenticated(cairn_client *c, uint64_t gen)
{
    const cairn_error *e = cairn_error_last();
    char msg[1024];
    if (gen != 0)
        snprintf(msg, sizeof msg, "%s (the stored login for %s was refused: expired or revoked; "
                 "run 'cairn login' again)", e->message, c->uri);
    else if (c->token == NULL && c->username == NULL)
        snprintf(msg, sizeof msg, "%s (log in with 'cairn login', or set MLFLOW_TRACKING_TOKEN or "
                 "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)", e->message);
    else
        return e->code;
    char code[64];
    snprintf(code, sizeof code, "%s", e->error_code);
    return cl_fail_server(401, code, msg);
}

int cl_http(cairn_client *c, CURL *h, const char *method, const char *path, const char *body,
            size_t body_len, char **out)
{
    uint64_t gen = 0;
    int r = cl_http_once(c, h, method, path, body, body_len, out, 1, &gen);
    if (r < 0 && cairn_error_last()->http_status == 401 && gen != 0 && cl_auth_after_401(c, gen))
        r = cl_http_once(c, h, method, path, body, body_len, out, 1, &gen);   /* once, with the new pair */
    if (r < 0 && cairn_error_last()->http_status == 401)
        r = cl_unauthenticated(c, gen);
    return r;
}

int cl_http_plain_post(cairn_client *c, const char *path, const char *body, char **out)
{
    CURL *h = cl_curl_new();
    if (h == NULL)
        return cl_oom();
    uint64_t gen;
    int r = cl_http_once(c, h, "POST", path, body, body ? strlen(body) : 0, out, 0, &gen);
    curl_easy_cleanup(h);
    return r;
}

int cl_api_request(cairn_client *c, const char *method, const char *api_path, const char *body,
                   char **out)
{
    cl_buf path = {0};
    if (cl_buf_printf(&path, "/api/2.0/mlflow/%s", api_path) < 0)
        return CAIRN_ENOMEM;
    pthread_mutex_lock(&c->http_mu);
    int r = cl_http(c, c->http, method, path.data, body, body ? strlen(body) : 0, out);
    pthread_mutex_unlock(&c->http_mu);
    cl_buf_free(&path);
    return r;
}

int cl_api_post(cairn_client *c, const char *api_path, const char *body, char **out)
{
    char path[2048];
    snprintf(path, sizeof path, "/api/2.0/mlflow/%s", api_path);
    pthread_mutex_lock(&c->http_mu);
    int r = cl_http(c, c->http, "POST", path, body, body ? strlen(body) : 0, out);
    pthread_mutex_unlock(&c->http_mu);
    return r;
}

int cl_api_get(cairn_client *c, const char *api_path_query, char **out)
{
    cl_buf path = {0};
    if (cl_buf_printf(&path, "/api/2.0/mlflow/%s", api_path_query) < 0)
        return CAIRN_ENOMEM;
    pthread_mutex_lock(&c->http_mu);
    int r = cl_http(c, c->http, "GET", path.data, NULL, 0, out);
    pthread_mutex_unlock(&c->http_mu);
    cl_buf_free(&path);
    return r;
}

static int cl_parse(char *text, json_t **out)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    free(text);
    if (j == NULL)
        return cl_fail(CAIRN_EPROTO, "unreadable JSON from the server: %s", jerr.text);
    *out = j;
    return CAIRN_OK;
}

int cl_api_post_json(cairn_client *c, const char *api_path, json_t *body, json_t **out)
{
    char *text = json_dumps(body, JSON_COMPACT);
    if (text == NULL)
        return cl_oom();
    char *resp = NULL;
    int r = cl_api_post(c, api_path, text, out ? &resp : NULL);
    free(text);
    if (r < 0 || out == NULL)
        return r;
    return cl_parse(resp, out);
}

int cl_api_get_json(cairn_client *c, const char *api_path_query, json_t **out)
{
    char *resp = NULL;
    int r = cl_api_get(c, api_path_query, &resp);
    if (r < 0)
        return r;
    return cl_parse(resp, out);
}

typedef struct {
    cairn_progress_fn fn;
    void *ud;
    int upload;
} cl_progress;

static int cl_xferinfo(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    cl_progress *p = ud;
    if (p->upload)
        p->fn(p->ud, (uint64_t)ulnow, (uint64_t)ultotal);
    else
        p->fn(p->ud, (uint64_t)dlnow, (uint64_t)dltotal);
    return 0;
}

/* Response sink: a 2xx body goes to a function (a download's file, a
 * followed log's caller), anything else to a buffer (an MLflow error body
 * to report). */
typedef struct {
    CURL *h;
    cairn_write_fn fn;
    void *ud;
    cl_buf *err;
} cl_stream;

static size_t cl_write_stream(char *p, size_t sz, size_t n, void *ud)
{
    cl_stream *s = ud;
    long status = 0;
    curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 300)
        return cl_write_buf(p, sz, n, s->err);
    return s->fn(s->ud, p, sz * n) == 0 ? sz * n : 0;
}

/* A download's file as a cairn_write_fn. */
static int cl_write_file(void *arg, const char *data, size_t len)
{
    return fwrite(data, 1, len, arg) == len ? 0 : -1;
}

static int cl_transfer(cairn_client *c, const char *path, const char *local, int upload,
                       cairn_progress_fn fn, void *ud)
{
    FILE *f = fopen(local, upload ? "rb" : "wb");
    if (f == NULL)
        return cl_fail(CAIRN_EIO, "cannot open %s: %s", local, strerror(errno));
    struct stat st;
    if (upload && (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode))) {
        fclose(f);
        return cl_fail(CAIRN_EIO, "%s is not a regular file", local);
    }
    char url[8192], errbuf[CURL_ERROR_SIZE] = "";
    cl_buf resp = {0};
    cl_progress prog = {fn, ud, upload};
    pthread_mutex_lock(&c->http_mu);
    CURL *h = c->http;
    cl_stream sink = {h, cl_write_file, f, &resp};
    struct curl_slist *hdrs = cl_setup(c, h, upload ? "PUT" : "GET", path, url, sizeof url, errbuf);
    if (upload) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READDATA, f);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)st.st_size);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cl_write_buf);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
    } else {
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cl_write_stream);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    }
    if (fn != NULL) {
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, cl_xferinfo);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, &prog);
    }
    CURLcode rc = curl_easy_perform(h);
    int r = cl_outcome(c, h, rc, errbuf, url, &resp);
    curl_slist_free_all(hdrs);
    pthread_mutex_unlock(&c->http_mu);
    cl_buf_free(&resp);
    if (fclose(f) != 0 && r == CAIRN_OK)
        r = cl_fail(CAIRN_EIO, "cannot write %s: %s", local, strerror(errno));
    if (!upload && r < 0)
        unlink(local);
    return r;
}

int cl_http_upload(cairn_client *c, const char *path, const char *local, cairn_progress_fn fn,
                   void *ud)
{
    return cl_transfer(c, path, local, 1, fn, ud);
}

int cl_http_download(cairn_client *c, const char *path, const char *local, cairn_progress_fn fn,
                     void *ud)
{
    return cl_transfer(c, path, local, 0, fn, ud);
}

int cl_http_multipart(cairn_client *c, const char *path, cl_mime_fn build, void *ud, char **out)
{
    char url[8192], errbuf[CURL_ERROR_SIZE] = "";
    cl_buf resp = {0};
    pthread_mutex_lock(&c->http_mu);
    CURL *h = c->http;
    struct curl_slist *hdrs = cl_setup(c, h, "MULTIPART", path, url, sizeof url, errbuf);
    curl_mime *mime = curl_mime_init(h);
    int r = mime == NULL ? cl_oom() : build(mime, ud);
    if (r == CAIRN_OK) {
        curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cl_write_buf);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
        r = cl_outcome(c, h, curl_easy_perform(h), errbuf, url, &resp);
    }
    curl_easy_setopt(h, CURLOPT_MIMEPOST, NULL);
    curl_mime_free(mime);
    curl_slist_free_all(hdrs);
    pthread_mutex_unlock(&c->http_mu);
    if (r == CAIRN_OK && out != NULL && (*out = cl_buf_take(&resp)) == NULL)
        r = cl_oom();
    cl_buf_free(&resp);
    return r;
}

int cl_http_stream(cairn_client *c, const char *path, cairn_write_fn fn, void *ud)
{
    CURL *h = cl_curl_new();   /* its own handle: a followed stream may last hours */
    if (h == NULL)
        return cl_oom();
    char url[8192], errbuf[CURL_ERROR_SIZE] = "";
    cl_buf resp = {0};
    struct curl_slist *hdrs = cl_setup(c, h, "GET", path, url, sizeof url, errbuf);
    cl_stream sink = {h, fn, ud, &resp};
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cl_write_stream);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    int r = cl_outcome(c, h, curl_easy_perform(h), errbuf, url, &resp);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    cl_buf_free(&resp);
    return r;
}
