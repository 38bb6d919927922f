/* test_job_local.c - the local backend with real processes: exit statuses,
 * the output file, cancel of a whole process group (grandchildren too, and
 * a job that ignores SIGTERM), a job that outlives the process that started
 * it, the environment, post-run commands, Runtime, a vanished watcher, and
 * the PID:STARTTIME guard. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jobs/backend.h"
#include "jobs/backend_int.h"
#include "util/sbuf.h"

typedef struct {
    char dir[64];
    char project[96];
    char output[96];
    backend_config *cfg;
    char *id;
} job;

static long long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void job_init(job *j, const char *cfgtext)
{
    memset(j, 0, sizeof *j);
    snprintf(j->dir, sizeof j->dir, "/tmp/cairn-local-XXXXXX");
    assert_non_null(mkdtemp(j->dir));
    snprintf(j->project, sizeof j->project, "%s/project", j->dir);
    snprintf(j->output, sizeof j->output, "%s/output.log", j->dir);
    assert_int_equal(mkdir(j->project, 0755), 0);
    cerr e = {0};
    if (backend_config_parse(cfgtext, strlen(cfgtext), BACKEND_CONFIG_AUTO, &j->cfg, &e) < 0)
        fail_msg("%s", e.msg);
}

static int job_submit_env(job *j, const char *command, const char *const *env, size_t nenv, cerr *e)
{
    job_spec s = {"t1", j->dir, j->project, command, j->cfg, env, nenv, j->output};
    return job_backend_submit(&s, &j->id, e);
}

static void job_submit(job *j, const char *command)
{
    cerr e = {0};
    if (job_submit_env(j, command, NULL, 0, &e) < 0)
        fail_msg("submit: %s", e.msg);
}

static job_status job_poll(const job *j)
{
    job_status st;
    cerr e = {0};
    if (job_backend_poll(BACKEND_LOCAL, j->id, j->dir, &st, &e) < 0)
        fail_msg("poll: %s", e.msg);
    return st;
}

static job_status job_wait(const job *j, int timeout_ms)
{
    long long end = ms_now() + timeout_ms;
    for (;;) {
        job_status st = job_poll(j);
        if (job_state_terminal(st.state))
            return st;
        if (ms_now() > end)
            fail_msg("job %s still %s after %d ms", j->id, job_state_name(st.state), timeout_ms);
        nap_ms(20);
    }
}

static char *slurp(const char *dir, const char *name)
{
    sbuf p = SBUF_INIT, text = SBUF_INIT;
    backend_path(&p, dir, name);
    bool missing;
    cerr e = {0};
    assert_int_equal(backend_read_file(p.data, 1 << 20, &text, &missing, &e), 0);
    sbuf_free(&p);
    if (missing) {
        sbuf_free(&text);
        return NULL;
    }
    return sbuf_detach(&text);
}

/* Waits until the file exists and holds want (a prefix is enough). */
static void wait_file(const char *dir, const char *name, const char *want)
{
    long long end = ms_now() + 10000;
    for (;;) {
        char *t = slurp(dir, name);
        bool ok = t != NULL && strncmp(t, want, strlen(want)) == 0;
        free(t);
        if (ok)
            return;
        if (ms_now() > end)
            fail_msg("%s/%s never held '%s'", dir, name, want);
        nap_ms(20);
    }
}

static void job_done(job *j)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", j->dir);
    assert_int_equal(system(cmd), 0);
    backend_config_free(j->cfg);
    free(j->id);
}

static void expect(const job_status *st, job_state s, int code, const char *reason)
{
    if (st->state != s || st->exit_code != code || strcmp(st->reason, reason) != 0)
        fail_msg("got %s %d '%s', want %s %d '%s'", job_state_name(st->state), st->exit_code,
                 st->reason, job_state_name(s), code, reason);
}

static void expect_output(const job *j, const char *want)
{
    char *t = slurp(j->dir, "output.log");
    assert_non_null(t);
    assert_string_equal(t, want);
    free(t);
}

/* Gone, or a zombie nobody reaps (this machine's init may not). */
static bool proc_gone(long pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return true;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    return p != NULL && (p[2] == 'Z' || p[2] == 'X');
}

