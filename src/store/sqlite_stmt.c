/* sqlite_stmt.c - one SQLite connection: opening it with Cairn's pragmas,
 * its prepared-statement cache, parameter binding, stepping and errors, and
 * small helpers the other sqlite*.c files share (ids, paths, id lists,
 * a sorted index).
 *
 * Statements are cached per connection, keyed by their SQL text, because
 * preparing costs more than running the small statements of the write path.
 * A connection is used by one thread at a time (the writer thread, or the
 * reader that took it from the pool), so the cache needs no lock. */
#include "sqlite.h"

#include <errno.h>
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

sqlite3_stmt *sqlite_prep(sqlite_conn *c, const char *sql, cerr *e)
{
    uint64_t h = sqlite_hash(sql);
    sqlite_cached *victim = &c->cache[0];
    for (int i = 0; i < SQLITE_STMT_CACHE; i++) {
        sqlite_cached *k = &c->cache[i];
        if (k->st && k->hash == h && strcmp(k->sql, sql) == 0) {
            k->used = ++c->tick;
            sqlite3_reset(k->st);
            sqlite3_clear_bindings(k->st);
            return k->st;
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
    return st;
}

static int sqlite_vbind(sqlite_conn *c, sqlite3_stmt *s, int idx, cerr *e, const char *fmt,
                        va_list ap)
{
    for (; *fmt; fmt++, idx++) {
        int rc;
        switch (*fmt) {
        case 't': {
            const char *v = va_arg(ap, const char *);
            rc = v ? sqlite3_bind_text(s, idx, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, idx);
            break;
        }
        case 'i':
            rc = sqlite3_bind_int64(s, idx, va_arg(ap, int64_t));
            break;
        case 'd':
            rc = sqlite3_bind_double(s, idx, va_arg(ap, double));
            break;
        default:
            rc = sqlite3_bind_null(s, idx);
            break;
        }
        if (rc != SQLITE_OK)
            return sqlite_fail(c, "bind", e);
    }
    return 0;
}

int sqlite_bindf(sqlite_conn *c, sqlite3_stmt *s, cerr *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = sqlite_vbind(c, s, 1, e, fmt, ap);
    va_end(ap);
    return rc;
}

int sqlite_bindf_at(sqlite_conn *c, sqlite3_stmt *s, int first, cerr *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = sqlite_vbind(c, s, first, e, fmt, ap);
    va_end(ap);
    return rc;
}

int sqlite_row(sqlite_conn *c, sqlite3_stmt *s, cerr *e)
{
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

int sqlite_run(sqlite_conn *c, sqlite3_stmt *s, cerr *e)
{
    int rc;
    while ((rc = sqlite_row(c, s, e)) == 1)
        ;
    return rc;
}

int sqlite_exec(sqlite_conn *c, const char *sql, cerr *e)
{
    char *msg = NULL;
    if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        cerr_code code = sqlite3_errcode(c->db) == SQLITE_BUSY ? CERR_TEMPORARILY_UNAVAILABLE
                                                                : CERR_INTERNAL_ERROR;
        cerr_set(e, code, "SQLite: %s", msg ? msg : sqlite3_errmsg(c->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

int sqlite_fail(sqlite_conn *c, const char *what, cerr *e)
{
    int code = sqlite3_errcode(c->db) & 0xff;
    bool locked = code == SQLITE_BUSY || code == SQLITE_LOCKED;
    return cerr_set(e, locked ? CERR_TEMPORARILY_UNAVAILABLE : CERR_INTERNAL_ERROR,
                    "SQLite %s failed: %s", what, sqlite3_errmsg(c->db));
}

const char *sqlite_text(sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    return t ? (const char *)t : "";
}

bool sqlite_parse_id(const char *s, int64_t *out)
{
    if (s == NULL || *s == '\0')
        return false;
    const char *p = s + (*s == '-' || *s == '+');
    if (*p < '0' || *p > '9')
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = v;
    return true;
}

char *sqlite_path_join(const char *base, const char *a, const char *b)
{
    size_t n = strlen(base);
    const char *sep = n > 0 && base[n - 1] == '/' ? "" : "/";
    char *out = NULL;
    int rc = b ? asprintf(&out, "%s%s%s/%s", base, sep, a, b)
               : asprintf(&out, "%s%s%s", base, sep, a);
    if (rc < 0)
        abort();
    return out;
}

char *sqlite_json_list(const char *const *items, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(items[i]));
    char *s = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    if (s == NULL)
        abort();
    return s;
}

char *sqlite_json_int_list(const int64_t *items, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_integer(items[i]));
    char *s = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    if (s == NULL)
        abort();
    return s;
}

static int sqlite_idx_cmp(const void *a, const void *b)
{
    return strcmp(((const sqlite_idx_entry *)a)->key, ((const sqlite_idx_entry *)b)->key);
}

void sqlite_idx_build(sqlite_idx *ix, const char *const *keys, size_t n)
{
    ix->n = n;
    ix->v = calloc(n ? n : 1, sizeof *ix->v);
    if (ix->v == NULL)
        abort();
    for (size_t i = 0; i < n; i++)
        ix->v[i] = (sqlite_idx_entry){keys[i], i};
    qsort(ix->v, n, sizeof *ix->v, sqlite_idx_cmp);
}

size_t sqlite_idx_find(const sqlite_idx *ix, const char *key)
{
    sqlite_idx_entry k = {key, 0};
    const sqlite_idx_entry *hit = bsearch(&k, ix->v, ix->n, sizeof *ix->v, sqlite_idx_cmp);
    return hit ? hit->pos : (size_t)-1;
}

void sqlite_idx_free(sqlite_idx *ix)
{
    free(ix->v);
    ix->v = NULL;
    ix->n = 0;
}
