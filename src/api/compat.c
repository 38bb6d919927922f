/* compat.c - the submission APIs of the systems Cairn replaces, over the
 * same job service (docs/JOBS.md):
 *   mantik's compute-backend: POST /compute-backend/submit/{experiment_id}
 *     with its form fields, answered 201 {experiment_id, run_id,
 *     unicore_job_id}; both its old and new field names are read;
 *   ml-task-manager: POST /new_task with `files` (a task config JSON and a
 *     zip or one script), GET /tasks, /task/{id}, /job_status/{id}. */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "../util/jsonx.h"
#include "jobs_int.h"

/* ---- mantik ---- */

#define API_MANTIK_CONFIG "compute-backend-config.json"

/* The first of the names given that is set. */
static int api_first_string(const json_t *args, const char *a, const char *b, const char **out,
                            cerr *e)
{
    if (jsonx_string(args, a, out, e) < 0)
        return -1;
    if (*out == NULL || (*out)[0] == '\0')
        return jsonx_string(args, b, out, e);
    return 0;
}

int api_compat_compute_backend_submit(const api_ctx *ctx, const api_request *req, api_result *res,
                                      cerr *e)
{
    if (api_jobs_service(ctx, e) < 0)
        return -1;
    const api_file *zip = api_form_file(req, "mlproject_zip");
    if (zip == NULL)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Missing value for required parameter 'mlproject_zip'");
    job_submit_req r = {.source = "compute-backend", .archive_path = zip->path,
                        .archive_name = zip->filename};
    if (jsonx_string(req->args, "experiment_id", &r.experiment_id, e) < 0 ||
        jsonx_string(req->args, "entry_point", &r.entry_point, e) < 0 ||
        jsonx_string(req->args, "run_name", &r.run_name, e) < 0 ||
        jsonx_string(req->args, "backend", &r.backend, e) < 0 ||
        api_first_string(req->args, "compute_backend_config", "unicore_backend_config",
                         &r.config_in_project, e) < 0 ||
        api_first_string(req->args, "compute_budget_account", "unicore_project", &r.account, e) < 0)
        return -1;
    if (r.config_in_project == NULL || r.config_in_project[0] == '\0')
        r.config_in_project = API_MANTIK_CONFIG;
    json_t *params = json_array();
    store_job job = STORE_JOB_INIT;
    const char **pv = NULL;
    int rc = api_jobs_params(req->args, "mlflow_parameters", params, e);
    if (rc == 0) {
        pv = api_str_array(params, &r.nparams);
        r.params = pv;
        rc = job_service_submit(ctx->jobs, &r, &job, e);
    }
    if (rc == 0) {
        res->json = json_pack("{s:I, s:s, s:s}", "experiment_id",
                              (json_int_t)strtoll(job.experiment_id, NULL, 10), "run_id",
                              job.run_id, "unicore_job_id", job.job_id);
        res->status = 201;
    }
    store_job_free(&job);
    json_decref(params);
    free(pv);
    return rc;
}

/* ---- ml-task-manager ---- */

/* Which of the uploaded files is the task config: the one named *.json
 * that parses as a JSON object. */
static const api_file *api_task_config_file(const api_request *req, json_t **cfg)
{
    for (size_t i = 0; i < req->nfiles; i++) {
        const api_file *f = &req->files[i];
        size_t n = strlen(f->filename);
        if (n < 5 || strcmp(f->filename + n - 5, ".json") != 0 || f->size > API_JOBS_CONFIG_MAX)
            continue;
        json_error_t je;
        json_t *obj = json_load_file(f->path, 0, &je);
        if (json_is_object(obj)) {
            *cfg = obj;
            return f;
        }
        json_decref(obj);
    }
    return NULL;
}

static bool api_is_zip(const api_file *f)
{
    size_t n = strlen(f->filename);
    return n >= 4 && strcmp(f->filename + n - 4, ".zip") == 0;
}

/* clusters.<first>.infra_config: account and image_name. */
static void api_task_cluster(const json_t *cfg, job_submit_req *r)
{
    json_t *clusters = json_object_get(cfg, "clusters");
    if (!json_is_object(clusters) || json_object_size(clusters) == 0)
        return;
    void *it = json_object_iter(clusters);
    json_t *infra = json_object_get(json_object_iter_value(it), "infra_config");
    r->account = json_string_value(json_object_get(infra, "account"));
    r->image = json_string_value(json_object_get(infra, "image_name"));
    if (r->backend == NULL)
        r->backend = "slurm";
}

