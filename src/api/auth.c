/* auth.c - users and permissions at the door (auth.h): who is asking, what
 * they may do, and the tokens the login endpoints sign.
 *
 * Costs, and why the caches: one argon2id verify is ~25 ms, and MLflow's
 * client sends its password with every request, so a verified credential
 * (keyed by the SHA-256 of the whole Authorization header, never by the
 * password) is trusted for API_AUTH_CACHE_TTL seconds; a Bearer token's
 * HMAC is cheap but its user is a store read, so tokens are cached the same
 * way until they expire. Permissions are a store read per request; they are
 * cached per (user, experiment) for API_AUTH_PERM_TTL seconds and dropped
 * at once when an admin changes a user (api_auth_forget). Both caches are
 * direct-mapped tables under one mutex: a collision only costs a miss. */
#include "auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util/misc.h"

/* MLflow's answer to a request without (good) credentials. */
#define API_AUTH_UNAUTHENTICATED                                                                   \
    "You are not authenticated. Please see "                                                       \
    "https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow "                 \
    "on how to authenticate."
/* A permission looked up is trusted this long (seconds). */
#define API_AUTH_PERM_TTL 10
#define API_AUTH_PERM_SLOTS 4096
/* Failed-login counters: direct-mapped by name or address. */
#define API_AUTH_FAIL_SLOTS 1024

typedef struct api_auth_cached {
    uint8_t key[32];   /* SHA-256 of the Authorization header */
    int64_t until;     /* seconds; 0: empty */
    int64_t user_id;
    char username[256];
    bool is_admin, must_change;
    char scope[64];
} api_auth_cached;

typedef struct api_auth_perm {
    int64_t user_id;
    char experiment_id[32];
    const auth_permission *level;
    int64_t until;
    uint64_t generation;
} api_auth_perm;

typedef struct api_auth_run {
    char run_id[40];
    char experiment_id[32];
} api_auth_run;

typedef struct api_auth_fail {
    char who[272]; /* "u:<name>" or "a:<address>" */
    int64_t since; /* start of the window, seconds */
    unsigned count;
} api_auth_fail;

struct api_auth {
    store *st;
    uint8_t key[AUTH_KEY_LEN];
    const auth_permission *default_level;
    bool allow_signup;
    pthread_mutex_t mu;
    uint64_t generation; /* bumped by api_auth_forget: every cached permission is stale */
    api_auth_cached cache[API_AUTH_CACHE_MAX];
    api_auth_perm perms[API_AUTH_PERM_SLOTS];
    api_auth_fail fails[API_AUTH_FAIL_SLOTS];
    api_auth_run runs[API_AUTH_RUN_SLOTS];
};

static int64_t api_now_s(void) { return time_now_ms() / 1000; }

