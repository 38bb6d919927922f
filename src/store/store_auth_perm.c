/* store_auth_perm.c - experiment and registered-model permissions
 * (store_auth.h): one (resource, user) pair a row, with MLflow's level.
 *
 * The two kinds differ only in their table, their resource column and the
 * words of their messages, so one implementation serves both through a
 * descriptor. The messages are MLflow's (mlflow/server/auth/
 * sqlalchemy_store.py) without the SQLAlchemy error MLflow appends to its
 * "already exists"; the user is looked up first, so an unknown user gets
 * MLflow's "User with username=U not found" as there. */
#include "store_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "validate.h"

typedef struct store_perm_kind {
    const char *table, *col;
    const char *exists_fmt;  /* resource, username */
    const char *missing_fmt; /* resource, username */
} store_perm_kind;

static const store_perm_kind store_perm_experiment = {
    "cairn_experiment_permissions", "experiment_id",
    "Experiment permission (experiment_id=%s, username=%s) already exists.",
    "Experiment permission with experiment_id=%s and username=%s not found",
};

static const store_perm_kind store_perm_model = {
    "cairn_registered_model_permissions", "name",
    "Registered model permission (name=%s, username=%s) already exists.",
    "Registered model permission with name=%s and username=%s not found",
};

int store_permission_check(const char *permission, cerr *e)
{
    static const char *const names[] = {"READ", "EDIT", "MANAGE", "NO_PERMISSIONS"};
    for (size_t i = 0; permission && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(permission, names[i]) == 0)
            return 0;
    return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                    "Invalid permission '%.256s'. Valid permissions are: ('READ', 'EDIT', "
                    "'MANAGE', 'NO_PERMISSIONS')",
                    permission ? permission : "None");
}

void store_permission_free(store_permission *p)
{
    if (p == NULL)
        return;
    free(p->resource);
    free(p->permission);
    memset(p, 0, sizeof *p);
}

void store_permissions_free(store_permission *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_permission_free(&p[i]);
    free(p);
}

static void store_perm_fill(store_permission *out, const char *resource, int64_t user_id,
                            const char *permission)
{
    out->resource = strdup(resource);
    out->permission = strdup(permission);
    if (out->resource == NULL || out->permission == NULL)
        abort();
    out->user_id = user_id;
}

/* ---- writes ---- */

typedef enum { PERM_CREATE, PERM_UPDATE, PERM_DELETE, PERM_RENAME } store_perm_op;

typedef struct {
    const store_perm_kind *k;
    store_perm_op op;
    const char *resource, *username, *permission; /* RENAME: username is the new name */
    int64_t user_id;                              /* out */
} store_perm_write;

static int store_perm_write_fn(db_conn *c, void *ctx, cerr *e)
{
    store_perm_write *w = ctx;
    char sql[256];
    w->user_id = 0;
    if (w->op == PERM_RENAME) {
        snprintf(sql, sizeof sql, "UPDATE %s SET %s = ? WHERE %s = ?", w->k->table, w->k->col,
                 w->k->col);
        db_stmt *s = db_prep(c, sql, e);
        if (s == NULL || db_bindf(s, e, "tt", w->username, w->resource) < 0)
            return -1;
        return db_run(s, e);
    }
    int64_t uid;
    if (store_auth_user_id(c, w->username, &uid, e) < 0)
        return -1;
    db_stmt *s;
    int rc;
    switch (w->op) {
    case PERM_CREATE:
        snprintf(sql, sizeof sql,
                 "INSERT INTO %s (%s, user_id, permission) VALUES (?, ?, ?) "
                 "ON CONFLICT (%s, user_id) DO NOTHING",
                 w->k->table, w->k->col, w->k->col);
        s = db_prep(c, sql, e);
        rc = s == NULL ? -1 : db_bindf(s, e, "tit", w->resource, uid, w->permission);
        break;
    case PERM_UPDATE:
        snprintf(sql, sizeof sql, "UPDATE %s SET permission = ? WHERE %s = ? AND user_id = ?",
                 w->k->table, w->k->col);
        s = db_prep(c, sql, e);
        rc = s == NULL ? -1 : db_bindf(s, e, "tti", w->permission, w->resource, uid);
        break;
    default:
        snprintf(sql, sizeof sql, "DELETE FROM %s WHERE %s = ? AND user_id = ?", w->k->table,
                 w->k->col);
        s = db_prep(c, sql, e);
        rc = s == NULL ? -1 : db_bindf(s, e, "ti", w->resource, uid);
        break;
    }
    if (rc < 0 || db_run(s, e) < 0)
        return -1;
    if (db_changes(c) == 0)
        return cerr_set(e, w->op == PERM_CREATE ? CERR_RESOURCE_ALREADY_EXISTS
                                                : CERR_RESOURCE_DOES_NOT_EXIST,
                        w->op == PERM_CREATE ? w->k->exists_fmt : w->k->missing_fmt,
                        w->resource, w->username);
    w->user_id = uid;
    return 0;
}

static int store_perm_write_run(store *st, const store_perm_kind *k, store_perm_op op,
                                const char *resource, const char *username,
                                const char *permission, store_permission *out, cerr *e)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (resource == NULL)
        resource = "";
    if (username == NULL)
        username = "";
    if ((op == PERM_CREATE || op == PERM_UPDATE) && store_permission_check(permission, e) < 0)
        return -1;
    if (op == PERM_CREATE && validate_utf8_len(resource) > STORE_AUTH_RESOURCE_MAX)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "%s must be at most %d characters long",
                        k->col, STORE_AUTH_RESOURCE_MAX);
    store_perm_write w = {k, op, resource, username, permission, 0};
    if (db_write(st, store_perm_write_fn, &w, e) < 0)
        return -1;
    if (out)
        store_perm_fill(out, resource, w.user_id, permission);
    return 0;
}

