/* store_search.c - experiments/search and runs/search, on either engine.
 *
 * search.c compiles the MLflow filter and order_by into a WHERE expression,
 * an ORDER BY list (already ending in MLflow's tie-breaks) and its binds; this
 * file wraps them in the store's own conditions (experiment ids, lifecycle),
 * pages with LIMIT max+1 OFFSET n (the extra row tells whether a next page
 * exists) and loads the page's children in batch (store_entity.c). */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

#include "../util/misc.h"
#include "../util/sbuf.h"
#include "search.h"

/* MLflow's SEARCH_MAX_RESULTS_DEFAULT, for a caller that passes none. */
#define STORE_SEARCH_DEFAULT_MAX 1000

/* search.c's dialect for the store's engine, with '?' placeholders (the
 * PostgreSQL driver numbers them). */
static search_dialect store_dialect(const store *st)
{
    return st->kind == DB_POSTGRES ? SEARCH_POSTGRES : SEARCH_SQLITE;
}


static json_t *store_search_run_row(db_stmt *s)
{
    return store_run_wrap(store_run_info_from_row(s));
}

static void store_view_stages(store_view view, const char **a, const char **b)
{
    *a = view == VIEW_DELETED_ONLY ? "deleted" : "active";
    *b = view == VIEW_ALL ? "deleted" : *a;
}

static int store_bind_search(db_stmt *s, int first, const search_sql *q, cerr *e)
{
    for (size_t i = 0; i < q->nbinds; i++) {
        const search_bind *b = &q->binds[i];
        int idx = first + (int)i, rc;
        if (b->type == SEARCH_BIND_TEXT)
            rc = db_bindf_at(s, idx, e, "t", b->text);
        else if (b->type == SEARCH_BIND_INT)
            rc = db_bindf_at(s, idx, e, "i", b->i);
        else
            rc = db_bindf_at(s, idx, e, "d", b->d);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* One search for store_search_exec: sql binds the experiment ids (runs
 * only) and the two lifecycle stages, then the compiled binds, then LIMIT
 * and OFFSET, in that textual order. */
typedef struct store_search_job {
    const char *sql;
    const char *list; /* experiment ids (runs only) */
    const char *stage_a, *stage_b;
    const search_sql *compiled;
    int64_t max, offset;
    store_row_fn row;
    int (*attach)(db_conn *c, json_t *arr, cerr *e);
} store_search_job;

static int store_search_exec(store *st, const store_search_job *j, json_t **out, char **next_token,
                             cerr *e)
{
    db_conn *c = db_read_begin(st, e);
    if (c == NULL)
        return -1;
    db_stmt *s = db_prep(c, j->sql, e);
    int first = j->list ? 4 : 3, rc = -1;
    if (s &&
        (j->list ? db_bindf(s, e, "ttt", j->list, j->stage_a, j->stage_b)
                 : db_bindf(s, e, "tt", j->stage_a, j->stage_b)) == 0 &&
        store_bind_search(s, first, j->compiled, e) == 0 &&
        db_bindf_at(s, first + (int)j->compiled->nbinds, e, "ii", j->max + 1, j->offset) == 0)
        rc = 0;
    json_t *arr = json_array();
    if (rc == 0)
        rc = store_page_read(s, j->row, j->max, j->offset, arr, next_token, e);
    if (rc == 0)
        rc = j->attach(c, arr, e);
    db_read_end(st, c);
    return store_page_done(rc, arr, out, next_token);
}

static int store_search_offset(const store_search *q, int64_t *offset, cerr *e)
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
    store_search_job j = {.row = store_experiment_from_row, .attach = store_experiments_attach};
    if (store_search_offset(q, &j.offset, e) < 0)
        return -1;
    search_sql compiled;
    memset(&compiled, 0, sizeof compiled);
    if (search_experiments_compile(q->filter, q->order_by, q->norder_by, store_dialect(st), 0,
                                   &compiled, e) < 0) {
        search_sql_free(&compiled);
        return -1;
    }
    sbuf sql = SBUF_INIT;
    sbuf_printf(&sql,
                "SELECT " STORE_EXPERIMENT_COLS " FROM experiments "
                "WHERE experiments.lifecycle_stage IN (?, ?) AND (%s) ORDER BY %s "
                "LIMIT ? OFFSET ?",
                sbuf_str(&compiled.where), sbuf_str(&compiled.order));
    j.sql = sbuf_str(&sql);
    j.compiled = &compiled;
    j.max = q->max_results > 0 ? q->max_results : STORE_SEARCH_DEFAULT_MAX;
    store_view_stages(q->view, &j.stage_a, &j.stage_b);
    int rc = store_search_exec(st, &j, out, next_token, e);
    sbuf_free(&sql);
    search_sql_free(&compiled);
    return rc;
}

/* Experiment ids as a JSON list of integers; ids that are not integers
 * cannot match any experiment and are left out. */
static char *store_search_exp_list(const store_search *q)
{
    int64_t *nums = malloc((q->nexperiment_ids + 1) * sizeof *nums);
    if (nums == NULL)
        abort();
    size_t n = 0;
    for (size_t i = 0; i < q->nexperiment_ids; i++)
        if (store_parse_id(q->experiment_ids[i], &nums[n]))
            n++;
    char *list = store_json_int_list(nums, n);
    free(nums);
    return list;
}

int store_run_search(store *st, const store_search *q, json_t **out, char **next_token, cerr *e)
{
    *out = NULL;
    *next_token = NULL;
    store_search_job j = {.row = store_search_run_row, .attach = store_runs_attach};
    if (store_search_offset(q, &j.offset, e) < 0)
        return -1;
    search_sql compiled;
    memset(&compiled, 0, sizeof compiled);
    if (search_runs_compile(q->filter, q->order_by, q->norder_by, store_dialect(st), 0, &compiled,
                            e) < 0) {
        search_sql_free(&compiled);
        return -1;
    }
    sbuf sql = SBUF_INIT;
    sbuf_printf(&sql,
                "SELECT " STORE_RUN_COLS " FROM %s "
                "WHERE runs.experiment_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?)) "
                "AND runs.lifecycle_stage IN (?, ?) AND (%s) ORDER BY %s LIMIT ? OFFSET ?",
                compiled.driven ? SEARCH_RUNS_DRIVEN_FROM : "runs", sbuf_str(&compiled.where),
                sbuf_str(&compiled.order));
    char *list = store_search_exp_list(q);
    j.sql = sbuf_str(&sql);
    j.list = list;
    j.compiled = &compiled;
    j.max = q->max_results > 0 ? q->max_results : STORE_SEARCH_DEFAULT_MAX;
    store_view_stages(q->view, &j.stage_a, &j.stage_b);
    int rc = store_search_exec(st, &j, out, next_token, e);
    free(list);
    sbuf_free(&sql);
    search_sql_free(&compiled);
    return rc;
}
