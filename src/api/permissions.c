/* permissions.c - MLflow's basic-auth permission endpoints:
 * experiments/permissions/{create,get,update,delete} and
 * registered-models/permissions/{create,get,update,delete}, with MLflow's
 * bodies and answers ({"experiment_permission": {...}},
 * {"registered_model_permission": {...}}, or {}).
 *
 * The handlers only read the arguments the way MLflow's
 * _get_request_param does and hand them to the store, whose errors are
 * MLflow's (user not found, permission exists or is missing, a level that
 * is not READ, EDIT, MANAGE or NO_PERMISSIONS). Who may grant is the
 * door's: MANAGE on the experiment or the model (access.c). Like MLflow,
 * a permission may name an experiment or model that does not exist yet. */
#include "../store/store_auth.h"
#include "api.h"
#include "auth.h"
#include "common.h"

/* The three arguments; permission only when want_perm. */
static int perm_args(const api_request *req, const char *resource_key, bool want_perm,
                     const char **resource, const char **username, const char **permission,
                     cerr *e)
{
    *permission = NULL;
    if (api_auth_param(req->args, resource_key, resource, e) < 0 ||
        api_auth_param(req->args, "username", username, e) < 0)
        return -1;
    return want_perm ? api_auth_param(req->args, "permission", permission, e) : 0;
}

static int perm_answer(json_t *(*to_json)(const store_permission *), const char *key,
                       store_permission *p, json_t **out)
{
    *out = json_pack("{s:o}", key, to_json(p));
    store_permission_free(p);
    return 0;
}

/* A change to a permission holds from the next request on: the door's
 * cache of permissions is dropped. */
static int perm_changed(const api_ctx *ctx)
{
    if (ctx->auth)
        api_auth_permissions_changed(ctx->auth);
    return 0;
}

/* ---- experiments ---- */

int api_experiment_permissions_create(const api_ctx *ctx, const api_request *req, json_t **out,
                                      cerr *e)
{
    const char *id, *user, *perm;
    store_permission p = {0};
    if (perm_args(req, "experiment_id", true, &id, &user, &perm, e) < 0 ||
        store_experiment_permission_create(ctx->st, id, user, perm, &p, e) < 0)
        return -1;
    perm_changed(ctx);
    return perm_answer(api_experiment_permission_json, "experiment_permission", &p, out);
}

int api_experiment_permissions_get(const api_ctx *ctx, const api_request *req, json_t **out,
                                   cerr *e)
{
    const char *id, *user, *perm;
    store_permission p = {0};
    if (perm_args(req, "experiment_id", false, &id, &user, &perm, e) < 0 ||
        store_experiment_permission_get(ctx->st, id, user, &p, e) < 0)
        return -1;
    return perm_answer(api_experiment_permission_json, "experiment_permission", &p, out);
}

int api_experiment_permissions_update(const api_ctx *ctx, const api_request *req, json_t **out,
                                      cerr *e)
{
    const char *id, *user, *perm;
    if (perm_args(req, "experiment_id", true, &id, &user, &perm, e) < 0 ||
        store_experiment_permission_update(ctx->st, id, user, perm, e) < 0)
        return -1;
    perm_changed(ctx);
    *out = api_empty();
    return 0;
}

int api_experiment_permissions_delete(const api_ctx *ctx, const api_request *req, json_t **out,
                                      cerr *e)
{
    const char *id, *user, *perm;
    if (perm_args(req, "experiment_id", false, &id, &user, &perm, e) < 0 ||
        store_experiment_permission_delete(ctx->st, id, user, e) < 0)
        return -1;
    perm_changed(ctx);
    *out = api_empty();
    return 0;
}

/* ---- registered models ---- */

int api_model_permissions_create(const api_ctx *ctx, const api_request *req, json_t **out,
                                 cerr *e)
{
    const char *name, *user, *perm;
    store_permission p = {0};
    if (perm_args(req, "name", true, &name, &user, &perm, e) < 0 ||
        store_model_permission_create(ctx->st, name, user, perm, &p, e) < 0)
        return -1;
    perm_changed(ctx);
    return perm_answer(api_model_permission_json, "registered_model_permission", &p, out);
}

int api_model_permissions_get(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    const char *name, *user, *perm;
    store_permission p = {0};
    if (perm_args(req, "name", false, &name, &user, &perm, e) < 0 ||
        store_model_permission_get(ctx->st, name, user, &p, e) < 0)
        return -1;
    return perm_answer(api_model_permission_json, "registered_model_permission", &p, out);
}

int api_model_permissions_update(const api_ctx *ctx, const api_request *req, json_t **out,
                                 cerr *e)
{
    const char *name, *user, *perm;
    if (perm_args(req, "name", true, &name, &user, &perm, e) < 0 ||
        store_model_permission_update(ctx->st, name, user, perm, e) < 0)
        return -1;
    perm_changed(ctx);
    *out = api_empty();
    return 0;
}

int api_model_permissions_delete(const api_ctx *ctx, const api_request *req, json_t **out,
                                 cerr *e)
{
    const char *name, *user, *perm;
    if (perm_args(req, "name", false, &name, &user, &perm, e) < 0 ||
        store_model_permission_delete(ctx->st, name, user, e) < 0)
        return -1;
    perm_changed(ctx);
    *out = api_empty();
    return 0;
}
