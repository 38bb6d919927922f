/* jobs.c - Cairn's jobs endpoints under /api/2.0/cairn/jobs/ (docs/JOBS.md):
 * submit (a multipart form: the project archive, its backend config, entry
 * point, parameters, experiment), get, list, cancel, and logs, which sends
 * the job's output as text and, with follow=true, keeps the answer open
 * until the job has ended and every byte is sent. */
#include "api.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/jsonx.h"
#include "common.h"
#include "jobs_int.h"

int api_jobs_service(const api_ctx *ctx, cerr *e)
{
    if (ctx->jobs == NULL)
        return cerr_set(e, CERR_NOT_IMPLEMENTED, "this server runs no job service");
    return 0;
}

const api_file *api_form_file(const api_request *req, const char *field)
{
    for (size_t i = 0; i < req->nfiles; i++)
        if (strcmp(req->files[i].field, field) == 0)
            return &req->files[i];
    return NULL;
}

int api_file_read(const api_file *f, size_t max, char **text, size_t *len, cerr *e)
{
    *text = NULL;
    if (f->size > max)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "the file '%s' is larger than %zu bytes",
                        f->field, max);
    FILE *in = fopen(f->path, "rb");
    if (in == NULL)
        return cerr_set(e, CERR_INTERNAL_ERROR, "reading the upload: %s", strerror(errno));
    char *buf = malloc((size_t)f->size + 1);
    size_t n = fread(buf, 1, (size_t)f->size, in);
    fclose(in);
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

/* A parameter's value as text: a string as it is, a number as Python's
 * str() writes it (0.1, not 0.10000000000000001): the shortest form that
 * reads back to the same double, which is what the client wrote. */
static char *api_param_text(const json_t *v)
{
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_real(v)) {
        double d = json_real_value(v);
        char buf[40];
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, d);
            if (strtod(buf, NULL) == d)
                break;
        }
        if (!strpbrk(buf, ".eEn")) /* 2.0 stays a float, as in Python */
            strcat(buf, ".0");
        return strdup(buf);
    }
    return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

/* The form's `parameters` (a JSON object) and `param` fields (key=value),
 * as "key=value" strings into params (which owns them). */
int api_jobs_params(const json_t *args, const char *field, json_t *params, cerr *e)
{
    const char *text = NULL;
    if (jsonx_string(args, field, &text, e) < 0)
        return -1;
    if (text && text[0]) {
        json_error_t je;
        json_t *obj = json_loads(text, 0, &je);
        if (!json_is_object(obj)) {
            json_decref(obj);
            return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                            "'%s' must be a JSON object of parameter names to values", field);
        }
        const char *k;
        json_t *v;
        json_object_foreach(obj, k, v) {
            char *val = api_param_text(v);
            if (json_is_object(v) || json_is_array(v) || json_is_null(v)) {
                /* The message first: k lives in obj. */
                cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                         "parameter '%s' must be a string or a number", k);
                free(val);
                json_decref(obj);
                return -1;
            }
            json_array_append_new(params, json_sprintf("%s=%s", k, val));
            free(val);
        }
        json_decref(obj);
    }
    return 0;
}

/* A JSON array of strings as a C array of borrowed pointers (free it). */
const char **api_str_array(const json_t *arr, size_t *n)
{
    *n = json_array_size(arr);
    const char **v = calloc(*n + 1, sizeof *v);
    for (size_t i = 0; i < *n; i++)
        v[i] = json_string_value(json_array_get(arr, i));
    return v;
}

json_t *api_job_json(const store_job *j)
{
#define API_TEXT(s) ((s) ? (s) : "")
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, "
                     "s:I, s:I, s:I, s:s}",
                     "job_id", API_TEXT(j->job_id), "experiment_id", API_TEXT(j->experiment_id),
                     "run_id", API_TEXT(j->run_id), "run_name", API_TEXT(j->run_name), "backend",
                     backend_kind_name(j->backend), "backend_job_id", API_TEXT(j->backend_job_id),
                     "state", job_state_name(j->state), "run_status",
                     job_state_run_status(j->state), "reason", API_TEXT(j->reason), "exit_code",
                     j->exit_code, "entry_point", API_TEXT(j->entry_point), "command",
                     API_TEXT(j->command), "user_id", API_TEXT(j->user_id), "source",
                     API_TEXT(j->source), "submit_time", (json_int_t)j->submit_time,
                     "start_time", (json_int_t)j->start_time, "end_time",
                     (json_int_t)j->end_time, "host", API_TEXT(j->host));
#undef API_TEXT
}

int api_jobs_answer(store_job *job, const char *key, api_result *res)
{
    res->json = json_object();
    json_object_set_new(res->json, key, api_job_json(job));
    store_job_free(job);
    return 0;
}

