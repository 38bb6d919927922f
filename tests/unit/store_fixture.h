/* store_fixture.h - shared by test_store.c and test_store_data.c: a store
 * on a temporary file per test, and small JSON and SQL helpers. Included by
 * exactly one translation unit per test binary. */
#ifndef CAIRN_TEST_STORE_FIXTURE_H
#define CAIRN_TEST_STORE_FIXTURE_H

#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"
#include "util/misc.h"

typedef struct fixture {
    char dir[64];
    char path[128];
    char uri[160];
    store *st;
} fixture;

static int fx_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/cairn-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/mlflow.db", f->dir);
    snprintf(f->uri, sizeof f->uri, "sqlite:///%s", f->path);
    cerr e;
    assert_int_equal(store_open(f->uri, "/artifacts/", &f->st, &e), 0);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fixture *f = *state;
    store_close(f->st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* ---- helpers ---- */

static inline void expect_err(int rc, const cerr *e, cerr_code code, const char *msg_prefix)
{
    assert_int_equal(rc, -1);
    assert_int_equal(e->code, code);
    if (strncmp(e->msg, msg_prefix, strlen(msg_prefix)) != 0)
        fail_msg("message '%s' does not start with '%s'", e->msg, msg_prefix);
}

/* obj["a"]["b"]... for a dotted path; NULL if any step is missing. */
static inline json_t *jget(json_t *obj, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *tok = strtok(buf, "."); tok && obj; tok = strtok(NULL, "."))
        obj = json_object_get(obj, tok);
    return obj;
}

static inline const char *jstr(json_t *obj, const char *path)
{
    return json_string_value(jget(obj, path));
}

static inline const char *kv_find(json_t *arr, const char *key)
{
    for (size_t i = 0; i < json_array_size(arr); i++)
        if (strcmp(jstr(json_array_get(arr, i), "key"), key) == 0)
            return jstr(json_array_get(arr, i), "value");
    return NULL;
}

static inline char *new_experiment(store *st, const char *name)
{
    char *id;
    cerr e;
    assert_int_equal(store_experiment_create(st, name, NULL, NULL, 0, &id, &e), 0);
    return id;
}

/* Creates a run and copies its id into run_id (33 bytes). */
static inline void new_run(store *st, const char *exp, int64_t start, char *run_id)
{
    store_run_create_req req = {.experiment_id = exp, .user_id = "alice", .start_time = start};
    json_t *run;
    cerr e;
    assert_int_equal(store_run_create(st, &req, &run, &e), 0);
    snprintf(run_id, 33, "%s", jstr(run, "info.run_id"));
    json_decref(run);
}

static inline int64_t count_rows(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

static inline void exec_sql(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* ---- open ---- */


#define FX(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)

#endif
