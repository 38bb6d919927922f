/* run_follow.c - `cairn run` after the job has started: poll the backend
 * about once a second, copy the output file's new bytes to stdout as they
 * appear (as `mlflow run` shows the command's output), report state
 * changes on stderr and apply each to the run (job_apply), and cancel the
 * job on SIGINT or SIGTERM, still following it until it has ended. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "run.h"

#define RUN_POLL_MS 1000
#define RUN_POLL_ERRORS_MAX 60 /* consecutive failed polls before the job counts as LOST */
#define RUN_SIGNALS_MAX 3      /* the third Ctrl-C stops following without waiting */

static volatile sig_atomic_t run_signals;

static void run_on_signal(int sig)
{
    (void)sig;
    run_signals = run_signals + 1;
}

void run_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = run_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* `cairn run ... | head`: a closed stdout must not end us with the job
     * still running and its run never ended. */
    signal(SIGPIPE, SIG_IGN);
}

int run_interrupted(void)
{
    return run_signals > 0;
}

/* Copies what the output file gained since *offset to out. */
static void run_copy_output(const char *path, off_t *offset, FILE *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[65536];
    ssize_t n;
    while ((n = pread(fd, buf, sizeof buf, *offset)) > 0) {
        fwrite(buf, 1, (size_t)n, out);
        *offset += n;
    }
    close(fd);
    fflush(out);
}

static void run_sleep(void)
{
    struct timespec ts = {RUN_POLL_MS / 1000, (RUN_POLL_MS % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* a signal ends it early, which is what we want */
}

static void run_cancel(const run_job *j, int nth)
{
    fprintf(stderr, "cairn: %s: cancelling job %s (%s)%s\n", nth > 1 ? "interrupted again" : "interrupted",
            j->job_id, j->launched->backend_id,
            nth + 1 == RUN_SIGNALS_MAX ? "; once more stops following without waiting" : "");
    cerr e;
    if (job_backend_cancel(j->backend, j->launched->backend_id, j->workdir, &e) < 0)
        fprintf(stderr, "cairn: cannot cancel job %s: %s\n", j->job_id, e.msg);
}

/* Polls once; after RUN_POLL_ERRORS_MAX failures in a row the job is LOST. */
static void run_poll(const run_job *j, job_status *st, int *errors)
{
    cerr e;
    job_status now;
    if (job_backend_poll(j->backend, j->launched->backend_id, j->workdir, &now, &e) == 0) {
        *errors = 0;
        *st = now;
        return;
    }
    if (++*errors == 1)
        fprintf(stderr, "cairn: cannot poll job %s: %s (retrying)\n", j->job_id, e.msg);
    if (*errors >= RUN_POLL_ERRORS_MAX) {
        st->state = JOB_LOST;
        st->exit_code = -1;
        snprintf(st->reason, sizeof st->reason, "cannot poll the job: %.200s", e.msg);
    }
}

static void run_report(const run_job *j, const job_status *st)
{
    fprintf(stderr, "cairn: job %s %s", j->job_id, job_state_name(st->state));
    if (st->reason[0] && strcmp(st->reason, job_state_name(st->state)) != 0)
        fprintf(stderr, " (%s)", st->reason);
    if (job_state_terminal(st->state) && st->exit_code >= 0)
        fprintf(stderr, ", exit code %d", st->exit_code);
    fputc('\n', stderr);
}

static void run_summary(const run_job *j, const job_status *st)
{
    const char *status = job_state_run_status(st->state);
    fprintf(stderr, "cairn: run %s %s\n", j->launched->run_id, status);
    if (!j->json)
        return;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s}", "run_id",
                          j->launched->run_id, "job_id", j->job_id, "experiment_id", j->experiment_id,
                          "backend", backend_kind_name(j->backend), "backend_job_id", j->launched->backend_id,
                          "state", job_state_name(st->state), "run_status", status, "exit_code",
                          st->exit_code, "reason", st->reason, "command", j->launched->command, "output",
                          j->launched->output_path);
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s != NULL)
        puts(s);
    free(s);
    json_decref(o);
}

/* The job has ended: the rest of its output, the run's final state. */
static int run_finish(const run_job *j, job_state prev, const job_status *st, off_t *offset, FILE *out)
{
    run_copy_output(j->launched->output_path, offset, out);
    run_report(j, st);
    cerr e;
    int failed = job_apply(j->tracker, j->launched->run_id, prev, st, j->launched->output_path, &e) < 0;
    if (failed)
        fprintf(stderr, "cairn: cannot record the end of run %s: %s\n", j->launched->run_id, e.msg);
    run_summary(j, st);
    if (run_signals > 0)
        return RUN_EXIT_INTERRUPTED;
    return !failed && st->state == JOB_COMPLETED ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

int run_follow(const run_job *j)
{
    FILE *out = j->json ? stderr : stdout;
    job_status st = {.state = JOB_PENDING, .exit_code = -1};
    job_state prev = JOB_PENDING;
    char reason[JOB_REASON_MAX] = "";
    off_t offset = 0;
    int handled = 0, errors = 0, first = 1;
    for (;;) {
        int sig = run_signals;
        if (sig > handled) {
            if (sig >= RUN_SIGNALS_MAX) {
                fprintf(stderr, "cairn: stopped following; job %s (%s) may still be running\n", j->job_id,
                        j->launched->backend_id);
                return RUN_EXIT_INTERRUPTED;
            }
            handled = sig;
            run_cancel(j, sig);
        }
        run_poll(j, &st, &errors);
        if (job_state_terminal(st.state))
            return run_finish(j, prev, &st, &offset, out);
        run_copy_output(j->launched->output_path, &offset, out);
        if (first || st.state != prev || strcmp(st.reason, reason) != 0) {
            run_report(j, &st);
            cerr e;
            if (job_apply(j->tracker, j->launched->run_id, prev, &st, j->launched->output_path, &e) < 0)
                fprintf(stderr, "cairn: cannot update run %s: %s\n", j->launched->run_id, e.msg);
            prev = st.state;
            snprintf(reason, sizeof reason, "%s", st.reason);
            first = 0;
        }
        if (run_signals == handled)
            run_sleep();
    }
}