static void wait_gone(long pid, int timeout_ms)
{
    long long end = ms_now() + timeout_ms;
    while (!proc_gone(pid)) {
        if (ms_now() > end)
            fail_msg("process %ld still there after %d ms", pid, timeout_ms);
        nap_ms(50);
    }
}

static long number_in(const job *j, const char *name)
{
    char *t = slurp(j->dir, name);
    assert_non_null(t);
    long v = atol(t);
    free(t);
    return v;
}

static void test_completed(void **state)
{
    (void)state;
    job j;
    job_init(&j, "");
    assert_int_equal(access(j.output, F_OK), -1);
    job_submit(&j, "echo out; echo err >&2; pwd");
    job_status st = job_wait(&j, 10000);
    expect(&st, JOB_COMPLETED, 0, "");
    sbuf want = SBUF_INIT;
    sbuf_printf(&want, "out\nerr\n%s\n", j.project);
    expect_output(&j, want.data);
    assert_null(slurp(j.dir, "job.status.tmp"));
    char *status = slurp(j.dir, "job.status");
    assert_string_equal(status, "0\n");
    free(status);
    sbuf_free(&want);
    job_done(&j);
}

/* stdin is /dev/null (cat ends at once) and no descriptor of the caller
 * reaches the job, close-on-exec or not. */
static void test_clean_descriptors(void **state)
{
    (void)state;
    int leaky = open("/dev/null", O_RDONLY);
    assert_true(leaky > 2);
    job j;
    job_init(&j, "");
    job_submit(&j, "cat; ls /proc/$$/fd | tr '\\n' ' '");
    close(leaky);
    job_status st = job_wait(&j, 10000);
    expect(&st, JOB_COMPLETED, 0, "");
    expect_output(&j, "0 1 2 ");
    job_done(&j);
}

static void test_failed_exit_3(void **state)
{
    (void)state;
    job j;
    job_init(&j, "");
    /* The output file is appended to, never truncated. */
    FILE *f = fopen(j.output, "w");
    fputs("before\n", f);
    fclose(f);
    job_submit(&j, "echo one; echo two >&2; echo three; exit 3");
    job_status st = job_wait(&j, 10000);
    expect(&st, JOB_FAILED, 3, "exit code 3");
    expect_output(&j, "before\none\ntwo\nthree\n");
    job_done(&j);
}

static void test_killed_by_signal(void **state)
{
    (void)state;
    job j;
    job_init(&j, "");
    job_submit(&j, "kill -KILL $$");
    job_status st = job_wait(&j, 10000);
    expect(&st, JOB_FAILED, 137, "signal 9");
    job_done(&j);
}

/* The caller blocks SIGTERM and ignores SIGPIPE, as servers do: the job
 * must start with neither, or cancel could not stop it. */
static void test_cancel_whole_group(void **state)
{
    (void)state;
    sigset_t term, old;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, &old);
    void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
    job j;
    job_init(&j, "");
    job_submit(&j, "sleep 300 & echo $! >gc.pid; echo started; yes | head -n 1; wait");
    sigprocmask(SIG_SETMASK, &old, NULL);
    signal(SIGPIPE, old_pipe);
    wait_file(j.project, "gc.pid", "");
    wait_file(j.dir, "output.log", "started\ny\n");
    wait_file(j.dir, "job.pgid", "");
    long gc = number_in(&j, "project/gc.pid"), pgid = number_in(&j, "job.pgid");
    assert_int_equal(getpgid((pid_t)gc), pgid);
    job_status st = job_poll(&j);
    expect(&st, JOB_RUNNING, -1, "");
    cerr e = {0};
    long long t0 = ms_now();
    assert_int_equal(job_backend_cancel(BACKEND_LOCAL, j.id, j.dir, &e), 0);
    assert_true(ms_now() - t0 < 2000); /* not the grace period */
    st = job_wait(&j, 10000);
    expect(&st, JOB_CANCELLED, 143, "CANCELLED");
    wait_gone(gc, 5000);
    expect_output(&j, "started\ny\ncairn: the job was cancelled\n");
    /* Cancelling again, or a finished job, changes nothing. */
    assert_int_equal(job_backend_cancel(BACKEND_LOCAL, j.id, j.dir, &e), 0);
    st = job_poll(&j);
    expect(&st, JOB_CANCELLED, 143, "CANCELLED");
    job_done(&j);
}

