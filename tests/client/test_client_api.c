/* test_client_api.c - libcairn against the real server: experiments, runs,
 * batched logging within MLflow's limits, concurrent logging from several
 * threads, metric history, search, artifacts, error codes and messages, and
 * the offline spool with an exactly-once sync. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cairn.h"
#include "server_fixture.h"

static test_server srv;

typedef struct {
    cairn_client *c;
    char exp[64];
} fx;

static int group_setup(void **state)
{
    (void)state;
    setenv("CAIRN_SPOOL_DIR", "/nonexistent/cairn-test-spool", 1);
    unsetenv("MLFLOW_RUN_ID");
    unsetenv("MLFLOW_EXPERIMENT_ID");
    unsetenv("CAIRN_OFFLINE");
    return test_server_start(&srv);
}

static int group_teardown(void **state)
{
    (void)state;
    return test_server_stop(&srv);
}

static int setup(void **state)
{
    static int n;
    fx *f = calloc(1, sizeof *f);
    cairn_options o = {0};
    o.tracking_uri = srv.uri;
    o.no_spool = 1;
    if (cairn_client_open(&f->c, &o) < 0)
        return -1;
    char name[64], *id = NULL;
    snprintf(name, sizeof name, "ctest-%d-%d", (int)getpid(), n++);
    if (cairn_experiment_create(f->c, name, NULL, &id) < 0)
        return -1;
    snprintf(f->exp, sizeof f->exp, "%s", id);
    cairn_free(id);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    cairn_client_close(f->c);
    free(f);
    return 0;
}

static json_t *parse(char *text)
{
    assert_non_null(text);
    json_t *j = json_loads(text, 0, NULL);
    cairn_free(text);
    assert_non_null(j);
    return j;
}

static json_t *get_run(cairn_client *c, const char *run_id)
{
    char *text = NULL;
    assert_int_equal(cairn_run_get(c, run_id, &text), CAIRN_OK);
    return parse(text);
}

static size_t history_len(cairn_client *c, const char *run_id, const char *key)
{
    char *text = NULL;
    assert_int_equal(cairn_metric_history(c, run_id, key, &text), CAIRN_OK);
    json_t *j = parse(text);
    size_t n = json_array_size(json_object_get(j, "metrics"));
    json_decref(j);
    return n;
}

static void test_experiment_lifecycle(void **state)
{
    fx *f = *state;
    char *text = NULL, *id = NULL, *again = NULL;
    assert_int_equal(cairn_experiment_get(f->c, f->exp, &text), CAIRN_OK);
    json_t *j = parse(text);
    const char *name = json_string_value(json_object_get(json_object_get(j, "experiment"), "name"));
    assert_non_null(name);
    char newname[128];
    snprintf(newname, sizeof newname, "%s-renamed", name);
    json_decref(j);
    assert_int_equal(cairn_experiment_rename(f->c, f->exp, newname), CAIRN_OK);
    assert_int_equal(cairn_experiment_get_by_name(f->c, newname, &text), CAIRN_OK);
    cairn_free(text);
    assert_int_equal(cairn_experiment_ensure(f->c, newname, &id), CAIRN_OK);
    assert_string_equal(id, f->exp);
    assert_int_equal(cairn_experiment_delete(f->c, f->exp), CAIRN_OK);
    assert_int_equal(cairn_experiment_search(f->c, NULL, "DELETED_ONLY", &text), CAIRN_OK);
    assert_non_null(strstr(text, newname));
    cairn_free(text);
    assert_int_equal(cairn_experiment_restore(f->c, f->exp), CAIRN_OK);
    assert_int_equal(cairn_experiment_ensure(f->c, newname, &again), CAIRN_OK);
    assert_string_equal(again, f->exp);
    cairn_free(id);
    cairn_free(again);
}

static void test_errors(void **state)
{
    fx *f = *state;
    char *text = NULL;
    assert_int_equal(cairn_experiment_get(f->c, "987654", &text), CAIRN_ENOTFOUND);
    assert_string_equal(cairn_error_last()->error_code, "RESOURCE_DOES_NOT_EXIST");
    assert_int_equal(cairn_error_last()->http_status, 404);
    assert_int_equal(cairn_experiment_create(f->c, "", NULL, NULL), CAIRN_EINVAL);
    assert_int_equal(cairn_log_metric(f->c, NULL, "k", 1.0, 0, 0), CAIRN_EINVAL);
    assert_non_null(strstr(cairn_error_last()->message, "MLFLOW_RUN_ID"));
    assert_int_equal(cairn_run_update_status(f->c, "abc", "DONE", 0), CAIRN_EINVAL);

    cairn_client *bad = NULL;
    cairn_options o = {0};
    o.tracking_uri = "ftp://example";
    assert_int_equal(cairn_client_open(&bad, &o), CAIRN_EINVAL);
    o.tracking_uri = "http://127.0.0.1:1";
    o.no_spool = 1;
    assert_int_equal(cairn_client_open(&bad, &o), CAIRN_OK);
    assert_int_equal(cairn_experiment_get(bad, "0", &text), CAIRN_EUNREACHABLE);
    assert_non_null(strstr(cairn_error_last()->message, "cannot reach http://127.0.0.1:1"));
    assert_int_equal(cairn_run_create(bad, "0", "x", 0, &text), CAIRN_EUNREACHABLE);
    cairn_client_close(bad);
}

static void test_run_logging(void **state)
{
    fx *f = *state;
    char *run = NULL;
    assert_int_equal(cairn_run_create(f->c, f->exp, "ridge", 0, &run), CAIRN_OK);
    assert_int_equal(cairn_log_param(f->c, run, "alpha", "0.5"), CAIRN_OK);
    assert_int_equal(cairn_set_tag(f->c, run, "team", "hpc"), CAIRN_OK);
    assert_int_equal(cairn_set_tag(f->c, run, "team", "hpc2"), CAIRN_OK);   /* same key: later wins */
    for (int i = 0; i < 10; i++)
        assert_int_equal(cairn_log_metric(f->c, run, "rmse", 1.0 / (i + 1), 1700000000000 + i, i), CAIRN_OK);
    assert_int_equal(cairn_log_metric(f->c, run, "odd", NAN, 0, 0), CAIRN_OK);
    assert_int_equal(cairn_log_metric(f->c, run, "odd", INFINITY, 0, 1), CAIRN_OK);
    assert_int_equal(cairn_run_end(f->c, run, NULL), CAIRN_OK);
    json_t *j = get_run(f->c, run);
    json_t *info = json_object_get(json_object_get(j, "run"), "info");
    assert_string_equal(json_string_value(json_object_get(info, "status")), "FINISHED");
    assert_true(json_integer_value(json_object_get(info, "end_time")) > 0);
    char *dump = json_dumps(json_object_get(json_object_get(j, "run"), "data"), 0);
    assert_non_null(strstr(dump, "\"alpha\""));
    assert_non_null(strstr(dump, "\"hpc2\""));
    free(dump);
    json_decref(j);
    assert_int_equal(history_len(f->c, run, "rmse"), 10);
    assert_int_equal(history_len(f->c, run, "odd"), 2);
    cairn_free(run);
}

