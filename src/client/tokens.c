/* tokens.c - the stored login: `cairn login` puts an access and a refresh
 * token per tracking URI into ~/.cairn/tokens.json, and every client without
 * explicit credentials (MLFLOW_TRACKING_TOKEN, MLFLOW_TRACKING_USERNAME/
 * PASSWORD) sends that access token as a Bearer token.
 *
 * Why here and not in the CLI: the CLI, a C program and the Python binding
 * must all use (and refresh) the same login, so libcairn owns the file.
 *
 * The file is JSON, {"<tracking uri>": {"username", "access_token",
 * "refresh_token", "token_type", "expires_at"}}, mode 0600 in a 0700
 * folder, rewritten whole (temp file, fsync, rename) under an flock on
 * tokens.json.lock, so concurrent processes never see half a file.
 *
 * Refresh: an access token that expires within CL_REFRESH_MARGIN_S is
 * refreshed before the request; a 401 on a stored Bearer token refreshes
 * once and the request is retried once. Refresh tokens are single-use on
 * the server, so one refresh runs at a time: auth_mu in the process, the
 * file lock across processes, and a process that finds in the file a pair
 * newer than its own adopts it instead of spending its (spent) token. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define CL_REFRESH_MARGIN_S 60

void cl_wipe_free(char *s)
{
    if (s == NULL)
        return;
    volatile char *p = s;
    while (*p)
        *p++ = '\0';
    free(s);
}

static char *cl_tokens_dir(void)
{
    const char *home = getenv("HOME");
    cl_buf b = {0};
    if (cl_buf_printf(&b, "%s/.cairn", home && *home ? home : ".") < 0)
        return NULL;
    return cl_buf_take(&b);
}

char *cl_tokens_path(void)
{
    char *dir = cl_tokens_dir();
    cl_buf b = {0};
    if (dir == NULL || cl_buf_printf(&b, "%s/tokens.json", dir) < 0) {
        free(dir);
        return NULL;
    }
    free(dir);
    return cl_buf_take(&b);
}

char *cairn_tokens_path(void)
{
    return cl_tokens_path();
}

/* The folder (0700, made so if it is ours) and its lock, flock()ed. */
static int cl_tokens_lock(void)
{
    char *dir = cl_tokens_dir();
    if (dir == NULL)
        return cl_oom();
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        int r = cl_fail(CAIRN_EIO, "cannot create %s: %s", dir, strerror(errno));
        free(dir);
        return r;
    }
    struct stat st;
    if (stat(dir, &st) == 0 && st.st_uid == getuid() && (st.st_mode & 077) != 0)
        chmod(dir, 0700);   /* the folder holds secrets: nobody else may look in */
    cl_buf b = {0};
    int fd = -1;
    if (cl_buf_printf(&b, "%s/tokens.json.lock", dir) == 0)
        fd = open(b.data, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int r = fd < 0 ? cl_fail(CAIRN_EIO, "cannot open %s: %s", b.data ? b.data : dir, strerror(errno)) : fd;
    cl_buf_free(&b);
    free(dir);
    if (fd >= 0 && flock(fd, LOCK_EX) < 0) {
        close(fd);
        return cl_fail(CAIRN_EIO, "cannot lock the tokens file: %s", strerror(errno));
    }
    return r;
}

