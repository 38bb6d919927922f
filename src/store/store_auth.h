/* store_auth.h - users, their permissions and refresh tokens: Cairn's
 * cairn_users, cairn_experiment_permissions,
 * cairn_registered_model_permissions and cairn_refresh_tokens tables, on
 * either engine (store_auth.c).
 *
 * The shape and the errors are those of MLflow's basic-auth store
 * (mlflow/server/auth/sqlalchemy_store.py): a user has an integer id, a
 * unique username, a password hash and an admin flag; a permission is a
 * (resource, user) pair with a level READ, EDIT, MANAGE or NO_PERMISSIONS.
 * The tables live in the tracking database beside MLflow's, prefixed
 * cairn_, rather than in MLflow's separate basic_auth.db.
 *
 * The store never sees a password: callers (auth/) hash first. Every
 * function returns 0, or -1 with e set; text fields of the structs are heap
 * strings owned by the struct. */
#ifndef CAIRN_STORE_AUTH_H
#define CAIRN_STORE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/err.h"

typedef struct store store;

/* Column limits (MLflow's auth schema: String(255) for names and ids). */
#define STORE_USERNAME_MAX 255
#define STORE_AUTH_RESOURCE_MAX 255

typedef struct store_user {
    int64_t id; /* never reused, even after a delete */
    char *username;
    char *password_hash; /* wiped by store_user_free */
    bool is_admin;
    bool must_change_password;
    int64_t created_time; /* ms */
} store_user;

#define STORE_USER_INIT {0}

void store_user_free(store_user *u);
void store_users_free(store_user *users, size_t n);

/* MLflow's permission names; INVALID_PARAMETER_VALUE "Invalid permission
 * 'X'. Valid permissions are: ('READ', 'EDIT', 'MANAGE', 'NO_PERMISSIONS')". */
int store_permission_check(const char *permission, cerr *e);

/* Creates a user; out (may be NULL) receives the row. An empty username
 * is INVALID_PARAMETER_VALUE "Username cannot be empty."; a taken one
 * RESOURCE_ALREADY_EXISTS "User (username=X) already exists.". */
int store_user_create(store *st, const char *username, const char *password_hash, bool is_admin,
                      bool must_change_password, store_user *out, cerr *e);
/* RESOURCE_DOES_NOT_EXIST "User with username=X not found". */
int store_user_get(store *st, const char *username, store_user *out, cerr *e);
/* RESOURCE_DOES_NOT_EXIST "User with id=N not found". */
int store_user_get_by_id(store *st, int64_t id, store_user *out, cerr *e);
/* Every user, by id. */
int store_user_list(store *st, store_user **users, size_t *n, cerr *e);
int store_user_count(store *st, int64_t *n, cerr *e);
/* Sets the hash and the must-change flag together (an admin resetting a
 * password sets it; the user changing their own clears it). */
int store_user_update_password(store *st, const char *username, const char *password_hash,
                               bool must_change_password, cerr *e);
int store_user_update_admin(store *st, const char *username, bool is_admin, cerr *e);
/* Deletes the user, their permissions and refresh tokens in one
 * transaction. */
int store_user_delete(store *st, const char *username, cerr *e);

/* A permission row: resource is the experiment id or the registered
 * model's name. */
typedef struct store_permission {
    char *resource;
    int64_t user_id;
    char *permission;
} store_permission;

void store_permission_free(store_permission *p);
void store_permissions_free(store_permission *p, size_t n);

/* Experiment permissions. create of an existing pair: RESOURCE_ALREADY_EXISTS
 * "Experiment permission (experiment_id=E, username=U) already exists.";
 * get/update/delete of a missing pair: RESOURCE_DOES_NOT_EXIST "Experiment
 * permission with experiment_id=E and username=U not found"; an unknown
 * user: "User with username=U not found"; a bad level: see
 * store_permission_check. out may be NULL. */
int store_experiment_permission_create(store *st, const char *experiment_id, const char *username,
                                       const char *permission, store_permission *out, cerr *e);
int store_experiment_permission_get(store *st, const char *experiment_id, const char *username,
                                    store_permission *out, cerr *e);
int store_experiment_permission_update(store *st, const char *experiment_id, const char *username,
                                       const char *permission, cerr *e);
int store_experiment_permission_delete(store *st, const char *experiment_id, const char *username,
                                       cerr *e);
/* All of a user's experiment permissions (for filtering lists). */
int store_experiment_permission_list(store *st, const char *username, store_permission **perms,
                                     size_t *n, cerr *e);

/* Registered-model permissions: the same with "Registered model permission
 * (name=N, username=U) already exists." and "Registered model permission
 * with name=N and username=U not found". */
int store_model_permission_create(store *st, const char *name, const char *username,
                                  const char *permission, store_permission *out, cerr *e);
int store_model_permission_get(store *st, const char *name, const char *username,
                               store_permission *out, cerr *e);
int store_model_permission_update(store *st, const char *name, const char *username,
                                  const char *permission, cerr *e);
int store_model_permission_delete(store *st, const char *name, const char *username, cerr *e);
int store_model_permission_list(store *st, const char *username, store_permission **perms,
                                size_t *n, cerr *e);
/* MLflow renames the permissions when a registered model is renamed. */
int store_model_permission_rename(store *st, const char *old_name, const char *new_name, cerr *e);

/* Refresh tokens, kept as the SHA-256 (hex) of the token only. */
typedef struct store_refresh_token {
    char sha256[65];
    int64_t user_id;
    int64_t expires; /* ms */
    bool revoked;
} store_refresh_token;

int store_refresh_token_insert(store *st, const char *sha256_hex, int64_t user_id,
                               int64_t expires_ms, cerr *e);
/* RESOURCE_DOES_NOT_EXIST "Refresh token not found" (the hash is not
 * quoted). Revoked and expired tokens are returned as they are: the caller
 * decides. */
int store_refresh_token_get(store *st, const char *sha256_hex, store_refresh_token *out, cerr *e);
int store_refresh_token_revoke(store *st, const char *sha256_hex, cerr *e);
int store_refresh_token_revoke_user(store *st, int64_t user_id, cerr *e);
/* Rotation in one transaction: the old token must exist, be unrevoked and
 * unexpired at now_ms (else UNAUTHENTICATED "Refresh token is invalid or
 * expired"); it is revoked and the new one inserted for the same user,
 * whose id goes to *user_id. Two refreshes racing with one token: one wins. */
int store_refresh_token_rotate(store *st, const char *old_sha256_hex, const char *new_sha256_hex,
                               int64_t new_expires_ms, int64_t now_ms, int64_t *user_id, cerr *e);

#endif
