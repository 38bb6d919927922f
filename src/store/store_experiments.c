/* store_experiments.c - experiments: create, get, rename, delete, restore
 * and tags, with MLflow 2.9.2's SqlAlchemyStore semantics and messages, on
 * either engine.
 *
 * Each write is a closure run by db_write (in a transaction); reads take a
 * pooled read connection. Experiment ids are INTEGER in the table but
 * strings in the API: an id that is not a decimal integer cannot exist, so it
 * is "not found", the same answer MLflow gives. */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/misc.h"

/* MLflow's _get_experiment: a missing id means the default experiment. */
static const char *store_exp_id_or_default(const char *id)
{
    return id && id[0] ? id : "0";
}

static int store_exp_not_found(const char *id, cerr *e)
{
    return cerr_set(e, CERR_RESOURCE_DOES_NOT_EXIST, "No Experiment with id=%s exists", id);
}

int store_experiment_stage(db_conn *c, const char *id, char stage[16], cerr *e)
{
    id = store_exp_id_or_default(id);
    int64_t num;
    if (!store_exp_id(c, id, &num))
        return store_exp_not_found(id, e);
    db_stmt *s = db_prep(c, "SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?", e);
    if (s == NULL || db_bindf(s, e, "i", num) < 0)
        return -1;
    int rc = db_row(s, e);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return store_exp_not_found(id, e);
    snprintf(stage, 16, "%s", db_text(s, 0));
    db_reset(s);
    return 0;
}

/* ---- reads ---- */

/* One experiment with its tags, selected by id (is_name false) or name. */
static int store_exp_load(store *st, const char *key, bool is_name, json_t **out, cerr *e)
{
    *out = NULL;
    int64_t num = 0;
    db_conn *c = db_read_begin(st, e);
    if (c == NULL)
        return -1;
    if (!is_name && !store_exp_id(c, key, &num)) {
        db_read_end(st, c);
        return store_exp_not_found(key, e);
    }
    db_stmt *s = db_prep(
        c,
        is_name ? "SELECT " STORE_EXPERIMENT_COLS " FROM experiments WHERE name = ?"
                : "SELECT " STORE_EXPERIMENT_COLS " FROM experiments WHERE experiment_id = ?",
        e);
    int rc = -1;
    if (s && (is_name ? db_bindf(s, e, "t", key) : db_bindf(s, e, "i", num)) == 0)
        rc = db_row(s, e);
    json_t *arr = json_array();
    if (rc == 1) {
        json_array_append_new(arr, store_experiment_from_row(s));
        rc = store_experiments_attach(c, arr, e);
    } else if (rc == 0) {
        rc = is_name ? cerr_set(e, CERR_RESOURCE_DOES_NOT_EXIST,
                                "Could not find experiment with name '%s'", key)
                     : store_exp_not_found(key, e);
    }
    db_read_end(st, c);
    if (rc == 0)
        *out = json_incref(json_array_get(arr, 0));
    json_decref(arr);
    return rc;
}

int store_experiment_get(store *st, const char *id, json_t **out, cerr *e)
{
    return store_exp_load(st, store_exp_id_or_default(id), false, out, e);
}

int store_experiment_get_by_name(store *st, const char *name, json_t **out, cerr *e)
{
    return store_exp_load(st, name ? name : "", true, out, e);
}

/* ---- create ---- */

typedef struct store_exp_create {
    store *st;
    const char *name, *artifact_location;
    const store_kv *tags;
    size_t ntags;
    int64_t id;
} store_exp_create;

static int store_exp_name_taken(db_conn *c, const char *name, int64_t except_id, cerr *e)
{
    db_stmt *s = db_prep(c, "SELECT 1 FROM experiments WHERE name = ? AND experiment_id != ?", e);
    if (s == NULL || db_bindf(s, e, "ti", name, except_id) < 0)
        return -1;
    int rc = db_row(s, e);
    db_reset(s);
    if (rc == 1 && db_conn_kind(c) == DB_POSTGRES)
        return cerr_set(e, CERR_RESOURCE_ALREADY_EXISTS,
                        "Experiment(name=%s) already exists. Error: "
                        "(psycopg2.errors.UniqueViolation) duplicate key value violates unique "
                        "constraint \"experiments_name_key\"",
                        name);
    if (rc == 1)
        return cerr_set(e, CERR_RESOURCE_ALREADY_EXISTS,
                        "Experiment(name=%s) already exists. Error: (sqlite3.IntegrityError) "
                        "UNIQUE constraint failed: experiments.name",
                        name);
    return rc;
}

