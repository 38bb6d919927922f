/* server_auth.h - `cairn server --auth`: MLflow's basic_auth.ini (or the
 * defaults and CAIRN_AUTH_ADMIN_PASSWORD) turned into the door's users
 * and permissions (api/auth.h). */
#ifndef CAIRN_CLI_SERVER_AUTH_H
#define CAIRN_CLI_SERVER_AUTH_H

#include <stdbool.h>

#include "../api/auth.h"

/* Opens auth over st; config_path "" for none. Prints what went wrong (the
 * command's own output) and returns -1, or 0 with *out set. */
int cli_server_auth_open(store *st, const char *config_path, const char *key_path,
                         bool allow_signup, api_auth **out);

#endif
