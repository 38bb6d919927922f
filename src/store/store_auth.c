/* store_auth.c - users and refresh tokens (store_auth.h), and the DDL of
 * the four auth tables; permissions are in store_auth_perm.c.
 *
 * Why here and so: the tables are Cairn's (prefixed cairn_, created IF NOT
 * EXISTS when a store opens, like cairn_jobs) so that users live in the
 * same database as what they may read, and one transaction can delete a
 * user with everything that refers to them. Ids come from the engine
 * (SQLite AUTOINCREMENT, PostgreSQL BIGSERIAL), which never reuse an id:
 * a token naming a deleted user's id cannot become a new user's. The DDL
 * is the one text that differs between the engines. Uniqueness is decided
 * by INSERT ... ON CONFLICT DO NOTHING, so a duplicate is an answer, not a
 * constraint error (PostgreSQL's writer would retry those). */
#include "store_auth.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/misc.h"
#include "store_int.h"
#include "validate.h"

/* The parts of the DDL that differ: the id column and the false literal. */
#define STORE_AUTH_DDL(ID, FALSE_)                                                               \
    "CREATE TABLE IF NOT EXISTS cairn_users ("                                                   \
    " id " ID ","                                                                                \
    " username VARCHAR(255) NOT NULL UNIQUE,"                                                    \
    " password_hash VARCHAR(255) NOT NULL,"                                                      \
    " is_admin BOOLEAN NOT NULL DEFAULT " FALSE_ ","                                             \
    " must_change_password BOOLEAN NOT NULL DEFAULT " FALSE_ ","                                 \
    " created_time BIGINT NOT NULL);"                                                            \
    "CREATE TABLE IF NOT EXISTS cairn_experiment_permissions ("                                  \
    " id " ID ","                                                                                \
    " experiment_id VARCHAR(255) NOT NULL,"                                                      \
    " user_id BIGINT NOT NULL REFERENCES cairn_users (id) ON DELETE CASCADE,"                    \
    " permission VARCHAR(255) NOT NULL,"                                                         \
    " UNIQUE (experiment_id, user_id));"                                                         \
    "CREATE INDEX IF NOT EXISTS cairn_experiment_permissions_user"                               \
    " ON cairn_experiment_permissions (user_id);"                                                \
    "CREATE TABLE IF NOT EXISTS cairn_registered_model_permissions ("                            \
    " id " ID ","                                                                                \
    " name VARCHAR(255) NOT NULL,"                                                               \
    " user_id BIGINT NOT NULL REFERENCES cairn_users (id) ON DELETE CASCADE,"                    \
    " permission VARCHAR(255) NOT NULL,"                                                         \
    " UNIQUE (name, user_id));"                                                                  \
    "CREATE INDEX IF NOT EXISTS cairn_registered_model_permissions_user"                         \
    " ON cairn_registered_model_permissions (user_id);"                                          \
    "CREATE TABLE IF NOT EXISTS cairn_refresh_tokens ("                                          \
    " sha256 CHAR(64) NOT NULL PRIMARY KEY,"                                                     \
    " user_id BIGINT NOT NULL REFERENCES cairn_users (id) ON DELETE CASCADE,"                    \
    " created_time BIGINT NOT NULL,"                                                             \
    " expires BIGINT NOT NULL,"                                                                  \
    " revoked BOOLEAN NOT NULL DEFAULT " FALSE_ ");"                                             \
    "CREATE INDEX IF NOT EXISTS cairn_refresh_tokens_user ON cairn_refresh_tokens (user_id);"

static const char store_auth_ddl_sqlite[] =
    STORE_AUTH_DDL("INTEGER PRIMARY KEY AUTOINCREMENT", "0");
static const char store_auth_ddl_postgres[] = STORE_AUTH_DDL("BIGSERIAL PRIMARY KEY", "false");

int store_auth_schema(db_conn *c, cerr *e)
{
    return db_exec(c, db_conn_kind(c) == DB_SQLITE ? store_auth_ddl_sqlite : store_auth_ddl_postgres,
                   e);
}

/* ---- users ---- */

#define STORE_USER_COLS "id, username, password_hash, is_admin, must_change_password, created_time"

void store_user_free(store_user *u)
{
    if (u == NULL)
        return;
    if (u->password_hash)
        OPENSSL_cleanse(u->password_hash, strlen(u->password_hash));
    free(u->password_hash);
    free(u->username);
    *u = (store_user)STORE_USER_INIT;
}

void store_users_free(store_user *users, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_user_free(&users[i]);
    free(users);
}

static char *store_auth_dup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (d == NULL)
        abort();
    return d;
}

