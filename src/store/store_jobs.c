/* store_jobs.c - Cairn's jobs table, cairn_jobs: one row per job the job
 * service started, on either engine.
 *
 * The table is Cairn's own (the cairn_ prefix keeps it clear of MLflow's
 * names; MLflow ignores tables it does not know) and is created IF NOT
 * EXISTS when a store opens. A job is read and written as a store_job
 * (store_job.h); the column table below is the one place that maps the
 * struct's fields to columns, so adding a field is one line here, one in
 * the struct and one in the DDL. The run_status column is written from the
 * state (job_state_run_status) for readers of the table; it is not read
 * back. Rows are never deleted: a job's row is its history. */
#include "store_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/misc.h"

typedef enum { COL_TEXT, COL_INT64, COL_INT, COL_STATE, COL_RUN_STATUS, COL_BACKEND } store_job_type;

typedef struct {
    const char *name;
    store_job_type type;
    size_t off;     /* of the field in store_job */
    unsigned field; /* its STORE_JOB_* bit; 0: set at creation only */
} store_job_col;

#define T(f) COL_TEXT, offsetof(store_job, f)
static const store_job_col store_job_cols[] = {
    {"job_id", T(job_id), 0},
    {"experiment_id", T(experiment_id), 0},
    {"run_id", T(run_id), STORE_JOB_RUN_ID},
    {"run_name", T(run_name), STORE_JOB_RUN_NAME},
    {"backend", COL_BACKEND, offsetof(store_job, backend), 0},
    {"backend_job_id", T(backend_job_id), STORE_JOB_BACKEND_JOB_ID},
    {"state", COL_STATE, offsetof(store_job, state), STORE_JOB_STATE},
    {"run_status", COL_RUN_STATUS, offsetof(store_job, state), STORE_JOB_STATE},
    {"reason", T(reason), STORE_JOB_REASON},
    {"exit_code", COL_INT, offsetof(store_job, exit_code), STORE_JOB_EXIT_CODE},
    {"entry_point", T(entry_point), STORE_JOB_ENTRY_POINT},
    {"command", T(command), STORE_JOB_COMMAND},
    {"user_id", T(user_id), 0},
    {"source", T(source), 0},
    {"workdir", T(workdir), 0},
    {"submit_time", COL_INT64, offsetof(store_job, submit_time), 0},
    {"start_time", COL_INT64, offsetof(store_job, start_time), STORE_JOB_START_TIME},
    {"end_time", COL_INT64, offsetof(store_job, end_time), STORE_JOB_END_TIME},
    {"host", T(host), 0},
};
#undef T
#define STORE_JOB_NCOLS (sizeof store_job_cols / sizeof store_job_cols[0])

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

/* The field of j that col maps. */
#define STORE_JOB_AT(j, col, type) ((type *)((char *)(j) + (col)->off))

static int store_job_bind(db_stmt *s, int i, const store_job_col *col, const store_job *j,
                          cerr *e)
{
    switch (col->type) {
    case COL_TEXT: {
        const char *t = *STORE_JOB_AT(j, col, char *const);
        return db_bindf_at(s, i, e, "t", t ? t : "");
    }
    case COL_INT64:
        return db_bindf_at(s, i, e, "i", *STORE_JOB_AT(j, col, const int64_t));
    case COL_INT:
        return db_bindf_at(s, i, e, "i", (int64_t)*STORE_JOB_AT(j, col, const int));
    case COL_STATE:
        return db_bindf_at(s, i, e, "t", job_state_name(j->state));
    case COL_RUN_STATUS:
        return db_bindf_at(s, i, e, "t", job_state_run_status(j->state));
    case COL_BACKEND:
        return db_bindf_at(s, i, e, "t", backend_kind_name(j->backend));
    }
    return cerr_set(e, CERR_INTERNAL_ERROR, "job column %s has no type", col->name);
}

static int store_job_from_row(db_stmt *s, store_job *j, cerr *e)
{
    *j = (store_job)STORE_JOB_INIT;
    for (size_t i = 0; i < STORE_JOB_NCOLS; i++) {
        const store_job_col *col = &store_job_cols[i];
        switch (col->type) {
        case COL_TEXT:
            store_job_set_text(STORE_JOB_AT(j, col, char *), db_text(s, (int)i));
            break;
        case COL_INT64:
            *STORE_JOB_AT(j, col, int64_t) = db_int64(s, (int)i);
            break;
        case COL_INT:
            *STORE_JOB_AT(j, col, int) = (int)db_int64(s, (int)i);
            break;
        case COL_RUN_STATUS:
            break;
        case COL_STATE:
        case COL_BACKEND: {
            const char *name = db_text(s, (int)i);
            bool ok = col->type == COL_STATE ? job_state_from_name(name, &j->state) == 0
                                             : backend_kind_parse(name, &j->backend) == 0;
            if (!ok) {
                cerr_set(e, CERR_INTERNAL_ERROR, "job %s has an unknown %s '%.64s'",
                         db_text(s, 0), col->name, name);
                store_job_free(j);
                return -1;
            }
            break;
        }
        }
    }
    return 0;
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
    const store_job *job;
    unsigned fields;
    bool create;
} store_job_write;