static void test_batch_limits(void **state)
{
    fx *f = *state;
    char *run = NULL;
    assert_int_equal(cairn_run_create(f->c, f->exp, "limits", 0, &run), CAIRN_OK);
    char key[32], val[32];
    for (int i = 0; i < 250; i++) {
        snprintf(key, sizeof key, "p%03d", i);
        snprintf(val, sizeof val, "v%d", i);
        assert_int_equal(cairn_log_param(f->c, run, key, val), CAIRN_OK);
    }
    for (int i = 0; i < 150; i++) {
        snprintf(key, sizeof key, "t%03d", i);
        assert_int_equal(cairn_set_tag(f->c, run, key, "x"), CAIRN_OK);
    }
    for (int i = 0; i < 2500; i++)
        assert_int_equal(cairn_log_metric(f->c, run, "m", i, 1700000000000 + i, i), CAIRN_OK);
    assert_int_equal(cairn_client_flush(f->c), CAIRN_OK);
    json_t *j = get_run(f->c, run);
    json_t *data = json_object_get(json_object_get(j, "run"), "data");
    assert_int_equal(json_array_size(json_object_get(data, "params")), 250);
    assert_true(json_array_size(json_object_get(data, "tags")) >= 150);
    json_decref(j);
    assert_int_equal(history_len(f->c, run, "m"), 2500);
    cairn_free(run);
}

