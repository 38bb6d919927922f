/* db.h - the small database layer the store logic is written against, so
 * that experiments, runs, logging, metrics, search and entity->JSON exist
 * once for both engines: SQLite (sqlite*.c) and PostgreSQL (postgres*.c).
 *
 * SQL handed to db_prep uses '?' placeholders and SQL both engines accept
 * (INSERT ... ON CONFLICT, RETURNING, row values, CAST). The PostgreSQL
 * driver rewrites, outside string literals and quoted names: each '?' to
 * $1, $2, ... and the table function json_each to json_array_elements_text
 * (both yield a text column `value`; cast it for integer ids). What cannot
 * be written once picks a text with db_kind() (see store_*.c).
 *
 * Values: bind with db_bindf (t = const char * or NULL, i = int64_t,
 * d = double, n = NULL); booleans are bound as 0/1 and read with db_bool
 * (SQLite stores 0/1, PostgreSQL answers 't'/'f').
 *
 * Transactions: a write is a closure run by db_write in one transaction
 * (SQLite: a SAVEPOINT inside the writer thread's group commit; PostgreSQL:
 * its own transaction on a pooled connection, retried on serialization
 * failure, deadlock and unique violation). A write closure may be run more
 * than once, so it must reset whatever it returns through its context
 * before doing anything else. Reads take a connection in one read-only
 * snapshot with db_read_begin and give it back with db_read_end. */
#ifndef CAIRN_DB_H
#define CAIRN_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/err.h"
#include "store.h"

typedef enum { DB_SQLITE = 1, DB_POSTGRES = 2 } db_kind;

typedef struct db_conn db_conn; /* one connection, used by one thread at a time */
typedef struct db_stmt db_stmt; /* a prepared statement, owned by its connection */

/* A write closure: 0, or -1 with e set (its changes are then undone). */
typedef int (*db_write_fn)(db_conn *c, void *ctx, cerr *e);

int db_write(store *st, db_write_fn fn, void *ctx, cerr *e);
/* The same without waiting: done(arg, rc, e) is called on the engine's
 * writer thread once the write is durable (rc 0) or has failed, and must
 * be quick. Only SQLite, whose writer thread commits for everyone, can do
 * this; elsewhere (and when the store is closing) it returns -1 at once
 * with e set and never calls done: use db_write. ctx must live until done. */
typedef void (*db_done_fn)(void *arg, int rc, const cerr *e);
int db_write_async(store *st, db_write_fn fn, void *ctx, db_done_fn done, void *arg, cerr *e);
db_conn *db_read_begin(store *st, cerr *e);
void db_read_end(store *st, db_conn *c);

db_kind db_conn_kind(const db_conn *c);

/* A cached statement for sql, with no result pending and bindings cleared;
 * the connection keeps ownership (never free it). NULL on error. */
db_stmt *db_prep(db_conn *c, const char *sql, cerr *e);
/* Bind from parameter 1 (db_bindf) or first (db_bindf_at). Strings must
 * outlive the next db_row/db_run. 0 or -1. */
int db_bindf(db_stmt *s, cerr *e, const char *fmt, ...);
int db_bindf_at(db_stmt *s, int first, cerr *e, const char *fmt, ...);
/* Next row: 1 for a row, 0 when done (the statement is then reset, and
 * another db_row runs it again), -1 on error. */
int db_row(db_stmt *s, cerr *e);
/* Run to completion, ignoring rows. */
int db_run(db_stmt *s, cerr *e);
/* Drop the pending result so the statement can run again. */
void db_reset(db_stmt *s);
/* Rows changed by the last INSERT/UPDATE/DELETE run on c. */
int64_t db_changes(db_conn *c);
/* SQL without parameters (BEGIN, DDL); may hold several statements. */
int db_exec(db_conn *c, const char *sql, cerr *e);

/* Columns of the current row, from 0. db_text gives "" for NULL. */
const char *db_text(db_stmt *s, int col);
int64_t db_int64(db_stmt *s, int col);
double db_double(db_stmt *s, int col);
bool db_bool(db_stmt *s, int col);
bool db_is_null(db_stmt *s, int col);

#endif
