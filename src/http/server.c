/* server.c - the libmicrohttpd daemon and the request life cycle.
 *
 * MHD calls http_access several times per request: once with the headers
 * (we route, check what can be checked, and may answer at once so a bad
 * request's body is never read), once per chunk of body, and once more at
 * the end (we run the handler and answer). http_completed frees the
 * request's state whatever happened, removing a half-written upload.
 *
 * Threads: MHD's internal polling with a pool of `workers` threads (epoll
 * on Linux) reads requests and answers GETs itself. POST API calls, which
 * write (and wait for their group commit) or search, run on the handler
 * pool (pool.c) while their connection is suspended, so a polling thread
 * never waits for an fsync and every write in flight can share one commit.
 * Thread-per-connection was not chosen: it costs a thread per idle
 * keep-alive client and buys nothing for short JSON requests. */
#include "http.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/misc.h"
#include "internal.h"

struct http_server {
    struct MHD_Daemon *daemon;
    http_pool *pool;
    http_waker *waker;
    api_ctx api;
    unsigned port;
};

/* Records the answer to a request refused before its body: see http_access. */
static void http_fail(http_req *r, unsigned status, const char *code, const char *msg)
{
    r->fail_status = status;
    r->fail_code = code;
    snprintf(r->err.msg, sizeof r->err.msg, "%s", msg);
}

static void http_fail_cerr(http_req *r, const cerr *e)
{
    http_fail(r, (unsigned)cerr_http_status(e->code), cerr_code_name(e->code), e->msg);
}

static void http_fail_method(http_req *r)
{
    /* Flask answers 405 here; the wording is werkzeug's. */
    http_fail(r, MHD_HTTP_METHOD_NOT_ALLOWED, "BAD_REQUEST",
              "The method is not allowed for the requested URL.");
}

static void http_fail_too_big(http_req *r, unsigned limit)
{
    char msg[128];
    snprintf(msg, sizeof msg, "%s exceeds the limit of %u bytes",
             limit == HTTP_FORM_MAX_BODY ? "Upload" : "Request body", limit);
    http_fail(r, MHD_HTTP_CONTENT_TOO_LARGE, "INVALID_PARAMETER_VALUE", msg);
}

/* Where uploaded form files wait for their handler. */
static const char *http_tmpdir(void)
{
    const char *t = getenv("TMPDIR");
    return t && t[0] ? t : "/tmp";
}

/* The numeric address of sa (IPv4 or IPv6) into buf. */
static void http_addr_text(const struct sockaddr *sa, char *buf, size_t n)
{
    const void *a = sa->sa_family == AF_INET6
                        ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
                        : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
    if (inet_ntop(sa->sa_family, a, buf, (socklen_t)n) == NULL)
        snprintf(buf, n, "?");
}

/* The request as api/ takes it: args (stolen), the body's size and who
 * is asking. */
static api_request http_request(struct MHD_Connection *c, http_req *r, json_t *args)
{
    api_request req = {.args = args, .body_len = (size_t)r->body_len};
    req.caller.authorization =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    req.headers.range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr)
        http_addr_text(ci->client_addr, req.caller.remote_addr, sizeof req.caller.remote_addr);
    req.headers.content_length =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    req.headers.transfer_encoding =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    if (r->caller.authenticated) /* api/ identified it with the headers */
        req.caller = r->caller;
    if (r->param)
        json_object_set_new(req.args, r->route->param, http_json_string(r->param));
    return req;
}

/* A streamed upload starts with the headers: the path is checked, access
 * decided and the store's writer opened before any byte of the body. */
static void http_begin_upload(http_server *s, struct MHD_Connection *c, http_req *r)
{
    cerr e;
    cerr_clear(&e);
    json_t *args = NULL;
    http_args_from_query(c, &args);
    api_request req = http_request(c, r, args);
    if (api_upload_begin(r->route, &s->api, &req, &r->upload, &e) < 0)
        http_fail_cerr(r, &e);
    r->args = req.args;
}

