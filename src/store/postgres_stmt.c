/* postgres_stmt.c - one PostgreSQL connection (libpq): opening it, the
 * rewriting of the store's '?' SQL into PostgreSQL's, the per-connection
 * cache of server-side prepared statements, binding, rows, columns and
 * errors: the PostgreSQL side of db.h, which db.c dispatches to.
 *
 * Values travel as text (libpq's text format) and the server infers each
 * parameter's type from where it stands, so 0/1 bound for a boolean column
 * is read as false/true, and a number bound where a number is compared is
 * parsed as one. Results are fetched whole (PQexecPrepared), which suits
 * the store: pages are bounded by max_results. */
#include "postgres.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/sbuf.h"

/* libpq prints server notices (e.g. "there is no transaction in progress")
 * on stderr by default; the store reports through cerr only. */
static void pg_notice_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

int pg_conn_open(const char *conninfo, pg_conn **out, cerr *e)
{
    *out = NULL;
    PGconn *pg = PQconnectdb(conninfo);
    if (pg == NULL)
        abort();
    if (PQstatus(pg) != CONNECTION_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(pg));
        msg[strcspn(msg, "\n")] = '\0';
        PQfinish(pg);
        return cerr_set(e, CERR_TEMPORARILY_UNAVAILABLE, "cannot connect to PostgreSQL: %s", msg);
    }
    PQsetNoticeProcessor(pg, pg_notice_quiet, NULL);
    pg_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        abort();
    c->base.kind = DB_POSTGRES;
    c->pg = pg;
    /* The translator and MLflow's data assume UTF-8 text and standard
     * strings (a backslash is an ordinary character in '...'). */
    if (pg_exec(c, "SET client_encoding = 'UTF8'; SET standard_conforming_strings = on", e) < 0) {
        pg_conn_close(c);
        return -1;
    }
    *out = c;
    return 0;
}

static void pg_stmt_free(pg_stmt *k)
{
    PQclear(k->res);
    free(k->sql);
    free(k->vals);
    free(k->num);
    memset(k, 0, sizeof *k);
}

void pg_conn_close(pg_conn *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < PG_STMT_CACHE; i++)
        pg_stmt_free(&c->cache[i]);
    PQfinish(c->pg);
    free(c);
}

void pg_conn_reset_all(pg_conn *c)
{
    for (int i = 0; i < PG_STMT_CACHE; i++)
        pg_stmt_reset(&c->cache[i]);
}

void pg_stmt_reset(pg_stmt *k)
{
    PQclear(k->res);
    k->res = NULL;
    k->row = k->nrows = 0;
}

/* ---- errors ---- */

int pg_fail(pg_conn *c, PGresult *res, const char *what, cerr *e)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(c->sqlstate, sizeof c->sqlstate, "%s", state ? state : "");
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(c->pg));
    msg[strcspn(msg, "\n")] = '\0';
    cerr_code code = CERR_INTERNAL_ERROR;
    if (strcmp(c->sqlstate, "23505") == 0)
        code = CERR_RESOURCE_ALREADY_EXISTS;
    else if (strcmp(c->sqlstate, "22001") == 0) /* longer than its VARCHAR(n) */
        code = CERR_INVALID_PARAMETER_VALUE;
    else if (strcmp(c->sqlstate, "40001") == 0 || strcmp(c->sqlstate, "40P01") == 0 ||
             PQstatus(c->pg) != CONNECTION_OK)
        code = CERR_TEMPORARILY_UNAVAILABLE;
    return cerr_set(e, code, "PostgreSQL %s failed: %s", what, msg[0] ? msg : "(no message)");
}

