/* call.c - the door itself: every request found in the route table runs
 * through one of the entry points below, and each of them checks access
 * (access.c) before the handler runs:
 *   api_call_ex      an ordinary handler (JSON, text, a stream, a download);
 *   api_call_queued  a run write handed to the store's writer thread, which
 *                    answers once the write is durable (the fast path);
 *   api_upload_*     a streamed upload (upload.c does the streaming).
 * http/ calls nothing else of api/ for a request. */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "common.h"

int api_call_ex(const api_route *route, const api_ctx *ctx, api_request *req, api_result *res,
                cerr *e)
{
    api_stringify_experiment_ids(req->args);
    if (api_access_check(ctx, route, req, e) < 0)
        return -1;
    int rc;
    if (route->fn)
        rc = route->fn(ctx, req, &res->json, e);
    else if (route->fn_ex)
        rc = route->fn_ex(ctx, req, res, e);
    else
        rc = cerr_set(e, CERR_INTERNAL_ERROR, "%s takes a streamed body", route->path);
    if (rc == 0)
        api_access_after(ctx, route, req, res);
    return rc;
}

int api_stream_next(api_stream *s, sbuf *out, cerr *e)
{
    return s->next(s, out, e);
}

void api_stream_free(api_stream *s)
{
    if (s)
        s->free(s);
}

void api_result_free(api_result *res)
{
    json_decref(res->json);
    sbuf_free(&res->text);
    api_stream_free(res->stream);
    api_download_free(res->download);
    free(res->filename);
    *res = (api_result){0};
}

int api_call(const api_route *route, const api_ctx *ctx, api_request *req, json_t **out, cerr *e)
{
    api_result res = {0};
    *out = NULL;
    int rc = api_call_ex(route, ctx, req, &res, e);
    /* Text and streams are read back into an object: for callers (tests,
     * fuzzers) that want one. */
    while (rc == 0 && res.stream) {
        int n = api_stream_next(res.stream, &res.text, e);
        if (n == 0)
            break;
        if (n < 0)
            rc = -1;
        else if (n == API_STREAM_WAIT)
            rc = cerr_set(e, CERR_INTERNAL_ERROR, "%s: a stream that waits cannot be read at once",
                          route->path);
    }
    if (rc == 0 && res.download)
        rc = cerr_set(e, CERR_INTERNAL_ERROR, "%s answers bytes, not an object", route->path);
    if (rc == 0 && !res.json) {
        json_error_t je;
        res.json = json_loadb(sbuf_str(&res.text), res.text.len, 0, &je);
        if (res.json == NULL)
            rc = cerr_set(e, CERR_INTERNAL_ERROR, "invalid JSON from %s: %s", route->path,
                          je.text);
    }
    if (rc == 0) {
        *out = res.json;
        res.json = NULL;
    }
    api_result_free(&res);
    return rc < 0 ? -1 : 0;
}

/* ---- run writes queued to the store ---- */

/* A write in flight: the parsed batch points into args, so both live
 * until the store answers. */
typedef struct api_pending {
    api_batch batch;
    json_t *args;
    api_done_fn done;
    void *arg;
} api_pending;

static void api_pending_free(api_pending *p)
{
    api_batch_free(&p->batch);
    json_decref(p->args);
    free(p);
}

/* On the store's writer thread, once the write is durable or failed. */
static void api_pending_done(void *arg, int rc, const cerr *e)
{
    api_pending *p = arg;
    api_done_fn done = p->done;
    void *darg = p->arg;
    api_result res = {0};
    if (rc == 0)
        res.json = api_empty();
    api_pending_free(p);
    done(darg, rc, &res, e);
}

int api_call_queued(const api_route *route, const api_ctx *ctx, api_request *req,
                    api_done_fn done, void *arg)
{
    cerr e;
    cerr_clear(&e);
    if (route->prep == NULL)
        return API_BLOCKING;
    if (api_access_check(ctx, route, req, &e) < 0)
        goto refused;
    api_pending *p = calloc(1, sizeof *p);
    if (p == NULL)
        abort();
    p->done = done;
    p->arg = arg;
    if (route->prep(req, &p->batch, &e) < 0) {
        api_pending_free(p);
        goto refused;
    }
    api_batch *b = &p->batch;
    /* The store may answer before this returns: p is its from here on. */
    p->args = json_incref(req->args);
    if (store_run_log_batch_async(ctx->st, b->run_id, b->metrics, b->nmetrics, b->params,
                                  b->nparams, b->tags, b->ntags, api_pending_done, p, &e) == 0) {
        json_decref(req->args);
        req->args = NULL;
        return 0;
    }
    /* No writer thread (PostgreSQL): the caller runs the blocking handler. */
    p->args = NULL;
    json_decref(req->args);
    api_pending_free(p);
    return API_BLOCKING;

refused: /* answered at once; the request is ours to drop, as when queued */
    json_decref(req->args);
    req->args = NULL;
    done(arg, -1, NULL, &e);
    return 0;
}

/* GET /health: the server answers, nothing more (a public route). */
int api_health(const api_ctx *ctx, const api_request *req, api_result *res, cerr *e)
{
    (void)ctx;
    (void)req;
    (void)e;
    sbuf_puts(&res->text, "OK");
    res->content_type = "text/plain; charset=utf-8";
    return 0;
}
