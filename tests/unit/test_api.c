/* test_api.c - the REST handlers called directly, with no socket, on a real
 * SQLite store in a temporary file. Error cases are a table: handler, request
 * arguments, expected MLflow error code and a fragment of the message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/api.h"
#include "util/sbuf.h"

typedef struct fixture {
    char dir[64];
    store *st;
    api_ctx ctx;
    char run_id[64];
    char exp_id[16];
} fixture;

/* Replace $RUN and $EXP in a request template. */
static json_t *args_from(const fixture *f, const char *tmpl)
{
    sbuf b = SBUF_INIT;
    for (const char *p = tmpl; *p;) {
        if (strncmp(p, "$RUN", 4) == 0) {
            sbuf_puts(&b, f->run_id);
            p += 4;
        } else if (strncmp(p, "$EXP", 4) == 0) {
            sbuf_puts(&b, f->exp_id);
            p += 4;
        } else {
            sbuf_putc(&b, *p++);
        }
    }
    json_error_t je;
    json_t *j = json_loads(sbuf_str(&b), 0, &je);
    if (j == NULL)
        fail_msg("bad template %s: %s", sbuf_str(&b), je.text);
    sbuf_free(&b);
    return j;
}

static int call(fixture *f, api_handler fn, const char *tmpl, json_t **out, cerr *e)
{
    api_request req = {.args = args_from(f, tmpl), .body_len = strlen(tmpl)};
    *out = NULL;
    int rc = fn(&f->ctx, &req, out, e);
    json_decref(req.args);
    return rc;
}

static void call_ok(fixture *f, api_handler fn, const char *tmpl, json_t **out)
{
    cerr e = {0};
    if (call(f, fn, tmpl, out, &e) != 0)
        fail_msg("%s: %s %s", tmpl, cerr_code_name(e.code), e.msg);
}

