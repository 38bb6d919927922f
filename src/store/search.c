/* search.c - search.h's entry points: parse the filter and order_by, then
 * compile them, in the order MLflow's stores check them so the first error
 * reported is MLflow's:
 *   runs:        filter syntax and values, order_by, filter comparators
 *   experiments: filter syntax and values, filter comparators, order_by
 * Binds are emitted WHERE first, then ORDER BY, as search.h promises.
 *
 * Deliberate differences from MLflow 2.9.2 (all more permissive or safer,
 * none changes which runs a valid filter selects, except the NaN rule):
 * - comparators are case-insensitive for experiments too (MLflow's
 *   experiment search rejects `like` with an internal error);
 * - a metric that is NaN fails every numeric test except `!=` (MLflow's SQL
 *   store compares the stored 0 instead; its in-memory filter does this);
 * - `dataset.* IN (...)` keeps upper-case strings (MLflow drops them with
 *   the run_id rule meant for MySQL, so IN ('MNIST') can never match);
 * - errors MLflow raises without a code (500) are INVALID_PARAMETER_VALUE;
 * - named limits on filter size (search_ast.h). */
#include "search.h"

#include <stdlib.h>
#include <string.h>

#include "search_ast.h"

static int finish(int rv, search_filter *f, search_orders *o, search_sql *out)
{
    search_filter_free(f);
    search_orders_free(o);
    if (rv < 0)
        search_sql_free(out);
    return rv;
}

int search_runs_compile(const char *filter, const char **order_by, size_t norder_by,
                        search_dialect dialect, int first_param, search_sql *out, cerr *e)
{
    search_filter f = {0};
    search_orders o = {0};
    search_emit em;
    memset(out, 0, sizeof *out);
    if (search_parse_filter(filter, SEARCH_FLAVOR_RUNS, &f, e) < 0 ||
        search_parse_order(order_by, norder_by, SEARCH_FLAVOR_RUNS, &o, e) < 0)
        return finish(-1, &f, &o, out);
    search_emit_init(&em, out, dialect, first_param);
    out->driven = search_runs_drivable(&f, &o);
    em.per_run = out->driven;
    if (search_compile_runs_where(&f, &o, &em, e) < 0)
        return finish(-1, &f, &o, out);
    search_compile_runs_order(&o, &em);
    return finish(0, &f, &o, out);
}

int search_experiments_compile(const char *filter, const char **order_by, size_t norder_by,
                               search_dialect dialect, int first_param, search_sql *out,
                               cerr *e)
{
    search_filter f = {0};
    search_orders o = {0};
    search_emit em;
    memset(out, 0, sizeof *out);
    search_emit_init(&em, out, dialect, first_param);
    if (search_parse_filter(filter, SEARCH_FLAVOR_EXPERIMENTS, &f, e) < 0 ||
        search_compile_experiments_where(&f, &em, e) < 0 ||
        search_parse_order(order_by, norder_by, SEARCH_FLAVOR_EXPERIMENTS, &o, e) < 0)
        return finish(-1, &f, &o, out);
    search_compile_experiments_order(&o, &em);
    return finish(0, &f, &o, out);
}

void search_sql_free(search_sql *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nbinds; i++)
        free(s->binds[i].text);
    free(s->binds);
    sbuf_free(&s->where);
    sbuf_free(&s->order);
    memset(s, 0, sizeof *s);
}
