/* sqlite_entity.c - rows of MLflow's tables turned into MLflow's REST JSON
 * (protobuf JSON: int64 as numbers, experiment_id as a string, NULL columns
 * and empty repeated fields left out), and the batched loading of a page of
 * runs' or experiments' children.
 *
 * Children are loaded with one query per child table for the whole page,
 * `WHERE run_uuid IN (SELECT value FROM json_each(?))` with the page's ids as
 * one bound JSON array, then attached through a sorted index: a page of
 * 50,000 runs costs five queries, not 200,000. */
#include "sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sqlite_set_text(json_t *obj, const char *field, sqlite3_stmt *s, int col)
{
    if (sqlite3_column_type(s, col) != SQLITE_NULL)
        json_object_set_new(obj, field, json_string(sqlite_text(s, col)));
}

static void sqlite_set_int(json_t *obj, const char *field, sqlite3_stmt *s, int col)
{
    if (sqlite3_column_type(s, col) != SQLITE_NULL)
        json_object_set_new(obj, field, json_integer(sqlite3_column_int64(s, col)));
}

/* Experiment ids are INTEGER columns but strings on the wire. */
static void sqlite_set_id(json_t *obj, const char *field, sqlite3_stmt *s, int col)
{
    if (sqlite3_column_type(s, col) == SQLITE_NULL)
        return;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)sqlite3_column_int64(s, col));
    json_object_set_new(obj, field, json_string(id));
}

json_t *sqlite_experiment_from_row(sqlite3_stmt *s)
{
    json_t *x = json_object();
    sqlite_set_id(x, "experiment_id", s, 0);
    sqlite_set_text(x, "name", s, 1);
    sqlite_set_text(x, "artifact_location", s, 2);
    sqlite_set_text(x, "lifecycle_stage", s, 3);
    sqlite_set_int(x, "last_update_time", s, 4);
    sqlite_set_int(x, "creation_time", s, 5);
    return x;
}

json_t *sqlite_run_info_from_row(sqlite3_stmt *s)
{
    json_t *info = json_object();
    json_object_set_new(info, "run_id", json_string(sqlite_text(s, 0)));
    json_object_set_new(info, "run_uuid", json_string(sqlite_text(s, 0)));
    sqlite_set_text(info, "run_name", s, 1);
    sqlite_set_id(info, "experiment_id", s, 2);
    sqlite_set_text(info, "user_id", s, 3);
    sqlite_set_text(info, "status", s, 4);
    sqlite_set_int(info, "start_time", s, 5);
    sqlite_set_int(info, "end_time", s, 6);
    sqlite_set_text(info, "artifact_uri", s, 7);
    sqlite_set_text(info, "lifecycle_stage", s, 8);
    return info;
}

json_t *sqlite_run_wrap(json_t *info)
{
    return json_pack("{s:o, s:{}, s:{}}", "info", info, "data", "inputs");
}

json_t *sqlite_metric_from_row(sqlite3_stmt *s, int first)
{
    json_t *m = json_object();
    json_object_set_new(m, "key", json_string(sqlite_text(s, first)));
    /* jansson cannot encode NaN; protobuf's JSON writes it as "NaN" too. */
    if (sqlite3_column_int(s, first + 4))
        json_object_set_new(m, "value", json_string("NaN"));
    else
        json_object_set_new(m, "value", json_real(sqlite3_column_double(s, first + 1)));
    sqlite_set_int(m, "timestamp", s, first + 2);
    sqlite_set_int(m, "step", s, first + 3);
    return m;
}

void sqlite_append(json_t *obj, const char *field, json_t *item)
{
    json_t *arr = json_object_get(obj, field);
    if (arr == NULL) {
        arr = json_array();
        json_object_set_new(obj, field, arr);
    }
    json_array_append_new(arr, item);
}

json_t *sqlite_kv(const char *key, const char *value)
{
    return json_pack("{s:s, s:s}", "key", key, "value", value);
}

/* ---- experiments ---- */

int sqlite_experiments_attach(sqlite_conn *c, json_t *arr, cerr *e)
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
        sqlite_parse_id(ids[i], &nums[i]);
    }
    sqlite_idx ix;
    sqlite_idx_build(&ix, ids, n);
    char *list = sqlite_json_int_list(nums, n);
    int rc = -1;
    sqlite3_stmt *s = sqlite_prep(c,
                                  "SELECT experiment_id, key, value FROM experiment_tags "
                                  "WHERE experiment_id IN (SELECT value FROM json_each(?)) "
                                  "ORDER BY experiment_id, key",
                                  e);
    if (s && sqlite_bindf(c, s, e, "t", list) == 0) {
        while ((rc = sqlite_row(c, s, e)) == 1) {
            char id[24];
            snprintf(id, sizeof id, "%lld", (long long)sqlite3_column_int64(s, 0));
            size_t pos = sqlite_idx_find(&ix, id);
            if (pos != (size_t)-1)
                sqlite_append(json_array_get(arr, pos), "tags",
                              sqlite_kv(sqlite_text(s, 1), sqlite_text(s, 2)));
        }
    }
    free(list);
    sqlite_idx_free(&ix);
    free(nums);
    free(ids);
    return rc;
}

/* ---- runs ---- */

/* Puts one child row (column 0: the parent's id) into its parent. */
typedef void (*sqlite_attach_fn)(sqlite3_stmt *s, json_t *parent);

