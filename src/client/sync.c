/* sync.c - cairn_spool_sync: replays a spool directory's journal to the
 * server exactly once (see spool.c for the layout). Records already in
 * done.log are skipped; each delivered record is added to done.log (fsync'd)
 * right after the server accepts it; ids created offline are mapped through
 * ids.map. What cannot be delivered stays in the journal. When every record
 * is delivered, the journal, done.log and the artifact copies are emptied
 * (ids.map is kept: processes still running may spool more records that
 * name the same local ids). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

typedef struct {
    cairn_client *c;
    const char *dir;
    json_t *done;    /* set: record id -> true */
    json_t *ids;     /* local id -> server id */
} cl_sync;

/* Reads DIR/name line by line into fn; a missing file is empty. */
static int cl_read_lines(const char *dir, const char *name, int (*fn)(void *, char *), void *ud)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return errno == ENOENT ? CAIRN_OK : cl_fail(CAIRN_EIO, "cannot read %s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int r = CAIRN_OK;
    while (r == CAIRN_OK && (n = getline(&line, &cap, f)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        else if (n > 0)
            continue;   /* a torn last line without its newline: not a record */
        if (n > 0)
            r = fn(ud, line);
    }
    free(line);
    fclose(f);
    return r;
}

static int cl_load_done(void *ud, char *line)
{
    json_object_set_new(((cl_sync *)ud)->done, line, json_true());
    return CAIRN_OK;
}

static int cl_load_id(void *ud, char *line)
{
    char *sp = strchr(line, ' ');
    if (sp != NULL) {
        *sp = '\0';
        json_object_set_new(((cl_sync *)ud)->ids, line, json_string(sp + 1));
    }
    return CAIRN_OK;
}

static const char *cl_map(cl_sync *s, const char *id)
{
    if (id == NULL || strncmp(id, "local-", 6) != 0)
        return id;
    return json_string_value(json_object_get(s->ids, id));
}

static int cl_remember(cl_sync *s, const char *local, const char *server)
{
    char line[512];
    int n = snprintf(line, sizeof line, "%s %s\n", local, server);
    json_object_set_new(s->ids, local, json_string(server));
    return cl_spool_append_line(s->dir, "ids.map", line, (size_t)n);
}

static int cl_unmapped(const char *id)
{
    if (id == NULL)
        return cl_fail(CAIRN_EPROTO, "spool record without the id it needs");
    return cl_fail(CAIRN_EINVAL, "%s was not created on the server (its creation is still in the spool)", id);
}

/* A run created offline: look it up by its local-id tag first. */
static int cl_sync_run_create(cl_sync *s, json_t *rec)
{
    const char *local = json_string_value(json_object_get(rec, "local_id"));
    const char *exp = cl_map(s, json_string_value(json_object_get(rec, "experiment_id")));
    if (local == NULL)
        return cl_fail(CAIRN_EPROTO, "run_create record without local_id");
    if (exp == NULL)
        return cl_unmapped(json_string_value(json_object_get(rec, "experiment_id")));
    char filter[256];
    snprintf(filter, sizeof filter, "tags.`cairn.local_run_id` = '%s'", local);
    json_t *q = json_pack("{s:[s], s:s, s:i, s:s}", "experiment_ids", exp, "filter", filter,
                          "max_results", 1, "run_view_type", "ALL");
    json_t *found = NULL;
    int r = cl_api_post_json(s->c, "runs/search", q, &found);
    json_decref(q);
    if (r < 0)
        return r;
    json_t *run = json_array_get(json_object_get(found, "runs"), 0);
    const char *id = json_string_value(json_object_get(json_object_get(run, "info"), "run_id"));
    char *created = NULL;
    if (id == NULL) {
        json_t *tags = json_deep_copy(json_object_get(rec, "tags"));
        if (!json_is_array(tags)) {
            json_decref(tags);
            tags = json_array();
        }
        json_array_append_new(tags, json_pack("{s:s, s:s}", "key", "cairn.local_run_id", "value", local));
        r = cl_run_create_online(s->c, exp, json_string_value(json_object_get(rec, "run_name")),
                                 json_integer_value(json_object_get(rec, "start_time")), tags, &created);
        json_decref(tags);
        id = created;
    }
    if (r == CAIRN_OK)
        r = cl_remember(s, local, id);
    free(created);
    json_decref(found);
    return r;
}

static int cl_sync_experiment(cl_sync *s, json_t *rec)
{
    const char *local = json_string_value(json_object_get(rec, "local_id"));
    const char *name = json_string_value(json_object_get(rec, "name"));
    if (local == NULL || name == NULL)
        return cl_fail(CAIRN_EPROTO, "experiment_create record without local_id or name");
    char *id = NULL;
    int r = cl_experiment_ensure_online(s->c, name, &id);
    if (r == CAIRN_OK)
        r = cl_remember(s, local, id);
    free(id);
    return r;
}

static int cl_sync_batch(cl_sync *s, json_t *rec)
{
    json_t *req = json_object_get(rec, "req");
    const char *local = json_string_value(json_object_get(req, "run_id"));
    const char *id = cl_map(s, local);
    if (id == NULL)
        return cl_unmapped(local ? local : "(no run id)");
    json_object_set_new(req, "run_id", json_string(id));
    return cl_api_post_json(s->c, "runs/log-batch", req, NULL);
}

static int cl_sync_update(cl_sync *s, json_t *rec)
{
    const char *local = json_string_value(json_object_get(rec, "run_id"));
    const char *id = cl_map(s, local);
    if (id == NULL)
        return cl_unmapped(local ? local : "(no run id)");
    return cl_run_update_online(s->c, id, json_string_value(json_object_get(rec, "status")),
                                json_integer_value(json_object_get(rec, "end_time")));
}

static int cl_sync_artifact(cl_sync *s, json_t *rec)
{
    const char *local = json_string_value(json_object_get(rec, "run_id"));
    const char *id = cl_map(s, local);
    const char *file = json_string_value(json_object_get(rec, "file"));
    if (id == NULL)
        return cl_unmapped(local ? local : "(no run id)");
    if (file == NULL)
        return cl_fail(CAIRN_EPROTO, "artifact record without file");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", s->dir, file);
    return cl_artifact_upload_online(s->c, id, path, json_string_value(json_object_get(rec, "path")),
                                     NULL, NULL);
}

typedef struct {
    cl_sync *s;
    cairn_sync_stats *st;
    int stop_code;       /* the server went away: stop sending */
    int first_code;
    int first_http;
    char first_error_code[64];
    char first_msg[1024];
} cl_replay;

static int cl_replay_line(void *ud, char *line)
{
    cl_replay *rp = ud;
    json_t *rec = json_loads(line, 0, NULL);
    const char *id = json_string_value(json_object_get(rec, "id"));
    const char *op = json_string_value(json_object_get(rec, "op"));
    if (rec == NULL || id == NULL || op == NULL) {
        rp->st->records_corrupt++;
        json_decref(rec);
        return CAIRN_OK;
    }
    if (json_object_get(rp->s->done, id) != NULL) {
        rp->st->records_skipped++;
        json_decref(rec);
        return CAIRN_OK;
    }
    if (rp->stop_code) {
        rp->st->records_failed++;
        json_decref(rec);
        return CAIRN_OK;
    }
    int r;
    if (strcmp(op, "run_create") == 0)
        r = cl_sync_run_create(rp->s, rec);
    else if (strcmp(op, "experiment_create") == 0)
        r = cl_sync_experiment(rp->s, rec);
    else if (strcmp(op, "log_batch") == 0)
        r = cl_sync_batch(rp->s, rec);
    else if (strcmp(op, "run_update") == 0)
        r = cl_sync_update(rp->s, rec);
    else if (strcmp(op, "artifact") == 0)
        r = cl_sync_artifact(rp->s, rec);
    else
        r = cl_fail(CAIRN_EPROTO, "unknown spool record op '%s'", op);
    if (r == CAIRN_OK) {
        char done[64];
        int n = snprintf(done, sizeof done, "%s\n", id);
        r = cl_spool_append_line(rp->s->dir, "done.log", done, (size_t)n);
        if (r == CAIRN_OK) {
            json_object_set_new(rp->s->done, id, json_true());
            rp->st->records_sent++;
            if (strcmp(op, "run_create") == 0)
                rp->st->runs_created++;
        }
    }
    if (r < 0) {
        rp->st->records_failed++;
        if (rp->first_code == 0) {
            rp->first_code = r;
            snprintf(rp->first_msg, sizeof rp->first_msg, "record %s (%s): %s", id, op,
                     cairn_error_last()->message);
            snprintf(rp->first_error_code, sizeof rp->first_error_code, "%s", cairn_error_last()->error_code);
            rp->first_http = cairn_error_last()->http_status;
        }
        if (r == CAIRN_EUNREACHABLE || r == CAIRN_ETLS || r == CAIRN_EIO)
            rp->stop_code = r;
    }
    json_decref(rec);
    return CAIRN_OK;
}

static void cl_truncate(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (truncate(path, 0) < 0 && errno != ENOENT)
        return;
}

/* Every artifact record is delivered: remove their copies. */
static void cl_clear_artifacts(cl_sync *s)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/artifacts", s->dir);
    DIR *d = opendir(path);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char f[4400];
        snprintf(f, sizeof f, "%s/%s", path, e->d_name);
        unlink(f);
    }
    closedir(d);
}