typedef struct {
    cairn_client *c;
    const char *run;
    int id;
    int failures;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    char key[32];
    snprintf(key, sizeof key, "thread_%d", w->id);
    for (int i = 0; i < 3000; i++)
        if (cairn_log_metric(w->c, w->run, key, i * 0.5, 1700000000000 + i, i) < 0)
            w->failures++;
    char pkey[32];
    snprintf(pkey, sizeof pkey, "param_%d", w->id);
    if (cairn_log_param(w->c, w->run, pkey, key) < 0)
        w->failures++;
    return NULL;
}

static void test_concurrent_threads(void **state)
{
    fx *f = *state;
    char *runs[2] = {NULL, NULL};
    assert_int_equal(cairn_run_create(f->c, f->exp, "threads-a", 0, &runs[0]), CAIRN_OK);
    assert_int_equal(cairn_run_create(f->c, f->exp, "threads-b", 0, &runs[1]), CAIRN_OK);
    pthread_t t[6];
    worker w[6];
    for (int i = 0; i < 6; i++) {
        w[i] = (worker){f->c, runs[i % 2], i, 0};
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    assert_int_equal(cairn_run_end(f->c, runs[0], "FINISHED"), CAIRN_OK);
    assert_int_equal(cairn_run_end(f->c, runs[1], "KILLED"), CAIRN_OK);
    for (int i = 0; i < 6; i++) {
        char key[32];
        snprintf(key, sizeof key, "thread_%d", i);
        assert_int_equal(history_len(f->c, runs[i % 2], key), 3000);
    }
    json_t *j = get_run(f->c, runs[1]);
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(j, "run"), "info"), "status")),
                        "KILLED");
    json_decref(j);
    cairn_free(runs[0]);
    cairn_free(runs[1]);
}

/* Items of many runs interleaved in one queue are grouped per run, in order. */
static void test_many_runs_interleaved(void **state)
{
    fx *f = *state;
    enum { NRUNS = 300, STEPS = 4 };
    char *runs[NRUNS];
    for (int r = 0; r < NRUNS; r++)
        assert_int_equal(cairn_run_create(f->c, f->exp, NULL, 0, &runs[r]), CAIRN_OK);
    for (int step = 0; step < STEPS; step++)
        for (int r = 0; r < NRUNS; r++) {
            assert_int_equal(cairn_log_metric(f->c, runs[r], "m", r * 10 + step, 1700000000000 + step, step), CAIRN_OK);
            assert_int_equal(cairn_set_tag(f->c, runs[r], "last", step == STEPS - 1 ? "yes" : "no"), CAIRN_OK);
        }
    assert_int_equal(cairn_client_flush(f->c), CAIRN_OK);
    for (int r = 0; r < NRUNS; r += 37) {
        char *text = NULL;
        assert_int_equal(cairn_metric_history(f->c, runs[r], "m", &text), CAIRN_OK);
        json_t *j = parse(text);
        json_t *m = json_object_get(j, "metrics");
        assert_int_equal(json_array_size(m), STEPS);
        for (int step = 0; step < STEPS; step++)
            assert_int_equal((int)json_number_value(json_object_get(json_array_get(m, step), "value")), r * 10 + step);
        json_decref(j);
        j = get_run(f->c, runs[r]);
        char *data = json_dumps(json_object_get(json_object_get(j, "run"), "data"), 0);
        assert_non_null(data);
        assert_non_null(strstr(data, "\"yes\""));
        free(data);
        json_decref(j);
    }
    for (int r = 0; r < NRUNS; r++)
        cairn_free(runs[r]);
}

