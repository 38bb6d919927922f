/* test_store.c - the SQLite metadata store (store.h) against a temp file:
 * every function's success and error paths, MLflow's messages, NaN/inf,
 * the latest_metrics rule, pagination, concurrent writers (group commit),
 * reopening, and refusal of foreign schema revisions. */
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

static void expect_err(int rc, const cerr *e, cerr_code code, const char *msg_prefix)
{
    assert_int_equal(rc, -1);
    assert_int_equal(e->code, code);
    if (strncmp(e->msg, msg_prefix, strlen(msg_prefix)) != 0)
        fail_msg("message '%s' does not start with '%s'", e->msg, msg_prefix);
}

/* obj["a"]["b"]... for a dotted path; NULL if any step is missing. */
static json_t *jget(json_t *obj, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *tok = strtok(buf, "."); tok && obj; tok = strtok(NULL, "."))
        obj = json_object_get(obj, tok);
    return obj;
}

static const char *jstr(json_t *obj, const char *path)
{
    return json_string_value(jget(obj, path));
}

static const char *kv_find(json_t *arr, const char *key)
{
    for (size_t i = 0; i < json_array_size(arr); i++)
        if (strcmp(jstr(json_array_get(arr, i), "key"), key) == 0)
            return jstr(json_array_get(arr, i), "value");
    return NULL;
}

static char *new_experiment(store *st, const char *name)
{
    char *id;
    cerr e;
    assert_int_equal(store_experiment_create(st, name, NULL, NULL, 0, &id, &e), 0);
    return id;
}

/* Creates a run and copies its id into run_id (33 bytes). */
static void new_run(store *st, const char *exp, int64_t start, char *run_id)
{
    store_run_create_req req = {.experiment_id = exp, .user_id = "alice", .start_time = start};
    json_t *run;
    cerr e;
    assert_int_equal(store_run_create(st, &req, &run, &e), 0);
    snprintf(run_id, 33, "%s", jstr(run, "info.run_id"));
    json_decref(run);
}

static int64_t count_rows(const char *path, const char *sql)
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

static void exec_sql(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* ---- open ---- */

static void test_open_default_experiment(void **state)
{
    fixture *f = *state;
    json_t *x;
    cerr e;
    assert_int_equal(store_experiment_get(f->st, "0", &x, &e), 0);
    assert_string_equal(jstr(x, "experiment_id"), "0");
    assert_string_equal(jstr(x, "name"), "Default");
    assert_string_equal(jstr(x, "lifecycle_stage"), "active");
    assert_string_equal(jstr(x, "artifact_location"), "/artifacts/0"); /* no "//" */
    assert_true(json_integer_value(jget(x, "creation_time")) > 0);
    assert_int_equal(json_integer_value(jget(x, "creation_time")),
                     json_integer_value(jget(x, "last_update_time")));
    assert_null(jget(x, "tags"));
    json_decref(x);
    /* MLflow's _get_experiment: no id means the default experiment. */
    assert_int_equal(store_experiment_get(f->st, "", &x, &e), 0);
    assert_string_equal(jstr(x, "name"), "Default");
    json_decref(x);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM alembic_version "
                                         "WHERE version_num = 'acf3f17fdcc7'"),
                     1);
}

static void test_open_bad_uris(void **state)
{
    (void)state;
    store *st;
    cerr e;
    expect_err(store_open("sqlite:///:memory:", "/a", &st, &e), &e, CERR_INVALID_PARAMETER_VALUE,
               "an in-memory");
    expect_err(store_open("sqlite://", "/a", &st, &e), &e, CERR_INVALID_PARAMETER_VALUE,
               "an in-memory");
    expect_err(store_open("postgresql://u@h/db", "/a", &st, &e), &e, CERR_NOT_IMPLEMENTED, "");
    expect_err(store_open("mysql://x", "/a", &st, &e), &e, CERR_INVALID_PARAMETER_VALUE,
               "unsupported backend store URI");
    expect_err(store_open("sqlite:////nonexistent-dir/x/y.db", "/a", &st, &e), &e,
               CERR_INTERNAL_ERROR, "cannot open");
    assert_null(st);
}

static void test_reopen_keeps_data(void **state)
{
    fixture *f = *state;
    char *exp = new_experiment(f->st, "persist");
    char run_id[33];
    new_run(f->st, exp, 1000, run_id);
    store_metric m = {"loss", 0.5, 10, 1};
    store_kv p = {"lr", "0.1"};
    cerr e;
    assert_int_equal(store_run_log_batch(f->st, run_id, &m, 1, &p, 1, NULL, 0, &e), 0);
    store_close(f->st);
    assert_int_equal(store_open(f->uri, "/other-root", &f->st, &e), 0);
    json_t *run;
    assert_int_equal(store_run_get(f->st, run_id, &run, &e), 0);
    assert_string_equal(kv_find(jget(run, "data.params"), "lr"), "0.1");
    assert_true(json_real_value(jget(json_array_get(jget(run, "data.metrics"), 0), "value")) == 0.5);
    json_decref(run);
    json_t *x;
    assert_int_equal(store_experiment_get(f->st, "0", &x, &e), 0);
    assert_string_equal(jstr(x, "artifact_location"), "/artifacts/0"); /* not re-created */
    json_decref(x);
    free(exp);
}