static void store_user_from_row(db_stmt *s, store_user *u)
{
    u->id = db_int64(s, 0);
    u->username = store_auth_dup(db_text(s, 1));
    u->password_hash = store_auth_dup(db_text(s, 2));
    u->is_admin = db_bool(s, 3);
    u->must_change_password = db_bool(s, 4);
    u->created_time = db_int64(s, 5);
}

/* The user's id inside a transaction or a read; RESOURCE_DOES_NOT_EXIST
 * with MLflow's message when absent. */
int store_auth_user_id(db_conn *c, const char *username, int64_t *id, cerr *e)
{
    db_stmt *s = db_prep(c, "SELECT id FROM cairn_users WHERE username = ?", e);
    if (s == NULL || db_bindf(s, e, "t", username ? username : "") < 0)
        return -1;
    int rc = db_row(s, e);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return cerr_set(e, CERR_RESOURCE_DOES_NOT_EXIST, "User with username=%s not found",
                        username ? username : "");
    *id = db_int64(s, 0);
    db_reset(s);
    return 0;
}

typedef struct {
    const char *username, *hash;
    bool is_admin, must_change;
    int64_t now;
    int64_t id; /* out */
} store_user_new;

static int store_user_create_fn(db_conn *c, void *ctx, cerr *e)
{
    store_user_new *u = ctx;
    u->id = 0;
    db_stmt *s = db_prep(c,
                         "INSERT INTO cairn_users (username, password_hash, is_admin, "
                         "must_change_password, created_time) VALUES (?, ?, ?, ?, ?) "
                         "ON CONFLICT (username) DO NOTHING RETURNING id",
                         e);
    if (s == NULL || db_bindf(s, e, "ttiii", u->username, u->hash, (int64_t)u->is_admin,
                              (int64_t)u->must_change, u->now) < 0)
        return -1;
    int rc = db_row(s, e);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return cerr_set(e, CERR_RESOURCE_ALREADY_EXISTS, "User (username=%s) already exists.",
                        u->username);
    u->id = db_int64(s, 0);
    db_reset(s);
    return 0;
}

int store_user_create(store *st, const char *username, const char *password_hash, bool is_admin,
                      bool must_change_password, store_user *out, cerr *e)
{
    if (out)
        *out = (store_user)STORE_USER_INIT;
    if (username == NULL || username[0] == '\0')
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Username cannot be empty.");
    if (validate_utf8_len(username) > STORE_USERNAME_MAX)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Username must be at most %d characters long", STORE_USERNAME_MAX);
    if (password_hash == NULL || password_hash[0] == '\0')
        return cerr_set(e, CERR_INTERNAL_ERROR, "a user needs a password hash");
    store_user_new u = {username, password_hash, is_admin, must_change_password, time_now_ms(), 0};
    if (db_write(st, store_user_create_fn, &u, e) < 0)
        return -1;
    if (out) {
        *out = (store_user){u.id, store_auth_dup(username), store_auth_dup(password_hash),
                            is_admin, must_change_password, u.now};
    }
    return 0;
}

/* One user by the column named in where ("username = ?" or "id = ?"). */
static int store_user_read(store *st, const char *where, const char *name, int64_t id,
                           store_user *out, cerr *e)
{
    *out = (store_user)STORE_USER_INIT;
    db_conn *c = db_read_begin(st, e);
    if (c == NULL)
        return -1;
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT " STORE_USER_COLS " FROM cairn_users WHERE %s", where);
    db_stmt *s = db_prep(c, sql, e);
    int rc = s == NULL ? -1 : name ? db_bindf(s, e, "t", name) : db_bindf(s, e, "i", id);
    if (rc == 0)
        rc = db_row(s, e);
    if (rc == 1) {
        store_user_from_row(s, out);
        db_reset(s);
    }
    db_read_end(st, c);
    if (rc == 0)
        return name ? cerr_set(e, CERR_RESOURCE_DOES_NOT_EXIST, "User with username=%s not found",
                               name)
                    : cerr_set(e, CERR_RESOURCE_DOES_NOT_EXIST, "User with id=%lld not found",
                               (long long)id);
    return rc < 0 ? -1 : 0;
}

int store_user_get(store *st, const char *username, store_user *out, cerr *e)
{
    return store_user_read(st, "username = ?", username ? username : "", 0, out, e);
}

int store_user_get_by_id(store *st, int64_t id, store_user *out, cerr *e)
{
    return store_user_read(st, "id = ?", NULL, id, out, e);
}

