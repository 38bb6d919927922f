/* metrics.c - metrics/get-history: every logged value of one metric of one
 * run, oldest step first. Paged only when the client asks for it. */
#include <stdlib.h>

#include "../util/jsonx.h"
#include "api.h"
#include "common.h"
#include "validate.h"

int api_metrics_get_history(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    const char *run_id, *key, *token;
    int64_t max_results = 0;
    bool has_max;
    if (api_run_id(req->args, &run_id, e) < 0 ||
        jsonx_string_required(req->args, "metric_key", &key, e) < 0 ||
        jsonx_string(req->args, "page_token", &token, e) < 0 ||
        jsonx_int64(req->args, "max_results", &max_results, &has_max, e) < 0)
        return -1;
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
