/* users.c - MLflow's basic-auth user endpoints (users/create, get,
 * update-password, update-admin, delete), with MLflow's paths, bodies,
 * answers and messages, so that the stock client's AuthServiceClient works
 * unchanged.
 *
 * Why here and not in auth/: these are request handlers; the crypto
 * (the seed's password policy, argon2id) is auth/'s, the rows are the
 * store's. Who may call which is the door's (access.c, by each route's
 * scope): users/create and the admin flag are for administrators, a user
 * may read and change only their own record.
 *
 * Cairn goes beyond MLflow in two places: a password must pass the seed's
 * policy, and a user someone else set the password of (an admin creating
 * the user, or resetting the password) must change it at first sign-in
 * (store_user.must_change_password; the door enforces it). Passwords are
 * never part of a message. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../auth/auth.h"
#include "../store/store_auth.h"
#include "../util/jsonx.h"
#include "api.h"
#include "auth.h"
#include "common.h"

/* ---- the JSON of users and permissions (MLflow's entities.py) ---- */

json_t *api_experiment_permission_json(const store_permission *p)
{
    return json_pack("{s:s, s:I, s:s}", "experiment_id", p->resource ? p->resource : "",
                     "user_id", (json_int_t)p->user_id, "permission",
                     p->permission ? p->permission : "");
}

json_t *api_model_permission_json(const store_permission *p)
{
    return json_pack("{s:s, s:I, s:s}", "name", p->resource ? p->resource : "", "user_id",
                     (json_int_t)p->user_id, "permission", p->permission ? p->permission : "");
}

json_t *api_user_json(const store_user *u, const store_permission *eperms, size_t neperms,
                      const store_permission *mperms, size_t nmperms)
{
    json_t *el = json_array(), *ml = json_array();
    for (size_t i = 0; i < neperms; i++)
        json_array_append_new(el, api_experiment_permission_json(&eperms[i]));
    for (size_t i = 0; i < nmperms; i++)
        json_array_append_new(ml, api_model_permission_json(&mperms[i]));
    /* Never the password hash: MLflow's User.to_json leaves it out too. */
    return json_pack("{s:I, s:s, s:b, s:o, s:o}", "id", (json_int_t)u->id, "username",
                     u->username ? u->username : "", "is_admin", u->is_admin,
                     "experiment_permissions", el, "registered_model_permissions", ml);
}

/* ---- arguments ---- */

/* MLflow's _get_request_param: a key that is absent is "Missing value for
 * required parameter"; a present one, even "", goes on to the store. */
int api_auth_param(const json_t *args, const char *key, const char **out, cerr *e)
{
    if (jsonx_string(args, key, out, e) < 0)
        return -1;
    if (*out == NULL)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Missing value for required parameter '%s'. See the API docs for more "
                        "information about request parameters.",
                        key);
    return 0;
}

/* is_admin as the stock client sends it (a JSON boolean), or as a form or
 * query would ("true" / "false", any case). */
static int users_bool(const json_t *args, const char *key, bool *out, cerr *e)
{
    const json_t *v = json_object_get(args, key);
    if (v == NULL || json_is_null(v))
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Missing value for required parameter '%s'. See the API docs for more "
                        "information about request parameters.",
                        key);
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    const char *s = json_string_value(v);
    if (s && (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0)) {
        *out = strcasecmp(s, "true") == 0;
        return 0;
    }
    return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                    "Invalid value for parameter '%s' supplied: it must be true or false", key);
}

/* The policy, then the hash (heap, in *hash). */
static int users_hash_new_password(const char *password, char **hash, cerr *e)
{
    if (auth_password_check(password, e) < 0)
        return -1;
    return auth_password_hash(password, hash, e);
}

static void users_hash_free(char *hash)
{
    if (hash == NULL)
        return;
    /* Not a secret, but no reason to leave it lying in the heap. */
    memset(hash, 0, strlen(hash));
    free(hash);
}

static void users_forget(const api_ctx *ctx, const char *username)
{
    if (ctx->auth)
        api_auth_forget(ctx->auth, username);
}

