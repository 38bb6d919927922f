/* history.c - metric history answered without building it in memory:
 * metrics/get-history streamed a page at a time when the client asks for
 * the whole of it (what MLflow's client does), and
 * metrics/get-history-bulk-interval (MLflow 2.11), sampled in SQL. */
#include <stdlib.h>
#include <string.h>

#include "../util/jsonx.h"
#include "api.h"
#include "common.h"
#include "../store/validate.h"

/* MLflow 2.11's caps for get-history-bulk-interval. */
#define MAX_RUNS_GET_METRIC_HISTORY_BULK 100
#define MAX_RESULTS_PER_RUN 2500

typedef struct api_history_stream {
    api_stream base;
    store_history *h;
    int state; /* 0: the first page is pending, 1: more pages, 2: done */
    sbuf first; /* the first page, read before answering */
} api_history_stream;

static int api_history_next(api_stream *base, sbuf *out, cerr *e)
{
    api_history_stream *s = (api_history_stream *)base;
    switch (s->state) {
    case 0:
        sbuf_puts(out, "{\"metrics\":[");
        sbuf_append(out, sbuf_str(&s->first), s->first.len);
        sbuf_free(&s->first);
        s->state = 1;
        return 1;
    case 1: {
        int n = store_history_next(s->h, out, e);
        if (n < 0)
            return -1;
        if (n == 0) {
            sbuf_puts(out, "]}");
            s->state = 2;
        }
        return 1;
    }
    default:
        return 0;
    }
}

static void api_history_free(api_stream *base)
{
    api_history_stream *s = (api_history_stream *)base;
    store_history_close(s->h);
    sbuf_free(&s->first);
    free(s);
}

int api_metrics_get_history_ex(const api_ctx *ctx, const api_request *req, api_result *res,
                               cerr *e)
{
    api_history_req h;
    if (api_history_args(req->args, &h, e) < 0)
        return -1;
    if (h.has_max || (h.token && h.token[0]))
        return api_metrics_get_history(ctx, req, &res->json, e);

    api_history_stream *s = calloc(1, sizeof *s);
    if (s == NULL)
        abort();
    s->base = (api_stream){api_history_next, api_history_free};
    /* The first page is read now, so an error still gets its own status
     * and an empty history answers {} as MLflow's does. */
    int n = store_history_open(ctx->st, h.run_id, h.key, &s->h, e);
    if (n == 0)
        n = store_history_next(s->h, &s->first, e);
    if (n <= 0) {
        api_history_free(&s->base);
        if (n < 0)
            return -1;
        res->json = json_object();
        return 0;
    }
    res->stream = &s->base;
    return 0;
}

/* start_step and end_step: both or neither, as MLflow insists. */
static int api_interval_range(const json_t *args, int64_t *start, int64_t *end, cerr *e)
{
    bool has_start, has_end;
    if (jsonx_int64(args, "start_step", start, &has_start, e) < 0 ||
        jsonx_int64(args, "end_step", end, &has_end, e) < 0)
        return -1;
    if (has_start != has_end)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "If either start step or end step are specified, both must be "
                        "specified.");
    if (!has_start) { /* MLflow: from step 0 to the last step logged */
        *start = 0;
        *end = INT64_MAX;
    } else if (*start > *end) {
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "end_step must be greater than start_step. Found start_step=%lld and "
                        "end_step=%lld.",
                        (long long)*start, (long long)*end);
    }
    return 0;
}

int api_metrics_get_history_bulk_interval(const api_ctx *ctx, const api_request *req,
                                          api_result *res, cerr *e)
{
    const char **run_ids = NULL, *key;
    size_t nruns = 0;
    int64_t start, end, max_results = MAX_RESULTS_PER_RUN;
    bool has_max;
    int rc = jsonx_strings(req->args, "run_ids", &run_ids, &nruns, e);
    if (rc == 0 && nruns == 0)
        rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                      "Missing value for required parameter 'run_ids'. See the API docs for "
                      "more information about request parameters.");
    if (rc == 0 && nruns > MAX_RUNS_GET_METRIC_HISTORY_BULK)
        rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                      "GetMetricHistoryBulkInterval request must specify at most %d run_ids. "
                      "Received %zu run_ids.",
                      MAX_RUNS_GET_METRIC_HISTORY_BULK, nruns);
    if (rc == 0)
        rc = jsonx_string_required(req->args, "metric_key", &key, e);
    if (rc == 0)
        rc = jsonx_int64(req->args, "max_results", &max_results, &has_max, e);
    if (rc == 0 && has_max && (max_results < 1 || max_results > MAX_RESULTS_PER_RUN))
        rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "max_results must be between 1 and %d.",
                      MAX_RESULTS_PER_RUN);
    if (rc == 0)
        rc = api_interval_range(req->args, &start, &end, e);
    if (rc == 0)
        rc = store_history_interval(ctx->st, run_ids, nruns, key, start, end, max_results,
                                    &res->text, e);
    free(run_ids);
    return rc;
}
