/* routes.c - the table from (method, path below /api/2.0/mlflow/) to
 * handler: MLflow 2.9.2's tracking endpoints. */
#include <string.h>

#include "api.h"
#include "common.h"

static const api_route api_routes[] = {
    {"POST", "experiments/create", api_experiments_create},
    {"GET", "experiments/get", api_experiments_get},
    {"GET", "experiments/get-by-name", api_experiments_get_by_name},
    {"POST", "experiments/search", api_experiments_search},
    {"GET", "experiments/search", api_experiments_search},
    {"POST", "experiments/update", api_experiments_update},
    {"POST", "experiments/delete", api_experiments_delete},
    {"POST", "experiments/restore", api_experiments_restore},
    {"POST", "experiments/set-experiment-tag", api_experiments_set_tag},
    {"POST", "runs/create", api_runs_create},
    {"GET", "runs/get", api_runs_get},
    {"POST", "runs/update", api_runs_update},
    {"POST", "runs/delete", api_runs_delete},
    {"POST", "runs/restore", api_runs_restore},
    {"POST", "runs/search", api_runs_search},
    {"POST", "runs/log-metric", api_runs_log_metric},
    {"POST", "runs/log-parameter", api_runs_log_parameter},
    {"POST", "runs/log-batch", api_runs_log_batch},
    {"POST", "runs/set-tag", api_runs_set_tag},
    {"POST", "runs/delete-tag", api_runs_delete_tag},
    {"POST", "runs/log-inputs", api_runs_log_inputs},
    {"GET", "metrics/get-history", api_metrics_get_history},
    {"GET", "artifacts/list", api_artifacts_list},
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

int api_call(const api_route *route, const api_ctx *ctx, api_request *req, json_t **out, cerr *e)
{
    api_stringify_experiment_ids(req->args);
    return route->fn(ctx, req, out, e);
}
