/* response.c - queueing responses: JSON bodies, MLflow error bodies, plain
 * text, and streamed file downloads. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../util/misc.h"

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t http_utf8_seq(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned min;
    if ((c & 0xE0) == 0xC0) { n = 2; min = 0x80; c &= 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 3; min = 0x800; c &= 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 4; min = 0x10000; c &= 0x07; }
    else return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    return n;
}

json_t *http_json_string(const char *s)
{
    json_t *j = json_string(s);
    if (j != NULL)
        return j;
    sbuf b = SBUF_INIT;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = http_utf8_seq(p);
        if (n == 0) {
            sbuf_puts(&b, "\xEF\xBF\xBD");
            p++;
        } else {
            sbuf_append(&b, (const char *)p, n);
            p += n;
        }
    }
    j = json_string(sbuf_str(&b));
    sbuf_free(&b);
    return j ? j : json_string("");
}

static enum MHD_Result http_queue(struct MHD_Connection *c, unsigned status, char *body,
                                  size_t len, const char *type, uint64_t total)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    /* A client without credentials learns how to give them (RFC 7617), in
     * the realm MLflow's basic-auth app names. */
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"mlflow\"");
    /* Too many failed logins: when to try again (the limit's window). */
    if (status == MHD_HTTP_TOO_MANY_REQUESTS) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", HTTP_RETRY_AFTER_S);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    if (status == MHD_HTTP_RANGE_NOT_SATISFIABLE) {
        char cr[48];
        snprintf(cr, sizeof cr, "bytes */%llu", (unsigned long long)total);
        MHD_add_response_header(resp, "Content-Range", cr);
    }
    enum MHD_Result rc = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

void http_out_json(http_out *o, unsigned status, json_t *obj)
{
    char *body = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (body == NULL) {
        http_out_error(o, 500, "INTERNAL_ERROR", "Cannot encode the response");
        return;
    }
    *o = (http_out){.status = status, .body = body, .len = strlen(body), .type = "application/json"};
}

void http_out_error(http_out *o, unsigned status, const char *code_name, const char *msg)
{
    if (status >= 500)
        log_msg(LOG_WARN, "%u %s: %s", status, code_name, msg);
    json_t *obj = json_object();
    json_object_set_new(obj, "error_code", json_string(code_name));
    json_object_set_new(obj, "message", http_json_string(msg));
    char *body = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    *o = (http_out){.status = status, .body = body, .len = body ? strlen(body) : 0, .type = "application/json"};
}

void http_out_cerr(http_out *o, const cerr *e)
{
    http_out_error(o, (unsigned)cerr_http_status(e->code), cerr_code_name(e->code), e->msg);
}

void http_out_result(http_out *o, api_result *res)
{
    unsigned status = res->status ? res->status : MHD_HTTP_OK;
    const char *type = res->content_type ? res->content_type : "application/json";
    if (res->json) {
        http_out_json(o, status, res->json);
        res->json = NULL;
    } else if (res->stream) {
        *o = (http_out){.status = status, .type = type, .stream = res->stream};
        res->stream = NULL;
    } else if (res->download) {
        *o = (http_out){.status = status, .download = res->download, .size = res->size,
                        .filename = res->filename, .offset = res->offset, .total = res->total};
        res->download = NULL;
        res->filename = NULL;
    } else {
        size_t len = res->text.len;
        char *body = sbuf_detach(&res->text);
        *o = (http_out){.status = status, .body = body, .len = len, .type = type,
                        .total = res->total};
    }
    api_result_free(res);
}

/* MHD's content reader for a streamed answer: serves the stream's text a
 * piece at a time; the buffer holds at most one page. */
typedef struct http_streaming {
    api_stream *stream;
    sbuf buf;
    size_t off;
    struct MHD_Connection *c;
    http_waker *waker;
} http_streaming;

