/* tracker_store.c - the job tracker over the store: runs are created and
 * updated in the server's own database, and a job's output is copied into
 * the run's artifact folder on this machine (artifacts/locate.c decides
 * where an artifact_uri lives). */
#include "tracker_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../artifacts/locate.h"
#include "../util/sbuf.h"

static int tracker_store_run_create(void *ctx, const char *experiment_id, const char *run_name,
                                    const char *user, int64_t start_time, const store_kv *tags,
                                    size_t ntags, char **run_id, cerr *e)
{
    tracker_store_ctx *c = ctx;
    store_run_create_req req = {experiment_id, user, run_name, start_time, tags, ntags};
    json_t *run = NULL;
    *run_id = NULL;
    if (store_run_create(c->st, &req, &run, e) < 0)
        return -1;
    const char *id = json_string_value(json_object_get(json_object_get(run, "info"), "run_id"));
    *run_id = id ? strdup(id) : NULL;
    json_decref(run);
    if (*run_id == NULL)
        return cerr_set(e, CERR_INTERNAL_ERROR, "the new run has no id");
    return 0;
}

static int tracker_store_run_log(void *ctx, const char *run_id, const store_kv *params,
                                 size_t nparams, const store_kv *tags, size_t ntags, cerr *e)
{
    tracker_store_ctx *c = ctx;
    return store_run_log_batch(c->st, run_id, NULL, 0, params, nparams, tags, ntags, e);
}

static int tracker_store_run_status(void *ctx, const char *run_id, const char *status,
                                    int64_t end_time, cerr *e)
{
    tracker_store_ctx *c = ctx;
    json_t *info = NULL;
    int rc = store_run_update(c->st, run_id, status, end_time ? &end_time : NULL, NULL, &info, e);
    json_decref(info);
    return rc;
}

/* Streams the file at fd into w (on the monitor's thread, which may
 * wait for the store): its first size bytes (the size w was opened with),
 * or all of it when size < 0. */
static int tracker_store_copy(int fd, int64_t size, artifacts_writer *w, cerr *e)
{
    char buf[65536];
    uint64_t left = size < 0 ? UINT64_MAX : (uint64_t)size;
    while (left > 0) {
        ssize_t n = read(fd, buf, left < sizeof buf ? (size_t)left : sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return cerr_set(e, CERR_INTERNAL_ERROR, "reading the job's output: %s",
                            strerror(errno));
        if (n == 0)
            return 0;
        if (artifacts_writer_write_all(w, buf, (size_t)n, e) < 0)
            return -1;
        left -= (uint64_t)n;
    }
    return 0;
}

static int tracker_store_artifact_put(void *ctx, const char *run_id, const char *path,
                                      const char *artifact_path, cerr *e)
{
    tracker_store_ctx *c = ctx;
    char *uri = NULL;
    artifacts_loc loc = ARTIFACTS_LOC_INIT;
    sbuf rel = SBUF_INIT;
    artifacts_writer *w = NULL;
    int fd = -1;
    int rc = store_run_artifact_uri(c->st, run_id, &uri, e);
    if (rc == 0)
        rc = artifacts_locate(c->artifacts, uri, "Storing a job's output", &loc, e);
    if (rc == 0) {
        artifacts_loc_path(&loc, artifact_path, &rel);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            rc = cerr_set(e, CERR_INTERNAL_ERROR, "%s: %s", path, strerror(errno));
    }
    /* The size lets an S3 store stream the file in large parts. The job
     * has ended, so the file is complete: what it has at fstat is stored
     * (a file cut shorter meanwhile fails the commit). */
    struct stat st;
    int64_t size = -1;
    if (rc == 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        size = (int64_t)st.st_size;
    if (rc == 0)
        rc = artifacts_writer_open_sized(loc.store, sbuf_str(&rel), size, &w, e);
    if (rc == 0 && (rc = tracker_store_copy(fd, size, w, e)) == 0)
        rc = artifacts_writer_commit(w, e);
    else
        artifacts_writer_abort(w);
    if (fd >= 0)
        close(fd);
    free(uri);
    sbuf_free(&rel);
    artifacts_loc_free(&loc);
    return rc;
}

job_tracker tracker_store_make(tracker_store_ctx *c)
{
    job_tracker t = {c, tracker_store_run_create, tracker_store_run_log, tracker_store_run_status,
                     tracker_store_artifact_put};
    return t;
}
