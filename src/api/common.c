/* common.c - helpers shared by the api/ handlers. */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/jsonx.h"
#include "../store/validate.h"

int api_run_id(const json_t *args, const char **run_id, cerr *e)
{
    if (jsonx_string(args, "run_id", run_id, e) < 0)
        return -1;
    if (*run_id == NULL || (*run_id)[0] == '\0') {
        if (jsonx_string(args, "run_uuid", run_id, e) < 0)
            return -1;
    }
    if (*run_id == NULL || (*run_id)[0] == '\0')
        return jsonx_string_required(args, "run_id", run_id, e);
    return 0;
}

int api_kv_list(const json_t *args, const char *field, store_kv **kv, size_t *n,
                int value_required, cerr *e)
{
    const json_t *arr;
    *kv = NULL;
    *n = 0;
    if (jsonx_objects(args, field, &arr, e) < 0)
        return -1;
    if (arr == NULL || json_array_size(arr) == 0)
        return 0;
    size_t len = json_array_size(arr);
    store_kv *out = calloc(len, sizeof *out);
    if (out == NULL)
        abort();
    for (size_t i = 0; i < len; i++) {
        const json_t *item = json_array_get(arr, i);
        if (jsonx_string_required(item, "key", &out[i].key, e) < 0 ||
            (value_required ? jsonx_string_required(item, "value", &out[i].value, e)
                            : jsonx_string(item, "value", &out[i].value, e)) < 0) {
            free(out);
            return -1;
        }
        if (out[i].value == NULL)
            out[i].value = "";
    }
    *kv = out;
    *n = len;
    return 0;
}

int api_view_type(const json_t *args, const char *field, store_view *out, cerr *e)
{
    static const char *names[] = {NULL, "ACTIVE_ONLY", "DELETED_ONLY", "ALL"};
    *out = VIEW_ACTIVE_ONLY;
    json_t *v = json_object_get(args, field);
    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        for (int i = 1; i <= 3; i++)
            if (strcmp(json_string_value(v), names[i]) == 0) {
                *out = (store_view)i;
                return 0;
            }
    }
    int64_t n;
    bool present;
    if (jsonx_int64(args, field, &n, &present, e) < 0)
        return -1;
    if (n < 1 || n > 3)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Invalid value %lld for parameter '%s' supplied. It must be one of "
                        "ACTIVE_ONLY (1), DELETED_ONLY (2), ALL (3).",
                        (long long)n, field);
    *out = (store_view)n;
    return 0;
}

int api_max_results(const json_t *args, int64_t min, int64_t *out, cerr *e)
{
    bool present;
    *out = SEARCH_MAX_RESULTS_DEFAULT;
    if (jsonx_int64(args, "max_results", out, &present, e) < 0)
        return -1;
    if (*out < min)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Invalid value for max_results. It must be %s, but got %lld",
                        min > 0 ? "a positive integer" : "a non-negative integer",
                        (long long)*out);
    if (*out > SEARCH_MAX_RESULTS_THRESHOLD)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Invalid value for max_results. It must be at most %d, but got %lld",
                        SEARCH_MAX_RESULTS_THRESHOLD, (long long)*out);
    return 0;
}

static json_t *api_id_string(const json_t *v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
    return json_string(buf);
}

void api_stringify_experiment_ids(json_t *args)
{
    json_t *id = json_object_get(args, "experiment_id");
    if (json_is_integer(id))
        json_object_set_new(args, "experiment_id", api_id_string(id));
    json_t *ids = json_object_get(args, "experiment_ids");
    size_t i;
    json_t *item;
    json_array_foreach(ids, i, item) {
        if (json_is_integer(item))
            json_array_set_new(ids, i, api_id_string(item));
    }
}

json_t *api_page(json_t *list, const char *key, char *token)
{
    json_t *out = json_object();
    api_set_list(out, key, list);
    if (token != NULL && token[0] != '\0')
        json_object_set_new(out, "next_page_token", json_string(token));
    free(token);
    return out;
}

json_t *api_empty(void) { return json_object(); }

void api_set_list(json_t *obj, const char *key, json_t *arr)
{
    if (arr != NULL && json_array_size(arr) > 0)
        json_object_set_new(obj, key, arr);
    else
        json_decref(arr);
}
