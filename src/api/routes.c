/* routes.c - the table from (method, path below /api/2.0/mlflow/) to
 * handler: MLflow 2.9.2's tracking endpoints. */
#include <string.h>

#include "api.h"
#include "common.h"

static const api_route api_routes[] = {
    {"POST", "experiments/create", api_experiments_create, NULL, NULL, false, NULL},
    {"GET", "experiments/get", api_experiments_get, NULL, NULL, false, NULL},
    {"GET", "experiments/get-by-name", api_experiments_get_by_name, NULL, NULL, false, NULL},
    {"POST", "experiments/search", api_experiments_search, NULL, NULL, false, NULL},
    {"GET", "experiments/search", api_experiments_search, NULL, NULL, false, NULL},
    {"POST", "experiments/update", api_experiments_update, NULL, NULL, false, NULL},
    {"POST", "experiments/delete", api_experiments_delete, NULL, NULL, false, NULL},
    {"POST", "experiments/restore", api_experiments_restore, NULL, NULL, false, NULL},
    {"POST", "experiments/set-experiment-tag", api_experiments_set_tag, NULL, NULL, false, NULL},
    {"POST", "runs/create", api_runs_create, NULL, NULL, false, NULL},
    {"GET", "runs/get", api_runs_get, NULL, NULL, false, NULL},
    {"POST", "runs/update", api_runs_update, NULL, NULL, false, NULL},
    {"POST", "runs/delete", api_runs_delete, NULL, NULL, false, NULL},
    {"POST", "runs/restore", api_runs_restore, NULL, NULL, false, NULL},
    {"POST", "runs/search", api_runs_search, NULL, NULL, false, NULL},
    {"POST", "runs/log-metric", api_runs_log_metric, NULL, api_runs_log_metric_prep, false, NULL},
    {"POST", "runs/log-parameter", api_runs_log_parameter, NULL, api_runs_log_parameter_prep, false, NULL},
    {"POST", "runs/log-batch", api_runs_log_batch, NULL, api_runs_log_batch_prep, false, NULL},
    {"POST", "runs/set-tag", api_runs_set_tag, NULL, api_runs_set_tag_prep, false, NULL},
    {"POST", "runs/delete-tag", api_runs_delete_tag, NULL, NULL, false, NULL},
    {"POST", "runs/log-inputs", api_runs_log_inputs, NULL, NULL, false, NULL},
    {"GET", "metrics/get-history", NULL, api_metrics_get_history_ex, NULL, false, NULL},
    /* MLflow 2.11's, served because the UI's charts want it. */
    {"GET", "metrics/get-history-bulk-interval", NULL, api_metrics_get_history_bulk_interval, NULL, false, NULL},
    {"GET", "artifacts/list", api_artifacts_list, NULL, NULL, false, NULL},
};

/* Cairn's own: by full path; a path ending in '/' takes a parameter. */
static const api_route api_url_routes[] = {
    {"POST", "/api/2.0/cairn/jobs/submit", NULL, api_jobs_submit, NULL, true, NULL},
    {"GET", "/api/2.0/cairn/jobs/get", NULL, api_jobs_get, NULL, false, NULL},
    {"GET", "/api/2.0/cairn/jobs/list", NULL, api_jobs_list, NULL, false, NULL},
    {"POST", "/api/2.0/cairn/jobs/cancel", NULL, api_jobs_cancel, NULL, false, NULL},
    {"GET", "/api/2.0/cairn/jobs/logs", NULL, api_jobs_logs, NULL, false, NULL},
    /* mantik's compute-backend service */
    {"POST", "/compute-backend/submit/", NULL, api_compat_compute_backend_submit, NULL, true,
     "experiment_id"},
    /* ml-task-manager (FastAPI answers both with and without the slash) */
    {"POST", "/new_task", NULL, api_compat_new_task, NULL, true, NULL},
    {"POST", "/new_task/", NULL, api_compat_new_task, NULL, true, NULL},
    {"GET", "/tasks", NULL, api_compat_tasks, NULL, false, NULL},
    {"GET", "/tasks/", NULL, api_compat_tasks, NULL, false, NULL},
    {"GET", "/task/", NULL, api_compat_task, NULL, false, "task_id"},
    {"GET", "/job_status/", NULL, api_compat_job_status, NULL, false, "job_id"},
};

const api_route *api_route_find_url(const char *method, const char *url, bool *path_known,
                                    const char **param)
{
    static const char ajax[] = "/ajax-api/2.0/cairn/";
    char buf[64];
    *path_known = false;
    *param = NULL;
    /* /ajax-api/2.0/cairn/X is /api/2.0/cairn/X. */
    if (strncmp(url, ajax, sizeof ajax - 1) == 0 &&
        snprintf(buf, sizeof buf, "/api/2.0/cairn/%s", url + sizeof ajax - 1) < (int)sizeof buf)
        url = buf;
    const api_route *found = NULL;
    for (size_t i = 0; i < sizeof api_url_routes / sizeof api_url_routes[0]; i++) {
        const api_route *r = &api_url_routes[i];
        size_t n = strlen(r->path);
        bool match = r->param ? strncmp(url, r->path, n) == 0 && url[n] && !strchr(url + n, '/')
                              : strcmp(url, r->path) == 0;
        if (!match)
            continue;
        *path_known = true;
        if (strcmp(r->method, method) == 0) {
            found = r;
            if (r->param)
                *param = url + n;
            break;
        }
    }
    /* A parameter pointing into buf would not outlive this call; the
     * ajax twins carry none. */
    return found;
}

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
