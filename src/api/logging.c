/* logging.c - the endpoints that write run data: log-metric,
 * log-parameter, log-batch and log-inputs. All of them funnel into one
 * atomic store call per request. The first three (and set-tag) are parsed
 * into an api_batch first, so http/ can also hand the write to the store
 * without waiting for it (see api.h). */
#include <stdlib.h>
#include <string.h>

#include "../util/jsonx.h"
#include "api.h"
#include "common.h"
#include "../store/validate.h"

/* One Metric message: key, value, timestamp required; step defaults to 0. */
static int logging_metric(const json_t *obj, store_metric *m, cerr *e)
{
    bool has_value, has_ts, has_step;
    m->step = 0;
    if (jsonx_string_required(obj, "key", &m->key, e) < 0 ||
        jsonx_double(obj, "value", &m->value, &has_value, e) < 0 ||
        jsonx_int64(obj, "timestamp", &m->timestamp, &has_ts, e) < 0 ||
        jsonx_int64(obj, "step", &m->step, &has_step, e) < 0)
        return -1;
    if (!has_value)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Missing value for required parameter 'value'. See the API docs for more "
                        "information about request parameters.");
    if (!has_ts)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Missing value for required parameter 'timestamp'. See the API docs for "
                        "more information about request parameters.");
    return validate_metric(m->key, m->value, true, m->timestamp, e);
}

int api_runs_log_metric_prep(const api_request *req, api_batch *b, cerr *e)
{
    if (api_run_id(req->args, &b->run_id, e) < 0 || logging_metric(req->args, &b->one.m, e) < 0)
        return -1;
    b->metrics = &b->one.m;
    b->nmetrics = 1;
    return 0;
}

int api_runs_log_parameter_prep(const api_request *req, api_batch *b, cerr *e)
{
    store_kv *p = &b->one.kv;
    if (api_run_id(req->args, &b->run_id, e) < 0 ||
        jsonx_string_required(req->args, "key", &p->key, e) < 0 ||
        jsonx_string(req->args, "value", &p->value, e) < 0)
        return -1;
    if (p->value == NULL)
        p->value = "";
    if (validate_param(p->key, p->value, e) < 0)
        return -1;
    b->params = p;
    b->nparams = 1;
    return 0;
}

static int logging_metrics(const json_t *args, store_metric **out, size_t *n, cerr *e)
{
    const json_t *arr;
    *out = NULL;
    *n = 0;
    if (jsonx_objects(args, "metrics", &arr, e) < 0)
        return -1;
    size_t len = arr ? json_array_size(arr) : 0;
    if (len == 0)
        return 0;
    store_metric *m = calloc(len, sizeof *m);
    if (m == NULL)
        abort();
    for (size_t i = 0; i < len; i++)
        if (logging_metric(json_array_get(arr, i), &m[i], e) < 0) {
            free(m);
            return -1;
        }
    *out = m;
    *n = len;
    return 0;
}

/* MLflow: "Duplicate parameter keys have been submitted: [...]". */
static int logging_unique_params(const store_kv *p, size_t n, cerr *e)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(p[i].key, p[j].key) == 0)
                return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                                "Duplicate parameter keys have been submitted: ['%.300s']. Please "
                                "ensure the request contains only one param value per param key.",
                                p[i].key);
    return 0;
}

/* Metrics were checked as they were read (logging_metrics); params and tags
 * here, then MLflow's batch limits, in MLflow's order. */
static int logging_batch_check(size_t nm, const store_kv *p, size_t np, const store_kv *t,
                               size_t nt, cerr *e)
{
    for (size_t i = 0; i < np; i++)
        if (validate_param(p[i].key, p[i].value, e) < 0)
            return -1;
    for (size_t i = 0; i < nt; i++)
        if (validate_tag(t[i].key, t[i].value, e) < 0)
            return -1;
    if (validate_batch_limit("metrics", MAX_METRICS_PER_BATCH, nm, e) < 0 ||
        validate_batch_limit("params", MAX_PARAMS_TAGS_PER_BATCH, np, e) < 0 ||
        validate_batch_limit("tags", MAX_PARAMS_TAGS_PER_BATCH, nt, e) < 0 ||
        validate_batch_limit("metrics, params, and tags", MAX_ENTITIES_PER_BATCH, nm + np + nt,
                             e) < 0)
        return -1;
    return logging_unique_params(p, np, e);
}

int api_runs_log_batch_prep(const api_request *req, api_batch *b, cerr *e)
{
    /* MAX_BATCH_LOG_REQUEST_SIZE is not enforced: MLflow 2.9.2 applies it to
     * len() of the parsed dict (its number of keys), so a batch of 100
     * maximal params and 100 maximal tags (> 1 MB) is accepted there, and the
     * stock client sends such batches. The HTTP body cap bounds memory. */
    b->owned = true; /* whatever is allocated below is b's */
    if (api_run_id(req->args, &b->run_id, e) < 0 || validate_run_id(b->run_id, e) < 0 ||
        logging_metrics(req->args, &b->metrics, &b->nmetrics, e) < 0 ||
        api_kv_list(req->args, "params", &b->params, &b->nparams, 0, e) < 0 ||
        api_kv_list(req->args, "tags", &b->tags, &b->ntags, 0, e) < 0)
        return -1;
    return logging_batch_check(b->nmetrics, b->params, b->nparams, b->tags, b->ntags, e);
}