static void test_search(void **state)
{
    fx *f = *state;
    for (int i = 0; i < 3; i++) {
        char *run = NULL, name[16];
        snprintf(name, sizeof name, "s%d", i);
        assert_int_equal(cairn_run_create(f->c, f->exp, name, 0, &run), CAIRN_OK);
        assert_int_equal(cairn_log_metric(f->c, run, "score", i, 0, 0), CAIRN_OK);
        assert_int_equal(cairn_run_end(f->c, run, NULL), CAIRN_OK);
        cairn_free(run);
    }
    char *text = NULL;
    assert_int_equal(cairn_run_search(f->c, f->exp, "metrics.score >= 1", "metrics.score DESC", NULL, 0, &text),
                     CAIRN_OK);
    json_t *j = parse(text);
    json_t *runs = json_object_get(j, "runs");
    assert_int_equal(json_array_size(runs), 2);
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(runs, 0), "info"), "run_name")),
                        "s2");
    json_decref(j);
    assert_int_equal(cairn_run_search(f->c, f->exp, "metrics.score >=", NULL, NULL, 0, &text), CAIRN_ESERVER);
    assert_string_equal(cairn_error_last()->error_code, "INVALID_PARAMETER_VALUE");
}

static void test_artifacts(void **state)
{
    fx *f = *state;
    char *run = NULL, src[300], dst[300], *text = NULL;
    assert_int_equal(cairn_run_create(f->c, f->exp, "art", 0, &run), CAIRN_OK);
    snprintf(src, sizeof src, "%s/src.bin", srv.dir);
    snprintf(dst, sizeof dst, "%s/dst.bin", srv.dir);
    FILE *fp = fopen(src, "wb");
    for (int i = 0; i < 100000; i++)
        fputc(i * 7 % 251, fp);
    fclose(fp);
    assert_int_equal(cairn_artifact_upload(f->c, run, src, "data/src.bin", NULL, NULL), CAIRN_OK);
    assert_int_equal(cairn_artifact_list(f->c, run, "data", &text), CAIRN_OK);
    assert_non_null(strstr(text, "data/src.bin"));
    cairn_free(text);
    assert_int_equal(cairn_artifact_download(f->c, run, "data/src.bin", dst, NULL, NULL), CAIRN_OK);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", src, dst);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(cairn_artifact_download(f->c, run, "data/missing.bin", dst, NULL, NULL), CAIRN_ENOTFOUND);
    assert_int_equal(cairn_artifact_upload(f->c, run, "/nonexistent/file", NULL, NULL, NULL), CAIRN_EIO);
    cairn_free(run);
}

static void test_delete_restore_run(void **state)
{
    fx *f = *state;
    char *run = NULL, *text = NULL;
    assert_int_equal(cairn_run_create(f->c, f->exp, "gone", 0, &run), CAIRN_OK);
    assert_int_equal(cairn_run_delete(f->c, run), CAIRN_OK);
    assert_int_equal(cairn_run_search(f->c, f->exp, NULL, NULL, "DELETED_ONLY", 0, &text), CAIRN_OK);
    assert_non_null(strstr(text, run));
    cairn_free(text);
    assert_int_equal(cairn_run_restore(f->c, run), CAIRN_OK);
    cairn_free(run);
}

static int count_runs(cairn_client *c, const char *exp)
{
    char *text = NULL;
    assert_int_equal(cairn_run_search(c, exp, NULL, NULL, "ALL", 0, &text), CAIRN_OK);
    json_t *j = parse(text);
    int n = (int)json_array_size(json_object_get(j, "runs"));
    json_decref(j);
    return n;
}

