/* store_metrics.c - logging to a run: log_batch (params, metrics, tags),
 * tag deletion, dataset inputs, and metric history.
 *
 * Metrics are stored as MLflow stores them: NaN as value 0 with is_nan = 1,
 * +-inf as +-DBL_MAX; an identical row is ignored (it is the primary key);
 * latest_metrics keeps, per key, the greatest (step, timestamp, value), as
 * MLflow's _update_latest_metrics_if_necessary does, written here as one
 * upsert whose WHERE compares row values. */
#include "store_int.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/misc.h"

/* ---- log_batch ---- */

typedef struct store_batch {
    const char *run_id;
    const store_metric *metrics;
    size_t nmetrics;
    const store_kv *params, *tags;
    size_t nparams, ntags;
} store_batch;

/* Insert a param unless present; present with another value is an error. */
static int store_param_log(db_conn *c, const char *run_id, const store_kv *p, cerr *e)
{
    db_stmt *s = db_prep(
        c, "INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", e);
    if (s == NULL || db_bindf(s, e, "ttt", p->key, p->value, run_id) < 0 || db_run(s, e) < 0)
        return -1;
    if (db_changes(c) > 0)
        return 0;
    s = db_prep(c, "SELECT value FROM params WHERE run_uuid = ? AND key = ?", e);
    if (s == NULL || db_bindf(s, e, "tt", run_id, p->key) < 0 || db_row(s, e) != 1)
        return -1;
    int rc = 0;
    if (strcmp(db_text(s, 0), p->value) != 0)
        rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                      "Changing param values is not allowed. Param with key='%s' was already "
                      "logged with value='%s' for run ID='%s'. Attempted logging new value '%s'.",
                      p->key, db_text(s, 0), run_id, p->value);
    db_reset(s);
    return rc;
}

/* How MLflow stores a value: NaN as 0 with is_nan set, +-inf as +-DBL_MAX. */
static double store_metric_stored(double value)
{
    return isnan(value) ? 0.0 : isinf(value) ? (value > 0 ? DBL_MAX : -DBL_MAX) : value;
}

/* All rows through one prepared statement: preparing (a cache lookup by
 * SQL text) once per batch instead of once per row is a fifth of the
 * writer's time on 1000-metric batches. */
static int store_metric_insert_all(db_conn *c, const char *run_id, const store_metric *m,
                                   size_t n, cerr *e)
{
    db_stmt *s = db_prep(c,
                         "INSERT INTO metrics (key, value, timestamp, "
                         "run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, ?) "
                         "ON CONFLICT DO NOTHING",
                         e);
    if (s == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (db_bindf(s, e, "tditii", m[i].key, store_metric_stored(m[i].value), m[i].timestamp,
                     run_id, m[i].step, (int64_t)(isnan(m[i].value) ? 1 : 0)) < 0 ||
            db_run(s, e) < 0)
            return -1;
    return 0;
}

/* latest_metrics keeps the greatest (step, timestamp, value); an equal one
 * does not replace it. */
static int store_latest_put(db_conn *c, const char *run_id, const store_metric *m, cerr *e)
{
    db_stmt *s = db_prep(c,
                         "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
                         "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key, run_uuid) DO UPDATE SET "
                         "value = excluded.value, timestamp = excluded.timestamp, "
                         "step = excluded.step, is_nan = excluded.is_nan "
                         "WHERE (excluded.step, excluded.timestamp, excluded.value) > "
                         "(latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)",
                         e);
    if (s == NULL || db_bindf(s, e, "tdiiit", m->key, store_metric_stored(m->value), m->timestamp,
                              m->step, (int64_t)(isnan(m->value) ? 1 : 0), run_id) < 0)
        return -1;
    return db_run(s, e);
}

/* (step, timestamp, stored value) of a above b's, as latest_metrics orders. */
static bool store_metric_after(const store_metric *a, const store_metric *b)
{
    if (a->step != b->step)
        return a->step > b->step;
    if (a->timestamp != b->timestamp)
        return a->timestamp > b->timestamp;
    return store_metric_stored(a->value) > store_metric_stored(b->value);
}

static int store_metric_by_key(const void *pa, const void *pb)
{
    const store_metric *a = *(const store_metric *const *)pa, *b = *(const store_metric *const *)pb;
    int c = strcmp(a->key, b->key);
    return c ? c : (a < b ? -1 : a > b); /* then in logged order */
}

/* Every row, then latest_metrics once per key: the batch's greatest row of
 * each key gives the same result as an upsert per row (MLflow's
 * _update_latest_metrics_if_necessary works per key too), at a fraction of
 * the statements. */
static int store_metrics_log(db_conn *c, const char *run_id, const store_metric *m, size_t n,
                             cerr *e)
{
    if (n == 0)
        return 0;
    if (store_metric_insert_all(c, run_id, m, n, e) < 0)
        return -1;
    const store_metric **order = malloc(n * sizeof *order);
    if (order == NULL)
        abort();
    for (size_t i = 0; i < n; i++)
        order[i] = &m[i];
    qsort(order, n, sizeof *order, store_metric_by_key);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0;) {
        const store_metric *best = order[i];
        size_t j = i + 1;
        for (; j < n && strcmp(order[j]->key, best->key) == 0; j++)
            if (store_metric_after(order[j], best))
                best = order[j];
        rc = store_latest_put(c, run_id, best, e);
        i = j;
    }
    free(order);
    return rc;
}

