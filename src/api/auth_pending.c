/* auth_pending.c - TEMPORARY: weak stand-ins for the api/auth.c functions
 * that users.c and tokens.c call, so that the `authapi` branch links
 * before the lead's api/auth.c is merged into it. The real definitions
 * (strong symbols) replace these at link time; delete this file once
 * api/auth.c is on the branch. Without api/auth.c the server never has an
 * api_auth (ctx->auth is NULL), so none of these is reached at run time;
 * each refuses rather than pretends. */
#include <stdlib.h>

#include "auth.h"

#define API_AUTH_WEAK __attribute__((weak))

API_AUTH_WEAK int api_auth_login(api_auth *a, const char *username, const char *password,
                                 const char *client_addr, store_user *u, cerr *e)
{
    (void)a, (void)username, (void)password, (void)client_addr, (void)u;
    return cerr_set(e, CERR_NOT_IMPLEMENTED, "Authentication is not built in");
}

API_AUTH_WEAK int api_auth_issue(api_auth *a, const store_user *u, const char *scope, int64_t ttl,
                                 api_tokens *out, cerr *e)
{
    (void)a, (void)u, (void)scope, (void)ttl, (void)out;
    return cerr_set(e, CERR_NOT_IMPLEMENTED, "Authentication is not built in");
}

API_AUTH_WEAK int api_auth_refresh(api_auth *a, const char *refresh, api_tokens *out, cerr *e)
{
    (void)a, (void)refresh, (void)out;
    return cerr_set(e, CERR_NOT_IMPLEMENTED, "Authentication is not built in");
}

API_AUTH_WEAK int api_auth_revoke(api_auth *a, const char *refresh, cerr *e)
{
    (void)a, (void)refresh;
    return cerr_set(e, CERR_NOT_IMPLEMENTED, "Authentication is not built in");
}

API_AUTH_WEAK void api_auth_forget(api_auth *a, const char *username) { (void)a, (void)username; }

API_AUTH_WEAK bool api_auth_signup_open(const api_auth *a)
{
    (void)a;
    return false;
}

API_AUTH_WEAK void api_tokens_free(api_tokens *t)
{
    free(t->access);
    free(t->refresh);
    t->access = t->refresh = NULL;
}
