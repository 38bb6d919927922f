/* tokens.c - the login endpoints: a name and a password in, signed tokens
 * out, in the three shapes clients expect:
 *   Cairn's   POST /api/2.0/cairn/auth/token   {username, password}
 *             -> {access_token, refresh_token, token_type, expires_in,
 *                 expires_at}; auth/refresh {refresh_token} -> a new pair
 *             (the old refresh token is spent); auth/revoke {refresh_token}
 *             -> {};
 *   ml-task-manager's POST /auth/login, an OAuth2 password-flow form
 *             (username, password) -> {access_token, token_type: "bearer"};
 *   mantik's  POST /mantik-api/mantik/tokens/create {username, password}
 *             and tokens/refresh {username, refresh_token}
 *             -> {AccessToken, RefreshToken, ExpiresAt}.
 *
 * Why one file: all of them are the same three calls of api/auth.c
 * (api_auth_login, which is constant-time and rate-limited per name and
 * address; api_auth_issue; api_auth_refresh), only the field names differ.
 * These routes have scope API_SCOPE_LOGIN: the door asks for no
 * credentials, the handler checks them itself. A wrong name or password is
 * 401 UNAUTHENTICATED. Tokens appear only in answers, never in a message.
 *
 * A user whose password must be changed (must_change_password) still gets
 * tokens: the door then refuses everything but changing it (access.c). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util/jsonx.h"
#include "api.h"
#include "auth.h"
#include "common.h"

/* Auth is off: there is nobody to sign in. */
static int tokens_need_auth(const api_ctx *ctx, cerr *e)
{
    if (ctx->auth != NULL)
        return 0;
    return cerr_set(e, CERR_NOT_IMPLEMENTED,
                    "Authentication is not enabled on this server (start it with --auth)");
}

/* The name and password checked; the user's tokens in *t. */
static int tokens_login(const api_ctx *ctx, const api_request *req, api_tokens *t, cerr *e)
{
    const char *username, *password;
    if (tokens_need_auth(ctx, e) < 0 || api_auth_param(req->args, "username", &username, e) < 0 ||
        api_auth_param(req->args, "password", &password, e) < 0)
        return -1;
    store_user u = STORE_USER_INIT;
    if (api_auth_login(ctx->auth, username, password, req->caller.remote_addr, &u, e) < 0)
        return -1;
    int rc = api_auth_issue(ctx->auth, &u, NULL, 0, t, e);
    store_user_free(&u);
    return rc;
}

/* The refresh token of a request, spent for a new pair in *t. */
static int tokens_refresh(const api_ctx *ctx, const api_request *req, api_tokens *t, cerr *e)
{
    const char *refresh;
    if (tokens_need_auth(ctx, e) < 0 ||
        api_auth_param(req->args, "refresh_token", &refresh, e) < 0)
        return -1;
    return api_auth_refresh(ctx->auth, refresh, t, e);
}

/* An ISO 8601 UTC time, "2024-05-01T12:00:00+00:00" (what Python's
 * datetime.fromisoformat reads on every version). */
void api_tokens_iso8601(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%S+00:00", &tm) == 0)
        snprintf(out, 32, "1970-01-01T00:00:00+00:00");
}

json_t *api_tokens_cairn_json(const api_tokens *t, int64_t now)
{
    int64_t left = t->expires_at > now ? t->expires_at - now : 0;
    json_t *o = json_pack("{s:s, s:s, s:I, s:I}", "access_token", t->access, "token_type",
                          "bearer", "expires_in", (json_int_t)left, "expires_at",
                          (json_int_t)t->expires_at);
    if (t->refresh)
        json_object_set_new(o, "refresh_token", json_string(t->refresh));
    return o;
}

json_t *api_tokens_mantik_json(const api_tokens *t)
{
    char when[32];
    api_tokens_iso8601(t->expires_at, when);
    json_t *o = json_pack("{s:s, s:s}", "AccessToken", t->access, "ExpiresAt", when);
    if (t->refresh)
        json_object_set_new(o, "RefreshToken", json_string(t->refresh));
    return o;
}

/* ---- Cairn's ---- */

int api_tokens_create(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    api_tokens t = {0};
    if (tokens_login(ctx, req, &t, e) < 0)
        return -1;
    *out = api_tokens_cairn_json(&t, (int64_t)time(NULL));
    api_tokens_free(&t);
    return 0;
}

int api_tokens_refresh(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    api_tokens t = {0};
    if (tokens_refresh(ctx, req, &t, e) < 0)
        return -1;
    *out = api_tokens_cairn_json(&t, (int64_t)time(NULL));
    api_tokens_free(&t);
    return 0;
}

int api_tokens_revoke(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    const char *refresh;
    if (tokens_need_auth(ctx, e) < 0 ||
        api_auth_param(req->args, "refresh_token", &refresh, e) < 0 ||
        api_auth_revoke(ctx->auth, refresh, e) < 0)
        return -1;
    *out = api_empty();
    return 0;
}

/* ---- ml-task-manager's ---- */

int api_tokens_oauth2_login(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    api_tokens t = {0};
    if (tokens_login(ctx, req, &t, e) < 0)
        return -1;
    /* The password flow hands out an access token only: the refresh token
     * issued with it would be a live secret nobody holds, so it is spent. */
    if (t.refresh) {
        cerr ignored;
        (void)api_auth_revoke(ctx->auth, t.refresh, &ignored);
    }
    *out = json_pack("{s:s, s:s}", "access_token", t.access, "token_type", "bearer");
    api_tokens_free(&t);
    return 0;
}

/* ---- mantik's ---- */

int api_tokens_mantik_create(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    api_tokens t = {0};
    if (tokens_login(ctx, req, &t, e) < 0)
        return -1;
    *out = api_tokens_mantik_json(&t);
    api_tokens_free(&t);
    return 0;
}

int api_tokens_mantik_refresh(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e)
{
    api_tokens t = {0};
    if (tokens_refresh(ctx, req, &t, e) < 0) {
        /* mantik's client signs in again with its password when a 401's
         * text holds "Refresh token is invalid" (or "... has expired");
         * it keeps its old refresh token after a refresh, so the second
         * refresh always comes here. */
        if (e->code == CERR_UNAUTHENTICATED)
            cerr_set(e, CERR_UNAUTHENTICATED, "Refresh token is invalid or expired");
        return -1;
    }
    *out = api_tokens_mantik_json(&t);
    api_tokens_free(&t);
    return 0;
}
