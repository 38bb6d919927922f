/* sqlite.h - internals of the SQLite store, shared by the sqlite*.c files.
 *
 * The store owns one writer connection, used only by its writer thread, and a
 * pool of read-only connections. Readers take a connection from the pool for
 * one read transaction (a consistent snapshot) and give it back; in WAL mode
 * they never wait for the writer. Writers package their work as a closure
 * (sqlite_write_fn + context) and hand it to sqlite_write(), which queues it
 * and blocks until the writer thread has committed it: the writer runs every
 * queued closure in one transaction, each inside its own SAVEPOINT, so one
 * fsync acknowledges many requests (group commit) while a failing request
 * rolls back alone. See docs/STORE.md. */
#ifndef CAIRN_SQLITE_H
#define CAIRN_SQLITE_H

#include <jansson.h>
#include <pthread.h>
#include <semaphore.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "../util/err.h"
#include "store.h"

/* Prepared statements cached per connection (keyed by SQL text). The hot
 * paths use fewer than twenty distinct statements; search SQL varies. */
#define SQLITE_STMT_CACHE 48
/* Read connections opened at most; a reader beyond that waits for one. */
#define SQLITE_READERS_MAX 32
/* Requests committed together at most, to bound one transaction's latency. */
#define SQLITE_BATCH_MAX 1024
/* How long a connection waits for a lock held by another process. */
#define SQLITE_BUSY_MS 10000

typedef struct sqlite_cached {
    char *sql; /* owned copy: the key */
    uint64_t hash;
    uint64_t used; /* LRU clock */
    sqlite3_stmt *st;
} sqlite_cached;

typedef struct sqlite_conn {
    sqlite3 *db;
    sqlite_cached cache[SQLITE_STMT_CACHE];
    uint64_t tick;
    struct sqlite_conn *next; /* pool free list */
} sqlite_conn;

/* A write closure: runs on the writer thread inside a SAVEPOINT; returns 0
 * or -1 with e set (its changes are then rolled back). */
typedef int (*sqlite_write_fn)(sqlite_conn *c, void *ctx, cerr *e);

typedef struct sqlite_job {
    sqlite_write_fn fn;
    void *ctx;
    int rc;
    sem_t done; /* posted by the writer once rc and err are final */
    cerr err;
    struct sqlite_job *next;
} sqlite_job;

struct store {
    char *path;          /* file name given to sqlite3_open_v2 */
    char *artifact_root; /* default artifact root, as given */

    /* writer */
    sqlite_conn *wconn;
    pthread_t writer;
    bool writer_started;
    pthread_mutex_t qlock;
    pthread_cond_t qcond;    /* work queued, or stopping */
    sqlite_job *qhead, *qtail;
    bool stopping;

    /* readers */
    pthread_mutex_t plock;
    pthread_cond_t pcond;
    sqlite_conn *pfree;
    int nreaders;
};

/* ---- sqlite.c: connections, pool, writer thread ---- */
int sqlite_store_open(const char *path, const char *default_artifact_root, store **out, cerr *e);
int sqlite_write(store *st, sqlite_write_fn fn, void *ctx, cerr *e);
/* A read connection inside BEGIN; sqlite_read_end ends the transaction and
 * returns the connection to the pool. */
sqlite_conn *sqlite_read_begin(store *st, cerr *e);
void sqlite_read_end(store *st, sqlite_conn *c);

/* ---- sqlite_stmt.c: statements, binding, errors, small helpers ---- */
int sqlite_conn_open(const char *path, bool readonly, sqlite_conn **out, cerr *e);
void sqlite_conn_close(sqlite_conn *c);
/* Reset every cached statement, so none holds a read snapshot or a lock. */
void sqlite_conn_reset_all(sqlite_conn *c);
/* A cached statement for sql, reset and with bindings cleared; the
 * connection keeps ownership (never finalize it). */
sqlite3_stmt *sqlite_prep(sqlite_conn *c, const char *sql, cerr *e);
/* Bind by position from 1: fmt chars t = const char * (NULL binds NULL),
 * i = int64_t, d = double, n = NULL (no argument). Strings must outlive the
 * step. Returns 0 or -1. */
