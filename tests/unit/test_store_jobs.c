/* test_store_jobs.c - the cairn_jobs table (store_jobs.c) and the job
 * struct (store_job.c): a job in and out as a struct, updates of the fields
 * named in the mask, the fields that may not change, lists newest first
 * with pages, the active filter and the source filter, rows whose state or
 * backend this program does not know, the errors for unknown ids, and the
 * one table of state names, run statuses and backend names. */
#include "store_fixture.h"

#include "store/store_job.h"

/* A job as the service first records it; the strings are heap. */
static store_job job(const char *id, const char *exp, int64_t t, job_state state,
                     const char *source)
{
    store_job j = STORE_JOB_INIT;
    store_job_set_text(&j.job_id, id);
    store_job_set_text(&j.experiment_id, exp);
    j.backend = BACKEND_SLURM;
    j.state = state;
    store_job_set_text(&j.user_id, "ann");
    store_job_set_text(&j.source, source);
    store_job_set_text(&j.workdir, "/jobs/x");
    j.submit_time = t;
    return j;
}

static void create(store *st, store_job j)
{
    cerr e;
    assert_int_equal(store_job_create(st, &j, &e), 0);
    store_job_free(&j);
}

/* One column straight from the database file. */
static char *column(fixture *f, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    char *v = strdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static void test_job_round_trip(void **state)
{
    fixture *f = *state;
    cerr e;
    create(f->st, job("a1", "0", 5, JOB_PENDING, "cairn"));
    store_job got;
    assert_int_equal(store_job_get(f->st, "a1", &got, &e), 0);
    assert_string_equal(got.job_id, "a1");
    assert_string_equal(got.experiment_id, "0");
    assert_int_equal(got.backend, BACKEND_SLURM);
    assert_int_equal(got.state, JOB_PENDING);
    assert_string_equal(got.run_id, "");
    assert_string_equal(got.backend_job_id, "");
    assert_string_equal(got.reason, "");
    assert_string_equal(got.command, "");
    assert_string_equal(got.host, "");
    assert_string_equal(got.user_id, "ann");
    assert_string_equal(got.source, "cairn");
    assert_string_equal(got.workdir, "/jobs/x");
    assert_int_equal(got.exit_code, -1);
    assert_int_equal(got.submit_time, 5);
    assert_int_equal(got.start_time, 0);
    assert_int_equal(got.end_time, 0);
    store_job_free(&got);
    assert_null(got.job_id);
    char *rs = column(f, "SELECT run_status FROM cairn_jobs WHERE job_id = 'a1'");
    assert_string_equal(rs, "SCHEDULED");
    free(rs);

    /* Only the fields named change; run_status follows the state. */
    store_job upd = {.job_id = "a1", .state = JOB_FAILED, .reason = "exit code 3", .exit_code = 3,
                     .backend_job_id = "42", .end_time = 9, .command = "not this"};
    assert_int_equal(store_job_update(f->st, &upd,
                                      STORE_JOB_STATE | STORE_JOB_REASON | STORE_JOB_EXIT_CODE |
                                          STORE_JOB_BACKEND_JOB_ID | STORE_JOB_END_TIME,
                                      &e),
                     0);
    assert_int_equal(store_job_get(f->st, "a1", &got, &e), 0);
    assert_int_equal(got.state, JOB_FAILED);
    assert_string_equal(got.reason, "exit code 3");
    assert_int_equal(got.exit_code, 3);
    assert_int_equal(got.end_time, 9);
    assert_string_equal(got.backend_job_id, "42");
    assert_string_equal(got.command, "");
    assert_string_equal(got.user_id, "ann");
    store_job_free(&got);
    rs = column(f, "SELECT run_status FROM cairn_jobs WHERE job_id = 'a1'");
    assert_string_equal(rs, "FAILED");
    free(rs);
    /* No field: nothing to do. */
    assert_int_equal(store_job_update(f->st, &upd, 0, &e), 0);
}

static void test_job_errors(void **state)
{
    fixture *f = *state;
    cerr e;
    store_job got;
    expect_err(store_job_get(f->st, "nope", &got, &e), &e, CERR_RESOURCE_DOES_NOT_EXIST,
               "No job with id=nope exists");
    assert_null(got.job_id);
    store_job upd = {.job_id = "nope", .state = JOB_RUNNING};
    expect_err(store_job_update(f->st, &upd, STORE_JOB_STATE, &e), &e,
               CERR_RESOURCE_DOES_NOT_EXIST, "No job with id=nope");
    create(f->st, job("b1", "0", 1, JOB_PENDING, "cairn"));
    /* Not a field an update may set. */
    upd.job_id = "b1";
    expect_err(store_job_update(f->st, &upd, 1u << 20, &e), &e, CERR_INTERNAL_ERROR,
               "job fields 0x100000 cannot be updated");
    /* The same id twice. */
    store_job dup = job("b1", "0", 2, JOB_PENDING, "cairn");
    assert_int_equal(store_job_create(f->st, &dup, &e), -1);
    store_job_free(&dup);
    store_job noid = STORE_JOB_INIT;
    expect_err(store_job_create(f->st, &noid, &e), &e, CERR_INTERNAL_ERROR, "a job needs");

    /* A row a newer program wrote, with a backend or state this one does
     * not know: an error naming it, for get and for list. */
    exec_sql(f->path, "UPDATE cairn_jobs SET backend = 'flux' WHERE job_id = 'b1'");
    expect_err(store_job_get(f->st, "b1", &got, &e), &e, CERR_INTERNAL_ERROR,
               "job b1 has an unknown backend 'flux'");
    exec_sql(f->path, "UPDATE cairn_jobs SET backend = 'local', state = 'HELD' WHERE job_id = 'b1'");
    store_job *jobs;
    size_t n;
    char *next;
    store_job_query q = {0};
    expect_err(store_job_list(f->st, &q, &jobs, &n, &next, &e), &e, CERR_INTERNAL_ERROR,
               "job b1 has an unknown state 'HELD'");
    assert_null(jobs);
    assert_int_equal(n, 0);
    assert_null(next);
}

static void test_job_list(void **state)
{
    fixture *f = *state;
    cerr e;
    create(f->st, job("j1", "0", 10, JOB_COMPLETED, "cairn"));
    create(f->st, job("j2", "1", 20, JOB_RUNNING, "new_task"));
    create(f->st, job("j3", "0", 30, JOB_PENDING, "cairn"));
    create(f->st, job("j4", "0", 40, JOB_TIMEOUT, "compute-backend"));
    store_job *arr;
    size_t n;
    char *next;
    store_job_query q = {NULL, NULL, false, 3, NULL};
    assert_int_equal(store_job_list(f->st, &q, &arr, &n, &next, &e), 0);
    assert_int_equal(n, 3);
    assert_string_equal(arr[0].job_id, "j4"); /* newest first */
    assert_int_equal(arr[0].state, JOB_TIMEOUT);
    assert_string_equal(arr[2].job_id, "j2");
    assert_non_null(next);
    store_jobs_free(arr, n);
    q.page_token = next;
    assert_int_equal(store_job_list(f->st, &q, &arr, &n, &next, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(arr[0].job_id, "j1");
    assert_null(next);
    free((char *)q.page_token);
    store_jobs_free(arr, n);

    store_job_query active = {NULL, NULL, true, 0, NULL};
    assert_int_equal(store_job_list(f->st, &active, &arr, &n, &next, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(arr[0].job_id, "j3");
    assert_string_equal(arr[1].job_id, "j2");
    store_jobs_free(arr, n);

    store_job_query by_exp = {"1", NULL, false, 0, NULL};
    assert_int_equal(store_job_list(f->st, &by_exp, &arr, &n, &next, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(arr[0].job_id, "j2");
    store_jobs_free(arr, n);

    store_job_query by_src = {NULL, "compute-backend", false, 0, NULL};
    assert_int_equal(store_job_list(f->st, &by_src, &arr, &n, &next, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(arr[0].job_id, "j4");
    store_jobs_free(arr, n);

    store_job_query none = {"99", NULL, false, 0, NULL};
    assert_int_equal(store_job_list(f->st, &none, &arr, &n, &next, &e), 0);
    assert_int_equal(n, 0);
    store_jobs_free(arr, n);

    store_job_query bad = {NULL, NULL, false, 0, "not a token"};
    expect_err(store_job_list(f->st, &bad, &arr, &n, &next, &e), &e,
               CERR_INVALID_PARAMETER_VALUE, "Invalid page token");
}

/* The table survives a reopen, and reopening an existing database adds
 * nothing twice. */
static void test_job_reopen(void **state)
{
    fixture *f = *state;
    cerr e;
    create(f->st, job("r1", "0", 1, JOB_RUNNING, "cairn"));
    store_close(f->st);
    assert_int_equal(store_open(f->uri, "/artifacts/", &f->st, &e), 0);
    store_job got;
    assert_int_equal(store_job_get(f->st, "r1", &got, &e), 0);
    assert_int_equal(got.state, JOB_RUNNING);
    store_job_free(&got);
}

/* One table each: every state's name reads back to it, with its run
 * status and whether it is final; every backend's name likewise. */
static void test_job_names(void **state)
{
    (void)state;
    static const char *const run_status[JOB_STATE_COUNT] = {
        "SCHEDULED", "RUNNING", "FINISHED", "FAILED", "KILLED", "FAILED",
        "FAILED",    "FAILED",  "FAILED",   "FAILED", "FAILED", "FAILED"};
    for (int i = 0; i < JOB_STATE_COUNT; i++) {
        job_state s;
        assert_int_equal(job_state_from_name(job_state_name((job_state)i), &s), 0);
        assert_int_equal(s, i);
        assert_string_equal(job_state_run_status((job_state)i), run_status[i]);
        assert_int_equal(job_state_terminal((job_state)i), i != JOB_PENDING && i != JOB_RUNNING);
    }
    job_state s;
    assert_int_equal(job_state_from_name("COMPLETING", &s), -1);
    assert_int_equal(job_state_from_name(NULL, &s), -1);
    assert_string_equal(job_state_name((job_state)99), "UNKNOWN");
    for (int i = 0; i < BACKEND_KIND_COUNT; i++) {
        backend_kind k;
        assert_int_equal(backend_kind_parse(backend_kind_name((backend_kind)i), &k), 0);
        assert_int_equal(k, i);
    }
    backend_kind k;
    assert_int_equal(backend_kind_parse("Local", &k), -1);
    assert_int_equal(backend_kind_parse(NULL, &k), -1);
    assert_string_equal(backend_kind_name(BACKEND_KUBERNETES), "kubernetes");

    /* Freeing frees every string and leaves an empty job. */
    store_job j = job("x", "0", 1, JOB_PENDING, "cairn");
    store_job_set_text(&j.reason, "r");
    store_job_set_text(&j.reason, NULL);
    assert_null(j.reason);
    store_job_free(&j);
    assert_null(j.workdir);
    assert_int_equal(j.exit_code, -1);
    store_job_free(NULL);
    store_jobs_free(NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_job_round_trip, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_job_errors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_job_list, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_job_reopen, fx_setup, fx_teardown),
        cmocka_unit_test(test_job_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