static int store_exp_tag_put(db_conn *c, int64_t id, const char *key, const char *value, cerr *e)
{
    db_stmt *s = db_prep(c,
                         "INSERT INTO experiment_tags (key, value, experiment_id) "
                         "VALUES (?, ?, ?) ON CONFLICT (key, experiment_id) "
                         "DO UPDATE SET value = excluded.value",
                         e);
    if (s == NULL || db_bindf(s, e, "tti", key, value, id) < 0)
        return -1;
    return db_run(s, e);
}

static int store_exp_create_fn(db_conn *c, void *arg, cerr *e)
{
    store_exp_create *x = arg;
    if (store_exp_name_taken(c, x->name, -1, e) < 0)
        return -1;
    /* SQLite: the writer is the only writer, so max + 1 cannot race; it is
     * also what SQLite's rowid allocation (and so MLflow) would pick.
     * PostgreSQL: the column's sequence, as MLflow's SERIAL uses it. */
    db_stmt *s = db_prep(c,
                         db_conn_kind(c) == DB_POSTGRES
                             ? "SELECT nextval('experiments_experiment_id_seq')"
                             : "SELECT COALESCE(MAX(experiment_id), -1) + 1 FROM experiments",
                         e);
    if (s == NULL || db_row(s, e) != 1)
        return -1;
    x->id = db_int64(s, 0);
    db_reset(s);

    char idtext[24];
    snprintf(idtext, sizeof idtext, "%lld", (long long)x->id);
    char *location = x->artifact_location && x->artifact_location[0]
                         ? strdup(x->artifact_location)
                         : store_path_join(x->st->artifact_root, idtext, NULL);
    int64_t now = time_now_ms();
    s = db_prep(c,
                "INSERT INTO experiments (experiment_id, name, artifact_location, "
                "lifecycle_stage, creation_time, last_update_time) "
                "VALUES (?, ?, ?, 'active', ?, ?)",
                e);
    int rc = s ? db_bindf(s, e, "ittii", x->id, x->name, location, now, now) : -1;
    if (rc == 0)
        rc = db_run(s, e);
    free(location);
    for (size_t i = 0; rc == 0 && i < x->ntags; i++)
        rc = store_exp_tag_put(c, x->id, x->tags[i].key, x->tags[i].value, e);
    return rc;
}

int store_experiment_create(store *st, const char *name, const char *artifact_location,
                            const store_kv *tags, size_t ntags, char **id_out, cerr *e)
{
    *id_out = NULL;
    if (name == NULL || name[0] == '\0')
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid experiment name: '%s'",
                        name ? name : "");
    store_exp_create x = {st, name, artifact_location, tags, ntags, -1};
    if (db_write(st, store_exp_create_fn, &x, e) < 0)
        return -1;
    if (asprintf(id_out, "%lld", (long long)x.id) < 0)
        abort();
    return 0;
}

/* ---- rename, delete, restore, tags ---- */

typedef struct store_exp_change {
    const char *id;
    const char *name;        /* rename: the new name */
    const char *key, *value; /* tag */
} store_exp_change;

static int store_exp_rename_fn(db_conn *c, void *arg, cerr *e)
{
    store_exp_change *x = arg;
    char stage[16];
    int64_t num;
    if (store_experiment_stage(c, x->id, stage, e) < 0)
        return -1;
    if (strcmp(stage, "active") != 0)
        return cerr_set(e, CERR_INVALID_STATE, "Cannot rename a non-active experiment.");
    store_parse_id(store_exp_id_or_default(x->id), &num);
    if (store_exp_name_taken(c, x->name, num, e) < 0)
        return -1;
    db_stmt *s = db_prep(
        c, "UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?", e);
    if (s == NULL || db_bindf(s, e, "tii", x->name, time_now_ms(), num) < 0)
        return -1;
    return db_run(s, e);
}

/* Delete or restore: the experiment must be in the other state (else it is
 * "not found", as MLflow looks it up with ACTIVE_ONLY or DELETED_ONLY), and
 * all its runs follow it. */