int sqlite_bindf(sqlite_conn *c, sqlite3_stmt *s, cerr *e, const char *fmt, ...);
/* Same, starting at parameter index first. */
int sqlite_bindf_at(sqlite_conn *c, sqlite3_stmt *s, int first, cerr *e, const char *fmt, ...);
/* Step a statement that returns no rows (or ignore them); resets it. */
int sqlite_run(sqlite_conn *c, sqlite3_stmt *s, cerr *e);
/* Step once: 1 for a row, 0 for done (statement reset), -1 on error. */
int sqlite_row(sqlite_conn *c, sqlite3_stmt *s, cerr *e);
/* Execute SQL without parameters (BEGIN, pragmas). */
int sqlite_exec(sqlite_conn *c, const char *sql, cerr *e);
/* INTERNAL_ERROR (or TEMPORARILY_UNAVAILABLE when locked) from the last
 * error on c, prefixed with what was being done. */
int sqlite_fail(sqlite_conn *c, const char *what, cerr *e);
/* Text column, "" when NULL. */
const char *sqlite_text(sqlite3_stmt *s, int col);
/* A strict decimal int64 (what an experiment id must be to exist). */
bool sqlite_parse_id(const char *s, int64_t *out);
/* base + "/" + a (+ "/" + b), with no doubled '/' after base. Heap string. */
char *sqlite_path_join(const char *base, const char *a, const char *b);
/* Strings as a JSON array text, for `IN (SELECT value FROM json_each(?))`. */
char *sqlite_json_list(const char *const *items, size_t n);
char *sqlite_json_int_list(const int64_t *items, size_t n);

/* A sorted index from id strings to positions, for attaching child rows
 * (params, tags, ...) to the right parent without one query per parent. */
typedef struct sqlite_idx_entry {
    const char *key;
    size_t pos;
} sqlite_idx_entry;
typedef struct sqlite_idx {
    sqlite_idx_entry *v;
    size_t n;
} sqlite_idx;
void sqlite_idx_build(sqlite_idx *ix, const char *const *keys, size_t n);
/* Position of key, or (size_t)-1. */
size_t sqlite_idx_find(const sqlite_idx *ix, const char *key);
void sqlite_idx_free(sqlite_idx *ix);

/* ---- sqlite_schema.c ---- */
extern const char sqlite_schema_sql[];
/* Create the schema in an empty database, or verify the revision of an
 * existing one; then create experiment 0 when there is no experiment. */
int sqlite_schema_init(sqlite_conn *c, const char *artifact_root, cerr *e);

/* ---- sqlite_entity.c: rows to MLflow JSON ---- */
#define SQLITE_EXPERIMENT_COLS \
    "experiments.experiment_id, experiments.name, experiments.artifact_location, " \
    "experiments.lifecycle_stage, experiments.last_update_time, experiments.creation_time"
#define SQLITE_RUN_COLS \
    "runs.run_uuid, runs.name, runs.experiment_id, runs.user_id, runs.status, " \
    "runs.start_time, runs.end_time, runs.artifact_uri, runs.lifecycle_stage"
json_t *sqlite_experiment_from_row(sqlite3_stmt *s);
json_t *sqlite_run_info_from_row(sqlite3_stmt *s);
/* A Run {info, data:{}, inputs:{}} around info (reference stolen). */
json_t *sqlite_run_wrap(json_t *info);
/* Metric {key, value, timestamp, step} from columns first..first+4:
 * key, value, timestamp, step, is_nan. */
json_t *sqlite_metric_from_row(sqlite3_stmt *s, int first);
/* Append {key, value} to obj[field], creating the array on first use. */
void sqlite_append(json_t *obj, const char *field, json_t *item);
json_t *sqlite_kv(const char *key, const char *value);
/* Load tags into each experiment of arr (ids as JSON strings). */
int sqlite_experiments_attach(sqlite_conn *c, json_t *arr, cerr *e);
/* Load params, tags, latest metrics and dataset inputs into each Run of
 * arr, in five queries whatever the number of runs. */
int sqlite_runs_attach(sqlite_conn *c, json_t *arr, cerr *e);

/* ---- checks shared by the write closures (sqlite_runs.c) ---- */
/* Experiment lifecycle of id into stage (a buffer of 16); RESOURCE_DOES_NOT_EXIST if absent. */
int sqlite_experiment_stage(sqlite_conn *c, const char *id, char stage[16], cerr *e);
/* The run exists (else RESOURCE_DOES_NOT_EXIST) and, when must_be_active,
 * is active (else INVALID_PARAMETER_VALUE). experiment_id may be NULL. */
int sqlite_run_check(sqlite_conn *c, const char *run_id, bool must_be_active,
                     int64_t *experiment_id, cerr *e);
/* Set runs.name and the mlflow.runName tag (MLflow keeps them equal). */
int sqlite_run_rename(sqlite_conn *c, const char *run_id, const char *name, cerr *e);

#define SQLITE_RUN_NAME_TAG "mlflow.runName"

#endif