int api_jobs_submit(const api_ctx *ctx, const api_request *req, api_result *res, cerr *e)
{
    if (api_jobs_service(ctx, e) < 0)
        return -1;
    const api_file *project = api_form_file(req, "project");
    const api_file *cfgf = api_form_file(req, "backend_config");
    if (project == NULL)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Missing value for required parameter 'project' (the project archive)");
    job_submit_req r = {.source = "cairn", .archive_path = project->path,
                        .archive_name = project->filename};
    const char **vs[] = {&r.backend, &r.entry_point, &r.experiment_id, &r.experiment_name,
                         &r.run_name, &r.source_name, &r.git_commit, &r.user, &r.config_text};
    static const char *const names[] = {"backend", "entry_point", "experiment_id",
                                        "experiment_name", "run_name", "source_name",
                                        "git_commit", "user", "backend_config"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (jsonx_string(req->args, names[i], vs[i], e) < 0)
            return -1;
    char *cfg_text = NULL;
    if (cfgf && api_file_read(cfgf, API_JOBS_CONFIG_MAX, &cfg_text, &r.config_len, e) < 0)
        return -1;
    if (cfg_text)
        r.config_text = cfg_text;
    else if (r.config_text)
        r.config_len = strlen(r.config_text);
    json_t *params = json_array();
    const char **pv = NULL, **ev = NULL, **plist = NULL;
    size_t np = 0;
    int rc = api_jobs_params(req->args, "parameters", params, e);
    if (rc == 0)
        rc = jsonx_strings(req->args, "param", &plist, &np, e);
    for (size_t i = 0; rc == 0 && i < np; i++) {
        if (strchr(plist[i], '=') == NULL)
            rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                          "param '%.100s' must be written key=value", plist[i]);
        json_array_append_new(params, json_string(plist[i]));
    }
    if (rc == 0)
        rc = jsonx_strings(req->args, "env", &ev, &r.nenv, e);
    store_job job = STORE_JOB_INIT;
    if (rc == 0) {
        pv = api_str_array(params, &r.nparams);
        r.params = pv;
        r.env = ev;
        rc = job_service_submit(ctx->jobs, &r, &job, e);
    }
    if (rc == 0)
        api_jobs_answer(&job, "job", res);
    free(plist);
    free(pv);
    free(ev);
    json_decref(params);
    free(cfg_text);
    return rc;
}

int api_job_load(const api_ctx *ctx, const api_request *req, const char *field, const char **id,
                 store_job *job, cerr *e)
{
    if (api_jobs_service(ctx, e) < 0 || jsonx_string_required(req->args, field, id, e) < 0)
        return -1;
    return job_service_get(ctx->jobs, *id, job, e);
}

int api_jobs_get(const api_ctx *ctx, const api_request *req, api_result *res, cerr *e)
{
    const char *id;
    store_job job;
    if (api_job_load(ctx, req, "job_id", &id, &job, e) < 0)
        return -1;
    return api_jobs_answer(&job, "job", res);
}

int api_jobs_cancel(const api_ctx *ctx, const api_request *req, api_result *res, cerr *e)
{
    const char *id;
    store_job job;
    if (api_jobs_service(ctx, e) < 0 || jsonx_string_required(req->args, "job_id", &id, e) < 0 ||
        job_service_cancel(ctx->jobs, id, &job, e) < 0)
        return -1;
    return api_jobs_answer(&job, "job", res);
}

/* true/false, as MLflow's boolean query arguments. */
int api_bool_arg(const json_t *args, const char *key, bool *out, cerr *e)
{
    json_t *v = json_object_get(args, key);
    *out = false;
    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    const char *s = json_string_value(v);
    if (s && (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "1") == 0))
        *out = true;
    else if (!s || !(strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "0") == 0))
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Invalid value for parameter '%s' supplied: use true or false", key);
    return 0;
}

int api_jobs_list(const api_ctx *ctx, const api_request *req, api_result *res, cerr *e)
{
    store_job_query q = {0};
    int64_t max = API_JOBS_LIST_DEFAULT;
    bool has_max;
    if (api_jobs_service(ctx, e) < 0 ||
        jsonx_string(req->args, "experiment_id", &q.experiment_id, e) < 0 ||
        jsonx_string(req->args, "page_token", &q.page_token, e) < 0 ||
        api_bool_arg(req->args, "active_only", &q.active_only, e) < 0 ||
        jsonx_int64(req->args, "max_results", &max, &has_max, e) < 0)
        return -1;
    if (max < 1 || max > API_JOBS_LIST_MAX)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Invalid value %lld for parameter 'max_results' supplied: it must be "
                        "between 1 and %d",
                        (long long)max, API_JOBS_LIST_MAX);
    q.max_results = max;
    store_job *jobs;
    size_t n;
    char *next = NULL;
    if (job_service_list(ctx->jobs, &q, &jobs, &n, &next, e) < 0)
        return -1;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, api_job_json(&jobs[i]));
    store_jobs_free(jobs, n);
    res->json = json_object();
    json_object_set_new(res->json, "jobs", arr);
    if (next)
        json_object_set_new(res->json, "next_page_token", json_string(next));
    free(next);
    return 0;
}
