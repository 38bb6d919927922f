/* routes.c - the one route table: every URL Cairn answers, from /health to
 * MLflow's REST API, the mlflow-artifacts service, Cairn's jobs and the
 * submission APIs of the systems Cairn replaces. http/ looks every request
 * up here; the access check (access.c) reads each route's scope and
 * permission; `cairn server --routes` prints it. Rows name their fields,
 * so a new field touches no row. */
#include <string.h>

#include "api.h"
#include "common.h"

#define MLFLOW API_MOUNT_MLFLOW
#define READ API_PERM_READ
#define EDIT API_PERM_EDIT
#define MANAGE API_PERM_MANAGE

static const api_route api_routes[] = {
    {.method = "GET", .mount = API_MOUNT_ROOT, .path = "/health", .fn_ex = api_health,
     .scope = API_SCOPE_PUBLIC, .doc = "Answers OK while the server runs"},

    /* MLflow 2.9.2's tracking service (service.proto). */
    {.method = "POST", .mount = MLFLOW, .path = "experiments/create", .fn = api_experiments_create,
     .scope = API_SCOPE_CREATE, .perm = EDIT, .doc = "Create an experiment"},
    {.method = "GET", .mount = MLFLOW, .path = "experiments/get", .fn = api_experiments_get,
     .scope = API_SCOPE_EXPERIMENT, .perm = READ, .doc = "Get an experiment by id"},
    {.method = "GET", .mount = MLFLOW, .path = "experiments/get-by-name",
     .fn = api_experiments_get_by_name, .scope = API_SCOPE_EXPERIMENT_NAME, .perm = READ,
     .doc = "Get an experiment by name"},
    {.method = "POST", .mount = MLFLOW, .path = "experiments/search", .fn = api_experiments_search,
     .scope = API_SCOPE_LIST, .perm = READ, .doc = "Search experiments"},
    {.method = "GET", .mount = MLFLOW, .path = "experiments/search", .fn = api_experiments_search,
     .scope = API_SCOPE_LIST, .perm = READ, .doc = "Search experiments"},
    {.method = "POST", .mount = MLFLOW, .path = "experiments/update", .fn = api_experiments_update,
     .scope = API_SCOPE_EXPERIMENT, .perm = EDIT, .doc = "Rename an experiment"},
    {.method = "POST", .mount = MLFLOW, .path = "experiments/delete", .fn = api_experiments_delete,
     .scope = API_SCOPE_EXPERIMENT, .perm = MANAGE, .doc = "Delete an experiment"},
    {.method = "POST", .mount = MLFLOW, .path = "experiments/restore",
     .fn = api_experiments_restore, .scope = API_SCOPE_EXPERIMENT, .perm = MANAGE,
     .doc = "Restore a deleted experiment"},
    {.method = "POST", .mount = MLFLOW, .path = "experiments/set-experiment-tag",
     .fn = api_experiments_set_tag, .scope = API_SCOPE_EXPERIMENT, .perm = EDIT,
     .doc = "Set a tag on an experiment"},
    {.method = "POST", .mount = MLFLOW, .path = "runs/create", .fn = api_runs_create,
     .scope = API_SCOPE_EXPERIMENT, .perm = EDIT, .doc = "Create a run"},
    {.method = "GET", .mount = MLFLOW, .path = "runs/get", .fn = api_runs_get,
     .scope = API_SCOPE_RUN, .perm = READ, .doc = "Get a run"},
    {.method = "POST", .mount = MLFLOW, .path = "runs/update", .fn = api_runs_update,
     .scope = API_SCOPE_RUN, .perm = EDIT, .doc = "Update a run's status, end time or name"},
    {.method = "POST", .mount = MLFLOW, .path = "runs/delete", .fn = api_runs_delete,
     .scope = API_SCOPE_RUN, .perm = MANAGE, .doc = "Delete a run"},
    {.method = "POST", .mount = MLFLOW, .path = "runs/restore", .fn = api_runs_restore,
     .scope = API_SCOPE_RUN, .perm = MANAGE, .doc = "Restore a deleted run"},
    {.method = "POST", .mount = MLFLOW, .path = "runs/search", .fn = api_runs_search,
     .scope = API_SCOPE_EXPERIMENTS, .perm = READ, .doc = "Search runs"},
    {.method = "POST", .mount = MLFLOW, .path = "runs/log-metric", .fn = api_runs_log_metric,
     .prep = api_runs_log_metric_prep, .scope = API_SCOPE_RUN, .perm = EDIT,
     .doc = "Log a metric value"},
    {.method = "POST", .mount = MLFLOW, .path = "runs/log-parameter", .fn = api_runs_log_parameter,
     .prep = api_runs_log_parameter_prep, .scope = API_SCOPE_RUN, .perm = EDIT,
     .doc = "Log a parameter"},
    {.method = "POST", .mount = MLFLOW, .path = "runs/log-batch", .fn = api_runs_log_batch,
     .prep = api_runs_log_batch_prep, .scope = API_SCOPE_RUN, .perm = EDIT,
     .doc = "Log metrics, params and tags at once"},
    {.method = "POST", .mount = MLFLOW, .path = "runs/set-tag", .fn = api_runs_set_tag,
     .prep = api_runs_set_tag_prep, .scope = API_SCOPE_RUN, .perm = EDIT,
     .doc = "Set a tag on a run"},
    {.method = "POST", .mount = MLFLOW, .path = "runs/delete-tag", .fn = api_runs_delete_tag,
     .scope = API_SCOPE_RUN, .perm = EDIT, .doc = "Delete a run's tag"},
    {.method = "POST", .mount = MLFLOW, .path = "runs/log-inputs", .fn = api_runs_log_inputs,
     .scope = API_SCOPE_RUN, .perm = EDIT, .doc = "Log dataset inputs"},
    {.method = "GET", .mount = MLFLOW, .path = "metrics/get-history",
     .fn_ex = api_metrics_get_history_ex, .scope = API_SCOPE_RUN, .perm = READ,
     .doc = "A metric's history (streamed when no page is asked)"},
    /* MLflow 2.11's, served because the UI's charts want it. */
    {.method = "GET", .mount = MLFLOW, .path = "metrics/get-history-bulk-interval",
     .fn_ex = api_metrics_get_history_bulk_interval, .scope = API_SCOPE_RUNS, .perm = READ,
     .doc = "Several runs' histories, down-sampled"},
    {.method = "GET", .mount = MLFLOW, .path = "artifacts/list", .fn = api_artifacts_list, .slow = true,
     .scope = API_SCOPE_RUN, .perm = READ, .doc = "List a run's artifacts"},

    /* The mlflow-artifacts service (mlflow_artifacts.proto). */
    {.method = "GET", .mount = API_MOUNT_ARTIFACTS, .path = "artifacts", .fn = api_proxy_list, .slow = true,
     .scope = API_SCOPE_ARTIFACT, .perm = READ, .doc = "List a folder of the destination"},
    {.method = "GET", .mount = API_MOUNT_ARTIFACTS, .path = "artifacts/", .fn = api_proxy_list, .slow = true,
     .scope = API_SCOPE_ARTIFACT, .perm = READ, .doc = "List a folder of the destination"},
    {.method = "GET", .mount = API_MOUNT_ARTIFACTS, .path = "artifacts/", .fn_ex = api_proxy_get, .slow = true,
     .param = "path", .param_tail = true, .scope = API_SCOPE_ARTIFACT, .perm = READ,
     .doc = "Download an artifact"},
    {.method = "PUT", .mount = API_MOUNT_ARTIFACTS, .path = "artifacts/",
     .upload = api_proxy_put_begin, .body = API_BODY_RAW, .param = "path", .param_tail = true,
     .scope = API_SCOPE_ARTIFACT, .perm = EDIT, .doc = "Upload an artifact (streamed)"},
    {.method = "DELETE", .mount = API_MOUNT_ARTIFACTS, .path = "artifacts/",
     .fn = api_proxy_delete, .param = "path", .param_tail = true, .scope = API_SCOPE_ARTIFACT,
     .perm = MANAGE, .doc = "Delete an artifact or a folder"},
    {.method = "POST", .mount = API_MOUNT_ARTIFACTS, .path = "mpu/create/", .fn = api_proxy_mpu,
     .param = "path", .param_tail = true, .scope = API_SCOPE_ARTIFACT, .perm = EDIT,
     .doc = "Multipart upload (refused: clients fall back to PUT)"},
    {.method = "POST", .mount = API_MOUNT_ARTIFACTS, .path = "mpu/complete/", .fn = api_proxy_mpu,
     .param = "path", .param_tail = true, .scope = API_SCOPE_ARTIFACT, .perm = EDIT,
     .doc = "Multipart upload (refused: clients fall back to PUT)"},
    {.method = "POST", .mount = API_MOUNT_ARTIFACTS, .path = "mpu/abort/", .fn = api_proxy_mpu,
     .param = "path", .param_tail = true, .scope = API_SCOPE_ARTIFACT, .perm = EDIT,
     .doc = "Multipart upload (refused: clients fall back to PUT)"},

    /* Cairn's jobs (docs/JOBS.md). */
    {.method = "POST", .mount = API_MOUNT_CAIRN, .path = "jobs/submit", .fn_ex = api_jobs_submit,
     .body = API_BODY_FORM, .scope = API_SCOPE_SUBMIT, .perm = EDIT,
     .doc = "Submit a project as a job"},
    {.method = "GET", .mount = API_MOUNT_CAIRN, .path = "jobs/get", .fn_ex = api_jobs_get,
     .scope = API_SCOPE_JOB, .perm = READ, .doc = "Get a job"},
    {.method = "GET", .mount = API_MOUNT_CAIRN, .path = "jobs/list", .fn_ex = api_jobs_list,
     .scope = API_SCOPE_LIST, .perm = READ, .doc = "List jobs"},
    {.method = "POST", .mount = API_MOUNT_CAIRN, .path = "jobs/cancel", .fn_ex = api_jobs_cancel,
     .scope = API_SCOPE_JOB, .perm = EDIT, .doc = "Cancel a job"},
    {.method = "GET", .mount = API_MOUNT_CAIRN, .path = "jobs/logs", .fn_ex = api_jobs_logs,
     .scope = API_SCOPE_JOB, .perm = READ, .doc = "A job's output (follow=true: live)"},

    /* mantik's compute-backend service. */
    {.method = "POST", .mount = API_MOUNT_ROOT, .path = "/compute-backend/submit/",
     .fn_ex = api_compat_compute_backend_submit, .body = API_BODY_FORM, .param = "experiment_id",
     .scope = API_SCOPE_SUBMIT, .perm = EDIT, .doc = "mantik: submit a project"},
    /* ml-task-manager (FastAPI answers both with and without the slash). */
    {.method = "POST", .mount = API_MOUNT_ROOT, .path = "/new_task", .fn_ex = api_compat_new_task,
     .body = API_BODY_FORM, .scope = API_SCOPE_SUBMIT, .perm = EDIT,
     .doc = "ml-task-manager: submit a task"},
    {.method = "POST", .mount = API_MOUNT_ROOT, .path = "/new_task/", .fn_ex = api_compat_new_task,
     .body = API_BODY_FORM, .scope = API_SCOPE_SUBMIT, .perm = EDIT,
     .doc = "ml-task-manager: submit a task"},
    {.method = "GET", .mount = API_MOUNT_ROOT, .path = "/tasks", .fn_ex = api_compat_tasks,
     .scope = API_SCOPE_LIST, .perm = READ, .doc = "ml-task-manager: list tasks"},
    {.method = "GET", .mount = API_MOUNT_ROOT, .path = "/tasks/", .fn_ex = api_compat_tasks,
     .scope = API_SCOPE_LIST, .perm = READ, .doc = "ml-task-manager: list tasks"},
    {.method = "GET", .mount = API_MOUNT_ROOT, .path = "/task/", .fn_ex = api_compat_task,
     .param = "task_id", .scope = API_SCOPE_JOB, .perm = READ, .doc = "ml-task-manager: a task"},
    {.method = "GET", .mount = API_MOUNT_ROOT, .path = "/job_status/",
     .fn_ex = api_compat_job_status, .param = "job_id", .scope = API_SCOPE_JOB, .perm = READ,
     .doc = "ml-task-manager: a job's status"},
    /* MLflow's basic-auth app (mlflow/server/auth/routes.py): users and
     * permissions. users/create is for admins unless --allow-signup. */
    {.method = "POST", .mount = MLFLOW, .path = "users/create", .fn = api_users_create,
     .scope = API_SCOPE_ADMIN, .doc = "Create a user (must change the password at first sign-in)"},
    {.method = "GET", .mount = MLFLOW, .path = "users/get", .fn = api_users_get,
     .scope = API_SCOPE_USER, .doc = "Get a user and their permissions"},
    {.method = "PATCH", .mount = MLFLOW, .path = "users/update-password",
     .fn = api_users_update_password, .scope = API_SCOPE_USER,
     .doc = "Change a user's password (the seed's policy)"},
    {.method = "PATCH", .mount = MLFLOW, .path = "users/update-admin",
     .fn = api_users_update_admin, .scope = API_SCOPE_ADMIN, .doc = "Make a user an admin or not"},
    {.method = "DELETE", .mount = MLFLOW, .path = "users/delete", .fn = api_users_delete,
     .scope = API_SCOPE_ADMIN, .doc = "Delete a user and their permissions"},
    {.method = "POST", .mount = MLFLOW, .path = "experiments/permissions/create",
     .fn = api_experiment_permissions_create, .scope = API_SCOPE_EXPERIMENT, .perm = MANAGE,
     .doc = "Grant a user a permission on an experiment"},
    {.method = "GET", .mount = MLFLOW, .path = "experiments/permissions/get",
     .fn = api_experiment_permissions_get, .scope = API_SCOPE_EXPERIMENT, .perm = MANAGE,
     .doc = "A user's permission on an experiment"},
    {.method = "PATCH", .mount = MLFLOW, .path = "experiments/permissions/update",
     .fn = api_experiment_permissions_update, .scope = API_SCOPE_EXPERIMENT, .perm = MANAGE,
     .doc = "Change a user's permission on an experiment"},
    {.method = "DELETE", .mount = MLFLOW, .path = "experiments/permissions/delete",
     .fn = api_experiment_permissions_delete, .scope = API_SCOPE_EXPERIMENT, .perm = MANAGE,
     .doc = "Remove a user's permission on an experiment (the default applies)"},
    {.method = "POST", .mount = MLFLOW, .path = "registered-models/permissions/create",
     .fn = api_model_permissions_create, .scope = API_SCOPE_MODEL, .perm = MANAGE,
     .doc = "Grant a user a permission on a registered model"},
    {.method = "GET", .mount = MLFLOW, .path = "registered-models/permissions/get",
     .fn = api_model_permissions_get, .scope = API_SCOPE_MODEL, .perm = MANAGE,
     .doc = "A user's permission on a registered model"},
    {.method = "PATCH", .mount = MLFLOW, .path = "registered-models/permissions/update",
     .fn = api_model_permissions_update, .scope = API_SCOPE_MODEL, .perm = MANAGE,
     .doc = "Change a user's permission on a registered model"},
    {.method = "DELETE", .mount = MLFLOW, .path = "registered-models/permissions/delete",
     .fn = api_model_permissions_delete, .scope = API_SCOPE_MODEL, .perm = MANAGE,
     .doc = "Remove a user's permission on a registered model (the default applies)"},

    /* Tokens (tokens.c): the handlers check the credentials themselves. */
    {.method = "POST", .mount = API_MOUNT_CAIRN, .path = "auth/token", .fn = api_tokens_create,
     .scope = API_SCOPE_LOGIN, .doc = "Sign in: an access token (JWT) and a refresh token"},
    {.method = "POST", .mount = API_MOUNT_CAIRN, .path = "auth/refresh", .fn = api_tokens_refresh,
     .scope = API_SCOPE_LOGIN, .doc = "A refresh token for a new pair (the old one is spent)"},
    {.method = "POST", .mount = API_MOUNT_CAIRN, .path = "auth/revoke", .fn = api_tokens_revoke,
     .scope = API_SCOPE_LOGIN, .doc = "Revoke a refresh token"},
    {.method = "POST", .mount = API_MOUNT_ROOT, .path = "/auth/login",
     .fn = api_tokens_oauth2_login, .body = API_BODY_FORM, .scope = API_SCOPE_LOGIN,
     .doc = "ml-task-manager: OAuth2 password-flow sign-in (a form)"},
    {.method = "POST", .mount = API_MOUNT_ROOT, .path = "/mantik-api/mantik/tokens/create",
     .fn = api_tokens_mantik_create, .scope = API_SCOPE_LOGIN, .doc = "mantik: sign in"},
    {.method = "POST", .mount = API_MOUNT_ROOT, .path = "/mantik-api/mantik/tokens/refresh",
     .fn = api_tokens_mantik_refresh, .scope = API_SCOPE_LOGIN, .doc = "mantik: refresh tokens"},
};

