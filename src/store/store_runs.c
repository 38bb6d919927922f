/* store_runs.c - runs: create, get, update, delete, restore, artifact URI,
 * and the run checks and renaming the logging closures share.
 *
 * Semantics follow MLflow 2.9.2's SqlAlchemyStore: a run is created RUNNING
 * and active, its id is uuid4().hex, its artifact URI is the experiment's
 * location + /<run_id>/artifacts, and its name lives both in runs.name and in
 * the mlflow.runName tag, which every rename keeps equal. */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../util/misc.h"
#include "../util/runstatus.h"

static int store_run_not_found(const char *run_id, cerr *e)
{
    return cerr_set(e, CERR_RESOURCE_DOES_NOT_EXIST, "Run with id=%s not found",
                    run_id ? run_id : "");
}

int store_run_check(db_conn *c, const char *run_id, bool must_be_active, int64_t *experiment_id,
                    cerr *e)
{
    db_stmt *s =
        db_prep(c, "SELECT lifecycle_stage, experiment_id FROM runs WHERE run_uuid = ?", e);
    if (s == NULL || db_bindf(s, e, "t", run_id) < 0)
        return -1;
    int rc = db_row(s, e);
    if (rc <= 0)
        return rc < 0 ? -1 : store_run_not_found(run_id, e);
    if (experiment_id)
        *experiment_id = db_int64(s, 1);
    if (must_be_active && strcmp(db_text(s, 0), "active") != 0)
        rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                      "The run %s must be in the 'active' state. Current state is %s.", run_id,
                      db_text(s, 0));
    else
        rc = 0;
    db_reset(s);
    return rc;
}

static int store_run_tag_put(db_conn *c, const char *run_id, const char *key, const char *value,
                             cerr *e)
{
    db_stmt *s = db_prep(c,
                         "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?) "
                         "ON CONFLICT (key, run_uuid) DO UPDATE SET value = "
                         "excluded.value",
                         e);
    if (s == NULL || db_bindf(s, e, "ttt", key, value, run_id) < 0)
        return -1;
    return db_run(s, e);
}

int store_run_rename(db_conn *c, const char *run_id, const char *name, cerr *e)
{
    db_stmt *s = db_prep(c, "UPDATE runs SET name = ? WHERE run_uuid = ?", e);
    if (s == NULL || db_bindf(s, e, "tt", name, run_id) < 0 || db_run(s, e) < 0)
        return -1;
    return store_run_tag_put(c, run_id, STORE_RUN_NAME_TAG, name, e);
}

/* "adjective-animal-NNN", like MLflow's _generate_random_name. */
static void store_run_name_random(char *out, size_t cap)
{
    static const char *const adjectives[] = {
        "amber", "bold",   "brave",  "bright", "calm",   "clever", "crisp",  "daring",
        "eager", "fancy",  "gentle", "glad",   "golden", "grand",  "happy",  "honest",
        "jolly", "keen",   "kind",   "lively", "lucky",  "merry",  "mighty", "nimble",
        "noble", "polite", "proud",  "quiet",  "rare",   "rapid",  "shy",    "silent",
        "smart", "steady", "sunny",  "swift",  "tidy",   "upbeat", "vivid",  "wise",
    };
    static const char *const animals[] = {
        "ant",  "bat",   "bear",   "bee",   "bird",  "cat",  "cod",   "colt",  "crab",  "crow",
        "deer", "dog",   "dove",   "duck",  "eel",   "elk",  "finch", "fox",   "frog",  "goat",
        "hare", "hawk",  "hen",    "horse", "lark",  "lion", "lynx",  "mole",  "moth",  "newt",
        "owl",  "ox",    "panda",  "pig",   "robin", "seal", "shark", "sloth", "snail", "swan",
        "toad", "trout", "turtle", "whale", "wolf",  "wren", "yak",   "zebra",
    };
    uint32_t r[3];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        r[0] = r[1] = r[2] = (uint32_t)time_now_ms();
    snprintf(out, cap, "%s-%s-%u", adjectives[r[0] % (sizeof adjectives / sizeof *adjectives)],
             animals[r[1] % (sizeof animals / sizeof *animals)], (unsigned)(r[2] % 1000));
}

/* A Run with its data and inputs, read on connection c (a reader's, or the
 * writer's to answer a create with what it just wrote). */
