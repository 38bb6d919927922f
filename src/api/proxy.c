/* proxy.c - the mlflow-artifacts service (mlflow_artifacts.proto) over the
 * artifacts destination, local or S3, as MLflow's handlers serve it:
 *   PUT    artifacts/<path>   the raw body becomes the object  -> {}
 *   GET    artifacts/<path>   the object, streamed
 *   GET    artifacts?path=<d> {"files":[{path: basename, is_dir, file_size}]}
 *   DELETE artifacts/<path>   the object or folder             -> {}
 *   POST   mpu/{create,complete,abort}/<path>: refused with MLflow's
 *          message for a repository without multipart support, on which
 *          the client falls back to PUT.
 * Uploads are written as http/ receives them and downloads read as the
 * client takes them, through the artifact store's streams, so memory stays
 * constant at any size. http/ sees only api_upload and api_download. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../util/jsonx.h"
#include "../util/path.h"
#include "api.h"
#include "common.h"

#define API_MPU_UNSUPPORTED \
    "Multipart upload is not supported for the current artifact repository"

struct api_upload {
    artifacts_writer *w;
};

struct api_download {
    artifacts_reader *r;
};

int api_proxy_list(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    const char *path = NULL;
    json_t *files = NULL;
    *out = NULL;
    if (jsonx_string(req->args, "path", &path, e) < 0 ||
        artifacts_store_list(ctx->artifacts, path ? path : "", NULL, &files, e) < 0)
        return -1;
    *out = json_object();
    api_set_list(*out, "files", files);
    return 0;
}

/* A single byte range "bytes=a-b", "bytes=a-" or "bytes=-n" against an
 * object of size bytes: 1 with [*off, *off + *len) when it asks for part of
 * it, 0 when it asks for all of it or cannot be read (RFC 9110 lets a
 * server ignore such a Range), -1 when no byte of it exists (416). */
static int api_range(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
    if (h == NULL || strncmp(h, "bytes=", 6) != 0 || strchr(h, ',') != NULL)
        return 0;
    const char *p = h + 6;
    char *end;
    if (*p == '-') { /* the last n bytes */
        if (!isdigit((unsigned char)p[1]))
            return 0;
        unsigned long long n = strtoull(p + 1, &end, 10);
        if (*end != '\0')
            return 0;
        if (n == 0)
            return -1;
        *len = n < size ? n : size;
        *off = size - *len;
    } else {
        if (!isdigit((unsigned char)*p))
            return 0;
        unsigned long long a = strtoull(p, &end, 10), b = UINT64_MAX;
        if (*end != '-')
            return 0;
        if (end[1] != '\0') {
            if (!isdigit((unsigned char)end[1]))
                return 0;
            b = strtoull(end + 1, &end, 10);
            if (*end != '\0' || b < a)
                return 0;
        }
        if (a >= size)
            return -1;
        *off = a;
        *len = (b >= size ? size - 1 : b) - a + 1;
    }
    return *off == 0 && *len == size ? 0 : 1;
}

int api_proxy_get(const api_ctx *ctx, const api_request *req, api_result *res, cerr *e)
{
    const char *path = json_string_value(json_object_get(req->args, "path"));
    sbuf norm = SBUF_INIT;
    artifacts_reader *r = NULL;
    uint64_t size = 0, off = 0, len = 0;
    int rc = path_normalize_rel(path ? path : "", &norm, e);
    if (rc == 0)
        rc = artifacts_reader_open(ctx->artifacts, sbuf_str(&norm), 0, UINT64_MAX, &r, &size, e);
    int part = rc == 0 ? api_range(req->headers.range, size, &off, &len) : 0;
    if (part < 0) {
        /* Nothing to send: 416 with the size, as RFC 9110 asks. */
        artifacts_reader_close(r);
        sbuf_free(&norm);
        res->status = 416;
        res->total = size;
        res->content_type = "text/plain; charset=utf-8";
        sbuf_puts(&res->text, "Range Not Satisfiable");
        return 0;
    }
    if (part > 0) {
        artifacts_reader_close(r);
        r = NULL;
        rc = artifacts_reader_open(ctx->artifacts, sbuf_str(&norm), off, len, &r, &size, e);
        res->status = 206;
        res->offset = off;
        res->total = size;
        size = len;
    }
    if (rc == 0) {
        res->download = calloc(1, sizeof *res->download);
        if (res->download == NULL)
            abort();
        res->download->r = r;
        res->size = size;
        res->filename = strdup(path_basename(sbuf_str(&norm)));
        if (res->filename == NULL)
            abort();
    }
    sbuf_free(&norm);
    return rc;
}