static void test_refuse_foreign_databases(void **state)
{
    fixture *f = *state;
    store *st = NULL;
    cerr e;
    store_close(f->st);
    f->st = NULL;
    exec_sql(f->path, "UPDATE alembic_version SET version_num = '0584bdc529eb'");
    expect_err(store_open(f->uri, "/a", &st, &e), &e, CERR_INVALID_STATE,
               "database schema revision 0584bdc529eb is not supported; Cairn serves MLflow "
               "2.9.2 databases (acf3f17fdcc7)");
    exec_sql(f->path, "DELETE FROM alembic_version");
    expect_err(store_open(f->uri, "/a", &st, &e), &e, CERR_INVALID_STATE,
               "database schema revision (none)");

    char other[160], uri[200];
    snprintf(other, sizeof other, "%s/other.db", f->dir);
    exec_sql(other, "CREATE TABLE foo (x)");
    snprintf(uri, sizeof uri, "sqlite:///%s", other);
    expect_err(store_open(uri, "/a", &st, &e), &e, CERR_INVALID_STATE,
               "database is not empty but has no alembic_version table");

    snprintf(other, sizeof other, "%s/garbage.db", f->dir);
    FILE *fp = fopen(other, "w");
    fputs("this is not a database, not at all; it is only a text file of some length\n", fp);
    fclose(fp);
    snprintf(uri, sizeof uri, "sqlite:///%s", other);
    assert_int_equal(store_open(uri, "/a", &st, &e), -1);
    assert_null(st);
    /* The fixture re-opens for teardown. */
    exec_sql(f->path, "INSERT INTO alembic_version VALUES ('acf3f17fdcc7')");
    assert_int_equal(store_open(f->uri, "/a", &f->st, &e), 0);
}

/* ---- experiments ---- */

static void test_experiment_create_get(void **state)
{
    fixture *f = *state;
    store_kv tags[] = {{"team", "vision"}, {"owner", "bob"}};
    char *id;
    cerr e;
    assert_int_equal(store_experiment_create(f->st, "exp-a", NULL, tags, 2, &id, &e), 0);
    assert_string_equal(id, "1");
    json_t *x;
    assert_int_equal(store_experiment_get(f->st, id, &x, &e), 0);
    assert_string_equal(jstr(x, "name"), "exp-a");
    assert_string_equal(jstr(x, "artifact_location"), "/artifacts/1");
    assert_string_equal(kv_find(jget(x, "tags"), "team"), "vision");
    assert_string_equal(kv_find(jget(x, "tags"), "owner"), "bob");
    json_decref(x);
    free(id);

    assert_int_equal(store_experiment_create(f->st, "exp-b", "s3://b/x", NULL, 0, &id, &e), 0);
    assert_string_equal(id, "2");
    assert_int_equal(store_experiment_get_by_name(f->st, "exp-b", &x, &e), 0);
    assert_string_equal(jstr(x, "artifact_location"), "s3://b/x");
    assert_string_equal(jstr(x, "experiment_id"), "2");
    json_decref(x);
    free(id);

    expect_err(store_experiment_create(f->st, "exp-a", NULL, NULL, 0, &id, &e), &e,
               CERR_RESOURCE_ALREADY_EXISTS, "Experiment(name=exp-a) already exists. Error: ");
    assert_null(id);
    expect_err(store_experiment_create(f->st, "", NULL, NULL, 0, &id, &e), &e,
               CERR_INVALID_PARAMETER_VALUE, "Invalid experiment name");
    expect_err(store_experiment_get(f->st, "999", &x, &e), &e, CERR_RESOURCE_DOES_NOT_EXIST,
               "No Experiment with id=999 exists");
    expect_err(store_experiment_get(f->st, "abc", &x, &e), &e, CERR_RESOURCE_DOES_NOT_EXIST,
               "No Experiment with id=abc exists");
    expect_err(store_experiment_get(f->st, "1; DROP TABLE runs", &x, &e), &e,
               CERR_RESOURCE_DOES_NOT_EXIST, "No Experiment with id=1; DROP");
    expect_err(store_experiment_get(f->st, "99999999999999999999999", &x, &e), &e,
               CERR_RESOURCE_DOES_NOT_EXIST, "No Experiment with id=");
    expect_err(store_experiment_get_by_name(f->st, "nope", &x, &e), &e,
               CERR_RESOURCE_DOES_NOT_EXIST, "Could not find experiment with name 'nope'");
    assert_null(x);
}

static void test_experiment_rename(void **state)
{
    fixture *f = *state;
    char *a = new_experiment(f->st, "a"), *b = new_experiment(f->st, "b");
    cerr e;
    json_t *x;
    assert_int_equal(store_experiment_get(f->st, a, &x, &e), 0);
    json_int_t before = json_integer_value(jget(x, "last_update_time"));
    json_decref(x);
    usleep(2000);
    assert_int_equal(store_experiment_rename(f->st, a, "a2", &e), 0);
    assert_int_equal(store_experiment_get(f->st, a, &x, &e), 0);
    assert_string_equal(jstr(x, "name"), "a2");
    assert_true(json_integer_value(jget(x, "last_update_time")) > before);
    json_decref(x);
    assert_int_equal(store_experiment_rename(f->st, a, "a2", &e), 0); /* same name is fine */
    expect_err(store_experiment_rename(f->st, a, "b", &e), &e, CERR_RESOURCE_ALREADY_EXISTS,
               "Experiment(name=b) already exists");
    expect_err(store_experiment_rename(f->st, "42", "z", &e), &e, CERR_RESOURCE_DOES_NOT_EXIST,
               "No Experiment with id=42 exists");
    assert_int_equal(store_experiment_delete(f->st, b, &e), 0);
    expect_err(store_experiment_rename(f->st, b, "z", &e), &e, CERR_INVALID_STATE,
               "Cannot rename a non-active experiment.");
    free(a);
    free(b);
}

