/* test_store_data.c - what runs log, through the SQLite store: params
 * (immutable), metrics (NaN/inf, the latest_metrics rule, history pages),
 * tags, dataset inputs, concurrent writers (group commit) and a SIGKILL that
 * must not lose an acknowledged write. */
#include "store_fixture.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX(test_log_batch_params),
        FX(test_metrics_nan_inf),
        FX(test_latest_metrics_rule),
        FX(test_metric_history_pages),
        FX(test_tags),
        FX(test_log_inputs),
        FX(test_concurrent_writers),
        FX(test_kill_keeps_acknowledged_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