int api_proxy_delete(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    const char *path = json_string_value(json_object_get(req->args, "path"));
    *out = NULL;
    if (artifacts_store_delete(ctx->artifacts, path ? path : "", e) < 0)
        return -1;
    *out = api_empty();
    return 0;
}

int api_proxy_mpu(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    (void)ctx;
    (void)req;
    *out = NULL;
    return cerr_set(e, CERR_NOT_IMPLEMENTED, API_MPU_UNSUPPORTED);
}

/* The upload's size when the client declared it (Content-Length without
 * Transfer-Encoding, as MLflow's client sends a file), else -1. */
static int64_t api_upload_size(const api_headers *h)
{
    const char *s = h->content_length;
    if (h->transfer_encoding != NULL || s == NULL || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > INT64_MAX)
        return -1;
    return (int64_t)v;
}

int api_proxy_put_begin(const api_ctx *ctx, const api_request *req, api_upload **out, cerr *e)
{
    const char *path = json_string_value(json_object_get(req->args, "path"));
    artifacts_writer *w = NULL;
    *out = NULL;
    if (artifacts_writer_open_sized(ctx->artifacts, path ? path : "", api_upload_size(&req->headers),
                                    &w, e) < 0)
        return -1;
    *out = calloc(1, sizeof **out);
    if (*out == NULL)
        abort();
    (*out)->w = w;
    return 0;
}

/* ---- the streams http/ drives ---- */

int api_upload_begin(const api_route *route, const api_ctx *ctx, api_request *req,
                     api_upload **out, cerr *e)
{
    *out = NULL;
    if (route->upload == NULL)
        return cerr_set(e, CERR_INTERNAL_ERROR, "%s takes no streamed body", route->path);
    if (api_access_check(ctx, route, req, e) < 0)
        return -1;
    return route->upload(ctx, req, out, e);
}

ssize_t api_upload_write(api_upload *u, const void *data, size_t n, cerr *e)
{
    return artifacts_writer_write(u->w, data, n, e);
}

void api_upload_notify(api_upload *u, api_notify_fn fn, void *arg)
{
    artifacts_writer_notify(u->w, fn, arg);
}

int api_upload_finish(api_upload *u, api_result *res, cerr *e)
{
    int rc = artifacts_writer_commit(u->w, e);
    free(u);
    if (rc == 0)
        res->json = api_empty();
    return rc;
}

void api_upload_abort(api_upload *u)
{
    if (u == NULL)
        return;
    artifacts_writer_abort(u->w);
    free(u);
}

ssize_t api_download_read(api_download *d, void *buf, size_t n, cerr *e)
{
    ssize_t k = artifacts_reader_read(d->r, buf, n, e);
    return k == ARTIFACTS_AGAIN ? API_AGAIN : k;
}

void api_download_notify(api_download *d, api_notify_fn fn, void *arg)
{
    artifacts_reader_notify(d->r, fn, arg);
}

int api_download_fd(api_download *d) { return artifacts_reader_fd(d->r); }

void api_download_free(api_download *d)
{
    if (d == NULL)
        return;
    artifacts_reader_close(d->r);
    free(d);
}
