/* test_client_format.c - libcairn's JSON writers for log-batch bodies: the
 * exact "%.17g" formatter (fmt_double17) against glibc on special and random
 * values, and the JSON string / number writers. No server needed. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/client/internal.h"
#include "../../src/util/fmt17.h"

/* 1 when v was in fmt_double17's range (and matched glibc), else 0. */
static int check(double v)
{
    char a[32], b[40];
    if (fmt_double17(v, a) < 0)
        return 0;
    snprintf(b, sizeof b, "%.17g", v);
    assert_string_equal(a, b);
    return 1;
}

static void test_fmt17_specials(void **state)
{
    (void)state;
    static const double vals[] = {0.001, 0.0010000000000000002, 0.0019999999999999996, 0.71, 0.5, 1.0 / 3,
                                  2.0 / 3, 0.1, 0.2, 0.3, 0.503, 1.0 + 1e-15, 123456.789, 999999999999999.9,
                                  1e15, 4503599627370495.5, 9007199254740991.0, 0.99999999999999989,
                                  1e-4, 0.00012345, 9.9999999999999995e-05, 1e-5, 1.0 / 3e7,
                                  1.2345678901234567e-10, 0x1p-60, 1e-18, 9.99999999999999999e-5};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        check(vals[i]);
        check(-vals[i]);
    }
    char out[32];
    assert_int_equal(fmt_double17(1e-19, out), -1);         /* outside the exact range: snprintf */
    assert_int_equal(fmt_double17(0.0, out), -1);
    assert_int_equal(fmt_double17(9007199254740992.0, out), -1);
    assert_int_equal(fmt_double17(NAN, out), -1);
}

static void test_fmt17_random(void **state)
{
    (void)state;
    uint64_t x = 88172645463325252ULL;
    long in_range = 0, n = 300000;
    for (long i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v;
        if (i % 3 == 0) {   /* any bit pattern with an exponent in range */
            uint64_t bits = (x & 0x000FFFFFFFFFFFFFULL) | ((uint64_t)(963 + (x >> 52) % 114) << 52);
            memcpy(&v, &bits, sizeof v);
        } else if (i % 3 == 1) {
            v = (double)(x % 1000000) * 0.001 + 0.5;
        } else {
            v = (double)(x >> 11) / 9007199254740992.0 * pow(10, (int)(x % 35) - 19);
        }
        in_range += check(v);
    }
    assert_true(in_range > n * 9 / 10); /* the comparison is not vacuous */
}

static void test_json_writers(void **state)
{
    (void)state;
    cl_buf b = {0};
    assert_int_equal(cl_buf_json_str(&b, "a\"b\\c\n\x01"), CAIRN_OK);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\u000a\\u0001\"");
    b.len = 0;
    cl_buf_json_i64(&b, INT64_MIN);
    cl_buf_puts(&b, " ");
    cl_buf_json_i64(&b, 0);
    cl_buf_puts(&b, " ");
    cl_buf_json_double(&b, NAN);
    cl_buf_json_double(&b, -INFINITY);
    cl_buf_json_double(&b, 42.0);
    cl_buf_puts(&b, " ");
    cl_buf_json_double(&b, 1e-300);
    assert_string_equal(b.data, "-9223372036854775808 0 \"NaN\"\"-Infinity\"42 1e-300");
    cl_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fmt17_specials),
        cmocka_unit_test(test_fmt17_random),
        cmocka_unit_test(test_json_writers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
