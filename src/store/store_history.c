/* store_history.c - a metric's history read as a stream, and sampled for
 * get-history-bulk-interval.
 *
 * The stream reads the history in pages of STORE_HISTORY_PAGE rows along
 * cairn_metrics_history (store_indexes.c), each page in its own short read
 * transaction and resumed after the last row sent (keyset, not OFFSET), so
 * a history of any length costs one page of memory and holds no database
 * connection while the client is slow to read. Rows are written straight
 * to JSON text: building a jansson object per row costs more than the query.
 *
 * Like a paged read, a stream does not see rows logged behind its position
 * while it runs; metrics are only ever added, so nothing it sent goes stale. */
#include "store_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/fmt17.h"
#include "../util/sbuf.h"

struct store_history {
    store *st;
    char *run_id, *key;
    char *key_json;   /* "key":"...", escaped once */
    bool started, done;
    /* the last row sent: where the next page starts */
    int64_t step, timestamp;
    double value;
    int64_t is_nan;
};

/* Decimal int64 without printf's parsing of a format. */
static void store_put_int(sbuf *b, int64_t v)
{
    char tmp[24];
    int n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do
        tmp[n++] = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (v < 0)
        tmp[n++] = '-';
    char out[24];
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    sbuf_append(b, out, (size_t)n);
}

/* A double as jansson writes it (%.17g, with ".0" when it looks integral),
 * so a streamed history reads exactly like any other response. */
static void store_put_double(sbuf *b, double v)
{
    char tmp[40];
    int n = fmt_double17(v, tmp); /* the same text, without printf's cost */
    if (n < 0)
        n = strfromd(tmp, sizeof tmp, "%.17g", v);
    if (strpbrk(tmp, ".eE") == NULL && strspn(tmp, "-0123456789") == (size_t)n) {
        tmp[n++] = '.';
        tmp[n++] = '0';
    }
    sbuf_append(b, tmp, (size_t)n);
}

/* One Metric object: {"key":..,"value":..,"timestamp":..,"step":..}. */
static void store_put_metric(sbuf *b, const char *key_json, double value, bool is_nan,
                             int64_t timestamp, int64_t step, const char *run_id)
{
    sbuf_putc(b, '{');
    sbuf_puts(b, key_json);
    sbuf_puts(b, ",\"value\":");
    if (is_nan)
        sbuf_puts(b, "\"NaN\"");
    else
        store_put_double(b, value);
    sbuf_puts(b, ",\"timestamp\":");
    store_put_int(b, timestamp);
    sbuf_puts(b, ",\"step\":");
    store_put_int(b, step);
    if (run_id) {
        sbuf_puts(b, ",\"run_id\":\"");
        sbuf_puts(b, run_id); /* run ids are [A-Za-z0-9_-]: nothing to escape */
        sbuf_putc(b, '"');
    }
    sbuf_putc(b, '}');
}

static char *store_key_json(const char *key)
{
    json_t *k = json_string(key);
    char *text = k ? json_dumps(k, JSON_ENCODE_ANY) : NULL;
    json_decref(k);
    sbuf b = SBUF_INIT;
    sbuf_puts(&b, "\"key\":");
    sbuf_puts(&b, text ? text : "\"\"");
    free(text);
    return sbuf_detach(&b);
}

int store_history_open(store *st, const char *run_id, const char *key, store_history **out,
                       cerr *e)
{
    (void)e;
    store_history *h = calloc(1, sizeof *h);
    if (h == NULL || (h->run_id = strdup(run_id)) == NULL || (h->key = strdup(key)) == NULL)
        abort();
    h->st = st;
    h->key_json = store_key_json(key);
    *out = h;
    return 0;
}

/* The page query: the first one, or the one after the last row sent. The
 * row-value comparison is an index range on cairn_metrics_history. */
static db_stmt *store_history_page(db_conn *c, store_history *h, int64_t limit, cerr *e)
{
    db_stmt *s;
    if (!h->started) {
        s = db_prep(c,
                    "SELECT value, timestamp, step, is_nan FROM metrics "
                    "WHERE run_uuid = ? AND key = ? "
                    "ORDER BY step, timestamp, value, is_nan LIMIT ?",
                    e);
        if (s == NULL || db_bindf(s, e, "tti", h->run_id, h->key, limit) < 0)
            return NULL;
        return s;
    }
    s = db_prep(c,
                "SELECT value, timestamp, step, is_nan FROM metrics "
                "WHERE run_uuid = ? AND key = ? AND (step, timestamp, value, is_nan) > (?, ?, ?, ?) "
                "ORDER BY step, timestamp, value, is_nan LIMIT ?",
                e);
    if (s == NULL || db_bindf(s, e, "ttiidii", h->run_id, h->key, h->step, h->timestamp,
                              h->value, h->is_nan, limit) < 0)
        return NULL;
    return s;
}

