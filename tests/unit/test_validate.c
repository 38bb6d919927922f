/* test_validate.c - MLflow's input rules (api/validate.c) and the
 * protobuf-JSON field accessors (util/jsonx.c), as tables of cases. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/validate.h"
#include "util/jsonx.h"
#include "util/misc.h"

static void test_normpath(void **state)
{
    (void)state;
    static const struct { const char *in, *out; } cases[] = {
        {"", "."},          {"a", "a"},           {"a/b", "a/b"},      {"a//b", "a/b"},
        {"a/./b", "a/b"},   {"a/../b", "b"},      {"../a", "../a"},    {"/../a", "/a"},
        {"a/", "a"},        {"/a", "/a"},         {"//a", "//a"},      {"///a", "/a"},
        {".", "."},         {"a/..", "."},        {"a/../..", ".."},   {"../../x", "../../x"},
        {"a b/c.d", "a b/c.d"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = validate_normpath(cases[i].in);
        if (strcmp(got, cases[i].out) != 0)
            fail_msg("normpath(%s) = %s, want %s", cases[i].in, got, cases[i].out);
        free(got);
    }
}

static void test_entity_names(void **state)
{
    (void)state;
    static const struct { const char *name; int ok; const char *msg; } cases[] = {
        {"loss", 1, NULL},
        {"train/loss", 1, NULL},
        {"a-b_c.d e", 1, NULL},
        {"précision", 1, NULL},          /* Python's \w is Unicode-aware */
        {"\xe6\x97\xa5\xe6\x9c\xac", 1, NULL},
        {"", 0, "would resolve to '.'"},
        {"a/../b", 0, "would resolve to 'b'"},
        {"/abs", 0, "would resolve to '/abs'"},
        {"a/", 0, "would resolve to 'a'"},
        {"..", 0, "would resolve to '..'"},
        {"a;b", 0, "Names may only contain"},
        {"a$b", 0, "Names may only contain"},
        {"a\\b", 0, "Names may only contain"},
        {"tab\there", 0, "Names may only contain"},
        {"\xe2\x82\xac", 0, "Names may only contain"}, /* the euro sign is not \w */
        {"\xff\xfe", 0, "Names may only contain"},     /* not UTF-8 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cerr e = {0};
        int rc = validate_entity_name("metric", cases[i].name, &e);
        if ((rc == 0) != cases[i].ok)
            fail_msg("name '%s': rc %d", cases[i].name, rc);
        if (!cases[i].ok) {
            assert_int_equal(e.code, CERR_INVALID_PARAMETER_VALUE);
            if (strstr(e.msg, cases[i].msg) == NULL)
                fail_msg("name '%s': message '%s' lacks '%s'", cases[i].name, e.msg,
                         cases[i].msg);
        }
    }
    cerr e = {0};
    assert_int_equal(validate_entity_name("parameter", NULL, &e), -1);
    assert_non_null(strstr(e.msg, "Parameter name cannot be None"));
}

static char *repeat(const char *unit, size_t n)
{
    size_t l = strlen(unit);
    char *s = malloc(l * n + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * l, unit, l);
    s[l * n] = '\0';
    return s;
}

static void test_lengths(void **state)
{
    (void)state;
    cerr e = {0};
    char *k250 = repeat("k", 250), *k251 = repeat("k", 251);
    char *v6000 = repeat("v", 6000), *v6001 = repeat("v", 6001);
    char *u6000 = repeat("\xc3\xa9", 6000); /* 6000 characters, 12000 bytes */
    char *t5001 = repeat("t", 5001);
    assert_int_equal(validate_param(k250, v6000, &e), 0);
    assert_int_equal(validate_param(k250, u6000, &e), 0);
    assert_int_equal(validate_param(k251, "x", &e), -1);
    assert_non_null(strstr(e.msg, "Param key"));
    assert_non_null(strstr(e.msg, "had length 251, which exceeded length limit of 250"));
    assert_int_equal(validate_param("p", v6001, &e), -1);
    assert_non_null(strstr(e.msg, "exceeded length limit of 6000"));
    assert_int_equal(validate_tag("t", t5001, &e), -1);
    assert_non_null(strstr(e.msg, "Tag value"));
    assert_int_equal(validate_experiment_tag("t", t5001, &e), -1);
    assert_int_equal(validate_metric(k251, 1.0, true, 0, &e), -1);
    assert_non_null(strstr(e.msg, "Metric name"));
    free(k250); free(k251); free(v6000); free(v6001); free(u6000); free(t5001);
}