/* What ignores SIGTERM is killed LOCAL_KILL_GRACE_S (10 s) later. */
static void test_cancel_escalates_to_sigkill(void **state)
{
    (void)state;
    job j;
    job_init(&j, "");
    job_submit(&j, "trap '' TERM; sleep 300 & echo $! >gc.pid; echo started; wait");
    wait_file(j.dir, "output.log", "started\n");
    wait_file(j.dir, "job.pgid", "");
    long gc = number_in(&j, "project/gc.pid");
    cerr e = {0};
    long long t0 = ms_now();
    assert_int_equal(job_backend_cancel(BACKEND_LOCAL, j.id, j.dir, &e), 0);
    assert_true(ms_now() - t0 < 2000);
    /* The job's shell ends at SIGTERM; what ignores it is killed later. */
    job_status st = job_wait(&j, 5000);
    expect(&st, JOB_CANCELLED, 143, "CANCELLED");
    nap_ms(1000);
    assert_false(proc_gone(gc));
    wait_gone(gc, 15000);
    assert_true(ms_now() - t0 >= 9000);
    wait_gone(gc, 5000);
    job_done(&j);
}

static void test_survives_its_caller(void **state)
{
    (void)state;
    job j;
    job_init(&j, "");
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t caller = fork();
    assert_true(caller >= 0);
    if (caller == 0) {
        cerr e = {0};
        int rc = job_submit_env(&j, "sleep 1; echo survived", NULL, 0, &e);
        if (rc == 0 && write(p[1], j.id, strlen(j.id)) < 0)
            rc = -1;
        _exit(rc == 0 ? 0 : 1);
    }
    close(p[1]);
    char id[64] = {0};
    assert_true(read(p[0], id, sizeof id - 1) > 0);
    close(p[0]);
    int ws;
    assert_int_equal(waitpid(caller, &ws, 0), caller);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    j.id = strdup(id);
    job_status st = job_poll(&j);
    expect(&st, JOB_RUNNING, -1, "");
    st = job_wait(&j, 10000);
    expect(&st, JOB_COMPLETED, 0, "");
    expect_output(&j, "survived\n");
    job_done(&j);
}

static void test_environment(void **state)
{
    (void)state;
    job j;
    job_init(&j, "{\"Environment\": {\"A\": \"from-cfg\", \"B\": \"'; rm -rf / #\"}}");
    setenv("CAIRN_TEST_INHERITED", "inherited value", 1);
    const char *env[] = {"A=from-spec", "C=$(echo no) `echo no`", "C=later wins"};
    cerr e = {0};
    assert_int_equal(job_submit_env(&j, "printf '%s|' \"$A\" \"$B\" \"$C\" \"$CAIRN_TEST_INHERITED\"",
                                    env, 3, &e), 0);
    unsetenv("CAIRN_TEST_INHERITED");
    job_status st = job_wait(&j, 10000);
    expect(&st, JOB_COMPLETED, 0, "");
    expect_output(&j, "from-spec|'; rm -rf / #|later wins|inherited value|");
    job_done(&j);
}

static void test_post_run_after_failure(void **state)
{
    (void)state;
    job j;
    job_init(&j, "{\"PreRunCommands\": [\"echo pre\"], \"PostRunCommands\": [\"echo post\", \"exit 0\"]}");
    job_submit(&j, "echo cmd; exit 4");
    job_status st = job_wait(&j, 10000);
    expect(&st, JOB_FAILED, 4, "exit code 4");
    expect_output(&j, "pre\ncmd\npost\n");
    job_done(&j);
}

static void test_runtime_timeout(void **state)
{
    (void)state;
    job j;
    job_init(&j, "{\"Resources\": {\"Runtime\": 1}}");
    long long t0 = ms_now();
    job_submit(&j, "echo start; sleep 300 & echo $! >gc.pid; wait");
    job_status st = job_wait(&j, 10000);
    expect(&st, JOB_TIMEOUT, 143, "TIMEOUT");
    assert_true(ms_now() - t0 >= 1000);
    wait_gone(number_in(&j, "project/gc.pid"), 5000);
    expect_output(&j, "start\ncairn: the job ran over its Runtime of 1 s\n");
    job_done(&j);
}

