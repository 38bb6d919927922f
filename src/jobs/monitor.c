/* monitor.c - the job service's life (start, stop) and its monitor: one
 * thread that, every poll_ms, asks the backend of each job that has not
 * ended for its state and moves the job's run along (launch.c's job_apply).
 *
 * Slurm jobs are first looked at all together (one squeue per round); only
 * those whose state moved are polled one by one, for their exit code and
 * reason. The order is apply, then record: a server killed in between
 * polls the job again after its restart and applies the same state once
 * more, which job_apply makes harmless. A poll that fails (squeue unreachable for a
 * moment) is logged and retried next round; it never ends a job. */
#include "service_int.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../util/misc.h"
#include "../util/path.h"
#include "backend.h"
#include "launch.h"

/* Sets in *f (whose job_id the caller gives) the fields that change with a
 * new status; returns their STORE_JOB_* mask. The reason stays now's. */
static unsigned job_monitor_fields(const store_job *job, const job_status *now, store_job *f)
{
    unsigned fields = STORE_JOB_STATE | STORE_JOB_REASON | STORE_JOB_EXIT_CODE;
    int64_t t = time_now_ms();
    f->state = now->state;
    f->reason = (char *)now->reason;
    f->exit_code = now->exit_code;
    if (now->state != JOB_PENDING && job->start_time == 0) {
        f->start_time = t;
        fields |= STORE_JOB_START_TIME;
    }
    if (job_state_terminal(now->state)) {
        f->end_time = t;
        fields |= STORE_JOB_END_TIME;
    }
    return fields;
}

static void job_monitor_one(job_service *s, const store_job *job)
{
    const char *id = job->job_id, *bid = job->backend_job_id;
    job_status now;
    cerr e;
    cerr_clear(&e);
    if (bid[0] == '\0' || !job_service_reaches(s, job))
        return;
    if (job_backend_poll(job->backend, bid, job->workdir, &now, &e) < 0) {
        log_msg(LOG_WARN, "job %s: polling %s job %s: %s", id, backend_kind_name(job->backend),
                bid, e.msg);
        return;
    }
    if (now.state == job->state && strcmp(now.reason, job->reason) == 0 &&
        now.exit_code == job->exit_code)
        return;
    sbuf out = SBUF_INIT;
    sbuf_printf(&out, "%s/output.log", job->workdir);
    if (job->run_id[0] &&
        job_apply(&s->tracker, job->run_id, job->state, &now, sbuf_str(&out), &e) < 0)
        log_msg(LOG_WARN, "job %s: updating run %s: %s", id, job->run_id, e.msg);
    else {
        store_job f = {.job_id = job->job_id};
        unsigned fields = job_monitor_fields(job, &now, &f);
        if (store_job_update(s->st, &f, fields, &e) < 0)
            log_msg(LOG_WARN, "job %s: recording %s: %s", id, job_state_name(now.state), e.msg);
        else if (now.state != job->state)
            log_msg(LOG_INFO, "job %s (%s %s): %s%s%s", id, backend_kind_name(job->backend), bid,
                    job_state_name(now.state), now.reason[0] ? ", " : "", now.reason);
    }
    sbuf_free(&out);
}

/* The jobs that have not ended; *n 0 when they cannot be listed. */
static store_job *job_monitor_active(job_service *s, size_t *n)
{
    store_job_query q = {NULL, NULL, true, 0, NULL};
    store_job *jobs = NULL;
    char *next = NULL;
    cerr e;
    if (store_job_list(s->st, &q, &jobs, n, &next, &e) < 0) {
        log_msg(LOG_WARN, "job monitor: listing jobs: %s", e.msg);
        *n = 0;
        return NULL;
    }
    free(next);
    return jobs;
}

/* A job recorded without a backend id this long ago is no submission in
 * progress (sbatch is given at most a minute) but one a killed server left
 * behind. */
#define JOB_ORPHAN_MS 120000

/* The run a job's launch created, by its cairn.job.id tag: the job's
 * record learns its run id only once the launch is over. Heap, or NULL. */
static char *job_monitor_find_run(job_service *s, const store_job *job)
{
    const char *exp = job->experiment_id;
    char filter[128];
    snprintf(filter, sizeof filter, "tags.`cairn.job.id` = '%s'", job->job_id);
    store_search q = {&exp, 1, filter, NULL, 0, VIEW_ALL, 1, NULL};
    json_t *runs = NULL;
    char *next = NULL, *id = NULL;
    cerr e;
    if (store_run_search(s->st, &q, &runs, &next, &e) == 0 && json_array_size(runs) == 1) {
        json_t *info = json_object_get(json_array_get(runs, 0), "info");
        const char *rid = json_string_value(json_object_get(info, "run_id"));
        id = strdup(rid ? rid : "");
    }
    json_decref(runs);
    free(next);
    return id;
}

