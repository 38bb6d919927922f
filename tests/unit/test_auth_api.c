/* test_auth_api.c - the user, permission and token handlers (users.c,
 * permissions.c, tokens.c) called directly, with no socket, over a real
 * SQLite store and a real api_auth (api/auth.c) with its admin: the answer
 * shapes of MLflow's basic-auth app, its messages, the password policy,
 * the must-change flag and the token life cycle. The door (access.c) is
 * not exercised here: tests/api/test_auth_api.py does that over HTTP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/api.h"
#include "api/auth.h"
#include "store/store_auth.h"

#define ADMIN "admin"
#define ADMIN_PW "Adm1n!passw0rd"
#define GOOD_PW "G00d!Password"

typedef struct fixture {
    char dir[64];
    store *st;
    api_auth *auth;
    api_ctx ctx;
} fixture;

static int fx_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/cairn-authapi-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char uri[128], key[128];
    snprintf(uri, sizeof uri, "sqlite:///%s/mlflow.db", f->dir);
    snprintf(key, sizeof key, "%s/key", f->dir);
    cerr e = {0};
    assert_int_equal(store_open(uri, "/artifacts/", &f->st, &e), 0);
    api_auth_config cfg = {.st = f->st, .key_path = key, .default_permission = "READ",
                           .admin_username = ADMIN, .admin_password = ADMIN_PW};
    const char *warning = NULL;
    if (api_auth_open(&cfg, &f->auth, &warning, &e) < 0)
        fail_msg("api_auth_open: %s", e.msg);
    f->ctx.st = f->st;
    f->ctx.auth = f->auth;
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fixture *f = *state;
    api_auth_free(f->auth);
    store_close(f->st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* Calls fn on the JSON args as caller `who` (NULL: nobody; "admin" is the
 * admin). Returns rc; *out the answer (caller frees) or NULL. */
static int call_as(fixture *f, const char *who, bool admin, api_handler fn, const char *args,
                   json_t **out, cerr *e)
{
    json_error_t je;
    api_request req = {.args = json_loads(args, 0, &je)};
    if (req.args == NULL)
        fail_msg("bad args %s: %s", args, je.text);
    snprintf(req.caller.remote_addr, sizeof req.caller.remote_addr, "127.0.0.1");
    if (who) {
        req.caller.authenticated = true;
        req.caller.is_admin = admin;
        snprintf(req.caller.username, sizeof req.caller.username, "%s", who);
    }
    *out = NULL;
    memset(e, 0, sizeof *e);
    int rc = fn(&f->ctx, &req, out, e);
    json_decref(req.args);
    return rc;
}

static json_t *ok(fixture *f, const char *who, bool admin, api_handler fn, const char *args)
{
    json_t *out;
    cerr e;
    if (call_as(f, who, admin, fn, args, &out, &e) != 0)
        fail_msg("%s: %s %s", args, cerr_code_name(e.code), e.msg);
    assert_non_null(out);
    return out;
}

static void fails(fixture *f, api_handler fn, const char *args, cerr_code code, const char *msg)
{
    json_t *out;
    cerr e;
    assert_int_equal(call_as(f, ADMIN, true, fn, args, &out, &e), -1);
    assert_null(out);
    if (e.code != code || strstr(e.msg, msg) == NULL)
        fail_msg("%s: got %s '%s', want %s '%s'", args, cerr_code_name(e.code), e.msg,
                 cerr_code_name(code), msg);
}

static void assert_json(json_t *got, const char *want)
{
    json_t *w = json_loads(want, 0, NULL);
    assert_non_null(w);
    if (!json_equal(got, w)) {
        char *g = json_dumps(got, JSON_SORT_KEYS);
        fail_msg("got %s, want %s", g, want);
    }
    json_decref(w);
}

static bool must_change(fixture *f, const char *username)
{
    store_user u = STORE_USER_INIT;
    cerr e;
    assert_int_equal(store_user_get(f->st, username, &u, &e), 0);
    bool m = u.must_change_password;
    store_user_free(&u);
    return m;
}

/* ---- pure ---- */

static void t_user_json(void **state)
{
    (void)state;
    store_user u = {.id = 3, .username = "alice", .password_hash = "$argon2id$secret",
                    .is_admin = false};
    store_permission ep = {.resource = "12", .user_id = 3, .permission = "READ"};
    store_permission mp = {.resource = "model-a", .user_id = 3, .permission = "MANAGE"};
    json_t *j = api_user_json(&u, &ep, 1, &mp, 1);
    assert_json(j, "{\"id\": 3, \"username\": \"alice\", \"is_admin\": false,"
                   " \"experiment_permissions\": [{\"experiment_id\": \"12\", \"user_id\": 3,"
                   " \"permission\": \"READ\"}], \"registered_model_permissions\": [{\"name\":"
                   " \"model-a\", \"user_id\": 3, \"permission\": \"MANAGE\"}]}");
    json_decref(j);
    j = api_user_json(&u, NULL, 0, NULL, 0);
    assert_json(j, "{\"id\": 3, \"username\": \"alice\", \"is_admin\": false,"
                   " \"experiment_permissions\": [], \"registered_model_permissions\": []}");
    json_decref(j);
}

