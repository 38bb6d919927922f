/* users.c - `cairn users create|list|delete|passwd|grant|revoke`: user and
 * experiment-permission administration over MLflow's basic-auth API
 * (libcairn's cairn_user_* calls), for administrators. Passwords are read
 * as `cairn login` reads them (secret.c), never from argv. MLflow's API has
 * no call that lists users, so `list` shows the users it is given. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static int users_create(const char *noun, int argc, char **argv);
static int users_list(const char *noun, int argc, char **argv);
static int users_delete(const char *noun, int argc, char **argv);
static int users_passwd(const char *noun, int argc, char **argv);
static int users_grant(const char *noun, int argc, char **argv);
static int users_revoke(const char *noun, int argc, char **argv);

static const cmd_verb users_verbs[] = {
    {"create", "USER", "Create a user; the password is asked for (twice on a terminal) or read as one\n"
                       "line of stdin. The user must change it at first sign-in.", users_create},
    {"list", "USER...", "Show the users named (id, admin, experiment permissions). The API has no call\n"
                        "that lists every user, so name them.", users_list},
    {"delete", "USER", "Delete a user.", users_delete},
    {"passwd", "USER", "Set a user's password (read like create's). An admin setting another user's\n"
                       "password makes them change it at their next sign-in.", users_passwd},
    {"grant", "USER EXPERIMENT_ID PERMISSION", "Give USER READ, EDIT, MANAGE or NO_PERMISSIONS on an\n"
                                               "experiment (replaces what they had).", users_grant},
    {"revoke", "USER EXPERIMENT_ID", "Remove USER's permission on an experiment (the default applies).",
     users_revoke},
};
#define NVERBS (sizeof users_verbs / sizeof users_verbs[0])
#define USERS_SUMMARY "Manage users and their experiment permissions (administrators)."

static const cmd_verb *verb(const char *name)
{
    for (size_t i = 0; i < NVERBS; i++)
        if (strcmp(users_verbs[i].name, name) == 0)
            return &users_verbs[i];
    return &users_verbs[0];
}

/* Prints {} with --json after a verb that answers nothing. */
static int users_done(int rc, const cmd_args *a, const char *text)
{
    if (rc == CLI_EXIT_OK) {
        if (a->common.json)
            puts("{}");
        else
            printf("%s\n", text);
    }
    return rc;
}

/* create and passwd: read a password, then act. */
static int users_with_password(const char *noun, const char *vname, int argc, char **argv)
{
    int admin = 0;
    cmd_opt create_opts[] = {{"admin", 0, NULL, "Make the user an administrator.", NULL, &admin, NULL}, {0}};
    cmd_opt none[] = {{0}};
    int create = strcmp(vname, "create") == 0;
    cmd_args a;
    int rc = cmd_parse(noun, verb(vname), create ? create_opts : none, 1, 1, argc, argv, &a);
    if (rc >= 0)
        return rc;
    cairn_client *c = cmd_client(&a.common, 0);
    if (c == NULL)
        return cmd_status();
    char prompt[512], pw[1024], *out = NULL;
    snprintf(prompt, sizeof prompt, "%s password for %s: ", create ? "Initial" : "New", a.pos[0]);
    rc = cmd_password_read(prompt, 1, pw, sizeof pw);
    if (rc == CLI_EXIT_OK && create)
        rc = cairn_user_create(c, a.pos[0], pw, &out) < 0 ? cmd_fail() : CLI_EXIT_OK;
    else if (rc == CLI_EXIT_OK)
        rc = cairn_user_update_password(c, a.pos[0], pw) < 0 ? cmd_fail() : CLI_EXIT_OK;
    explicit_bzero(pw, sizeof pw);
    if (rc == CLI_EXIT_OK && admin)
        rc = cairn_user_update_admin(c, a.pos[0], 1) < 0 ? cmd_fail() : CLI_EXIT_OK;
    cairn_client_close(c);
    if (rc == CLI_EXIT_OK && create && a.common.json) {
        json_t *j = cmd_json(out);
        if (admin)
            json_object_set_new(json_object_get(j, "user"), "is_admin", json_true());
        cmd_print_json(j);
        json_decref(j);
        return rc;
    }
    cairn_free(out);
    char msg[512];
    snprintf(msg, sizeof msg, create ? "Created user %s%s" : "Password of %s changed%s", a.pos[0],
             admin ? " (administrator)" : "");
    return users_done(rc, &a, msg);
}

static int users_create(const char *noun, int argc, char **argv)
{
    return users_with_password(noun, "create", argc, argv);
}

static int users_passwd(const char *noun, int argc, char **argv)
{
    return users_with_password(noun, "passwd", argc, argv);
}