/* Takes up a job whose server stopped during its submission: the backend
 * may have it after all (Slurm, by its name), then it is followed as any
 * other; otherwise it will never run, and is LOST. */
static void job_monitor_orphan(job_service *s, const store_job *job)
{
    const char *id = job->job_id;
    char *run_id = job->run_id[0] ? strdup(job->run_id) : job_monitor_find_run(s, job);
    char *bid = NULL;
    cerr e;
    int found = run_id ? job_backend_find(job->backend, id, &bid, &e) : 0;
    store_job f = {.job_id = job->job_id};
    unsigned fields = 0;
    job_status lost = {JOB_LOST, -1, "the server stopped while the job was being submitted"};
    if (found < 0) {
        log_msg(LOG_WARN, "job %s: looking for it after a restart: %s", id, e.msg);
    } else if (found == 1) {
        store_kv tag = {"cairn.job.backend_id", bid};
        if (s->tracker.run_log(s->tracker.ctx, run_id, NULL, 0, &tag, 1, &e) < 0)
            log_msg(LOG_WARN, "job %s: tagging run %s: %s", id, run_id, e.msg);
        f.run_id = run_id;
        f.backend_job_id = bid;
        fields = STORE_JOB_RUN_ID | STORE_JOB_BACKEND_JOB_ID;
        log_msg(LOG_INFO, "job %s: found again as %s job %s", id, backend_kind_name(job->backend),
                bid);
    } else {
        if (run_id && job_apply(&s->tracker, run_id, JOB_PENDING, &lost, "", &e) < 0)
            log_msg(LOG_WARN, "job %s: updating run %s: %s", id, run_id, e.msg);
        fields = job_monitor_fields(job, &lost, &f) | STORE_JOB_RUN_ID;
        f.run_id = run_id ? run_id : "";
    }
    if (fields && store_job_update(s->st, &f, fields, &e) < 0)
        log_msg(LOG_WARN, "job %s: %s", id, e.msg);
    free(bid);
    free(run_id);
}

static bool job_monitor_is_orphan(const job_service *s, const store_job *job, bool starting,
                                  int64_t now)
{
    return job->backend_job_id[0] == '\0' && strcmp(job->host, s->host) == 0 &&
           (starting || now - job->submit_time > JOB_ORPHAN_MS);
}

/* At start every job of this machine without a backend id is an orphan
 * (no submission can be in progress yet); later rounds take up those old
 * enough (job_monitor_round). */
static void job_monitor_orphans(job_service *s)
{
    size_t n;
    store_job *jobs = job_monitor_active(s, &n);
    int64_t now = time_now_ms();
    for (size_t i = 0; i < n; i++)
        if (job_monitor_is_orphan(s, &jobs[i], true, now))
            job_monitor_orphan(s, &jobs[i]);
    store_jobs_free(jobs, n);
}

/* A job submitted within this long and still PENDING is polled every
 * JOB_MONITOR_FAST_MS rather than every poll_ms: the moment it starts is
 * what its submitter is waiting to see. */
#define JOB_MONITOR_YOUNG_MS 10000
#define JOB_MONITOR_FAST_MS 100

static bool job_monitor_young(const store_job *job, int64_t now)
{
    return job->state == JOB_PENDING && now - job->submit_time < JOB_MONITOR_YOUNG_MS;
}

/* The Slurm jobs of a round in one squeue: peek[i] is the state of
 * jobs[i] if it is a Slurm job squeue lists, else -1. Without the answer
 * every job is polled on its own. */
static void job_monitor_peek(const store_job *jobs, size_t n, int *peek)
{
    size_t m = 0;
    const char **ids = calloc(n + 1, sizeof *ids);
    size_t *at = calloc(n + 1, sizeof *at);
    for (size_t i = 0; i < n; i++) {
        peek[i] = -1;
        if (jobs[i].backend == BACKEND_SLURM && jobs[i].backend_job_id[0]) {
            at[m] = i;
            ids[m++] = jobs[i].backend_job_id;
        }
    }
    int *st = calloc(m + 1, sizeof *st);
    cerr e;
    if (m > 0 && job_backend_peek(BACKEND_SLURM, ids, m, st, &e) < 0)
        log_msg(LOG_WARN, "job monitor: squeue for %zu jobs: %s (polling each)", m, e.msg);
    else
        for (size_t k = 0; k < m; k++)
            peek[at[k]] = st[k];
    free(st);
    free(at);
    free(ids);
}

