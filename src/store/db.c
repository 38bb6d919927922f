/* db.c - db.h's functions: each hands over to the engine that owns the
 * connection or statement (sqlite_*.c or postgres_*.c). A switch, not a
 * table of function pointers, so the SQLite hot path pays one predictable
 * branch per call. */
#include "db_impl.h"

#include <stdarg.h>

#include "postgres.h"
#include "sqlite.h"

int db_write_async(store *st, db_write_fn fn, void *ctx, db_done_fn done, void *arg, cerr *e)
{
    if (st->kind != DB_SQLITE)
        return cerr_set(e, CERR_NOT_IMPLEMENTED, "asynchronous writes need the SQLite engine");
    return sqlite_write_async(st->sq, fn, ctx, done, arg, e);
}

int db_write(store *st, db_write_fn fn, void *ctx, cerr *e)
{
    return st->kind == DB_SQLITE ? sqlite_write(st->sq, fn, ctx, e) : pg_write(st->pg, fn, ctx, e);
}

db_conn *db_read_begin(store *st, cerr *e)
{
    if (st->kind == DB_SQLITE) {
        sqlite_conn *c = sqlite_read_begin(st->sq, e);
        return c ? &c->base : NULL;
    }
    pg_conn *c = pg_read_begin(st->pg, e);
    return c ? &c->base : NULL;
}

void db_read_end(store *st, db_conn *c)
{
    if (c == NULL)
        return;
    if (st->kind == DB_SQLITE)
        sqlite_read_end(st->sq, (sqlite_conn *)c);
    else
        pg_read_end(st->pg, (pg_conn *)c);
}

db_kind db_conn_kind(const db_conn *c)
{
    return c->kind;
}

db_stmt *db_prep(db_conn *c, const char *sql, cerr *e)
{
    return c->kind == DB_SQLITE ? sqlite_prep((sqlite_conn *)c, sql, e)
                                : pg_prep((pg_conn *)c, sql, e);
}

int db_bindf(db_stmt *s, cerr *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = s->kind == DB_SQLITE ? sqlite_vbind((sqlite_cached *)s, 1, e, fmt, ap)
                                  : pg_vbind((pg_stmt *)s, 1, e, fmt, ap);
    va_end(ap);
    return rc;
}

int db_bindf_at(db_stmt *s, int first, cerr *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = s->kind == DB_SQLITE ? sqlite_vbind((sqlite_cached *)s, first, e, fmt, ap)
                                  : pg_vbind((pg_stmt *)s, first, e, fmt, ap);
    va_end(ap);
    return rc;
}

int db_row(db_stmt *s, cerr *e)
{
    return s->kind == DB_SQLITE ? sqlite_row((sqlite_cached *)s, e) : pg_row((pg_stmt *)s, e);
}

int db_run(db_stmt *s, cerr *e)
{
    int rc;
    while ((rc = db_row(s, e)) == 1)
        ;
    return rc;
}

void db_reset(db_stmt *s)
{
    if (s->kind == DB_SQLITE)
        sqlite_stmt_reset((sqlite_cached *)s);
    else
        pg_stmt_reset((pg_stmt *)s);
}

int64_t db_changes(db_conn *c)
{
    return c->kind == DB_SQLITE ? sqlite_changes((sqlite_conn *)c) : pg_changes((pg_conn *)c);
}

int db_exec(db_conn *c, const char *sql, cerr *e)
{
    return c->kind == DB_SQLITE ? sqlite_exec((sqlite_conn *)c, sql, e)
                                : pg_exec((pg_conn *)c, sql, e);
}

const char *db_text(db_stmt *s, int col)
{
    return s->kind == DB_SQLITE ? sqlite_col_text((sqlite_cached *)s, col)
                                : pg_col_text((pg_stmt *)s, col);
}

int64_t db_int64(db_stmt *s, int col)
{
    return s->kind == DB_SQLITE ? sqlite_col_int64((sqlite_cached *)s, col)
                                : pg_col_int64((pg_stmt *)s, col);
}

double db_double(db_stmt *s, int col)
{
    return s->kind == DB_SQLITE ? sqlite_col_double((sqlite_cached *)s, col)
                                : pg_col_double((pg_stmt *)s, col);
}

bool db_bool(db_stmt *s, int col)
{
    return db_int64(s, col) != 0;
}

bool db_is_null(db_stmt *s, int col)
{
    return s->kind == DB_SQLITE ? sqlite_col_is_null((sqlite_cached *)s, col)
                                : pg_col_is_null((pg_stmt *)s, col);
}