static int store_tag_log(db_conn *c, const char *run_id, const store_kv *t, cerr *e)
{
    if (strcmp(t->key, STORE_RUN_NAME_TAG) == 0) /* MLflow: set_tag -> update_run_info */
        return store_run_rename(c, run_id, t->value, e);
    db_stmt *s = db_prep(c,
                         "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?) "
                         "ON CONFLICT (key, run_uuid) DO UPDATE SET value = "
                         "excluded.value",
                         e);
    if (s == NULL || db_bindf(s, e, "ttt", t->key, t->value, run_id) < 0)
        return -1;
    return db_run(s, e);
}

/* MLflow's order: params, then metrics, then tags; any error undoes all. */
static int store_batch_fn(db_conn *c, void *arg, cerr *e)
{
    store_batch *x = arg;
    if (store_run_check(c, x->run_id, true, NULL, e) < 0)
        return -1;
    for (size_t i = 0; i < x->nparams; i++)
        if (store_param_log(c, x->run_id, &x->params[i], e) < 0)
            return -1;
    if (store_metrics_log(c, x->run_id, x->metrics, x->nmetrics, e) < 0)
        return -1;
    for (size_t i = 0; i < x->ntags; i++)
        if (store_tag_log(c, x->run_id, &x->tags[i], e) < 0)
            return -1;
    return 0;
}

int store_run_log_batch(store *st, const char *run_id, const store_metric *metrics, size_t nmetrics,
                        const store_kv *params, size_t nparams, const store_kv *tags, size_t ntags,
                        cerr *e)
{
    store_batch x = {run_id, metrics, nmetrics, params, tags, nparams, ntags};
    return db_write(st, store_batch_fn, &x, e);
}

typedef struct store_batch_async {
    store_batch x; /* first: store_batch_fn's argument */
    store_done_fn done;
    void *arg;
} store_batch_async;

static void store_batch_async_done(void *arg, int rc, const cerr *e)
{
    store_batch_async *a = arg;
    store_done_fn done = a->done;
    void *user = a->arg;
    free(a);
    done(user, rc, e);
}

int store_run_log_batch_async(store *st, const char *run_id, const store_metric *metrics,
                              size_t nmetrics, const store_kv *params, size_t nparams,
                              const store_kv *tags, size_t ntags, store_done_fn done, void *arg,
                              cerr *e)
{
    store_batch_async *a = malloc(sizeof *a);
    if (a == NULL)
        abort();
    *a = (store_batch_async){{run_id, metrics, nmetrics, params, tags, nparams, ntags}, done, arg};
    if (db_write_async(st, store_batch_fn, &a->x, store_batch_async_done, a, e) == 0)
        return 0;
    free(a);
    return -1;
}

/* ---- delete tag ---- */

typedef struct store_tag_del {
    const char *run_id, *key;
} store_tag_del;

static int store_tag_delete_fn(db_conn *c, void *arg, cerr *e)
{
    store_tag_del *x = arg;
    if (store_run_check(c, x->run_id, true, NULL, e) < 0)
        return -1;
    db_stmt *s = db_prep(c, "DELETE FROM tags WHERE run_uuid = ? AND key = ?", e);
    if (s == NULL || db_bindf(s, e, "tt", x->run_id, x->key) < 0 || db_run(s, e) < 0)
        return -1;
    if (db_changes(c) == 0)
        return cerr_set(e, CERR_RESOURCE_DOES_NOT_EXIST, "No tag with name: %s in run with id %s",
                        x->key, x->run_id);
    return 0;
}

int store_run_tag_delete(store *st, const char *run_id, const char *key, cerr *e)
{
    store_tag_del x = {run_id, key};
    return db_write(st, store_tag_delete_fn, &x, e);
}

/* ---- dataset inputs ---- */

typedef struct store_inputs {
    const char *run_id;
    const store_dataset_input *inputs;
    size_t ninputs;
} store_inputs;