static int api_task_params(const json_t *cfg, json_t *params, cerr *e)
{
    json_t *mp = json_object_get(cfg, "model_params");
    if (mp == NULL || json_is_null(mp))
        return 0;
    char *text = json_dumps(mp, JSON_COMPACT | JSON_ENCODE_ANY);
    json_t *args = json_pack("{s:s}", "model_params", text);
    free(text);
    int rc = api_jobs_params(args, "model_params", params, e);
    json_decref(args);
    return rc;
}

/* A task: the Job object with task_id and status added. */
static json_t *api_task_of(const store_job *job)
{
    json_t *task = api_job_json(job);
    json_object_set_new(task, "task_id", json_string(job->job_id));
    json_object_set_new(task, "status", json_string(job_state_name(job->state)));
    return task;
}

int api_compat_new_task(const api_ctx *ctx, const api_request *req, api_result *res, cerr *e)
{
    if (api_jobs_service(ctx, e) < 0)
        return -1;
    json_t *cfg = NULL;
    const api_file *cf = api_task_config_file(req, &cfg);
    const api_file *project = NULL;
    for (size_t i = 0; i < req->nfiles; i++)
        if (&req->files[i] != cf && strcmp(req->files[i].field, "files") == 0)
            project = &req->files[i];
    if (cf == NULL || project == NULL) {
        json_decref(cfg);
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "'files' must hold a task config (*.json) and the project (a zip, or "
                        "one entry-point file)");
    }
    job_submit_req r = {.source = "new_task", .archive_path = project->path,
                        .archive_name = project->filename, .single_file = !api_is_zip(project)};
    r.experiment_name = json_string_value(json_object_get(cfg, "experiment_name"));
    r.entry_point = json_string_value(json_object_get(cfg, "command"));
    const char *loc = json_string_value(json_object_get(cfg, "runner_location"));
    if (loc && (strcmp(loc, "local") == 0 || strcmp(loc, "slurm") == 0))
        r.backend = loc;
    api_task_cluster(cfg, &r);
    if (r.single_file && r.entry_point == NULL)
        r.entry_point = project->filename;
    json_t *params = json_array();
    store_job job = STORE_JOB_INIT;
    const char **pv = NULL;
    /* The experiment is named in the task's file, not in a field: the
     * door's check runs here, once it is known. */
    int rc = api_access_experiment_name(ctx, req, r.experiment_name, API_PERM_EDIT, e);
    if (rc == 0)
        rc = api_task_params(cfg, params, e);
    if (rc == 0) {
        pv = api_str_array(params, &r.nparams);
        r.params = pv;
        rc = job_service_submit(ctx->jobs, &r, &job, e);
    }
    if (rc == 0)
        res->json = json_pack("{s:s, s:s, s:s, s:s, s:s}", "task_id", job.job_id, "job_id",
                              job.job_id, "run_id", job.run_id, "experiment_id",
                              job.experiment_id, "status", job_state_name(job.state));
    store_job_free(&job);
    json_decref(params);
    json_decref(cfg);
    free(pv);
    return rc;
}

int api_compat_tasks(const api_ctx *ctx, const api_request *req, api_result *res, cerr *e)
{
    (void)req;
    store_job_query q = {NULL, "new_task", false, 0, NULL};
    store_job *jobs;
    size_t n;
    char *next = NULL;
    if (api_jobs_service(ctx, e) < 0 || job_service_list(ctx->jobs, &q, &jobs, &n, &next, e) < 0)
        return -1;
    free(next);
    json_t *tasks = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(tasks, api_task_of(&jobs[i]));
    store_jobs_free(jobs, n);
    res->json = json_object();
    json_object_set_new(res->json, "tasks", tasks);
    return 0;
}

int api_compat_task(const api_ctx *ctx, const api_request *req, api_result *res, cerr *e)
{
    const char *id;
    store_job job;
    if (api_job_load(ctx, req, "task_id", &id, &job, e) < 0)
        return -1;
    res->json = api_task_of(&job);
    store_job_free(&job);
    return 0;
}

int api_compat_job_status(const api_ctx *ctx, const api_request *req, api_result *res, cerr *e)
{
    const char *id;
    store_job job;
    if (api_job_load(ctx, req, "job_id", &id, &job, e) < 0)
        return -1;
    res->json = json_pack("{s:s, s:s, s:s}", "job_id", id, "status", job_state_name(job.state),
                          "backend_job_id", job.backend_job_id);
    store_job_free(&job);
    return 0;
}
