/* access.c - the one door's lock: before any handler runs, who is asking
 * and whether they may (api_access_check), and after a list, what of it
 * they may see (api_access_after, which also makes a new experiment's
 * creator its manager). Every route in routes.c names what it
 * touches (its scope) and the permission it needs; this file turns the
 * scope into an experiment and asks the server's policy. MLflow's
 * basic-auth app decides the same way: by experiment, READ < EDIT < MANAGE,
 * runs and artifacts through their experiment (the artifact proxy by the
 * first component of the path).
 *
 * With no policy (auth off), nothing is looked up: the fast write path
 * pays one pointer test. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../util/jsonx.h"
#include "api.h"
#include "auth.h"
#include "common.h"

static int api_allow(const api_ctx *ctx, const api_request *req, const char *experiment_id,
                     api_perm perm, cerr *e)
{
    if (ctx->auth)
        return api_auth_allow_experiment(ctx->auth, &req->caller, experiment_id, perm, e);
    return ctx->policy->allow(ctx->policy, &req->caller, experiment_id, perm, e);
}

/* Users and permissions need an admin, or (API_SCOPE_USER) the user
 * themself; registered models have permissions of their own. Without auth
 * (the toy policy) they are as creating something. */
static int api_allow_account(const api_ctx *ctx, const api_route *route, const api_request *req,
                             cerr *e)
{
    if (ctx->auth == NULL)
        return api_allow(ctx, req, NULL, route->perm, e);
    const api_caller *who = &req->caller;
    const char *arg;
    switch (route->scope) {
    case API_SCOPE_MODEL:
        arg = json_string_value(json_object_get(req->args, "name"));
        return api_auth_allow_model(ctx->auth, who, arg, route->perm, e);
    case API_SCOPE_USER:
        arg = json_string_value(json_object_get(req->args, "username"));
        if (who->is_admin || (arg && strcmp(arg, who->username) == 0))
            return who->scope[0] ? cerr_set(e, CERR_PERMISSION_DENIED, "Permission denied") : 0;
        return cerr_set(e, CERR_PERMISSION_DENIED, "Permission denied");
    default:
        if (who->is_admin && who->scope[0] == '\0')
            return 0;
        return cerr_set(e, CERR_PERMISSION_DENIED, "Permission denied");
    }
}

/* A user an admin created, or whose password an admin reset, may only
 * change it (and read themself) until they do. */
static bool api_route_changes_password(const api_route *route)
{
    return route->scope == API_SCOPE_USER;
}

/* Who is asking, when auth is on: every route but the public ones and the
 * logins (which check credentials themselves). */
int api_identify(const api_ctx *ctx, const api_route *route, api_request *req, cerr *e)
{
    if (ctx->auth == NULL || route->scope == API_SCOPE_PUBLIC || route->scope == API_SCOPE_LOGIN)
        return 0;
    /* Identified already (http/ asks with the headers): not twice. */
    if (!req->caller.authenticated && api_auth_identify(ctx->auth, req, e) < 0)
        return -1;
    if (req->caller.must_change_password && !api_route_changes_password(route))
        return cerr_set(e, CERR_PERMISSION_DENIED,
                        "The password of user '%s' must be changed first "
                        "(PATCH /api/2.0/mlflow/users/update-password)",
                        req->caller.username);
    return 0;
}

static const char *api_arg(const api_request *req, const char *key)
{
    return json_string_value(json_object_get(req->args, key));
}

/* A run's experiment: a run that does not exist is left to the handler,
 * which says so in MLflow's words. */
static int api_allow_run(const api_ctx *ctx, const api_request *req, const char *run_id,
                         api_perm perm, cerr *e)
{
    if (run_id == NULL)
        return 0;
    if (ctx->auth) {
        char exp[64];
        if (api_auth_run_experiment(ctx->auth, run_id, exp, sizeof exp) < 0)
            return 0;
        return api_allow(ctx, req, exp, perm, e);
    }
    json_t *run = NULL;
    cerr ignored;
    if (store_run_get(ctx->st, run_id, &run, &ignored) < 0)
        return 0;
    const char *exp =
        json_string_value(json_object_get(json_object_get(run, "info"), "experiment_id"));
    int rc = api_allow(ctx, req, exp ? exp : "", perm, e);
    json_decref(run);
    return rc;
}