/* Does the caller act on their own record? (Only an authenticated caller
 * can; with auth off nobody is anybody.) */
static bool users_is_self(const api_request *req, const char *username)
{
    return req->caller.authenticated && strcmp(req->caller.username, username) == 0;
}

/* ---- handlers ---- */

int api_users_create(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    const char *username, *password;
    if (api_auth_param(req->args, "username", &username, e) < 0 ||
        api_auth_param(req->args, "password", &password, e) < 0)
        return -1;
    /* MLflow answers this one as plain text (400); Cairn keeps its JSON
     * error format, with MLflow's words. */
    if (username[0] == '\0' || password[0] == '\0')
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Username and password cannot be empty.");
    if (strlen(username) > STORE_USERNAME_MAX)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Username is longer than %d characters", STORE_USERNAME_MAX);
    char *hash = NULL;
    if (users_hash_new_password(password, &hash, e) < 0)
        return -1;
    /* Signing oneself up (--allow-signup, by a caller who is no admin)
     * chooses one's own password; anyone else's choice must be changed. */
    bool self_signup = ctx->auth && api_auth_signup_open(ctx->auth) && !req->caller.is_admin;
    store_user u = STORE_USER_INIT;
    int rc = store_user_create(ctx->st, username, hash, false, !self_signup, &u, e);
    users_hash_free(hash);
    if (rc < 0)
        return -1;
    *out = json_pack("{s:o}", "user", api_user_json(&u, NULL, 0, NULL, 0));
    store_user_free(&u);
    return 0;
}

int api_users_get(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    const char *username;
    if (api_auth_param(req->args, "username", &username, e) < 0)
        return -1;
    store_user u = STORE_USER_INIT;
    store_permission *ep = NULL, *mp = NULL;
    size_t nep = 0, nmp = 0;
    if (store_user_get(ctx->st, username, &u, e) < 0)
        return -1;
    int rc = store_experiment_permission_list(ctx->st, username, &ep, &nep, e);
    if (rc == 0)
        rc = store_model_permission_list(ctx->st, username, &mp, &nmp, e);
    if (rc == 0)
        *out = json_pack("{s:o}", "user", api_user_json(&u, ep, nep, mp, nmp));
    store_permissions_free(ep, nep);
    store_permissions_free(mp, nmp);
    store_user_free(&u);
    return rc;
}

int api_users_update_password(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    const char *username, *password;
    if (api_auth_param(req->args, "username", &username, e) < 0 ||
        api_auth_param(req->args, "password", &password, e) < 0)
        return -1;
    store_user u = STORE_USER_INIT;
    if (store_user_get(ctx->st, username, &u, e) < 0)
        return -1;
    char *hash = NULL;
    int rc = users_hash_new_password(password, &hash, e);
    /* The user's own change clears the flag; anyone else's (an admin's
     * reset) sets it. */
    if (rc == 0)
        rc = store_user_update_password(ctx->st, username, hash, !users_is_self(req, username), e);
    users_hash_free(hash);
    /* A changed password ends the sessions the old one opened. */
    cerr ignored;
    if (rc == 0)
        (void)store_refresh_token_revoke_user(ctx->st, u.id, &ignored);
    store_user_free(&u);
    if (rc < 0)
        return -1;
    users_forget(ctx, username);
    *out = api_empty();
    return 0;
}

int api_users_update_admin(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    const char *username;
    bool is_admin = false;
    if (api_auth_param(req->args, "username", &username, e) < 0 ||
        users_bool(req->args, "is_admin", &is_admin, e) < 0 ||
        store_user_update_admin(ctx->st, username, is_admin, e) < 0)
        return -1;
    users_forget(ctx, username);
    *out = api_empty();
    return 0;
}

int api_users_delete(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    const char *username;
    if (api_auth_param(req->args, "username", &username, e) < 0 ||
        store_user_delete(ctx->st, username, e) < 0)
        return -1;
    users_forget(ctx, username);
    *out = api_empty();
    return 0;
}
