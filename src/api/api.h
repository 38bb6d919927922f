/* api.h - MLflow REST handlers: a parsed request in, a JSON object out.
 *
 * http/ turns a request into `args`, one JSON object for both methods:
 * a POST body as sent, or a GET query string with each key mapped to its
 * string value (a key given several times, or as key[] / key[0], maps to an
 * array of strings). Handlers therefore accept numbers either as JSON numbers
 * or as decimal strings, exactly as protobuf's JSON parser does for MLflow.
 * A handler never sees a socket, so each one is unit-testable. */
#ifndef CAIRN_API_H
#define CAIRN_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "../store/store.h"
#include "../util/err.h"

typedef struct api_ctx {
    store *st;
    /* Local folder behind mlflow-artifacts:/ (--artifacts-destination). */
    const char *artifacts_destination;
} api_ctx;

typedef struct api_request {
    json_t *args;    /* never NULL: an empty object when nothing was sent */
    size_t body_len; /* raw body size in bytes (MLflow limits log-batch by it) */
} api_request;

/* Returns 0 with *out set to the response object (caller owns it),
 * or -1 with e set. */
typedef int (*api_handler)(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e);

typedef struct api_route {
    const char *method; /* "GET" or "POST" */
    const char *path;   /* below /api/2.0/mlflow/, e.g. "runs/create" */
    api_handler fn;
} api_route;

/* Looks up a route. When none matches, *path_known tells whether the path
 * exists with another method (so http/ can answer 405, as Flask does). */
const api_route *api_route_find(const char *method, const char *path, bool *path_known);

/* Runs a route's handler on a request the way MLflow's parse_dict would see
 * it: numeric experiment_id / experiment_ids are turned into strings first
 * (old clients send numbers). http/ calls every handler through this. */
int api_call(const api_route *route, const api_ctx *ctx, api_request *req, json_t **out, cerr *e);

/* Handlers, one file per resource. */
int api_experiments_create(const api_ctx *, const api_request *, json_t **, cerr *);
int api_experiments_get(const api_ctx *, const api_request *, json_t **, cerr *);
int api_experiments_get_by_name(const api_ctx *, const api_request *, json_t **, cerr *);
int api_experiments_search(const api_ctx *, const api_request *, json_t **, cerr *);
int api_experiments_update(const api_ctx *, const api_request *, json_t **, cerr *);
int api_experiments_delete(const api_ctx *, const api_request *, json_t **, cerr *);
int api_experiments_restore(const api_ctx *, const api_request *, json_t **, cerr *);
int api_experiments_set_tag(const api_ctx *, const api_request *, json_t **, cerr *);

int api_runs_create(const api_ctx *, const api_request *, json_t **, cerr *);
int api_runs_get(const api_ctx *, const api_request *, json_t **, cerr *);
int api_runs_update(const api_ctx *, const api_request *, json_t **, cerr *);
int api_runs_delete(const api_ctx *, const api_request *, json_t **, cerr *);
int api_runs_restore(const api_ctx *, const api_request *, json_t **, cerr *);
int api_runs_search(const api_ctx *, const api_request *, json_t **, cerr *);
int api_runs_log_metric(const api_ctx *, const api_request *, json_t **, cerr *);
int api_runs_log_parameter(const api_ctx *, const api_request *, json_t **, cerr *);
int api_runs_log_batch(const api_ctx *, const api_request *, json_t **, cerr *);
int api_runs_set_tag(const api_ctx *, const api_request *, json_t **, cerr *);
int api_runs_delete_tag(const api_ctx *, const api_request *, json_t **, cerr *);
int api_runs_log_inputs(const api_ctx *, const api_request *, json_t **, cerr *);

int api_metrics_get_history(const api_ctx *, const api_request *, json_t **, cerr *);
/* artifacts/list: implemented in api/artifacts.c over artifacts/. */
int api_artifacts_list(const api_ctx *, const api_request *, json_t **, cerr *);

#endif