static void test_experiment_delete_restore(void **state)
{
    fixture *f = *state;
    char *x = new_experiment(f->st, "x");
    char r1[33], r2[33];
    new_run(f->st, x, 1, r1);
    new_run(f->st, x, 2, r2);
    cerr e;
    assert_int_equal(store_experiment_delete(f->st, x, &e), 0);
    json_t *j;
    assert_int_equal(store_experiment_get(f->st, x, &j, &e), 0); /* get sees all views */
    assert_string_equal(jstr(j, "lifecycle_stage"), "deleted");
    json_decref(j);
    assert_int_equal(store_run_get(f->st, r1, &j, &e), 0);
    assert_string_equal(jstr(j, "info.lifecycle_stage"), "deleted");
    json_decref(j);
    expect_err(store_experiment_delete(f->st, x, &e), &e, CERR_RESOURCE_DOES_NOT_EXIST,
               "No Experiment with id=1 exists");
    expect_err(store_experiment_tag_set(f->st, x, "k", "v", &e), &e,
               CERR_INVALID_PARAMETER_VALUE,
               "The experiment 1 must be in the 'active' state. Current state is deleted.");
    store_run_create_req req = {.experiment_id = x};
    expect_err(store_run_create(f->st, &req, &j, &e), &e, CERR_INVALID_PARAMETER_VALUE,
               "The experiment 1 must be in the 'active' state. Current state is deleted.");
    assert_null(j);

    assert_int_equal(store_experiment_restore(f->st, x, &e), 0);
    assert_int_equal(store_run_get(f->st, r2, &j, &e), 0);
    assert_string_equal(jstr(j, "info.lifecycle_stage"), "active");
    json_decref(j);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM runs WHERE deleted_time IS NULL"),
                     2);
    expect_err(store_experiment_restore(f->st, x, &e), &e, CERR_RESOURCE_DOES_NOT_EXIST,
               "No Experiment with id=1 exists");
    expect_err(store_experiment_delete(f->st, "nope", &e), &e, CERR_RESOURCE_DOES_NOT_EXIST,
               "No Experiment with id=nope exists");
    free(x);
}

static void test_experiment_tags(void **state)
{
    fixture *f = *state;
    cerr e;
    json_t *x;
    assert_int_equal(store_experiment_tag_set(f->st, "0", "k", "v1", &e), 0);
    assert_int_equal(store_experiment_tag_set(f->st, "0", "k", "v2", &e), 0);
    assert_int_equal(store_experiment_get(f->st, "0", &x, &e), 0);
    assert_int_equal(json_array_size(jget(x, "tags")), 1);
    assert_string_equal(kv_find(jget(x, "tags"), "k"), "v2");
    json_decref(x);
    expect_err(store_experiment_tag_set(f->st, "77", "k", "v", &e), &e,
               CERR_RESOURCE_DOES_NOT_EXIST, "No Experiment with id=77 exists");
}

static void test_experiment_search(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 7; i++) {
        char name[16];
        snprintf(name, sizeof name, "e%d", i);
        free(new_experiment(f->st, name));
    }
    cerr e;
    assert_int_equal(store_experiment_delete(f->st, "3", &e), 0);
    assert_int_equal(store_experiment_tag_set(f->st, "2", "t", "v", &e), 0);
    store_search q = {.view = VIEW_ACTIVE_ONLY, .max_results = 3};
    json_t *page;
    char *token;
    size_t total = 0;
    int pages = 0;
    do {
        assert_int_equal(store_experiment_search(f->st, &q, &page, &token, &e), 0);
        total += json_array_size(page);
        for (size_t i = 0; i < json_array_size(page); i++) {
            json_t *x = json_array_get(page, i);
            assert_string_equal(jstr(x, "lifecycle_stage"), "active");
            if (strcmp(jstr(x, "experiment_id"), "2") == 0)
                assert_string_equal(kv_find(jget(x, "tags"), "t"), "v");
        }
        json_decref(page);
        free((char *)q.page_token);
        q.page_token = token;
        pages++;
    } while (token);
    assert_int_equal(total, 7); /* 8 experiments, one deleted */
    assert_int_equal(pages, 3);
    q.view = VIEW_DELETED_ONLY;
    assert_int_equal(store_experiment_search(f->st, &q, &page, &token, &e), 0);
    assert_int_equal(json_array_size(page), 1);
    assert_null(token);
    json_decref(page);
    q.view = VIEW_ALL;
    q.max_results = 8; /* exactly all: no next page */
    assert_int_equal(store_experiment_search(f->st, &q, &page, &token, &e), 0);
    assert_int_equal(json_array_size(page), 8);
    assert_null(token);
    json_decref(page);
    const char *order[] = {"name DESC"};
    store_search qf = {.view = VIEW_ALL, .max_results = 10, .filter = "name LIKE 'e%'",
                       .order_by = order, .norder_by = 1};
    assert_int_equal(store_experiment_search(f->st, &qf, &page, &token, &e), 0);
    assert_int_equal(json_array_size(page), 7);
    assert_string_equal(jstr(json_array_get(page, 0), "name"), "e6");
    json_decref(page);
    qf.filter = "name LIKE 'E%'"; /* LIKE is case-sensitive, as in MLflow */
    assert_int_equal(store_experiment_search(f->st, &qf, &page, &token, &e), 0);
    assert_int_equal(json_array_size(page), 0);
    json_decref(page);
    qf.filter = "name ILIKE 'E%'";
    assert_int_equal(store_experiment_search(f->st, &qf, &page, &token, &e), 0);
    assert_int_equal(json_array_size(page), 7);
    json_decref(page);
    q.page_token = "%%%";
    expect_err(store_experiment_search(f->st, &q, &page, &token, &e), &e,
               CERR_INVALID_PARAMETER_VALUE, "Invalid page token");
}

