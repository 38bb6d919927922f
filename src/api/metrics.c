/* metrics.c - metrics/get-history: every logged value of one metric of one
 * run, oldest step first. Paged only when the client asks for it. */
#include <stdlib.h>

#include "../util/jsonx.h"
#include "api.h"
#include "common.h"
#include "../store/validate.h"

int api_history_args(const json_t *args, api_history_req *h, cerr *e)
{
    h->max_results = 0;
    return api_run_id(args, &h->run_id, e) < 0 ||
                   jsonx_string_required(args, "metric_key", &h->key, e) < 0 ||
                   jsonx_string(args, "page_token", &h->token, e) < 0 ||
                   jsonx_int64(args, "max_results", &h->max_results, &h->has_max, e) < 0
               ? -1
               : 0;
}

int api_metrics_get_history(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    api_history_req h;
    if (api_history_args(req->args, &h, e) < 0)
        return -1;
    const char *run_id = h.run_id, *key = h.key, *token = h.token;
    int64_t max_results = h.max_results;
    bool has_max = h.has_max;
    if (has_max && (max_results < 1 || max_results > MAX_RESULTS_GET_METRIC_HISTORY))
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Invalid value for max_results. It must be between 1 and %d, but got "
                        "%lld",
                        MAX_RESULTS_GET_METRIC_HISTORY, (long long)max_results);
    json_t *list;
    char *next = NULL;
    if (store_metric_history(ctx->st, run_id, key, has_max ? max_results : 0, token, &list, &next,
                             e) < 0)
        return -1;
    *out = api_page(list, "metrics", next);
    return 0;
}
