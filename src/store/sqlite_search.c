/* sqlite_search.c - experiments/search and runs/search on SQLite.
 *
 * search.c compiles the MLflow filter and order_by into a WHERE expression,
 * an ORDER BY list (already ending in MLflow's tie-breaks) and its binds; this
 * file wraps them in the store's own conditions (experiment ids, lifecycle),
 * pages with LIMIT max+1 OFFSET n (the extra row tells whether a next page
 * exists) and loads the page's children in batch (sqlite_entity.c). */
#include "sqlite.h"

#include <stdlib.h>
#include <string.h>

#include "../util/misc.h"
#include "../util/sbuf.h"
#include "search.h"

/* MLflow's SEARCH_MAX_RESULTS_DEFAULT, for a caller that passes none. */
#define SQLITE_SEARCH_DEFAULT_MAX 1000

typedef json_t *(*sqlite_row_fn)(sqlite3_stmt *s);

static json_t *sqlite_search_run_row(sqlite3_stmt *s)
{
    return sqlite_run_wrap(sqlite_run_info_from_row(s));
}

static void sqlite_view_stages(store_view view, const char **a, const char **b)
{
    *a = view == VIEW_DELETED_ONLY ? "deleted" : "active";
    *b = view == VIEW_ALL ? "deleted" : *a;
}