static void sqlite_attach_param(sqlite3_stmt *s, json_t *run)
{
    sqlite_append(json_object_get(run, "data"), "params",
                  sqlite_kv(sqlite_text(s, 1), sqlite_text(s, 2)));
}

static void sqlite_attach_tag(sqlite3_stmt *s, json_t *run)
{
    sqlite_append(json_object_get(run, "data"), "tags",
                  sqlite_kv(sqlite_text(s, 1), sqlite_text(s, 2)));
}

static void sqlite_attach_metric(sqlite3_stmt *s, json_t *run)
{
    sqlite_append(json_object_get(run, "data"), "metrics", sqlite_metric_from_row(s, 1));
}

static void sqlite_attach_input(sqlite3_stmt *s, json_t *run)
{
    json_t *ds = json_object();
    json_object_set_new(ds, "name", json_string(sqlite_text(s, 2)));
    json_object_set_new(ds, "digest", json_string(sqlite_text(s, 3)));
    json_object_set_new(ds, "source_type", json_string(sqlite_text(s, 4)));
    json_object_set_new(ds, "source", json_string(sqlite_text(s, 5)));
    sqlite_set_text(ds, "schema", s, 6);
    sqlite_set_text(ds, "profile", s, 7);
    /* input_uuid is kept under a private key until the tags are attached. */
    json_t *in = json_pack("{s:s, s:o}", "_input_uuid", sqlite_text(s, 1), "dataset", ds);
    sqlite_append(json_object_get(run, "inputs"), "dataset_inputs", in);
}

static void sqlite_attach_input_tag(sqlite3_stmt *s, json_t *input)
{
    sqlite_append(input, "tags", sqlite_kv(sqlite_text(s, 1), sqlite_text(s, 2)));
}

static int sqlite_attach_query(sqlite_conn *c, const char *sql, const char *list,
                               const sqlite_idx *ix, json_t *arr, sqlite_attach_fn fn, cerr *e)
{
    sqlite3_stmt *s = sqlite_prep(c, sql, e);
    if (s == NULL || sqlite_bindf(c, s, e, "t", list) < 0)
        return -1;
    int rc;
    while ((rc = sqlite_row(c, s, e)) == 1) {
        size_t pos = sqlite_idx_find(ix, sqlite_text(s, 0));
        if (pos != (size_t)-1)
            fn(s, json_array_get(arr, pos));
    }
    return rc;
}

/* Collect every dataset input of the page, attach its tags, and drop the
 * private _input_uuid key. */
static int sqlite_attach_input_tags(sqlite_conn *c, const char *list, json_t *arr, cerr *e)
{
    json_t *all = json_array(); /* borrowed dataset inputs */
    size_t n = json_array_size(arr);
    for (size_t i = 0; i < n; i++) {
        json_t *ins = json_object_get(json_object_get(json_array_get(arr, i), "inputs"),
                                      "dataset_inputs");
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
        sqlite_idx ix;
        sqlite_idx_build(&ix, uuids, m);
        rc = sqlite_attach_query(c,
                                 "SELECT t.input_uuid, t.name, t.value FROM input_tags t "
                                 "JOIN inputs i ON i.input_uuid = t.input_uuid "
                                 "WHERE i.destination_type = 'RUN' AND i.destination_id IN "
                                 "(SELECT value FROM json_each(?)) ORDER BY t.input_uuid, t.name",
                                 list, &ix, all, sqlite_attach_input_tag, e);
        sqlite_idx_free(&ix);
        free(uuids);
        for (size_t k = 0; k < m; k++)
            json_object_del(json_array_get(all, k), "_input_uuid");
    }
    json_decref(all);
    return rc;
}

int sqlite_runs_attach(sqlite_conn *c, json_t *arr, cerr *e)
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
    sqlite_idx ix;
    sqlite_idx_build(&ix, ids, n);
    char *list = sqlite_json_list(ids, n);
    int rc = sqlite_attach_query(c,
                                 "SELECT run_uuid, key, value FROM params WHERE run_uuid IN "
                                 "(SELECT value FROM json_each(?)) ORDER BY run_uuid, key",
                                 list, &ix, arr, sqlite_attach_param, e);
    if (rc == 0)
        rc = sqlite_attach_query(c,
                                 "SELECT run_uuid, key, value FROM tags WHERE run_uuid IN "
                                 "(SELECT value FROM json_each(?)) ORDER BY run_uuid, key",
                                 list, &ix, arr, sqlite_attach_tag, e);
    if (rc == 0)
        rc = sqlite_attach_query(c,
                                 "SELECT run_uuid, key, value, timestamp, step, is_nan "
                                 "FROM latest_metrics WHERE run_uuid IN "
                                 "(SELECT value FROM json_each(?)) ORDER BY run_uuid, key",
                                 list, &ix, arr, sqlite_attach_metric, e);
    if (rc == 0)
        rc = sqlite_attach_query(c,
                                 "SELECT i.destination_id, i.input_uuid, d.name, d.digest, "
                                 "d.dataset_source_type, d.dataset_source, d.dataset_schema, "
                                 "d.dataset_profile FROM inputs i "
                                 "JOIN datasets d ON d.dataset_uuid = i.source_id "
                                 "WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' "
                                 "AND i.destination_id IN (SELECT value FROM json_each(?)) "
                                 "ORDER BY i.rowid",
                                 list, &ix, arr, sqlite_attach_input, e);
    if (rc == 0)
        rc = sqlite_attach_input_tags(c, list, arr, e);
    free(list);
    sqlite_idx_free(&ix);
    free(ids);
    return rc;
}
