/* common.h - helpers shared by the api/ handlers (not part of api.h). */
#ifndef CAIRN_API_COMMON_H
#define CAIRN_API_COMMON_H

#include <jansson.h>

#include "../store/store.h"
#include "../util/err.h"

/* run_id, or the deprecated run_uuid when run_id is absent (MLflow does
 * the same); required. */
int api_run_id(const json_t *args, const char **run_id, cerr *e);

/* metrics/get-history's arguments (metrics.c), for both of its forms. */
typedef struct api_history_req {
    const char *run_id, *key, *token;
    int64_t max_results;
    bool has_max;
} api_history_req;
int api_history_args(const json_t *args, api_history_req *h, cerr *e);

/* A repeated {key, value} field (tags, params). *kv is malloc'd (free it);
 * strings are borrowed from args. A missing key is an error; a missing
 * value is "" (protobuf's default), unless value_required. */
int api_kv_list(const json_t *args, const char *field, store_kv **kv, size_t *n,
                int value_required, cerr *e);

/* view_type / run_view_type: an enum name or number; absent gives
 * ACTIVE_ONLY. */
int api_view_type(const json_t *args, const char *field, store_view *out, cerr *e);

/* max_results for searches: absent gives SEARCH_MAX_RESULTS_DEFAULT;
 * must lie in 0 (runs) or 1 (experiments) .. SEARCH_MAX_RESULTS_THRESHOLD. */
int api_max_results(const json_t *args, int64_t min, int64_t *out, cerr *e);

/* MLflow's parse_dict turns numeric experiment_id / experiment_ids into
 * strings before protobuf parsing (old clients send numbers); do the same,
 * in place. Called once per request, by api_call. */
void api_stringify_experiment_ids(json_t *args);

/* A required argument as MLflow's basic-auth app reads it
 * (_get_request_param): absent is "Missing value for required parameter";
 * present, even "", is returned (users.c). */
int api_auth_param(const json_t *args, const char *key, const char **out, cerr *e);

/* {} : MLflow's empty response message. */
json_t *api_empty(void);

/* Move an array into obj[key] unless it is empty (protobuf JSON omits
 * empty repeated fields). Steals arr. */
void api_set_list(json_t *obj, const char *key, json_t *arr);

/* A page of results: {key: list, next_page_token?}, both omitted when
 * empty. Steals list and frees token. */
json_t *api_page(json_t *list, const char *key, char *token);

#endif