static int store_run_load(db_conn *c, const char *run_id, json_t **out, cerr *e)
{
    *out = NULL;
    db_stmt *s = db_prep(c, "SELECT " STORE_RUN_COLS " FROM runs WHERE run_uuid = ?", e);
    if (s == NULL || db_bindf(s, e, "t", run_id) < 0)
        return -1;
    int rc = db_row(s, e);
    if (rc <= 0)
        return rc < 0 ? -1 : store_run_not_found(run_id, e);
    json_t *arr = json_array();
    json_array_append_new(arr, store_run_wrap(store_run_info_from_row(s)));
    db_reset(s);
    if (store_runs_attach(c, arr, e) == 0)
        *out = json_incref(json_array_get(arr, 0));
    json_decref(arr);
    return *out ? 0 : -1;
}

/* ---- create ---- */

typedef struct store_run_create_ctx {
    store *st;
    const store_run_create_req *req;
    char run_id[33]; /* set by the closure */
} store_run_create_ctx;

static const char *store_run_name_tag(const store_run_create_req *req)
{
    for (size_t i = 0; i < req->ntags; i++)
        if (strcmp(req->tags[i].key, STORE_RUN_NAME_TAG) == 0)
            return req->tags[i].value;
    return NULL;
}

/* The experiment's artifact location, checking it exists and is active. */
static int store_run_experiment(db_conn *c, const char *exp_id, int64_t *num, char **location,
                                cerr *e)
{
    char stage[16];
    if (store_experiment_stage(c, exp_id, stage, e) < 0)
        return -1;
    store_parse_id(exp_id, num);
    if (strcmp(stage, "active") != 0)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "The experiment %lld must be in the 'active' state. "
                        "Current state is %s.",
                        (long long)*num, stage);
    db_stmt *s = db_prep(c, "SELECT artifact_location FROM experiments WHERE experiment_id = ?", e);
    if (s == NULL || db_bindf(s, e, "i", *num) < 0 || db_row(s, e) != 1)
        return -1;
    *location = strdup(db_text(s, 0));
    db_reset(s);
    if (*location == NULL)
        abort();
    return 0;
}

static int store_run_insert(db_conn *c, const store_run_create_req *req, const char *run_id,
                            const char *name, int64_t exp, const char *uri, cerr *e)
{
    db_stmt *s = db_prep(c,
                         "INSERT INTO runs (run_uuid, name, source_type, source_name, "
                         "entry_point_name, user_id, status, start_time, end_time, "
                         "source_version, lifecycle_stage, artifact_uri, experiment_id, "
                         "deleted_time) VALUES (?, ?, 'UNKNOWN', '', '', ?, 'RUNNING', "
                         "?, NULL, '', 'active', ?, ?, NULL)",
                         e);
    if (s == NULL ||
        /* MLflow stores the request's user_id, "" when unset, and always
         * returns it: keep both so RunInfo looks the same from either server. */
        db_bindf(s, e, "tttiti", run_id, name, req->user_id ? req->user_id : "", req->start_time,
                 uri, exp) < 0)
        return -1;
    if (db_run(s, e) < 0)
        return -1;
    for (size_t i = 0; i < req->ntags; i++)
        if (store_run_tag_put(c, run_id, req->tags[i].key, req->tags[i].value, e) < 0)
            return -1;
    return store_run_tag_put(c, run_id, STORE_RUN_NAME_TAG, name, e);
}

static int store_run_create_fn(db_conn *c, void *arg, cerr *e)
{
    store_run_create_ctx *x = arg;
    const store_run_create_req *req = x->req;
    const char *exp_id = req->experiment_id && req->experiment_id[0] ? req->experiment_id : "0";
    const char *tag_name = store_run_name_tag(req);
    if (req->run_name && req->run_name[0] && tag_name && strcmp(req->run_name, tag_name) != 0)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Both 'run_name' argument and 'mlflow.runName' tag are specified, but "
                        "with different values (run_name='%s', mlflow.runName='%s').",
                        req->run_name, tag_name);
    int64_t exp;
    char *location = NULL;
    if (store_run_experiment(c, exp_id, &exp, &location, e) < 0)
        return -1;
    char random_name[64], *run_id = x->run_id;
    const char *name = req->run_name && req->run_name[0] ? req->run_name
                       : tag_name && tag_name[0]         ? tag_name
                                                         : NULL;
    if (name == NULL) {
        store_run_name_random(random_name, sizeof random_name);
        name = random_name;
    }
    ids_hex32(run_id);
    char *uri = store_path_join(location, run_id, "artifacts");
    int rc = store_run_insert(c, req, run_id, name, exp, uri, e);
    free(uri);
    free(location);
    return rc;
}

/* The run is read back after the commit, on a read connection: the writer
 * thread, which every write in the server waits for, only inserts. */
int store_run_create(store *st, const store_run_create_req *req, json_t **run_out, cerr *e)
{
    store_run_create_ctx x = {st, req, ""};
    *run_out = NULL;
    if (db_write(st, store_run_create_fn, &x, e) < 0)
        return -1;
    return store_run_get(st, x.run_id, run_out, e);
}