/* First call: route the request and refuse what can be refused already. */
static void http_begin(http_server *s, struct MHD_Connection *c, const char *url,
                       const char *method, http_req *r)
{
    r->is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    bool known = false;
    const char *param = NULL;
    const api_route *route = api_route_find(r->is_get ? "GET" : method, url, &known, &param);
    cerr e;
    cerr_clear(&e);
    if (route == NULL) {
        if (known) {
            http_fail_method(r);
        } else {
            sbuf m = SBUF_INIT;
            sbuf_printf(&m, "No %sendpoint at %.200s", api_url_is_mlflow(url) ? "API " : "", url);
            http_fail(r, MHD_HTTP_NOT_FOUND, "ENDPOINT_NOT_FOUND", sbuf_str(&m));
            sbuf_free(&m);
        }
        return;
    }
    r->route = route;
    if (param && (r->param = strdup(param)) == NULL)
        abort();
    if (s->api.auth) { /* credentials first, before any body is read */
        api_request who = http_request(c, r, json_object());
        int rc = api_identify(&s->api, route, &who, &e);
        json_decref(who.args);
        r->caller = who.caller;
        if (rc < 0) {
            http_fail_cerr(r, &e);
            return;
        }
    }
    switch (route->body) {
    case API_BODY_FORM:
        if (http_content_length(c) > (int64_t)HTTP_FORM_MAX_BODY)
            http_fail_too_big(r, HTTP_FORM_MAX_BODY);
        else if (http_form_begin(c, http_tmpdir(), &r->form, &e) < 0)
            http_fail_cerr(r, &e);
        break;
    case API_BODY_RAW:
        http_begin_upload(s, c, r);
        break;
    case API_BODY_JSON:
        if (strcmp(method, "POST") == 0 && http_check_json_content_type(c, &e) < 0)
            http_fail_cerr(r, &e);
        else if (http_content_length(c) > (int64_t)CAIRN_MAX_JSON_BODY)
            http_fail_too_big(r, CAIRN_MAX_JSON_BODY);
        break;
    }
}

/* Does a body follow the headers? */
static bool http_has_body(struct MHD_Connection *c)
{
    return http_content_length(c) > 0 ||
           MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
}

/* Middle calls: one chunk of a buffered body each. */
static void http_data(http_req *r, const char *data, size_t n)
{
    r->body_len += n;
    if (r->form) {
        cerr e;
        if (r->body_len > HTTP_FORM_MAX_BODY)
            http_fail_too_big(r, HTTP_FORM_MAX_BODY);
        else if (http_form_data(r->form, data, n, &e) < 0)
            http_fail_cerr(r, &e);
    } else if (r->route->body == API_BODY_JSON) {
        /* Keep at most the cap; past it, count and drop (answered 413). */
        if (r->body_len <= CAIRN_MAX_JSON_BODY)
            sbuf_append(&r->body, data, n);
        else
            sbuf_free(&r->body);
    }
}

/* A chunk of a streamed upload: returns how much the store took. When it
 * takes nothing (S3's buffers are all in flight) the connection is parked
 * until the store has room, and MHD hands the rest over again then. */
static size_t http_upload_data(http_server *s, struct MHD_Connection *c, http_req *r,
                               const char *data, size_t n)
{
    size_t took = 0;
    while (took < n) {
        ssize_t k = api_upload_write(r->upload, data + took, n - took, &r->err);
        if (k < 0) {
            r->failed = true;
            api_upload_abort(r->upload);
            r->upload = NULL;
            return n; /* the rest is read and dropped */
        }
        if (k == 0) {
            api_upload_notify(r->upload, http_waker_kick, s->waker);
            if (!http_waker_park(s->waker, c)) {
                cerr_set(&r->err, CERR_TEMPORARILY_UNAVAILABLE, "The server is shutting down");
                r->failed = true;
                api_upload_abort(r->upload);
                r->upload = NULL;
                return n;
            }
            break;
        }
        took += (size_t)k;
    }
    r->body_len += took;
    return took;
}

