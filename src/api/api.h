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
#include <stdint.h>

#include "../jobs/service.h"
#include "../store/store.h"
#include "../util/err.h"
#include "../util/sbuf.h"

typedef struct api_ctx {
    store *st;
    /* Local folder behind mlflow-artifacts:/ (--artifacts-destination). */
    const char *artifacts_destination;
    /* The job service (api/jobs.c); NULL answers its endpoints with
     * NOT_IMPLEMENTED. */
    job_service *jobs;
} api_ctx;

/* A file part of a multipart/form-data request, saved by http/ in a
 * temporary file that lives until the request is answered. */
typedef struct api_file {
    const char *field;    /* the form field's name */
    const char *filename; /* as the client named it; may be "" */
    const char *path;     /* the temporary file */
    uint64_t size;
} api_file;

typedef struct api_request {
    json_t *args;    /* never NULL: an empty object when nothing was sent;
                      * a form's text fields as strings (repeated: arrays),
                      * a path parameter (api_route.param) as a string */
    size_t body_len; /* raw body size in bytes (MLflow limits log-batch by it) */
    const api_file *files; /* form routes: the file parts, in order */
    size_t nfiles;
} api_request;

/* Returns 0 with *out set to the response object (caller owns it),
 * or -1 with e set. */
typedef int (*api_handler)(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e);

/* A body produced piece by piece (a metric history of any length), so
 * that memory does not grow with the response. */
typedef struct api_stream api_stream;
struct api_stream {
    /* Appends the next piece to out: 1 when more may follow, 0 at the end
     * (nothing appended), API_STREAM_WAIT when nothing is ready yet (a log
     * being followed: http/ asks again a little later, holding no thread),
     * -1 on error. */
    int (*next)(api_stream *s, sbuf *out, cerr *e);
    void (*free)(api_stream *s);
};
#define API_STREAM_WAIT 2
int api_stream_next(api_stream *s, sbuf *out, cerr *e);
/* NULL is allowed. */
void api_stream_free(api_stream *s);

/* What a handler answers: exactly one of the three is set. */
typedef struct api_result {
    json_t *json;       /* an object, encoded by http/ */
    sbuf text;          /* or text the handler wrote itself */
    api_stream *stream; /* or a stream of text */
    const char *content_type; /* of text and stream; NULL: application/json */
    unsigned status;    /* 0: 200 */
} api_result;

/* A write to a run, parsed and checked, ready for the store: what
 * log-metric, log-parameter, log-batch and set-tag become. Strings point
 * into the request's args, which must outlive it; a single metric or
 * key/value lives in `one`, so the struct must not be moved once filled. */
typedef struct api_batch {
    const char *run_id;
    store_metric *metrics;
    store_kv *params, *tags;
    size_t nmetrics, nparams, ntags;
    bool owned; /* the three arrays are heap (log-batch) */
    union {
        store_metric m;
        store_kv kv;
    } one;
} api_batch;

/* Parse and check a request into b (zeroed). On error b may hold memory:
 * api_batch_free it either way. */
typedef int (*api_batch_prep)(const api_request *req, api_batch *b, cerr *e);
void api_batch_free(api_batch *b);
/* prep, then the blocking store write: the ordinary handler. */
int api_batch_run(const api_ctx *ctx, api_batch_prep prep, const api_request *req, json_t **out,
                  cerr *e);

/* A handler that may answer with text or a stream (see api_result). */
typedef int (*api_handler_ex)(const api_ctx *ctx, const api_request *req, api_result *res,
                              cerr *e);

typedef struct api_route {
    const char *method; /* "GET" or "POST" */
    const char *path;   /* below /api/2.0/mlflow/, e.g. "runs/create" */
    api_handler fn;     /* one of fn and fn_ex is set */
    api_handler_ex fn_ex;
    api_batch_prep prep; /* set when fn is api_batch_run over it: the write
                          * may then be queued without blocking (http/) */
    /* Cairn's own routes (api_route_find_url) only: */
    bool form;           /* the body is multipart/form-data */
    const char *param;   /* path ends in '/': the rest of the URL is this arg */
} api_route;

/* Looks up a route. When none matches, *path_known tells whether the path
 * exists with another method (so http/ can answer 405, as Flask does). */
const api_route *api_route_find(const char *method, const char *path, bool *path_known);

/* Cairn's endpoints beyond MLflow's (jobs under /api/2.0/cairn/ and
 * /ajax-api/2.0/cairn/, and the submission APIs of the systems Cairn
 * replaces, docs/JOBS.md), by full URL path. *param is where a path
 * parameter starts in url, or NULL. */
const api_route *api_route_find_url(const char *method, const char *url, bool *path_known,
                                    const char **param);

/* Runs a route's handler on a request the way MLflow's parse_dict would see
 * it: numeric experiment_id / experiment_ids are turned into strings first
 * (old clients send numbers). http/ calls every handler through this. */
int api_call(const api_route *route, const api_ctx *ctx, api_request *req, json_t **out, cerr *e);
/* The same, keeping a text or streamed answer as it is: what http/ uses.
 * res must start zeroed; the caller frees what it holds (api_result_free). */
int api_call_ex(const api_route *route, const api_ctx *ctx, api_request *req, api_result *res,
                cerr *e);
void api_result_free(api_result *res);

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
int api_runs_log_metric_prep(const api_request *, api_batch *, cerr *);
int api_runs_log_parameter_prep(const api_request *, api_batch *, cerr *);
int api_runs_log_batch_prep(const api_request *, api_batch *, cerr *);
int api_runs_set_tag_prep(const api_request *, api_batch *, cerr *);
int api_runs_set_tag(const api_ctx *, const api_request *, json_t **, cerr *);
int api_runs_delete_tag(const api_ctx *, const api_request *, json_t **, cerr *);
int api_runs_log_inputs(const api_ctx *, const api_request *, json_t **, cerr *);

int api_metrics_get_history(const api_ctx *, const api_request *, json_t **, cerr *);
/* Streamed when the client asks for no page (history.c). */
int api_metrics_get_history_ex(const api_ctx *, const api_request *, api_result *, cerr *);
int api_metrics_get_history_bulk_interval(const api_ctx *, const api_request *, api_result *,
                                          cerr *);
/* Jobs (api/jobs.c) and the compatible submission APIs (api/compat.c). */
int api_jobs_submit(const api_ctx *, const api_request *, api_result *, cerr *);
int api_jobs_get(const api_ctx *, const api_request *, api_result *, cerr *);
int api_jobs_list(const api_ctx *, const api_request *, api_result *, cerr *);
int api_jobs_cancel(const api_ctx *, const api_request *, api_result *, cerr *);
int api_jobs_logs(const api_ctx *, const api_request *, api_result *, cerr *);
int api_compat_compute_backend_submit(const api_ctx *, const api_request *, api_result *, cerr *);
int api_compat_new_task(const api_ctx *, const api_request *, api_result *, cerr *);
int api_compat_tasks(const api_ctx *, const api_request *, api_result *, cerr *);
int api_compat_task(const api_ctx *, const api_request *, api_result *, cerr *);
int api_compat_job_status(const api_ctx *, const api_request *, api_result *, cerr *);

/* artifacts/list: implemented in api/artifacts.c over artifacts/. */
int api_artifacts_list(const api_ctx *, const api_request *, json_t **, cerr *);

#endif