/* Nothing to do for a job the peek shows in the state already recorded. */
static bool job_monitor_unchanged(const store_job *job, int peeked)
{
    return peeked >= 0 && (int)job->state == peeked && !job_state_terminal(job->state);
}

/* One round: every job when full, else only the young ones. Returns
 * whether a young job is still waiting to start. */
static bool job_monitor_round(job_service *s, bool full)
{
    size_t n;
    store_job *jobs = job_monitor_active(s, &n);
    int64_t now = time_now_ms();
    bool young = false;
    int *peek = calloc(n + 1, sizeof *peek);
    if (full)
        job_monitor_peek(jobs, n, peek);
    for (size_t i = 0; i < n; i++) {
        bool y = job_monitor_young(&jobs[i], now);
        if (full && job_monitor_is_orphan(s, &jobs[i], false, now))
            job_monitor_orphan(s, &jobs[i]);
        else if (y || (full && !job_monitor_unchanged(&jobs[i], peek[i])))
            job_monitor_one(s, &jobs[i]);
        young = young || y;
    }
    free(peek);
    store_jobs_free(jobs, n);
    return young;
}

static void job_monitor_deadline(struct timespec *t, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, t);
    t->tv_sec += ms / 1000;
    t->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

static void *job_monitor_main(void *arg)
{
    job_service *s = arg;
    int64_t last_full = 0;
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        s->kicked = false;
        pthread_mutex_unlock(&s->mu);
        int64_t now = time_now_ms();
        bool full = now - last_full >= s->poll_ms;
        if (full)
            last_full = now;
        bool young = job_monitor_round(s, full);
        int64_t wait = s->poll_ms - (time_now_ms() - last_full);
        if (young && wait > JOB_MONITOR_FAST_MS)
            wait = JOB_MONITOR_FAST_MS;
        struct timespec until;
        job_monitor_deadline(&until, wait > 0 ? wait : 0);
        pthread_mutex_lock(&s->mu);
        while (!s->stopping && !s->kicked &&
               pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

void job_service_kick(job_service *s)
{
    pthread_mutex_lock(&s->mu);
    s->kicked = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

bool job_service_reaches(const job_service *s, const store_job *job)
{
    return job->backend != BACKEND_LOCAL || strcmp(job->host, s->host) == 0;
}

/* ---- the service's life ---- */

int job_service_start(const job_service_config *cfg, job_service **out, cerr *e)
{
    *out = NULL;
    if (path_mkdirs(cfg->jobs_dir, 0755, e) < 0)
        return -1;
    char *abs = realpath(cfg->jobs_dir, NULL);
    if (abs == NULL)
        return cerr_set(e, CERR_INTERNAL_ERROR, "%s: %s", cfg->jobs_dir, strerror(errno));
    job_service *s = calloc(1, sizeof *s);
    s->st = cfg->st;
    s->jobs_dir = abs;
    s->poll_ms = cfg->poll_ms > 0 ? cfg->poll_ms : JOB_SERVICE_POLL_MS;
    s->tctx = (tracker_store_ctx){s->st, cfg->artifacts};
    s->tracker = tracker_store_make(&s->tctx);
    s->tracking_uri = strdup("http://127.0.0.1:5000");
    if (gethostname(s->host, sizeof s->host) != 0)
        snprintf(s->host, sizeof s->host, "localhost");
    s->host[sizeof s->host - 1] = '\0';
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    job_monitor_orphans(s);
    if (pthread_create(&s->thread, NULL, job_monitor_main, s) != 0) {
        job_service_stop(s);
        return cerr_set(e, CERR_INTERNAL_ERROR, "cannot start the job monitor");
    }
    s->running = true;
    *out = s;
    return 0;
}

void job_service_stop(job_service *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (s->running)
        pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s->tracking_uri);
    free(s->jobs_dir);
    free(s);
}

void job_service_set_tracking_uri(job_service *s, const char *uri)
{
    pthread_mutex_lock(&s->mu);
    free(s->tracking_uri);
    s->tracking_uri = strdup(uri);
    pthread_mutex_unlock(&s->mu);
}

char *job_service_tracking_uri(job_service *s)
{
    pthread_mutex_lock(&s->mu);
    char *u = strdup(s->tracking_uri);
    pthread_mutex_unlock(&s->mu);
    return u;
}

static int job_service_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void job_service_rmtree(const char *dir)
{
    nftw(dir, job_service_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
