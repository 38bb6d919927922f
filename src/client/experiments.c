/* experiments.c - experiments: create, ensure (get or create by name), get,
 * search (all pages), rename, delete, restore. Offline, cairn_experiment_ensure
 * hands out a local id and journals the creation for cairn sync. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int cl_need(cairn_client *c, const char *what, const char *v)
{
    if (c == NULL)
        return cl_fail(CAIRN_EINVAL, "missing client");
    if (c->forced_offline)
        return cl_fail(CAIRN_EOFFLINE, "the client is offline (CAIRN_OFFLINE); this call needs the server");
    return what ? cl_require(what, v) : CAIRN_OK;
}

static int cl_take_id(json_t *resp, const char *field, char **id_out)
{
    const char *id = json_string_value(json_object_get(resp, field));
    if (id == NULL) {
        json_decref(resp);
        return cl_fail(CAIRN_EPROTO, "the server's answer has no %s", field);
    }
    if (id_out != NULL && (*id_out = cl_strdup(id)) == NULL) {
        json_decref(resp);
        return cl_oom();
    }
    json_decref(resp);
    return CAIRN_OK;
}

int cairn_experiment_create(cairn_client *c, const char *name, const char *artifact_location,
                            char **id_out)
{
    int r = cl_need(c, "experiment name", name);
    if (r < 0)
        return r;
    json_t *body = json_pack("{s:s}", "name", name);
    if (artifact_location != NULL)
        json_object_set_new(body, "artifact_location", json_string(artifact_location));
    json_t *resp = NULL;
    r = cl_api_post_json(c, "experiments/create", body, &resp);
    json_decref(body);
    return r < 0 ? r : cl_take_id(resp, "experiment_id", id_out);
}

int cl_experiment_ensure_online(cairn_client *c, const char *name, char **id_out)
{
    char *q = cl_escape(name, 1);
    if (q == NULL)
        return cl_oom();
    char *path = malloc(strlen(q) + 64);
    if (path == NULL) {
        free(q);
        return cl_oom();
    }
    sprintf(path, "experiments/get-by-name?experiment_name=%s", q);
    free(q);
    json_t *resp = NULL;
    int r = cl_api_get_json(c, path, &resp);
    free(path);
    if (r == CAIRN_OK) {
        json_t *exp = json_object_get(resp, "experiment");
        const char *id = json_string_value(json_object_get(exp, "experiment_id"));
        const char *stage = json_string_value(json_object_get(exp, "lifecycle_stage"));
        if (stage != NULL && strcmp(stage, "deleted") == 0 && id != NULL) {
            r = cairn_experiment_restore(c, id);
            if (r < 0) {
                json_decref(resp);
                return r;
            }
        }
        json_incref(exp);
        json_decref(resp);
        return cl_take_id(exp, "experiment_id", id_out);
    }
    if (r != CAIRN_ENOTFOUND)
        return r;
    r = cairn_experiment_create(c, name, NULL, id_out);
    if (r == CAIRN_ESERVER && strcmp(cairn_error_last()->error_code, "RESOURCE_ALREADY_EXISTS") == 0)
        return cl_experiment_ensure_online(c, name, id_out);   /* lost a race: read it */
    return r;
}

int cairn_experiment_ensure(cairn_client *c, const char *name, char **id_out)
{
    if (c == NULL || cl_require("experiment name", name) < 0)
        return cl_fail(CAIRN_EINVAL, "missing client or experiment name");
    int r = CAIRN_EUNREACHABLE;
    if (!atomic_load(&c->offline)) {
        r = cl_experiment_ensure_online(c, name, id_out);
        if (!cl_fallback(c, r))
            return r;
    }
    if (c->no_spool)
        return cl_fail(CAIRN_EOFFLINE, "the client is offline and spooling is disabled");
    char hex[33], local[48];
    cl_uuid_hex(hex);
    snprintf(local, sizeof local, "local-exp-%s", hex);
    json_t *f = json_pack("{s:s, s:s}", "local_id", local, "name", name);
    r = cl_spool_append(c, "experiment_create", f);
    json_decref(f);
    if (r == CAIRN_OK && id_out != NULL && (*id_out = cl_strdup(local)) == NULL)
        return cl_oom();
    return r;
}

int cairn_experiment_get(cairn_client *c, const char *id, char **json_out)
{
    int r = cl_need(c, "experiment id", id);
    if (r < 0)
        return r;
    char *q = cl_escape(id, 1);
    if (q == NULL)
        return cl_oom();
    char path[512];
    snprintf(path, sizeof path, "experiments/get?experiment_id=%.400s", q);
    free(q);
    return cl_api_get(c, path, json_out);
}

int cairn_experiment_get_by_name(cairn_client *c, const char *name, char **json_out)
{
    int r = cl_need(c, "experiment name", name);
    if (r < 0)
        return r;
    char *q = cl_escape(name, 1);
    if (q == NULL)
        return cl_oom();
    cl_buf path = {0};
    r = cl_buf_printf(&path, "experiments/get-by-name?experiment_name=%s", q);
    free(q);
    if (r == CAIRN_OK)
        r = cl_api_get(c, path.data, json_out);
    cl_buf_free(&path);
    return r;
}

int cairn_experiment_search(cairn_client *c, const char *filter, const char *view, char **json_out)
{
    int r = cl_need(c, NULL, NULL);
    if (r < 0)
        return r;
    json_t *all = json_array();
    json_t *token = NULL;
    do {
        json_t *body = json_pack("{s:i, s:s}", "max_results", 1000, "view_type", view ? view : "ACTIVE_ONLY");
        if (filter != NULL && *filter)
            json_object_set_new(body, "filter", json_string(filter));
        if (token != NULL)
            json_object_set(body, "page_token", token);
        json_t *resp = NULL;
        r = cl_api_post_json(c, "experiments/search", body, &resp);
        json_decref(body);
        json_decref(token);
        token = NULL;
        if (r < 0)
            break;
        json_array_extend(all, json_object_get(resp, "experiments") ? json_object_get(resp, "experiments")
                                                                     : json_array());
        const char *t = json_string_value(json_object_get(resp, "next_page_token"));
        if (t != NULL && *t)
            token = json_string(t);
        json_decref(resp);
    } while (token != NULL);
    if (r < 0) {
        json_decref(all);
        return r;
    }
    return cl_dump_out(json_pack("{s:o}", "experiments", all), json_out);
}

static int cl_exp_post(cairn_client *c, const char *path, json_t *body)
{
    int r = cl_api_post_json(c, path, body, NULL);
    json_decref(body);
    return r;
}

int cairn_experiment_rename(cairn_client *c, const char *id, const char *new_name)
{
    int r = cl_need(c, "experiment id", id);
    if (r == CAIRN_OK)
        r = cl_require("new experiment name", new_name);
    if (r < 0)
        return r;
    return cl_exp_post(c, "experiments/update",
                       json_pack("{s:s, s:s}", "experiment_id", id, "new_name", new_name));
}

int cairn_experiment_delete(cairn_client *c, const char *id)
{
    int r = cl_need(c, "experiment id", id);
    if (r < 0)
        return r;
    return cl_exp_post(c, "experiments/delete", json_pack("{s:s}", "experiment_id", id));
}

int cairn_experiment_restore(cairn_client *c, const char *id)
{
    int r = cl_need(c, "experiment id", id);
    if (r < 0)
        return r;
    return cl_exp_post(c, "experiments/restore", json_pack("{s:s}", "experiment_id", id));
}