int cairn_spool_sync(cairn_client *c, const char *spool_dir, cairn_sync_stats *stats)
{
    cairn_sync_stats local_stats;
    if (stats == NULL)
        stats = &local_stats;
    memset(stats, 0, sizeof *stats);
    if (c == NULL)
        return cl_fail(CAIRN_EINVAL, "missing client");
    const char *dir = spool_dir ? spool_dir : c->spool_dir;
    if (access(dir, F_OK) < 0)
        return cl_fail(CAIRN_EIO, "no spool directory %s: %s", dir, strerror(errno));
    int fd = cl_spool_lock(dir);
    if (fd < 0)
        return cairn_error_last()->code;
    cl_sync s = {c, dir, json_object(), json_object()};
    cl_replay rp = {&s, stats, 0, 0, 0, "", ""};
    int r = cl_read_lines(dir, "done.log", cl_load_done, &s);
    if (r == CAIRN_OK)
        r = cl_read_lines(dir, "ids.map", cl_load_id, &s);
    if (r == CAIRN_OK)
        r = cl_read_lines(dir, "journal.jsonl", cl_replay_line, &rp);
    if (r == CAIRN_OK && rp.first_code == 0) {
        cl_truncate(dir, "journal.jsonl");
        cl_truncate(dir, "done.log");
        cl_clear_artifacts(&s);
    }
    json_decref(s.done);
    json_decref(s.ids);
    cl_spool_unlock(fd);
    if (r == CAIRN_OK && rp.first_code < 0) {
        char msg[1400];
        snprintf(msg, sizeof msg, "%s; %d record(s) kept in %s for a later sync", rp.first_msg,
                 stats->records_failed, dir);
        r = rp.first_error_code[0] ? cl_fail_server(rp.first_http, rp.first_error_code, msg)
                                   : cl_fail(rp.first_code, "%s", msg);
    }
    return r;
}