static int api_allow_job(const api_ctx *ctx, const api_request *req, const char *job_id,
                         api_perm perm, cerr *e)
{
    store_job job = STORE_JOB_INIT;
    cerr ignored;
    if (job_id == NULL || store_job_get(ctx->st, job_id, &job, &ignored) < 0)
        return 0;
    int rc = api_allow(ctx, req, job.experiment_id ? job.experiment_id : "", perm, e);
    store_job_free(&job);
    return rc;
}

int api_access_experiment_name(const api_ctx *ctx, const api_request *req, const char *name,
                               api_perm perm, cerr *e)
{
    if (ctx->policy == NULL && ctx->auth == NULL)
        return 0;
    json_t *exp = NULL;
    cerr ignored;
    if (name == NULL || store_experiment_get_by_name(ctx->st, name, &exp, &ignored) < 0)
        return api_allow(ctx, req, NULL, API_PERM_EDIT, e); /* it would be created */
    int rc = api_allow(ctx, req, json_string_value(json_object_get(exp, "experiment_id")), perm,
                       e);
    json_decref(exp);
    return rc;
}

/* The experiment an artifact path of the destination belongs to: MLflow
 * lays runs out as <experiment_id>/<run_id>/artifacts/... */
static int api_allow_artifact(const api_ctx *ctx, const api_request *req, api_perm perm,
                              cerr *e)
{
    const char *path = api_arg(req, "path");
    if (path == NULL)
        path = "";
    while (*path == '/')
        path++;
    size_t n = strcspn(path, "/");
    char id[32];
    bool numeric = n > 0 && n < sizeof id;
    for (size_t i = 0; numeric && i < n; i++)
        numeric = isdigit((unsigned char)path[i]);
    if (!numeric) /* the destination's root, or a folder no experiment owns */
        return api_allow(ctx, req, NULL, perm, e);
    memcpy(id, path, n);
    id[n] = '\0';
    return api_allow(ctx, req, id, perm, e);
}

/* Each string of args[key] (an array, or one string). */
static int api_allow_each(const api_ctx *ctx, const api_request *req, const char *key,
                          bool runs, api_perm perm, cerr *e)
{
    const json_t *v = json_object_get(req->args, key);
    if (json_is_string(v))
        return runs ? api_allow_run(ctx, req, json_string_value(v), perm, e)
                    : api_allow(ctx, req, json_string_value(v), perm, e);
    size_t i;
    const json_t *item;
    json_array_foreach(v, i, item)
    {
        const char *s = json_string_value(item);
        if (s == NULL)
            continue;
        if ((runs ? api_allow_run(ctx, req, s, perm, e) : api_allow(ctx, req, s, perm, e)) < 0)
            return -1;
    }
    return 0;
}

