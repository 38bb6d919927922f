/* store_indexes.c - Cairn's own indexes on MLflow's schema.
 *
 * MLflow's schema has no index that serves a metric's history in step
 * order: its metrics primary key starts with the key (so it spans every
 * run), and index_metrics_run_uuid leaves the history to be sorted in
 * memory. cairn_metrics_history holds exactly the history's order, so a
 * history of any length streams straight off the index in constant memory,
 * resumes anywhere in O(log n) (keyset pages), and is what
 * get-history-bulk-interval samples. It costs each metric insert one more
 * B-tree insert (docs/BENCHMARKS.md has the price). The search indexes
 * below sit on tables written far less often.
 *
 * The names start with cairn_ so they are never mistaken for MLflow's;
 * MLflow ignores indexes it does not know, so a database stays MLflow's.
 * Created with IF NOT EXISTS when a store opens, so a database MLflow wrote
 * gets them on first use. */
#include "store_int.h"

static const char *const store_index_sql[] = {
    "CREATE INDEX IF NOT EXISTS cairn_metrics_history "
    "ON metrics (run_uuid, key, step, timestamp, value, is_nan)",
    /* runs/search: the runs of the experiments asked for, not all runs. */
    "CREATE INDEX IF NOT EXISTS cairn_runs_experiment ON runs (experiment_id, lifecycle_stage)",
    /* runs/search filters (search_compile.c): `metrics.k > v`,
     * `params.k = v`, `tags.k LIKE v` read one key's rows by value, and
     * carry run_uuid so the table itself is never visited. */
    "CREATE INDEX IF NOT EXISTS cairn_latest_metrics_value "
    "ON latest_metrics (key, value, is_nan, run_uuid)",
};

/* SQLite only: PostgreSQL's B-tree refuses an entry over about 2.7 kB, and
 * param and tag values may be 6000 and 5000 characters; its planner joins
 * the IN subqueries by hash anyway. */
static const char *const store_index_sqlite_sql[] = {
    "CREATE INDEX IF NOT EXISTS cairn_params_value ON params (key, value, run_uuid)",
    "CREATE INDEX IF NOT EXISTS cairn_tags_value ON tags (key, value, run_uuid)",
};

int store_indexes_create(db_conn *c, cerr *e)
{
    for (size_t i = 0; i < sizeof store_index_sql / sizeof store_index_sql[0]; i++)
        if (db_exec(c, store_index_sql[i], e) < 0)
            return -1;
    if (db_conn_kind(c) != DB_SQLITE)
        return 0;
    for (size_t i = 0; i < sizeof store_index_sqlite_sql / sizeof store_index_sqlite_sql[0]; i++)
        if (db_exec(c, store_index_sqlite_sql[i], e) < 0)
            return -1;
    return 0;
}
