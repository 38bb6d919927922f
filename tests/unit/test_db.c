/* test_db.c - the PostgreSQL driver's rewriting of the store's SQL ('?' ->
 * $N, json_each -> json_array_elements_text), a pure function: no server
 * needed here (tests/api runs the whole API on a real PostgreSQL). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "store/postgres.h"

typedef struct {
    const char *in, *out;
    int nparams;
} translate_case;

static const translate_case cases[] = {
    {"SELECT 1", "SELECT 1", 0},
    {"", "", 0},
    {"SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = $1 AND c = $2", 2},
    /* literals and quoted names keep their '?', doubled quotes included */
    {"SELECT '?', ? FROM t", "SELECT '?', $1 FROM t", 1},
    {"SELECT 'it''s ?' || ?", "SELECT 'it''s ?' || $1", 1},
    {"SELECT \"we?ird\" FROM t WHERE x = ?", "SELECT \"we?ird\" FROM t WHERE x = $1", 1},
    {"SELECT '' , ?", "SELECT '' , $1", 1},
    /* a comment's '?' is not a placeholder; the next line's is */
    {"SELECT 1 -- why?\nWHERE x = ?", "SELECT 1 -- why?\nWHERE x = $1", 1},
    /* lists bound as one JSON text */
    {"x IN (SELECT value FROM json_each(?))",
     "x IN (SELECT value FROM json_array_elements_text($1))", 1},
    {"x IN (SELECT CAST(value AS BIGINT) FROM json_each(?)) AND y IN (?, ?)",
     "x IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text($1)) AND y IN ($2, $3)", 3},
    /* only the whole word, and never inside a literal */
    {"SELECT my_json_each, json_eachx, 'json_each(' FROM t",
     "SELECT my_json_each, json_eachx, 'json_each(' FROM t", 0},
    /* more than nine: numbers grow */
    {"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
     "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)", 11},
    /* an unterminated literal is copied as is (the server will refuse it) */
    {"SELECT 'abc ?", "SELECT 'abc ?", 0},
};

static void test_translate_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = -1;
        char *out = pg_sql_translate(cases[i].in, &n);
        assert_string_equal(out, cases[i].out);
        assert_int_equal(n, cases[i].nparams);
        free(out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_translate_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