/* ---- runs ---- */

static void test_run_create(void **state)
{
    fixture *f = *state;
    cerr e;
    json_t *run;
    store_kv tags[] = {{"mlflow.user", "alice"}};
    store_run_create_req req = {.start_time = 123, .tags = tags, .ntags = 1};
    assert_int_equal(store_run_create(f->st, &req, &run, &e), 0);
    const char *id = jstr(run, "info.run_id");
    assert_int_equal(strlen(id), 32);
    assert_string_equal(jstr(run, "info.run_uuid"), id);
    assert_string_equal(jstr(run, "info.experiment_id"), "0");
    assert_string_equal(jstr(run, "info.status"), "RUNNING");
    assert_string_equal(jstr(run, "info.lifecycle_stage"), "active");
    assert_int_equal(json_integer_value(jget(run, "info.start_time")), 123);
    assert_null(jget(run, "info.end_time"));
    assert_string_equal(jstr(run, "info.user_id"), ""); /* MLflow always returns user_id */
    char uri[128];
    snprintf(uri, sizeof uri, "/artifacts/0/%s/artifacts", id);
    assert_string_equal(jstr(run, "info.artifact_uri"), uri);
    /* generated "adjective-animal-NNN", also stored as the mlflow.runName tag */
    const char *name = jstr(run, "info.run_name");
    assert_non_null(strchr(name, '-'));
    assert_non_null(strchr(strchr(name, '-') + 1, '-'));
    assert_string_equal(kv_find(jget(run, "data.tags"), "mlflow.runName"), name);
    assert_string_equal(kv_find(jget(run, "data.tags"), "mlflow.user"), "alice");
    assert_null(jget(run, "data.params"));
    assert_null(jget(run, "data.metrics"));
    assert_true(json_is_object(jget(run, "inputs")));
    assert_int_equal(json_object_size(jget(run, "inputs")), 0);
    char *uri_out;
    assert_int_equal(store_run_artifact_uri(f->st, id, &uri_out, &e), 0);
    assert_string_equal(uri_out, uri);
    free(uri_out);
    json_decref(run);

    req.run_name = "named";
    req.user_id = "bob";
    assert_int_equal(store_run_create(f->st, &req, &run, &e), 0);
    assert_string_equal(jstr(run, "info.run_name"), "named");
    assert_string_equal(jstr(run, "info.user_id"), "bob");
    assert_string_equal(kv_find(jget(run, "data.tags"), "mlflow.runName"), "named");
    json_decref(run);

    store_kv name_tag[] = {{"mlflow.runName", "from-tag"}};
    store_run_create_req req2 = {.experiment_id = "0", .tags = name_tag, .ntags = 1};
    assert_int_equal(store_run_create(f->st, &req2, &run, &e), 0);
    assert_string_equal(jstr(run, "info.run_name"), "from-tag");
    assert_int_equal(json_array_size(jget(run, "data.tags")), 1);
    json_decref(run);
    req2.run_name = "other";
    expect_err(store_run_create(f->st, &req2, &run, &e), &e, CERR_INVALID_PARAMETER_VALUE,
               "Both 'run_name' argument and 'mlflow.runName' tag are specified");
    req2.experiment_id = "31";
    req2.run_name = NULL;
    expect_err(store_run_create(f->st, &req2, &run, &e), &e, CERR_RESOURCE_DOES_NOT_EXIST,
               "No Experiment with id=31 exists");
    req2.experiment_id = "x1";
    expect_err(store_run_create(f->st, &req2, &run, &e), &e, CERR_RESOURCE_DOES_NOT_EXIST,
               "No Experiment with id=x1 exists");
}

static void test_run_get_update(void **state)
{
    fixture *f = *state;
    cerr e;
    json_t *j;
    char id[33];
    new_run(f->st, "0", 5, id);
    expect_err(store_run_get(f->st, "0123456789abcdef0123456789abcdef", &j, &e), &e,
               CERR_RESOURCE_DOES_NOT_EXIST, "Run with id=0123456789abcdef0123456789abcdef not found");
    assert_null(j);
    char *uri;
    expect_err(store_run_artifact_uri(f->st, "nope", &uri, &e), &e, CERR_RESOURCE_DOES_NOT_EXIST,
               "Run with id=nope not found");

    int64_t end = 999;
    assert_int_equal(store_run_update(f->st, id, "FINISHED", &end, "renamed", &j, &e), 0);
    assert_string_equal(jstr(j, "status"), "FINISHED");
    assert_int_equal(json_integer_value(jget(j, "end_time")), 999);
    assert_string_equal(jstr(j, "run_name"), "renamed");
    assert_string_equal(jstr(j, "run_id"), id);
    json_decref(j);
    assert_int_equal(store_run_update(f->st, id, NULL, NULL, NULL, &j, &e), 0); /* no change */
    assert_string_equal(jstr(j, "status"), "FINISHED");
    assert_int_equal(json_integer_value(jget(j, "end_time")), 999);
    json_decref(j);
    assert_int_equal(store_run_get(f->st, id, &j, &e), 0);
    assert_string_equal(kv_find(jget(j, "data.tags"), "mlflow.runName"), "renamed");
    json_decref(j);
    expect_err(store_run_update(f->st, id, "DONE", NULL, NULL, &j, &e), &e,
               CERR_INVALID_PARAMETER_VALUE, "Invalid run status");
    expect_err(store_run_update(f->st, "nope", "FAILED", NULL, NULL, &j, &e), &e,
               CERR_RESOURCE_DOES_NOT_EXIST, "Run with id=nope not found");
    assert_null(j);
}