int store_user_list(store *st, store_user **users, size_t *n, cerr *e)
{
    *users = NULL;
    *n = 0;
    db_conn *c = db_read_begin(st, e);
    if (c == NULL)
        return -1;
    db_stmt *s = db_prep(c, "SELECT " STORE_USER_COLS " FROM cairn_users ORDER BY id", e);
    int rc = s == NULL ? -1 : 0;
    size_t cap = 0;
    while (rc == 0 && (rc = db_row(s, e)) == 1) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            store_user *grown = realloc(*users, cap * sizeof **users);
            if (grown == NULL)
                abort();
            *users = grown;
        }
        store_user_from_row(s, &(*users)[(*n)++]);
        rc = 0;
    }
    db_read_end(st, c);
    if (rc < 0) {
        store_users_free(*users, *n);
        *users = NULL;
        *n = 0;
        return -1;
    }
    return 0;
}

int store_user_count(store *st, int64_t *n, cerr *e)
{
    *n = 0;
    db_conn *c = db_read_begin(st, e);
    if (c == NULL)
        return -1;
    db_stmt *s = db_prep(c, "SELECT count(*) FROM cairn_users", e);
    int rc = s == NULL ? -1 : db_row(s, e);
    if (rc == 1) {
        *n = db_int64(s, 0);
        db_reset(s);
    }
    db_read_end(st, c);
    return rc < 0 ? -1 : 0;
}

typedef struct {
    const char *username, *hash;
    bool flag, set_password;
} store_user_set;

static int store_user_update_fn(db_conn *c, void *ctx, cerr *e)
{
    store_user_set *u = ctx;
    db_stmt *s;
    int rc;
    if (u->set_password) {
        s = db_prep(c,
                    "UPDATE cairn_users SET password_hash = ?, must_change_password = ? "
                    "WHERE username = ?",
                    e);
        rc = s == NULL ? -1 : db_bindf(s, e, "tit", u->hash, (int64_t)u->flag, u->username);
    } else {
        s = db_prep(c, "UPDATE cairn_users SET is_admin = ? WHERE username = ?", e);
        rc = s == NULL ? -1 : db_bindf(s, e, "it", (int64_t)u->flag, u->username);
    }
    if (rc < 0 || db_run(s, e) < 0)
        return -1;
    if (db_changes(c) == 0)
        return cerr_set(e, CERR_RESOURCE_DOES_NOT_EXIST, "User with username=%s not found",
                        u->username);
    return 0;
}

int store_user_update_password(store *st, const char *username, const char *password_hash,
                               bool must_change_password, cerr *e)
{
    if (password_hash == NULL || password_hash[0] == '\0')
        return cerr_set(e, CERR_INTERNAL_ERROR, "a user needs a password hash");
    store_user_set u = {username ? username : "", password_hash, must_change_password, true};
    return db_write(st, store_user_update_fn, &u, e);
}

int store_user_update_admin(store *st, const char *username, bool is_admin, cerr *e)
{
    store_user_set u = {username ? username : "", NULL, is_admin, false};
    return db_write(st, store_user_update_fn, &u, e);
}

static int store_user_delete_fn(db_conn *c, void *ctx, cerr *e)
{
    const char *username = ctx;
    int64_t id;
    if (store_auth_user_id(c, username, &id, e) < 0)
        return -1;
    /* Explicit rather than trusting ON DELETE CASCADE, which SQLite applies
     * only with foreign_keys on and a database made elsewhere may lack. */
    static const char *const sql[] = {
        "DELETE FROM cairn_experiment_permissions WHERE user_id = ?",
        "DELETE FROM cairn_registered_model_permissions WHERE user_id = ?",
        "DELETE FROM cairn_refresh_tokens WHERE user_id = ?",
        "DELETE FROM cairn_users WHERE id = ?",
    };
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
        db_stmt *s = db_prep(c, sql[i], e);
        if (s == NULL || db_bindf(s, e, "i", id) < 0 || db_run(s, e) < 0)
            return -1;
    }
    return 0;
}

int store_user_delete(store *st, const char *username, cerr *e)
{
    return db_write(st, store_user_delete_fn, (void *)(username ? username : ""), e);
}

/* ---- refresh tokens ---- */

static int store_sha256_check(const char *hex, cerr *e)
{
    size_t n = 0;
    for (; hex && hex[n]; n++)
        if (!((hex[n] >= '0' && hex[n] <= '9') || (hex[n] >= 'a' && hex[n] <= 'f')))
            break;
    if (hex == NULL || n != 64 || hex[n] != '\0')
        return cerr_set(e, CERR_INTERNAL_ERROR, "a refresh token hash is 64 lowercase hex digits");
    return 0;
}

typedef struct {
    const char *sha, *new_sha;
    int64_t user_id, expires, now;
    int op; /* 0 insert, 1 revoke, 2 revoke all of user_id, 3 rotate */
} store_token_write;

static int store_token_insert(db_conn *c, const char *sha, int64_t user_id, int64_t expires,
                              int64_t now, cerr *e)
{
    db_stmt *s = db_prep(c,
                         "INSERT INTO cairn_refresh_tokens (sha256, user_id, created_time, "
                         "expires) VALUES (?, ?, ?, ?)",
                         e);
    if (s == NULL || db_bindf(s, e, "tiii", sha, user_id, now, expires) < 0)
        return -1;
    return db_run(s, e);
}