#define API_NROUTES (sizeof api_routes / sizeof api_routes[0])

/* Each mount is served below two prefixes: the REST one and the one
 * MLflow's UI calls (/ajax-api/), which Flask routes to the same views. */
static const char *const api_mount_prefixes[][2] = {
    [API_MOUNT_ROOT] = {"", NULL},
    [API_MOUNT_MLFLOW] = {"/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"},
    [API_MOUNT_ARTIFACTS] = {"/api/2.0/mlflow-artifacts/", "/ajax-api/2.0/mlflow-artifacts/"},
    [API_MOUNT_CAIRN] = {"/api/2.0/cairn/", "/ajax-api/2.0/cairn/"},
};

const char *api_mount_prefix(api_mount m) { return api_mount_prefixes[m][0]; }

const api_route *api_routes_all(size_t *n)
{
    *n = API_NROUTES;
    return api_routes;
}

const char *api_scope_name(api_scope s)
{
    static const char *const names[] = {
        [API_SCOPE_PUBLIC] = "public", [API_SCOPE_CREATE] = "create",
        [API_SCOPE_EXPERIMENT] = "experiment", [API_SCOPE_EXPERIMENT_NAME] = "experiment_name",
        [API_SCOPE_EXPERIMENTS] = "experiments", [API_SCOPE_RUN] = "run",
        [API_SCOPE_RUNS] = "runs", [API_SCOPE_ARTIFACT] = "artifact", [API_SCOPE_JOB] = "job",
        [API_SCOPE_SUBMIT] = "submit", [API_SCOPE_LIST] = "list", [API_SCOPE_ADMIN] = "admin",
        [API_SCOPE_USER] = "user", [API_SCOPE_MODEL] = "model", [API_SCOPE_LOGIN] = "login",
    };
    return names[s];
}

