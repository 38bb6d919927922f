/* test_launch.c - the job life cycle of launch.c over a recording tracker
 * (a test double of the job_tracker table that keeps every call) and the
 * real local backend: the tags and parameters of a launched run, a hostile
 * parameter that reaches the job literally, the job's environment, failures
 * that must create no run, a failed submission, and job_apply's status
 * transitions, terminal tags, output artifact and idempotence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jobs/launch.h"
#include "util/sbuf.h"

/* ---- the recording tracker ---- */

#define REC_MAX 64

typedef struct {
    char *key;
    char *value;
} rec_kv;

typedef struct {
    int creates;
    char experiment_id[64];
    char run_name[64];
    char user[64];
    rec_kv params[REC_MAX];
    size_t nparams;
    rec_kv tags[REC_MAX]; /* the latest value of each key */
    size_t ntags;
    char statuses[REC_MAX][16];
    int64_t end_times[REC_MAX];
    size_t nstatuses;
    char artifacts[REC_MAX][64]; /* artifact path */
    char artifact_text[REC_MAX][256];
    size_t nartifacts;
    int calls;
    int fail_create;
    const char *fail_tag; /* run_log fails for a tag with this key */
} recorder;

static void rec_set(rec_kv *list, size_t *n, const char *key, const char *value)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(list[i].key, key) == 0) {
            free(list[i].value);
            list[i].value = strdup(value);
            return;
        }
    assert_true(*n < REC_MAX);
    list[*n].key = strdup(key);
    list[*n].value = strdup(value);
    (*n)++;
}

static const char *rec_get(const rec_kv *list, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].key, key) == 0)
            return list[i].value;
    return NULL;
}

static void rec_free(recorder *r)
{
    for (size_t i = 0; i < r->nparams; i++) {
        free(r->params[i].key);
        free(r->params[i].value);
    }
    for (size_t i = 0; i < r->ntags; i++) {
        free(r->tags[i].key);
        free(r->tags[i].value);
    }
    memset(r, 0, sizeof *r);
}

static int rec_create(void *ctx, const char *experiment_id, const char *run_name, const char *user,
                      int64_t start_time, const store_kv *tags, size_t ntags, char **run_id, cerr *e)
{
    recorder *r = ctx;
    r->calls++;
    if (r->fail_create)
        return cerr_set(e, CERR_INTERNAL_ERROR, "tracker down");
    assert_true(start_time > 0);
    r->creates++;
    snprintf(r->experiment_id, sizeof r->experiment_id, "%s", experiment_id);
    snprintf(r->run_name, sizeof r->run_name, "%s", run_name ? run_name : "");
    snprintf(r->user, sizeof r->user, "%s", user ? user : "");
    for (size_t i = 0; i < ntags; i++)
        rec_set(r->tags, &r->ntags, tags[i].key, tags[i].value);
    *run_id = strdup("0123456789abcdef0123456789abcdef");
    return 0;
}

static int rec_log(void *ctx, const char *run_id, const store_kv *params, size_t nparams,
                   const store_kv *tags, size_t ntags, cerr *e)
{
    recorder *r = ctx;
    r->calls++;
    assert_string_equal(run_id, "0123456789abcdef0123456789abcdef");
    for (size_t i = 0; i < ntags; i++)
        if (r->fail_tag != NULL && strcmp(tags[i].key, r->fail_tag) == 0)
            return cerr_set(e, CERR_TEMPORARILY_UNAVAILABLE, "tracker gone");
    for (size_t i = 0; i < nparams; i++)
        rec_set(r->params, &r->nparams, params[i].key, params[i].value);
    for (size_t i = 0; i < ntags; i++)
        rec_set(r->tags, &r->ntags, tags[i].key, tags[i].value);
    return 0;
}

static int rec_status(void *ctx, const char *run_id, const char *status, int64_t end_time, cerr *e)
{
    (void)run_id;
    (void)e;
    recorder *r = ctx;
    r->calls++;
    assert_true(r->nstatuses < REC_MAX);
    snprintf(r->statuses[r->nstatuses], sizeof r->statuses[0], "%s", status);
    r->end_times[r->nstatuses++] = end_time;
    return 0;
}

