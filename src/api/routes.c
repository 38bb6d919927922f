/* routes.c - the table from (method, path below /api/2.0/mlflow/) to
 * handler: MLflow 2.9.2's tracking endpoints. */
#include <string.h>

#include "api.h"
#include "common.h"

static const api_route api_routes[] = {
    {"POST", "experiments/create", api_experiments_create, NULL, NULL},
    {"GET", "experiments/get", api_experiments_get, NULL, NULL},
    {"GET", "experiments/get-by-name", api_experiments_get_by_name, NULL, NULL},
    {"POST", "experiments/search", api_experiments_search, NULL, NULL},
    {"GET", "experiments/search", api_experiments_search, NULL, NULL},
    {"POST", "experiments/update", api_experiments_update, NULL, NULL},
    {"POST", "experiments/delete", api_experiments_delete, NULL, NULL},
    {"POST", "experiments/restore", api_experiments_restore, NULL, NULL},
    {"POST", "experiments/set-experiment-tag", api_experiments_set_tag, NULL, NULL},
    {"POST", "runs/create", api_runs_create, NULL, NULL},
    {"GET", "runs/get", api_runs_get, NULL, NULL},
    {"POST", "runs/update", api_runs_update, NULL, NULL},
    {"POST", "runs/delete", api_runs_delete, NULL, NULL},
    {"POST", "runs/restore", api_runs_restore, NULL, NULL},
    {"POST", "runs/search", api_runs_search, NULL, NULL},
    {"POST", "runs/log-metric", api_runs_log_metric, NULL, api_runs_log_metric_prep},
    {"POST", "runs/log-parameter", api_runs_log_parameter, NULL, api_runs_log_parameter_prep},
    {"POST", "runs/log-batch", api_runs_log_batch, NULL, api_runs_log_batch_prep},
    {"POST", "runs/set-tag", api_runs_set_tag, NULL, api_runs_set_tag_prep},
    {"POST", "runs/delete-tag", api_runs_delete_tag, NULL, NULL},
    {"POST", "runs/log-inputs", api_runs_log_inputs, NULL, NULL},
    {"GET", "metrics/get-history", NULL, api_metrics_get_history_ex, NULL},
    /* MLflow 2.11's, served because the UI's charts want it. */
    {"GET", "metrics/get-history-bulk-interval", NULL, api_metrics_get_history_bulk_interval, NULL},
    {"GET", "artifacts/list", api_artifacts_list, NULL, NULL},
};

const api_route *api_route_find(const char *method, const char *path, bool *path_known)
{
    *path_known = false;
    for (size_t i = 0; i < sizeof api_routes / sizeof api_routes[0]; i++) {
        if (strcmp(api_routes[i].path, path) != 0)
            continue;
        *path_known = true;
        if (strcmp(api_routes[i].method, method) == 0)
            return &api_routes[i];
    }
    return NULL;
}

int api_call_ex(const api_route *route, const api_ctx *ctx, api_request *req, api_result *res,
                cerr *e)
{
    api_stringify_experiment_ids(req->args);
    if (route->fn)
        return route->fn(ctx, req, &res->json, e);
    return route->fn_ex(ctx, req, res, e);
}

void api_result_free(api_result *res)
{
    json_decref(res->json);
    sbuf_free(&res->text);
    api_stream_free(res->stream);
    *res = (api_result){0};
}

int api_call(const api_route *route, const api_ctx *ctx, api_request *req, json_t **out, cerr *e)
{
    api_result res = {0};
    *out = NULL;
    int rc = api_call_ex(route, ctx, req, &res, e);
    /* Text and streams are read back into an object: for callers (tests,
     * fuzzers) that want one. */
    while (rc == 0 && res.stream && (rc = api_stream_next(res.stream, &res.text, e)) > 0)
        ;
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
