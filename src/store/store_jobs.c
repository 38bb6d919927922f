/* store_jobs.c - Cairn's jobs table, cairn_jobs: one row per job the job
 * service started, on either engine.
 *
 * The table is Cairn's own (the cairn_ prefix keeps it clear of MLflow's
 * names; MLflow ignores tables it does not know) and is created IF NOT
 * EXISTS when a store opens. A job is read and written as the JSON object
 * of docs/JOBS.md plus `workdir`; the column table below is the one place
 * that maps the two, so adding a field is one line here and one in the DDL.
 * Rows are never deleted: a job's row is its history. */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/misc.h"

typedef struct {
    const char *name;
    bool integer;
    bool key;       /* set at creation only */
} store_job_col;

static const store_job_col store_job_cols[] = {
    {"job_id", false, true},     {"experiment_id", false, true}, {"run_id", false, false},
    {"run_name", false, false},  {"backend", false, true},       {"backend_job_id", false, false},
    {"state", false, false},     {"run_status", false, false},   {"reason", false, false},
    {"exit_code", true, false},  {"entry_point", false, false},  {"command", false, false},
    {"user_id", false, true},    {"source", false, true},        {"workdir", false, true},
    {"submit_time", true, true}, {"start_time", true, false},    {"end_time", true, false},
    {"host", false, true},
};
#define STORE_JOB_NCOLS (sizeof store_job_cols / sizeof store_job_cols[0])

/* The states a job leaves no more (job.h); the monitor follows the rest. */
#define STORE_JOB_TERMINAL \
    "('COMPLETED','FAILED','CANCELLED','TIMEOUT','OUT_OF_MEMORY','NODE_FAIL','PREEMPTED'," \
    "'BOOT_FAIL','DEADLINE','LOST')"

static const char store_jobs_ddl[] =
    "CREATE TABLE IF NOT EXISTS cairn_jobs ("
    " job_id VARCHAR(32) NOT NULL PRIMARY KEY,"
    " experiment_id VARCHAR(32) NOT NULL,"
    " run_id VARCHAR(32) NOT NULL DEFAULT '',"
    " run_name VARCHAR(250) NOT NULL DEFAULT '',"
    " backend VARCHAR(16) NOT NULL,"
    " backend_job_id VARCHAR(64) NOT NULL DEFAULT '',"
    " state VARCHAR(20) NOT NULL,"
    " run_status VARCHAR(20) NOT NULL,"
    " reason TEXT NOT NULL DEFAULT '',"
    " exit_code INTEGER NOT NULL DEFAULT -1,"
    " entry_point TEXT NOT NULL DEFAULT '',"
    " command TEXT NOT NULL DEFAULT '',"
    " user_id VARCHAR(256) NOT NULL DEFAULT '',"
    " source VARCHAR(32) NOT NULL DEFAULT 'cairn',"
    " workdir TEXT NOT NULL,"
    " submit_time BIGINT NOT NULL,"
    " start_time BIGINT NOT NULL DEFAULT 0,"
    " end_time BIGINT NOT NULL DEFAULT 0,"
    " host VARCHAR(256) NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS cairn_jobs_submit ON cairn_jobs (submit_time, job_id);"
    "CREATE INDEX IF NOT EXISTS cairn_jobs_state ON cairn_jobs (state);";

int store_jobs_schema(db_conn *c, cerr *e)
{
    return db_exec(c, store_jobs_ddl, e);
}

static const store_job_col *store_job_col_find(const char *name)
{
    for (size_t i = 0; i < STORE_JOB_NCOLS; i++)
        if (strcmp(store_job_cols[i].name, name) == 0)
            return &store_job_cols[i];
    return NULL;
}

/* Binds obj[col->name] (or its default: "" / -1 for exit_code / 0) at i. */
static int store_job_bind(db_stmt *s, int i, const store_job_col *col, const json_t *v, cerr *e)
{
    if (col->integer) {
        int64_t n = json_is_integer(v) ? json_integer_value(v)
                                       : strcmp(col->name, "exit_code") == 0 ? -1 : 0;
        return db_bindf_at(s, i, e, "i", n);
    }
    const char *t = json_is_string(v) ? json_string_value(v) : "";
    return db_bindf_at(s, i, e, "t", t);
}

static json_t *store_job_from_row(db_stmt *s)
{
    json_t *job = json_object();
    for (size_t i = 0; i < STORE_JOB_NCOLS; i++) {
        const store_job_col *col = &store_job_cols[i];
        json_t *v = col->integer ? json_integer(db_int64(s, (int)i)) : json_string(db_text(s, (int)i));
        json_object_set_new(job, col->name, v);
    }
    return job;
}

static void store_job_select(sbuf *sql)
{
    sbuf_puts(sql, "SELECT ");
    for (size_t i = 0; i < STORE_JOB_NCOLS; i++)
        sbuf_printf(sql, "%s%s", i ? ", " : "", store_job_cols[i].name);
    sbuf_puts(sql, " FROM cairn_jobs");
}

/* ---- writes ---- */

typedef struct {
    const char *job_id;
    const json_t *job;
    bool create;
} store_job_write;

