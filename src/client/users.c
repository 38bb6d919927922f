/* users.c - the administration calls of an MLflow server with basic auth
 * (Cairn's `--auth` or `mlflow server --app-name basic-auth`): users and
 * experiment permissions, over MLflow's own paths, methods and bodies
 * (mlflow/server/auth/client.py), so `cairn users` works against both.
 * Passwords travel only in request bodies, never in a URL. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* method with a JSON body; the answer's text in *out (may be NULL). */
static int cl_users_call(cairn_client *c, const char *method, const char *path, json_t *body,
                         char **out)
{
    if (body == NULL)
        return cl_oom();
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL)
        return cl_oom();
    int r = cl_api_request(c, method, path, text, out);
    cl_wipe_free(text);   /* may hold a password */
    return r;
}

int cairn_user_create(cairn_client *c, const char *username, const char *password, char **json_out)
{
    if (c == NULL || cl_require("username", username) < 0 || cl_require("password", password) < 0)
        return cl_fail(CAIRN_EINVAL, "missing client, username or password");
    return cl_users_call(c, "POST", "users/create",
                         json_pack("{s:s, s:s}", "username", username, "password", password), json_out);
}

int cairn_user_get(cairn_client *c, const char *username, char **json_out)
{
    if (c == NULL || cl_require("username", username) < 0)
        return cl_fail(CAIRN_EINVAL, "missing client or username");
    char *q = cl_escape(username, 1);
    cl_buf path = {0};
    int r = q == NULL || cl_buf_printf(&path, "users/get?username=%s", q) < 0
                ? cl_oom()
                : cl_api_get(c, path.data, json_out);
    free(q);
    cl_buf_free(&path);
    return r;
}

int cairn_user_update_password(cairn_client *c, const char *username, const char *password)
{
    if (c == NULL || cl_require("username", username) < 0 || cl_require("password", password) < 0)
        return cl_fail(CAIRN_EINVAL, "missing client, username or password");
    return cl_users_call(c, "PATCH", "users/update-password",
                         json_pack("{s:s, s:s}", "username", username, "password", password), NULL);
}

int cairn_user_update_admin(cairn_client *c, const char *username, int is_admin)
{
    if (c == NULL || cl_require("username", username) < 0)
        return cl_fail(CAIRN_EINVAL, "missing client or username");
    return cl_users_call(c, "PATCH", "users/update-admin",
                         json_pack("{s:s, s:b}", "username", username, "is_admin", is_admin), NULL);
}

int cairn_user_delete(cairn_client *c, const char *username)
{
    if (c == NULL || cl_require("username", username) < 0)
        return cl_fail(CAIRN_EINVAL, "missing client or username");
    return cl_users_call(c, "DELETE", "users/delete", json_pack("{s:s}", "username", username), NULL);
}

int cairn_experiment_permission_set(cairn_client *c, const char *experiment_id, const char *username,
                                    const char *permission)
{
    if (c == NULL || cl_require("experiment id", experiment_id) < 0 || cl_require("username", username) < 0 ||
        cl_require("permission", permission) < 0)
        return cl_fail(CAIRN_EINVAL, "missing client, experiment id, username or permission");
    json_t *body = json_pack("{s:s, s:s, s:s}", "experiment_id", experiment_id, "username", username,
                             "permission", permission);
    int r = cl_users_call(c, "POST", "experiments/permissions/create", json_incref(body), NULL);
    if (r < 0 && strcmp(cairn_error_last()->error_code, "RESOURCE_ALREADY_EXISTS") == 0)
        r = cl_users_call(c, "PATCH", "experiments/permissions/update", json_incref(body), NULL);
    json_decref(body);
    return r;
}

int cairn_experiment_permission_delete(cairn_client *c, const char *experiment_id, const char *username)
{
    if (c == NULL || cl_require("experiment id", experiment_id) < 0 || cl_require("username", username) < 0)
        return cl_fail(CAIRN_EINVAL, "missing client, experiment id or username");
    return cl_users_call(c, "DELETE", "experiments/permissions/delete",
                         json_pack("{s:s, s:s}", "experiment_id", experiment_id, "username", username), NULL);
}