static void t_token_json(void **state)
{
    (void)state;
    char when[32];
    api_tokens_iso8601(0, when);
    assert_string_equal(when, "1970-01-01T00:00:00+00:00");
    api_tokens_iso8601(1700000000, when);
    assert_string_equal(when, "2023-11-14T22:13:20+00:00");
    api_tokens t = {.access = "a.b.c", .refresh = "r", .expires_at = 1700000000};
    json_t *j = api_tokens_cairn_json(&t, 1700000000 - 3600);
    assert_json(j, "{\"access_token\": \"a.b.c\", \"refresh_token\": \"r\", \"token_type\":"
                   " \"bearer\", \"expires_in\": 3600, \"expires_at\": 1700000000}");
    json_decref(j);
    j = api_tokens_mantik_json(&t);
    assert_json(j, "{\"AccessToken\": \"a.b.c\", \"RefreshToken\": \"r\", \"ExpiresAt\":"
                   " \"2023-11-14T22:13:20+00:00\"}");
    json_decref(j);
}

/* ---- users ---- */

static void t_users_life(void **state)
{
    fixture *f = *state;
    json_t *j = ok(f, ADMIN, true, api_users_create,
                   "{\"username\": \"bob\", \"password\": \"" GOOD_PW "\"}");
    json_t *u = json_object_get(j, "user");
    assert_string_equal(json_string_value(json_object_get(u, "username")), "bob");
    assert_true(json_is_integer(json_object_get(u, "id")));
    assert_true(json_is_false(json_object_get(u, "is_admin")));
    assert_null(json_object_get(u, "password_hash"));
    assert_null(json_object_get(u, "password"));
    json_decref(j);
    assert_true(must_change(f, "bob")); /* an admin chose it */

    json_decref(ok(f, ADMIN, true, api_experiment_permissions_create,
                   "{\"experiment_id\": \"7\", \"username\": \"bob\", \"permission\": \"EDIT\"}"));
    j = ok(f, "bob", false, api_users_get, "{\"username\": \"bob\"}");
    json_t *eps = json_object_get(json_object_get(j, "user"), "experiment_permissions");
    assert_int_equal(json_array_size(eps), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(eps, 0), "permission")),
                        "EDIT");
    json_decref(j);

    /* The user's own change clears the flag, an admin's reset sets it. */
    j = ok(f, "bob", false, api_users_update_password,
           "{\"username\": \"bob\", \"password\": \"An0ther!Pass\"}");
    assert_json(j, "{}");
    json_decref(j);
    assert_false(must_change(f, "bob"));
    json_decref(ok(f, ADMIN, true, api_users_update_password,
                   "{\"username\": \"bob\", \"password\": \"Th1rd!Pass\"}"));
    assert_true(must_change(f, "bob"));

    json_decref(ok(f, ADMIN, true, api_users_update_admin,
                   "{\"username\": \"bob\", \"is_admin\": true}"));
    j = ok(f, ADMIN, true, api_users_get, "{\"username\": \"bob\"}");
    assert_true(json_is_true(json_object_get(json_object_get(j, "user"), "is_admin")));
    json_decref(j);
    json_decref(ok(f, ADMIN, true, api_users_update_admin,
                   "{\"username\": \"bob\", \"is_admin\": \"false\"}"));

    j = ok(f, ADMIN, true, api_users_delete, "{\"username\": \"bob\"}");
    assert_json(j, "{}");
    json_decref(j);
    fails(f, api_users_get, "{\"username\": \"bob\"}", CERR_RESOURCE_DOES_NOT_EXIST,
          "User with username=bob not found");
}