static int store_job_insert(db_conn *c, const json_t *job, cerr *e)
{
    sbuf sql = SBUF_INIT;
    sbuf_puts(&sql, "INSERT INTO cairn_jobs (");
    for (size_t i = 0; i < STORE_JOB_NCOLS; i++)
        sbuf_printf(&sql, "%s%s", i ? ", " : "", store_job_cols[i].name);
    sbuf_puts(&sql, ") VALUES (");
    for (size_t i = 0; i < STORE_JOB_NCOLS; i++)
        sbuf_puts(&sql, i ? ", ?" : "?");
    sbuf_puts(&sql, ")");
    db_stmt *s = db_prep(c, sbuf_str(&sql), e);
    sbuf_free(&sql);
    if (s == NULL)
        return -1;
    for (size_t i = 0; i < STORE_JOB_NCOLS; i++)
        if (store_job_bind(s, (int)i + 1, &store_job_cols[i],
                           json_object_get(job, store_job_cols[i].name), e) < 0)
            return -1;
    return db_run(s, e);
}

/* Sets the fields given (in column order, so equal field sets share one
 * prepared statement); keys and unknown fields are refused. */
static int store_job_set(db_conn *c, const char *job_id, const json_t *fields, cerr *e)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)fields, k, v) {
        const store_job_col *col = store_job_col_find(k);
        if (col == NULL || col->key)
            return cerr_set(e, CERR_INTERNAL_ERROR, "job field '%s' cannot be updated", k);
    }
    sbuf sql = SBUF_INIT;
    sbuf_puts(&sql, "UPDATE cairn_jobs SET ");
    int n = 0;
    for (size_t i = 0; i < STORE_JOB_NCOLS; i++)
        if (json_object_get(fields, store_job_cols[i].name))
            sbuf_printf(&sql, "%s%s = ?", n++ ? ", " : "", store_job_cols[i].name);
    sbuf_puts(&sql, " WHERE job_id = ?");
    if (n == 0) {
        sbuf_free(&sql);
        return 0;
    }
    db_stmt *s = db_prep(c, sbuf_str(&sql), e);
    sbuf_free(&sql);
    if (s == NULL)
        return -1;
    int i = 1;
    for (size_t j = 0; j < STORE_JOB_NCOLS; j++) {
        json_t *fv = json_object_get(fields, store_job_cols[j].name);
        if (fv && store_job_bind(s, i++, &store_job_cols[j], fv, e) < 0)
            return -1;
    }
    if (db_bindf_at(s, i, e, "t", job_id) < 0 || db_run(s, e) < 0)
        return -1;
    if (db_changes(c) == 0)
        return cerr_set(e, CERR_RESOURCE_DOES_NOT_EXIST, "No job with id=%s exists", job_id);
    return 0;
}

static int store_job_write_fn(db_conn *c, void *ctx, cerr *e)
{
    store_job_write *w = ctx;
    return w->create ? store_job_insert(c, w->job, e) : store_job_set(c, w->job_id, w->job, e);
}

int store_job_create(store *st, const json_t *job, cerr *e)
{
    if (!json_is_string(json_object_get(job, "job_id")))
        return cerr_set(e, CERR_INTERNAL_ERROR, "a job needs a job_id");
    store_job_write w = {NULL, job, true};
    return db_write(st, store_job_write_fn, &w, e);
}

int store_job_update(store *st, const char *job_id, const json_t *fields, cerr *e)
{
    store_job_write w = {job_id, fields, false};
    return db_write(st, store_job_write_fn, &w, e);
}

/* ---- reads ---- */

int store_job_get(store *st, const char *job_id, json_t **out, cerr *e)
{
    *out = NULL;
    db_conn *c = db_read_begin(st, e);
    if (c == NULL)
        return -1;
    sbuf sql = SBUF_INIT;
    store_job_select(&sql);
    sbuf_puts(&sql, " WHERE job_id = ?");
    db_stmt *s = db_prep(c, sbuf_str(&sql), e);
    sbuf_free(&sql);
    int rc = (s == NULL || db_bindf(s, e, "t", job_id) < 0) ? -1 : db_row(s, e);
    if (rc == 1) {
        *out = store_job_from_row(s);
        db_reset(s);
    }
    db_read_end(st, c);
    if (rc == 0)
        return cerr_set(e, CERR_RESOURCE_DOES_NOT_EXIST, "No job with id=%s exists", job_id);
    return rc < 0 ? -1 : 0;
}

int store_job_list(store *st, const store_job_query *q, json_t **out, char **next_token, cerr *e)
{
    *out = NULL;
    *next_token = NULL;
    int64_t offset;
    if (!token_to_offset(q->page_token, &offset))
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid page token");
    sbuf sql = SBUF_INIT;
    store_job_select(&sql);
    sbuf_puts(&sql, " WHERE (? = '' OR experiment_id = ?) AND (? = '' OR source = ?)");
    if (q->active_only)
        sbuf_puts(&sql, " AND state NOT IN " STORE_JOB_TERMINAL);
    sbuf_puts(&sql, " ORDER BY submit_time DESC, job_id DESC LIMIT ? OFFSET ?");
    db_conn *c = db_read_begin(st, e);
    if (c == NULL) {
        sbuf_free(&sql);
        return -1;
    }
    const char *exp = q->experiment_id ? q->experiment_id : "";
    const char *src = q->source ? q->source : "";
    int64_t max = q->max_results > 0 ? q->max_results : INT32_MAX;
    db_stmt *s = db_prep(c, sbuf_str(&sql), e);
    sbuf_free(&sql);
    int rc = (s == NULL || db_bindf(s, e, "ttttii", exp, exp, src, src, max + 1, offset) < 0) ? -1 : 0;
    json_t *arr = json_array();
    if (rc == 0)
        rc = store_page_read(s, store_job_from_row, max, offset, arr, next_token, e);
    db_read_end(st, c);
    return store_page_done(rc, arr, out, next_token);
}
