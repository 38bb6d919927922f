/* artifacts.c - artifacts through the tracking server's mlflow-artifacts
 * proxy: streamed upload (PUT) and download (GET) of files, and listing.
 * Offline, an upload copies the file into the spool and journals it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* "/api/2.0/mlflow-artifacts/artifacts/<exp>/<run>/artifacts[/<path>]" for run_id. */
static int cl_artifact_url(cairn_client *c, const char *run_id, const char *path, char **out)
{
    char *q = cl_escape(run_id, 1);
    if (q == NULL)
        return cl_oom();
    char get[512];
    snprintf(get, sizeof get, "runs/get?run_id=%.400s", q);
    free(q);
    json_t *resp = NULL;
    int r = cl_api_get_json(c, get, &resp);
    if (r < 0)
        return r;
    const char *uri = json_string_value(
        json_object_get(json_object_get(json_object_get(resp, "run"), "info"), "artifact_uri"));
    const char *prefix = "mlflow-artifacts:";
    if (uri == NULL || strncmp(uri, prefix, strlen(prefix)) != 0) {
        r = cl_fail(CAIRN_EINVAL,
                    "run %s stores artifacts at %s, which is not served by the tracking server "
                    "(only mlflow-artifacts:/ URIs are)", run_id, uri ? uri : "(none)");
        json_decref(resp);
        return r;
    }
    const char *rest = uri + strlen(prefix);
    if (strncmp(rest, "//", 2) == 0) {          /* mlflow-artifacts://host:port/path */
        const char *slash = strchr(rest + 2, '/');
        rest = slash ? slash : "";
    }
    while (*rest == '/')
        rest++;
    cl_buf b = {0};
    r = cl_buf_printf(&b, "/api/2.0/mlflow-artifacts/artifacts/%s", rest);
    while (r == CAIRN_OK && b.len > 0 && b.data[b.len - 1] == '/')
        b.data[--b.len] = '\0';
    if (r == CAIRN_OK && path != NULL && *path) {
        while (*path == '/')
            path++;
        char *ep = cl_escape(path, 0);
        r = ep ? cl_buf_printf(&b, "/%s", ep) : cl_oom();
        free(ep);
    }
    json_decref(resp);
    if (r < 0) {
        cl_buf_free(&b);
        return r;
    }
    *out = cl_buf_take(&b);
    return CAIRN_OK;
}

static const char *cl_basename(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* artifact_path names the destination file; a trailing '/' means a folder. */
static char *cl_dest_path(const char *local_path, const char *artifact_path)
{
    cl_buf b = {0};
    if (artifact_path == NULL || *artifact_path == '\0')
        cl_buf_puts(&b, cl_basename(local_path));
    else if (artifact_path[strlen(artifact_path) - 1] == '/')
        cl_buf_printf(&b, "%s%s", artifact_path, cl_basename(local_path));
    else
        cl_buf_puts(&b, artifact_path);
    return cl_buf_take(&b);
}

int cl_artifact_upload_online(cairn_client *c, const char *run_id, const char *local_path,
                              const char *artifact_path, cairn_progress_fn fn, void *ud)
{
    char *dest = cl_dest_path(local_path, artifact_path);
    char *url = NULL;
    int r = dest ? cl_artifact_url(c, run_id, dest, &url) : cl_oom();
    if (r == CAIRN_OK)
        r = cl_http_upload(c, url, local_path, fn, ud);
    free(url);
    free(dest);
    return r;
}

int cairn_artifact_upload(cairn_client *c, const char *run_id, const char *local_path,
                          const char *artifact_path, cairn_progress_fn progress, void *ud)
{
    if (run_id == NULL || *run_id == '\0')
        run_id = cairn_env_run_id();
    if (c == NULL || run_id == NULL)
        return cl_fail(CAIRN_EINVAL, "missing run id (pass one or set MLFLOW_RUN_ID)");
    int r = cl_require("local file", local_path);
    if (r < 0)
        return r;
    r = CAIRN_EUNREACHABLE;
    if (!atomic_load(&c->offline) && !cl_is_local_run(run_id)) {
        r = cl_artifact_upload_online(c, run_id, local_path, artifact_path, progress, ud);
        if (!cl_fallback(c, r))
            return r;
    }
    if (c->no_spool)
        return cl_fail(CAIRN_EOFFLINE, "the client is offline and spooling is disabled");
    char id[33];
    cl_uuid_hex(id);
    char *rel = NULL, *dest = cl_dest_path(local_path, artifact_path);
    r = dest ? cl_spool_copy(c, local_path, id, &rel) : cl_oom();
    if (r == CAIRN_OK) {
        json_t *f = json_pack("{s:s, s:s, s:s}", "run_id", run_id, "path", dest, "file", rel);
        r = cl_spool_append(c, "artifact", f);
        json_decref(f);
    }
    free(rel);
    free(dest);
    return r;
}

int cairn_artifact_download(cairn_client *c, const char *run_id, const char *artifact_path,
                            const char *local_path, cairn_progress_fn progress, void *ud)
{
    if (run_id == NULL || *run_id == '\0')
        run_id = cairn_env_run_id();
    if (c == NULL || run_id == NULL)
        return cl_fail(CAIRN_EINVAL, "missing run id (pass one or set MLFLOW_RUN_ID)");
    int r = cl_require("artifact path", artifact_path);
    if (r < 0)
        return r;
    if (c->forced_offline)
        return cl_fail(CAIRN_EOFFLINE, "the client is offline (CAIRN_OFFLINE); this call needs the server");
    if (local_path == NULL || *local_path == '\0')
        local_path = cl_basename(artifact_path);
    char *url = NULL;
    r = cl_artifact_url(c, run_id, artifact_path, &url);
    if (r == CAIRN_OK)
        r = cl_http_download(c, url, local_path, progress, ud);
    free(url);
    return r;
}

int cairn_artifact_list(cairn_client *c, const char *run_id, const char *path, char **json_out)
{
    if (run_id == NULL || *run_id == '\0')
        run_id = cairn_env_run_id();
    if (c == NULL || run_id == NULL)
        return cl_fail(CAIRN_EINVAL, "missing run id (pass one or set MLFLOW_RUN_ID)");
    if (c->forced_offline)
        return cl_fail(CAIRN_EOFFLINE, "the client is offline (CAIRN_OFFLINE); this call needs the server");
    char *qr = cl_escape(run_id, 1), *qp = path && *path ? cl_escape(path, 1) : NULL;
    cl_buf b = {0};
    int r = cl_buf_printf(&b, "artifacts/list?run_id=%s", qr ? qr : "");
    if (r == CAIRN_OK && qp != NULL)
        r = cl_buf_printf(&b, "&path=%s", qp);
    free(qr);
    free(qp);
    if (r == CAIRN_OK)
        r = cl_api_get(c, b.data, json_out);
    cl_buf_free(&b);
    return r;
}