/* Through api_call, as http/ dispatches: what every request goes through. */
static void call_route_ok(fixture *f, const char *method, const char *path, const char *tmpl,
                          json_t **out)
{
    bool known;
    const char *param;
    char url[256];
    snprintf(url, sizeof url, "/api/2.0/mlflow/%s", path);
    const api_route *r = api_route_find(method, url, &known, &param);
    assert_non_null(r);
    api_request req = {.args = args_from(f, tmpl), .body_len = strlen(tmpl)};
    cerr e = {0};
    *out = NULL;
    if (api_call(r, &f->ctx, &req, out, &e) != 0)
        fail_msg("%s %s: %s %s", path, tmpl, cerr_code_name(e.code), e.msg);
    json_decref(req.args);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/cairn-api-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    char uri[128];
    snprintf(uri, sizeof uri, "sqlite:///%s/mlflow.db", f->dir);
    cerr e = {0};
    if (store_open(uri, "mlflow-artifacts:/", &f->st, &e) < 0) {
        fprintf(stderr, "store_open: %s\n", e.msg);
        return -1;
    }
    f->ctx.st = f->st;
    if (artifacts_store_open(f->dir, &f->ctx.artifacts, &e) < 0)
        return -1;
    json_t *out;
    call_ok(f, api_experiments_create, "{\"name\": \"exp\"}", &out);
    snprintf(f->exp_id, sizeof f->exp_id, "%s",
             json_string_value(json_object_get(out, "experiment_id")));
    json_decref(out);
    call_ok(f, api_runs_create, "{\"experiment_id\": \"$EXP\", \"start_time\": 5}", &out);
    json_t *info = json_object_get(json_object_get(out, "run"), "info");
    snprintf(f->run_id, sizeof f->run_id, "%s", json_string_value(json_object_get(info, "run_id")));
    json_decref(out);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    store_close(f->st);
    artifacts_store_free(f->ctx.artifacts);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static const struct error_case {
    api_handler fn;
    const char *args;
    cerr_code want;
    const char *msg;
} error_cases[] = {
    {api_experiments_create, "{}", CERR_INVALID_PARAMETER_VALUE, "Missing value for required parameter 'name'"},
    {api_experiments_create, "{\"name\": 7}", CERR_INVALID_PARAMETER_VALUE, "Hint: Value was of type 'int'"},
    {api_experiments_create, "{\"name\": \"exp\"}", CERR_RESOURCE_ALREADY_EXISTS, "exp"},
    {api_experiments_create, "{\"name\": \"x\", \"artifact_location\": \"runs:/a\"}", CERR_INVALID_PARAMETER_VALUE, "runs:/"},
    {api_experiments_create, "{\"name\": \"x\", \"tags\": [{\"value\": \"v\"}]}", CERR_INVALID_PARAMETER_VALUE, "'key'"},
    {api_experiments_create, "{\"name\": \"x\", \"tags\": \"nope\"}", CERR_INVALID_PARAMETER_VALUE, "'tags'"},
    {api_experiments_get, "{}", CERR_INVALID_PARAMETER_VALUE, "experiment_id"},
    {api_experiments_get, "{\"experiment_id\": \"424242\"}", CERR_RESOURCE_DOES_NOT_EXIST, "424242"},
    {api_experiments_get, "{\"experiment_id\": \"abc'; DROP TABLE runs; --\"}", CERR_RESOURCE_DOES_NOT_EXIST, "DROP"},
    {api_experiments_get_by_name, "{\"experiment_name\": \"nope\"}", CERR_RESOURCE_DOES_NOT_EXIST, "nope"},
    {api_experiments_update, "{\"experiment_id\": \"$EXP\"}", CERR_INVALID_PARAMETER_VALUE, "new_name"},
    {api_experiments_update, "{\"experiment_id\": \"$EXP\", \"new_name\": \"Default\"}", CERR_RESOURCE_ALREADY_EXISTS, "Default"},
    {api_experiments_search, "{\"max_results\": 0}", CERR_INVALID_PARAMETER_VALUE, "max_results"},
    {api_experiments_search, "{\"max_results\": 50001}", CERR_INVALID_PARAMETER_VALUE, "50000"},
    {api_experiments_search, "{\"max_results\": \"abc\"}", CERR_INVALID_PARAMETER_VALUE, "max_results"},
    {api_experiments_search, "{\"view_type\": \"SOME\"}", CERR_INVALID_PARAMETER_VALUE, "view_type"},
    {api_experiments_search, "{\"page_token\": \"garbage\"}", CERR_INVALID_PARAMETER_VALUE, ""},
    {api_experiments_set_tag, "{\"experiment_id\": \"$EXP\", \"key\": \"a/../b\", \"value\": \"v\"}", CERR_INVALID_PARAMETER_VALUE, "would resolve to 'b'"},
    {api_runs_create, "{\"experiment_id\": \"999\"}", CERR_RESOURCE_DOES_NOT_EXIST, "999"},
    {api_runs_create, "{\"experiment_id\": \"$EXP\", \"start_time\": \"soon\"}", CERR_INVALID_PARAMETER_VALUE, "start_time"},
    {api_runs_get, "{}", CERR_INVALID_PARAMETER_VALUE, "run_id"},
    {api_runs_get, "{\"run_id\": \"0000\"}", CERR_RESOURCE_DOES_NOT_EXIST, "0000"},
    {api_runs_update, "{\"run_id\": \"$RUN\", \"status\": \"DONE\"}", CERR_INVALID_PARAMETER_VALUE, "status"},
    {api_runs_update, "{\"run_id\": \"$RUN\", \"end_time\": [1]}", CERR_INVALID_PARAMETER_VALUE, "end_time"},
    {api_runs_search, "{\"experiment_ids\": [\"$EXP\"], \"max_results\": 50001}", CERR_INVALID_PARAMETER_VALUE, "50000"},
    {api_runs_search, "{\"experiment_ids\": [\"$EXP\"], \"max_results\": -1}", CERR_INVALID_PARAMETER_VALUE, "max_results"},
    {api_runs_search, "{\"experiment_ids\": [true]}", CERR_INVALID_PARAMETER_VALUE, "experiment_ids"},
    {api_runs_search, "{\"experiment_ids\": \"$EXP\"}", CERR_INVALID_PARAMETER_VALUE, "experiment_ids"},
    {api_runs_search, "{\"experiment_ids\": [\"$EXP\"], \"order_by\": \"metrics.a\"}", CERR_INVALID_PARAMETER_VALUE, "order_by"},
    {api_runs_search, "{\"experiment_ids\": [\"$EXP\"], \"filter\": \"metrics.a > 1 or metrics.b < 2\"}", CERR_INVALID_PARAMETER_VALUE, ""},
    {api_runs_log_metric, "{\"run_id\": \"$RUN\", \"key\": \"m\", \"timestamp\": 1}", CERR_INVALID_PARAMETER_VALUE, "'value'"},
    {api_runs_log_metric, "{\"run_id\": \"$RUN\", \"key\": \"m\", \"value\": 1}", CERR_INVALID_PARAMETER_VALUE, "'timestamp'"},
    {api_runs_log_metric, "{\"run_id\": \"$RUN\", \"key\": \"m\", \"value\": \"x\", \"timestamp\": 1}", CERR_INVALID_PARAMETER_VALUE, "'value'"},
    {api_runs_log_metric, "{\"run_id\": \"$RUN\", \"key\": \"m\", \"value\": 1, \"timestamp\": -5}", CERR_INVALID_PARAMETER_VALUE, "Got invalid timestamp -5"},
    {api_runs_log_metric, "{\"run_id\": \"$RUN\", \"key\": \"m;rm -rf /\", \"value\": 1, \"timestamp\": 1}", CERR_INVALID_PARAMETER_VALUE, "Invalid metric name"},
    {api_runs_log_metric, "{\"run_id\": \"nope\", \"key\": \"m\", \"value\": 1, \"timestamp\": 1}", CERR_RESOURCE_DOES_NOT_EXIST, "nope"},
    {api_runs_log_parameter, "{\"run_id\": \"$RUN\", \"key\": \"/abs\", \"value\": \"1\"}", CERR_INVALID_PARAMETER_VALUE, "Invalid parameter name"},
    {api_runs_log_batch, "{\"run_id\": \"$RUN\", \"params\": [{\"key\": \"p\", \"value\": \"1\"}, {\"key\": \"p\", \"value\": \"1\"}]}", CERR_INVALID_PARAMETER_VALUE, "Duplicate parameter keys"},
    {api_runs_log_batch, "{\"run_id\": \"$RUN\", \"metrics\": [{\"key\": \"m\", \"value\": 1}]}", CERR_INVALID_PARAMETER_VALUE, "timestamp"},
    {api_runs_log_batch, "{\"run_id\": \"bad id!\"}", CERR_INVALID_PARAMETER_VALUE, "Invalid run ID"},
    {api_runs_log_batch, "{\"run_id\": \"$RUN\", \"metrics\": {}}", CERR_INVALID_PARAMETER_VALUE, "metrics"},
    {api_runs_set_tag, "{\"run_id\": \"$RUN\", \"value\": \"v\"}", CERR_INVALID_PARAMETER_VALUE, "'key'"},
    {api_runs_delete_tag, "{\"run_id\": \"$RUN\", \"key\": \"never\"}", CERR_RESOURCE_DOES_NOT_EXIST, "never"},
    {api_runs_log_inputs, "{\"run_id\": \"$RUN\"}", CERR_INVALID_PARAMETER_VALUE, "datasets"},
    {api_runs_log_inputs, "{\"run_id\": \"$RUN\", \"datasets\": [{\"dataset\": {\"name\": \"d\"}}]}", CERR_INVALID_PARAMETER_VALUE, "Dataset digest cannot be None"},
    {api_metrics_get_history, "{\"run_id\": \"$RUN\"}", CERR_INVALID_PARAMETER_VALUE, "metric_key"},
    {api_metrics_get_history, "{\"run_id\": \"$RUN\", \"metric_key\": \"m\", \"max_results\": 0}", CERR_INVALID_PARAMETER_VALUE, "max_results"},
};

static void test_error_cases(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        const struct error_case *c = &error_cases[i];
        json_t *out;
        cerr e = {0};
        int rc = call(f, c->fn, c->args, &out, &e);
        if (rc != -1)
            fail_msg("case %zu %s: succeeded", i, c->args);
        if (e.code != c->want || strstr(e.msg, c->msg) == NULL)
            fail_msg("case %zu %s: got %s '%s', want %s '%s'", i, c->args, cerr_code_name(e.code),
                     e.msg, cerr_code_name(c->want), c->msg);
    }
}

