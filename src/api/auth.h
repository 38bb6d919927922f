/* auth.h - users and permissions at the door (api/auth.c), when the server
 * runs with --auth: who is asking (HTTP Basic, or a Bearer token that
 * Cairn signed), what they may do (MLflow's permissions per experiment and
 * registered model, with a default), and the tokens the login endpoints
 * hand out. Internal to api/: access.c asks it for every request, the user,
 * permission and token handlers use the rest.
 *
 * A verified Basic credential is cached (AUTH_CACHE_*), because one argon2id
 * verify costs ~25 ms and a client sends its password with every request;
 * failed logins are rate-limited per user name and per client address. */
#ifndef CAIRN_API_AUTH_H
#define CAIRN_API_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "../auth/auth.h"
#include "../store/store.h"
#include "../store/store_auth.h"
#include "api.h"

/* Lifetimes of the tokens Cairn signs, seconds. */
#define API_AUTH_ACCESS_TTL (60 * 60)
#define API_AUTH_REFRESH_TTL (30 * 24 * 60 * 60)
/* A verified Basic credential is trusted this long without a new verify. */
#define API_AUTH_CACHE_TTL 60
/* Entries of that cache at most (then the oldest go). */
#define API_AUTH_CACHE_MAX 1024
/* Failed logins tolerated per user name, and per client address (higher:
 * many users may share one address behind a NAT), within
 * API_AUTH_FAIL_WINDOW seconds; beyond them 429 with Retry-After. */
#define API_AUTH_FAIL_MAX 10
#define API_AUTH_FAIL_MAX_ADDR 200
#define API_AUTH_FAIL_WINDOW 60
/* Runs whose experiment is remembered (direct-mapped). */
#define API_AUTH_RUN_SLOTS 4096

typedef struct api_auth_config {
    store *st;
    const char *key_path;           /* the signing key file (made 0600 if missing) */
    const char *default_permission; /* READ, EDIT, MANAGE or NO_PERMISSIONS */
    const char *admin_username;     /* made at first start when no user exists */
    const char *admin_password;
    bool allow_signup;              /* users/create open to anyone */
} api_auth_config;

/* Opens the auth side: reads or makes the key, creates the admin user when
 * the store has none. *warning (static text, may be NULL) says the admin
 * password fails the policy (accepted for an existing deployment). */
int api_auth_open(const api_auth_config *cfg, api_auth **out, const char **warning, cerr *e);
void api_auth_free(api_auth *a);

/* The caller of req, from its Authorization header: fills req->caller, or
 * -1 with UNAUTHENTICATED (MLflow's message) or REQUEST_LIMIT_EXCEEDED. */
int api_auth_identify(api_auth *a, api_request *req, cerr *e);

/* May the caller do perm on experiment_id (NULL: create one)? Admins may
 * everything; a limited token only its scope; otherwise the user's
 * permission on it, or the default. 0, or -1 PERMISSION_DENIED. */
int api_auth_allow_experiment(api_auth *a, const api_caller *who, const char *experiment_id,
                              api_perm perm, cerr *e);
int api_auth_allow_model(api_auth *a, const api_caller *who, const char *name, api_perm perm,
                         cerr *e);
/* The experiment of run_id into out (of size n): a run never moves, so the
 * answer is cached (API_AUTH_RUN_SLOTS) and the fast write path pays no
 * store read for it. -1 when the run does not exist. */
int api_auth_run_experiment(api_auth *a, const char *run_id, char *out, size_t n);
/* The creator of an experiment gets MANAGE on it (MLflow's after-request
 * hook); a no-op for admins and when auth is off. */
void api_auth_grant_creator(api_auth *a, const api_caller *who, const char *experiment_id);

/* A login: the name and password checked (constant-time; an unknown name
 * costs the same), rate-limited by name and by client address. *u is the
 * user. UNAUTHENTICATED or REQUEST_LIMIT_EXCEEDED. */
int api_auth_login(api_auth *a, const char *username, const char *password,
                   const char *client_addr, store_user *u, cerr *e);

typedef struct api_tokens {
    char *access;   /* a JWT */
    char *refresh;  /* opaque; NULL for a limited token */
    int64_t expires_at; /* the access token's exp, seconds since the epoch */
} api_tokens;
void api_tokens_free(api_tokens *t);

/* Signs an access token (and a refresh token) for u; scope limits it to
 * one experiment (a job's token), NULL for none; ttl 0: the default. */
int api_auth_issue(api_auth *a, const store_user *u, const char *scope, int64_t ttl,
                   api_tokens *out, cerr *e);
/* A refresh token for a new pair (the old one is spent). */
int api_auth_refresh(api_auth *a, const char *refresh, api_tokens *out, cerr *e);
int api_auth_revoke(api_auth *a, const char *refresh, cerr *e);
/* Forget what is cached of a user (password changed, admin flag changed,
 * user deleted). */
void api_auth_forget(api_auth *a, const char *username);
/* A permission was created, changed or deleted: what is cached of every
 * permission is stale (the change holds from the next request on). */
void api_auth_permissions_changed(api_auth *a);
/* The password policy applies (new users, changed passwords). */
bool api_auth_signup_open(const api_auth *a);

#endif