/* Runs the request's handler into out. c is needed only for a GET's query
 * and the headers. */
static void http_api_exec(http_server *s, struct MHD_Connection *c, http_req *r, http_out *out)
{
    cerr e;
    cerr_clear(&e);
    api_result res = {0};
    int rc;
    if (r->route->body == API_BODY_RAW) {
        api_upload *u = r->upload;
        r->upload = NULL;
        rc = api_upload_finish(u, &res, &e);
    } else {
        json_t *args = NULL;
        const api_file *files = NULL;
        size_t nfiles = 0;
        if (r->form) {
            rc = http_form_finish(r->form, &args, &files, &nfiles, &e);
        } else if (r->is_get && http_args_from_query(c, &args) > 0) {
            rc = 0; /* MLflow: a GET with a query string reads it, anything else the body */
        } else {
            json_decref(args);
            args = NULL;
            rc = http_args_from_body(sbuf_str(&r->body), r->body.len, &args, &e);
        }
        if (rc == 0) {
            api_request req = http_request(c, r, args);
            req.files = files;
            req.nfiles = nfiles;
            rc = api_call_ex(r->route, &s->api, &req, &res, &e);
            json_decref(req.args);
        }
    }
    if (rc < 0) {
        api_result_free(&res);
        http_out_cerr(out, &e);
        return;
    }
    if (!res.json && !res.stream && !res.download && res.text.len == 0)
        res.json = json_object();
    http_out_result(out, &res);
    out->waker = s->waker;
}

/* On a pool thread, with the connection suspended. */
static void http_api_job(http_job *j)
{
    http_req *r = (http_req *)((char *)j - offsetof(http_req, job));
    struct MHD_Connection *c = r->conn;
    http_api_exec(r->srv, c, r, &r->out);
    r->state = HTTP_DONE;
    /* Last touch of r: once resumed, the polling thread sends and frees it. */
    MHD_resume_connection(c);
}

/* ---- run writes queued to the store (api_call_queued) ----
 * The connection is suspended before the call, since the store's writer
 * thread may answer before the call returns. */

static void http_queued_done(void *arg, int rc, api_result *res, const cerr *e)
{
    http_req *r = arg;
    struct MHD_Connection *c = r->conn;
    http_pool *pool = r->srv->pool;
    if (rc == 0)
        http_out_result(&r->out, res);
    else
        http_out_cerr(&r->out, e);
    r->state = HTTP_DONE;
    MHD_resume_connection(c); /* r may be gone from here on */
    http_pool_release(pool);
}

/* Suspends c and hands r to the pool. */
static void http_to_pool(http_server *s, struct MHD_Connection *c, http_req *r, bool suspended)
{
    r->job.fn = http_api_job;
    if (!suspended)
        MHD_suspend_connection(c);
    http_pool_push(s->pool, &r->job);
}

static enum MHD_Result http_queue_write(http_server *s, struct MHD_Connection *c, http_req *r)
{
    cerr e;
    cerr_clear(&e);
    json_t *args = NULL;
    if (http_args_from_body(sbuf_str(&r->body), r->body.len, &args, &e) < 0) {
        http_pool_release(s->pool);
        r->responded = true;
        return http_send_cerr(c, &e);
    }
    api_request req = http_request(c, r, args);
    MHD_suspend_connection(c);
    if (api_call_queued(r->route, &s->api, &req, http_queued_done, r) == API_BLOCKING) {
        json_decref(req.args);
        http_to_pool(s, c, r, true);
    }
    return MHD_YES;
}

/* A run write is queued to the store; another POST, and the end of an
 * upload, go to the pool (they may wait for a disk or a network); a GET
 * (or any call once the pool stops taking work, at shutdown) runs here. */