static void test_log_and_read_back(void **state)
{
    fixture *f = *state;
    json_t *out;
    call_ok(f, api_runs_log_batch,
            "{\"run_id\": \"$RUN\", \"metrics\": [{\"key\": \"loss\", \"value\": \"NaN\","
            " \"timestamp\": \"10\", \"step\": 1}, {\"key\": \"acc\", \"value\": 0.5,"
            " \"timestamp\": 11}], \"params\": [{\"key\": \"lr\", \"value\": \"0.1\"}],"
            " \"tags\": [{\"key\": \"team\", \"value\": \"x;y|z\"}]}",
            &out);
    json_decref(out);
    call_ok(f, api_runs_get, "{\"run_uuid\": \"$RUN\"}", &out);
    json_t *data = json_object_get(json_object_get(out, "run"), "data");
    assert_int_equal(json_array_size(json_object_get(data, "metrics")), 2);
    assert_int_equal(json_array_size(json_object_get(data, "params")), 1);
    char *dump = json_dumps(data, JSON_SORT_KEYS);
    assert_non_null(strstr(dump, "\"NaN\""));
    assert_non_null(strstr(dump, "x;y|z"));
    free(dump);
    json_decref(out);
    /* re-logging the same param value is fine, a new value is not */
    call_ok(f, api_runs_log_parameter, "{\"run_id\": \"$RUN\", \"key\": \"lr\", \"value\": \"0.1\"}",
            &out);
    json_decref(out);
    cerr e = {0};
    assert_int_equal(call(f, api_runs_log_parameter,
                          "{\"run_id\": \"$RUN\", \"key\": \"lr\", \"value\": \"0.2\"}", &out, &e),
                     -1);
    assert_non_null(strstr(e.msg, "Changing param values is not allowed"));
}