void api_batch_free(api_batch *b)
{
    if (b->owned) {
        free(b->metrics);
        free(b->params);
        free(b->tags);
    }
    *b = (api_batch){0};
}

int api_batch_run(const api_ctx *ctx, api_batch_prep prep, const api_request *req, json_t **out,
                  cerr *e)
{
    api_batch b = {0};
    int rc = prep(req, &b, e);
    if (rc == 0)
        rc = store_run_log_batch(ctx->st, b.run_id, b.metrics, b.nmetrics, b.params, b.nparams,
                                 b.tags, b.ntags, e);
    api_batch_free(&b);
    if (rc == 0)
        *out = api_empty();
    return rc;
}

int api_runs_log_metric(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    return api_batch_run(ctx, api_runs_log_metric_prep, req, out, e);
}

int api_runs_log_parameter(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    return api_batch_run(ctx, api_runs_log_parameter_prep, req, out, e);
}

int api_runs_log_batch(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    return api_batch_run(ctx, api_runs_log_batch_prep, req, out, e);
}

/* One DatasetInput: {tags:[{key,value}], dataset:{name,digest,source_type,
 * source,schema?,profile?}}, checked against MLflow's dataset limits. */
static int logging_dataset(const json_t *obj, store_dataset_input *d, cerr *e)
{
    json_t *ds = json_object_get(obj, "dataset");
    if (!json_is_object(ds))
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Dataset cannot be None");
    const char **fields[] = {&d->name, &d->digest, &d->source_type, &d->source};
    const char *names[] = {"name", "digest", "source_type", "source"};
    for (int i = 0; i < 4; i++) {
        if (jsonx_string(ds, names[i], fields[i], e) < 0)
            return -1;
        if (*fields[i] == NULL)
            return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Dataset %s cannot be None",
                            names[i]);
    }
    if (jsonx_string(ds, "schema", &d->schema, e) < 0 ||
        jsonx_string(ds, "profile", &d->profile, e) < 0)
        return -1;
    struct { const char *what, *v; size_t max; } lim[] = {
        {"name", d->name, MAX_DATASET_NAME_SIZE},       {"digest", d->digest, MAX_DATASET_DIGEST_SIZE},
        {"source", d->source, MAX_DATASET_SOURCE_SIZE}, {"schema", d->schema, MAX_DATASET_SCHEMA_SIZE},
        {"profile", d->profile, MAX_DATASET_PROFILE_SIZE},
    };
    for (size_t i = 0; i < sizeof lim / sizeof lim[0]; i++)
        if (lim[i].v != NULL && validate_utf8_len(lim[i].v) > lim[i].max)
            return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                            "Dataset %s exceeds the maximum length of %zu", lim[i].what,
                            lim[i].max);
    store_kv *tags;
    if (api_kv_list(obj, "tags", &tags, &d->ntags, 0, e) < 0)
        return -1;
    d->tags = tags;
    for (size_t i = 0; i < d->ntags; i++) {
        if (validate_utf8_len(tags[i].key) > MAX_INPUT_TAG_KEY_SIZE)
            return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                            "InputTag key exceeds the maximum length of %d",
                            MAX_INPUT_TAG_KEY_SIZE);
        if (validate_utf8_len(tags[i].value) > MAX_INPUT_TAG_VALUE_SIZE)
            return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                            "InputTag value exceeds the maximum length of %d",
                            MAX_INPUT_TAG_VALUE_SIZE);
    }
    return 0;
}

int api_runs_log_inputs(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    const char *run_id;
    const json_t *arr;
    if (api_run_id(req->args, &run_id, e) < 0 || jsonx_objects(req->args, "datasets", &arr, e) < 0)
        return -1;
    if (arr == NULL)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Missing value for required parameter 'datasets'. See the API docs for "
                        "more information about request parameters.");
    size_t n = arr ? json_array_size(arr) : 0;
    if (validate_batch_limit("datasets", MAX_DATASETS_PER_BATCH, n, e) < 0)
        return -1;
    store_dataset_input *d = calloc(n ? n : 1, sizeof *d);
    if (d == NULL)
        abort();
    int rc = 0;
    size_t i;
    for (i = 0; rc == 0 && i < n; i++)
        rc = logging_dataset(json_array_get(arr, i), &d[i], e);
    if (rc == 0) /* even with nothing to log, the store checks the run (as MLflow) */
        rc = store_run_log_inputs(ctx->st, run_id, d, n, e);
    for (size_t j = 0; j < n; j++)
        free((void *)d[j].tags);
    free(d);
    if (rc < 0)
        return -1;
    *out = api_empty();
    return 0;
}