static int sqlite_bind_search(sqlite_conn *c, sqlite3_stmt *s, int first, const search_sql *q,
                              cerr *e)
{
    for (size_t i = 0; i < q->nbinds; i++) {
        const search_bind *b = &q->binds[i];
        int idx = first + (int)i, rc;
        if (b->type == SEARCH_BIND_TEXT)
            rc = sqlite_bindf_at(c, s, idx, e, "t", b->text);
        else if (b->type == SEARCH_BIND_INT)
            rc = sqlite_bindf_at(c, s, idx, e, "i", b->i);
        else
            rc = sqlite_bindf_at(c, s, idx, e, "d", b->d);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Step s, whose LIMIT is max + 1, into arr; a row beyond max means there is
 * a next page. */
static int sqlite_search_page(sqlite_conn *c, sqlite3_stmt *s, sqlite_row_fn fn, int64_t max,
                              int64_t offset, json_t *arr, char **next_token, cerr *e)
{
    int rc;
    while ((rc = sqlite_row(c, s, e)) == 1) {
        if ((int64_t)json_array_size(arr) == max) {
            *next_token = token_from_offset(offset + max);
            sqlite3_reset(s);
            return 0;
        }
        json_array_append_new(arr, fn(s));
    }
    return rc;
}

/* One search for sqlite_search_exec: sql binds the experiment ids (runs
 * only) and the two lifecycle stages, then the compiled binds, then LIMIT
 * and OFFSET, in that textual order. */
typedef struct sqlite_search_job {
    const char *sql;
    const char *list; /* experiment ids (runs only) */
    const char *stage_a, *stage_b;
    const search_sql *compiled;
    int64_t max, offset;
    sqlite_row_fn row;
    int (*attach)(sqlite_conn *c, json_t *arr, cerr *e);
} sqlite_search_job;

static int sqlite_search_exec(store *st, const sqlite_search_job *j, json_t **out,
                              char **next_token, cerr *e)
{
    sqlite_conn *c = sqlite_read_begin(st, e);
    if (c == NULL)
        return -1;
    sqlite3_stmt *s = sqlite_prep(c, j->sql, e);
    int first = j->list ? 4 : 3, rc = -1;
    if (s && (j->list ? sqlite_bindf(c, s, e, "ttt", j->list, j->stage_a, j->stage_b)
                      : sqlite_bindf(c, s, e, "tt", j->stage_a, j->stage_b)) == 0 &&
        sqlite_bind_search(c, s, first, j->compiled, e) == 0 &&
        sqlite_bindf_at(c, s, first + (int)j->compiled->nbinds, e, "ii", j->max + 1,
                        j->offset) == 0)
        rc = 0;
    json_t *arr = json_array();
    if (rc == 0)
        rc = sqlite_search_page(c, s, j->row, j->max, j->offset, arr, next_token, e);
    if (rc == 0)
        rc = j->attach(c, arr, e);
    sqlite_read_end(st, c);
    if (rc < 0) {
        json_decref(arr);
        free(*next_token);
        *next_token = NULL;
        return -1;
    }
    *out = arr;
    return 0;
}

static int sqlite_search_offset(const store_search *q, int64_t *offset, cerr *e)
{
    if (!token_to_offset(q->page_token, offset))
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Invalid page token, could not base64-decode");
    return 0;
}

int store_experiment_search(store *st, const store_search *q, json_t **out, char **next_token,
                            cerr *e)
{
    *out = NULL;
    *next_token = NULL;
    sqlite_search_job j = {.row = sqlite_experiment_from_row, .attach = sqlite_experiments_attach};
    if (sqlite_search_offset(q, &j.offset, e) < 0)
        return -1;
    search_sql compiled;
    memset(&compiled, 0, sizeof compiled);
    if (search_experiments_compile(q->filter, q->order_by, q->norder_by, SEARCH_SQLITE, 1,
                                   &compiled, e) < 0) {
        search_sql_free(&compiled);
        return -1;
    }
    sbuf sql = SBUF_INIT;
    sbuf_printf(&sql,
                "SELECT " SQLITE_EXPERIMENT_COLS " FROM experiments "
                "WHERE experiments.lifecycle_stage IN (?, ?) AND (%s) ORDER BY %s "
                "LIMIT ? OFFSET ?",
                sbuf_str(&compiled.where), sbuf_str(&compiled.order));
    j.sql = sbuf_str(&sql);
    j.compiled = &compiled;
    j.max = q->max_results > 0 ? q->max_results : SQLITE_SEARCH_DEFAULT_MAX;
    sqlite_view_stages(q->view, &j.stage_a, &j.stage_b);
    int rc = sqlite_search_exec(st, &j, out, next_token, e);
    sbuf_free(&sql);
    search_sql_free(&compiled);
    return rc;
}

/* Experiment ids as a JSON list of integers; ids that are not integers
 * cannot match any experiment and are left out. */
static char *sqlite_search_exp_list(const store_search *q)
{
    int64_t *nums = malloc((q->nexperiment_ids + 1) * sizeof *nums);
    if (nums == NULL)
        abort();
    size_t n = 0;
    for (size_t i = 0; i < q->nexperiment_ids; i++)
        if (sqlite_parse_id(q->experiment_ids[i], &nums[n]))
            n++;
    char *list = sqlite_json_int_list(nums, n);
    free(nums);
    return list;
}

int store_run_search(store *st, const store_search *q, json_t **out, char **next_token, cerr *e)
{
    *out = NULL;
    *next_token = NULL;
    sqlite_search_job j = {.row = sqlite_search_run_row, .attach = sqlite_runs_attach};
    if (sqlite_search_offset(q, &j.offset, e) < 0)
        return -1;
    search_sql compiled;
    memset(&compiled, 0, sizeof compiled);
    if (search_runs_compile(q->filter, q->order_by, q->norder_by, SEARCH_SQLITE, 1, &compiled,
                            e) < 0) {
        search_sql_free(&compiled);
        return -1;
    }
    sbuf sql = SBUF_INIT;
    sbuf_printf(&sql,
                "SELECT " SQLITE_RUN_COLS " FROM runs "
                "WHERE runs.experiment_id IN (SELECT value FROM json_each(?)) "
                "AND runs.lifecycle_stage IN (?, ?) AND (%s) ORDER BY %s LIMIT ? OFFSET ?",
                sbuf_str(&compiled.where), sbuf_str(&compiled.order));
    char *list = sqlite_search_exp_list(q);
    j.sql = sbuf_str(&sql);
    j.list = list;
    j.compiled = &compiled;
    j.max = q->max_results > 0 ? q->max_results : SQLITE_SEARCH_DEFAULT_MAX;
    sqlite_view_stages(q->view, &j.stage_a, &j.stage_b);
    int rc = sqlite_search_exec(st, &j, out, next_token, e);
    free(list);
    sbuf_free(&sql);
    search_sql_free(&compiled);
    return rc;
}