static uint64_t api_hash(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ull; /* FNV-1a: spreading, not secrecy */
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static void api_sha256(const char *s, uint8_t out[32])
{
    unsigned int n = 32;
    EVP_Digest(s, strlen(s), out, &n, EVP_sha256(), NULL);
}

/* ---- failed logins ---- */

static api_auth_fail *api_fail_slot(api_auth *a, const char *kind, const char *who)
{
    char k[272];
    snprintf(k, sizeof k, "%s:%s", kind, who);
    api_auth_fail *f = &a->fails[api_hash(k, strlen(k)) % API_AUTH_FAIL_SLOTS];
    if (strcmp(f->who, k) != 0) {
        snprintf(f->who, sizeof f->who, "%s", k);
        f->since = 0;
        f->count = 0;
    }
    return f;
}

/* Too many failures lately for this name or this address? */
static bool api_fail_blocked(api_auth *a, const char *name, const char *addr)
{
    int64_t now = api_now_s();
    bool blocked = false;
    pthread_mutex_lock(&a->mu);
    api_auth_fail *f[2] = {api_fail_slot(a, "u", name), api_fail_slot(a, "a", addr)};
    for (int i = 0; i < 2; i++)
        if (now - f[i]->since < API_AUTH_FAIL_WINDOW &&
            f[i]->count >= (i == 0 ? API_AUTH_FAIL_MAX : API_AUTH_FAIL_MAX_ADDR))
            blocked = true;
    pthread_mutex_unlock(&a->mu);
    return blocked;
}

static void api_fail_count(api_auth *a, const char *name, const char *addr)
{
    int64_t now = api_now_s();
    pthread_mutex_lock(&a->mu);
    api_auth_fail *f[2] = {api_fail_slot(a, "u", name), api_fail_slot(a, "a", addr)};
    for (int i = 0; i < 2; i++) {
        if (now - f[i]->since >= API_AUTH_FAIL_WINDOW) {
            f[i]->since = now;
            f[i]->count = 0;
        }
        f[i]->count++;
    }
    pthread_mutex_unlock(&a->mu);
}

/* ---- opening ---- */

int api_auth_open(const api_auth_config *cfg, api_auth **out, const char **warning, cerr *e)
{
    *out = NULL;
    *warning = NULL;
    const auth_permission *level = auth_permission_get(cfg->default_permission);
    if (level == NULL)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "default_permission must be READ, EDIT, MANAGE or NO_PERMISSIONS");
    api_auth *a = calloc(1, sizeof *a);
    if (a == NULL)
        abort();
    a->st = cfg->st;
    a->default_level = level;
    a->allow_signup = cfg->allow_signup;
    pthread_mutex_init(&a->mu, NULL);
    int64_t users = 0;
    int rc = auth_key_load_or_create(cfg->key_path, a->key, NULL, e);
    if (rc == 0)
        rc = store_user_count(a->st, &users, e);
    bool weak = cfg->admin_password && auth_password_check(cfg->admin_password, NULL) < 0;
    if (rc == 0 && users == 0) {
        /* A new deployment: its first admin must pass the policy. */
        char *hash = NULL;
        if (cfg->admin_username == NULL || cfg->admin_password == NULL)
            rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                          "no user exists yet: give the first admin's name and password "
                          "(admin_username and admin_password in MLFLOW_AUTH_CONFIG_PATH's file, "
                          "or CAIRN_AUTH_ADMIN_PASSWORD)");
        else if (auth_password_check(cfg->admin_password, e) < 0)
            rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                          "the admin password fails the password policy: %s", e->msg);
        else if ((rc = auth_password_hash(cfg->admin_password, &hash, e)) == 0)
            rc = store_user_create(a->st, cfg->admin_username, hash, true, false, NULL, e);
        free(hash);
    } else if (rc == 0 && weak) {
        *warning = "the configured admin password fails the password policy (accepted for an "
                   "existing deployment): change it with users/update-password";
    }
    if (rc < 0) {
        api_auth_free(a);
        return -1;
    }
    *out = a;
    return 0;
}

void api_auth_free(api_auth *a)
{
    if (a == NULL)
        return;
    OPENSSL_cleanse(a->key, sizeof a->key);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

bool api_auth_signup_open(const api_auth *a) { return a->allow_signup; }

void api_auth_forget(api_auth *a, const char *username)
{
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < API_AUTH_CACHE_MAX; i++)
        if (username == NULL || strcmp(a->cache[i].username, username) == 0)
            a->cache[i].until = 0;
    a->generation++;
    pthread_mutex_unlock(&a->mu);
}

void api_auth_permissions_changed(api_auth *a)
{
    pthread_mutex_lock(&a->mu);
    a->generation++;
    pthread_mutex_unlock(&a->mu);
}

/* ---- logins ---- */

