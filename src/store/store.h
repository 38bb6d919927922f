/* store.h - the metadata store: experiments, runs, params, metrics, tags,
 * dataset inputs, behind one interface.
 *
 * Two engines on MLflow 2.9.2's schema, SQLite (sqlite*.c) and PostgreSQL
 * (postgres*.c), under one store logic (store_*.c, through db.h); store.c
 * dispatches on the URI scheme. Callers (api/ and jobs/) have already
 * validated names, lengths and formats against MLflow's limits with
 * validate.h; the store enforces what needs the database: existence,
 * lifecycle state, uniqueness, immutable params.
 *
 * Results are returned as jansson objects in MLflow's REST (protobuf JSON)
 * shape, e.g. an Experiment or a Run, because that is the one representation
 * every consumer wants; the caller owns (json_decref) what is returned.
 * Every function returns 0, or -1 with e filled (an MLflow error code and
 * message). Thread-safe: one store is shared by all HTTP worker threads. */
#ifndef CAIRN_STORE_H
#define CAIRN_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "../util/err.h"
#include "../util/sbuf.h"
#include "store_job.h"

typedef struct store store;

/* MLflow 2.9.2's alembic head; a database at another revision is refused. */
#define STORE_SCHEMA_REVISION "acf3f17fdcc7"

typedef enum { VIEW_ACTIVE_ONLY = 1, VIEW_DELETED_ONLY = 2, VIEW_ALL = 3 } store_view;

typedef struct store_kv {
    const char *key;
    const char *value;
} store_kv;

typedef struct store_metric {
    const char *key;
    double value; /* NaN and +-inf allowed; stored as MLflow stores them */
    int64_t timestamp;
    int64_t step;
} store_metric;

typedef struct store_dataset_input {
    const char *name, *digest, *source_type, *source; /* required */
    const char *schema, *profile;                     /* may be NULL */
    const store_kv *tags;                             /* input tags, e.g. mlflow.data.context */
    size_t ntags;
} store_dataset_input;

/* Open (creating the file and schema if it is empty) the store at uri,
 * e.g. "sqlite:///path/to/mlflow.db", "sqlite:////abs/path.db" or
 * "postgresql://user:pass@host:5432/db" (the database must exist).
 * default_artifact_root is used for experiments created without an
 * artifact_location: location = root + "/" + experiment_id (no doubled
 * slash when root ends with '/'). Creates experiment 0 "Default" when absent. */
int store_open(const char *uri, const char *default_artifact_root, store **out, cerr *e);
void store_close(store *st);

/* ---- experiments: an Experiment is {experiment_id, name, artifact_location,
 * lifecycle_stage, last_update_time, creation_time, tags:[{key,value}]} ---- */
int store_experiment_create(store *st, const char *name, const char *artifact_location,
                            const store_kv *tags, size_t ntags, char **id_out, cerr *e);
int store_experiment_get(store *st, const char *id, json_t **out, cerr *e);
int store_experiment_get_by_name(store *st, const char *name, json_t **out, cerr *e);
int store_experiment_rename(store *st, const char *id, const char *new_name, cerr *e);
/* Delete also marks the experiment's runs deleted; restore brings them back. */
int store_experiment_delete(store *st, const char *id, cerr *e);
int store_experiment_restore(store *st, const char *id, cerr *e);
int store_experiment_tag_set(store *st, const char *id, const char *key, const char *value,
                             cerr *e);

typedef struct store_search {
    const char **experiment_ids; /* runs only */
    size_t nexperiment_ids;
    const char *filter;        /* MLflow filter string, may be NULL or "" */
    const char **order_by;     /* e.g. "metrics.loss DESC" */
    size_t norder_by;
    store_view view;
    int64_t max_results;       /* already range-checked by the caller */
    const char *page_token;    /* may be NULL */
} store_search;

/* *out is a JSON array of Experiments (runs: of Runs); *next_token is a heap
 * string, or NULL on the last page. */
int store_experiment_search(store *st, const store_search *q, json_t **out, char **next_token,
                            cerr *e);

/* ---- runs: a Run is {info:{run_id, run_uuid, run_name, experiment_id,
 * user_id, status, start_time, end_time?, artifact_uri, lifecycle_stage},
 * data:{metrics?, params?, tags?}, inputs:{dataset_inputs?}} ---- */
typedef struct store_run_create_req {
    const char *experiment_id; /* NULL or "" means "0" */
    const char *user_id;       /* may be NULL */
    const char *run_name;      /* NULL: taken from the mlflow.runName tag, or generated */
    int64_t start_time;
    const store_kv *tags;
    size_t ntags;
} store_run_create_req;

int store_run_create(store *st, const store_run_create_req *req, json_t **run_out, cerr *e);
int store_run_get(store *st, const char *run_id, json_t **run_out, cerr *e);
/* status, end_time, run_name: NULL leaves the field unchanged.
 * *info_out is the updated RunInfo. */
