/* store_entity.c - rows of MLflow's tables turned into MLflow's REST JSON
 * (protobuf JSON: int64 as numbers, experiment_id as a string, NULL columns
 * and empty repeated fields left out), and the batched loading of a page of
 * runs' or experiments' children.
 *
 * Children are loaded with one query per child table for the whole page,
 * `WHERE run_uuid IN (SELECT value FROM json_each(?))` with the page's ids as
 * one bound JSON array, then attached through a sorted index: a page of
 * 50,000 runs costs five queries, not 200,000. (On PostgreSQL the driver
 * reads json_each as json_array_elements_text; see db.h.) */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void store_set_text(json_t *obj, const char *field, db_stmt *s, int col)
{
    if (!db_is_null(s, col))
        json_object_set_new(obj, field, json_string(db_text(s, col)));
}

static void store_set_int(json_t *obj, const char *field, db_stmt *s, int col)
{
    if (!db_is_null(s, col))
        json_object_set_new(obj, field, json_integer(db_int64(s, col)));
}

/* Experiment ids are INTEGER columns but strings on the wire. */
static void store_set_id(json_t *obj, const char *field, db_stmt *s, int col)
{
    if (db_is_null(s, col))
        return;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)db_int64(s, col));
    json_object_set_new(obj, field, json_string(id));
}

json_t *store_experiment_from_row(db_stmt *s)
{
    json_t *x = json_object();
    store_set_id(x, "experiment_id", s, 0);
    store_set_text(x, "name", s, 1);
    store_set_text(x, "artifact_location", s, 2);
    store_set_text(x, "lifecycle_stage", s, 3);
    store_set_int(x, "last_update_time", s, 4);
    store_set_int(x, "creation_time", s, 5);
    return x;
}

json_t *store_run_info_from_row(db_stmt *s)
{
    json_t *info = json_object();
    json_object_set_new(info, "run_id", json_string(db_text(s, 0)));
    json_object_set_new(info, "run_uuid", json_string(db_text(s, 0)));
    store_set_text(info, "run_name", s, 1);
    store_set_id(info, "experiment_id", s, 2);
    store_set_text(info, "user_id", s, 3);
    store_set_text(info, "status", s, 4);
    store_set_int(info, "start_time", s, 5);
    store_set_int(info, "end_time", s, 6);
    store_set_text(info, "artifact_uri", s, 7);
    store_set_text(info, "lifecycle_stage", s, 8);
    return info;
}

json_t *store_run_wrap(json_t *info)
{
    return json_pack("{s:o, s:{}, s:{}}", "info", info, "data", "inputs");
}

json_t *store_metric_from_row(db_stmt *s, int first)
{
    json_t *m = json_object();
    json_object_set_new(m, "key", json_string(db_text(s, first)));
    /* jansson cannot encode NaN; protobuf's JSON writes it as "NaN" too. */
    if (db_bool(s, first + 4))
        json_object_set_new(m, "value", json_string("NaN"));
    else
        json_object_set_new(m, "value", json_real(db_double(s, first + 1)));
    store_set_int(m, "timestamp", s, first + 2);
    store_set_int(m, "step", s, first + 3);
    return m;
}

void store_append(json_t *obj, const char *field, json_t *item)
{
    json_t *arr = json_object_get(obj, field);
    if (arr == NULL) {
        arr = json_array();
        json_object_set_new(obj, field, arr);
    }
    json_array_append_new(arr, item);
}

json_t *store_kv_json(const char *key, const char *value)
{
    return json_pack("{s:s, s:s}", "key", key, "value", value);
}

/* ---- experiments ---- */

int store_experiments_attach(db_conn *c, json_t *arr, cerr *e)
{
    size_t n = json_array_size(arr);
    if (n == 0)
        return 0;
    const char **ids = malloc(n * sizeof *ids);
    int64_t *nums = malloc(n * sizeof *nums);
    if (ids == NULL || nums == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        ids[i] = json_string_value(json_object_get(json_array_get(arr, i), "experiment_id"));
        store_parse_id(ids[i], &nums[i]);
    }
    store_idx ix;
    store_idx_build(&ix, ids, n);
    char *list = store_json_int_list(nums, n);
    int rc = -1;
    db_stmt *s = db_prep(c,
                         "SELECT experiment_id, key, value FROM experiment_tags "
                         "WHERE experiment_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?)) "
                         "ORDER BY experiment_id, key",
                         e);
    if (s && db_bindf(s, e, "t", list) == 0) {
        while ((rc = db_row(s, e)) == 1) {
            char id[24];
            snprintf(id, sizeof id, "%lld", (long long)db_int64(s, 0));
            size_t pos = store_idx_find(&ix, id);
            if (pos != (size_t)-1)
                store_append(json_array_get(arr, pos), "tags",
                             store_kv_json(db_text(s, 1), db_text(s, 2)));
        }
    }
    free(list);
    store_idx_free(&ix);
    free(nums);
    free(ids);
    return rc;
}

/* ---- runs ---- */

/* Puts one child row (column 0: the parent's id) into its parent. */
typedef void (*store_attach_fn)(db_stmt *s, json_t *parent);

static void store_attach_param(db_stmt *s, json_t *run)
{
    store_append(json_object_get(run, "data"), "params",
                 store_kv_json(db_text(s, 1), db_text(s, 2)));
}

static void store_attach_tag(db_stmt *s, json_t *run)
{
    store_append(json_object_get(run, "data"), "tags", store_kv_json(db_text(s, 1), db_text(s, 2)));
}

static void store_attach_metric(db_stmt *s, json_t *run)
{
    store_append(json_object_get(run, "data"), "metrics", store_metric_from_row(s, 1));
}