int api_auth_login(api_auth *a, const char *username, const char *password,
                   const char *client_addr, store_user *u, cerr *e)
{
    *u = (store_user)STORE_USER_INIT;
    if (username == NULL || password == NULL)
        return cerr_set(e, CERR_UNAUTHENTICATED, API_AUTH_UNAUTHENTICATED);
    const char *addr = client_addr && client_addr[0] ? client_addr : "?";
    if (api_fail_blocked(a, username, addr))
        return cerr_set(e, CERR_REQUEST_LIMIT_EXCEEDED,
                        "Too many failed logins; try again in %d seconds", API_AUTH_FAIL_WINDOW);
    cerr ignored;
    bool ok = false;
    if (store_user_get(a->st, username, u, &ignored) < 0)
        auth_password_dummy_verify(password); /* an unknown name costs a verify too */
    else if (auth_password_verify(u->password_hash, password, &ok, &ignored) < 0)
        ok = false;
    if (!ok) {
        store_user_free(u);
        api_fail_count(a, username, addr);
        return cerr_set(e, CERR_UNAUTHENTICATED, API_AUTH_UNAUTHENTICATED);
    }
    return 0;
}

/* ---- who is asking ---- */

static void api_caller_set(api_caller *c, const store_user *u, const char *scope)
{
    c->authenticated = true;
    c->user_id = u->id;
    snprintf(c->username, sizeof c->username, "%s", u->username);
    c->is_admin = u->is_admin;
    c->must_change_password = u->must_change_password;
    snprintf(c->scope, sizeof c->scope, "%s", scope ? scope : "");
}

static bool api_cache_get(api_auth *a, const uint8_t key[32], api_caller *c)
{
    bool hit = false;
    pthread_mutex_lock(&a->mu);
    api_auth_cached *s = &a->cache[api_hash(key, 32) % API_AUTH_CACHE_MAX];
    if (s->until > api_now_s() && CRYPTO_memcmp(s->key, key, 32) == 0) {
        c->authenticated = true;
        c->user_id = s->user_id;
        memcpy(c->username, s->username, sizeof c->username);
        c->is_admin = s->is_admin;
        c->must_change_password = s->must_change;
        memcpy(c->scope, s->scope, sizeof c->scope);
        hit = true;
    }
    pthread_mutex_unlock(&a->mu);
    return hit;
}

static void api_cache_put(api_auth *a, const uint8_t key[32], const api_caller *c, int64_t until)
{
    pthread_mutex_lock(&a->mu);
    api_auth_cached *s = &a->cache[api_hash(key, 32) % API_AUTH_CACHE_MAX];
    memcpy(s->key, key, 32);
    s->until = until;
    s->user_id = c->user_id;
    memcpy(s->username, c->username, sizeof s->username);
    s->is_admin = c->is_admin;
    s->must_change = c->must_change_password;
    memcpy(s->scope, c->scope, sizeof s->scope);
    pthread_mutex_unlock(&a->mu);
}

/* "Basic base64(user:password)": the two halves, in buf. */
static int api_basic_split(const char *b64, char *buf, size_t n, char **user, char **pass)
{
    size_t len = strlen(b64);
    if (len == 0 || len % 4 != 0 || len / 4 * 3 >= n)
        return -1;
    int got = EVP_DecodeBlock((unsigned char *)buf, (const unsigned char *)b64, (int)len);
    if (got < 0)
        return -1;
    while (len > 0 && b64[len - 1] == '=') { /* DecodeBlock counts padding as zeros */
        got--;
        len--;
    }
    buf[got] = '\0';
    if (memchr(buf, '\0', (size_t)got) != NULL)
        return -1;
    char *colon = strchr(buf, ':');
    if (colon == NULL)
        return -1;
    *colon = '\0';
    *user = buf;
    *pass = colon + 1;
    return 0;
}

static int api_identify_basic(api_auth *a, api_request *req, const char *b64, cerr *e)
{
    char buf[1024];
    char *user = NULL, *pass = NULL;
    int rc;
    if (api_basic_split(b64, buf, sizeof buf, &user, &pass) < 0) {
        rc = cerr_set(e, CERR_UNAUTHENTICATED, API_AUTH_UNAUTHENTICATED);
    } else {
        store_user u;
        rc = api_auth_login(a, user, pass, req->caller.remote_addr, &u, e);
        if (rc == 0) {
            api_caller_set(&req->caller, &u, NULL);
            store_user_free(&u);
        }
    }
    OPENSSL_cleanse(buf, sizeof buf);
    return rc;
}

