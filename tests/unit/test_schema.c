/* test_schema.c - the schema Cairn creates is exactly MLflow 2.9.2's.
 *
 * A store is opened on an empty temp file; a second database is made by
 * executing MLflow's own dump (tests/data/mlflow-2.9.2-sqlite.sql, or
 * $CAIRN_REF_DIR/mlflow-2.9.2-sqlite.sql or $CAIRN_REF_DIR/sqlite.sql). For
 * every table, PRAGMA table_info, index_list, index_info and
 * foreign_key_list must read the same in both. Then the reference database,
 * as MLflow would leave it, must open as a store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "reference_schema.h"
#include "store/store.h"
#include "util/sbuf.h"

static char tmpdir[64];

/* Append every row of a query, one line per row, columns separated by '|'. */
static void dump_query(sqlite3 *db, sbuf *out, const char *sql)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    while (sqlite3_step(s) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(s); i++) {
            const unsigned char *t = sqlite3_column_text(s, i);
            sbuf_printf(out, "%s%s", i ? "|" : "  ", t ? (const char *)t : "NULL");
        }
        sbuf_putc(out, '\n');
    }
    sqlite3_finalize(s);
}

/* Everything PRAGMA tells about one table (names come from sqlite_master,
 * and pragma arguments cannot be bound, hence the formatting). */
static char *dump_table(sqlite3 *db, const char *table)
{
    sbuf out = SBUF_INIT, q = SBUF_INIT;
    sbuf_printf(&out, "table %s\n", table);
    sbuf_printf(&q, "SELECT cid, name, type, \"notnull\", dflt_value, pk "
                    "FROM pragma_table_info('%s') ORDER BY cid", table);
    dump_query(db, &out, sbuf_str(&q));
    sbuf_reset(&q);
    sbuf_printf(&q, "SELECT id, seq, \"table\", \"from\", \"to\", on_update, on_delete, \"match\" "
                    "FROM pragma_foreign_key_list('%s') ORDER BY id, seq", table);
    dump_query(db, &out, sbuf_str(&q));
    sbuf_reset(&q);
    sbuf_printf(&q, "SELECT l.name, l.\"unique\", l.origin, l.partial, i.seqno, i.cid, i.name "
                    "FROM pragma_index_list('%s') l, pragma_index_info(l.name) i "
                    "WHERE l.name NOT LIKE 'cairn\\_%%' ESCAPE '\\' "
                    "ORDER BY l.name, i.seqno", table);
    dump_query(db, &out, sbuf_str(&q));
    sbuf_free(&q);
    return sbuf_detach(&out);
}

static char *dump_names(sqlite3 *db)
{
    sbuf out = SBUF_INIT;
    /* Cairn's own indexes (cairn_*) are checked apart: see below.
     * sqlite_sequence is SQLite's own, made for Cairn's AUTOINCREMENT
     * tables (cairn_users: user ids are never reused). */
    dump_query(db, &out, "SELECT type, name, tbl_name FROM sqlite_master "
                         "WHERE name NOT LIKE 'cairn\\_%' ESCAPE '\\' "
                         "AND tbl_name NOT LIKE 'cairn\\_%' ESCAPE '\\' "
                         "AND name <> 'sqlite_sequence' ORDER BY type, name");
    return sbuf_detach(&out);
}

static sqlite3 *open_db(const char *path)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    return db;
}

static void make_reference(const char *path)
{
    char *sql = reference_schema_sql();
    sqlite3 *db = open_db(path);
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("reference schema: %s", err);
    sqlite3_close(db);
    free(sql);
}