static enum MHD_Result http_api_call(http_server *s, struct MHD_Connection *c, http_req *r)
{
    if ((!r->is_get || r->route->slow) && http_pool_reserve(s->pool)) {
        r->state = HTTP_QUEUED;
        r->srv = s;
        r->conn = c;
        if (r->route->prep)
            return http_queue_write(s, c, r);
        http_to_pool(s, c, r, false);
        return MHD_YES;
    }
    r->responded = true;
    http_out o;
    http_api_exec(s, c, r, &o);
    return http_out_send(c, &o);
}

/* Last call: the whole request is in. */
static enum MHD_Result http_finish(http_server *s, struct MHD_Connection *c, http_req *r)
{
    if (r->route && r->route->body == API_BODY_JSON && r->body_len > CAIRN_MAX_JSON_BODY)
        http_fail_too_big(r, CAIRN_MAX_JSON_BODY);
    if (r->fail_status != 0) {
        r->responded = true;
        return http_send_error(c, r->fail_status, r->fail_code, r->err.msg);
    }
    if (r->failed) {
        r->responded = true;
        return http_send_cerr(c, &r->err);
    }
    return http_api_call(s, c, r);
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *c, const char *url,
                                   const char *method, const char *version,
                                   const char *upload_data, size_t *upload_data_size,
                                   void **req_cls)
{
    (void)version;
    http_server *s = cls;
    http_req *r = *req_cls;
    if (r == NULL) {
        r = calloc(1, sizeof *r);
        if (r == NULL)
            abort();
        *req_cls = r;
        http_begin(s, c, url, method, r);
        /* A refused request with a body is answered now, so the body is
         * never read (MHD then closes the connection); one without a body
         * is answered at the last call, which keeps the connection alive. */
        if (r->fail_status != 0 && http_has_body(c)) {
            r->responded = true;
            return http_send_error(c, r->fail_status, r->fail_code, r->err.msg);
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (r->responded || r->fail_status != 0 || r->failed)
            *upload_data_size = 0;
        else if (r->upload)
            *upload_data_size -= http_upload_data(s, c, r, upload_data, *upload_data_size);
        else {
            http_data(r, upload_data, *upload_data_size);
            *upload_data_size = 0;
        }
        return MHD_YES;
    }
    if (r->responded || r->state == HTTP_QUEUED)
        return MHD_YES;
    if (r->state == HTTP_DONE) { /* resumed: the pool left the answer */
        r->responded = true;
        return http_out_send(c, &r->out);
    }
    return http_finish(s, c, r);
}

static void http_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                           enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    http_req *r = *req_cls;
    if (r == NULL)
        return;
    if (r->upload != NULL) {
        log_msg(LOG_INFO, "upload of '%s' abandoned (code %d)", r->param ? r->param : "",
                (int)toe);
        api_upload_abort(r->upload);
    }
    free(r->param);
    http_form_free(r->form);
    free(r->out.body);
    free(r->out.filename);
    api_stream_free(r->out.stream);
    api_download_free(r->out.download);
    json_decref(r->args);
    sbuf_free(&r->body);
    free(r);
    *req_cls = NULL;
}

static void http_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    log_msg(LOG_WARN, "http: %s", line);
}

/* Resolves host (numeric or name) to the first address getaddrinfo gives. */
static int http_address(const char *host, unsigned port, struct sockaddr_storage *ss,
                        socklen_t *len, cerr *e)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char service[16];
    snprintf(service, sizeof service, "%u", port);
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0 || res == NULL)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Cannot resolve host '%s': %s", host,
                        gai_strerror(rc));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* MHD_start_daemon with the server's options, plus the certificate and
 * key when t is not NULL. */