static int store_job_insert(db_conn *c, const store_job *job, cerr *e)
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
        if (store_job_bind(s, (int)i + 1, &store_job_cols[i], job, e) < 0)
            return -1;
    return db_run(s, e);
}

/* Sets the columns of the fields given (in column order, so equal field
 * sets share one prepared statement). */
static int store_job_set(db_conn *c, const store_job *job, unsigned fields, cerr *e)
{
    sbuf sql = SBUF_INIT;
    sbuf_puts(&sql, "UPDATE cairn_jobs SET ");
    int n = 0;
    for (size_t i = 0; i < STORE_JOB_NCOLS; i++)
        if (store_job_cols[i].field & fields)
            sbuf_printf(&sql, "%s%s = ?", n++ ? ", " : "", store_job_cols[i].name);
    sbuf_puts(&sql, " WHERE job_id = ?");
    db_stmt *s = db_prep(c, sbuf_str(&sql), e);
    sbuf_free(&sql);
    if (s == NULL)
        return -1;
    int i = 1;
    for (size_t j = 0; j < STORE_JOB_NCOLS; j++)
        if ((store_job_cols[j].field & fields) &&
            store_job_bind(s, i++, &store_job_cols[j], job, e) < 0)
            return -1;
    if (db_bindf_at(s, i, e, "t", job->job_id) < 0 || db_run(s, e) < 0)
        return -1;
    if (db_changes(c) == 0)
        return cerr_set(e, CERR_RESOURCE_DOES_NOT_EXIST, "No job with id=%s exists", job->job_id);
    return 0;
}

static int store_job_write_fn(db_conn *c, void *ctx, cerr *e)
{
    store_job_write *w = ctx;
    return w->create ? store_job_insert(c, w->job, e) : store_job_set(c, w->job, w->fields, e);
}

int store_job_create(store *st, const store_job *job, cerr *e)
{
    if (job->job_id == NULL || job->job_id[0] == '\0')
        return cerr_set(e, CERR_INTERNAL_ERROR, "a job needs a job_id");
    store_job_write w = {job, 0, true};
    return db_write(st, store_job_write_fn, &w, e);
}

int store_job_update(store *st, const store_job *job, unsigned fields, cerr *e)
{
    unsigned all = 0;
    for (size_t i = 0; i < STORE_JOB_NCOLS; i++)
        all |= store_job_cols[i].field;
    if (fields & ~all)
        return cerr_set(e, CERR_INTERNAL_ERROR, "job fields 0x%x cannot be updated", fields & ~all);
    if (job->job_id == NULL)
        return cerr_set(e, CERR_INTERNAL_ERROR, "a job update needs a job_id");
    if (fields == 0)
        return 0;
    store_job_write w = {job, fields, false};
    return db_write(st, store_job_write_fn, &w, e);
}

/* ---- reads ---- */

int store_job_get(store *st, const char *job_id, store_job *out, cerr *e)
{
    *out = (store_job)STORE_JOB_INIT;
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
        rc = store_job_from_row(s, out, e) < 0 ? -1 : 1;
        db_reset(s);
    }
    db_read_end(st, c);
    if (rc == 0)
        return cerr_set(e, CERR_RESOURCE_DOES_NOT_EXIST, "No job with id=%s exists", job_id);
    return rc < 0 ? -1 : 0;
}

/* Reads up to max rows into *jobs; a row beyond them means a next page. */
static int store_job_page(db_stmt *s, int64_t max, int64_t offset, store_job **jobs, size_t *n,
                          char **next_token, cerr *e)
{
    size_t cap = 0;
    int rc;
    while ((rc = db_row(s, e)) == 1) {
        if ((int64_t)*n == max) {
            *next_token = token_from_offset(offset + max);
            db_reset(s);
            return 0;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            store_job *grown = realloc(*jobs, cap * sizeof **jobs);
            if (grown == NULL)
                abort();
            *jobs = grown;
        }
        if (store_job_from_row(s, &(*jobs)[*n], e) < 0) {
            db_reset(s);
            return -1;
        }
        (*n)++;
    }
    return rc;
}

int store_job_list(store *st, const store_job_query *q, store_job **jobs, size_t *n,
                   char **next_token, cerr *e)
{
    *jobs = NULL;
    *n = 0;
    *next_token = NULL;
    int64_t offset;
    if (!token_to_offset(q->page_token, &offset))
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid page token");
    sbuf sql = SBUF_INIT;
    store_job_select(&sql);
    sbuf_puts(&sql, " WHERE (? = '' OR experiment_id = ?) AND (? = '' OR source = ?)");
    if (q->active_only) {
        sbuf_puts(&sql, " AND state NOT IN (");
        for (int i = 0, k = 0; i < JOB_STATE_COUNT; i++)
            if (job_state_terminal((job_state)i))
                sbuf_printf(&sql, "%s'%s'", k++ ? "," : "", job_state_name((job_state)i));
        sbuf_puts(&sql, ")");
    }
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
    if (rc == 0)
        rc = store_job_page(s, max, offset, jobs, n, next_token, e);
    db_read_end(st, c);
    if (rc < 0) {
        store_jobs_free(*jobs, *n);
        *jobs = NULL;
        *n = 0;
        free(*next_token);
        *next_token = NULL;
        return -1;
    }
    return 0;
}
