/* runs.c - the run life-cycle endpoints: create, get, update, delete,
 * restore, search, set-tag, delete-tag. Logging lives in logging.c. */
#include <stdlib.h>
#include <string.h>

#include "../util/jsonx.h"
#include "../util/misc.h"
#include "../util/runstatus.h"
#include "api.h"
#include "common.h"
#include "../store/validate.h"

int api_runs_create(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    store_run_create_req r = {0};
    int64_t start = 0;
    bool has_start;
    if (jsonx_string(req->args, "experiment_id", &r.experiment_id, e) < 0 ||
        jsonx_string(req->args, "user_id", &r.user_id, e) < 0 ||
        jsonx_string(req->args, "run_name", &r.run_name, e) < 0 ||
        jsonx_int64(req->args, "start_time", &start, &has_start, e) < 0)
        return -1;
    store_kv *tags;
    if (api_kv_list(req->args, "tags", &tags, &r.ntags, 0, e) < 0)
        return -1;
    r.tags = tags;
    r.start_time = has_start ? start : time_now_ms();
    if (r.run_name != NULL && r.run_name[0] == '\0')
        r.run_name = NULL;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < r.ntags; i++)
        rc = validate_tag(tags[i].key, tags[i].value, e);
    json_t *run = NULL;
    if (rc == 0)
        rc = store_run_create(ctx->st, &r, &run, e);
    free(tags);
    if (rc < 0)
        return -1;
    *out = json_pack("{s:o}", "run", run);
    return 0;
}

int api_runs_get(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    const char *run_id;
    json_t *run;
    if (api_run_id(req->args, &run_id, e) < 0 || store_run_get(ctx->st, run_id, &run, e) < 0)
        return -1;
    *out = json_pack("{s:o}", "run", run);
    return 0;
}

/* RunStatus accepts its enum names or numbers, as protobuf JSON does. */
static int runs_status(const json_t *args, const char **status, cerr *e)
{
    json_t *v = json_object_get(args, "status");
    *status = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_integer(v) && json_integer_value(v) >= RUNSTATUS_RUNNING && json_integer_value(v) <= RUNSTATUS_MAX) {
        *status = runstatus_name((int)json_integer_value(v));
        return 0;
    }
    if (json_is_string(v) && runstatus_parse(json_string_value(v)) != RUNSTATUS_NONE) {
        *status = runstatus_name(runstatus_parse(json_string_value(v)));
        return 0;
    }
    char *shown = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
             "Invalid value %.100s for parameter 'status' supplied. It must be one of " RUNSTATUS_LIST ".",
             shown ? shown : "?");
    free(shown);
    return -1;
}

int api_runs_update(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    const char *run_id, *status, *run_name;
    int64_t end_time;
    bool has_end;
    if (api_run_id(req->args, &run_id, e) < 0 || runs_status(req->args, &status, e) < 0 ||
        jsonx_string(req->args, "run_name", &run_name, e) < 0 ||
        jsonx_int64(req->args, "end_time", &end_time, &has_end, e) < 0)
        return -1;
    json_t *info;
    if (store_run_update(ctx->st, run_id, status, has_end ? &end_time : NULL, run_name, &info,
                         e) < 0)
        return -1;
    *out = json_pack("{s:o}", "run_info", info);
    return 0;
}

int api_runs_delete(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    const char *run_id;
    if (api_run_id(req->args, &run_id, e) < 0 || store_run_delete(ctx->st, run_id, e) < 0)
        return -1;
    *out = api_empty();
    return 0;
}

int api_runs_restore(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    const char *run_id;
    if (api_run_id(req->args, &run_id, e) < 0 || store_run_restore(ctx->st, run_id, e) < 0)
        return -1;
    *out = api_empty();
    return 0;
}

static int runs_require_list(const json_t *args, const char *key, cerr *e)
{
    json_t *v = json_object_get(args, key);
    if (v == NULL || json_is_null(v) || json_is_array(v))
        return 0;
    return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                    "Invalid value %.200s for parameter '%s' supplied. Hint: Value was of type "
                    "'%s'. See the API docs for more information about request parameters.",
                    json_is_string(v) ? json_string_value(v) : "(not a list)", key,
                    json_is_string(v) ? "str" : "object");
}

int api_runs_search(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    store_search q = {0};
    if (jsonx_string(req->args, "filter", &q.filter, e) < 0 ||
        jsonx_string(req->args, "page_token", &q.page_token, e) < 0 ||
        api_view_type(req->args, "run_view_type", &q.view, e) < 0 ||
        api_max_results(req->args, 0, &q.max_results, e) < 0)
        return -1;
    /* runs/search is POST only: repeated fields must be JSON lists, as
     * protobuf requires (a bare string is MLflow's "Invalid value"). */
    if (runs_require_list(req->args, "experiment_ids", e) < 0 ||
        runs_require_list(req->args, "order_by", e) < 0)
        return -1;
    if (jsonx_strings(req->args, "experiment_ids", &q.experiment_ids, &q.nexperiment_ids, e) < 0)
        return -1;
    if (jsonx_strings(req->args, "order_by", &q.order_by, &q.norder_by, e) < 0) {
        free(q.experiment_ids);
        return -1;
    }
    json_t *list = NULL;
    char *token = NULL;
    int rc = 0;
    if (q.max_results == 0 || q.nexperiment_ids == 0)
        list = json_array(); /* nothing asked for: MLflow answers {} */
    else
        rc = store_run_search(ctx->st, &q, &list, &token, e);
    free(q.experiment_ids);
    free(q.order_by);
    if (rc < 0)
        return -1;
    *out = api_page(list, "runs", token);
    return 0;
}

int api_runs_set_tag_prep(const api_request *req, api_batch *b, cerr *e)
{
    store_kv *tag = &b->one.kv;
    if (api_run_id(req->args, &b->run_id, e) < 0 ||
        jsonx_string_required(req->args, "key", &tag->key, e) < 0 ||
        jsonx_string(req->args, "value", &tag->value, e) < 0)
        return -1;
    if (tag->value == NULL)
        tag->value = "";
    if (validate_tag(tag->key, tag->value, e) < 0)
        return -1;
    b->tags = tag;
    b->ntags = 1;
    return 0;
}

int api_runs_set_tag(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    return api_batch_run(ctx, api_runs_set_tag_prep, req, out, e);
}

int api_runs_delete_tag(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    const char *run_id, *key;
    if (api_run_id(req->args, &run_id, e) < 0 ||
        jsonx_string_required(req->args, "key", &key, e) < 0 ||
        store_run_tag_delete(ctx->st, run_id, key, e) < 0)
        return -1;
    *out = api_empty();
    return 0;
}