static int store_token_write_fn(db_conn *c, void *ctx, cerr *e)
{
    store_token_write *w = ctx;
    db_stmt *s;
    switch (w->op) {
    case 0:
        return store_token_insert(c, w->sha, w->user_id, w->expires, w->now, e);
    case 1:
    case 2:
        s = db_prep(c,
                    w->op == 1 ? "UPDATE cairn_refresh_tokens SET revoked = ? WHERE sha256 = ?"
                               : "UPDATE cairn_refresh_tokens SET revoked = ? WHERE user_id = ?",
                    e);
        if (s == NULL ||
            (w->op == 1 ? db_bindf(s, e, "it", (int64_t)1, w->sha)
                        : db_bindf(s, e, "ii", (int64_t)1, w->user_id)) < 0 ||
            db_run(s, e) < 0)
            return -1;
        if (w->op == 1 && db_changes(c) == 0)
            return cerr_set(e, CERR_RESOURCE_DOES_NOT_EXIST, "Refresh token not found");
        return 0;
    default: {
        w->user_id = 0;
        s = db_prep(c,
                    "UPDATE cairn_refresh_tokens SET revoked = ? "
                    "WHERE sha256 = ? AND NOT revoked AND expires > ? RETURNING user_id",
                    e);
        if (s == NULL || db_bindf(s, e, "iti", (int64_t)1, w->sha, w->now) < 0)
            return -1;
        int rc = db_row(s, e);
        if (rc < 0)
            return -1;
        if (rc == 0)
            return cerr_set(e, CERR_UNAUTHENTICATED, "Refresh token is invalid or expired");
        int64_t uid = db_int64(s, 0);
        db_reset(s);
        if (store_token_insert(c, w->new_sha, uid, w->expires, w->now, e) < 0)
            return -1;
        w->user_id = uid;
        return 0;
    }
    }
}

int store_refresh_token_insert(store *st, const char *sha256_hex, int64_t user_id,
                               int64_t expires_ms, cerr *e)
{
    if (store_sha256_check(sha256_hex, e) < 0)
        return -1;
    store_token_write w = {sha256_hex, NULL, user_id, expires_ms, time_now_ms(), 0};
    return db_write(st, store_token_write_fn, &w, e);
}

int store_refresh_token_get(store *st, const char *sha256_hex, store_refresh_token *out, cerr *e)
{
    memset(out, 0, sizeof *out);
    if (store_sha256_check(sha256_hex, e) < 0)
        return -1;
    db_conn *c = db_read_begin(st, e);
    if (c == NULL)
        return -1;
    db_stmt *s = db_prep(c,
                         "SELECT sha256, user_id, expires, revoked FROM cairn_refresh_tokens "
                         "WHERE sha256 = ?",
                         e);
    int rc = (s == NULL || db_bindf(s, e, "t", sha256_hex) < 0) ? -1 : db_row(s, e);
    if (rc == 1) {
        snprintf(out->sha256, sizeof out->sha256, "%s", db_text(s, 0));
        out->user_id = db_int64(s, 1);
        out->expires = db_int64(s, 2);
        out->revoked = db_bool(s, 3);
        db_reset(s);
    }
    db_read_end(st, c);
    if (rc == 0)
        return cerr_set(e, CERR_RESOURCE_DOES_NOT_EXIST, "Refresh token not found");
    return rc < 0 ? -1 : 0;
}

int store_refresh_token_revoke(store *st, const char *sha256_hex, cerr *e)
{
    if (store_sha256_check(sha256_hex, e) < 0)
        return -1;
    store_token_write w = {sha256_hex, NULL, 0, 0, 0, 1};
    return db_write(st, store_token_write_fn, &w, e);
}

int store_refresh_token_revoke_user(store *st, int64_t user_id, cerr *e)
{
    store_token_write w = {NULL, NULL, user_id, 0, 0, 2};
    return db_write(st, store_token_write_fn, &w, e);
}

int store_refresh_token_rotate(store *st, const char *old_sha256_hex, const char *new_sha256_hex,
                               int64_t new_expires_ms, int64_t now_ms, int64_t *user_id, cerr *e)
{
    *user_id = 0;
    if (store_sha256_check(old_sha256_hex, e) < 0 || store_sha256_check(new_sha256_hex, e) < 0)
        return -1;
    store_token_write w = {old_sha256_hex, new_sha256_hex, 0, new_expires_ms, now_ms, 3};
    if (db_write(st, store_token_write_fn, &w, e) < 0)
        return -1;
    *user_id = w.user_id;
    return 0;
}