int pg_exec(pg_conn *c, const char *sql, cerr *e)
{
    PGresult *res = PQexec(c->pg, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = pg_fail(c, res, "statement", e);
    PQclear(res);
    return rc;
}

/* ---- SQL rewriting ---- */

static bool pg_is_word(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_';
}

char *pg_sql_translate(const char *sql, int *nparams)
{
    static const char from[] = "json_each", to[] = "json_array_elements_text";
    sbuf b = SBUF_INIT;
    int n = 0;
    for (const char *p = sql; *p;) {
        if (*p == '\'' || *p == '"') { /* a literal or quoted name, '' and "" included */
            char q = *p;
            const char *end = strchr(p + 1, q);
            end = end ? end + 1 : p + strlen(p);
            sbuf_append(&b, p, (size_t)(end - p));
            p = end;
        } else if (p[0] == '-' && p[1] == '-') { /* a comment, to the end of the line */
            size_t len = strcspn(p, "\n");
            sbuf_append(&b, p, len);
            p += len;
        } else if (*p == '?') {
            sbuf_printf(&b, "$%d", ++n);
            p++;
        } else if (strncmp(p, from, sizeof from - 1) == 0 && !pg_is_word(p[sizeof from - 1]) &&
                   (p == sql || !pg_is_word(p[-1]))) {
            sbuf_puts(&b, to);
            p += sizeof from - 1;
        } else {
            sbuf_putc(&b, *p++);
        }
    }
    *nparams = n;
    return sbuf_detach(&b);
}

/* ---- statements ---- */

static uint64_t pg_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void pg_stmt_clear_binds(pg_stmt *k)
{
    for (int i = 0; i < k->nparams; i++)
        k->vals[i] = NULL;
}

db_stmt *pg_prep(pg_conn *c, const char *sql, cerr *e)
{
    uint64_t h = pg_hash(sql);
    pg_stmt *victim = &c->cache[0];
    for (int i = 0; i < PG_STMT_CACHE; i++) {
        pg_stmt *k = &c->cache[i];
        if (k->sql && k->hash == h && strcmp(k->sql, sql) == 0) {
            k->used = ++c->tick;
            pg_stmt_reset(k);
            pg_stmt_clear_binds(k);
            return &k->base;
        }
        if (k->sql == NULL || (victim->sql && k->used < victim->used))
            victim = k;
    }
    if (victim->sql) {
        /* Free the server's copy too. Names are never reused, so if this
         * fails (an aborted transaction) the statement only lingers until
         * the connection closes. */
        char dealloc[48];
        snprintf(dealloc, sizeof dealloc, "DEALLOCATE %s", victim->name);
        PQclear(PQexec(c->pg, dealloc));
        pg_stmt_free(victim);
    }
    int n;
    char *text = pg_sql_translate(sql, &n);
    char name[24];
    snprintf(name, sizeof name, "cairn%llu", (unsigned long long)++c->nnames);
    PGresult *res = PQprepare(c->pg, name, text, n, NULL);
    free(text);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        pg_fail(c, res, "prepare", e);
        PQclear(res);
        return NULL;
    }
    PQclear(res);
    victim->base.kind = DB_POSTGRES;
    victim->base.conn = &c->base;
    victim->sql = strdup(sql);
    victim->vals = calloc(n ? (size_t)n : 1, sizeof *victim->vals);
    victim->num = calloc(n ? (size_t)n : 1, sizeof *victim->num);
    if (victim->sql == NULL || victim->vals == NULL || victim->num == NULL)
        abort();
    snprintf(victim->name, sizeof victim->name, "%s", name);
    victim->hash = h;
    victim->nparams = n;
    victim->used = ++c->tick;
    return &victim->base;
}

int pg_vbind(pg_stmt *k, int idx, cerr *e, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++, idx++) {
        if (idx < 1 || idx > k->nparams)
            return cerr_set(e, CERR_INTERNAL_ERROR, "PostgreSQL bind: no parameter %d in %s", idx,
                            k->sql);
        int i = idx - 1;
        switch (*fmt) {
        case 't': k->vals[i] = va_arg(ap, const char *); break;
        case 'i':
            snprintf(k->num[i], sizeof k->num[i], "%lld", (long long)va_arg(ap, int64_t));
            k->vals[i] = k->num[i];
            break;
        case 'd': {
            double d = va_arg(ap, double);
            if (isnan(d))
                snprintf(k->num[i], sizeof k->num[i], "NaN");
            else if (isinf(d))
                snprintf(k->num[i], sizeof k->num[i], d > 0 ? "Infinity" : "-Infinity");
            else /* 17 significant digits: the exact double back */
                snprintf(k->num[i], sizeof k->num[i], "%.17g", d);
            k->vals[i] = k->num[i];
            break;
        }
        default: k->vals[i] = NULL; break;
        }
    }
    return 0;
}

int pg_row(pg_stmt *k, cerr *e)
{
    pg_conn *c = (pg_conn *)k->base.conn;
    if (k->res == NULL) {
        k->res = PQexecPrepared(c->pg, k->name, k->nparams, k->vals, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(k->res);
        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
            pg_fail(c, k->res, "statement", e);
            pg_stmt_reset(k);
            return -1;
        }
        /* Like sqlite3_changes: only writes count (RETURNING included). */
        if (strncmp(PQcmdStatus(k->res), "SELECT", 6) != 0)
            c->changes = strtoll(PQcmdTuples(k->res), NULL, 10);
        k->row = -1;
        k->nrows = PQntuples(k->res);
    }
    if (++k->row < k->nrows)
        return 1;
    pg_stmt_reset(k);
    return 0;
}

int64_t pg_changes(pg_conn *c)
{
    return c->changes;
}

/* ---- columns ---- */

const char *pg_col_text(pg_stmt *k, int col)
{
    if (k->res == NULL || k->row < 0 || k->row >= k->nrows || col >= PQnfields(k->res))
        return "";
    return PQgetvalue(k->res, k->row, col);
}

int64_t pg_col_int64(pg_stmt *k, int col)
{
    const char *t = pg_col_text(k, col);
    if (t[0] == 't' && t[1] == '\0') /* booleans */
        return 1;
    return strtoll(t, NULL, 10);
}

double pg_col_double(pg_stmt *k, int col)
{
    return strtod(pg_col_text(k, col), NULL); /* also reads Infinity and NaN */
}

bool pg_col_is_null(pg_stmt *k, int col)
{
    if (k->res == NULL || k->row < 0 || k->row >= k->nrows || col >= PQnfields(k->res))
        return true;
    return PQgetisnull(k->res, k->row, col);
}
