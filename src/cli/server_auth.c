/* server_auth.c - the configuration of `cairn server --auth`.
 *
 * MLflow's basic-auth app reads basic_auth.ini (MLFLOW_AUTH_CONFIG_PATH, or
 * its packaged default: READ, admin, password1234); so does Cairn. Without
 * a file the defaults are MLflow's, except the admin's password, which
 * comes from CAIRN_AUTH_ADMIN_PASSWORD (never a flag: flags show in ps), and
 * which must pass the password policy when it creates the first user.
 * MLflow's database_uri is not used: users live in the tracking store. */
#include "server_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/misc.h"

int cli_server_auth_open(store *st, const char *config_path, const char *key_path,
                         bool allow_signup, api_auth **out)
{
    cerr e;
    cerr_clear(&e);
    auth_config ini = {0};
    api_auth_config cfg = {.st = st, .key_path = key_path, .default_permission = "READ",
                           .admin_username = "admin", .allow_signup = allow_signup};
    if (config_path && config_path[0]) {
        if (auth_config_read(config_path, &ini, &e) < 0) {
            fprintf(stderr, "cairn server: auth config '%s': %s\n", config_path, e.msg);
            return -1;
        }
        cfg.default_permission = ini.default_permission;
        cfg.admin_username = ini.admin_username;
        cfg.admin_password = ini.admin_password;
        if (ini.database_uri && ini.database_uri[0])
            log_msg(LOG_INFO, "auth: database_uri of '%s' is not used: users and permissions "
                              "live in the backend store", config_path);
    }
    const char *env_pw = getenv("CAIRN_AUTH_ADMIN_PASSWORD");
    if (env_pw && env_pw[0])
        cfg.admin_password = env_pw;
    const char *warning = NULL;
    int rc = api_auth_open(&cfg, out, &warning, &e);
    if (rc < 0)
        fprintf(stderr, "cairn server: cannot turn auth on: %s\n", e.msg);
    else if (warning)
        log_msg(LOG_WARN, "auth: %s", warning);
    else
        log_msg(LOG_INFO, "auth on: default permission %s%s", cfg.default_permission,
                allow_signup ? ", anyone may sign up" : "");
    auth_config_free(&ini);
    return rc;
}