static void t_users_errors(void **state)
{
    fixture *f = *state;
    fails(f, api_users_create, "{\"username\": \"\", \"password\": \"" GOOD_PW "\"}",
          CERR_INVALID_PARAMETER_VALUE, "Username and password cannot be empty.");
    fails(f, api_users_create, "{\"username\": \"x\", \"password\": \"\"}",
          CERR_INVALID_PARAMETER_VALUE, "Username and password cannot be empty.");
    fails(f, api_users_create, "{\"password\": \"" GOOD_PW "\"}", CERR_INVALID_PARAMETER_VALUE,
          "Missing value for required parameter 'username'. See the API docs");
    fails(f, api_users_create, "{\"username\": \"x\", \"password\": \"short\"}",
          CERR_INVALID_PARAMETER_VALUE, "Password must");
    fails(f, api_users_create, "{\"username\": \"x\", \"password\": \"alllowercase1!\"}",
          CERR_INVALID_PARAMETER_VALUE, "upper-case");
    fails(f, api_users_create, "{\"username\": \"" ADMIN "\", \"password\": \"" GOOD_PW "\"}",
          CERR_RESOURCE_ALREADY_EXISTS, "User (username=admin) already exists.");
    fails(f, api_users_get, "{\"username\": \"nobody\"}", CERR_RESOURCE_DOES_NOT_EXIST,
          "User with username=nobody not found");
    fails(f, api_users_update_password, "{\"username\": \"" ADMIN "\", \"password\": \"weak\"}",
          CERR_INVALID_PARAMETER_VALUE, "Password must");
    fails(f, api_users_update_password, "{\"username\": \"nobody\", \"password\": \"" GOOD_PW "\"}",
          CERR_RESOURCE_DOES_NOT_EXIST, "not found");
    fails(f, api_users_update_admin, "{\"username\": \"" ADMIN "\"}",
          CERR_INVALID_PARAMETER_VALUE, "Missing value for required parameter 'is_admin'");
    fails(f, api_users_update_admin, "{\"username\": \"" ADMIN "\", \"is_admin\": \"maybe\"}",
          CERR_INVALID_PARAMETER_VALUE, "is_admin");
    fails(f, api_users_delete, "{\"username\": \"nobody\"}", CERR_RESOURCE_DOES_NOT_EXIST,
          "not found");
}

/* ---- permissions ---- */

static void t_permissions(void **state)
{
    fixture *f = *state;
    json_decref(ok(f, ADMIN, true, api_users_create,
                   "{\"username\": \"carol\", \"password\": \"" GOOD_PW "\"}"));
    json_t *j = ok(f, ADMIN, true, api_experiment_permissions_create,
                   "{\"experiment_id\": \"1\", \"username\": \"carol\", \"permission\": \"READ\"}");
    json_t *p = json_object_get(j, "experiment_permission");
    assert_string_equal(json_string_value(json_object_get(p, "experiment_id")), "1");
    assert_string_equal(json_string_value(json_object_get(p, "permission")), "READ");
    assert_true(json_is_integer(json_object_get(p, "user_id")));
    json_decref(j);
    fails(f, api_experiment_permissions_create,
          "{\"experiment_id\": \"1\", \"username\": \"carol\", \"permission\": \"READ\"}",
          CERR_RESOURCE_ALREADY_EXISTS,
          "Experiment permission (experiment_id=1, username=carol) already exists.");
    json_decref(ok(f, ADMIN, true, api_experiment_permissions_update,
                   "{\"experiment_id\": \"1\", \"username\": \"carol\", \"permission\": \"EDIT\"}"));
    j = ok(f, ADMIN, true, api_experiment_permissions_get,
           "{\"experiment_id\": \"1\", \"username\": \"carol\"}");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "experiment_permission"), "permission")),
                        "EDIT");
    json_decref(j);
    fails(f, api_experiment_permissions_update,
          "{\"experiment_id\": \"1\", \"username\": \"carol\", \"permission\": \"OWNER\"}",
          CERR_INVALID_PARAMETER_VALUE, "Invalid permission 'OWNER'");
    fails(f, api_experiment_permissions_create,
          "{\"experiment_id\": \"1\", \"username\": \"nobody\", \"permission\": \"READ\"}",
          CERR_RESOURCE_DOES_NOT_EXIST, "User with username=nobody not found");
    fails(f, api_experiment_permissions_create, "{\"experiment_id\": \"1\", \"username\": \"carol\"}",
          CERR_INVALID_PARAMETER_VALUE, "Missing value for required parameter 'permission'");
    j = ok(f, ADMIN, true, api_experiment_permissions_delete,
           "{\"experiment_id\": \"1\", \"username\": \"carol\"}");
    assert_json(j, "{}");
    json_decref(j);
    fails(f, api_experiment_permissions_get, "{\"experiment_id\": \"1\", \"username\": \"carol\"}",
          CERR_RESOURCE_DOES_NOT_EXIST,
          "Experiment permission with experiment_id=1 and username=carol not found");

    j = ok(f, ADMIN, true, api_model_permissions_create,
           "{\"name\": \"m\", \"username\": \"carol\", \"permission\": \"MANAGE\"}");
    p = json_object_get(j, "registered_model_permission");
    assert_string_equal(json_string_value(json_object_get(p, "name")), "m");
    assert_string_equal(json_string_value(json_object_get(p, "permission")), "MANAGE");
    json_decref(j);
    fails(f, api_model_permissions_create,
          "{\"name\": \"m\", \"username\": \"carol\", \"permission\": \"READ\"}",
          CERR_RESOURCE_ALREADY_EXISTS,
          "Registered model permission (name=m, username=carol) already exists.");
    json_decref(ok(f, ADMIN, true, api_model_permissions_update,
                   "{\"name\": \"m\", \"username\": \"carol\", \"permission\": \"NO_PERMISSIONS\"}"));
    j = ok(f, ADMIN, true, api_model_permissions_get, "{\"name\": \"m\", \"username\": \"carol\"}");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "registered_model_permission"), "permission")),
                        "NO_PERMISSIONS");
    json_decref(j);
    json_decref(ok(f, ADMIN, true, api_model_permissions_delete,
                   "{\"name\": \"m\", \"username\": \"carol\"}"));
    fails(f, api_model_permissions_delete, "{\"name\": \"m\", \"username\": \"carol\"}",
          CERR_RESOURCE_DOES_NOT_EXIST,
          "Registered model permission with name=m and username=carol not found");
}

