/* artifacts.c - GET mlflow/artifacts/list: the files below a run's
 * artifact root, as MLflow 2.9.2's _list_artifacts returns them:
 * {root_uri, files:[{path, is_dir, file_size}]} with each path relative to
 * the run's root (e.g. "model/MLmodel").
 *
 * The run's artifact_uri decides where to look (artifacts/locate.h):
 * mlflow-artifacts:/X below the server's artifacts destination, as MLflow's
 * proxied listing does; a local folder or an s3:// URI in that store. */
#include "api.h"

#include <stdlib.h>

#include "../artifacts/locate.h"
#include "../util/jsonx.h"
#include "../util/misc.h"
#include "../util/path.h"
#include "../util/sbuf.h"
#include "common.h"

static int api_artifacts_files(const api_ctx *ctx, const char *uri, const char *rel,
                               json_t **files, cerr *e)
{
    artifacts_loc loc = ARTIFACTS_LOC_INIT;
    sbuf full = SBUF_INIT;
    int rc = artifacts_locate(ctx->artifacts, uri, "Listing artifacts", &loc, e);
    if (rc == 0) {
        artifacts_loc_path(&loc, rel, &full);
        rc = artifacts_store_list(loc.store, sbuf_str(&full), rel, files, e);
    }
    sbuf_free(&full);
    artifacts_loc_free(&loc);
    return rc;
}

int api_artifacts_list(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    const char *run_id, *path = NULL, *page_token = NULL;
    *out = NULL;
    if (jsonx_string(req->args, "path", &path, e) < 0 ||
        jsonx_string(req->args, "page_token", &page_token, e) < 0 ||
        api_run_id(req->args, &run_id, e) < 0)
        return -1;
    (void)page_token; /* local listings come in one page, as in MLflow */
    sbuf rel = SBUF_INIT;
    if (path_normalize_rel(path ? path : "", &rel, e) < 0) {
        sbuf_free(&rel);
        return -1;
    }
    char *uri = NULL;
    json_t *files = NULL;
    int rc = store_run_artifact_uri(ctx->st, run_id, &uri, e);
    if (rc == 0)
        rc = api_artifacts_files(ctx, uri, sbuf_str(&rel), &files, e);
    if (rc == 0) {
        *out = json_object();
        json_object_set_new(*out, "root_uri", json_string(uri));
        api_set_list(*out, "files", files); /* omitted when empty, as protobuf JSON */
    } else {
        json_decref(files);
    }
    free(uri);
    sbuf_free(&rel);
    return rc;
}