static void store_attach_input(db_stmt *s, json_t *run)
{
    json_t *ds = json_object();
    json_object_set_new(ds, "name", json_string(db_text(s, 2)));
    json_object_set_new(ds, "digest", json_string(db_text(s, 3)));
    json_object_set_new(ds, "source_type", json_string(db_text(s, 4)));
    json_object_set_new(ds, "source", json_string(db_text(s, 5)));
    store_set_text(ds, "schema", s, 6);
    store_set_text(ds, "profile", s, 7);
    /* input_uuid is kept under a private key until the tags are attached. */
    json_t *in = json_pack("{s:s, s:o}", "_input_uuid", db_text(s, 1), "dataset", ds);
    store_append(json_object_get(run, "inputs"), "dataset_inputs", in);
}

static void store_attach_input_tag(db_stmt *s, json_t *input)
{
    store_append(input, "tags", store_kv_json(db_text(s, 1), db_text(s, 2)));
}

static int store_attach_query(db_conn *c, const char *sql, const char *list, const store_idx *ix,
                              json_t *arr, store_attach_fn fn, cerr *e)
{
    db_stmt *s = db_prep(c, sql, e);
    if (s == NULL || db_bindf(s, e, "t", list) < 0)
        return -1;
    int rc;
    while ((rc = db_row(s, e)) == 1) {
        size_t pos = store_idx_find(ix, db_text(s, 0));
        if (pos != (size_t)-1)
            fn(s, json_array_get(arr, pos));
    }
    return rc;
}

/* Collect every dataset input of the page, attach its tags, and drop the
 * private _input_uuid key. */
static int store_attach_input_tags(db_conn *c, const char *list, json_t *arr, cerr *e)
{
    json_t *all = json_array(); /* borrowed dataset inputs */
    size_t n = json_array_size(arr);
    for (size_t i = 0; i < n; i++) {
        json_t *ins =
            json_object_get(json_object_get(json_array_get(arr, i), "inputs"), "dataset_inputs");
        for (size_t k = 0; k < json_array_size(ins); k++)
            json_array_append(all, json_array_get(ins, k));
    }
    size_t m = json_array_size(all);
    int rc = 0;
    if (m > 0) {
        const char **uuids = malloc(m * sizeof *uuids);
        if (uuids == NULL)
            abort();
        for (size_t k = 0; k < m; k++)
            uuids[k] = json_string_value(json_object_get(json_array_get(all, k), "_input_uuid"));
        store_idx ix;
        store_idx_build(&ix, uuids, m);
        rc = store_attach_query(c,
                                "SELECT t.input_uuid, t.name, t.value FROM input_tags t "
                                "JOIN inputs i ON i.input_uuid = t.input_uuid "
                                "WHERE i.destination_type = 'RUN' AND i.destination_id IN "
                                "(SELECT value FROM json_each(?)) ORDER BY t.input_uuid, t.name",
                                list, &ix, all, store_attach_input_tag, e);
        store_idx_free(&ix);
        free(uuids);
        for (size_t k = 0; k < m; k++)
            json_object_del(json_array_get(all, k), "_input_uuid");
    }
    json_decref(all);
    return rc;
}

#define STORE_INPUTS_SQL(order)                                                                    \
    "SELECT i.destination_id, i.input_uuid, d.name, d.digest, d.dataset_source_type, "             \
    "d.dataset_source, d.dataset_schema, d.dataset_profile FROM inputs i "                         \
    "JOIN datasets d ON d.dataset_uuid = i.source_id "                                             \
    "WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' "                              \
    "AND i.destination_id IN (SELECT value FROM json_each(?)) ORDER BY " order

int store_runs_attach(db_conn *c, json_t *arr, cerr *e)
{
    size_t n = json_array_size(arr);
    if (n == 0)
        return 0;
    const char **ids = malloc(n * sizeof *ids);
    if (ids == NULL)
        abort();
    for (size_t i = 0; i < n; i++)
        ids[i] = json_string_value(
            json_object_get(json_object_get(json_array_get(arr, i), "info"), "run_id"));
    store_idx ix;
    store_idx_build(&ix, ids, n);
    char *list = store_json_list(ids, n);
    int rc = store_attach_query(c,
                                "SELECT run_uuid, key, value FROM params WHERE run_uuid IN "
                                "(SELECT value FROM json_each(?)) ORDER BY run_uuid, key",
                                list, &ix, arr, store_attach_param, e);
    if (rc == 0)
        rc = store_attach_query(c,
                                "SELECT run_uuid, key, value FROM tags WHERE run_uuid IN "
                                "(SELECT value FROM json_each(?)) ORDER BY run_uuid, key",
                                list, &ix, arr, store_attach_tag, e);
    if (rc == 0)
        rc = store_attach_query(c,
                                "SELECT run_uuid, key, value, timestamp, step, is_nan "
                                "FROM latest_metrics WHERE run_uuid IN "
                                "(SELECT value FROM json_each(?)) ORDER BY run_uuid, key",
                                list, &ix, arr, store_attach_metric, e);
    /* Inputs in the order they were logged: SQLite's rowid; PostgreSQL has
     * none, and ctid is insertion order for rows never updated, as inputs'. */
    if (rc == 0)
        rc = store_attach_query(c,
                                db_conn_kind(c) == DB_POSTGRES ? STORE_INPUTS_SQL("i.ctid")
                                                               : STORE_INPUTS_SQL("i.rowid"),
                                list, &ix, arr, store_attach_input, e);
    if (rc == 0)
        rc = store_attach_input_tags(c, list, arr, e);
    free(list);
    store_idx_free(&ix);
    free(ids);
    return rc;
}