static int api_identify_bearer(api_auth *a, api_request *req, const char *token, int64_t *exp,
                               cerr *e)
{
    json_t *claims = NULL;
    if (auth_jwt_verify(a->key, token, api_now_s(), &claims, e) < 0)
        return -1;
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    const char *scope = json_string_value(json_object_get(claims, "scope"));
    *exp = json_integer_value(json_object_get(claims, "exp"));
    char *end = NULL;
    long long id = sub ? strtoll(sub, &end, 10) : 0;
    store_user u = STORE_USER_INIT;
    cerr ignored;
    int rc = 0;
    if (sub == NULL || *end != '\0' || store_user_get_by_id(a->st, id, &u, &ignored) < 0)
        rc = cerr_set(e, CERR_UNAUTHENTICATED, API_AUTH_UNAUTHENTICATED); /* a deleted user */
    else
        api_caller_set(&req->caller, &u,
                       scope && strncmp(scope, "experiment:", 11) == 0 ? scope + 11 : NULL);
    store_user_free(&u);
    json_decref(claims);
    return rc;
}

int api_auth_identify(api_auth *a, api_request *req, cerr *e)
{
    const char *h = req->caller.authorization;
    if (h == NULL || h[0] == '\0')
        return cerr_set(e, CERR_UNAUTHENTICATED, API_AUTH_UNAUTHENTICATED);
    uint8_t key[32];
    api_sha256(h, key);
    if (api_cache_get(a, key, &req->caller))
        return 0;
    int64_t until = api_now_s() + API_AUTH_CACHE_TTL, exp = 0;
    int rc;
    if (strncasecmp(h, "Basic ", 6) == 0) {
        rc = api_identify_basic(a, req, h + 6, e);
    } else if (strncasecmp(h, "Bearer ", 7) == 0) {
        rc = api_identify_bearer(a, req, h + 7, &exp, e);
        if (exp < until)
            until = exp;
    } else {
        rc = cerr_set(e, CERR_UNAUTHENTICATED, API_AUTH_UNAUTHENTICATED);
    }
    if (rc == 0)
        api_cache_put(a, key, &req->caller, until);
    return rc;
}

/* ---- what they may do ---- */

static bool api_level_allows(const auth_permission *l, api_perm perm)
{
    switch (perm) {
    case API_PERM_READ:
        return l->can_read;
    case API_PERM_EDIT:
        return l->can_update;
    case API_PERM_MANAGE:
        return l->can_manage;
    }
    return false;
}

/* The caller's level on experiment_id: cached, else the store's, else the
 * default. */
static const auth_permission *api_experiment_level(api_auth *a, const api_caller *who,
                                                   const char *experiment_id)
{
    char k[320];
    snprintf(k, sizeof k, "%lld/%s", (long long)who->user_id, experiment_id);
    size_t slot = api_hash(k, strlen(k)) % API_AUTH_PERM_SLOTS;
    int64_t now = api_now_s();
    const auth_permission *level = NULL;
    pthread_mutex_lock(&a->mu);
    api_auth_perm *p = &a->perms[slot];
    uint64_t gen = a->generation;
    if (p->until > now && p->generation == gen && p->user_id == who->user_id &&
        strcmp(p->experiment_id, experiment_id) == 0)
        level = p->level;
    pthread_mutex_unlock(&a->mu);
    if (level)
        return level;
    store_permission sp = {0};
    cerr ignored;
    level = a->default_level;
    if (store_experiment_permission_get(a->st, experiment_id, who->username, &sp, &ignored) == 0) {
        const auth_permission *l = auth_permission_get(sp.permission);
        level = l ? l : auth_permission_get("NO_PERMISSIONS");
    }
    store_permission_free(&sp);
    if (strlen(experiment_id) < sizeof p->experiment_id) {
        pthread_mutex_lock(&a->mu);
        *p = (api_auth_perm){.user_id = who->user_id, .level = level, .until = now + API_AUTH_PERM_TTL,
                             .generation = gen};
        snprintf(p->experiment_id, sizeof p->experiment_id, "%s", experiment_id);
        pthread_mutex_unlock(&a->mu);
    }
    return level;
}