static void cl_tokens_unlock(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

/* The whole file as an object ({} when absent or unreadable). */
static json_t *cl_tokens_read(void)
{
    char *path = cl_tokens_path();
    json_t *j = path ? json_load_file(path, 0, NULL) : NULL;
    free(path);
    if (!json_is_object(j)) {
        json_decref(j);
        j = json_object();
    }
    return j;
}

/* Writes all atomically: a 0600 temp file next to it, fsync, rename. */
static int cl_tokens_write(json_t *all)
{
    char *path = cl_tokens_path();
    char tmp[4096];
    char id[33];
    cl_uuid_hex(id);
    if (path == NULL)
        return cl_oom();
    snprintf(tmp, sizeof tmp, "%s.tmp-%s", path, id);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int r = cl_fail(CAIRN_EIO, "cannot write %s: %s", tmp, strerror(errno));
        free(path);
        return r;
    }
    char *text = json_dumps(all, JSON_INDENT(2) | JSON_SORT_KEYS);
    size_t n = text ? strlen(text) : 0, done = 0;
    int ok = text != NULL;
    while (ok && done < n) {
        ssize_t w = write(fd, text + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        ok = w > 0;
        done += w > 0 ? (size_t)w : 0;
    }
    ok = ok && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    if (text != NULL)
        cl_wipe_free(text);
    int saved = errno;
    if (close(fd) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) < 0) {
        saved = ok ? errno : saved;
        unlink(tmp);
        int r = cl_fail(CAIRN_EIO, "cannot write %s: %s", path, strerror(saved));
        free(path);
        return r;
    }
    char *slash = strrchr(path, '/');
    if (slash != NULL) {
        *slash = '\0';
        int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    free(path);
    return CAIRN_OK;
}

/* Takes the pair of entry e into the client (under auth_mu). */
static int cl_tokens_take(cairn_client *c, json_t *e)
{
    const char *a = json_string_value(json_object_get(e, "access_token"));
    const char *r = json_string_value(json_object_get(e, "refresh_token"));
    if (a == NULL || r == NULL)
        return 0;
    cl_wipe_free(c->access);
    cl_wipe_free(c->refresh);
    c->access = cl_strdup(a);
    c->refresh = cl_strdup(r);
    c->expires_at = json_integer_value(json_object_get(e, "expires_at"));
    c->auth_gen++;
    c->auth_dead = 0;
    return c->access != NULL && c->refresh != NULL;
}

int cl_tokens_load(cairn_client *c)
{
    pthread_mutex_init(&c->auth_mu, NULL);
    c->auth_mu_ok = 1;
    if (c->token != NULL || c->username != NULL)
        return CAIRN_OK;   /* explicit credentials win, as in MLflow */
    json_t *all = cl_tokens_read();
    json_t *e = json_object_get(all, c->uri);
    if (json_is_object(e) && cl_tokens_take(c, e))
        c->stored = 1;
    json_decref(all);
    return CAIRN_OK;
}

void cl_tokens_free(cairn_client *c)
{
    cl_wipe_free(c->access);
    cl_wipe_free(c->refresh);
    c->access = c->refresh = NULL;
    if (c->auth_mu_ok)
        pthread_mutex_destroy(&c->auth_mu);
}

/* Stores the server's answer {access_token, refresh_token, expires_at, ...}
 * for the client's URI (file lock held by the caller) and in the client. */
static int cl_tokens_store(cairn_client *c, json_t *all, json_t *answer, const char *username)
{
    json_t *e = json_pack("{s:O?, s:O?, s:s, s:O?}", "access_token", json_object_get(answer, "access_token"),
                          "refresh_token", json_object_get(answer, "refresh_token"), "token_type", "bearer",
                          "expires_at", json_object_get(answer, "expires_at"));
    if (e == NULL || !json_is_string(json_object_get(e, "access_token")) ||
        !json_is_string(json_object_get(e, "refresh_token"))) {
        json_decref(e);
        return cl_fail(CAIRN_EPROTO, "the server's token answer has no access_token or refresh_token");
    }
    if (username != NULL)
        json_object_set_new(e, "username", json_string(username));
    else if (json_is_string(json_object_get(json_object_get(all, c->uri), "username")))
        json_object_set(e, "username", json_object_get(json_object_get(all, c->uri), "username"));
    json_object_set_new(all, c->uri, e);
    int r = cl_tokens_write(all);
    if (r == CAIRN_OK && !cl_tokens_take(c, e))
        r = cl_oom();
    return r;
}

/* POSTs body to Cairn's auth endpoint name without credentials. */
static int cl_auth_call(cairn_client *c, const char *name, json_t *body, json_t **out)
{
    char path[128];
    snprintf(path, sizeof path, "/api/2.0/cairn/auth/%s", name);
    char *text = json_dumps(body, JSON_COMPACT), *resp = NULL;
    if (text == NULL)
        return cl_oom();
    int r = cl_http_plain_post(c, path, text, out ? &resp : NULL);
    cl_wipe_free(text);
    if (r < 0 || out == NULL)
        return r;
    *out = json_loads(resp, 0, NULL);
    cl_wipe_free(resp);
    return *out ? CAIRN_OK : cl_fail(CAIRN_EPROTO, "unreadable answer from %s%s", c->uri, path);
}

/* Refreshes the pair (auth_mu held). force 0: only if it expires soon. */
static int cl_tokens_refresh(cairn_client *c, int force)
{
    if (!force && c->expires_at - cl_now_ms() / 1000 > CL_REFRESH_MARGIN_S)
        return CAIRN_OK;
    if (c->auth_dead)
        return CAIRN_OK;   /* told once; the request's own 401 says the rest */
    int fd = cl_tokens_lock();
    if (fd < 0)
        return fd;
    json_t *all = cl_tokens_read();
    json_t *e = json_object_get(all, c->uri);
    const char *file_refresh = json_string_value(json_object_get(e, "refresh_token"));
    int r = CAIRN_OK;
    if (file_refresh != NULL && strcmp(file_refresh, c->refresh) != 0) {
        cl_tokens_take(c, e);   /* another process refreshed (or logged in) already */
    } else if (file_refresh == NULL) {
        c->auth_dead = 1;       /* logged out meanwhile: do not log in again */
        r = cl_fail(CAIRN_ESERVER, "not logged in to %s any more (run 'cairn login')", c->uri);
    } else {
        json_t *body = json_pack("{s:s}", "refresh_token", c->refresh), *answer = NULL;
        r = body ? cl_auth_call(c, "refresh", body, &answer) : cl_oom();
        json_decref(body);
        if (r == CAIRN_OK)
            r = cl_tokens_store(c, all, answer, NULL);
        else if (cairn_error_last()->http_status == 401 || cairn_error_last()->http_status == 403)
            c->auth_dead = 1;
        json_decref(answer);
    }
    json_decref(all);
    cl_tokens_unlock(fd);
    return r;
}

int cl_auth_bearer(cairn_client *c, char *hdr, size_t cap, uint64_t *gen)
{
    *gen = 0;
    if (!c->stored)
        return 0;
    pthread_mutex_lock(&c->auth_mu);
    cl_tokens_refresh(c, 0);   /* a failure leaves the old token: the server's 401 reports it */
    snprintf(hdr, cap, "Authorization: Bearer %s", c->access ? c->access : "");
    *gen = c->auth_gen;
    pthread_mutex_unlock(&c->auth_mu);
    return 1;
}

int cl_auth_after_401(cairn_client *c, uint64_t gen)
{
    if (!c->stored)
        return 0;
    pthread_mutex_lock(&c->auth_mu);
    int retry = 1;
    if (c->auth_gen == gen)   /* nobody refreshed since that request: do it */
        retry = !c->auth_dead && cl_tokens_refresh(c, 1) == CAIRN_OK && c->auth_gen != gen;
    pthread_mutex_unlock(&c->auth_mu);
    return retry;
}

int cl_auth_is_stored(cairn_client *c)
{
    return c->stored;
}

int cairn_login(cairn_client *c, const char *username, const char *password, int64_t *expires_at)
{
    if (c == NULL || cl_require("username", username) < 0 || cl_require("password", password) < 0)
        return c == NULL ? cl_fail(CAIRN_EINVAL, "missing client") : CAIRN_EINVAL;
    json_t *body = json_pack("{s:s, s:s}", "username", username, "password", password), *answer = NULL;
    if (body == NULL)
        return cl_oom();
    int r = cl_auth_call(c, "token", body, &answer);
    json_decref(body);   /* jansson's copy of the password: freed, not wiped (see docs) */
    if (r < 0) {
        const cairn_error *e = cairn_error_last();
        char code[64];   /* copied: cl_fail_server rewrites the thread's record */
        snprintf(code, sizeof code, "%s", e->error_code);
        if (e->http_status == 401)
            return cl_fail_server(401, code, "wrong username or password (the server refused the login)");
        if (e->http_status == 501 || e->http_status == 404)
            return cl_fail_server(e->http_status, code,
                                  "this server has no logins (start it with 'cairn server --auth')");
        return r;
    }
    int fd = cl_tokens_lock();
    if (fd < 0) {
        json_decref(answer);
        return fd;
    }
    json_t *all = cl_tokens_read();
    pthread_mutex_lock(&c->auth_mu);
    r = cl_tokens_store(c, all, answer, username);
    if (r == CAIRN_OK && c->token == NULL && c->username == NULL)
        c->stored = 1;
    if (expires_at != NULL)
        *expires_at = c->expires_at;
    pthread_mutex_unlock(&c->auth_mu);
    json_decref(all);
    json_decref(answer);
    cl_tokens_unlock(fd);
    return r;
}

int cairn_logout(cairn_client *c, int *was_logged_in, int *revoked)
{
    int dummy_in, dummy_rev;
    was_logged_in = was_logged_in ? was_logged_in : &dummy_in;
    revoked = revoked ? revoked : &dummy_rev;
    *was_logged_in = *revoked = 0;
    if (c == NULL)
        return cl_fail(CAIRN_EINVAL, "missing client");
    int fd = cl_tokens_lock();
    if (fd < 0)
        return fd;
    json_t *all = cl_tokens_read();
    json_t *e = json_object_get(all, c->uri);
    const char *refresh = json_string_value(json_object_get(e, "refresh_token"));
    int r = CAIRN_OK;
    if (e != NULL) {
        *was_logged_in = 1;
        if (refresh != NULL) {   /* best effort: the entry goes either way */
            json_t *body = json_pack("{s:s}", "refresh_token", refresh);
            *revoked = body != NULL && cl_auth_call(c, "revoke", body, NULL) == CAIRN_OK;
            json_decref(body);
        }
        json_object_del(all, c->uri);
        r = cl_tokens_write(all);
    }
    json_decref(all);
    cl_tokens_unlock(fd);
    pthread_mutex_lock(&c->auth_mu);
    if (c->stored) {
        c->stored = 0;
        cl_wipe_free(c->access);
        cl_wipe_free(c->refresh);
        c->access = c->refresh = NULL;
    }
    pthread_mutex_unlock(&c->auth_mu);
    return r;
}