static void test_history_and_paging(void **state)
{
    fixture *f = *state;
    json_t *out;
    for (int step = 0; step < 5; step++) {
        char body[160];
        snprintf(body, sizeof body,
                 "{\"run_id\": \"$RUN\", \"key\": \"h\", \"value\": %d, \"timestamp\": 100,"
                 " \"step\": %d}", 10 - step, step);
        call_ok(f, api_runs_log_metric, body, &out);
        json_decref(out);
    }
    call_ok(f, api_metrics_get_history, "{\"run_id\": \"$RUN\", \"metric_key\": \"h\"}", &out);
    json_t *m = json_object_get(out, "metrics");
    assert_int_equal(json_array_size(m), 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(json_integer_value(json_object_get(json_array_get(m, i), "step")), i);
    assert_null(json_object_get(out, "next_page_token"));
    json_decref(out);
    call_ok(f, api_metrics_get_history,
            "{\"run_id\": \"$RUN\", \"metric_key\": \"h\", \"max_results\": \"2\"}", &out);
    assert_int_equal(json_array_size(json_object_get(out, "metrics")), 2);
    assert_non_null(json_object_get(out, "next_page_token"));
    json_decref(out);
}

static void test_search_and_lifecycle(void **state)
{
    fixture *f = *state;
    json_t *out;
    call_ok(f, api_runs_search, "{\"experiment_ids\": [\"$EXP\"]}", &out);
    assert_int_equal(json_array_size(json_object_get(out, "runs")), 1);
    json_decref(out);
    call_ok(f, api_runs_delete, "{\"run_id\": \"$RUN\"}", &out);
    json_decref(out);
    call_ok(f, api_runs_search, "{\"experiment_ids\": [\"$EXP\"]}", &out);
    assert_null(json_object_get(out, "runs")); /* MLflow omits empty lists */
    json_decref(out);
    call_ok(f, api_runs_search, "{\"experiment_ids\": [\"$EXP\"], \"run_view_type\": \"DELETED_ONLY\"}",
            &out);
    assert_int_equal(json_array_size(json_object_get(out, "runs")), 1);
    json_decref(out);
    cerr e = {0};
    assert_int_equal(call(f, api_runs_log_metric,
                          "{\"run_id\": \"$RUN\", \"key\": \"m\", \"value\": 1, \"timestamp\": 1}",
                          &out, &e),
                     -1);
    assert_int_equal(e.code, CERR_INVALID_PARAMETER_VALUE);
    assert_non_null(strstr(e.msg, "must be in the 'active' state"));
    call_ok(f, api_runs_restore, "{\"run_id\": \"$RUN\"}", &out);
    json_decref(out);
    call_ok(f, api_runs_update, "{\"run_id\": \"$RUN\", \"status\": \"FINISHED\", \"end_time\": 9}",
            &out);
    json_t *info = json_object_get(out, "run_info");
    assert_string_equal(json_string_value(json_object_get(info, "status")), "FINISHED");
    assert_int_equal(json_integer_value(json_object_get(info, "end_time")), 9);
    json_decref(out);
}

/* Old clients send experiment ids as numbers; MLflow stringifies them. */
static void test_numeric_experiment_ids(void **state)
{
    fixture *f = *state;
    json_t *out;
    char body[96];
    snprintf(body, sizeof body, "{\"experiment_ids\": [%s]}", f->exp_id);
    call_route_ok(f, "POST", "runs/search", body, &out);
    assert_int_equal(json_array_size(json_object_get(out, "runs")), 1);
    json_decref(out);
    snprintf(body, sizeof body, "{\"experiment_id\": %s}", f->exp_id);
    call_route_ok(f, "GET", "experiments/get", body, &out);
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "experiment"), "name")),
                        "exp");
    json_decref(out);
}

