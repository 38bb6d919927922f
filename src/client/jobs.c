/* jobs.c - the jobs API of a Cairn server (docs/JOBS.md): submit a project
 * (multipart upload of the archive and the backend config), get, list (all
 * pages), cancel, and the job's output streamed to a callback. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

#define CL_JOBS "/api/2.0/cairn/jobs/"
#define CL_JOBS_PAGE 1000

static int cl_jobs_need(cairn_client *c)
{
    if (c == NULL)
        return cl_fail(CAIRN_EINVAL, "missing client");
    if (c->forced_offline)
        return cl_fail(CAIRN_EOFFLINE, "the client is offline (CAIRN_OFFLINE); this call needs the server");
    return CAIRN_OK;
}

static int cl_jobs_call(cairn_client *c, const char *method, const char *path, const char *body, char **out)
{
    pthread_mutex_lock(&c->http_mu);
    int r = cl_http(c, c->http, method, path, body, body ? strlen(body) : 0, out);
    pthread_mutex_unlock(&c->http_mu);
    return r;
}

/* ---- submit ---- */
static int cl_readable_file(const char *what, const char *path)
{
    struct stat st;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return cl_fail(CAIRN_EIO, "cannot open %s %s: %s", what, path, strerror(errno));
    int regular = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
    fclose(f);
    return regular ? CAIRN_OK : cl_fail(CAIRN_EIO, "%s %s is not a regular file", what, path);
}

static int cl_check_submit(const cairn_job_submit_opts *o)
{
    if (o == NULL || cl_require("project archive", o->project_path) < 0)
        return cl_fail(CAIRN_EINVAL, "missing project archive");
    if (o->experiment_id && *o->experiment_id && o->experiment_name && *o->experiment_name)
        return cl_fail(CAIRN_EINVAL, "give an experiment id or an experiment name, not both");
    if (o->parameters_json != NULL) {
        json_t *p = json_loads(o->parameters_json, 0, NULL);
        int ok = json_is_object(p);
        json_decref(p);
        if (!ok)
            return cl_fail(CAIRN_EINVAL, "parameters must be a JSON object");
    }
    for (size_t i = 0; i < o->nenv; i++)
        if (o->env[i] == NULL || strchr(o->env[i], '=') == NULL || o->env[i][0] == '=')
            return cl_fail(CAIRN_EINVAL, "environment item '%s' is not NAME=value", o->env[i] ? o->env[i] : "");
    int r = cl_readable_file("project archive", o->project_path);
    if (r == CAIRN_OK && o->backend_config_path != NULL)
        r = cl_readable_file("backend config", o->backend_config_path);
    return r;
}

static int cl_part_text(curl_mime *m, const char *name, const char *value)
{
    if (value == NULL || *value == '\0')
        return CAIRN_OK;
    curl_mimepart *p = curl_mime_addpart(m);
    if (p == NULL || curl_mime_name(p, name) != CURLE_OK || curl_mime_data(p, value, CURL_ZERO_TERMINATED) != CURLE_OK)
        return cl_oom();
    return CAIRN_OK;
}

static int cl_part_file(curl_mime *m, const char *name, const char *path, const char *type)
{
    curl_mimepart *p = curl_mime_addpart(m);
    if (p == NULL || curl_mime_name(p, name) != CURLE_OK)
        return cl_oom();
    if (curl_mime_filedata(p, path) != CURLE_OK)
        return cl_fail(CAIRN_EIO, "cannot read %s", path);
    curl_mime_type(p, type);
    return CAIRN_OK;
}

static int cl_submit_parts(curl_mime *m, void *ud)
{
    const cairn_job_submit_opts *o = ud;
    int r = cl_part_file(m, "project", o->project_path, "application/octet-stream");
    if (r == CAIRN_OK && o->backend_config_path)
        r = cl_part_file(m, "backend_config", o->backend_config_path, "text/plain");
    const char *text[][2] = {{"backend", o->backend},
                             {"entry_point", o->entry_point},
                             {"parameters", o->parameters_json},
                             {"experiment_id", o->experiment_id},
                             {"experiment_name", o->experiment_name},
                             {"run_name", o->run_name},
                             {"source_name", o->source_name},
                             {"git_commit", o->git_commit}};
    for (size_t i = 0; r == CAIRN_OK && i < sizeof text / sizeof text[0]; i++)
        r = cl_part_text(m, text[i][0], text[i][1]);
    for (size_t i = 0; r == CAIRN_OK && i < o->nenv; i++)
        r = cl_part_text(m, "env", o->env[i]);
    return r;
}

int cairn_job_submit(cairn_client *c, const cairn_job_submit_opts *opts, char **job_json)
{
    int r = cl_jobs_need(c);
    if (r == CAIRN_OK)
        r = cl_check_submit(opts);
    if (r < 0)
        return r;
    return cl_http_multipart(c, CL_JOBS "submit", cl_submit_parts, (void *)opts, job_json);
}