/* A live process (not a zombie) whose command line names dir, or 0. */
static long proc_naming(const char *dir)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    long found = 0;
    while (found == 0 && d && (de = readdir(d)) != NULL) {
        long pid = atol(de->d_name);
        char path[64], buf[4096];
        if (pid <= 0 || pid == (long)getpid())
            continue;
        snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i++)
            buf[i] = buf[i] ? buf[i] : ' ';
        buf[n] = '\0';
        if (strstr(buf, dir) != NULL && !proc_gone(pid))
            found = pid;
    }
    if (d)
        closedir(d);
    return found;
}

/* A job that ends long before its Runtime takes its timer with it, however
 * quickly it ends (the timer may not have its own process group yet). */
static void test_runtime_timer_ends_with_the_job(void **state)
{
    (void)state;
    for (int round = 0; round < 5; round++) {
        job j;
        job_init(&j, "{\"Resources\": {\"Runtime\": 3600}}");
        job_submit(&j, "true");
        job_status st = job_wait(&j, 10000);
        expect(&st, JOB_COMPLETED, 0, "");
        long long end = ms_now() + 10000;
        long pid;
        while ((pid = proc_naming(j.dir)) != 0 && ms_now() < end)
            nap_ms(50);
        if (pid != 0)
            fail_msg("process %ld of job %s outlived it", pid, j.dir);
        job_done(&j);
    }
}

static void test_vanished_watcher_is_lost(void **state)
{
    (void)state;
    job j;
    job_init(&j, "");
    job_submit(&j, "echo started; sleep 300");
    wait_file(j.dir, "output.log", "started\n");
    long watcher = atol(j.id), pgid = number_in(&j, "job.pgid");
    assert_int_equal(kill((pid_t)watcher, SIGKILL), 0);
    wait_gone(watcher, 5000);
    job_status st = job_poll(&j);
    assert_int_equal(st.state, JOB_LOST);
    assert_non_null(strstr(st.reason, "ended without recording an exit status"));
    kill((pid_t)-pgid, SIGKILL);
    job_done(&j);
}

/* The start time in the id tells this process from one that took its PID. */
static void test_pid_reuse_guard(void **state)
{
    (void)state;
    job j;
    job_init(&j, "");
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)getpid());
    FILE *f = fopen(path, "r");
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')') + 2;
    for (int i = 3; i < 22; i++)
        p = strchr(p, ' ') + 1;
    unsigned long long start = strtoull(p, NULL, 10);
    char id[64];
    snprintf(id, sizeof id, "%d:%llu", (int)getpid(), start);
    j.id = strdup(id);
    job_status st = job_poll(&j);
    expect(&st, JOB_RUNNING, -1, "");
    snprintf(id, sizeof id, "%d:%llu", (int)getpid(), start + 1);
    free(j.id);
    j.id = strdup(id);
    st = job_poll(&j);
    assert_int_equal(st.state, JOB_LOST);
    job_done(&j);
}

static void test_submit_errors(void **state)
{
    (void)state;
    job j;
    job_init(&j, "");
    snprintf(j.project, sizeof j.project, "%s/missing", j.dir);
    cerr e = {0};
    assert_int_equal(job_submit_env(&j, "true", NULL, 0, &e), -1);
    assert_null(j.id);
    if (strstr(e.msg, "missing") == NULL || strstr(e.msg, "No such file") == NULL)
        fail_msg("%s", e.msg);
    const char *env[] = {"NOT A NAME=x"};
    snprintf(j.project, sizeof j.project, "%s/project", j.dir);
    assert_int_equal(job_submit_env(&j, "true", env, 1, &e), -1);
    assert_string_equal(e.msg, "job environment entry 'NOT A NAME=x' is not NAME=value");
    job_done(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_completed),
        cmocka_unit_test(test_clean_descriptors),
        cmocka_unit_test(test_failed_exit_3),
        cmocka_unit_test(test_killed_by_signal),
        cmocka_unit_test(test_cancel_whole_group),
        cmocka_unit_test(test_cancel_escalates_to_sigkill),
        cmocka_unit_test(test_survives_its_caller),
        cmocka_unit_test(test_environment),
        cmocka_unit_test(test_post_run_after_failure),
        cmocka_unit_test(test_runtime_timeout),
        cmocka_unit_test(test_runtime_timer_ends_with_the_job),
        cmocka_unit_test(test_vanished_watcher_is_lost),
        cmocka_unit_test(test_pid_reuse_guard),
        cmocka_unit_test(test_submit_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