int store_run_update(store *st, const char *run_id, const char *status, const int64_t *end_time,
                     const char *run_name, json_t **info_out, cerr *e);
int store_run_delete(store *st, const char *run_id, cerr *e);
int store_run_restore(store *st, const char *run_id, cerr *e);
/* Atomic: all or nothing. The run must be active. A param already logged
 * with another value is INVALID_PARAMETER_VALUE; an identical metric row is
 * ignored; tag mlflow.runName also renames the run. */
int store_run_log_batch(store *st, const char *run_id, const store_metric *metrics, size_t nmetrics,
                        const store_kv *params, size_t nparams, const store_kv *tags, size_t ntags,
                        cerr *e);
/* The same, without waiting: done(arg, rc, e) is called on the store's
 * writer thread once the batch is durable (rc 0) or has failed; it must be
 * quick. Everything passed must live until then. Returns -1 at once (done
 * never called) where the engine has no writer thread to do this
 * (PostgreSQL) or the store is closing: call store_run_log_batch then. */
typedef void (*store_done_fn)(void *arg, int rc, const cerr *e);
int store_run_log_batch_async(store *st, const char *run_id, const store_metric *metrics,
                              size_t nmetrics, const store_kv *params, size_t nparams,
                              const store_kv *tags, size_t ntags, store_done_fn done, void *arg,
                              cerr *e);
int store_run_tag_delete(store *st, const char *run_id, const char *key, cerr *e);
int store_run_log_inputs(store *st, const char *run_id, const store_dataset_input *inputs,
                         size_t ninputs, cerr *e);
int store_run_search(store *st, const store_search *q, json_t **out, char **next_token, cerr *e);

/* *out is a JSON array of Metric {key, value, timestamp, step}, ordered by
 * step, timestamp. max_results <= 0 means all. */
int store_metric_history(store *st, const char *run_id, const char *key, int64_t max_results,
                         const char *page_token, json_t **out, char **next_token, cerr *e);

/* Cairn's own indexes (store_indexes.c): the i-th CREATE INDEX statement,
 * NULL past the last. For benchmarks and tools that build the same schema. */
const char *store_index_sql_at(size_t i);

/* ---- streamed history (store_history.c) ----
 * A metric's whole history in (step, timestamp, value) order, produced a
 * page at a time so that memory does not grow with its length. */
typedef struct store_history store_history;
/* Rows per page of a streamed history (and per read transaction). */
#define STORE_HISTORY_PAGE 4096
/* Rows per run at most in get-history-bulk-interval (MLflow's
 * MAX_RESULTS_GET_METRIC_HISTORY). */
#define STORE_HISTORY_RUN_MAX 25000

int store_history_open(store *st, const char *run_id, const char *key, store_history **out,
                       cerr *e);
/* Appends the next page to out as Metric objects separated by commas (with
 * a leading comma after the first page). Returns the number of rows, 0 at
 * the end, -1 on error. */
int store_history_next(store_history *h, sbuf *out, cerr *e);
void store_history_close(store_history *h);

/* get-history-bulk-interval: writes the whole response object
 * {"metrics":[Metric + run_id ...]} (or {} when empty) to out, with the
 * steps sampled as MLflow 2.11 samples them; run_ids in the order given. */
int store_history_interval(store *st, const char *const *run_ids, size_t nruns, const char *key,
                           int64_t start_step, int64_t end_step, int64_t max_results, sbuf *out,
                           cerr *e);

/* The run's artifact_uri (heap string), for artifacts/list. */
int store_run_artifact_uri(store *st, const char *run_id, char **uri_out, cerr *e);

/* ---- jobs (store_jobs.c): Cairn's cairn_jobs table, one store_job
 * (store_job.h) a row. A job whose backend or state name this program does
 * not know (a newer version wrote it) is an INTERNAL_ERROR naming it. ---- */
int store_job_create(store *st, const store_job *job, cerr *e);
/* Sets the fields of job->job_id named in the mask `fields` (STORE_JOB_*)
 * to job's values; 0 fields does nothing. */
int store_job_update(store *st, const store_job *job, unsigned fields, cerr *e);
/* *out is filled (store_job_free it) */
int store_job_get(store *st, const char *job_id, store_job *out, cerr *e);

typedef struct store_job_query {
    const char *experiment_id; /* NULL or "": every experiment */
    const char *source;        /* NULL or "": every source */
    bool active_only;          /* state not terminal */
    int64_t max_results;       /* <= 0: all */
    const char *page_token;
} store_job_query;
/* Newest first: *jobs holds *n jobs (store_jobs_free them); *next_token is
 * a heap string, or NULL on the last page. */
int store_job_list(store *st, const store_job_query *q, store_job **jobs, size_t *n,
                   char **next_token, cerr *e);

#endif