/* ---- get, list, cancel ---- */
static int cl_job_id(const char *job_id, char **escaped)
{
    if (cl_require("job id", job_id) < 0)
        return CAIRN_EINVAL;
    if ((*escaped = cl_escape(job_id, 1)) == NULL)
        return cl_oom();
    return CAIRN_OK;
}

int cairn_job_get(cairn_client *c, const char *job_id, char **job_json)
{
    char *q = NULL;
    int r = cl_jobs_need(c);
    if (r == CAIRN_OK)
        r = cl_job_id(job_id, &q);
    if (r < 0)
        return r;
    cl_buf path = {0};
    r = cl_buf_printf(&path, CL_JOBS "get?job_id=%s", q);
    free(q);
    if (r == CAIRN_OK)
        r = cl_jobs_call(c, "GET", path.data, NULL, job_json);
    cl_buf_free(&path);
    return r;
}

int cairn_job_cancel(cairn_client *c, const char *job_id, char **job_json)
{
    int r = cl_jobs_need(c);
    if (r == CAIRN_OK)
        r = cl_require("job id", job_id);
    if (r < 0)
        return r;
    json_t *body = json_pack("{s:s}", "job_id", job_id);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL)
        return cl_oom();
    r = cl_jobs_call(c, "POST", CL_JOBS "cancel", text, job_json);
    free(text);
    return r;
}

/* One page: appends its jobs to all; *token gets the next page's token or NULL. */
static int cl_jobs_page(cairn_client *c, const char *exp, int active, int max, char **token, json_t *all)
{
    cl_buf path = {0};
    int r = cl_buf_printf(&path, CL_JOBS "list?max_results=%d%s", max, active ? "&active_only=true" : "");
    char *q = NULL;
    if (r == CAIRN_OK && exp != NULL && *exp && (q = cl_escape(exp, 1)) != NULL)
        r = cl_buf_printf(&path, "&experiment_id=%s", q);
    free(q);
    q = NULL;
    if (r == CAIRN_OK && *token != NULL && (q = cl_escape(*token, 1)) != NULL)
        r = cl_buf_printf(&path, "&page_token=%s", q);
    free(q);
    free(*token);
    *token = NULL;
    char *text = NULL;
    if (r == CAIRN_OK)
        r = cl_jobs_call(c, "GET", path.data, NULL, &text);
    cl_buf_free(&path);
    if (r < 0)
        return r;
    json_t *resp = json_loads(text, 0, NULL);
    free(text);
    json_t *jobs = json_object_get(resp, "jobs");
    if (!json_is_object(resp) || (jobs != NULL && !json_is_array(jobs))) {
        json_decref(resp);
        return cl_fail(CAIRN_EPROTO, "unexpected answer to jobs/list");
    }
    if (jobs != NULL)
        json_array_extend(all, jobs);
    const char *t = json_string_value(json_object_get(resp, "next_page_token"));
    if (t != NULL && *t && (*token = cl_strdup(t)) == NULL)
        r = cl_oom();
    json_decref(resp);
    return r;
}

int cairn_job_list(cairn_client *c, const char *experiment_id, int active_only, int max_results,
                   char **json_out)
{
    int r = cl_jobs_need(c);
    if (r < 0)
        return r;
    if (max_results < 0)
        return cl_fail(CAIRN_EINVAL, "max_results must not be negative");
    json_t *all = json_array();
    char *token = NULL;
    do {
        size_t have = json_array_size(all);
        int page = max_results == 0 || max_results - (int)have > CL_JOBS_PAGE ? CL_JOBS_PAGE
                                                                              : max_results - (int)have;
        r = cl_jobs_page(c, experiment_id, active_only, page, &token, all);
    } while (r == CAIRN_OK && token != NULL && (max_results == 0 || (int)json_array_size(all) < max_results));
    free(token);
    if (r < 0) {
        json_decref(all);
        return r;
    }
    return cl_dump_out(json_pack("{s:o}", "jobs", all), json_out);
}

/* ---- logs ---- */
int cairn_job_logs(cairn_client *c, const char *job_id, int64_t offset, int follow, cairn_write_fn write_cb,
                   void *arg)
{
    char *q = NULL;
    int r = cl_jobs_need(c);
    if (r == CAIRN_OK && write_cb == NULL)
        r = cl_fail(CAIRN_EINVAL, "missing write callback");
    if (r == CAIRN_OK && offset < 0)
        r = cl_fail(CAIRN_EINVAL, "offset must not be negative");
    if (r == CAIRN_OK)
        r = cl_job_id(job_id, &q);
    if (r < 0)
        return r;
    cl_buf path = {0};
    r = cl_buf_printf(&path, CL_JOBS "logs?job_id=%s&offset=%lld%s", q, (long long)offset,
                      follow ? "&follow=true" : "");
    free(q);
    if (r == CAIRN_OK)
        r = cl_http_stream(c, path.data, write_cb, arg);
    cl_buf_free(&path);
    return r;
}