int store_history_next(store_history *h, sbuf *out, cerr *e)
{
    if (h->done)
        return 0;
    db_conn *c = db_read_begin(h->st, e);
    if (c == NULL)
        return -1;
    db_stmt *s = store_history_page(c, h, STORE_HISTORY_PAGE, e);
    int rc = s ? 0 : -1, n = 0;
    while (rc == 0 && (rc = db_row(s, e)) == 1) {
        rc = 0;
        h->value = db_double(s, 0);
        h->timestamp = db_int64(s, 1);
        h->step = db_int64(s, 2);
        h->is_nan = db_bool(s, 3);
        if (h->started || n > 0)
            sbuf_putc(out, ',');
        store_put_metric(out, h->key_json, h->value, h->is_nan, h->timestamp, h->step, NULL);
        n++;
    }
    db_read_end(h->st, c);
    if (rc < 0)
        return -1;
    if (n > 0)
        h->started = true;
    if (n < STORE_HISTORY_PAGE)
        h->done = true;
    return n;
}

void store_history_close(store_history *h)
{
    if (h == NULL)
        return;
    free(h->run_id);
    free(h->key);
    free(h->key_json);
    free(h);
}

/* ---- get-history-bulk-interval ---- */

/* The steps to return, as MLflow 2.11 picks them: of the distinct steps the
 * runs logged in [start, end], max_results evenly spaced ones (index
 * floor(k * count / max) for k < max) and the last one, plus each run's
 * first and last step when they fall in the range. All of it in SQL: one
 * index range scan per run, whatever the history's length. */
static const char store_interval_steps_sql[] =
    "WITH a AS (SELECT run_uuid, step FROM metrics "
    "           WHERE run_uuid IN (SELECT value FROM json_each(?)) AND key = ?), "
    "d AS (SELECT DISTINCT step FROM a WHERE step BETWEEN ? AND ?), "
    "n AS (SELECT step, ROW_NUMBER() OVER (ORDER BY step) - 1 AS i, COUNT(*) OVER () AS cnt "
    "      FROM d), "
    "k AS (SELECT step, i, cnt, (i * ? + cnt - 1) / cnt AS j FROM n) "
    "SELECT step FROM k WHERE cnt <= ? OR i = cnt - 1 OR (j < ? AND (j * cnt) / ? = i) "
    "UNION SELECT s FROM (SELECT MIN(step) AS s FROM a GROUP BY run_uuid "
    "                     UNION SELECT MAX(step) FROM a GROUP BY run_uuid) b "
    "      WHERE s BETWEEN ? AND ? "
    "ORDER BY 1";

static int store_interval_steps(db_conn *c, const char *runs_json, const char *key,
                                int64_t start, int64_t end, int64_t max, char **steps_json,
                                cerr *e)
{
    db_stmt *s = db_prep(c, store_interval_steps_sql, e);
    if (s == NULL ||
        db_bindf(s, e, "ttiiiiiiii", runs_json, key, start, end, max, max, max, max, start,
                 end) < 0)
        return -1;
    sbuf b = SBUF_INIT;
    sbuf_putc(&b, '[');
    int rc, n = 0;
    while ((rc = db_row(s, e)) == 1) {
        if (n++)
            sbuf_putc(&b, ',');
        store_put_int(&b, db_int64(s, 0));
    }
    sbuf_putc(&b, ']');
    if (rc < 0) {
        sbuf_free(&b);
        return -1;
    }
    *steps_json = sbuf_detach(&b);
    return 0;
}

/* Append run_id's rows at the chosen steps, in step order. */
static int store_interval_run(db_conn *c, const char *run_id, const char *key,
                              const char *key_json, const char *steps_json, sbuf *out, int *n,
                              cerr *e)
{
    db_stmt *s = db_prep(c,
                         "SELECT value, timestamp, step, is_nan FROM metrics "
                         "WHERE run_uuid = ? AND key = ? "
                         "AND step IN (SELECT CAST(value AS BIGINT) FROM json_each(?)) "
                         "ORDER BY step, timestamp, value, is_nan LIMIT ?",
                         e);
    if (s == NULL ||
        db_bindf(s, e, "ttti", run_id, key, steps_json, (int64_t)STORE_HISTORY_RUN_MAX) < 0)
        return -1;
    int rc;
    while ((rc = db_row(s, e)) == 1) {
        if ((*n)++)
            sbuf_putc(out, ',');
        store_put_metric(out, key_json, db_double(s, 0), db_bool(s, 3), db_int64(s, 1),
                         db_int64(s, 2), run_id);
    }
    return rc < 0 ? -1 : 0;
}

int store_history_interval(store *st, const char *const *run_ids, size_t nruns, const char *key,
                           int64_t start_step, int64_t end_step, int64_t max_results, sbuf *out,
                           cerr *e)
{
    char *runs_json = store_json_list(run_ids, nruns);
    char *key_json = store_key_json(key);
    char *steps_json = NULL;
    db_conn *c = db_read_begin(st, e);
    int rc = c ? store_interval_steps(c, runs_json, key, start_step, end_step, max_results,
                                      &steps_json, e)
               : -1;
    int n = 0;
    sbuf_puts(out, "{\"metrics\":[");
    for (size_t i = 0; rc == 0 && i < nruns; i++)
        rc = store_interval_run(c, run_ids[i], key, key_json, steps_json, out, &n, e);
    sbuf_puts(out, "]}");
    if (c)
        db_read_end(st, c);
    if (rc == 0 && n == 0) { /* protobuf's JSON leaves an empty list out */
        sbuf_reset(out);
        sbuf_puts(out, "{}");
    }
    free(runs_json);
    free(key_json);
    free(steps_json);
    return rc;
}
