/* search.h - MLflow's search filter and order_by grammar, parsed to an AST
 * and compiled to a parameterised SQL fragment.
 *
 * The filter is the one `runs/search` and `experiments/search` accept (see
 * shared/reference/mlflow.md section 3.5 and MLflow's SearchUtils). The SQL
 * produced never contains a value from the request: every literal becomes a
 * bound parameter ('?', or '$N' for PostgreSQL when asked), and every key
 * is bound too. Column and table names come only from fixed tables in search.c.
 *
 * Runs SQL refers to the outer table as `runs` (MLflow's table, columns
 * run_uuid, name, user_id, status, start_time, end_time, artifact_uri,
 * lifecycle_stage, experiment_id, ...); experiments SQL refers to
 * `experiments`. The store writes:
 *   SELECT ... FROM runs WHERE <store's own conditions> AND (<where>)
 *   ORDER BY <order>  LIMIT ? OFFSET ?
 * and binds its own parameters first, then `binds` in order (for SQLite the
 * store may instead bind by index with an offset). */
#ifndef CAIRN_SEARCH_H
#define CAIRN_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "../util/err.h"
#include "../util/sbuf.h"

typedef enum { SEARCH_SQLITE, SEARCH_POSTGRES } search_dialect;

typedef enum { SEARCH_BIND_TEXT, SEARCH_BIND_INT, SEARCH_BIND_DOUBLE } search_bind_type;

typedef struct search_bind {
    search_bind_type type;
    char *text; /* owned, for SEARCH_BIND_TEXT */
    int64_t i;
    double d;
} search_bind;

typedef struct search_sql {
    sbuf where;          /* a boolean SQL expression; "1=1" when the filter is empty */
    sbuf order;          /* ORDER BY list, always ending in MLflow's tie-breaks */
    search_bind *binds;  /* where's parameters, then order's, in textual order */
    size_t nbinds;
    /* Runs only. Set when the first order key is a metric that the filter
     * requires to exist and not be NaN: the query then walks that metric's
     * values in order (cairn_latest_metrics_value) and can stop at the
     * page's end. where and order name the alias `o`, so the caller must
     * select FROM SEARCH_RUNS_DRIVEN_FROM instead of FROM runs. */
    int driven;
} search_sql;

#define SEARCH_RUNS_DRIVEN_FROM "latest_metrics o JOIN runs ON runs.run_uuid = o.run_uuid"

/* filter may be NULL or empty. Errors are INVALID_PARAMETER_VALUE with
 * MLflow's messages; on error *out is already freed and zeroed. first_param
 * is the number of the first placeholder for SEARCH_POSTGRES ($first_param),
 * or 0 for '?' placeholders (the store's PostgreSQL driver numbers them
 * itself); ignored for SQLite. Callers rely on: SQLite connections having
 * PRAGMA case_sensitive_like=ON (MLflow's LIKE is case-sensitive), and, on
 * PostgreSQL, not wrapping the query in SELECT DISTINCT (ORDER BY uses
 * correlated subqueries). */
int search_runs_compile(const char *filter, const char **order_by, size_t norder_by,
                        search_dialect dialect, int first_param, search_sql *out, cerr *e);
int search_experiments_compile(const char *filter, const char **order_by, size_t norder_by,
                               search_dialect dialect, int first_param, search_sql *out,
                               cerr *e);
void search_sql_free(search_sql *s);

#endif