static struct MHD_Daemon *http_daemon_start(http_server *s, const http_config *cfg,
                                            struct sockaddr_storage *ss, const http_tls *t)
{
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    if (ss->ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (t != NULL)
        flags |= MHD_USE_TLS;
    unsigned workers = cfg->workers ? cfg->workers : 1;
    /* The TLS options come last: without TLS, MHD_OPTION_END ends the list
     * before them. */
    return MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, http_access, s,
        MHD_OPTION_EXTERNAL_LOGGER, http_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)ss,
        MHD_OPTION_THREAD_POOL_SIZE, workers,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CAIRN_HTTP_CONN_MEMORY,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)CAIRN_HTTP_MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CAIRN_HTTP_IDLE_TIMEOUT,
        MHD_OPTION_UNESCAPE_CALLBACK, http_unescape, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, http_completed, NULL,
        t ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, t ? t->cert : NULL,
        MHD_OPTION_HTTPS_MEM_KEY, t ? t->key : NULL,
        MHD_OPTION_HTTPS_PRIORITIES, HTTP_TLS_PRIORITIES,
        MHD_OPTION_END);
}

/* Loads the certificate and key when TLS is asked for: t filled (and *use
 * set), or an error. */
static int http_tls_prepare(const http_config *cfg, http_tls *t, bool *use, cerr *e)
{
    *use = false;
    memset(t, 0, sizeof *t);
    if (cfg->tls_cert == NULL && cfg->tls_key == NULL)
        return 0;
    if (cfg->tls_cert == NULL || cfg->tls_key == NULL)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "HTTPS needs both a certificate and a key (only the %s was given)",
                        cfg->tls_cert ? "certificate" : "key");
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return cerr_set(e, CERR_NOT_IMPLEMENTED,
                        "this libmicrohttpd was built without TLS support");
    if (http_tls_load(cfg->tls_cert, cfg->tls_key, t, e) < 0)
        return -1;
    *use = true;
    return 0;
}

int http_server_start(const http_config *cfg, http_server **out, cerr *e)
{
    *out = NULL;
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (http_address(cfg->host, cfg->port, &ss, &sslen, e) < 0)
        return -1;
    http_tls tls;
    bool use_tls;
    if (http_tls_prepare(cfg, &tls, &use_tls, e) < 0)
        return -1;
    http_server *s = calloc(1, sizeof *s);
    if (s == NULL)
        abort();
    s->api = cfg->api;
    if (http_pool_create(HTTP_POOL_MAX_THREADS, &s->pool, e) < 0) {
        http_tls_wipe(&tls);
        free(s);
        return -1;
    }
    if (http_waker_start(&s->waker, e) < 0) {
        http_tls_wipe(&tls);
        http_pool_destroy(s->pool);
        free(s);
        return -1;
    }
    s->daemon = http_daemon_start(s, cfg, &ss, use_tls ? &tls : NULL);
    /* GnuTLS parsed the key into its own credentials inside
     * MHD_start_daemon; MHD never reads the text again. */
    http_tls_wipe(&tls);
    if (s->daemon == NULL) {
        http_pool_destroy(s->pool);
        http_waker_quiesce(s->waker);
        http_waker_free(s->waker);
        free(s);
        if (use_tls)
            return cerr_set(e, CERR_INTERNAL_ERROR,
                            "Cannot serve HTTPS on %s port %u: the address is in use or not "
                            "permitted, or GnuTLS refused the certificate or key (see the "
                            "message above)",
                            cfg->host, cfg->port);
        return cerr_set(e, CERR_INTERNAL_ERROR,
                        "Cannot listen on %s port %u (address in use or not permitted?)",
                        cfg->host, cfg->port);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : cfg->port;
    *out = s;
    return 0;
}

unsigned http_server_port(const http_server *s) { return s->port; }

void http_server_stop(http_server *s)
{
    if (s == NULL)
        return;
    /* Every suspended connection must be resumed before MHD closes them,
     * and no job may still hold a request MHD is about to free. */
    http_pool_drain(s->pool);
    http_waker_quiesce(s->waker);
    MHD_stop_daemon(s->daemon);
    http_pool_destroy(s->pool);
    http_waker_free(s->waker);
    free(s);
}