static void test_metric_rules(void **state)
{
    (void)state;
    cerr e = {0};
    assert_int_equal(validate_metric("m", NAN, true, 0, &e), 0);
    assert_int_equal(validate_metric("m", INFINITY, true, 5, &e), 0);
    assert_int_equal(validate_metric("m", 1, true, -1, &e), -1);
    assert_non_null(strstr(e.msg, "Got invalid timestamp -1"));
    assert_int_equal(validate_metric("m", 1, false, 0, &e), -1);
    assert_non_null(strstr(e.msg, "valid double"));
}

static void test_experiment_names_and_batches(void **state)
{
    (void)state;
    cerr e = {0};
    char *n500 = repeat("n", 500), *n501 = repeat("n", 501);
    assert_int_equal(validate_experiment_name(n500, &e), 0);
    assert_int_equal(validate_experiment_name(n501, &e), -1);
    assert_non_null(strstr(e.msg, "maximum length of 500"));
    assert_int_equal(validate_experiment_name("", &e), -1);
    assert_int_equal(validate_experiment_name(NULL, &e), -1);
    assert_int_equal(validate_batch_limit("metrics", 1000, 1000, &e), 0);
    assert_int_equal(validate_batch_limit("metrics", 1000, 1001, &e), -1);
    assert_non_null(strstr(e.msg, "at most 1000 metrics. Got 1001 metrics"));
    free(n500); free(n501);
}