static void test_routes(void **state)
{
    (void)state;
    bool known;
    const char *p;
    assert_non_null(api_route_find("POST", "/api/2.0/mlflow/runs/log-batch", &known, &p));
    assert_non_null(api_route_find("GET", "/ajax-api/2.0/mlflow/experiments/search", &known, &p));
    assert_non_null(api_route_find("POST", "/api/2.0/mlflow/experiments/search", &known, &p));
    assert_null(api_route_find("GET", "/api/2.0/mlflow/runs/create", &known, &p));
    assert_true(known);
    assert_null(api_route_find("GET", "/api/2.0/mlflow/runs/nothing", &known, &p));
    assert_false(known);
    assert_null(api_route_find("GET", "/runs/create", &known, &p));
    assert_false(known);
    /* A parameter: one segment, or (an artifact path) the whole tail. */
    const api_route *r = api_route_find("GET", "/task/abc", &known, &p);
    assert_non_null(r);
    assert_string_equal(p, "abc");
    assert_null(api_route_find("GET", "/task/abc/def", &known, &p));
    r = api_route_find("PUT", "/api/2.0/mlflow-artifacts/artifacts/1/r/a b/c.txt", &known, &p);
    assert_non_null(r);
    assert_int_equal(r->body, API_BODY_RAW);
    assert_string_equal(p, "1/r/a b/c.txt");
    assert_null(api_route_find("PUT", "/api/2.0/mlflow-artifacts/artifacts", &known, &p));
    assert_true(known);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_error_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_and_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_and_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_and_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numeric_experiment_ids, setup, teardown),
        cmocka_unit_test(test_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
