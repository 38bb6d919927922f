/* search.c - temporary stub of search.h: empty filter and default ordering
 * only. Replaced by the real grammar (search_lex/parse/compile) shortly. */
#include "search.h"

#include <stdlib.h>
#include <string.h>

static int search_stub(const char *filter, size_t norder_by, const char *order,
                       search_sql *out, cerr *e)
{
    memset(out, 0, sizeof *out);
    if ((filter && filter[0]) || norder_by)
        return cerr_set(e, CERR_NOT_IMPLEMENTED, "search filters are not implemented yet");
    sbuf_puts(&out->where, "1=1");
    sbuf_puts(&out->order, order);
    return 0;
}

int search_runs_compile(const char *filter, const char **order_by, size_t norder_by,
                        search_dialect dialect, int first_param, search_sql *out, cerr *e)
{
    (void)order_by, (void)dialect, (void)first_param;
    return search_stub(filter, norder_by, "runs.start_time DESC, runs.run_uuid ASC", out, e);
}

int search_experiments_compile(const char *filter, const char **order_by, size_t norder_by,
                               search_dialect dialect, int first_param, search_sql *out,
                               cerr *e)
{
    (void)order_by, (void)dialect, (void)first_param;
    return search_stub(filter, norder_by, "experiments.experiment_id ASC", out, e);
}

void search_sql_free(search_sql *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nbinds; i++)
        free(s->binds[i].text);
    free(s->binds);
    sbuf_free(&s->where);
    sbuf_free(&s->order);
    memset(s, 0, sizeof *s);
}