int api_auth_allow_experiment(api_auth *a, const api_caller *who, const char *experiment_id,
                              api_perm perm, cerr *e)
{
    if (who->is_admin && who->scope[0] == '\0')
        return 0;
    if (who->scope[0] != '\0') {
        /* A job's token: its own experiment, to read and write, nothing else. */
        if (experiment_id && strcmp(experiment_id, who->scope) == 0 && perm != API_PERM_MANAGE)
            return 0;
        return cerr_set(e, CERR_PERMISSION_DENIED, "Permission denied");
    }
    if (experiment_id == NULL) /* any signed-in user may create an experiment */
        return 0;
    if (api_level_allows(api_experiment_level(a, who, experiment_id), perm))
        return 0;
    return cerr_set(e, CERR_PERMISSION_DENIED, "Permission denied");
}

int api_auth_allow_model(api_auth *a, const api_caller *who, const char *name, api_perm perm,
                         cerr *e)
{
    if (who->is_admin && who->scope[0] == '\0')
        return 0;
    if (who->scope[0] != '\0')
        return cerr_set(e, CERR_PERMISSION_DENIED, "Permission denied");
    const auth_permission *level = a->default_level;
    store_permission sp = {0};
    cerr ignored;
    if (name && store_model_permission_get(a->st, name, who->username, &sp, &ignored) == 0) {
        const auth_permission *l = auth_permission_get(sp.permission);
        level = l ? l : auth_permission_get("NO_PERMISSIONS");
    }
    store_permission_free(&sp);
    if (api_level_allows(level, perm))
        return 0;
    return cerr_set(e, CERR_PERMISSION_DENIED, "Permission denied");
}

int api_auth_run_experiment(api_auth *a, const char *run_id, char *out, size_t n)
{
    size_t len = strlen(run_id);
    api_auth_run *slot = &a->runs[api_hash(run_id, len) % API_AUTH_RUN_SLOTS];
    bool hit = false;
    pthread_mutex_lock(&a->mu);
    if (len < sizeof slot->run_id && strcmp(slot->run_id, run_id) == 0) {
        snprintf(out, n, "%s", slot->experiment_id);
        hit = true;
    }
    pthread_mutex_unlock(&a->mu);
    if (hit)
        return 0;
    json_t *run = NULL;
    cerr ignored;
    if (store_run_get(a->st, run_id, &run, &ignored) < 0)
        return -1;
    const char *exp =
        json_string_value(json_object_get(json_object_get(run, "info"), "experiment_id"));
    snprintf(out, n, "%s", exp ? exp : "");
    if (len < sizeof slot->run_id && exp && strlen(exp) < sizeof slot->experiment_id) {
        pthread_mutex_lock(&a->mu);
        snprintf(slot->run_id, sizeof slot->run_id, "%s", run_id);
        snprintf(slot->experiment_id, sizeof slot->experiment_id, "%s", exp);
        pthread_mutex_unlock(&a->mu);
    }
    json_decref(run);
    return 0;
}

void api_auth_grant_creator(api_auth *a, const api_caller *who, const char *experiment_id)
{
    if (a == NULL || !who->authenticated || experiment_id == NULL)
        return;
    cerr ignored;
    store_experiment_permission_create(a->st, experiment_id, who->username, "MANAGE", NULL,
                                       &ignored);
}

/* ---- tokens ---- */