/* The part of url below m's prefixes, or NULL when url is not below them. */
static const char *api_unmount(api_mount m, const char *url)
{
    for (int i = 0; i < 2; i++) {
        const char *p = api_mount_prefixes[m][i];
        if (p == NULL)
            break;
        size_t n = strlen(p);
        if (strncmp(url, p, n) == 0)
            return url + n;
    }
    return NULL;
}

/* Does rest match r's path? *param is set to where a parameter starts. */
static bool api_route_match(const api_route *r, const char *rest, const char **param)
{
    if (r->param == NULL)
        return strcmp(rest, r->path) == 0;
    size_t n = strlen(r->path);
    if (strncmp(rest, r->path, n) != 0 || rest[n] == '\0')
        return false;
    if (!r->param_tail && strchr(rest + n, '/'))
        return false;
    *param = rest + n;
    return true;
}

const api_route *api_route_find(const char *method, const char *url, bool *path_known,
                                const char **param)
{
    *path_known = false;
    *param = NULL;
    for (size_t i = 0; i < API_NROUTES; i++) {
        const api_route *r = &api_routes[i];
        const char *rest = api_unmount(r->mount, url), *p = NULL;
        if (rest == NULL || !api_route_match(r, rest, &p))
            continue;
        *path_known = true;
        if (strcmp(r->method, method) == 0) {
            *param = p;
            return r;
        }
    }
    return NULL;
}

bool api_url_is_mlflow(const char *url) { return api_unmount(API_MOUNT_MLFLOW, url) != NULL; }
