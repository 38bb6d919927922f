/* import.c - `cairn import mlruns DIR`: copies an MLflow file store (the
 * ./mlruns folder MLflow 2.9's FileStore writes) into a tracking server:
 *   DIR/<exp id>/meta.yaml            name, lifecycle_stage, ...
 *   DIR/<exp id>/tags/<key>           experiment tags
 *   DIR/<exp id>/<run id>/meta.yaml   run_name, start_time, end_time,
 *                                     status (an int: 1 RUNNING .. 5 KILLED),
 *                                     lifecycle_stage, user_id
 *   DIR/<exp id>/<run id>/params/<key>, tags/<key>  the value, as the file's text
 *   DIR/<exp id>/<run id>/metrics/<key>  lines "timestamp value step"
 *   DIR/<exp id>/<run id>/artifacts/...  files
 * Keys containing '/' are nested folders. Experiments are matched by name.
 * A run is created with the tag cairn.import.run_id and marked
 * cairn.import.complete=true when all of it is in; importing again skips
 * complete runs and finishes incomplete ones, so nothing is copied twice. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "mlruns.h"
#include "../util/runstatus.h"

typedef struct {
    cairn_client *c;
    int json;
    int experiments, runs, skipped, resumed;
} imp;

/* Calls fn(ud, key, path) for every file below dir; keys join folders with '/'. */
static int walk(const char *dir, const char *prefix, int (*fn)(void *, const char *, const char *), void *ud)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : -1;
    struct dirent *e;
    int r = 0;
    while (r == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[PATH_MAX], key[PATH_MAX];
        if (mlruns_join(path, dir, e->d_name) < 0)
            continue;
        if (*prefix == '\0')
            snprintf(key, sizeof key, "%s", e->d_name);
        else if (mlruns_join(key, prefix, e->d_name) < 0)
            continue;
        struct stat st;
        if (stat(path, &st) < 0)
            continue;
        r = S_ISDIR(st.st_mode) ? walk(path, key, fn, ud) : fn(ud, key, path);
    }
    closedir(d);
    return r;
}

/* Accumulates log-batch entries for one run and posts them within limits. */
typedef struct {
    imp *im;
    const char *run_id;
    json_t *metrics, *params, *tags;
    int failed;
} batch;

static int batch_flush(batch *b)
{
    if (json_array_size(b->metrics) + json_array_size(b->params) + json_array_size(b->tags) == 0)
        return 0;
    json_t *body = json_pack("{s:s, s:O, s:O, s:O}", "run_id", b->run_id, "metrics", b->metrics, "params",
                             b->params, "tags", b->tags);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    int r = cairn_request_post(b->im->c, "runs/log-batch", text, NULL);
    free(text);
    json_array_clear(b->metrics);
    json_array_clear(b->params);
    json_array_clear(b->tags);
    if (r < 0) {
        b->failed = 1;
        return -1;
    }
    return 0;
}

static int batch_room(batch *b, json_t *list, size_t limit)
{
    size_t total = json_array_size(b->metrics) + json_array_size(b->params) + json_array_size(b->tags);
    if (json_array_size(list) >= limit || total >= 1000)
        return batch_flush(b);
    return 0;
}

static int add_kv(batch *b, json_t *list, const char *key, const char *path)
{
    char *v = mlruns_read_text(path);
    if (v == NULL)
        return 0;
    int r = batch_room(b, list, 100);
    if (r == 0)
        json_array_append_new(list, json_pack("{s:s, s:s}", "key", key, "value", v));
    free(v);
    return r;
}

static int add_param(void *ud, const char *key, const char *path)
{
    batch *b = ud;
    return add_kv(b, b->params, key, path);
}

static int add_tag(void *ud, const char *key, const char *path)
{
    batch *b = ud;
    return add_kv(b, b->tags, key, path);
}

static int add_metric(void *ud, const char *key, const char *path)
{
    batch *b = ud;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    char line[512];
    int r = 0;
    while (r == 0 && fgets(line, sizeof line, f)) {
        long long ts, step;
        double v;
        if (mlruns_metric_line(line, &ts, &v, &step) < 0)
            continue;
        json_t *jv = isnan(v) ? json_string("NaN") : isinf(v) ? json_string(v > 0 ? "Infinity" : "-Infinity")
                                                               : json_real(v);
        r = batch_room(b, b->metrics, 1000);
        if (r == 0)
            json_array_append_new(b->metrics, json_pack("{s:s, s:o, s:I, s:I}", "key", key, "value", jv,
                                                        "timestamp", (json_int_t)ts, "step", (json_int_t)step));
        else
            json_decref(jv);
    }
    fclose(f);
    return r;
}

typedef struct {
    imp *im;
    const char *run_id;
} art_ctx;

static int add_artifact(void *ud, const char *key, const char *path)
{
    art_ctx *a = ud;
    return cairn_artifact_upload(a->im->c, a->run_id, path, key, NULL, NULL) < 0 ? -1 : 0;
}

