/* sqlite_stmt.c - one SQLite connection: opening it with Cairn's pragmas,
 * its prepared-statement cache, parameter binding, stepping, columns and
 * errors: the SQLite side of db.h, which db.c dispatches to.
 *
 * Statements are cached per connection, keyed by their SQL text, because
 * preparing costs more than running the small statements of the write path.
 * A connection is used by one thread at a time (the writer thread, or the
 * reader that took it from the pool), so the cache needs no lock. */
#include "sqlite.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sqlite_pragmas =
    /* MLflow's LIKE is case-sensitive; search.c compiles ILIKE with LOWER(). */
    "PRAGMA case_sensitive_like = ON;"
    "PRAGMA foreign_keys = ON;"
    /* FULL: the WAL is synced at every commit, so an acknowledged write
     * survives a power loss, not only a killed process. */
    "PRAGMA synchronous = FULL;"
    /* Savepoint (statement) journals and sort spills stay in memory:
     * otherwise every request's SAVEPOINT creates and unlinks a temp file. */
    "PRAGMA temp_store = MEMORY;";

int sqlite_conn_open(const char *path, bool readonly, sqlite_conn **out, cerr *e)
{
    sqlite_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        abort();
    c->base.kind = DB_SQLITE;
    int flags = SQLITE_OPEN_NOMUTEX |
                (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    int rc = sqlite3_open_v2(path, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        cerr_set(e, CERR_INTERNAL_ERROR, "cannot open SQLite database '%s': %s", path,
                 c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        sqlite_conn_close(c);
        return -1;
    }
    sqlite3_busy_timeout(c->db, SQLITE_BUSY_MS);
    sqlite3_extended_result_codes(c->db, 1);
    if (sqlite_exec(c, sqlite_pragmas, e) < 0) {
        sqlite_conn_close(c);
        return -1;
    }
    *out = c;
    return 0;
}

void sqlite_conn_close(sqlite_conn *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < SQLITE_STMT_CACHE; i++) {
        sqlite3_finalize(c->cache[i].st);
        free(c->cache[i].sql);
    }
    sqlite3_close_v2(c->db);
    free(c);
}

void sqlite_conn_reset_all(sqlite_conn *c)
{
    for (int i = 0; i < SQLITE_STMT_CACHE; i++)
        if (c->cache[i].st)
            sqlite3_reset(c->cache[i].st);
}

static uint64_t sqlite_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

db_stmt *sqlite_prep(sqlite_conn *c, const char *sql, cerr *e)
{
    uint64_t h = sqlite_hash(sql);
    sqlite_cached *victim = &c->cache[0];
    for (int i = 0; i < SQLITE_STMT_CACHE; i++) {
        sqlite_cached *k = &c->cache[i];
        if (k->st && k->hash == h && strcmp(k->sql, sql) == 0) {
            k->used = ++c->tick;
            sqlite3_reset(k->st);
            sqlite3_clear_bindings(k->st);
            return &k->base;
        }
        if (k->st == NULL || (victim->st && k->used < victim->used))
            victim = k;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        sqlite_fail(c, "prepare", e);
        return NULL;
    }
    sqlite3_finalize(victim->st);
    free(victim->sql);
    victim->sql = strdup(sql);
    if (victim->sql == NULL)
        abort();
    victim->hash = h;
    victim->st = st;
    victim->used = ++c->tick;
    victim->base.kind = DB_SQLITE;
    victim->base.conn = &c->base;
    return &victim->base;
}

int sqlite_vbind(sqlite_cached *k, int idx, cerr *e, const char *fmt, va_list ap)
{
    sqlite3_stmt *s = k->st;
    for (; *fmt; fmt++, idx++) {
        int rc;
        switch (*fmt) {
        case 't': {
            const char *v = va_arg(ap, const char *);
            rc = v ? sqlite3_bind_text(s, idx, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, idx);
            break;
        }
        case 'i': rc = sqlite3_bind_int64(s, idx, va_arg(ap, int64_t)); break;
        case 'd': rc = sqlite3_bind_double(s, idx, va_arg(ap, double)); break;
        default: rc = sqlite3_bind_null(s, idx); break;
        }
        if (rc != SQLITE_OK)
            return sqlite_fail((sqlite_conn *)k->base.conn, "bind", e);
    }
    return 0;
}

int sqlite_row(sqlite_cached *k, cerr *e)
{
    sqlite3_stmt *s = k->st;
    sqlite_conn *c = (sqlite_conn *)k->base.conn;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        return 0;
    }
    sqlite_fail(c, "step", e);
    sqlite3_reset(s);
    return -1;
}

/* " (Read-only file system)" and the like: what the OS said, for the
 * errors where it explains more than SQLite's words do; else "". */
static const char *sqlite_os_reason(sqlite_conn *c, char *buf, size_t cap)
{
    int code = sqlite3_errcode(c->db), err = sqlite3_system_errno(c->db);
    buf[0] = '\0';
    if (err != 0 && (code == SQLITE_CANTOPEN || code == SQLITE_IOERR || code == SQLITE_FULL ||
                     code == SQLITE_READONLY))
        snprintf(buf, cap, " (%s)", strerror(err));
    return buf;
}

int sqlite_exec(sqlite_conn *c, const char *sql, cerr *e)
{
    char *msg = NULL;
    if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        cerr_code code = sqlite3_errcode(c->db) == SQLITE_BUSY ? CERR_TEMPORARILY_UNAVAILABLE
                                                               : CERR_INTERNAL_ERROR;
        char os[128];
        cerr_set(e, code, "SQLite: %s%s", msg ? msg : sqlite3_errmsg(c->db),
                 sqlite_os_reason(c, os, sizeof os));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

int sqlite_fail(sqlite_conn *c, const char *what, cerr *e)
{
    int ext = sqlite3_extended_errcode(c->db), code = ext & 0xff;
    cerr_code kind = CERR_INTERNAL_ERROR;
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
        kind = CERR_TEMPORARILY_UNAVAILABLE;
    else if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        kind = CERR_RESOURCE_ALREADY_EXISTS;
    char os[128];
    return cerr_set(e, kind, "SQLite %s failed: %s%s", what, sqlite3_errmsg(c->db),
                    sqlite_os_reason(c, os, sizeof os));
}

/* ---- columns of the current row ---- */

const char *sqlite_col_text(sqlite_cached *k, int col)
{
    const unsigned char *t = sqlite3_column_text(k->st, col);
    return t ? (const char *)t : "";
}

int64_t sqlite_col_int64(sqlite_cached *k, int col)
{
    return sqlite3_column_int64(k->st, col);
}

double sqlite_col_double(sqlite_cached *k, int col)
{
    return sqlite3_column_double(k->st, col);
}

bool sqlite_col_is_null(sqlite_cached *k, int col)
{
    return sqlite3_column_type(k->st, col) == SQLITE_NULL;
}

void sqlite_stmt_reset(sqlite_cached *k)
{
    sqlite3_reset(k->st);
}

int64_t sqlite_changes(sqlite_conn *c)
{
    return sqlite3_changes(c->db);
}