static int users_list(const char *noun, int argc, char **argv)
{
    cmd_opt opts[] = {{0}};
    cmd_args a;
    int rc = cmd_parse(noun, verb("list"), opts, 0, 8, argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (a.npos == 0)
        return cmd_usage_error(noun, "list", "name the users to show: MLflow's basic-auth API (which Cairn "
                                             "serves) has no call that lists every user");
    cairn_client *c = cmd_client(&a.common, 0);
    if (c == NULL)
        return cmd_status();
    json_t *users = json_array();
    for (int i = 0; i < a.npos && rc != CLI_EXIT_FAIL; i++) {
        char *out = NULL;
        if (cairn_user_get(c, a.pos[i], &out) < 0) {
            rc = cmd_fail();
        } else {
            json_t *j = cmd_json(out);
            json_array_append(users, json_object_get(j, "user"));
            json_decref(j);
            rc = CLI_EXIT_OK;
        }
    }
    cairn_client_close(c);
    if (rc == CLI_EXIT_OK && a.common.json) {
        json_t *j = json_pack("{s:O}", "users", users);
        cmd_print_json(j);
        json_decref(j);
    } else if (rc == CLI_EXIT_OK) {
        static const char *const h[] = {"USERNAME", "ID", "ADMIN", "EXPERIMENT PERMISSIONS"};
        json_t *rows = json_array(), *u, *p;
        size_t i, k;
        json_array_foreach(users, i, u) {
            char perms[1024] = "", id[32];
            json_array_foreach(json_object_get(u, "experiment_permissions"), k, p) {
                size_t n = strlen(perms);
                snprintf(perms + n, sizeof perms - n, "%s%s:%s", n ? " " : "", cmd_str(p, "experiment_id"),
                         cmd_str(p, "permission"));
            }
            snprintf(id, sizeof id, "%lld", (long long)json_integer_value(json_object_get(u, "id")));
            json_array_append_new(rows, json_pack("[s,s,s,s]", cmd_str(u, "username"), id,
                                                  json_is_true(json_object_get(u, "is_admin")) ? "yes" : "no",
                                                  *perms ? perms : "-"));
        }
        cmd_table(h, 4, rows);
        json_decref(rows);
    }
    json_decref(users);
    return rc;
}

static int users_delete(const char *noun, int argc, char **argv)
{
    cmd_opt opts[] = {{0}};
    cmd_args a;
    int rc = cmd_parse(noun, verb("delete"), opts, 1, 1, argc, argv, &a);
    if (rc >= 0)
        return rc;
    cairn_client *c = cmd_client(&a.common, 0);
    if (c == NULL)
        return cmd_status();
    rc = cairn_user_delete(c, a.pos[0]) < 0 ? cmd_fail() : CLI_EXIT_OK;
    cairn_client_close(c);
    char msg[512];
    snprintf(msg, sizeof msg, "Deleted user %s", a.pos[0]);
    return users_done(rc, &a, msg);
}

static int users_grant(const char *noun, int argc, char **argv)
{
    cmd_opt opts[] = {{0}};
    cmd_args a;
    int rc = cmd_parse(noun, verb("grant"), opts, 3, 3, argc, argv, &a);
    if (rc >= 0)
        return rc;
    char perm[32];
    snprintf(perm, sizeof perm, "%s", a.pos[2]);
    for (char *p = perm; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    if (strcmp(perm, "READ") && strcmp(perm, "EDIT") && strcmp(perm, "MANAGE") && strcmp(perm, "NO_PERMISSIONS"))
        return cmd_usage_error(noun, "grant", "PERMISSION must be READ, EDIT, MANAGE or NO_PERMISSIONS, not '%s'",
                               a.pos[2]);
    cairn_client *c = cmd_client(&a.common, 0);
    if (c == NULL)
        return cmd_status();
    rc = cairn_experiment_permission_set(c, a.pos[1], a.pos[0], perm) < 0 ? cmd_fail() : CLI_EXIT_OK;
    cairn_client_close(c);
    char msg[512];
    snprintf(msg, sizeof msg, "%s has %s on experiment %s", a.pos[0], perm, a.pos[1]);
    return users_done(rc, &a, msg);
}

static int users_revoke(const char *noun, int argc, char **argv)
{
    cmd_opt opts[] = {{0}};
    cmd_args a;
    int rc = cmd_parse(noun, verb("revoke"), opts, 2, 2, argc, argv, &a);
    if (rc >= 0)
        return rc;
    cairn_client *c = cmd_client(&a.common, 0);
    if (c == NULL)
        return cmd_status();
    rc = cairn_experiment_permission_delete(c, a.pos[1], a.pos[0]) < 0 ? cmd_fail() : CLI_EXIT_OK;
    cairn_client_close(c);
    char msg[512];
    snprintf(msg, sizeof msg, "%s's permission on experiment %s removed", a.pos[0], a.pos[1]);
    return users_done(rc, &a, msg);
}

int cli_users(int argc, char **argv)
{
    return cmd_dispatch("users", USERS_SUMMARY, users_verbs, NVERBS, argc, argv);
}

void cli_users_help(void)
{
    cmd_noun_help(stdout, "users", USERS_SUMMARY, users_verbs, NVERBS);
}