static void test_run_ids(void **state)
{
    (void)state;
    static const struct { const char *id; int ok; } cases[] = {
        {"0123456789abcdef0123456789abcdef", 1}, {"a", 1}, {"A-b_c", 1},
        {"", 0}, {"-a", 0}, {"_a", 0}, {"a/b", 0}, {"a b", 0}, {"a'--", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cerr e = {0};
        if ((validate_run_id(cases[i].id, &e) == 0) != cases[i].ok)
            fail_msg("run id '%s'", cases[i].id);
    }
    char *long_id = repeat("a", 257);
    cerr e = {0};
    assert_int_equal(validate_run_id(long_id, &e), -1);
    long_id[256] = '\0';
    assert_int_equal(validate_run_id(long_id, &e), 0);
    free(long_id);
}

static void test_jsonx_numbers(void **state)
{
    (void)state;
    static const struct { const char *json; int ok; int64_t want; } ints[] = {
        {"{\"v\": 5}", 1, 5},           {"{\"v\": \"5\"}", 1, 5},
        {"{\"v\": \"-7\"}", 1, -7},     {"{\"v\": 5.0}", 1, 5},
        {"{\"v\": 5.5}", 0, 0},         {"{\"v\": \"abc\"}", 0, 0},
        {"{\"v\": \"\"}", 0, 0},        {"{\"v\": \"5x\"}", 0, 0},
        {"{\"v\": true}", 0, 0},        {"{\"v\": [1]}", 0, 0},
        {"{\"v\": \"99999999999999999999\"}", 0, 0},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        json_t *j = json_loads(ints[i].json, 0, NULL);
        int64_t v = 0;
        bool present;
        cerr e = {0};
        int rc = jsonx_int64(j, "v", &v, &present, &e);
        if ((rc == 0) != ints[i].ok || (rc == 0 && v != ints[i].want))
            fail_msg("int64 %s: rc %d v %lld", ints[i].json, rc, (long long)v);
        if (rc < 0 && strstr(e.msg, "for parameter 'v' supplied") == NULL)
            fail_msg("int64 %s: message %s", ints[i].json, e.msg);
        json_decref(j);
    }
    static const struct { const char *json; int ok; double want; } dbls[] = {
        {"{\"v\": 1.5}", 1, 1.5},          {"{\"v\": 2}", 1, 2},
        {"{\"v\": \"3.25\"}", 1, 3.25},    {"{\"v\": \"Infinity\"}", 1, INFINITY},
        {"{\"v\": \"-Infinity\"}", 1, -INFINITY},
        {"{\"v\": \"nan\"}", 0, 0},        {"{\"v\": \"inf\"}", 0, 0},
        {"{\"v\": \"0x10\"}", 0, 0},       {"{\"v\": false}", 0, 0},
        {"{\"v\": \"1e999\"}", 0, 0},
    };
    for (size_t i = 0; i < sizeof dbls / sizeof dbls[0]; i++) {
        json_t *j = json_loads(dbls[i].json, 0, NULL);
        double v = 0;
        bool present;
        cerr e = {0};
        int rc = jsonx_double(j, "v", &v, &present, &e);
        if ((rc == 0) != dbls[i].ok || (rc == 0 && v != dbls[i].want))
            fail_msg("double %s: rc %d v %g", dbls[i].json, rc, v);
        json_decref(j);
    }
    json_t *j = json_loads("{\"v\": \"NaN\"}", 0, NULL);
    double v = 0;
    bool present = false;
    assert_int_equal(jsonx_double(j, "v", &v, &present, NULL), 0);
    assert_true(present && isnan(v));
    json_decref(j);
}

static void test_jsonx_strings(void **state)
{
    (void)state;
    json_t *j = json_loads("{\"a\": \"x\", \"b\": [\"1\", \"2\"], \"c\": [1], \"d\": null,"
                           " \"e\": 3, \"f\": \"\"}", 0, NULL);
    const char **list;
    size_t n;
    cerr e = {0};
    assert_int_equal(jsonx_strings(j, "a", &list, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0], "x");
    free(list);
    assert_int_equal(jsonx_strings(j, "b", &list, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[1], "2");
    free(list);
    assert_int_equal(jsonx_strings(j, "c", &list, &n, &e), -1);
    assert_int_equal(jsonx_strings(j, "zz", &list, &n, &e), 0);
    assert_null(list);
    const char *s;
    assert_int_equal(jsonx_string(j, "d", &s, &e), 0);
    assert_null(s);
    assert_int_equal(jsonx_string(j, "e", &s, &e), -1);
    assert_non_null(strstr(e.msg, "Invalid value 3 for parameter 'e' supplied. Hint: Value was "
                                  "of type 'int'."));
    assert_int_equal(jsonx_string_required(j, "f", &s, &e), -1);
    assert_non_null(strstr(e.msg, "Missing value for required parameter 'f'."));
    assert_int_equal(jsonx_string_required(j, "missing", &s, &e), -1);
    json_decref(j);
}

static void test_page_tokens(void **state)
{
    (void)state;
    int64_t off;
    for (int64_t v = 0; v < 100000; v = v * 3 + 7) {
        char *t = token_from_offset(v);
        assert_true(token_to_offset(t, &off));
        assert_int_equal(off, v);
        free(t);
    }
    assert_true(token_to_offset(NULL, &off) && off == 0);
    assert_true(token_to_offset("", &off) && off == 0);
    static const char *bad[] = {"!!!!", "abc", "eyJvZmZzZXQiOiAtMX0=", /* offset -1 */
                                "bm90IGpzb24=", /* "not json" */ "eyJ4IjogMX0="};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (token_to_offset(bad[i], &off))
            fail_msg("token %s accepted", bad[i]);
}

static void test_ids(void **state)
{
    (void)state;
    char a[33], b[33];
    ids_hex32(a);
    ids_hex32(b);
    assert_int_equal(strlen(a), 32);
    assert_string_not_equal(a, b);
    assert_int_equal(strspn(a, "0123456789abcdef"), 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normpath),        cmocka_unit_test(test_entity_names),
        cmocka_unit_test(test_lengths),         cmocka_unit_test(test_metric_rules),
        cmocka_unit_test(test_experiment_names_and_batches),
        cmocka_unit_test(test_run_ids),         cmocka_unit_test(test_jsonx_numbers),
        cmocka_unit_test(test_jsonx_strings),   cmocka_unit_test(test_page_tokens),
        cmocka_unit_test(test_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
