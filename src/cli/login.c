/* login.c - `cairn login [-u USER]` and `cairn logout`: a password (typed
 * without echo, or one line of stdin) traded for tokens that libcairn
 * stores in ~/.cairn/tokens.json for the tracking URI and then uses,
 * refreshes and revokes (src/client/tokens.c). The password never appears
 * in argv, and is wiped once sent. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"

static int login_run(const char *noun, int argc, char **argv);
static int logout_run(const char *noun, int argc, char **argv);

static const cmd_verb login_verb = {
    "login", "",
    "Log in to the tracking server: asks for the password (without echo; or reads one line\n"
    "of stdin when it is not a terminal), gets an access and a refresh token and stores them\n"
    "for the tracking URI in ~/.cairn/tokens.json (mode 0600). Every cairn command, libcairn\n"
    "and the Python binding then use them when MLFLOW_TRACKING_TOKEN and\n"
    "MLFLOW_TRACKING_USERNAME are unset, refreshing the access token before it expires.\n"
    "There is no password option: a password in argv would show in ps.",
    login_run};

static const cmd_verb logout_verb = {
    "logout", "",
    "Revoke the stored refresh token on the server (best effort) and remove the tracking\n"
    "URI's entry from ~/.cairn/tokens.json.",
    logout_run};

/* Warns when explicit credentials will win over the stored login. */
static void login_note_env(void)
{
    const char *t = getenv("MLFLOW_TRACKING_TOKEN"), *u = getenv("MLFLOW_TRACKING_USERNAME");
    if ((t && *t) || (u && *u))
        fprintf(stderr, "cairn: note: %s is set and wins over the stored login\n",
                t && *t ? "MLFLOW_TRACKING_TOKEN" : "MLFLOW_TRACKING_USERNAME");
}

static int login_run(const char *noun, int argc, char **argv)
{
    (void)noun;
    const char *user = NULL;
    cmd_opt opts[] = {{"username", 'u', "USER",
                       "Who logs in (default $MLFLOW_TRACKING_USERNAME, else $USER).", &user, NULL, NULL},
                      {0}};
    cmd_args a;
    int rc = cmd_parse("login", &login_verb, opts, 0, 0, argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (user == NULL || *user == '\0')
        user = getenv("MLFLOW_TRACKING_USERNAME");
    if (user == NULL || *user == '\0')
        user = getenv("USER");
    if (user == NULL || *user == '\0')
        return cmd_usage_error("login", "login", "no user name: pass --username USER");
    cairn_client *c = cmd_client(&a.common, 0);
    if (c == NULL)
        return cmd_status();
    char prompt[512], pw[1024];
    snprintf(prompt, sizeof prompt, "Password for %s at %s: ", user, cairn_client_tracking_uri(c));
    rc = cmd_password_read(prompt, 0, pw, sizeof pw);
    int64_t expires = 0;
    if (rc == CLI_EXIT_OK)
        rc = cairn_login(c, user, pw, &expires) < 0 ? cmd_fail() : CLI_EXIT_OK;
    explicit_bzero(pw, sizeof pw);
    if (rc == CLI_EXIT_OK) {
        char *path = cairn_tokens_path();
        char when[32];
        cmd_time((long long)expires * 1000, when, sizeof when);
        if (a.common.json) {
            json_t *j = json_pack("{s:s, s:s, s:I, s:s}", "tracking_uri", cairn_client_tracking_uri(c),
                                  "username", user, "expires_at", (json_int_t)expires, "tokens_file",
                                  path ? path : "");
            cmd_print_json(j);
            json_decref(j);
        } else {
            printf("Logged in to %s as %s (access token until %s UTC, refreshed as needed; stored in %s)\n",
                   cairn_client_tracking_uri(c), user, when, path ? path : "~/.cairn/tokens.json");
        }
        cairn_free(path);
        login_note_env();
    }
    cairn_client_close(c);
    return rc;
}

static int logout_run(const char *noun, int argc, char **argv)
{
    (void)noun;
    cmd_opt opts[] = {{0}};
    cmd_args a;
    int rc = cmd_parse("logout", &logout_verb, opts, 0, 0, argc, argv, &a);
    if (rc >= 0)
        return rc;
    cairn_client *c = cmd_client(&a.common, 0);
    if (c == NULL)
        return cmd_status();
    int was = 0, revoked = 0;
    rc = cairn_logout(c, &was, &revoked) < 0 ? cmd_fail() : CLI_EXIT_OK;
    if (rc == CLI_EXIT_OK) {
        if (a.common.json) {
            json_t *j = json_pack("{s:s, s:b, s:b}", "tracking_uri", cairn_client_tracking_uri(c),
                                  "was_logged_in", was, "revoked", revoked);
            cmd_print_json(j);
            json_decref(j);
        } else if (!was) {
            printf("Not logged in to %s\n", cairn_client_tracking_uri(c));
        } else {
            printf("Logged out of %s\n", cairn_client_tracking_uri(c));
            if (!revoked)
                fprintf(stderr, "cairn: warning: the server did not revoke the refresh token (it may be "
                                "unreachable); the local copy is removed\n");
        }
    }
    cairn_client_close(c);
    return rc;
}

int cli_login(int argc, char **argv)
{
    return login_run("login", argc, argv);
}

void cli_login_help(void)
{
    cmd_opt opts[] = {{"username", 'u', "USER", "Who logs in (default $MLFLOW_TRACKING_USERNAME, else $USER).",
                       NULL, NULL, NULL},
                      {0}};
    cmd_verb_help(stdout, "login", &login_verb, opts);
}

int cli_logout(int argc, char **argv)
{
    return logout_run("logout", argc, argv);
}

void cli_logout_help(void)
{
    cmd_opt opts[] = {{0}};
    cmd_verb_help(stdout, "logout", &logout_verb, opts);
}