static void test_run_delete_restore(void **state)
{
    fixture *f = *state;
    cerr e;
    json_t *j;
    char id[33], msg[200];
    new_run(f->st, "0", 5, id);
    assert_int_equal(store_run_delete(f->st, id, &e), 0);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM runs WHERE deleted_time > 0 AND "
                                         "lifecycle_stage = 'deleted'"),
                     1);
    snprintf(msg, sizeof msg,
             "The run %s must be in the 'active' state. Current state is deleted.", id);
    store_metric m = {"a", 1, 1, 1};
    expect_err(store_run_log_batch(f->st, id, &m, 1, NULL, 0, NULL, 0, &e), &e,
               CERR_INVALID_PARAMETER_VALUE, msg);
    expect_err(store_run_update(f->st, id, "FAILED", NULL, NULL, &j, &e), &e,
               CERR_INVALID_PARAMETER_VALUE, msg);
    expect_err(store_run_tag_delete(f->st, id, "mlflow.runName", &e), &e,
               CERR_INVALID_PARAMETER_VALUE, msg);
    store_dataset_input in = {"d", "1", "local", "/x", NULL, NULL, NULL, 0};
    expect_err(store_run_log_inputs(f->st, id, &in, 1, &e), &e, CERR_INVALID_PARAMETER_VALUE,
               msg);
    assert_int_equal(store_run_delete(f->st, id, &e), 0); /* MLflow allows it again */
    assert_int_equal(store_run_restore(f->st, id, &e), 0);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM runs WHERE deleted_time IS NULL "
                                         "AND lifecycle_stage = 'active'"),
                     1);
    expect_err(store_run_delete(f->st, "nope", &e), &e, CERR_RESOURCE_DOES_NOT_EXIST,
               "Run with id=nope not found");
    expect_err(store_run_restore(f->st, "nope", &e), &e, CERR_RESOURCE_DOES_NOT_EXIST,
               "Run with id=nope not found");
}

/* ---- logging ---- */

static void test_log_batch_params(void **state)
{
    fixture *f = *state;
    cerr e;
    char id[33];
    new_run(f->st, "0", 1, id);
    store_kv p[] = {{"lr", "0.1"}, {"layers", "3"}};
    assert_int_equal(store_run_log_batch(f->st, id, NULL, 0, p, 2, NULL, 0, &e), 0);
    assert_int_equal(store_run_log_batch(f->st, id, NULL, 0, p, 1, NULL, 0, &e), 0); /* same */
    store_kv changed = {"lr", "0.2"};
    store_metric m = {"never", 1, 1, 1};
    store_kv t = {"never", "x"};
    char msg[300];
    snprintf(msg, sizeof msg,
             "Changing param values is not allowed. Param with key='lr' was already logged "
             "with value='0.1' for run ID='%s'. Attempted logging new value '0.2'.",
             id);
    expect_err(store_run_log_batch(f->st, id, &m, 1, &changed, 1, &t, 1, &e), &e,
               CERR_INVALID_PARAMETER_VALUE, msg);
    assert_string_equal(e.msg, msg);
    /* all or nothing: the metric and tag of the failed batch are not there */
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM metrics"), 0);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM tags WHERE key = 'never'"), 0);
    expect_err(store_run_log_batch(f->st, "nope", NULL, 0, p, 1, NULL, 0, &e), &e,
               CERR_RESOURCE_DOES_NOT_EXIST, "Run with id=nope not found");
    json_t *run;
    assert_int_equal(store_run_get(f->st, id, &run, &e), 0);
    assert_int_equal(json_array_size(jget(run, "data.params")), 2);
    assert_string_equal(kv_find(jget(run, "data.params"), "layers"), "3");
    json_decref(run);
}

static void test_metrics_nan_inf(void **state)
{
    fixture *f = *state;
    cerr e;
    char id[33];
    new_run(f->st, "0", 1, id);
    store_metric m[] = {{"x", NAN, 1, 0}, {"x", INFINITY, 2, 1}, {"x", -INFINITY, 3, 2}};
    assert_int_equal(store_run_log_batch(f->st, id, m, 3, NULL, 0, NULL, 0, &e), 0);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM metrics WHERE is_nan = 1 AND "
                                         "value = 0"),
                     1);
    json_t *h;
    char *token;
    assert_int_equal(store_metric_history(f->st, id, "x", 0, NULL, &h, &token, &e), 0);
    assert_null(token);
    assert_int_equal(json_array_size(h), 3);
    assert_string_equal(jstr(json_array_get(h, 0), "value"), "NaN");
    assert_true(json_real_value(jget(json_array_get(h, 1), "value")) == 1.7976931348623157e308);
    assert_true(json_real_value(jget(json_array_get(h, 2), "value")) == -1.7976931348623157e308);
    char *text = json_dumps(h, 0); /* encodable: no raw NaN inside */
    assert_non_null(text);
    assert_non_null(strstr(text, "\"NaN\""));
    free(text);
    json_decref(h);
    json_t *run;
    assert_int_equal(store_run_get(f->st, id, &run, &e), 0); /* latest: step 2 */
    json_t *lm = json_array_get(jget(run, "data.metrics"), 0);
    assert_true(json_real_value(jget(lm, "value")) == -1.7976931348623157e308);
    assert_int_equal(json_integer_value(jget(lm, "step")), 2);
    json_decref(run);
}

