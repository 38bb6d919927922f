/* test_store_jobs.c - the cairn_jobs table (store_jobs.c): a job as JSON
 * in and out, updates of the fields that may change, the fields that may
 * not, lists newest first with pages, the active filter and the source
 * filter, and the errors for unknown ids. */
#include "store_fixture.h"

static json_t *job(const char *id, const char *exp, int64_t t, const char *state,
                   const char *source)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "job_id", id,
                     "experiment_id", exp, "backend", "slurm", "state", state, "run_status",
                     "SCHEDULED", "user_id", "ann", "source", source, "workdir", "/jobs/x",
                     "submit_time", (json_int_t)t);
}

static void create(store *st, json_t *j)
{
    cerr e;
    assert_int_equal(store_job_create(st, j, &e), 0);
    json_decref(j);
}

static void test_job_round_trip(void **state)
{
    fixture *f = *state;
    cerr e;
    create(f->st, job("a1", "0", 5, "PENDING", "cairn"));
    json_t *got;
    assert_int_equal(store_job_get(f->st, "a1", &got, &e), 0);
    char *text = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(text,
                        "{\"backend\":\"slurm\",\"backend_job_id\":\"\",\"command\":\"\","
                        "\"end_time\":0,\"entry_point\":\"\",\"exit_code\":-1,"
                        "\"experiment_id\":\"0\",\"host\":\"\",\"job_id\":\"a1\",\"reason\":\"\","
                        "\"run_id\":\"\",\"run_name\":\"\",\"run_status\":\"SCHEDULED\","
                        "\"source\":\"cairn\",\"start_time\":0,\"state\":\"PENDING\","
                        "\"submit_time\":5,\"user_id\":\"ann\",\"workdir\":\"/jobs/x\"}");
    free(text);
    json_decref(got);

    json_t *upd = json_pack("{s:s, s:s, s:i, s:s, s:I}", "state", "FAILED", "reason",
                            "exit code 3", "exit_code", 3, "backend_job_id", "42", "end_time",
                            (json_int_t)9);
    assert_int_equal(store_job_update(f->st, "a1", upd, &e), 0);
    json_decref(upd);
    assert_int_equal(store_job_get(f->st, "a1", &got, &e), 0);
    assert_string_equal(json_string_value(json_object_get(got, "state")), "FAILED");
    assert_string_equal(json_string_value(json_object_get(got, "reason")), "exit code 3");
    assert_int_equal(json_integer_value(json_object_get(got, "exit_code")), 3);
    assert_int_equal(json_integer_value(json_object_get(got, "end_time")), 9);
    assert_string_equal(json_string_value(json_object_get(got, "backend_job_id")), "42");
    json_decref(got);
}

static void test_job_errors(void **state)
{
    fixture *f = *state;
    cerr e;
    json_t *got = NULL;
    expect_err(store_job_get(f->st, "nope", &got, &e), &e, CERR_RESOURCE_DOES_NOT_EXIST,
               "No job with id=nope exists");
    assert_null(got);
    json_t *upd = json_pack("{s:s}", "state", "RUNNING");
    expect_err(store_job_update(f->st, "nope", upd, &e), &e, CERR_RESOURCE_DOES_NOT_EXIST,
               "No job with id=nope");
    create(f->st, job("b1", "0", 1, "PENDING", "cairn"));
    json_decref(upd);
    /* Fixed at creation, or not a field at all. */
    upd = json_pack("{s:s}", "workdir", "/elsewhere");
    expect_err(store_job_update(f->st, "b1", upd, &e), &e, CERR_INTERNAL_ERROR,
               "job field 'workdir' cannot be updated");
    json_decref(upd);
    upd = json_pack("{s:s}", "colour", "red");
    expect_err(store_job_update(f->st, "b1", upd, &e), &e, CERR_INTERNAL_ERROR,
               "job field 'colour'");
    json_decref(upd);
    /* The same id twice. */
    json_t *dup = job("b1", "0", 2, "PENDING", "cairn");
    assert_int_equal(store_job_create(f->st, dup, &e), -1);
    json_decref(dup);
    json_t *noid = json_pack("{s:s}", "state", "PENDING");
    expect_err(store_job_create(f->st, noid, &e), &e, CERR_INTERNAL_ERROR, "a job needs");
    json_decref(noid);
}

static const char *id_at(json_t *arr, size_t i)
{
    return json_string_value(json_object_get(json_array_get(arr, i), "job_id"));
}

static void test_job_list(void **state)
{
    fixture *f = *state;
    cerr e;
    create(f->st, job("j1", "0", 10, "COMPLETED", "cairn"));
    create(f->st, job("j2", "1", 20, "RUNNING", "new_task"));
    create(f->st, job("j3", "0", 30, "PENDING", "cairn"));
    create(f->st, job("j4", "0", 40, "TIMEOUT", "compute-backend"));
    json_t *arr;
    char *next;
    store_job_query q = {NULL, NULL, false, 3, NULL};
    assert_int_equal(store_job_list(f->st, &q, &arr, &next, &e), 0);
    assert_int_equal(json_array_size(arr), 3);
    assert_string_equal(id_at(arr, 0), "j4"); /* newest first */
    assert_string_equal(id_at(arr, 2), "j2");
    assert_non_null(next);
    json_decref(arr);
    q.page_token = next;
    assert_int_equal(store_job_list(f->st, &q, &arr, &next, &e), 0);
    assert_int_equal(json_array_size(arr), 1);
    assert_string_equal(id_at(arr, 0), "j1");
    assert_null(next);
    free((char *)q.page_token);
    json_decref(arr);

    store_job_query active = {NULL, NULL, true, 0, NULL};
    assert_int_equal(store_job_list(f->st, &active, &arr, &next, &e), 0);
    assert_int_equal(json_array_size(arr), 2);
    assert_string_equal(id_at(arr, 0), "j3");
    assert_string_equal(id_at(arr, 1), "j2");
    json_decref(arr);

    store_job_query by_exp = {"1", NULL, false, 0, NULL};
    assert_int_equal(store_job_list(f->st, &by_exp, &arr, &next, &e), 0);
    assert_int_equal(json_array_size(arr), 1);
    assert_string_equal(id_at(arr, 0), "j2");
    json_decref(arr);

    store_job_query by_src = {NULL, "compute-backend", false, 0, NULL};
    assert_int_equal(store_job_list(f->st, &by_src, &arr, &next, &e), 0);
    assert_int_equal(json_array_size(arr), 1);
    assert_string_equal(id_at(arr, 0), "j4");
    json_decref(arr);

    store_job_query bad = {NULL, NULL, false, 0, "not a token"};
    expect_err(store_job_list(f->st, &bad, &arr, &next, &e), &e, CERR_INVALID_PARAMETER_VALUE,
               "Invalid page token");
}

/* The table survives a reopen, and reopening an existing database adds
 * nothing twice. */
static void test_job_reopen(void **state)
{
    fixture *f = *state;
    cerr e;
    create(f->st, job("r1", "0", 1, "RUNNING", "cairn"));
    store_close(f->st);
    assert_int_equal(store_open(f->uri, "/artifacts/", &f->st, &e), 0);
    json_t *got;
    assert_int_equal(store_job_get(f->st, "r1", &got, &e), 0);
    assert_string_equal(json_string_value(json_object_get(got, "state")), "RUNNING");
    json_decref(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_job_round_trip, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_job_errors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_job_list, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_job_reopen, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
