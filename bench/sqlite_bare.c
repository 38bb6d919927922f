/* sqlite_bare.c - the limit the ingest benchmark chases: a bare C loop that
 * puts the rows of the ingest workload (1000 metrics per batch: 10 keys x
 * 100 steps) into MLflow's SQLite schema, with the server's pragmas (WAL,
 * synchronous=FULL), one transaction per batch, prepared statements reused.
 * No HTTP, no JSON, no validation, no threads.
 *
 * It prints three figures: metric rows alone, metric rows plus the
 * latest_metrics upsert once per key and batch (what MLflow's schema asks
 * of any writer that keeps latest_metrics right, and what Cairn's
 * log-batch does), and the same on the schema the server really writes:
 * MLflow's plus Cairn's own indexes (store_index_sql_at).
 *
 *   build/bench/sqlite_bare DIR SECONDS */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"

extern const char sqlite_schema_sql[]; /* src/store: MLflow 2.9.2's DDL */

static double bare_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bare_check(sqlite3 *db, int rc, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "sqlite_bare: %s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static void bare_exec(sqlite3 *db, const char *sql)
{
    bare_check(db, sqlite3_exec(db, sql, NULL, NULL, NULL), sql);
}

/* Rows per second for `seconds` of batches into run `run`. */
static double bare_loop(sqlite3 *db, const char *run, double seconds, int latest)
{
    sqlite3_stmt *ins, *up;
    bare_check(db,
               sqlite3_prepare_v2(db,
                                  "INSERT INTO metrics (key, value, timestamp, run_uuid, step, "
                                  "is_nan) VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT DO NOTHING",
                                  -1, &ins, NULL),
               "prepare insert");
    bare_check(db,
               sqlite3_prepare_v2(db,
                                  "INSERT INTO latest_metrics (key, value, timestamp, step, "
                                  "is_nan, run_uuid) VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT "
                                  "(key, run_uuid) DO UPDATE SET value = excluded.value, "
                                  "timestamp = excluded.timestamp, step = excluded.step",
                                  -1, &up, NULL),
               "prepare upsert");
    static const char *const keys[10] = {"m0", "m1", "m2", "m3", "m4",
                                         "m5", "m6", "m7", "m8", "m9"};
    long rows = 0, step = 0;
    double t0 = bare_now(), t;
    while ((t = bare_now()) - t0 < seconds) {
        bare_exec(db, "BEGIN IMMEDIATE");
        for (int s = 0; s < 100; s++, step++) {
            for (int k = 0; k < 10; k++) {
                sqlite3_bind_text(ins, 1, keys[k], -1, SQLITE_STATIC);
                sqlite3_bind_double(ins, 2, (double)step / (k + 1));
                sqlite3_bind_int64(ins, 3, 1700000000000L + step);
                sqlite3_bind_text(ins, 4, run, -1, SQLITE_STATIC);
                sqlite3_bind_int64(ins, 5, step);
                bare_check(db, sqlite3_step(ins), "insert");
                sqlite3_reset(ins);
            }
        }
        for (int k = 0; latest && k < 10; k++) {
            sqlite3_bind_text(up, 1, keys[k], -1, SQLITE_STATIC);
            sqlite3_bind_double(up, 2, (double)(step - 1) / (k + 1));
            sqlite3_bind_int64(up, 3, 1700000000000L + step - 1);
            sqlite3_bind_int64(up, 4, step - 1);
            sqlite3_bind_text(up, 5, run, -1, SQLITE_STATIC);
            bare_check(db, sqlite3_step(up), "upsert");
            sqlite3_reset(up);
        }
        bare_exec(db, "COMMIT");
        rows += 1000;
    }
    sqlite3_finalize(ins);
    sqlite3_finalize(up);
    return rows / (t - t0);
}

static sqlite3 *bare_open(const char *path, bool cairn_indexes);

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: sqlite_bare DIR SECONDS\n");
        return 2;
    }
    double secs = atof(argv[2]);
    char path[4096];
    snprintf(path, sizeof path, "%s/bare.db", argv[1]);
    sqlite3 *db = bare_open(path, false);
    printf("bare SQLite loop, MLflow's schema, 1000 metric rows per transaction: %.0f rows/s\n",
           bare_loop(db, "r1", secs, 0));
    printf("bare SQLite loop, MLflow's schema, + latest_metrics per key and batch: %.0f rows/s\n",
           bare_loop(db, "r2", secs, 1));
    sqlite3_close(db);
    db = bare_open(path, true);
    printf("bare SQLite loop, the server's schema (+ cairn_ indexes), the same: %.0f rows/s\n",
           bare_loop(db, "r2", secs, 1));
    sqlite3_close(db);
    remove(path);
    return 0;
}

static sqlite3 *bare_open(const char *path, bool cairn_indexes)
{
    remove(path);
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        exit(1);
    bare_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
                  "PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;");
    bare_exec(db, sqlite_schema_sql);
    const char *sql;
    for (size_t i = 0; cairn_indexes && (sql = store_index_sql_at(i)) != NULL; i++)
        bare_exec(db, sql);
    bare_exec(db, "INSERT INTO experiments (experiment_id, name, artifact_location, "
                  "lifecycle_stage, creation_time, last_update_time) "
                  "VALUES (1, 'bare', '/tmp', 'active', 0, 0);"
                  "INSERT INTO runs (run_uuid, name, experiment_id, user_id, status, start_time, "
                  "lifecycle_stage, artifact_uri) VALUES "
                  "('r1', 'r1', 1, 'u', 'RUNNING', 0, 'active', '/tmp'),"
                  "('r2', 'r2', 1, 'u', 'RUNNING', 0, 'active', '/tmp');");
    return db;
}