static void test_schema_matches_mlflow(void **state)
{
    (void)state;
    char ours[128], ref[128], uri[160];
    snprintf(ours, sizeof ours, "%s/cairn.db", tmpdir);
    snprintf(ref, sizeof ref, "%s/reference.db", tmpdir);
    snprintf(uri, sizeof uri, "sqlite:///%s", ours);
    store *st;
    cerr e;
    assert_int_equal(store_open(uri, "/root", &st, &e), 0);
    store_close(st);
    make_reference(ref);

    sqlite3 *a = open_db(ours), *b = open_db(ref);
    char *na = dump_names(a), *nb = dump_names(b);
    assert_string_equal(na, nb);
    free(na);
    free(nb);

    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(b,
                                        "SELECT name FROM sqlite_master WHERE type = 'table' "
                                        "ORDER BY name",
                                        -1, &s, NULL),
                     SQLITE_OK);
    int ntables = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(s, 0);
        char *da = dump_table(a, t), *db = dump_table(b, t);
        assert_string_equal(da, db);
        assert_non_null(strstr(da, "\n  0|")); /* the table has columns */
        free(da);
        free(db);
        ntables++;
    }
    sqlite3_finalize(s);
    assert_int_equal(ntables, 16);

    sbuf rows = SBUF_INIT;
    dump_query(a, &rows, "SELECT version_num FROM alembic_version");
    dump_query(a, &rows, "SELECT experiment_id, name, artifact_location, lifecycle_stage, "
                         "creation_time = last_update_time FROM experiments");
    dump_query(a, &rows, "PRAGMA journal_mode");
    assert_string_equal(sbuf_str(&rows), "  acf3f17fdcc7\n  0|Default|/root/0|active|1\n  wal\n");
    /* Beyond MLflow's schema: exactly Cairn's indexes, and nothing
     * that could clash with a name MLflow may use one day. */
    sbuf_reset(&rows);
    dump_query(a, &rows, "SELECT m.name, i.name FROM sqlite_master m, pragma_index_info(m.name) i "
                         "WHERE m.name LIKE 'cairn\\_%' ESCAPE '\\' ORDER BY m.name, i.seqno");
    assert_string_equal(sbuf_str(&rows),
                        "  cairn_experiment_permissions_user|user_id\n"
                        "  cairn_jobs_state|state\n"
                        "  cairn_jobs_submit|submit_time\n  cairn_jobs_submit|job_id\n"
                        "  cairn_latest_metrics_value|key\n  cairn_latest_metrics_value|value\n"
                        "  cairn_latest_metrics_value|is_nan\n"
                        "  cairn_latest_metrics_value|run_uuid\n"
                        "  cairn_metrics_history|run_uuid\n  cairn_metrics_history|key\n"
                        "  cairn_metrics_history|step\n  cairn_metrics_history|timestamp\n"
                        "  cairn_metrics_history|value\n  cairn_metrics_history|is_nan\n"
                        "  cairn_refresh_tokens_user|user_id\n"
                        "  cairn_registered_model_permissions_user|user_id\n"
                        "  cairn_runs_experiment|experiment_id\n"
                        "  cairn_runs_experiment|lifecycle_stage\n");
    /* ... and Cairn's own tables: cairn_jobs (store_jobs.c) and the auth
     * tables (store_auth.c). */
    sbuf_reset(&rows);
    dump_query(a, &rows, "SELECT type, name, tbl_name FROM sqlite_master "
                         "WHERE tbl_name LIKE 'cairn\\_%' ESCAPE '\\' ORDER BY type, name");
    assert_string_equal(
        sbuf_str(&rows),
        "  index|cairn_experiment_permissions_user|cairn_experiment_permissions\n"
        "  index|cairn_jobs_state|cairn_jobs\n"
        "  index|cairn_jobs_submit|cairn_jobs\n"
        "  index|cairn_refresh_tokens_user|cairn_refresh_tokens\n"
        "  index|cairn_registered_model_permissions_user|cairn_registered_model_permissions\n"
        "  index|sqlite_autoindex_cairn_experiment_permissions_1|cairn_experiment_permissions\n"
        "  index|sqlite_autoindex_cairn_jobs_1|cairn_jobs\n"
        "  index|sqlite_autoindex_cairn_refresh_tokens_1|cairn_refresh_tokens\n"
        "  index|sqlite_autoindex_cairn_registered_model_permissions_1|"
        "cairn_registered_model_permissions\n"
        "  index|sqlite_autoindex_cairn_users_1|cairn_users\n"
        "  table|cairn_experiment_permissions|cairn_experiment_permissions\n"
        "  table|cairn_jobs|cairn_jobs\n"
        "  table|cairn_refresh_tokens|cairn_refresh_tokens\n"
        "  table|cairn_registered_model_permissions|cairn_registered_model_permissions\n"
        "  table|cairn_users|cairn_users\n");
    sbuf_free(&rows);
    sqlite3_close(a);
    sqlite3_close(b);
}

/* A database MLflow created (its DDL, its alembic row, no experiment yet)
 * is served in place, and gets MLflow's experiment 0. */
static void test_mlflow_database_opens(void **state)
{
    (void)state;
    char path[128], uri[160];
    snprintf(path, sizeof path, "%s/mlflow.db", tmpdir);
    snprintf(uri, sizeof uri, "sqlite:///%s", path);
    make_reference(path);
    sqlite3 *db = open_db(path);
    assert_int_equal(sqlite3_exec(db, "INSERT INTO alembic_version VALUES ('acf3f17fdcc7')", NULL,
                                  NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    store *st;
    cerr e;
    assert_int_equal(store_open(uri, "mlflow-artifacts:/", &st, &e), 0);
    json_t *x;
    assert_int_equal(store_experiment_get(st, "0", &x, &e), 0);
    assert_string_equal(json_string_value(json_object_get(x, "artifact_location")),
                        "mlflow-artifacts:/0");
    json_decref(x);
    store_close(st);
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cairn-schema-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_matches_mlflow),
        cmocka_unit_test(test_mlflow_database_opens),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