static const char *status_name(const char *s)
{
    if (s == NULL || *s == '\0')
        return runstatus_name(RUNSTATUS_FINISHED);
    if (s[0] >= '1' && s[0] <= '5' && s[1] == '\0')
        return runstatus_name(s[0] - '0');
    return s;
}

static json_t *post(imp *im, const char *path, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT), *out = NULL;
    json_decref(body);
    int r = cairn_request_post(im->c, path, text, &out);
    free(text);
    return r < 0 ? NULL : cmd_json(out);
}

static long long num(json_t *meta, const char *key)
{
    const char *v = json_string_value(json_object_get(meta, key));
    return v ? strtoll(v, NULL, 10) : 0;
}

static int import_run(imp *im, const char *exp_id, const char *run_dir, const char *dir_name)
{
    char path[PATH_MAX];
    if (mlruns_join(path, run_dir, "meta.yaml") < 0)
        return 0;
    json_t *meta = mlruns_meta_read(path);
    if (meta == NULL)
        return 0;   /* not a run folder (tags/, datasets/, ...) */
    const char *src = json_string_value(json_object_get(meta, "run_id"));
    if (src == NULL || *src == '\0')
        src = dir_name;
    char filter[512];
    snprintf(filter, sizeof filter, "tags.`cairn.import.run_id` = '%s'", src);
    json_t *found = post(im, "runs/search",
                         json_pack("{s:[s], s:s, s:s, s:i}", "experiment_ids", exp_id, "filter", filter,
                                   "run_view_type", "ALL", "max_results", 1));
    if (found == NULL) {
        json_decref(meta);
        return -1;
    }
    json_t *run = json_array_get(json_object_get(found, "runs"), 0);
    char *run_id = run ? strdup(cmd_str(json_object_get(run, "info"), "run_id")) : NULL;
    int complete = 0;
    const char *stage = json_string_value(json_object_get(meta, "lifecycle_stage"));
    int deleted = stage != NULL && strcmp(stage, "deleted") == 0;
    int server_deleted = strcmp(cmd_str(json_object_get(run, "info"), "lifecycle_stage"), "deleted") == 0;
    size_t i;
    json_t *tag;
    json_array_foreach(json_object_get(json_object_get(run, "data"), "tags"), i, tag)
        complete |= strcmp(cmd_str(tag, "key"), "cairn.import.complete") == 0;
    json_decref(found);
    int rc = 0;
    if (complete) {   /* cut short between the completion tag and the delete? */
        if (deleted && !server_deleted && cairn_run_delete(im->c, run_id) < 0)
            rc = -1;
        else
            im->skipped++;
        goto out;
    }
    if (run_id != NULL) {
        im->resumed++;
    } else {
        json_t *body = json_pack("{s:s, s:I, s:[{s:s, s:s}]}", "experiment_id", exp_id, "start_time",
                                 (json_int_t)num(meta, "start_time"), "tags", "key", "cairn.import.run_id",
                                 "value", src);
        const char *name = json_string_value(json_object_get(meta, "run_name"));
        const char *user = json_string_value(json_object_get(meta, "user_id"));
        if (name && *name)
            json_object_set_new(body, "run_name", json_string(name));
        if (user && *user)
            json_object_set_new(body, "user_id", json_string(user));
        json_t *created = post(im, "runs/create", body);
        if (created == NULL) {
            rc = -1;
            goto out;
        }
        run_id = strdup(cmd_str(json_object_get(json_object_get(created, "run"), "info"), "run_id"));
        json_decref(created);
    }
    batch b = {im, run_id, json_array(), json_array(), json_array(), 0};
    char sub[PATH_MAX];
    mlruns_join(sub, run_dir, "params");
    rc = walk(sub, "", add_param, &b);
    mlruns_join(sub, run_dir, "tags");
    if (rc == 0)
        rc = walk(sub, "", add_tag, &b);
    mlruns_join(sub, run_dir, "metrics");
    if (rc == 0)
        rc = walk(sub, "", add_metric, &b);
    if (rc == 0)
        rc = batch_flush(&b);
    json_decref(b.metrics);
    json_decref(b.params);
    json_decref(b.tags);
    art_ctx ac = {im, run_id};
    mlruns_join(sub, run_dir, "artifacts");
    if (rc == 0)
        rc = walk(sub, "", add_artifact, &ac);
    if (rc == 0) {
        json_t *u = json_pack("{s:s, s:s}", "run_id", run_id, "status",
                              status_name(json_string_value(json_object_get(meta, "status"))));
        if (num(meta, "end_time") > 0)
            json_object_set_new(u, "end_time", json_integer(num(meta, "end_time")));
        json_t *r = post(im, "runs/update", u);
        rc = r ? 0 : -1;
        json_decref(r);
    }
    /* Complete first: a deleted run takes no more tags. */
    if (rc == 0) {
        json_t *r = post(im, "runs/set-tag", json_pack("{s:s, s:s, s:s}", "run_id", run_id, "key",
                                                       "cairn.import.complete", "value", "true"));
        rc = r ? 0 : -1;
        json_decref(r);
    }
    if (rc == 0 && deleted)
        rc = cairn_run_delete(im->c, run_id) < 0 ? -1 : 0;
    if (rc == 0) {
        im->runs++;
        if (!im->json)
            printf("run %s -> %s\n", src, run_id);
    }
out:
    free(run_id);
    json_decref(meta);
    return rc;
}

