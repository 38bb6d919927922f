/* runs.c - runs: create (online, or a local id journaled for cairn sync),
 * get, search (all pages), status updates and cairn_run_end, delete,
 * restore, and metric history. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "../util/runstatus.h"

static const char *cl_getenv(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && *v ? v : NULL;
}

static json_t *cl_default_tags(void)
{
    json_t *tags = json_array();
    const char *user = cl_getenv("USER");
    if (user == NULL)
        user = cl_getenv("LOGNAME");
    if (user != NULL)
        json_array_append_new(tags, json_pack("{s:s, s:s}", "key", "mlflow.user", "value", user));
    json_array_append_new(tags, json_pack("{s:s, s:s}", "key", "mlflow.source.type", "value", "LOCAL"));
    return tags;
}

int cl_run_create_online(cairn_client *c, const char *experiment_id, const char *run_name,
                         int64_t start_time, json_t *tags, char **run_id_out)
{
    json_t *body = json_pack("{s:s, s:I}", "experiment_id", experiment_id, "start_time",
                             (json_int_t)(start_time > 0 ? start_time : cl_now_ms()));
    if (run_name != NULL && *run_name)
        json_object_set_new(body, "run_name", json_string(run_name));
    if (tags != NULL)
        json_object_set(body, "tags", tags);
    const char *user = cl_getenv("USER");
    if (user != NULL)
        json_object_set_new(body, "user_id", json_string(user));
    json_t *resp = NULL;
    int r = cl_api_post_json(c, "runs/create", body, &resp);
    json_decref(body);
    if (r < 0)
        return r;
    const char *id = json_string_value(json_object_get(json_object_get(json_object_get(resp, "run"), "info"), "run_id"));
    if (id == NULL)
        r = cl_fail(CAIRN_EPROTO, "runs/create answered without a run id");
    else if (run_id_out != NULL && (*run_id_out = cl_strdup(id)) == NULL)
        r = cl_oom();
    json_decref(resp);
    return r;
}

int cairn_run_create(cairn_client *c, const char *experiment_id, const char *run_name,
                     int64_t start_time_ms, char **run_id_out)
{
    if (c == NULL)
        return cl_fail(CAIRN_EINVAL, "missing client");
    char *owned_exp = NULL;
    int r = CAIRN_OK;
    if (experiment_id == NULL || *experiment_id == '\0')
        experiment_id = cl_getenv("MLFLOW_EXPERIMENT_ID");
    if (experiment_id == NULL && cl_getenv("MLFLOW_EXPERIMENT_NAME") != NULL) {
        r = cairn_experiment_ensure(c, cl_getenv("MLFLOW_EXPERIMENT_NAME"), &owned_exp);
        if (r < 0)
            return r;
        experiment_id = owned_exp;
    }
    if (experiment_id == NULL)
        experiment_id = "0";
    if (start_time_ms <= 0)
        start_time_ms = cl_now_ms();
    json_t *tags = cl_default_tags();
    r = CAIRN_EUNREACHABLE;
    if (!atomic_load(&c->offline) && strncmp(experiment_id, "local-", 6) != 0) {
        r = cl_run_create_online(c, experiment_id, run_name, start_time_ms, tags, run_id_out);
        if (!cl_fallback(c, r))
            goto out;
    }
    if (c->no_spool) {
        r = cl_fail(CAIRN_EOFFLINE, "the client is offline and spooling is disabled");
        goto out;
    }
    char hex[33], local[48];
    cl_uuid_hex(hex);
    snprintf(local, sizeof local, "local-%s", hex);
    json_t *f = json_pack("{s:s, s:s, s:I, s:O}", "local_id", local, "experiment_id", experiment_id,
                          "start_time", (json_int_t)start_time_ms, "tags", tags);
    if (run_name != NULL)
        json_object_set_new(f, "run_name", json_string(run_name));
    r = cl_spool_append(c, "run_create", f);
    json_decref(f);
    if (r == CAIRN_OK && run_id_out != NULL && (*run_id_out = cl_strdup(local)) == NULL)
        r = cl_oom();
out:
    json_decref(tags);
    free(owned_exp);
    return r;
}

static const char *cl_run_or_env(const char *run_id)
{
    return run_id != NULL && *run_id ? run_id : cairn_env_run_id();
}

static int cl_online_only(cairn_client *c, const char *run_id)
{
    if (c == NULL)
        return cl_fail(CAIRN_EINVAL, "missing client");
    if (run_id == NULL)
        return cl_fail(CAIRN_EINVAL, "missing run id (pass one or set MLFLOW_RUN_ID)");
    if (c->forced_offline)
        return cl_fail(CAIRN_EOFFLINE, "the client is offline (CAIRN_OFFLINE); this call needs the server");
    if (cl_is_local_run(run_id))
        return cl_fail(CAIRN_EOFFLINE, "run %s exists only in the spool until `cairn sync`", run_id);
    return CAIRN_OK;
}

int cairn_run_get(cairn_client *c, const char *run_id, char **json_out)
{
    run_id = cl_run_or_env(run_id);
    int r = cl_online_only(c, run_id);
    if (r < 0)
        return r;
    char *q = cl_escape(run_id, 1);
    if (q == NULL)
        return cl_oom();
    char path[512];
    snprintf(path, sizeof path, "runs/get?run_id=%.400s", q);
    free(q);
    return cl_api_get(c, path, json_out);
}

static json_t *cl_split(const char *s)
{
    json_t *a = json_array();
    if (s == NULL)
        return a;
    const char *p = s;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n > 0 && (*p == ' ')) {
            p++;
            n--;
        }
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if (n > 0)
            json_array_append_new(a, json_stringn(p, n));
        p = e ? e + 1 : p + strlen(p);
    }
    return a;
}

int cairn_run_search(cairn_client *c, const char *experiment_ids, const char *filter,
                     const char *order_by, const char *view, int max_results, char **json_out)
{
    if (c == NULL)
        return cl_fail(CAIRN_EINVAL, "missing client");
    if (c->forced_offline)
        return cl_fail(CAIRN_EOFFLINE, "the client is offline (CAIRN_OFFLINE); this call needs the server");
    json_t *ids = cl_split(experiment_ids ? experiment_ids : cl_getenv("MLFLOW_EXPERIMENT_ID"));
    if (json_array_size(ids) == 0)
        json_array_append_new(ids, json_string("0"));
    json_t *all = json_array();
    json_t *token = NULL;
    int r = CAIRN_OK;
    do {
        int want = 1000;
        if (max_results > 0 && (size_t)max_results - json_array_size(all) < 1000)
            want = max_results - (int)json_array_size(all);
        json_t *body = json_pack("{s:O, s:i, s:s, s:o}", "experiment_ids", ids, "max_results", want,
                                 "run_view_type", view ? view : "ACTIVE_ONLY", "order_by", cl_split(order_by));
        if (filter != NULL && *filter)
            json_object_set_new(body, "filter", json_string(filter));
        if (token != NULL)
            json_object_set(body, "page_token", token);
        json_decref(token);
        token = NULL;
        json_t *resp = NULL;
        r = cl_api_post_json(c, "runs/search", body, &resp);
        json_decref(body);
        if (r < 0)
            break;
        json_t *runs = json_object_get(resp, "runs");
        if (runs != NULL)
            json_array_extend(all, runs);
        const char *t = json_string_value(json_object_get(resp, "next_page_token"));
        if (t != NULL && *t && (max_results <= 0 || json_array_size(all) < (size_t)max_results))
            token = json_string(t);
        json_decref(resp);
    } while (token != NULL);
    json_decref(ids);
    if (r < 0) {
        json_decref(all);
        return r;
    }
    return cl_dump_out(json_pack("{s:o}", "runs", all), json_out);
}

int cl_run_update_online(cairn_client *c, const char *run_id, const char *status, int64_t end_time)
{
    json_t *body = json_pack("{s:s}", "run_id", run_id);
    if (status != NULL)
        json_object_set_new(body, "status", json_string(status));
    if (end_time > 0)
        json_object_set_new(body, "end_time", json_integer(end_time));
    int r = cl_api_post_json(c, "runs/update", body, NULL);
    json_decref(body);
    return r;
}

int cairn_run_update_status(cairn_client *c, const char *run_id, const char *status, int64_t end_time_ms)
{
    run_id = cl_run_or_env(run_id);
    if (c == NULL || run_id == NULL)
        return cl_fail(CAIRN_EINVAL, "missing run id (pass one or set MLFLOW_RUN_ID)");
    if (runstatus_parse(status) == RUNSTATUS_NONE)
        return cl_fail(CAIRN_EINVAL, "invalid run status '%s' (" RUNSTATUS_LIST ")", status ? status : "");
    if (end_time_ms <= 0 && runstatus_is_terminal(status))
        end_time_ms = cl_now_ms();
    int r = CAIRN_EUNREACHABLE;
    if (!atomic_load(&c->offline) && !cl_is_local_run(run_id)) {
        r = cl_run_update_online(c, run_id, status, end_time_ms);
        if (!cl_fallback(c, r))
            return r;
    }
    if (c->no_spool)
        return cl_fail(CAIRN_EOFFLINE, "the client is offline and spooling is disabled");
    json_t *f = json_pack("{s:s, s:s, s:I}", "run_id", run_id, "status", status, "end_time",
                          (json_int_t)end_time_ms);
    r = cl_spool_append(c, "run_update", f);
    json_decref(f);
    return r;
}

int cairn_run_end(cairn_client *c, const char *run_id, const char *status)
{
    if (c == NULL)
        return cl_fail(CAIRN_EINVAL, "missing client");
    int fr = cl_queue_flush(c);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", cairn_error_last()->message);
    int r = cairn_run_update_status(c, run_id, status ? status : "FINISHED", 0);
    if (r == CAIRN_OK && fr < 0)
        return cl_fail(fr, "%s", msg);
    return r;
}

static int cl_run_post(cairn_client *c, const char *run_id, const char *path)
{
    run_id = cl_run_or_env(run_id);
    int r = cl_online_only(c, run_id);
    if (r < 0)
        return r;
    json_t *body = json_pack("{s:s}", "run_id", run_id);
    r = cl_api_post_json(c, path, body, NULL);
    json_decref(body);
    return r;
}

int cairn_run_delete(cairn_client *c, const char *run_id)
{
    return cl_run_post(c, run_id, "runs/delete");
}

int cairn_run_restore(cairn_client *c, const char *run_id)
{
    return cl_run_post(c, run_id, "runs/restore");
}

int cairn_metric_history(cairn_client *c, const char *run_id, const char *key, char **json_out)
{
    run_id = cl_run_or_env(run_id);
    int r = cl_online_only(c, run_id);
    if (r == CAIRN_OK)
        r = cl_require("metric key", key);
    if (r < 0)
        return r;
    char *qr = cl_escape(run_id, 1), *qk = cl_escape(key, 1);
    json_t *all = json_array();
    char *token = NULL;
    cl_buf path = {0};
    do {
        path.len = 0;
        r = cl_buf_printf(&path, "metrics/get-history?run_id=%s&metric_key=%s&max_results=25000", qr, qk);
        if (token != NULL) {
            char *qt = cl_escape(token, 1);
            r |= cl_buf_printf(&path, "&page_token=%s", qt);
            free(qt);
            free(token);
            token = NULL;
        }
        json_t *resp = NULL;
        if (r == CAIRN_OK)
            r = cl_api_get_json(c, path.data, &resp);
        if (r < 0)
            break;
        json_t *m = json_object_get(resp, "metrics");
        if (m != NULL)
            json_array_extend(all, m);
        const char *t = json_string_value(json_object_get(resp, "next_page_token"));
        if (t != NULL && *t)
            token = cl_strdup(t);
        json_decref(resp);
    } while (token != NULL);
    free(qr);
    free(qk);
    cl_buf_free(&path);
    if (r < 0) {
        json_decref(all);
        return r;
    }
    return cl_dump_out(json_pack("{s:o}", "metrics", all), json_out);
}
