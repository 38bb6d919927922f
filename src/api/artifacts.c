/* artifacts.c - GET mlflow/artifacts/list: the files below a run's
 * artifact root, as MLflow 2.9.2's _list_artifacts returns them:
 * {root_uri, files:[{path, is_dir, file_size}]} with each path relative to
 * the run's root (e.g. "model/MLmodel").
 *
 * The run's artifact_uri decides where to look:
 *   mlflow-artifacts:/X (or mlflow-artifacts://host/X): X below the server's
 *     artifacts destination, as MLflow's proxied listing does;
 *   file:///abs/path, or a plain local path: that folder;
 *   anything else (s3://, ...): not served here yet, NOT_IMPLEMENTED. */
#include "api.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "../artifacts/local.h"
#include "../util/jsonx.h"
#include "../util/misc.h"
#include "../util/path.h"
#include "../util/sbuf.h"
#include "common.h"

/* Where a run's artifacts are: a root folder and a path below it. */
typedef struct {
    const char *root;
    sbuf root_buf; /* owns root when it is not the artifacts destination */
    sbuf base;     /* below root; "" for the root itself */
} api_artifact_loc;

/* Length of "scheme:" at the start of uri (RFC 3986 letters), or 0. */
static size_t api_uri_scheme_len(const char *uri)
{
    if (!isalpha((unsigned char)uri[0]))
        return 0;
    size_t i = 1;
    while (isalnum((unsigned char)uri[i]) || uri[i] == '+' || uri[i] == '-' || uri[i] == '.')
        i++;
    /* One letter before ':' is a Windows drive, not a scheme. */
    return (uri[i] == ':' && i > 1) ? i + 1 : 0;
}

/* The path part of scheme:[//authority]/path, without leading slashes. */
static const char *api_uri_path(const char *after_scheme)
{
    const char *p = after_scheme;
    if (p[0] == '/' && p[1] == '/') {
        p += 2;
        p += strcspn(p, "/");
    }
    return p;
}

/* A file URI's path, decoded; an encoded NUL is refused. */
static int api_pct_decode(const char *in, sbuf *out, cerr *e)
{
    size_t before = out->len;
    pct_decode(in, strlen(in), out, false);
    if (memchr(sbuf_str(out) + before, '\0', out->len - before) != NULL)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid path");
    return 0;
}

static int api_artifact_locate(const api_ctx *ctx, const char *uri, api_artifact_loc *loc,
                               cerr *e)
{
    size_t sl = api_uri_scheme_len(uri);
    if (sl == 0) {
        sbuf_puts(&loc->root_buf, uri);
    } else if (strncasecmp(uri, "mlflow-artifacts:", sl) == 0) {
        const char *p = api_uri_path(uri + sl);
        while (*p == '/')
            p++;
        loc->root = ctx->artifacts_destination;
        sbuf_puts(&loc->base, p);
        return 0;
    } else if (strncasecmp(uri, "file:", sl) == 0) {
        const char *p = uri + sl;
        if (p[0] == '/' && p[1] == '/') {
            const char *host = p + 2;
            size_t hl = strcspn(host, "/");
            if (hl != 0 && !(hl == 9 && strncasecmp(host, "localhost", 9) == 0))
                return cerr_set(e, CERR_NOT_IMPLEMENTED,
                                "Listing artifacts at '%s' (a remote file URI) is not supported",
                                uri);
            p = host + hl;
        }
        if (api_pct_decode(p, &loc->root_buf, e) < 0)
            return -1;
    } else {
        return cerr_set(e, CERR_NOT_IMPLEMENTED,
                        "Listing artifacts at '%s' is not supported by this server yet", uri);
    }
    loc->root = sbuf_str(&loc->root_buf);
    return 0;
}

/* A folder that does not exist yet (no artifact logged) lists empty. */
static bool api_root_exists(const char *root)
{
    struct stat st;
    return stat(root, &st) == 0 && S_ISDIR(st.st_mode);
}

static int api_artifacts_files(const api_ctx *ctx, const char *uri, const char *rel,
                               json_t **files, cerr *e)
{
    api_artifact_loc loc = {NULL, SBUF_INIT, SBUF_INIT};
    sbuf full = SBUF_INIT;
    int rc = api_artifact_locate(ctx, uri, &loc, e);
    if (rc == 0) {
        sbuf_printf(&full, "%s%s%s", sbuf_str(&loc.base), loc.base.len && rel[0] ? "/" : "", rel);
        if (loc.root != ctx->artifacts_destination && !api_root_exists(loc.root))
            *files = json_array();
        else
            rc = artifacts_local_list(loc.root, sbuf_str(&full), rel, files, e);
    }
    sbuf_free(&full);
    sbuf_free(&loc.root_buf);
    sbuf_free(&loc.base);
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