static double latest(store *st, const char *id, const char *key, int64_t *step)
{
    json_t *run;
    cerr e;
    assert_int_equal(store_run_get(st, id, &run, &e), 0);
    json_t *ms = jget(run, "data.metrics");
    double v = NAN;
    for (size_t i = 0; i < json_array_size(ms); i++) {
        json_t *m = json_array_get(ms, i);
        if (strcmp(jstr(m, "key"), key) == 0) {
            v = json_is_string(jget(m, "value")) ? NAN : json_real_value(jget(m, "value"));
            *step = json_integer_value(jget(m, "step"));
        }
    }
    json_decref(run);
    return v;
}

static void test_latest_metrics_rule(void **state)
{
    fixture *f = *state;
    cerr e;
    char id[33];
    int64_t step;
    new_run(f->st, "0", 1, id);
    store_metric a = {"loss", 5, 10, 1};
    assert_int_equal(store_run_log_batch(f->st, id, &a, 1, NULL, 0, NULL, 0, &e), 0);
    store_metric older_step = {"loss", 9, 100, 0}; /* later timestamp, lower step */
    assert_int_equal(store_run_log_batch(f->st, id, &older_step, 1, NULL, 0, NULL, 0, &e), 0);
    assert_true(latest(f->st, id, "loss", &step) == 5);
    store_metric bigger_value = {"loss", 6, 10, 1}; /* same step and time, greater value */
    assert_int_equal(store_run_log_batch(f->st, id, &bigger_value, 1, NULL, 0, NULL, 0, &e), 0);
    assert_true(latest(f->st, id, "loss", &step) == 6);
    store_metric later_time = {"loss", 1, 11, 1};
    assert_int_equal(store_run_log_batch(f->st, id, &later_time, 1, NULL, 0, NULL, 0, &e), 0);
    assert_true(latest(f->st, id, "loss", &step) == 1);
    /* within one batch, order does not matter: the max wins */
    store_metric batch[] = {{"acc", 1, 1, 7}, {"acc", 2, 1, 3}, {"acc", 3, 1, 5}};
    assert_int_equal(store_run_log_batch(f->st, id, batch, 3, NULL, 0, NULL, 0, &e), 0);
    assert_true(latest(f->st, id, "acc", &step) == 1);
    assert_int_equal(step, 7);
    /* identical rows are ignored, not errors */
    assert_int_equal(store_run_log_batch(f->st, id, batch, 3, NULL, 0, NULL, 0, &e), 0);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM metrics WHERE key = 'acc'"), 3);
}

static void test_metric_history_pages(void **state)
{
    fixture *f = *state;
    cerr e;
    char id[33];
    new_run(f->st, "0", 1, id);
    store_metric m[25];
    for (int i = 0; i < 25; i++) /* logged out of order */
        m[i] = (store_metric){"loss", i * 0.5, 1000 - i, (i * 7) % 25};
    assert_int_equal(store_run_log_batch(f->st, id, m, 25, NULL, 0, NULL, 0, &e), 0);
    const char *token = NULL;
    int64_t expect_step = 0;
    size_t sizes[3], npages = 0;
    do {
        json_t *h;
        char *next;
        assert_int_equal(store_metric_history(f->st, id, "loss", 10, token, &h, &next, &e), 0);
        for (size_t i = 0; i < json_array_size(h); i++)
            assert_int_equal(json_integer_value(jget(json_array_get(h, i), "step")),
                             expect_step++);
        sizes[npages++] = json_array_size(h);
        json_decref(h);
        free((char *)token);
        token = next;
    } while (token && npages < 3);
    assert_null(token);
    assert_int_equal(npages, 3);
    assert_int_equal(sizes[0], 10);
    assert_int_equal(sizes[2], 5);
    json_t *h;
    char *next;
    assert_int_equal(store_metric_history(f->st, id, "nokey", 10, NULL, &h, &next, &e), 0);
    assert_int_equal(json_array_size(h), 0);
    json_decref(h);
    expect_err(store_metric_history(f->st, id, "loss", 10, "bad!", &h, &next, &e), &e,
               CERR_INVALID_PARAMETER_VALUE, "Invalid page token");
}

static void test_tags(void **state)
{
    fixture *f = *state;
    cerr e;
    char id[33], msg[200];
    new_run(f->st, "0", 1, id);
    store_kv t[] = {{"a", "1"}, {"a", "2"}, {"mlflow.runName", "via-tag"}};
    assert_int_equal(store_run_log_batch(f->st, id, NULL, 0, NULL, 0, t, 3, &e), 0);
    json_t *run;
    assert_int_equal(store_run_get(f->st, id, &run, &e), 0);
    assert_string_equal(kv_find(jget(run, "data.tags"), "a"), "2");
    assert_string_equal(jstr(run, "info.run_name"), "via-tag");
    assert_string_equal(kv_find(jget(run, "data.tags"), "mlflow.runName"), "via-tag");
    json_decref(run);
    assert_int_equal(store_run_tag_delete(f->st, id, "a", &e), 0);
    snprintf(msg, sizeof msg, "No tag with name: a in run with id %s", id);
    expect_err(store_run_tag_delete(f->st, id, "a", &e), &e, CERR_RESOURCE_DOES_NOT_EXIST, msg);
    expect_err(store_run_tag_delete(f->st, "nope", "a", &e), &e, CERR_RESOURCE_DOES_NOT_EXIST,
               "Run with id=nope not found");
}

