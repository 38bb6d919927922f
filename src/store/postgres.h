/* postgres.h - internals of the PostgreSQL store, shared by the
 * postgres*.c files (db.c and store.c dispatch to them; only postgres*.c
 * call libpq).
 *
 * The store keeps a pool of libpq connections, opened on demand up to
 * PG_POOL_MAX. A write closure runs in its own transaction (READ COMMITTED)
 * on a pooled connection and is run again, on a fresh transaction, after a
 * serialization failure, a deadlock or a unique violation (a concurrent
 * writer got there first; the closure's own checks then give MLflow's
 * answer). Concurrent commits are grouped by PostgreSQL's own WAL flushing,
 * so no writer thread is needed: several cairn processes can share one
 * database. A read runs in BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY,
 * one snapshot for a run and its children. Statements are prepared once per
 * connection (LRU cache keyed by SQL text, like SQLite's). See docs/STORE.md. */
#ifndef CAIRN_POSTGRES_H
#define CAIRN_POSTGRES_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "../util/err.h"
#include "db_impl.h"

/* Prepared statements kept per connection (server-side, by name). */
#define PG_STMT_CACHE 48
/* Connections opened at most; a request beyond that waits for one. */
#define PG_POOL_MAX 16
/* How many times a write closure is run before its error is returned. */
#define PG_WRITE_ATTEMPTS 8

typedef struct pg_conn pg_conn;

/* A cache entry is also the db_stmt handle given out. */
typedef struct pg_stmt {
    db_stmt base;
    char *sql; /* the caller's text ('?' placeholders): the key */
    uint64_t hash;
    uint64_t used; /* LRU clock */
    char name[24]; /* the server-side prepared statement; "" when free */
    int nparams;
    const char **vals; /* bound values as text, NULL for SQL NULL */
    char (*num)[32];   /* storage for numbers bound as text */
    PGresult *res;     /* pending result, all rows already on the client */
    int row, nrows;
} pg_stmt;

struct pg_conn {
    db_conn base;
    PGconn *pg;
    pg_stmt cache[PG_STMT_CACHE];
    uint64_t tick;
    uint64_t nnames;    /* statement names are never reused on a connection */
    int64_t changes;    /* rows changed by the last INSERT/UPDATE/DELETE */
    char sqlstate[6];   /* SQLSTATE of the last error, "" if none */
    struct pg_conn *next; /* pool free list */
};

struct pg_store {
    char *conninfo; /* what PQconnectdb gets */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pg_conn *free;
    int nconns;
};

/* ---- postgres.c: open/close, pool, transactions ---- */
/* conninfo: a libpq connection URI (postgresql://...); a malformed one is
 * INVALID_PARAMETER_VALUE, an unreachable server TEMPORARILY_UNAVAILABLE. */
int pg_store_open(const char *conninfo, const char *default_artifact_root, pg_store **out,
                  cerr *e);
void pg_store_close(pg_store *st);
int pg_write(pg_store *st, db_write_fn fn, void *ctx, cerr *e);
pg_conn *pg_read_begin(pg_store *st, cerr *e);
void pg_read_end(pg_store *st, pg_conn *c);

/* ---- postgres_stmt.c: one connection, statements, binding, errors ---- */
int pg_conn_open(const char *conninfo, pg_conn **out, cerr *e);
void pg_conn_close(pg_conn *c);
/* Drop every pending result. */
void pg_conn_reset_all(pg_conn *c);
/* '?' -> $1.., json_each -> json_array_elements_text, outside literals and
 * quoted names. Heap string; *nparams gets the number of placeholders. */
char *pg_sql_translate(const char *sql, int *nparams);
db_stmt *pg_prep(pg_conn *c, const char *sql, cerr *e);
int pg_vbind(pg_stmt *k, int idx, cerr *e, const char *fmt, va_list ap);
int pg_row(pg_stmt *k, cerr *e);
void pg_stmt_reset(pg_stmt *k);
int64_t pg_changes(pg_conn *c);
int pg_exec(pg_conn *c, const char *sql, cerr *e);
/* cerr from a failed result (res may be NULL: the connection's error):
 * RESOURCE_ALREADY_EXISTS for a unique violation, TEMPORARILY_UNAVAILABLE
 * for serialization failures, deadlocks and lost connections. */
int pg_fail(pg_conn *c, PGresult *res, const char *what, cerr *e);
const char *pg_col_text(pg_stmt *k, int col);
int64_t pg_col_int64(pg_stmt *k, int col);
double pg_col_double(pg_stmt *k, int col);
bool pg_col_is_null(pg_stmt *k, int col);

/* ---- postgres_schema.c ---- */
extern const char pg_schema_sql[];
/* Create MLflow's schema in an empty database or verify the revision of an
 * existing one, then experiment 0; one transaction, serialised between
 * processes by an advisory lock. */
int pg_schema_init(pg_conn *c, const char *artifact_root, cerr *e);

#endif
