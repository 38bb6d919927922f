/* store_int.h - internals of the store logic shared by both engines
 * (store_*.c): rows to MLflow JSON, the checks the write closures share, and
 * small helpers. Everything here talks to the database only through db.h. */
#ifndef CAIRN_STORE_INT_H
#define CAIRN_STORE_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "../util/err.h"
#include "db.h"
#include "db_impl.h"
#include "store.h"

/* ---- store_util.c: small helpers ---- */
/* A strict decimal int64 (what an experiment id must be to exist). */
bool store_parse_id(const char *s, int64_t *out);
/* An experiment id that can exist on c: a decimal that fits the column
 * (PostgreSQL's experiment_id is a 32-bit integer; SQLite's is 64-bit). */
bool store_exp_id(const db_conn *c, const char *s, int64_t *out);
/* base + "/" + a (+ "/" + b), with no doubled '/' after base. Heap string. */
char *store_path_join(const char *base, const char *a, const char *b);
/* Strings as a JSON array text, for `IN (SELECT value FROM json_each(?))`. */
char *store_json_list(const char *const *items, size_t n);
char *store_json_int_list(const int64_t *items, size_t n);

/* One row of a result as its JSON entity. */
typedef json_t *(*store_row_fn)(db_stmt *s);
/* A page of a query whose LIMIT is max + 1: up to max rows of s into arr;
 * a row beyond them means a next page, whose token (offset + max) goes to
 * *next_token. 0 or -1. */
int store_page_read(db_stmt *s, store_row_fn fn, int64_t max, int64_t offset, json_t *arr,
                    char **next_token, cerr *e);

/* The end of a paged read: on success *out = arr; on failure arr and any
 * token are freed. Returns rc < 0 ? -1 : 0. */
int store_page_done(int rc, json_t *arr, json_t **out, char **next_token);

/* A sorted index from id strings to positions, for attaching child rows
 * (params, tags, ...) to the right parent without one query per parent. */
typedef struct store_idx_entry {
    const char *key;
    size_t pos;
} store_idx_entry;
typedef struct store_idx {
    store_idx_entry *v;
    size_t n;
} store_idx;
void store_idx_build(store_idx *ix, const char *const *keys, size_t n);
/* Position of key, or (size_t)-1. */
size_t store_idx_find(const store_idx *ix, const char *key);
void store_idx_free(store_idx *ix);

/* ---- store_entity.c: rows to MLflow JSON ---- */
#define STORE_EXPERIMENT_COLS \
    "experiments.experiment_id, experiments.name, experiments.artifact_location, " \
    "experiments.lifecycle_stage, experiments.last_update_time, experiments.creation_time"
#define STORE_RUN_COLS \
    "runs.run_uuid, runs.name, runs.experiment_id, runs.user_id, runs.status, " \
    "runs.start_time, runs.end_time, runs.artifact_uri, runs.lifecycle_stage"
json_t *store_experiment_from_row(db_stmt *s);
json_t *store_run_info_from_row(db_stmt *s);
/* A Run {info, data:{}, inputs:{}} around info (reference stolen). */
json_t *store_run_wrap(json_t *info);
/* Metric {key, value, timestamp, step} from columns first..first+4:
 * key, value, timestamp, step, is_nan. */
json_t *store_metric_from_row(db_stmt *s, int first);
/* Append {key, value} to obj[field], creating the array on first use. */
void store_append(json_t *obj, const char *field, json_t *item);
json_t *store_kv_json(const char *key, const char *value);
/* Load tags into each experiment of arr (ids as JSON strings). */
int store_experiments_attach(db_conn *c, json_t *arr, cerr *e);
/* Load params, tags, latest metrics and dataset inputs into each Run of
 * arr, in five queries whatever the number of runs. */
int store_runs_attach(db_conn *c, json_t *arr, cerr *e);

/* ---- checks shared by the write closures ---- */
/* Experiment lifecycle of id into stage (a buffer of 16); RESOURCE_DOES_NOT_EXIST if absent. */
int store_experiment_stage(db_conn *c, const char *id, char stage[16], cerr *e);
/* The run exists (else RESOURCE_DOES_NOT_EXIST) and, when must_be_active,
 * is active (else INVALID_PARAMETER_VALUE). experiment_id may be NULL. */
int store_run_check(db_conn *c, const char *run_id, bool must_be_active,
                    int64_t *experiment_id, cerr *e);
/* Set runs.name and the mlflow.runName tag (MLflow keeps them equal). */
int store_run_rename(db_conn *c, const char *run_id, const char *name, cerr *e);

/* ---- store_schema.c: opening a schema, on either engine ---- */
typedef struct store_schema_sql {
    const char *ddl;           /* MLflow 2.9.2's schema, for an empty database */
    const char *count_objects; /* SELECT count(*) of the objects already there */
    const char *has_alembic;   /* SELECT count(*) of tables named alembic_version */
    const char *alembic_table; /* its name as the queries write it */
} store_schema_sql;
/* Inside the engine's write transaction: create the schema in an empty
 * database or verify the revision of an existing one (INVALID_STATE if
 * it is not MLflow 2.9.2's), then Cairn's indexes and experiment 0. */
int store_schema_prepare(db_conn *c, const store_schema_sql *q, const char *artifact_root,
                         cerr *e);

/* Cairn's own indexes, if absent (store_indexes.c); run by both engines
 * when a store opens, after the schema is created or verified. */
int store_indexes_create(db_conn *c, cerr *e);

/* Cairn's cairn_jobs table, if absent (store_jobs.c). */
int store_jobs_schema(db_conn *c, cerr *e);

/* The auth tables (cairn_users, the two permission tables,
 * cairn_refresh_tokens), if absent (store_auth.c). */
int store_auth_schema(db_conn *c, cerr *e);
/* A user's id by name, inside a write or a read; RESOURCE_DOES_NOT_EXIST
 * "User with username=U not found" (store_auth.c). */
int store_auth_user_id(db_conn *c, const char *username, int64_t *id, cerr *e);

/* Experiment 0 "Default" when there is no experiment (store_experiments.c). */
int store_default_experiment(db_conn *c, const char *root, cerr *e);

#define STORE_RUN_NAME_TAG "mlflow.runName"

#endif