static void test_offline_sync_exactly_once(void **state)
{
    fx *f = *state;
    char spool[300];
    snprintf(spool, sizeof spool, "%s/spool-%d", srv.dir, (int)getpid());
    cairn_options o = {0};
    o.tracking_uri = srv.uri;
    o.offline = 1;
    o.spool_dir = spool;
    cairn_client *off = NULL;
    assert_int_equal(cairn_client_open(&off, &o), CAIRN_OK);
    assert_true(cairn_client_is_offline(off));
    char *run = NULL, *text = NULL;
    assert_int_equal(cairn_run_create(off, f->exp, "offline", 0, &run), CAIRN_OK);
    assert_memory_equal(run, "local-", 6);
    assert_int_equal(cairn_log_param(off, run, "alpha", "0.1"), CAIRN_OK);
    for (int i = 0; i < 1500; i++)
        assert_int_equal(cairn_log_metric(off, run, "loss", 1.0 / (i + 1), 1700000000000 + i, i), CAIRN_OK);
    assert_int_equal(cairn_run_end(off, run, NULL), CAIRN_OK);
    assert_int_equal(cairn_run_get(off, run, &text), CAIRN_EOFFLINE);
    assert_int_equal(cairn_client_close(off), CAIRN_OK);
    assert_int_equal(count_runs(f->c, f->exp), 0);

    cairn_sync_stats st;
    assert_int_equal(cairn_spool_sync(f->c, spool, &st), CAIRN_OK);
    assert_int_equal(st.runs_created, 1);
    assert_int_equal(st.records_failed, 0);
    assert_true(st.records_sent >= 4);   /* create, >= 2 batches, update */
    assert_int_equal(cairn_spool_sync(f->c, spool, &st), CAIRN_OK);
    assert_int_equal(st.records_sent, 0);
    assert_int_equal(count_runs(f->c, f->exp), 1);

    assert_int_equal(cairn_run_search(f->c, f->exp, NULL, NULL, NULL, 0, &text), CAIRN_OK);
    json_t *j = parse(text);
    json_t *info = json_object_get(json_array_get(json_object_get(j, "runs"), 0), "info");
    const char *id = json_string_value(json_object_get(info, "run_id"));
    assert_string_equal(json_string_value(json_object_get(info, "status")), "FINISHED");
    assert_int_equal(history_len(f->c, id, "loss"), 1500);
    json_decref(j);
    cairn_free(run);
}

static void test_fallback_to_spool(void **state)
{
    (void)state;
    char spool[300];
    snprintf(spool, sizeof spool, "%s/fallback-%d", srv.dir, (int)getpid());
    cairn_options o = {0};
    o.tracking_uri = "http://127.0.0.1:1";
    o.spool_dir = spool;
    o.max_retries = 1;
    cairn_client *c = NULL;
    assert_int_equal(cairn_client_open(&c, &o), CAIRN_OK);
    char *run = NULL;
    assert_int_equal(cairn_run_create(c, "0", "fb", 0, &run), CAIRN_OK);
    assert_memory_equal(run, "local-", 6);
    assert_true(cairn_client_is_offline(c));
    assert_int_equal(cairn_log_metric(c, run, "x", 1, 0, 0), CAIRN_OK);
    assert_int_equal(cairn_client_close(c), CAIRN_OK);
    char path[400];
    snprintf(path, sizeof path, "%s/journal.jsonl", spool);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    int lines = 0, ch;
    while ((ch = fgetc(fp)) != EOF)
        lines += ch == '\n';
    fclose(fp);
    assert_int_equal(lines, 2);
    cairn_free(run);
}

/* A process that exits without closing its client still delivers: the
 * atexit handler flushes. A forked child does not wait for its parent's
 * client (whose thread it does not have), even with items queued. */
static void test_flush_at_exit(void **state)
{
    fx *f = *state;
    char *run = NULL;
    assert_int_equal(cairn_run_create(f->c, f->exp, "atexit", 0, &run), CAIRN_OK);
    assert_int_equal(cairn_log_metric(f->c, run, "parent", 1, 0, 0), CAIRN_OK);   /* queued at fork */
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        cairn_client *c = NULL;
        cairn_options o = {0};
        o.tracking_uri = srv.uri;
        o.no_spool = 1;
        o.flush_interval_ms = 60000;   /* only the exit flush can send these */
        if (cairn_client_open(&c, &o) < 0)
            _exit(3);
        for (int i = 0; i < 500; i++)
            cairn_log_metric(c, run, "late", i, 0, i);
        if (cairn_client_flush(f->c) != CAIRN_EINVAL)   /* the parent's client */
            _exit(4);
        exit(0);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(history_len(f->c, run, "late"), 500);
    assert_int_equal(cairn_client_flush(f->c), CAIRN_OK);
    assert_int_equal(history_len(f->c, run, "parent"), 1);
    cairn_free(run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_experiment_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_logging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_runs_interleaved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search, setup, teardown),
        cmocka_unit_test_setup_teardown(test_artifacts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_restore_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offline_sync_exactly_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fallback_to_spool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_at_exit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
