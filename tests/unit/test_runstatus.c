/* test_runstatus.c - MLflow's RunStatus table (util/runstatus.c): names and
 * numbers agree with the protobuf enum, parsing is exact, and only FINISHED,
 * FAILED and KILLED are terminal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "util/runstatus.h"

static void test_names_and_numbers(void **state)
{
    (void)state;
    static const char *const want[] = {NULL, "RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"};
    for (int s = 0; s <= RUNSTATUS_MAX + 1; s++) {
        const char *name = runstatus_name(s);
        if (s == 0 || s > RUNSTATUS_MAX) {
            assert_null(name);
            continue;
        }
        assert_string_equal(name, want[s]);
        assert_int_equal(runstatus_parse(name), s);
    }
    assert_null(runstatus_name(-1));
    char list[128] = "";
    for (int s = RUNSTATUS_RUNNING; s <= RUNSTATUS_MAX; s++)
        strcat(strcat(list, s > RUNSTATUS_RUNNING ? ", " : ""), runstatus_name(s));
    assert_string_equal(list, RUNSTATUS_LIST);
}

static void test_parse_is_exact(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "running", "RUNNING ", " KILLED", "FINISH", "FINISHEDX", "3", "UNKNOWN"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(runstatus_parse(bad[i]), RUNSTATUS_NONE);
    assert_int_equal(runstatus_parse(NULL), RUNSTATUS_NONE);
}

static void test_terminal(void **state)
{
    (void)state;
    assert_true(runstatus_is_terminal("FINISHED"));
    assert_true(runstatus_is_terminal("FAILED"));
    assert_true(runstatus_is_terminal("KILLED"));
    assert_false(runstatus_is_terminal("RUNNING"));
    assert_false(runstatus_is_terminal("SCHEDULED"));
    assert_false(runstatus_is_terminal("finished"));
    assert_false(runstatus_is_terminal(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_numbers),
        cmocka_unit_test(test_parse_is_exact),
        cmocka_unit_test(test_terminal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
