/* test_store.c - the SQLite metadata store (store.h) against a temp file:
 * opening, reopening and refusing databases, experiments and runs: every
 * function's success and error paths with MLflow's messages, and run search.
 * Logged data (params, metrics, tags, inputs, concurrency, crashes) is in
 * test_store_data.c. */
#include "store_fixture.h"

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
    /* Port 1 on the loopback refuses at once: no server needed. */
    expect_err(store_open("postgresql://u@127.0.0.1:1/db", "/a", &st, &e), &e,
               CERR_TEMPORARILY_UNAVAILABLE, "cannot connect to PostgreSQL");
    expect_err(store_open("postgresql+psycopg2://u@127.0.0.1:1/db", "/a", &st, &e), &e,
               CERR_TEMPORARILY_UNAVAILABLE, "cannot connect to PostgreSQL");
    expect_err(store_open("postgresql://u@h/db?no_such_option=1", "/a", &st, &e), &e,
               CERR_INVALID_PARAMETER_VALUE, "invalid PostgreSQL URI");
    expect_err(store_open("postgresql+://u@h/db", "/a", &st, &e), &e,
               CERR_INVALID_PARAMETER_VALUE, "unsupported backend store URI");
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
        FX(test_run_search),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
