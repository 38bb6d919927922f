/* run_tracker.c - the job_tracker of `cairn run` over libcairn: the run is
 * created with runs/create (its tags and user in the one request, as
 * `mlflow run` does), params and tags go through libcairn's queue and are
 * flushed at once so that a refusal is reported by the call that caused it,
 * status changes are runs/update, and files go up as run artifacts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "run_tracker.h"

/* The thread's libcairn error as a cerr; returns -1. */
static int rt_fail(cerr *e)
{
    const cairn_error *le = cairn_error_last();
    cerr_code code = le->code == CAIRN_ENOTFOUND ? CERR_RESOURCE_DOES_NOT_EXIST
                     : le->code == CAIRN_EINVAL  ? CERR_INVALID_PARAMETER_VALUE
                                                 : CERR_INTERNAL_ERROR;
    if (le->error_code != NULL && *le->error_code != '\0')
        return cerr_set(e, code, "%s: %s", le->error_code, le->message);
    return cerr_set(e, code, "%s", *le->message ? le->message : "unknown error");
}

static json_t *rt_tags(const store_kv *tags, size_t ntags)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < ntags; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s}", "key", tags[i].key, "value", tags[i].value));
    return arr;
}

static int rt_create(void *ctx, const char *experiment_id, const char *run_name, const char *user,
                     int64_t start_time, const store_kv *tags, size_t ntags, char **run_id, cerr *e)
{
    json_t *body = json_pack("{s:s, s:I, s:o}", "experiment_id", experiment_id, "start_time",
                             (json_int_t)start_time, "tags", rt_tags(tags, ntags));
    if (run_name != NULL && *run_name != '\0')
        json_object_set_new(body, "run_name", json_string(run_name));
    if (user != NULL)
        json_object_set_new(body, "user_id", json_string(user));
    char *text = json_dumps(body, JSON_COMPACT), *resp = NULL;
    json_decref(body);
    int r = cairn_request_post(ctx, "runs/create", text, &resp);
    free(text);
    if (r < 0)
        return rt_fail(e);
    json_t *j = json_loads(resp, 0, NULL);
    cairn_free(resp);
    const char *id = json_string_value(json_object_get(json_object_get(json_object_get(j, "run"), "info"), "run_id"));
    *run_id = id ? strdup(id) : NULL;
    json_decref(j);
    if (*run_id == NULL)
        return cerr_set(e, CERR_INTERNAL_ERROR, "runs/create answered without a run id");
    return 0;
}

static int rt_log(void *ctx, const char *run_id, const store_kv *params, size_t nparams,
                  const store_kv *tags, size_t ntags, cerr *e)
{
    for (size_t i = 0; i < nparams; i++)
        if (cairn_log_param(ctx, run_id, params[i].key, params[i].value) < 0)
            return rt_fail(e);
    for (size_t i = 0; i < ntags; i++)
        if (cairn_set_tag(ctx, run_id, tags[i].key, tags[i].value) < 0)
            return rt_fail(e);
    return cairn_client_flush(ctx) < 0 ? rt_fail(e) : 0;
}

static int rt_status(void *ctx, const char *run_id, const char *status, int64_t end_time, cerr *e)
{
    return cairn_run_update_status(ctx, run_id, status, end_time) < 0 ? rt_fail(e) : 0;
}

static int rt_artifact(void *ctx, const char *run_id, const char *path, const char *artifact_path,
                       cerr *e)
{
    return cairn_artifact_upload(ctx, run_id, path, artifact_path, NULL, NULL) < 0 ? rt_fail(e) : 0;
}

job_tracker run_tracker(cairn_client *c)
{
    return (job_tracker){c, rt_create, rt_log, rt_status, rt_artifact};
}