/* ---- reads ---- */

static int store_perm_get(store *st, const store_perm_kind *k, const char *resource,
                          const char *username, store_permission *out, cerr *e)
{
    memset(out, 0, sizeof *out);
    resource = resource ? resource : "";
    username = username ? username : "";
    db_conn *c = db_read_begin(st, e);
    if (c == NULL)
        return -1;
    int64_t uid;
    int rc = store_auth_user_id(c, username, &uid, e);
    db_stmt *s = NULL;
    if (rc == 0) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT permission FROM %s WHERE %s = ? AND user_id = ?",
                 k->table, k->col);
        s = db_prep(c, sql, e);
        rc = (s == NULL || db_bindf(s, e, "ti", resource, uid) < 0) ? -1 : db_row(s, e);
        if (rc == 0)
            cerr_set(e, CERR_RESOURCE_DOES_NOT_EXIST, k->missing_fmt, resource, username);
        rc = rc == 0 ? -1 : rc;
    }
    if (rc == 1) {
        store_perm_fill(out, resource, uid, db_text(s, 0));
        db_reset(s);
        rc = 0;
    }
    db_read_end(st, c);
    return rc;
}

static int store_perm_list(store *st, const store_perm_kind *k, const char *username,
                           store_permission **perms, size_t *n, cerr *e)
{
    *perms = NULL;
    *n = 0;
    db_conn *c = db_read_begin(st, e);
    if (c == NULL)
        return -1;
    int64_t uid;
    int rc = store_auth_user_id(c, username ? username : "", &uid, e);
    db_stmt *s = NULL;
    if (rc == 0) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT %s, permission FROM %s WHERE user_id = ? ORDER BY id",
                 k->col, k->table);
        s = db_prep(c, sql, e);
        rc = (s == NULL || db_bindf(s, e, "i", uid) < 0) ? -1 : 0;
    }
    size_t cap = 0;
    while (rc == 0 && (rc = db_row(s, e)) == 1) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            store_permission *grown = realloc(*perms, cap * sizeof **perms);
            if (grown == NULL)
                abort();
            *perms = grown;
        }
        store_perm_fill(&(*perms)[(*n)++], db_text(s, 0), uid, db_text(s, 1));
        rc = 0;
    }
    db_read_end(st, c);
    if (rc < 0) {
        store_permissions_free(*perms, *n);
        *perms = NULL;
        *n = 0;
        return -1;
    }
    return 0;
}

/* ---- the entry points ---- */

int store_experiment_permission_create(store *st, const char *experiment_id, const char *username,
                                       const char *permission, store_permission *out, cerr *e)
{
    return store_perm_write_run(st, &store_perm_experiment, PERM_CREATE, experiment_id, username,
                                permission, out, e);
}

int store_experiment_permission_get(store *st, const char *experiment_id, const char *username,
                                    store_permission *out, cerr *e)
{
    return store_perm_get(st, &store_perm_experiment, experiment_id, username, out, e);
}

int store_experiment_permission_update(store *st, const char *experiment_id, const char *username,
                                       const char *permission, cerr *e)
{
    return store_perm_write_run(st, &store_perm_experiment, PERM_UPDATE, experiment_id, username,
                                permission, NULL, e);
}

int store_experiment_permission_delete(store *st, const char *experiment_id, const char *username,
                                       cerr *e)
{
    return store_perm_write_run(st, &store_perm_experiment, PERM_DELETE, experiment_id, username,
                                NULL, NULL, e);
}

int store_experiment_permission_list(store *st, const char *username, store_permission **perms,
                                     size_t *n, cerr *e)
{
    return store_perm_list(st, &store_perm_experiment, username, perms, n, e);
}

int store_model_permission_create(store *st, const char *name, const char *username,
                                  const char *permission, store_permission *out, cerr *e)
{
    return store_perm_write_run(st, &store_perm_model, PERM_CREATE, name, username, permission,
                                out, e);
}

int store_model_permission_get(store *st, const char *name, const char *username,
                               store_permission *out, cerr *e)
{
    return store_perm_get(st, &store_perm_model, name, username, out, e);
}

int store_model_permission_update(store *st, const char *name, const char *username,
                                  const char *permission, cerr *e)
{
    return store_perm_write_run(st, &store_perm_model, PERM_UPDATE, name, username, permission,
                                NULL, e);
}

int store_model_permission_delete(store *st, const char *name, const char *username, cerr *e)
{
    return store_perm_write_run(st, &store_perm_model, PERM_DELETE, name, username, NULL, NULL,
                                e);
}

int store_model_permission_list(store *st, const char *username, store_permission **perms,
                                size_t *n, cerr *e)
{
    return store_perm_list(st, &store_perm_model, username, perms, n, e);
}

int store_model_permission_rename(store *st, const char *old_name, const char *new_name, cerr *e)
{
    if (old_name == NULL || new_name == NULL)
        return cerr_set(e, CERR_INTERNAL_ERROR, "a rename needs two names");
    store_perm_write w = {&store_perm_model, PERM_RENAME, old_name, new_name, NULL, 0};
    return db_write(st, store_perm_write_fn, &w, e);
}