static int set_exp_tag(void *ud, const char *key, const char *path)
{
    void **pair = ud;
    imp *im = pair[0];
    char *v = mlruns_read_text(path);
    if (v == NULL)
        return 0;
    json_t *r = post(im, "experiments/set-experiment-tag",
                     json_pack("{s:s, s:s, s:s}", "experiment_id", (const char *)pair[1], "key", key, "value", v));
    free(v);
    json_decref(r);
    return r ? 0 : -1;
}

static int import_experiment(imp *im, const char *exp_dir)
{
    char path[PATH_MAX];
    if (mlruns_join(path, exp_dir, "meta.yaml") < 0)
        return 0;
    json_t *meta = mlruns_meta_read(path);
    const char *name = json_string_value(json_object_get(meta, "name"));
    if (meta == NULL || name == NULL) {
        json_decref(meta);
        return 0;   /* not an experiment folder (models/, .trash/, ...) */
    }
    char *exp_id = NULL;
    if (cairn_experiment_ensure(im->c, name, &exp_id) < 0) {
        json_decref(meta);
        return -1;
    }
    if (!im->json)
        printf("experiment '%s' -> %s\n", name, exp_id);
    im->experiments++;
    void *pair[2] = {im, exp_id};
    mlruns_join(path, exp_dir, "tags");
    int rc = walk(path, "", set_exp_tag, pair);
    DIR *d = rc == 0 ? opendir(exp_dir) : NULL;
    struct dirent *e;
    while (d != NULL && rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "tags") == 0 || strcmp(e->d_name, "datasets") == 0)
            continue;
        char run_dir[PATH_MAX];
        if (mlruns_join(run_dir, exp_dir, e->d_name) < 0)
            continue;
        struct stat st;
        if (stat(run_dir, &st) == 0 && S_ISDIR(st.st_mode))
            rc = import_run(im, exp_id, run_dir, e->d_name);
    }
    if (d)
        closedir(d);
    const char *stage = json_string_value(json_object_get(meta, "lifecycle_stage"));
    if (rc == 0 && stage && strcmp(stage, "deleted") == 0 && strcmp(exp_id, "0") != 0)
        rc = cairn_experiment_delete(im->c, exp_id) < 0 ? -1 : 0;
    cairn_free(exp_id);
    json_decref(meta);
    return rc;
}

static int import_run_cmd(const char *noun, int argc, char **argv);

static const cmd_verb import_verbs[] = {
    {"mlruns", "DIR", "Copy an MLflow file store (./mlruns) into the server: experiments (by name),\n"
                      "runs with params, metrics, tags, status and artifacts. Safe to run again.",
     import_run_cmd},
};

static int import_run_cmd(const char *noun, int argc, char **argv)
{
    cmd_opt opts[] = {{0}};
    cmd_args a;
    int rc = cmd_parse(noun, &import_verbs[0], opts, 1, 1, argc, argv, &a);
    if (rc >= 0)
        return rc;
    const char *root = a.pos[0];
    DIR *d = opendir(root);
    if (d == NULL) {
        fprintf(stderr, "cairn: cannot read %s: %s\n", root, strerror(errno));
        return CLI_EXIT_FAIL;
    }
    cairn_client *c = cmd_client(&a.common, 0);
    if (c == NULL) {
        closedir(d);
        return cmd_status();
    }
    imp im = {c, a.common.json, 0, 0, 0, 0};
    struct dirent *e;
    int r = 0;
    while (r == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;   /* ., .., .trash (experiments deleted for good) */
        char exp_dir[PATH_MAX];
        if (mlruns_join(exp_dir, root, e->d_name) < 0)
            continue;
        r = import_experiment(&im, exp_dir);
    }
    closedir(d);
    rc = r < 0 ? cmd_fail() : CLI_EXIT_OK;
    cairn_client_close(c);
    if (a.common.json) {
        json_t *j = json_pack("{s:i, s:i, s:i, s:i}", "experiments", im.experiments, "runs_imported", im.runs,
                              "runs_already_imported", im.skipped, "runs_resumed", im.resumed);
        cmd_print_json(j);
        json_decref(j);
    } else {
        printf("imported %d run(s) in %d experiment(s); %d already imported\n", im.runs, im.experiments,
               im.skipped);
    }
    return rc;
}

int cli_import(int argc, char **argv)
{
    return cmd_dispatch("import", "Import runs from elsewhere into the tracking server.", import_verbs, 1, argc,
                        argv);
}

void cli_import_help(void)
{
    cmd_noun_help(stdout, "import", "Import runs from elsewhere into the tracking server.", import_verbs, 1);
}
