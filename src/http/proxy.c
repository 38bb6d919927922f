/* proxy.c - the mlflow-artifacts service (mlflow_artifacts.proto) over the
 * local artifacts destination, as MLflow 2.9.2's handlers serve it:
 *   PUT    artifacts/<path>   the raw body becomes the file   -> {}
 *   GET    artifacts/<path>   the file, streamed
 *   GET    artifacts?path=<d> {"files":[{path: basename, is_dir, file_size}]}
 *   DELETE artifacts/<path>   the file or folder               -> {}
 * Uploads are written chunk by chunk as MHD delivers them and downloads are
 * sent from the file descriptor, so memory stays constant at any size. */
#include "internal.h"

#include <string.h>

#include "../util/jsonx.h"
#include "../util/path.h"

int http_proxy_begin(const api_ctx *ctx, http_req *r, cerr *e)
{
    switch (r->kind) {
    case HTTP_PROXY_PUT:
        /* A trailing '/' names a folder, which a body cannot become. */
        if (r->rel[0] == '\0' || r->rel[strlen(r->rel) - 1] == '/')
            return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid path");
        return artifacts_upload_begin(ctx->artifacts_destination, r->rel, &r->upload, e);
    case HTTP_PROXY_GET:
    case HTTP_PROXY_DELETE:
        return path_validate_rel(r->rel, e);
    default:
        return 0;
    }
}

void http_proxy_data(http_req *r, const char *data, size_t n)
{
    if (r->kind != HTTP_PROXY_PUT || r->failed || r->upload == NULL)
        return; /* bodies of other requests are read and dropped */
    if (artifacts_upload_write(r->upload, data, n, &r->err) < 0) {
        r->failed = true;
        artifacts_upload_abort(r->upload);
        r->upload = NULL;
    }
}

static enum MHD_Result http_proxy_list(const api_ctx *ctx, struct MHD_Connection *c)
{
    json_t *args, *files = NULL;
    cerr e;
    cerr_clear(&e);
    http_args_from_query(c, &args);
    const char *path = NULL;
    int rc = jsonx_string(args, "path", &path, &e);
    if (rc == 0)
        rc = artifacts_local_list(ctx->artifacts_destination, path ? path : "", NULL, &files,
                                  &e);
    json_decref(args);
    if (rc < 0)
        return http_send_cerr(c, &e);
    json_t *resp = json_object();
    if (json_array_size(files) > 0)
        json_object_set(resp, "files", files);
    json_decref(files);
    return http_send_json(c, MHD_HTTP_OK, resp);
}

static enum MHD_Result http_proxy_get(const api_ctx *ctx, struct MHD_Connection *c, http_req *r)
{
    cerr e;
    cerr_clear(&e);
    sbuf norm = SBUF_INIT;
    int fd = -1;
    uint64_t size = 0;
    enum MHD_Result res;
    if (path_normalize_rel(r->rel, &norm, &e) < 0 ||
        artifacts_local_open(ctx->artifacts_destination, r->rel, &fd, &size, &e) < 0)
        res = http_send_cerr(c, &e);
    else
        res = http_send_file(c, fd, size, path_basename(sbuf_str(&norm)));
    sbuf_free(&norm);
    return res;
}

enum MHD_Result http_proxy_finish(const api_ctx *ctx, struct MHD_Connection *c, http_req *r)
{
    cerr e;
    cerr_clear(&e);
    switch (r->kind) {
    case HTTP_PROXY_PUT: {
        if (r->failed)
            return http_send_cerr(c, &r->err);
        artifacts_upload *u = r->upload;
        r->upload = NULL;
        if (artifacts_upload_commit(u, &e) < 0)
            return http_send_cerr(c, &e);
        return http_send_json(c, MHD_HTTP_OK, json_object());
    }
    case HTTP_PROXY_GET:
        return http_proxy_get(ctx, c, r);
    case HTTP_PROXY_LIST:
        return http_proxy_list(ctx, c);
    case HTTP_PROXY_DELETE:
        if (artifacts_local_delete(ctx->artifacts_destination, r->rel, &e) < 0)
            return http_send_cerr(c, &e);
        return http_send_json(c, MHD_HTTP_OK, json_object());
    default:
        return http_send_error(c, 500, "INTERNAL_ERROR", "Unexpected artifact request");
    }
}