/* The dataset's uuid in this experiment, inserting the dataset if new. */
static int store_dataset_get_or_add(db_conn *c, int64_t exp, const store_dataset_input *in,
                                    char uuid[33], cerr *e)
{
    db_stmt *s = db_prep(c,
                         "SELECT dataset_uuid FROM datasets WHERE experiment_id = ? "
                         "AND name = ? AND digest = ?",
                         e);
    if (s == NULL || db_bindf(s, e, "itt", exp, in->name, in->digest) < 0)
        return -1;
    int rc = db_row(s, e);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        snprintf(uuid, 33, "%s", db_text(s, 0));
        db_reset(s);
        return 0;
    }
    ids_hex32(uuid);
    s = db_prep(c,
                "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, "
                "dataset_source_type, dataset_source, dataset_schema, dataset_profile) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                e);
    if (s == NULL || db_bindf(s, e, "titttttt", uuid, exp, in->name, in->digest, in->source_type,
                              in->source, in->schema, in->profile) < 0)
        return -1;
    return db_run(s, e);
}

/* Link the dataset to the run with its tags, unless already linked. */
static int store_input_link(db_conn *c, const char *run_id, const char *dataset_uuid,
                            const store_dataset_input *in, cerr *e)
{
    char input_uuid[33];
    ids_hex32(input_uuid);
    db_stmt *s = db_prep(c,
                         "INSERT INTO inputs (input_uuid, source_type, "
                         "source_id, destination_type, destination_id) "
                         "VALUES (?, 'DATASET', ?, 'RUN', ?) ON CONFLICT DO NOTHING",
                         e);
    if (s == NULL || db_bindf(s, e, "ttt", input_uuid, dataset_uuid, run_id) < 0 ||
        db_run(s, e) < 0)
        return -1;
    if (db_changes(c) == 0)
        return 0; /* MLflow keeps the existing link and its tags */
    s = db_prep(c,
                "INSERT INTO input_tags (input_uuid, name, value) VALUES (?, ?, ?) "
                "ON CONFLICT (input_uuid, name) DO UPDATE SET value = excluded.value",
                e);
    for (size_t i = 0; i < in->ntags; i++) {
        if (s == NULL ||
            db_bindf(s, e, "ttt", input_uuid, in->tags[i].key, in->tags[i].value) < 0 ||
            db_run(s, e) < 0)
            return -1;
    }
    return 0;
}

static bool store_input_seen(const store_inputs *x, size_t i)
{
    for (size_t k = 0; k < i; k++)
        if (strcmp(x->inputs[k].name, x->inputs[i].name) == 0 &&
            strcmp(x->inputs[k].digest, x->inputs[i].digest) == 0)
            return true;
    return false;
}

static int store_inputs_fn(db_conn *c, void *arg, cerr *e)
{
    store_inputs *x = arg;
    int64_t exp;
    if (store_run_check(c, x->run_id, true, &exp, e) < 0)
        return -1;
    for (size_t i = 0; i < x->ninputs; i++) {
        if (store_input_seen(x, i)) /* MLflow keeps the first of a name and digest */
            continue;
        char uuid[33];
        if (store_dataset_get_or_add(c, exp, &x->inputs[i], uuid, e) < 0 ||
            store_input_link(c, x->run_id, uuid, &x->inputs[i], e) < 0)
            return -1;
    }
    return 0;
}

int store_run_log_inputs(store *st, const char *run_id, const store_dataset_input *inputs,
                         size_t ninputs, cerr *e)
{
    store_inputs x = {run_id, inputs, ninputs};
    return db_write(st, store_inputs_fn, &x, e);
}

/* ---- metric history ---- */

int store_metric_history(store *st, const char *run_id, const char *key, int64_t max_results,
                         const char *page_token, json_t **out, char **next_token, cerr *e)
{
    *out = NULL;
    *next_token = NULL;
    int64_t offset;
    if (!token_to_offset(page_token, &offset))
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Invalid page token, could not base64-decode");
    /* One row past the page tells whether there is a next one. */
    int64_t limit = max_results > 0 ? max_results + 1 : INT64_MAX; /* PG: no LIMIT -1 */
    db_conn *c = db_read_begin(st, e);
    if (c == NULL)
        return -1;
    /* cairn_metrics_history (store_indexes.c) holds exactly this order. */
    db_stmt *s = db_prep(c,
                         "SELECT key, value, timestamp, step, is_nan FROM metrics "
                         "WHERE run_uuid = ? AND key = ? "
                         "ORDER BY step, timestamp, value, is_nan LIMIT ? OFFSET ?",
                         e);
    int rc = s ? db_bindf(s, e, "ttii", run_id, key, limit, offset) : -1;
    json_t *arr = json_array();
    if (rc == 0) {
        while ((rc = db_row(s, e)) == 1) {
            if (max_results > 0 && (int64_t)json_array_size(arr) == max_results) {
                *next_token = token_from_offset(offset + max_results);
                rc = 0;
                break;
            }
            json_array_append_new(arr, store_metric_from_row(s, 0));
        }
    }
    db_read_end(st, c);
    return store_page_done(rc, arr, out, next_token);
}