/* ---- get, artifact URI ---- */

int store_run_get(store *st, const char *run_id, json_t **run_out, cerr *e)
{
    *run_out = NULL;
    db_conn *c = db_read_begin(st, e);
    if (c == NULL)
        return -1;
    int rc = store_run_load(c, run_id, run_out, e);
    db_read_end(st, c);
    return rc;
}

int store_run_artifact_uri(store *st, const char *run_id, char **uri_out, cerr *e)
{
    *uri_out = NULL;
    db_conn *c = db_read_begin(st, e);
    if (c == NULL)
        return -1;
    db_stmt *s = db_prep(c, "SELECT artifact_uri FROM runs WHERE run_uuid = ?", e);
    int rc = s ? db_bindf(s, e, "t", run_id) : -1;
    if (rc == 0)
        rc = db_row(s, e);
    if (rc == 1) {
        *uri_out = strdup(db_text(s, 0));
        if (*uri_out == NULL)
            abort();
        rc = 0;
    } else if (rc == 0) {
        rc = store_run_not_found(run_id, e);
    }
    db_read_end(st, c);
    return rc;
}

/* ---- update, delete, restore ---- */

typedef struct store_run_change {
    const char *run_id;
    const char *status;
    const int64_t *end_time;
    const char *run_name;
    json_t *info;
} store_run_change;

static bool store_run_status_valid(const char *status)
{
    return runstatus_parse(status) != RUNSTATUS_NONE;
}

static int store_run_update_fn(db_conn *c, void *arg, cerr *e)
{
    store_run_change *x = arg;
    json_decref(x->info); /* from an attempt that was rolled back */
    x->info = NULL;
    if (store_run_check(c, x->run_id, true, NULL, e) < 0)
        return -1;
    db_stmt *s = db_prep(c,
                         "UPDATE runs SET status = COALESCE(?, status), "
                         "end_time = COALESCE(?, end_time) WHERE run_uuid = ?",
                         e);
    if (s == NULL)
        return -1;
    int rc = x->end_time ? db_bindf(s, e, "tit", x->status, *x->end_time, x->run_id)
                         : db_bindf(s, e, "tnt", x->status, x->run_id);
    if (rc < 0 || db_run(s, e) < 0)
        return -1;
    if (x->run_name && x->run_name[0] && store_run_rename(c, x->run_id, x->run_name, e) < 0)
        return -1;
    s = db_prep(c, "SELECT " STORE_RUN_COLS " FROM runs WHERE run_uuid = ?", e);
    if (s == NULL || db_bindf(s, e, "t", x->run_id) < 0 || db_row(s, e) != 1)
        return -1;
    x->info = store_run_info_from_row(s);
    db_reset(s);
    return 0;
}

int store_run_update(store *st, const char *run_id, const char *status, const int64_t *end_time,
                     const char *run_name, json_t **info_out, cerr *e)
{
    *info_out = NULL;
    if (status && !store_run_status_valid(status))
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid run status: '%s'", status);
    store_run_change x = {run_id, status, end_time, run_name, NULL};
    int rc = db_write(st, store_run_update_fn, &x, e);
    if (rc < 0)
        json_decref(x.info);
    else
        *info_out = x.info;
    return rc;
}

/* Delete and restore do not require any state, as in MLflow. */
static int store_run_lifecycle(db_conn *c, const char *run_id, bool delete, cerr *e)
{
    if (store_run_check(c, run_id, false, NULL, e) < 0)
        return -1;
    db_stmt *s =
        db_prep(c, "UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE run_uuid = ?", e);
    if (s == NULL)
        return -1;
    int rc = delete ? db_bindf(s, e, "tit", "deleted", time_now_ms(), run_id)
                    : db_bindf(s, e, "tnt", "active", run_id);
    return rc < 0 ? -1 : db_run(s, e);
}

static int store_run_delete_fn(db_conn *c, void *arg, cerr *e)
{
    return store_run_lifecycle(c, ((store_run_change *)arg)->run_id, true, e);
}

static int store_run_restore_fn(db_conn *c, void *arg, cerr *e)
{
    return store_run_lifecycle(c, ((store_run_change *)arg)->run_id, false, e);
}

int store_run_delete(store *st, const char *run_id, cerr *e)
{
    store_run_change x = {.run_id = run_id};
    return db_write(st, store_run_delete_fn, &x, e);
}

int store_run_restore(store *st, const char *run_id, cerr *e)
{
    store_run_change x = {.run_id = run_id};
    return db_write(st, store_run_restore_fn, &x, e);
}