static void test_log_inputs(void **state)
{
    fixture *f = *state;
    cerr e;
    char r1[33], r2[33];
    new_run(f->st, "0", 1, r1);
    new_run(f->st, "0", 2, r2);
    store_kv ctx[] = {{"mlflow.data.context", "train"}};
    store_dataset_input in[] = {
        {"iris", "abc", "local", "/data/iris.csv", "{\"cols\":4}", NULL, ctx, 1},
        {"iris", "abc", "local", "/elsewhere", NULL, NULL, NULL, 0}, /* same name+digest */
        {"wine", "def", "http", "http://x/wine", NULL, "{\"rows\":9}", NULL, 0},
    };
    assert_int_equal(store_run_log_inputs(f->st, r1, in, 3, &e), 0);
    assert_int_equal(store_run_log_inputs(f->st, r1, in, 1, &e), 0); /* again: no new link */
    assert_int_equal(store_run_log_inputs(f->st, r2, in, 1, &e), 0); /* dataset reused */
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM datasets"), 2);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM inputs"), 3);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM input_tags"), 2);
    json_t *run;
    assert_int_equal(store_run_get(f->st, r1, &run, &e), 0);
    json_t *dis = jget(run, "inputs.dataset_inputs");
    assert_int_equal(json_array_size(dis), 2);
    json_t *iris = json_array_get(dis, 0), *wine = json_array_get(dis, 1);
    assert_string_equal(jstr(iris, "dataset.name"), "iris");
    assert_string_equal(jstr(iris, "dataset.source"), "/data/iris.csv");
    assert_string_equal(jstr(iris, "dataset.schema"), "{\"cols\":4}");
    assert_null(jget(iris, "dataset.profile"));
    assert_null(jget(iris, "_input_uuid"));
    assert_string_equal(kv_find(jget(iris, "tags"), "mlflow.data.context"), "train");
    assert_string_equal(jstr(wine, "dataset.source_type"), "http");
    assert_string_equal(jstr(wine, "dataset.profile"), "{\"rows\":9}");
    assert_null(jget(wine, "tags"));
    json_decref(run);
    expect_err(store_run_log_inputs(f->st, "nope", in, 1, &e), &e, CERR_RESOURCE_DOES_NOT_EXIST,
               "Run with id=nope not found");
}

/* ---- run search ---- */

static void test_run_search(void **state)
{
    fixture *f = *state;
    cerr e;
    char *exp = new_experiment(f->st, "s");
    char ids[25][33];
    for (int i = 0; i < 25; i++) {
        new_run(f->st, exp, 1000 + i, ids[i]);
        store_metric m = {"loss", i, 1, 0};
        store_kv p = {"i", "x"};
        assert_int_equal(store_run_log_batch(f->st, ids[i], &m, 1, &p, 1, NULL, 0, &e), 0);
    }
    assert_int_equal(store_run_delete(f->st, ids[0], &e), 0);
    const char *exps[] = {"0", exp, "not-a-number"};
    store_search q = {.experiment_ids = exps, .nexperiment_ids = 3, .view = VIEW_ACTIVE_ONLY,
                      .max_results = 10};
    int64_t prev = INT64_MAX;
    size_t total = 0;
    char *token;
    do {
        json_t *page;
        assert_int_equal(store_run_search(f->st, &q, &page, &token, &e), 0);
        for (size_t i = 0; i < json_array_size(page); i++) {
            json_t *r = json_array_get(page, i);
            int64_t start = json_integer_value(jget(r, "info.start_time"));
            assert_true(start < prev); /* start_time DESC */
            prev = start;
            assert_string_equal(jstr(r, "info.lifecycle_stage"), "active");
            assert_int_equal(json_array_size(jget(r, "data.metrics")), 1);
            assert_string_equal(kv_find(jget(r, "data.params"), "i"), "x");
            assert_non_null(kv_find(jget(r, "data.tags"), "mlflow.runName"));
            assert_true(json_is_object(jget(r, "inputs")));
        }
        total += json_array_size(page);
        json_decref(page);
        free((char *)q.page_token);
        q.page_token = token;
    } while (token);
    assert_int_equal(total, 24);

    json_t *page;
    q.view = VIEW_DELETED_ONLY;
    assert_int_equal(store_run_search(f->st, &q, &page, &token, &e), 0);
    assert_int_equal(json_array_size(page), 1);
    assert_string_equal(jstr(json_array_get(page, 0), "info.run_id"), ids[0]);
    json_decref(page);
    q.view = VIEW_ALL;
    q.max_results = 25;
    assert_int_equal(store_run_search(f->st, &q, &page, &token, &e), 0);
    assert_int_equal(json_array_size(page), 25);
    assert_null(token);
    json_decref(page);
    const char *none[] = {"abc"};
    store_search q2 = {.experiment_ids = none, .nexperiment_ids = 1, .view = VIEW_ALL,
                       .max_results = 5};
    assert_int_equal(store_run_search(f->st, &q2, &page, &token, &e), 0);
    assert_int_equal(json_array_size(page), 0);
    json_decref(page);
    /* filter and order_by compiled by search.c, bound after the store's own */
    const char *order[] = {"metrics.loss DESC"};
    store_search q3 = {.experiment_ids = exps, .nexperiment_ids = 3, .view = VIEW_ACTIVE_ONLY,
                       .max_results = 3, .filter = "metrics.loss < 5 and params.i = 'x'",
                       .order_by = order, .norder_by = 1};
    assert_int_equal(store_run_search(f->st, &q3, &page, &token, &e), 0);
    assert_int_equal(json_array_size(page), 3); /* losses 4, 3, 2 (run 0 is deleted) */
    assert_true(json_real_value(jget(json_array_get(jget(json_array_get(page, 0), "data.metrics"),
                                                    0),
                                     "value")) == 4);
    assert_string_equal(jstr(json_array_get(page, 2), "info.run_id"), ids[2]);
    assert_non_null(token);
    json_decref(page);
    q3.page_token = token;
    assert_int_equal(store_run_search(f->st, &q3, &page, &token, &e), 0);
    assert_int_equal(json_array_size(page), 1);
    assert_string_equal(jstr(json_array_get(page, 0), "info.run_id"), ids[1]);
    assert_null(token);
    json_decref(page);
    free((char *)q3.page_token);
    q3.page_token = NULL;
    q3.filter = "metrics.loss <";
    expect_err(store_run_search(f->st, &q3, &page, &token, &e), &e, CERR_INVALID_PARAMETER_VALUE,
               "");
    assert_null(page);
    q2.page_token = "e30="; /* base64 "{}": no offset */
    expect_err(store_run_search(f->st, &q2, &page, &token, &e), &e, CERR_INVALID_PARAMETER_VALUE,
               "Invalid page token");
    free(exp);
}