/* ---- tokens ---- */

static void t_tokens(void **state)
{
    fixture *f = *state;
    const char *creds = "{\"username\": \"" ADMIN "\", \"password\": \"" ADMIN_PW "\"}";
    json_t *j = ok(f, NULL, false, api_tokens_create, creds);
    assert_string_equal(json_string_value(json_object_get(j, "token_type")), "bearer");
    const char *access = json_string_value(json_object_get(j, "access_token"));
    assert_non_null(access);
    assert_non_null(strchr(access, '.'));
    json_int_t in = json_integer_value(json_object_get(j, "expires_in"));
    assert_true(in > API_AUTH_ACCESS_TTL - 60 && in <= API_AUTH_ACCESS_TTL);
    char refresh[128], body[256];
    snprintf(refresh, sizeof refresh, "%s",
             json_string_value(json_object_get(j, "refresh_token")));
    json_decref(j);

    snprintf(body, sizeof body, "{\"refresh_token\": \"%s\"}", refresh);
    j = ok(f, NULL, false, api_tokens_refresh, body);
    char refresh2[128];
    snprintf(refresh2, sizeof refresh2, "%s",
             json_string_value(json_object_get(j, "refresh_token")));
    assert_string_not_equal(refresh, refresh2);
    json_decref(j);
    fails(f, api_tokens_refresh, body, CERR_UNAUTHENTICATED, "Refresh token");

    snprintf(body, sizeof body, "{\"refresh_token\": \"%s\"}", refresh2);
    j = ok(f, NULL, false, api_tokens_revoke, body);
    assert_json(j, "{}");
    json_decref(j);
    fails(f, api_tokens_refresh, body, CERR_UNAUTHENTICATED, "Refresh token");

    fails(f, api_tokens_create, "{\"username\": \"" ADMIN "\", \"password\": \"Wr0ng!pass\"}",
          CERR_UNAUTHENTICATED, "");
    fails(f, api_tokens_create, "{\"username\": \"nobody\", \"password\": \"Wr0ng!pass\"}",
          CERR_UNAUTHENTICATED, "");
    fails(f, api_tokens_create, "{\"username\": \"" ADMIN "\"}", CERR_INVALID_PARAMETER_VALUE,
          "'password'");

    j = ok(f, NULL, false, api_tokens_oauth2_login, creds);
    assert_int_equal(json_object_size(j), 2);
    assert_string_equal(json_string_value(json_object_get(j, "token_type")), "bearer");
    assert_non_null(json_string_value(json_object_get(j, "access_token")));
    json_decref(j);

    j = ok(f, NULL, false, api_tokens_mantik_create, creds);
    assert_non_null(json_string_value(json_object_get(j, "AccessToken")));
    assert_non_null(strstr(json_string_value(json_object_get(j, "ExpiresAt")), "+00:00"));
    snprintf(body, sizeof body, "{\"username\": \"" ADMIN "\", \"refresh_token\": \"%s\"}",
             json_string_value(json_object_get(j, "RefreshToken")));
    json_decref(j);
    j = ok(f, NULL, false, api_tokens_mantik_refresh, body);
    assert_non_null(json_string_value(json_object_get(j, "AccessToken")));
    json_decref(j);
    /* mantik keeps the old refresh token: its second refresh must say
     * "Refresh token is invalid" so that it signs in again. */
    fails(f, api_tokens_mantik_refresh, body, CERR_UNAUTHENTICATED, "Refresh token is invalid");
}

static void t_tokens_auth_off(void **state)
{
    fixture *f = *state;
    f->ctx.auth = NULL;
    fails(f, api_tokens_create, "{\"username\": \"a\", \"password\": \"b\"}", CERR_NOT_IMPLEMENTED,
          "--auth");
    f->ctx.auth = f->auth;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_user_json),
        cmocka_unit_test(t_token_json),
        cmocka_unit_test_setup_teardown(t_users_life, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(t_users_errors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(t_permissions, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(t_tokens, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(t_tokens_auth_off, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
