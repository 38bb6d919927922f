/* store_indexes.c - Cairn's own indexes on MLflow's schema.
 *
 * MLflow's schema has no index that serves a metric's history in step
 * order: its metrics primary key starts with the key (so it spans every
 * run), and index_metrics_run_uuid leaves the history to be sorted in
 * memory. cairn_metrics_history holds exactly the history's order, so a
 * history of any length streams straight off the index in constant memory,
 * resumes anywhere in O(log n) (keyset pages), and is what
 * get-history-bulk-interval samples. It costs each metric insert one more
 * B-tree insert (docs/BENCHMARKS.md has the price).
 *
 * Indexes on params and tags by (key, value) were tried for search filters
 * and dropped: every run created touches a random page of each, and run
 * creation paid about a fifth more for a search gain within the noise
 * (docs/DECISIONS.md).
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
    /* runs/search's metric filters (`metrics.k > v`, search_compile.c)
     * read one key's latest values as a range, run_uuid included, so the
     * table is never visited. */
    "CREATE INDEX IF NOT EXISTS cairn_latest_metrics_value "
    "ON latest_metrics (key, value, is_nan, run_uuid)",
};

const char *store_index_sql_at(size_t i)
{
    return i < sizeof store_index_sql / sizeof store_index_sql[0] ? store_index_sql[i] : NULL;
}

int store_indexes_create(db_conn *c, cerr *e)
{
    const char *sql;
    for (size_t i = 0; (sql = store_index_sql_at(i)) != NULL; i++)
        if (db_exec(c, sql, e) < 0)
            return -1;
    return 0;
}