static ssize_t http_stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    http_streaming *hs = cls;
    while (hs->off == hs->buf.len) {
        sbuf_reset(&hs->buf);
        hs->off = 0;
        cerr e;
        cerr_clear(&e);
        int rc = api_stream_next(hs->stream, &hs->buf, &e);
        if (rc < 0) {
            /* The status line is gone: all that is left is to cut the
             * body short, which the client sees as a broken response. */
            log_msg(LOG_WARN, "streamed response cut short: %s", e.msg);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (rc == 0 && hs->buf.len == 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (rc == API_STREAM_WAIT && hs->buf.len == 0) {
            /* Nothing yet: park the connection (MHD would call again at
             * once); a stopping server ends the stream instead. */
            if (hs->waker && http_waker_park(hs->waker, hs->c))
                return 0;
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
    }
    size_t n = hs->buf.len - hs->off < max ? hs->buf.len - hs->off : max;
    memcpy(out, hs->buf.data + hs->off, n);
    hs->off += n;
    return (ssize_t)n;
}

static void http_stream_free(void *cls)
{
    http_streaming *hs = cls;
    api_stream_free(hs->stream);
    sbuf_free(&hs->buf);
    free(hs);
}

static enum MHD_Result http_out_stream(struct MHD_Connection *c, http_out *o)
{
    http_streaming *hs = calloc(1, sizeof *hs);
    if (hs == NULL)
        abort();
    hs->stream = o->stream;
    hs->c = c;
    hs->waker = o->waker;
    o->stream = NULL;
    struct MHD_Response *resp = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, HTTP_STREAM_BLOCK, http_stream_read, hs, http_stream_free);
    if (resp == NULL) {
        http_stream_free(hs);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, o->type);
    enum MHD_Result rc = MHD_queue_response(c, o->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result http_out_download(struct MHD_Connection *c, http_out *o);

enum MHD_Result http_out_send(struct MHD_Connection *c, http_out *o)
{
    if (o->stream)
        return http_out_stream(c, o);
    if (o->download)
        return http_out_download(c, o);
    char *body = o->body;
    o->body = NULL;
    if (body == NULL) /* out of memory while encoding */
        return MHD_NO;
    return http_queue(c, o->status, body, o->len, o->type, o->total);
}

enum MHD_Result http_send_json(struct MHD_Connection *c, unsigned status, json_t *obj)
{
    http_out o;
    http_out_json(&o, status, obj);
    return http_out_send(c, &o);
}

enum MHD_Result http_send_error(struct MHD_Connection *c, unsigned status, const char *code_name,
                                const char *msg)
{
    http_out o;
    http_out_error(&o, status, code_name, msg);
    return http_out_send(c, &o);
}

enum MHD_Result http_send_cerr(struct MHD_Connection *c, const cerr *e)
{
    http_out o;
    http_out_cerr(&o, e);
    return http_out_send(c, &o);
}

/* MLflow's _guess_mime_type: its TEXT_EXTENSIONS (and MLmodel, MLproject)
 * are text/plain; a few common binary types; else application/octet-stream. */
static const char *http_mime_type(const char *name)
{
    static const char *text[] = {"txt", "log", "err", "cfg", "conf", "cnf", "cf", "ini",
                                 "properties", "prop", "hocon", "toml", "yaml", "yml", "xml",
                                 "json", "js", "py", "py3", "csv", "tsv", "md", "rst",
                                 "MLmodel", "mlproject", "MLproject"};
    static const struct { const char *ext, *type; } known[] = {
        {"png", "image/png"},   {"jpg", "image/jpeg"},       {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},   {"bmp", "image/bmp"},        {"svg", "image/svg+xml"},
        {"html", "text/html"},  {"htm", "text/html"},        {"pdf", "application/pdf"},
        {"zip", "application/zip"}, {"tar", "application/x-tar"},
    };
    const char *dot = strrchr(name, '.');
    const char *ext = (dot && dot != name) ? dot + 1 : name;
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
        if (strcmp(ext, text[i]) == 0)
            return "text/plain";
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcasecmp(ext, known[i].ext) == 0)
            return known[i].type;
    return "application/octet-stream";
}

/* Content-Type and Content-Disposition of an artifact download. */
static void http_download_headers(struct MHD_Response *resp, const char *name)
{
    /* The file name goes into a quoted header value: keep it to safe ASCII. */
    sbuf cd = SBUF_INIT;
    sbuf_puts(&cd, "attachment; filename=\"");
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        sbuf_putc(&cd, (*p < 0x20 || *p >= 0x7F || *p == '"' || *p == '\\') ? '_' : (char)*p);
    sbuf_putc(&cd, '"');
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, http_mime_type(name));
    MHD_add_response_header(resp, "Content-Disposition", sbuf_str(&cd));
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    sbuf_free(&cd);
}

/* MHD's content reader for a download the store streams (S3): a read that
 * finds nothing yet parks the connection until the store kicks the waker. */
typedef struct http_downloading {
    api_download *d;
    struct MHD_Connection *c;
    http_waker *waker;
} http_downloading;

static ssize_t http_download_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    http_downloading *hd = cls;
    cerr e;
    cerr_clear(&e);
    ssize_t n = api_download_read(hd->d, out, max, &e);
    if (n > 0)
        return n;
    if (n == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n == API_AGAIN && hd->waker) {
        api_download_notify(hd->d, http_waker_kick, hd->waker);
        if (http_waker_park(hd->waker, hd->c))
            return 0;
    }
    log_msg(LOG_WARN, "download cut short: %s", n == API_AGAIN ? "server stopping" : e.msg);
    return MHD_CONTENT_READER_END_WITH_ERROR;
}

static void http_download_free(void *cls)
{
    http_downloading *hd = cls;
    api_download_free(hd->d);
    free(hd);
}

static enum MHD_Result http_out_download(struct MHD_Connection *c, http_out *o)
{
    struct MHD_Response *resp = NULL;
    int fd = api_download_fd(o->download);
    if (fd >= 0) {
        /* A local file: the kernel sends it. MHD closes its own copy. */
        int dfd = dup(fd);
        if (dfd >= 0 &&
            (resp = MHD_create_response_from_fd_at_offset64(o->size, dfd, o->offset)) == NULL)
            close(dfd);
        api_download_free(o->download);
    } else {
        http_downloading *hd = calloc(1, sizeof *hd);
        if (hd == NULL)
            abort();
        hd->d = o->download;
        hd->c = c;
        hd->waker = o->waker;
        resp = MHD_create_response_from_callback(o->size, HTTP_DOWNLOAD_BLOCK, http_download_read,
                                                 hd, http_download_free);
        if (resp == NULL)
            http_download_free(hd);
    }
    o->download = NULL;
    char *name = o->filename;
    o->filename = NULL;
    if (resp == NULL) {
        free(name);
        return http_send_error(c, 500, "INTERNAL_ERROR", "Cannot stream the artifact");
    }
    http_download_headers(resp, name);
    free(name);
    MHD_add_response_header(resp, "Accept-Ranges", "bytes");
    if (o->status == MHD_HTTP_PARTIAL_CONTENT) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu", (unsigned long long)o->offset,
                 (unsigned long long)(o->offset + o->size - 1), (unsigned long long)o->total);
        MHD_add_response_header(resp, "Content-Range", cr);
    }
    enum MHD_Result rc = MHD_queue_response(c, o->status, resp);
    MHD_destroy_response(resp);
    return rc;
}