/* ---- concurrency ---- */

#define WRITERS 4
#define CALLS 500

typedef struct writer_arg {
    store *st;
    const char *run_id;
    int n;
    int failures; /* expected failures seen */
} writer_arg;

static void *writer_main(void *p)
{
    writer_arg *w = p;
    for (int i = 0; i < CALLS; i++) {
        char key[32], pkey[32], val[16];
        snprintf(key, sizeof key, "m%d", w->n);
        snprintf(pkey, sizeof pkey, "p%d_%d", w->n, i);
        snprintf(val, sizeof val, "%d", i);
        store_metric m = {key, i, 1000 + i, i};
        store_kv p = {pkey, val};
        cerr e;
        if (store_run_log_batch(w->st, w->run_id, &m, 1, &p, 1, NULL, 0, &e) != 0)
            return "log_batch failed";
        if (i % 50 == 0) { /* a failing request in the same group must fail alone */
            store_kv bad = {pkey, "other"};
            store_metric lost = {"lost", 1, 1, 1};
            if (store_run_log_batch(w->st, w->run_id, &lost, 1, &bad, 1, NULL, 0, &e) == 0)
                return "conflicting param accepted";
            w->failures++;
        }
        if (i % 100 == 0) { /* readers run alongside */
            json_t *run;
            if (store_run_get(w->st, w->run_id, &run, &e) != 0)
                return "run_get failed";
            json_decref(run);
        }
    }
    return NULL;
}

static void test_concurrent_writers(void **state)
{
    fixture *f = *state;
    char id[33];
    new_run(f->st, "0", 1, id);
    pthread_t t[WRITERS];
    writer_arg args[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        args[i] = (writer_arg){f->st, id, i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, writer_main, &args[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++) {
        void *res;
        pthread_join(t[i], &res);
        if (res)
            fail_msg("writer %d: %s", i, (char *)res);
        assert_int_equal(args[i].failures, CALLS / 50);
    }
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM metrics"), WRITERS * CALLS);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM params"), WRITERS * CALLS);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM metrics WHERE key = 'lost'"), 0);
    cerr e;
    json_t *h;
    char *token;
    assert_int_equal(store_metric_history(f->st, id, "m2", 0, NULL, &h, &token, &e), 0);
    assert_int_equal(json_array_size(h), CALLS);
    json_decref(h);
    int64_t step;
    assert_true(latest(f->st, id, "m3", &step) == CALLS - 1);
}

/* A child logs and reports each acknowledged call on a pipe; it is killed
 * mid-stream. Every acknowledged row must be in the database afterwards. */
static void child_logger(const char *uri, const char *run_id, int fd)
{
    store *st;
    cerr e;
    if (store_open(uri, "/artifacts", &st, &e) != 0)
        _exit(2);
    for (int i = 0;; i++) {
        store_metric m = {"kill", i, 1000 + i, i};
        if (store_run_log_batch(st, run_id, &m, 1, NULL, 0, NULL, 0, &e) != 0)
            _exit(3);
        if (write(fd, &i, sizeof i) != (ssize_t)sizeof i)
            _exit(4);
    }
}

static void test_kill_keeps_acknowledged_writes(void **state)
{
    fixture *f = *state;
    char id[33];
    new_run(f->st, "0", 1, id);
    store_close(f->st); /* the child is the only process writing */
    f->st = NULL;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        child_logger(f->uri, id, fds[1]);
    }
    close(fds[1]);
    int ack, last = -1;
    while (last < 300 && read(fds[0], &ack, sizeof ack) == (ssize_t)sizeof ack)
        last = ack;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    while (read(fds[0], &ack, sizeof ack) == (ssize_t)sizeof ack) /* acked before the kill */
        last = ack;
    close(fds[0]);
    assert_true(last >= 300);

    cerr e;
    assert_int_equal(store_open(f->uri, "/artifacts", &f->st, &e), 0);
    json_t *h;
    char *token;
    assert_int_equal(store_metric_history(f->st, id, "kill", 0, NULL, &h, &token, &e), 0);
    assert_true((int)json_array_size(h) >= last + 1);
    for (int i = 0; i <= last; i++)
        assert_int_equal(json_integer_value(jget(json_array_get(h, i), "step")), i);
    json_decref(h);
}

#define FX(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX(test_open_default_experiment),
        cmocka_unit_test(test_open_bad_uris),
        FX(test_reopen_keeps_data),
        FX(test_refuse_foreign_databases),
        FX(test_experiment_create_get),
        FX(test_experiment_rename),
        FX(test_experiment_delete_restore),
        FX(test_experiment_tags),
        FX(test_experiment_search),
        FX(test_run_create),
        FX(test_run_get_update),
        FX(test_run_delete_restore),
        FX(test_log_batch_params),
        FX(test_metrics_nan_inf),
        FX(test_latest_metrics_rule),
        FX(test_metric_history_pages),
        FX(test_tags),
        FX(test_log_inputs),
        FX(test_run_search),
        FX(test_concurrent_writers),
        FX(test_kill_keeps_acknowledged_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