int api_access_check(const api_ctx *ctx, const api_route *route, api_request *req, cerr *e)
{
    if (api_identify(ctx, route, req, e) < 0)
        return -1;
    if (ctx->policy == NULL && ctx->auth == NULL)
        return 0;
    api_perm perm = route->perm;
    const char *id;
    switch (route->scope) {
    case API_SCOPE_PUBLIC:
    case API_SCOPE_LIST:
    case API_SCOPE_LOGIN:
        return 0;
    case API_SCOPE_ADMIN:
        /* users/create: open to anyone only with --allow-signup */
        if (ctx->auth && api_auth_signup_open(ctx->auth) &&
            strcmp(route->path, "users/create") == 0)
            return 0;
        return api_allow_account(ctx, route, req, e);
    case API_SCOPE_USER:
    case API_SCOPE_MODEL:
        return api_allow_account(ctx, route, req, e);
    case API_SCOPE_CREATE:
        return api_allow(ctx, req, NULL, perm, e);
    case API_SCOPE_EXPERIMENT:
        id = api_arg(req, "experiment_id");
        /* runs/create without one creates in the Default experiment. */
        return api_allow(ctx, req, id && id[0] ? id : "0", perm, e);
    case API_SCOPE_EXPERIMENT_NAME:
        return api_access_experiment_name(ctx, req, api_arg(req, "experiment_name"), perm, e);
    case API_SCOPE_EXPERIMENTS:
        return api_allow_each(ctx, req, "experiment_ids", false, perm, e);
    case API_SCOPE_RUN:
        id = api_arg(req, "run_id");
        return api_allow_run(ctx, req, id ? id : api_arg(req, "run_uuid"), perm, e);
    case API_SCOPE_RUNS:
        return api_allow_each(ctx, req, "run_ids", true, perm, e);
    case API_SCOPE_ARTIFACT:
        return api_allow_artifact(ctx, req, perm, e);
    case API_SCOPE_JOB:
        id = api_arg(req, "job_id");
        return api_allow_job(ctx, req, id ? id : api_arg(req, "task_id"), perm, e);
    case API_SCOPE_SUBMIT:
        id = api_arg(req, "experiment_id");
        if (id && id[0])
            return api_allow(ctx, req, id, perm, e);
        id = api_arg(req, "experiment_name");
        if (id && id[0])
            return api_access_experiment_name(ctx, req, id, perm, e);
        return 0; /* named in a file the handler reads: it asks then */
    }
    return cerr_set(e, CERR_INTERNAL_ERROR, "route %s has no scope", route->path);
}

/* The lists a LIST route answers with, each item naming its experiment. */
static const char *const api_list_keys[] = {"experiments", "jobs", "tasks"};

void api_access_after(const api_ctx *ctx, const api_route *route, const api_request *req,
                       api_result *res)
{
    if (ctx->auth && route->scope == API_SCOPE_CREATE && res->json)
        api_auth_grant_creator(ctx->auth, &req->caller,
                               json_string_value(json_object_get(res->json, "experiment_id")));
    if ((ctx->policy == NULL && ctx->auth == NULL) || route->scope != API_SCOPE_LIST ||
        res->json == NULL)
        return;
    for (size_t k = 0; k < sizeof api_list_keys / sizeof api_list_keys[0]; k++) {
        json_t *arr = json_object_get(res->json, api_list_keys[k]);
        for (size_t i = 0; i < json_array_size(arr);) {
            const char *exp =
                json_string_value(json_object_get(json_array_get(arr, i), "experiment_id"));
            cerr ignored;
            if (api_allow(ctx, req, exp ? exp : "", API_PERM_READ, &ignored) < 0)
                json_array_remove(arr, i);
            else
                i++;
        }
    }
}

/* ---- the toy policy ---- */

typedef struct api_deny_list {
    api_policy policy;
    char *ids; /* ",1,7," */
} api_deny_list;

static int api_deny_list_allow(const api_policy *p, const api_caller *who,
                               const char *experiment_id, api_perm perm, cerr *e)
{
    (void)who;
    (void)perm;
    const api_deny_list *d = (const api_deny_list *)p;
    if (experiment_id == NULL || strchr(experiment_id, ',') != NULL)
        return 0;
    char needle[64];
    if (snprintf(needle, sizeof needle, ",%s,", experiment_id) >= (int)sizeof needle ||
        strstr(d->ids, needle) == NULL)
        return 0;
    return cerr_set(e, CERR_PERMISSION_DENIED, "Permission denied");
}

int api_policy_deny_list(const char *ids, api_policy **out)
{
    api_deny_list *d = calloc(1, sizeof *d);
    size_t n = strlen(ids);
    if (d == NULL || (d->ids = malloc(n + 3)) == NULL)
        abort();
    snprintf(d->ids, n + 3, ",%s,", ids);
    d->policy.allow = api_deny_list_allow;
    *out = &d->policy;
    return 0;
}

void api_policy_free(api_policy *p)
{
    if (p == NULL)
        return;
    api_deny_list *d = (api_deny_list *)p;
    free(d->ids);
    free(d);
}
