/* experiments.c - the experiments endpoints of MLflow's tracking API.
 * Handlers check types and MLflow's limits, then call the store. */
#include <stdlib.h>
#include <string.h>

#include "../util/jsonx.h"
#include "api.h"
#include "common.h"
#include "../store/validate.h"

/* MLflow refuses artifact locations that point back into runs:/. */
static int experiments_check_location(const char *loc, cerr *e)
{
    if (loc != NULL && strncmp(loc, "runs:", 5) == 0)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Artifact location cannot be a runs:/ URI. Given: '%s'", loc);
    return 0;
}

int api_experiments_create(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    const char *name, *location;
    store_kv *tags = NULL;
    size_t ntags = 0;
    if (jsonx_string_required(req->args, "name", &name, e) < 0 ||
        jsonx_string(req->args, "artifact_location", &location, e) < 0 ||
        api_kv_list(req->args, "tags", &tags, &ntags, 0, e) < 0)
        return -1;
    int rc = validate_experiment_name(name, e);
    for (size_t i = 0; rc == 0 && i < ntags; i++)
        rc = validate_experiment_tag(tags[i].key, tags[i].value, e);
    if (rc == 0)
        rc = experiments_check_location(location, e);
    char *id = NULL;
    if (rc == 0)
        rc = store_experiment_create(ctx->st, name, location && location[0] ? location : NULL,
                                     tags, ntags, &id, e);
    free(tags);
    if (rc < 0)
        return -1;
    *out = json_pack("{s:s}", "experiment_id", id);
    free(id);
    return 0;
}

static json_t *experiments_wrap(json_t *exp) { return json_pack("{s:o}", "experiment", exp); }

int api_experiments_get(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    const char *id;
    json_t *exp;
    if (jsonx_string_required(req->args, "experiment_id", &id, e) < 0 ||
        store_experiment_get(ctx->st, id, &exp, e) < 0)
        return -1;
    *out = experiments_wrap(exp);
    return 0;
}

int api_experiments_get_by_name(const api_ctx *ctx, const api_request *req, json_t **out,
                                cerr *e)
{
    const char *name;
    json_t *exp;
    if (jsonx_string_required(req->args, "experiment_name", &name, e) < 0 ||
        store_experiment_get_by_name(ctx->st, name, &exp, e) < 0)
        return -1;
    *out = experiments_wrap(exp);
    return 0;
}

int api_experiments_search(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    store_search q = {0};
    if (jsonx_string(req->args, "filter", &q.filter, e) < 0 ||
        jsonx_string(req->args, "page_token", &q.page_token, e) < 0 ||
        api_view_type(req->args, "view_type", &q.view, e) < 0 ||
        api_max_results(req->args, 1, &q.max_results, e) < 0 ||
        jsonx_strings(req->args, "order_by", &q.order_by, &q.norder_by, e) < 0)
        return -1;
    json_t *list;
    char *token = NULL;
    int rc = store_experiment_search(ctx->st, &q, &list, &token, e);
    free(q.order_by);
    if (rc < 0)
        return -1;
    *out = api_page(list, "experiments", token);
    return 0;
}

int api_experiments_update(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    const char *id, *new_name;
    if (jsonx_string_required(req->args, "experiment_id", &id, e) < 0 ||
        jsonx_string_required(req->args, "new_name", &new_name, e) < 0 ||
        validate_experiment_name(new_name, e) < 0 ||
        store_experiment_rename(ctx->st, id, new_name, e) < 0)
        return -1;
    *out = api_empty();
    return 0;
}

int api_experiments_delete(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    const char *id;
    if (jsonx_string_required(req->args, "experiment_id", &id, e) < 0 ||
        store_experiment_delete(ctx->st, id, e) < 0)
        return -1;
    *out = api_empty();
    return 0;
}

int api_experiments_restore(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    const char *id;
    if (jsonx_string_required(req->args, "experiment_id", &id, e) < 0 ||
        store_experiment_restore(ctx->st, id, e) < 0)
        return -1;
    *out = api_empty();
    return 0;
}

int api_experiments_set_tag(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    const char *id, *key, *value;
    if (jsonx_string_required(req->args, "experiment_id", &id, e) < 0 ||
        jsonx_string_required(req->args, "key", &key, e) < 0 ||
        jsonx_string(req->args, "value", &value, e) < 0)
        return -1;
    if (value == NULL)
        value = "";
    if (validate_experiment_tag(key, value, e) < 0 ||
        store_experiment_tag_set(ctx->st, id, key, value, e) < 0)
        return -1;
    *out = api_empty();
    return 0;
}