static int rec_artifact(void *ctx, const char *run_id, const char *path, const char *artifact_path,
                        cerr *e)
{
    (void)run_id;
    (void)e;
    recorder *r = ctx;
    r->calls++;
    assert_true(r->nartifacts < REC_MAX);
    snprintf(r->artifacts[r->nartifacts], sizeof r->artifacts[0], "%s", artifact_path);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(r->artifact_text[r->nartifacts], 1, sizeof r->artifact_text[0] - 1, f);
    r->artifact_text[r->nartifacts][n] = '\0';
    fclose(f);
    r->nartifacts++;
    return 0;
}

static job_tracker rec_tracker(recorder *r)
{
    return (job_tracker){r, rec_create, rec_log, rec_status, rec_artifact};
}

static const char *last_status(const recorder *r)
{
    return r->nstatuses ? r->statuses[r->nstatuses - 1] : "";
}

/* ---- a project in a temporary directory ---- */

typedef struct {
    char dir[64];      /* the job's directory */
    char project[96];  /* dir/project */
} scratch;

static void write_file(const char *dir, const char *name, const char *text)
{
    sbuf p = SBUF_INIT;
    sbuf_printf(&p, "%s/%s", dir, name);
    FILE *f = fopen(sbuf_str(&p), "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    sbuf_free(&p);
}

static char *read_file(const char *dir, const char *name)
{
    sbuf p = SBUF_INIT, out = SBUF_INIT;
    sbuf_printf(&p, "%s/%s", dir, name);
    FILE *f = fopen(sbuf_str(&p), "r");
    sbuf_free(&p);
    if (f == NULL)
        return NULL;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        sbuf_append(&out, buf, n);
    fclose(f);
    return sbuf_detach(&out);
}

static void scratch_make(scratch *s, const char *mlproject)
{
    snprintf(s->dir, sizeof s->dir, "/tmp/cairn-launch-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    snprintf(s->project, sizeof s->project, "%s/project", s->dir);
    assert_int_equal(mkdir(s->project, 0755), 0);
    write_file(s->project, "MLproject", mlproject);
}

static void scratch_rm(scratch *s)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
    assert_int_equal(system(cmd), 0);
}

static job_launch_req base_req(const scratch *s, const char *const *params, size_t nparams)
{
    return (job_launch_req){
        .job_id = "fedcba9876543210fedcba9876543210",
        .workdir = s->dir,
        .project_dir = s->project,
        .params = params,
        .nparams = nparams,
        .experiment_id = "7",
        .user = "alice",
        .source_name = s->project,
        .tracking_uri = "http://127.0.0.1:1",
    };
}

/* Polls the local job until it ends (a liveness bound, not a timing check). */
static job_status wait_end(const job_launched *l, const char *workdir)
{
    job_status st;
    for (int i = 0; i < 6000; i++) {
        cerr e;
        assert_int_equal(job_backend_poll(BACKEND_LOCAL, l->backend_id, workdir, &st, &e), 0);
        if (job_state_terminal(st.state))
            return st;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("the job did not end within a minute");
    return st;
}

/* ---- job_launch ---- */

static const char *const wine_yaml =
    "name: wine\n"
    "entry_points:\n"
    "  main:\n"
    "    parameters:\n"
    "      alpha: {type: float, default: 0.5}\n"
    "      note: {type: string, default: plain}\n"
    "      need: string\n"
    "    command: \"printf '%s' {note} > note.txt; env > env.txt; echo alpha={alpha}\"\n";

static void test_launch_tags_params_env(void **state)
{
    (void)state;
    scratch s;
    scratch_make(&s, wine_yaml);
    const char *params[] = {"need=x", "note='; rm -rf / #", "extra=1"};
    const char *env[] = {"MLFLOW_TRACKING_TOKEN=tok", "MLFLOW_RUN_ID=not-this-one"};
    job_launch_req req = base_req(&s, params, 3);
    req.run_name = "wine-run";
    req.git_commit = "abc123";
    req.env = env;
    req.nenv = 2;
    recorder r = {0};
    job_tracker t = rec_tracker(&r);
    job_launched l;
    cerr e;
    assert_int_equal(job_launch(&t, &req, &l, &e), 0);
    assert_int_equal(r.creates, 1);
    assert_string_equal(r.experiment_id, "7");
    assert_string_equal(r.run_name, "wine-run");
    assert_string_equal(r.user, "alice");
    assert_string_equal(rec_get(r.tags, r.ntags, "mlflow.source.type"), "PROJECT");
    assert_string_equal(rec_get(r.tags, r.ntags, "mlflow.source.name"), s.project);
    assert_string_equal(rec_get(r.tags, r.ntags, "mlflow.project.entryPoint"), "main");
    assert_string_equal(rec_get(r.tags, r.ntags, "mlflow.project.backend"), "local");
    assert_string_equal(rec_get(r.tags, r.ntags, "mlflow.user"), "alice");
    assert_string_equal(rec_get(r.tags, r.ntags, "mlflow.runName"), "wine-run");
    assert_string_equal(rec_get(r.tags, r.ntags, "mlflow.source.git.commit"), "abc123");
    assert_string_equal(rec_get(r.tags, r.ntags, "cairn.job.id"), req.job_id);
    assert_string_equal(rec_get(r.tags, r.ntags, "cairn.job.backend_id"), l.backend_id);
    assert_string_equal(last_status(&r), "SCHEDULED");
    /* params: declared ones (defaults filled) and the extra one, literally */
    assert_int_equal(r.nparams, 4);
    assert_string_equal(rec_get(r.params, r.nparams, "alpha"), "0.5");
    assert_string_equal(rec_get(r.params, r.nparams, "note"), "'; rm -rf / #");
    assert_string_equal(rec_get(r.params, r.nparams, "need"), "x");
    assert_string_equal(rec_get(r.params, r.nparams, "extra"), "1");
    assert_string_equal(l.entry_point, "main");
    assert_non_null(strstr(l.command, "''\"'\"'; rm -rf / #'"));
    assert_non_null(strstr(l.command, "--extra 1"));
    char want[128];
    snprintf(want, sizeof want, "%s/output.log", s.dir);
    assert_string_equal(l.output_path, want);

    job_status st = wait_end(&l, s.dir);
    assert_int_equal(st.state, JOB_COMPLETED);
    char *note = read_file(s.project, "note.txt"), *envtxt = read_file(s.project, "env.txt");
    char *out = read_file(s.dir, "output.log");
    assert_string_equal(note, "'; rm -rf / #");
    assert_non_null(strstr(envtxt, "\nMLFLOW_RUN_ID=0123456789abcdef0123456789abcdef\n"));
    assert_null(strstr(envtxt, "not-this-one"));
    assert_non_null(strstr(envtxt, "\nMLFLOW_TRACKING_URI=http://127.0.0.1:1\n"));
    assert_non_null(strstr(envtxt, "\nMLFLOW_EXPERIMENT_ID=7\n"));
    assert_non_null(strstr(envtxt, "\nMLFLOW_TRACKING_TOKEN=tok\n"));
    assert_non_null(strstr(out, "alpha=0.5 --extra 1\n")); /* undeclared params are appended */
    free(note);
    free(envtxt);
    free(out);
    job_launched_free(&l);
    rec_free(&r);
    scratch_rm(&s);
}

/* Each of these fails before any run exists. */
static void launch_refused(const char *yaml, const char *entry, const char *param, const char *msg)
{
    scratch s;
    scratch_make(&s, yaml);
    const char *params[] = {param};
    job_launch_req req = base_req(&s, params, param ? 1 : 0);
    req.entry_point = entry;
    recorder r = {0};
    job_tracker t = rec_tracker(&r);
    job_launched l;
    cerr e;
    assert_int_equal(job_launch(&t, &req, &l, &e), -1);
    assert_int_equal(e.code, CERR_INVALID_PARAMETER_VALUE);
    if (strstr(e.msg, msg) == NULL)
        fail_msg("error '%s' does not say '%s'", e.msg, msg);
    assert_int_equal(r.calls, 0);
    assert_null(l.run_id);
    job_launched_free(&l);
    scratch_rm(&s);
}

static void test_launch_refused_no_run(void **state)
{
    (void)state;
    launch_refused(wine_yaml, "nope", "need=1", "entry point 'nope' not found");
    launch_refused(wine_yaml, NULL, "alpha=abc", "alpha");
    launch_refused(wine_yaml, NULL, NULL, "need");
    launch_refused("entry_points: [", NULL, NULL, "bad YAML");
}

/* MLflow's rules (store/validate.h) for the run's parameters and tags:
 * job_launch and job_launch_check refuse with log-param's and set-tag's
 * messages, and no run is made. */
static void rules_refused(const char *param, const char *run_name, const char *user,
                          const char *msg)
{
    scratch s;
    scratch_make(&s, wine_yaml);
    const char *params[] = {"need=1", param};
    job_launch_req req = base_req(&s, params, param ? 2 : 1);
    req.run_name = run_name;
    if (user)
        req.user = user;
    recorder r = {0};
    job_tracker t = rec_tracker(&r);
    job_launched l;
    cerr e;
    for (int check = 0; check < 2; check++) {
        int rc = check ? job_launch_check(&req, &e) : job_launch(&t, &req, &l, &e);
        assert_int_equal(rc, -1);
        assert_int_equal(e.code, CERR_INVALID_PARAMETER_VALUE);
        if (strstr(e.msg, msg) == NULL)
            fail_msg("error '%.200s' does not say '%s'", e.msg, msg);
    }
    assert_int_equal(r.calls, 0);
    assert_null(l.run_id);
    job_launched_free(&l);
    scratch_rm(&s);
}

static void test_launch_mlflow_rules(void **state)
{
    (void)state;
    char *big = malloc(6002);
    memset(big, 'v', 6001);
    big[6001] = '\0';
    sbuf p = SBUF_INIT;
    sbuf_printf(&p, "note=%s", big);
    rules_refused(sbuf_str(&p), NULL, NULL,
                  "had length 6001, which exceeded length limit of 6000");
    big[5001] = '\0';
    rules_refused(NULL, big, NULL, "Tag value 'vvv");
    rules_refused(NULL, NULL, big, "had length 5001, which exceeded length limit of 5000");
    sbuf_free(&p);
    free(big);

    /* Within the limits the check passes and makes nothing. */
    scratch s;
    scratch_make(&s, wine_yaml);
    const char *params[] = {"need=1"};
    job_launch_req req = base_req(&s, params, 1);
    cerr e;
    assert_int_equal(job_launch_check(&req, &e), 0);
    scratch_rm(&s);
}

/* A submission that fails leaves the run FAILED with the reason. */
static void test_launch_submit_fails(void **state)
{
    (void)state;
    scratch s;
    scratch_make(&s, wine_yaml);
    const char *params[] = {"need=1"};
    job_launch_req req = base_req(&s, params, 1);
    char missing[128];
    snprintf(missing, sizeof missing, "%s/no/such/dir", s.dir);
    req.workdir = missing;
    recorder r = {0};
    job_tracker t = rec_tracker(&r);
    job_launched l;
    cerr e;
    assert_int_equal(job_launch(&t, &req, &l, &e), -1);
    assert_int_equal(r.creates, 1);
    assert_non_null(l.run_id);
    assert_string_equal(last_status(&r), "FAILED");
    assert_true(r.end_times[r.nstatuses - 1] > 0);
    assert_string_equal(rec_get(r.tags, r.ntags, "cairn.job.reason"), e.msg);
    assert_null(rec_get(r.tags, r.ntags, "cairn.job.backend_id"));
    job_launched_free(&l);
    rec_free(&r);
    scratch_rm(&s);
}

/* A tracker that cannot create the run: nothing is submitted. */
static void test_launch_tracker_down(void **state)
{
    (void)state;
    scratch s;
    scratch_make(&s, wine_yaml);
    const char *params[] = {"need=1"};
    job_launch_req req = base_req(&s, params, 1);
    recorder r = {.fail_create = 1};
    job_tracker t = rec_tracker(&r);
    job_launched l;
    cerr e;
    assert_int_equal(job_launch(&t, &req, &l, &e), -1);
    assert_string_equal(e.msg, "tracker down");
    assert_null(l.backend_id);
    char *out = read_file(s.dir, "output.log");
    assert_null(out);
    job_launched_free(&l);
    scratch_rm(&s);
}

/* Submitted, but the run cannot take the backend id: the job is stopped
 * rather than left running untracked. */
static void test_launch_untracked_job_is_cancelled(void **state)
{
    (void)state;
    scratch s;
    scratch_make(&s, "entry_points:\n  main:\n    command: \"sleep 60\"\n");
    job_launch_req req = base_req(&s, NULL, 0);
    recorder r = {.fail_tag = "cairn.job.backend_id"};
    job_tracker t = rec_tracker(&r);
    job_launched l;
    cerr e;
    assert_int_equal(job_launch(&t, &req, &l, &e), -1);
    assert_string_equal(e.msg, "tracker gone");
    assert_non_null(l.backend_id);
    assert_string_equal(last_status(&r), "FAILED");
    assert_string_equal(rec_get(r.tags, r.ntags, "cairn.job.reason"), "tracker gone");
    job_status st = wait_end(&l, s.dir);
    assert_int_equal(st.state, JOB_CANCELLED);
    job_launched_free(&l);
    rec_free(&r);
    scratch_rm(&s);
}

/* ---- job_apply ---- */

static job_status status_of(job_state st, int exit_code, const char *reason)
{
    job_status s = {.state = st, .exit_code = exit_code};
    snprintf(s.reason, sizeof s.reason, "%s", reason);
    return s;
}

static void test_apply_transitions(void **state)
{
    (void)state;
    recorder r = {0};
    job_tracker t = rec_tracker(&r);
    const char *id = "0123456789abcdef0123456789abcdef";
    cerr e;
    job_status pending = status_of(JOB_PENDING, -1, "Resources");
    job_status running = status_of(JOB_RUNNING, -1, "");
    assert_int_equal(job_apply(&t, id, JOB_PENDING, &pending, "/nonexistent", &e), 0);
    assert_int_equal(r.calls, 0);
    assert_int_equal(job_apply(&t, id, JOB_PENDING, &running, "/nonexistent", &e), 0);
    assert_int_equal(r.nstatuses, 1);
    assert_string_equal(last_status(&r), "RUNNING");
    assert_int_equal(r.end_times[0], 0);
    assert_int_equal(job_apply(&t, id, JOB_RUNNING, &running, "/nonexistent", &e), 0);
    assert_int_equal(r.calls, 1);
    rec_free(&r);
}

static void apply_terminal(job_status st, const char *status, const char *reason, const char *code)
{
    scratch s;
    scratch_make(&s, "name: x\n");
    write_file(s.dir, "output.log", "hello\nworld\n");
    char out[128];
    snprintf(out, sizeof out, "%s/output.log", s.dir);
    recorder r = {0};
    job_tracker t = rec_tracker(&r);
    const char *id = "0123456789abcdef0123456789abcdef";
    cerr e;
    for (int round = 0; round < 2; round++) { /* the second time changes nothing */
        assert_int_equal(job_apply(&t, id, JOB_RUNNING, &st, out, &e), 0);
        assert_string_equal(last_status(&r), status);
        assert_true(r.end_times[r.nstatuses - 1] > 0);
        assert_string_equal(rec_get(r.tags, r.ntags, "cairn.job.state"), job_state_name(st.state));
        const char *got = rec_get(r.tags, r.ntags, "cairn.job.reason");
        if (reason == NULL)
            assert_null(got);
        else
            assert_string_equal(got, reason);
        got = rec_get(r.tags, r.ntags, "cairn.job.exit_code");
        if (code == NULL)
            assert_null(got);
        else
            assert_string_equal(got, code);
        assert_string_equal(r.artifacts[r.nartifacts - 1], JOB_OUTPUT_ARTIFACT);
        assert_string_equal(r.artifact_text[r.nartifacts - 1], "hello\nworld\n");
        assert_int_equal(r.ntags, reason ? (code ? 3 : 2) : (code ? 2 : 1));
    }
    /* recorded already: applying the terminal state over itself does nothing */
    int calls = r.calls;
    assert_int_equal(job_apply(&t, id, st.state, &st, out, &e), 0);
    assert_int_equal(r.calls, calls);
    rec_free(&r);
    scratch_rm(&s);
}

static void test_apply_terminal_states(void **state)
{
    (void)state;
    apply_terminal(status_of(JOB_COMPLETED, 0, ""), "FINISHED", NULL, "0");
    apply_terminal(status_of(JOB_FAILED, 3, "exit code 3"), "FAILED", "exit code 3", "3");
    apply_terminal(status_of(JOB_FAILED, 1, ""), "FAILED", "FAILED", "1");
    apply_terminal(status_of(JOB_CANCELLED, -1, ""), "KILLED", "CANCELLED", NULL);
    apply_terminal(status_of(JOB_TIMEOUT, 15, "TIMEOUT"), "FAILED", "TIMEOUT", "15");
    apply_terminal(status_of(JOB_TIMEOUT, -1, ""), "FAILED", "TIMEOUT", NULL);
    apply_terminal(status_of(JOB_OUT_OF_MEMORY, -1, "oom-kill"), "FAILED", "OUT_OF_MEMORY: oom-kill", NULL);
    apply_terminal(status_of(JOB_LOST, -1, "process vanished"), "FAILED", "LOST: process vanished", NULL);
}

/* A job that ended before writing anything: no artifact, no error. */
static void test_apply_no_output(void **state)
{
    (void)state;
    recorder r = {0};
    job_tracker t = rec_tracker(&r);
    cerr e;
    job_status st = status_of(JOB_COMPLETED, 0, "");
    assert_int_equal(job_apply(&t, "0123456789abcdef0123456789abcdef", JOB_PENDING, &st,
                               "/nonexistent/output.log", &e), 0);
    assert_int_equal(r.nartifacts, 0);
    assert_string_equal(last_status(&r), "FINISHED");
    assert_int_equal(job_apply(&t, "0123456789abcdef0123456789abcdef", JOB_PENDING, &st, NULL, &e), 0);
    assert_int_equal(r.nartifacts, 0);
    rec_free(&r);
}

/* The whole cycle on the local backend: a command that exits 3. */
static void test_launch_apply_exit3(void **state)
{
    (void)state;
    scratch s;
    scratch_make(&s, "entry_points:\n  main:\n    command: \"echo before; exit 3\"\n");
    job_launch_req req = base_req(&s, NULL, 0);
    recorder r = {0};
    job_tracker t = rec_tracker(&r);
    job_launched l;
    cerr e;
    assert_int_equal(job_launch(&t, &req, &l, &e), 0);
    job_status st = wait_end(&l, s.dir);
    assert_int_equal(job_apply(&t, l.run_id, JOB_PENDING, &st, l.output_path, &e), 0);
    assert_string_equal(last_status(&r), "FAILED");
    assert_string_equal(rec_get(r.tags, r.ntags, "cairn.job.exit_code"), "3");
    assert_string_equal(rec_get(r.tags, r.ntags, "cairn.job.state"), "FAILED");
    assert_int_equal(r.nartifacts, 1);
    assert_non_null(strstr(r.artifact_text[0], "before\n"));
    job_launched_free(&l);
    rec_free(&r);
    scratch_rm(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_launch_tags_params_env),
        cmocka_unit_test(test_launch_refused_no_run),
        cmocka_unit_test(test_launch_mlflow_rules),
        cmocka_unit_test(test_launch_submit_fails),
        cmocka_unit_test(test_launch_tracker_down),
        cmocka_unit_test(test_launch_untracked_job_is_cancelled),
        cmocka_unit_test(test_apply_transitions),
        cmocka_unit_test(test_apply_terminal_states),
        cmocka_unit_test(test_apply_no_output),
        cmocka_unit_test(test_launch_apply_exit3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