void api_tokens_free(api_tokens *t)
{
    if (t->access) {
        OPENSSL_cleanse(t->access, strlen(t->access));
        free(t->access);
    }
    if (t->refresh) {
        OPENSSL_cleanse(t->refresh, strlen(t->refresh));
        free(t->refresh);
    }
    *t = (api_tokens){0};
}

int api_auth_issue(api_auth *a, const store_user *u, const char *scope, int64_t ttl,
                   api_tokens *out, cerr *e)
{
    *out = (api_tokens){0};
    char sub[32], sc[96];
    snprintf(sub, sizeof sub, "%lld", (long long)u->id);
    if (scope)
        snprintf(sc, sizeof sc, "experiment:%s", scope);
    int64_t now = api_now_s();
    if (ttl <= 0)
        ttl = API_AUTH_ACCESS_TTL;
    json_t *claims = auth_jwt_claims_new(sub, now, ttl, scope ? sc : NULL);
    int rc = auth_jwt_sign(a->key, claims, &out->access, e);
    json_decref(claims);
    out->expires_at = now + ttl;
    if (rc == 0 && scope == NULL) {
        char token[AUTH_REFRESH_TOKEN_LEN + 1], sha[AUTH_SHA256_HEX_LEN + 1];
        rc = auth_refresh_token_new(token, sha, e);
        if (rc == 0)
            rc = store_refresh_token_insert(a->st, sha, u->id,
                                            (now + API_AUTH_REFRESH_TTL) * 1000, e);
        if (rc == 0 && (out->refresh = strdup(token)) == NULL)
            abort();
        OPENSSL_cleanse(token, sizeof token);
    }
    if (rc < 0)
        api_tokens_free(out);
    return rc;
}

int api_auth_refresh(api_auth *a, const char *refresh, api_tokens *out, cerr *e)
{
    *out = (api_tokens){0};
    if (refresh == NULL || refresh[0] == '\0')
        return cerr_set(e, CERR_UNAUTHENTICATED, "Refresh token is invalid or expired");
    char old[AUTH_SHA256_HEX_LEN + 1], token[AUTH_REFRESH_TOKEN_LEN + 1],
        sha[AUTH_SHA256_HEX_LEN + 1];
    auth_refresh_token_hash(refresh, old);
    int64_t now = api_now_s(), user_id = 0;
    store_user u = STORE_USER_INIT;
    int rc = auth_refresh_token_new(token, sha, e);
    if (rc == 0)
        rc = store_refresh_token_rotate(a->st, old, sha, (now + API_AUTH_REFRESH_TTL) * 1000,
                                        now * 1000, &user_id, e);
    if (rc == 0 && store_user_get_by_id(a->st, user_id, &u, e) < 0)
        rc = cerr_set(e, CERR_UNAUTHENTICATED, "Refresh token is invalid or expired");
    if (rc == 0) {
        char sub[32];
        snprintf(sub, sizeof sub, "%lld", (long long)u.id);
        json_t *claims = auth_jwt_claims_new(sub, now, API_AUTH_ACCESS_TTL, NULL);
        rc = auth_jwt_sign(a->key, claims, &out->access, e);
        json_decref(claims);
        out->expires_at = now + API_AUTH_ACCESS_TTL;
        if (rc == 0 && (out->refresh = strdup(token)) == NULL)
            abort();
    }
    OPENSSL_cleanse(token, sizeof token);
    store_user_free(&u);
    if (rc < 0)
        api_tokens_free(out);
    return rc;
}

int api_auth_revoke(api_auth *a, const char *refresh, cerr *e)
{
    char sha[AUTH_SHA256_HEX_LEN + 1];
    auth_refresh_token_hash(refresh ? refresh : "", sha);
    cerr ignored;
    (void)e;
    /* Revoking a token that is not there is done already (RFC 7009 2.2). */
    store_refresh_token_revoke(a->st, sha, &ignored);
    return 0;
}
