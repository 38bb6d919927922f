/* fuzz_search.c - libFuzzer harness for the search grammar (store/search*.c).
 *
 * The input is split at its first newline: before it is the filter, after
 * it are order_by clauses, one per line. Each is compiled for runs and for
 * experiments, for SQLite and PostgreSQL, and the results are checked for
 * the properties the store relies on: errors are INVALID_PARAMETER_VALUE,
 * and on success every '?' placeholder has exactly one bind. See README.md
 * for the build line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/search.h"

#define MAX_ORDER 8

static void check(int rv, const search_sql *s, const cerr *e, search_dialect d)
{
    if (rv != 0) {
        if (e->code != CERR_INVALID_PARAMETER_VALUE || e->msg[0] == '\0')
            abort();
        return;
    }
    if (s->where.len == 0 || s->order.len == 0)
        abort();
    if (d == SEARCH_SQLITE) {
        size_t marks = 0;
        for (const char *p = sbuf_str(&s->where); *p; p++)
            marks += *p == '?';
        for (const char *p = sbuf_str(&s->order); *p; p++)
            marks += *p == '?';
        if (marks != s->nbinds)
            abort();
    }
    for (size_t i = 0; i < s->nbinds; i++)
        if (s->binds[i].type == SEARCH_BIND_TEXT && s->binds[i].text == NULL)
            abort();
}

static void run(const char *filter, const char **order, size_t n)
{
    for (int d = SEARCH_SQLITE; d <= SEARCH_POSTGRES; d++) {
        search_sql s;
        cerr e = {0};
        int rv = search_runs_compile(filter, order, n, (search_dialect)d, 1, &s, &e);
        check(rv, &s, &e, (search_dialect)d);
        search_sql_free(&s);
        rv = search_experiments_compile(filter, order, n, (search_dialect)d, 1, &s, &e);
        check(rv, &s, &e, (search_dialect)d);
        search_sql_free(&s);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0'; /* the API takes C strings: an embedded NUL ends them */
    const char *order[MAX_ORDER];
    size_t n = 0;
    char *nl = strchr(buf, '\n');
    if (nl != NULL) {
        *nl = '\0';
        for (char *p = nl + 1; p != NULL && n < MAX_ORDER;) {
            char *next = strchr(p, '\n');
            if (next != NULL)
                *next++ = '\0';
            order[n++] = p;
            p = next;
        }
    }
    run(buf, order, n);
    run(buf, NULL, 0);
    free(buf);
    return 0;
}