static int store_exp_lifecycle(db_conn *c, const char *id, bool delete, cerr *e)
{
    char stage[16];
    if (store_experiment_stage(c, id, stage, e) < 0)
        return -1;
    if (strcmp(stage, delete ? "active" : "deleted") != 0)
        return store_exp_not_found(store_exp_id_or_default(id), e);
    int64_t num, now = time_now_ms();
    store_parse_id(store_exp_id_or_default(id), &num);
    const char *to = delete ? "deleted" : "active";
    db_stmt *s = db_prep(c,
                         "UPDATE experiments SET lifecycle_stage = ?, "
                         "last_update_time = ? WHERE experiment_id = ?",
                         e);
    if (s == NULL || db_bindf(s, e, "tii", to, now, num) < 0 || db_run(s, e) < 0)
        return -1;
    s = db_prep(c,
                "UPDATE runs SET lifecycle_stage = ?, deleted_time = ? "
                "WHERE experiment_id = ?",
                e);
    if (s == NULL)
        return -1;
    int rc = delete ? db_bindf(s, e, "tii", to, now, num) : db_bindf(s, e, "tni", to, num);
    return rc < 0 ? -1 : db_run(s, e);
}

static int store_exp_delete_fn(db_conn *c, void *arg, cerr *e)
{
    return store_exp_lifecycle(c, ((store_exp_change *)arg)->id, true, e);
}

static int store_exp_restore_fn(db_conn *c, void *arg, cerr *e)
{
    return store_exp_lifecycle(c, ((store_exp_change *)arg)->id, false, e);
}

static int store_exp_tag_fn(db_conn *c, void *arg, cerr *e)
{
    store_exp_change *x = arg;
    const char *id = store_exp_id_or_default(x->id);
    char stage[16];
    int64_t num;
    if (store_experiment_stage(c, id, stage, e) < 0)
        return -1;
    if (strcmp(stage, "active") != 0)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "The experiment %s must be in the 'active' state. "
                        "Current state is %s.",
                        id, stage);
    store_parse_id(id, &num);
    return store_exp_tag_put(c, num, x->key, x->value, e);
}

int store_experiment_rename(store *st, const char *id, const char *new_name, cerr *e)
{
    if (new_name == NULL || new_name[0] == '\0')
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid experiment name: '%s'",
                        new_name ? new_name : "");
    store_exp_change x = {.id = id, .name = new_name};
    return db_write(st, store_exp_rename_fn, &x, e);
}

int store_experiment_delete(store *st, const char *id, cerr *e)
{
    store_exp_change x = {.id = id};
    return db_write(st, store_exp_delete_fn, &x, e);
}

int store_experiment_restore(store *st, const char *id, cerr *e)
{
    store_exp_change x = {.id = id};
    return db_write(st, store_exp_restore_fn, &x, e);
}

int store_experiment_tag_set(store *st, const char *id, const char *key, const char *value, cerr *e)
{
    store_exp_change x = {.id = id, .key = key, .value = value};
    return db_write(st, store_exp_tag_fn, &x, e);
}

/* ---- experiment 0 ---- */

/* MLflow inserts experiment 0 with an explicit id when there is none (on
 * PostgreSQL too: the sequence then starts at 1). Run at open, inside the
 * engine's schema transaction. */
int store_default_experiment(db_conn *c, const char *root, cerr *e)
{
    db_stmt *s = db_prep(c, "SELECT count(*) FROM experiments", e);
    if (s == NULL)
        return -1;
    int rc = db_row(s, e);
    if (rc < 0)
        return -1;
    int64_t n = rc ? db_int64(s, 0) : 0;
    db_reset(s);
    if (n > 0)
        return 0;
    s = db_prep(c,
                "INSERT INTO experiments (experiment_id, name, artifact_location, "
                "lifecycle_stage, creation_time, last_update_time) "
                "VALUES (0, 'Default', ?, 'active', ?, ?)",
                e);
    if (s == NULL)
        return -1;
    char *location = store_path_join(root, "0", NULL);
    int64_t now = time_now_ms();
    rc = db_bindf(s, e, "tii", location, now, now);
    if (rc == 0)
        rc = db_run(s, e);
    free(location);
    return rc;
}
