/* sqlite.h - internals of the SQLite store, shared by the sqlite*.c files
 * (db.c and store.c dispatch to them; only sqlite*.c call the sqlite3 API).
 *
 * The store owns one writer connection, used only by its writer thread, and a
 * pool of read-only connections. Readers take a connection from the pool for
 * one read transaction (a consistent snapshot) and give it back; in WAL mode
 * they never wait for the writer. Writers package their work as a closure
 * (db_write_fn + context) and hand it to sqlite_write(), which queues it
 * and blocks until the writer thread has committed it: the writer runs every
 * queued closure in one transaction, each inside its own SAVEPOINT, so one
 * fsync acknowledges many requests (group commit) while a failing request
 * rolls back alone. See docs/STORE.md. */
#ifndef CAIRN_SQLITE_H
#define CAIRN_SQLITE_H

#include <stdarg.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "../util/err.h"
#include "db_impl.h"
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

typedef struct sqlite_conn sqlite_conn;

/* A cache entry is also the db_stmt handle given out. */
typedef struct sqlite_cached {
    db_stmt base;
    char *sql; /* owned copy: the key */
    uint64_t hash;
    uint64_t used; /* LRU clock */
    sqlite3_stmt *st;
} sqlite_cached;

struct sqlite_conn {
    db_conn base;
    sqlite3 *db;
    sqlite_cached cache[SQLITE_STMT_CACHE];
    uint64_t tick;
    struct sqlite_conn *next; /* pool free list */
};

typedef struct sqlite_job {
    db_write_fn fn; /* runs on the writer thread inside a SAVEPOINT */
    void *ctx;
    int rc;
    sem_t done;          /* waited on by sqlite_write: posted once rc and err are final */
    db_done_fn callback; /* or, for sqlite_write_async, called (then the job freed) */
    void *callback_arg;
    cerr err;
    struct sqlite_job *next;
} sqlite_job;

struct sqlite_store {
    char *path; /* file name given to sqlite3_open_v2 */

    /* writer */
    sqlite_conn *wconn;
    pthread_t writer;
    bool writer_started;
    pthread_mutex_t qlock;
    pthread_cond_t qcond;    /* work queued, or stopping */
    sqlite_job *qhead, *qtail;
    bool stopping;

    /* checkpointer (sqlite_ckpt.c) */
    sqlite_conn *cconn;
    pthread_t ckpt;
    bool ckpt_started, ckpt_wanted, ckpt_stop;
    atomic_bool ckpt_tail; /* the bulk is copied: the writer finishes it */
    pthread_mutex_t ckpt_lock;
    pthread_cond_t ckpt_cond;

    /* readers */
    pthread_mutex_t plock;
    pthread_cond_t pcond;
    sqlite_conn *pfree;
    int nreaders;
};

/* ---- sqlite.c: connections, pool, writer thread ---- */
int sqlite_store_open(const char *path, const char *default_artifact_root, sqlite_store **out,
                      cerr *e);
void sqlite_store_close(sqlite_store *st);
int sqlite_write(sqlite_store *st, db_write_fn fn, void *ctx, cerr *e);
int sqlite_write_async(sqlite_store *st, db_write_fn fn, void *ctx, db_done_fn done, void *arg,
                       cerr *e);
/* A read connection inside BEGIN; sqlite_read_end ends the transaction and
 * returns the connection to the pool. */
sqlite_conn *sqlite_read_begin(sqlite_store *st, cerr *e);
void sqlite_read_end(sqlite_store *st, sqlite_conn *c);

/* ---- sqlite_stmt.c: one connection, statements, binding, errors; the
 * SQLite side of db.h (db.c dispatches here) ---- */
int sqlite_conn_open(const char *path, bool readonly, sqlite_conn **out, cerr *e);

/* ---- sqlite_ckpt.c: WAL checkpoints on their own thread ---- */
/* WAL pages after a commit that wake the checkpointer: 40 MB of 4 KB pages.
 * SQLite's own figure is 1000, for a checkpoint the committer waits for;
 * this one runs beside the writer, so a longer interval costs no latency,
 * and a page written many times within it (MLflow's random run ids make
 * that the rule) is copied to the database once. 10,000 runs: 9.7 s at
 * 1000, 7.0 s at 10,000; 30,000 gained little more for a 150 MB WAL. */
#define SQLITE_CKPT_PAGES 10000
/* Start after the writer connection is open and in WAL mode. */
int sqlite_ckpt_start(sqlite_store *st, cerr *e);
/* On the writer thread between batches: finish a checkpoint the thread
 * has done the bulk of, so the WAL can be rewound. Cheap when not due. */
void sqlite_ckpt_tail(sqlite_store *st);
/* Join the thread and close its connection; a no-op if never started. */
void sqlite_ckpt_stop(sqlite_store *st);
void sqlite_conn_close(sqlite_conn *c);
/* Reset every cached statement, so none holds a read snapshot or a lock. */
void sqlite_conn_reset_all(sqlite_conn *c);
db_stmt *sqlite_prep(sqlite_conn *c, const char *sql, cerr *e);
int sqlite_vbind(sqlite_cached *k, int idx, cerr *e, const char *fmt, va_list ap);
int sqlite_row(sqlite_cached *k, cerr *e);
void sqlite_stmt_reset(sqlite_cached *k);
int64_t sqlite_changes(sqlite_conn *c);
const char *sqlite_col_text(sqlite_cached *k, int col);
int64_t sqlite_col_int64(sqlite_cached *k, int col);
double sqlite_col_double(sqlite_cached *k, int col);
bool sqlite_col_is_null(sqlite_cached *k, int col);
/* Execute SQL without parameters (BEGIN, pragmas). */
int sqlite_exec(sqlite_conn *c, const char *sql, cerr *e);
/* INTERNAL_ERROR (TEMPORARILY_UNAVAILABLE when locked, RESOURCE_ALREADY_EXISTS
 * for a unique violation) from the last error on c, prefixed with what was
 * being done. */
int sqlite_fail(sqlite_conn *c, const char *what, cerr *e);

/* ---- sqlite_schema.c ---- */
extern const char sqlite_schema_sql[];
/* Create the schema in an empty database, or verify the revision of an
 * existing one; then create experiment 0 when there is no experiment. */
int sqlite_schema_init(sqlite_conn *c, const char *artifact_root, cerr *e);

#endif
