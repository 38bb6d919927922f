/* local.c - the local backend: a job is a process group on this machine
 * that outlives the process that started it.
 *
 * How a job runs. submit writes two scripts into the job's directory: the
 * body (job.sh, slurm_script.c: environment, modules, pre-run, the command,
 * post-run) and a watcher (job.watch.sh, below). It starts the watcher with
 * posix_spawn in a new session (stdin /dev/null, stdout and stderr appended
 * to the output file, cwd the project, the caller's environment, no signal
 * blocked or ignored, no other file descriptor). posix_spawn rather than
 * fork: the server is multithreaded, and this way nothing but the spawn
 * file actions runs between fork and exec; everything else is done by
 * /bin/sh in the scripts.
 *
 *   caller --posix_spawn--> sh job.watch.sh start   (exits at once; reaped
 *                             |                      by the caller)
 *                             +--&--> sh job.watch.sh watch   (W: the watcher)
 *                                       +--setsid--> sh job.sh   (J: the job,
 *                                                   its own session and group)
 *
 * The first shell reports W's PID on a pipe and exits, so the caller reaps
 * it at once and W is adopted by init: W belongs to no one who could miss
 * its exit. W waits on a second pipe until the caller has read W's start
 * time from /proc (the backend id is "PID:STARTTIME", which no later process
 * reusing the PID can match), then starts J with setsid(1) (dash has no job
 * control without a terminal), writes J's process group to job.pgid, waits
 * for J and writes its exit status to job.status (write, sync, rename).
 * A restarted caller needs only the backend id and the directory: the
 * status file says how the job ended; no status file and W alive means
 * running; no status file and W gone means LOST.
 *
 * Cancel writes job.cancel, sends SIGTERM to J's group and leaves a detached
 * `sleep; kill -KILL` behind, so the caller does not wait for the grace
 * period; W, which is not in J's group, records the status and poll reports
 * CANCELLED. If J's group is not written yet, W sees job.cancel right after
 * writing it and does the same. Runtime, when given, is enforced by W the
 * same way (job.timeout, then TERM and KILL): the state is TIMEOUT.
 *
 * Exit statuses are as the shell reports them: 128+N for a process killed
 * by signal N, reported as FAILED "signal N" (so a command that itself
 * exits 129..192 reads as a signal). */
#include "backend_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../util/shell.h"

extern char **environ;

/* Seconds between SIGTERM and SIGKILL on cancel and on Runtime. */
#define LOCAL_KILL_GRACE_S 10
/* Bound on the launcher shell reporting the watcher's PID. */
#define LOCAL_START_TIMEOUT_MS 10000

/* After the settings: the watcher's text. fd 3 (start only) is the pipe for
 * W's PID, fd 4 the pipe W waits on until the caller has read its start
 * time (EOF also when the caller died). */
static const char watch_text[] =
    "case \"${1-}\" in\n"
    "start)\n"
    "    /bin/sh \"$0\" watch 3>&- &\n"
    "    echo \"$!\" >&3\n"
    "    exit 0 ;;\n"
    "watch) ;;\n"
    "*) echo \"usage: $0 start|watch\" >&2; exit 2 ;;\n"
    "esac\n"
    "read cairn_go <&4 || :\n"
    "exec 4<&-\n"
    "setsid /bin/sh \"$cairn_w/" JOB_BODY_FILE "\" </dev/null &\n"
    "cairn_j=$!\n"
    "echo \"$cairn_j\" >\"$cairn_w/" LOCAL_PGID_FILE ".tmp\" &&\n"
    "    mv -f \"$cairn_w/" LOCAL_PGID_FILE ".tmp\" \"$cairn_w/" LOCAL_PGID_FILE "\"\n"
    "cairn_stop() {\n"
    "    kill -TERM \"-$cairn_j\" 2>/dev/null\n"
    "    setsid /bin/sh -c 'sleep \"$1\"; kill -KILL \"-$2\" 2>/dev/null' sh \"$cairn_grace\" \"$cairn_j\" \\\n"
    "        </dev/null >/dev/null 2>&1 &\n"
    "}\n"
    "[ ! -e \"$cairn_w/" LOCAL_CANCEL_FILE "\" ] || cairn_stop\n"
    "cairn_t=\n"
    "if [ -n \"$cairn_runtime\" ]; then\n"
    "    setsid /bin/sh -c 'sleep \"$1\"; : >\"$2/" LOCAL_TIMEOUT_FILE "\"; kill -TERM \"-$3\" 2>/dev/null;\n"
    "        sleep \"$4\"; kill -KILL \"-$3\" 2>/dev/null' \\\n"
    "        sh \"$cairn_runtime\" \"$cairn_w\" \"$cairn_j\" \"$cairn_grace\" </dev/null >/dev/null 2>&1 &\n"
    "    cairn_t=$!\n"
    "fi\n"
    "# dash reports a job killed by a signal (\"Terminated\"); say why instead.\n"
    "wait \"$cairn_j\" 2>/dev/null\n"
    "cairn_rc=$?\n"
    "if [ -e \"$cairn_w/" LOCAL_TIMEOUT_FILE "\" ]; then\n"
    "    echo \"cairn: the job ran over its Runtime of $cairn_runtime s\" >&2\n"
    "elif [ -e \"$cairn_w/" LOCAL_CANCEL_FILE "\" ]; then\n"
    "    echo 'cairn: the job was cancelled' >&2\n"
    "fi\n"
    "# The timer goes unless it fired: then its SIGKILL is still due. Its\n"
    "# group and its PID: a quick job may end before setsid made the group.\n"
    "[ -z \"$cairn_t\" ] || [ -e \"$cairn_w/" LOCAL_TIMEOUT_FILE "\" ] ||\n"
    "    kill -TERM \"-$cairn_t\" \"$cairn_t\" 2>/dev/null\n"
    "# What the job left running ends with it, as on Slurm.\n"
    "if [ ! -e \"$cairn_w/" LOCAL_CANCEL_FILE "\" ] && [ ! -e \"$cairn_w/" LOCAL_TIMEOUT_FILE "\" ] &&\n"
    "    kill -0 \"-$cairn_j\" 2>/dev/null; then\n"
    "    cairn_stop\n"
    "fi\n"
    "echo \"$cairn_rc\" >\"$cairn_w/" LOCAL_STATUS_FILE ".tmp\" &&\n"
    "    sync \"$cairn_w/" LOCAL_STATUS_FILE ".tmp\" 2>/dev/null\n"
    "mv -f \"$cairn_w/" LOCAL_STATUS_FILE ".tmp\" \"$cairn_w/" LOCAL_STATUS_FILE "\"\n";

static void render_watcher(const job_spec *spec, sbuf *out)
{
    sbuf_printf(out, "#!/bin/sh\n# Cairn job %s: the local watcher (src/jobs/local.c)\ncairn_w=",
                spec->job_id);
    shell_quote(out, spec->workdir);
    sbuf_puts(out, "\ncairn_runtime=");
    if (spec->cfg->resources.runtime_s != BACKEND_UNSET)
        sbuf_printf(out, "%lld", (long long)spec->cfg->resources.runtime_s);
    sbuf_printf(out, "\ncairn_grace=%d\n", LOCAL_KILL_GRACE_S);
    sbuf_puts(out, watch_text);
}

/* Writes job.sh and job.watch.sh; *watch is the watcher's path. */
static int write_scripts(const job_spec *spec, sbuf *watch, cerr *e)
{
    sbuf text = SBUF_INIT, path = SBUF_INIT;
    sbuf_puts(&text, "#!/bin/sh\n");
    int rc = slurm_script_body(spec, &text, e);
    backend_path(&path, spec->workdir, JOB_BODY_FILE);
    if (rc == 0)
        rc = backend_write_file(path.data, text.data, text.len, 0700, e);
    sbuf_reset(&text);
    render_watcher(spec, &text);
    backend_path(watch, spec->workdir, LOCAL_WATCH_FILE);
    if (rc == 0)
        rc = backend_write_file(watch->data, text.data, text.len, 0700, e);
    sbuf_free(&text);
    sbuf_free(&path);
    return rc;
}

/* Field 22 of /proc/PID/stat (the start time in clock ticks since boot);
 * *state is field 3 ('Z' for a zombie). The command name (field 2) may hold
 * blanks and parentheses, so fields are counted from its last ')'. */
static int proc_start(long pid, unsigned long long *start, char *state)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (p == NULL || p[1] != ' ')
        return -1;
    *state = p[2];
    p += 2;
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (p == NULL)
            return -1;
        p++;
    }
    return sscanf(p, "%llu", start) == 1 ? 0 : -1;
}

static int parse_id(const char *id, long *pid, unsigned long long *start, cerr *e)
{
    char *end;
    errno = 0;
    *pid = strtol(id, &end, 10);
    if (errno == 0 && *pid > 1 && end[0] == ':' && end[1] >= '0' && end[1] <= '9') {
        *start = strtoull(end + 1, &end, 10);
        if (errno == 0 && *end == '\0')
            return 0;
    }
    return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "'%.64s' is not a local job id (PID:STARTTIME)",
                    id);
}

/* A pipe whose ends are at 10 or above, close-on-exec: the spawn file
 * actions dup them onto 3 and 4, which must not be one of them. */
static int high_pipe(int p[2])
{
    int raw[2];
    if (pipe(raw) < 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        p[i] = fcntl(raw[i], F_DUPFD_CLOEXEC, 10);
        close(raw[i]);
    }
    if (p[0] >= 0 && p[1] >= 0)
        return 0;
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
    return -1;
}

static int spawn_launcher(const job_spec *spec, const char *watch, int pid_w, int go_r, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, spec->output_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_adddup2(&fa, pid_w, 3);
    posix_spawn_file_actions_adddup2(&fa, go_r, 4);
    posix_spawn_file_actions_addclosefrom_np(&fa, 5);
    posix_spawn_file_actions_addchdir_np(&fa, spec->project_dir);
    backend_spawnattr(&attr, POSIX_SPAWN_SETSID);
    char *argv[] = {"sh", (char *)watch, "start", NULL};
    int rc = posix_spawn(pid, "/bin/sh", &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return rc;
}

/* Reads the watcher's PID from the launcher until it exits; reaps it. */
static int read_watcher_pid(int fd, pid_t launcher, long *wpid, cerr *e)
{
    char buf[64];
    size_t n = 0;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, LOCAL_START_TIMEOUT_MS);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        ssize_t got = read(fd, buf + n, sizeof buf - 1 - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0 || (n += (size_t)got) == sizeof buf - 1)
            break;
    }
    buf[n] = '\0';
    int ws = 0;
    while (waitpid(launcher, &ws, 0) < 0 && errno == EINTR)
        ;
    *wpid = strtol(buf, NULL, 10);
    if (*wpid > 1 && WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
        return 0;
    return cerr_set(e, CERR_INTERNAL_ERROR,
                    "the local job's launcher failed (wait status %d); its output is in the "
                    "job's output file",
                    ws);
}

int local_submit(const job_spec *spec, char **backend_id, cerr *e)
{
    sbuf watch = SBUF_INIT;
    int pid_p[2] = {-1, -1}, go_p[2] = {-1, -1};
    int rc = write_scripts(spec, &watch, e);
    if (rc == 0 && (high_pipe(pid_p) < 0 || high_pipe(go_p) < 0))
        rc = cerr_set(e, CERR_INTERNAL_ERROR, "pipe: %s", strerror(errno));
    pid_t launcher;
    int err = rc == 0 ? spawn_launcher(spec, watch.data, pid_p[1], go_p[0], &launcher) : 0;
    if (err != 0)
        rc = cerr_set(e, CERR_INTERNAL_ERROR, "cannot start the local job (output %s, directory %s): %s",
                      spec->output_path, spec->project_dir, strerror(err));
    /* The launcher has its copies: closing ours lets EOF arrive. */
    if (pid_p[1] >= 0)
        close(pid_p[1]);
    if (go_p[0] >= 0)
        close(go_p[0]);
    long wpid = 0;
    unsigned long long start = 0;
    char st;
    if (rc == 0)
        rc = read_watcher_pid(pid_p[0], launcher, &wpid, e);
    if (rc == 0 && proc_start(wpid, &start, &st) < 0)
        rc = cerr_set(e, CERR_INTERNAL_ERROR, "the local job's watcher (PID %ld) vanished", wpid);
    /* A watcher that is not to go on still waits for the go pipe: it has
     * started nothing yet. */
    if (rc < 0 && wpid > 1)
        kill((pid_t)wpid, SIGKILL);
    if (pid_p[0] >= 0)
        close(pid_p[0]);
    if (go_p[1] >= 0)
        close(go_p[1]); /* W goes on */
    if (rc == 0) {
        sbuf id = SBUF_INIT;
        sbuf_printf(&id, "%ld:%llu", wpid, start);
        *backend_id = sbuf_detach(&id);
    }
    sbuf_free(&watch);
    return rc;
}

static bool file_exists(const char *workdir, const char *name)
{
    sbuf p = SBUF_INIT;
    backend_path(&p, workdir, name);
    bool yes = access(p.data, F_OK) == 0;
    sbuf_free(&p);
    return yes;
}

/* Reads a file holding one decimal number; *missing when there is none. */
static int read_number(const char *workdir, const char *name, long *v, bool *missing, cerr *e)
{
    sbuf p = SBUF_INIT, text = SBUF_INIT;
    backend_path(&p, workdir, name);
    int rc = backend_read_file(p.data, BACKEND_SMALL_FILE_MAX, &text, missing, e);
    char *end = NULL;
    if (rc == 0 && !*missing) {
        *v = strtol(text.data, &end, 10);
        if (end == text.data || (*end != '\n' && *end != '\0'))
            rc = cerr_set(e, CERR_INTERNAL_ERROR, "%s holds '%.32s', not a number", p.data, text.data);
    }
    sbuf_free(&p);
    sbuf_free(&text);
    return rc;
}

/* The final state from the exit status the watcher recorded. */
static void ended(const char *workdir, long rc, job_status *out)
{
    out->exit_code = (int)rc;
    if (file_exists(workdir, LOCAL_CANCEL_FILE)) {
        out->state = JOB_CANCELLED;
        snprintf(out->reason, sizeof out->reason, "CANCELLED");
    } else if (file_exists(workdir, LOCAL_TIMEOUT_FILE)) {
        out->state = JOB_TIMEOUT;
        snprintf(out->reason, sizeof out->reason, "TIMEOUT");
    } else if (rc == 0) {
        out->state = JOB_COMPLETED;
    } else if (rc > 128 && rc <= 128 + 64) {
        out->state = JOB_FAILED;
        snprintf(out->reason, sizeof out->reason, "signal %ld", rc - 128);
    } else {
        out->state = JOB_FAILED;
        snprintf(out->reason, sizeof out->reason, "exit code %ld", rc);
    }
}

static bool watcher_alive(long pid, unsigned long long start)
{
    unsigned long long now;
    char st;
    return proc_start(pid, &now, &st) == 0 && now == start && st != 'Z' && st != 'X';
}

int local_poll(const char *backend_id, const char *workdir, job_status *out, cerr *e)
{
    long pid, rc;
    unsigned long long start;
    bool missing;
    if (parse_id(backend_id, &pid, &start, e) < 0)
        return -1;
    if (read_number(workdir, LOCAL_STATUS_FILE, &rc, &missing, e) < 0)
        return -1;
    if (missing && watcher_alive(pid, start)) {
        out->state = JOB_RUNNING;
        return 0;
    }
    /* The watcher may have written the status just before it ended. */
    if (missing && read_number(workdir, LOCAL_STATUS_FILE, &rc, &missing, e) < 0)
        return -1;
    if (!missing) {
        ended(workdir, rc, out);
        return 0;
    }
    out->state = JOB_LOST;
    snprintf(out->reason, sizeof out->reason,
             "the job's watcher (PID %ld) ended without recording an exit status", pid);
    return 0;
}

/* SIGTERM to the group now, SIGKILL after the grace period from a detached
 * shell (its own session; the caller reaps only the shell that starts it,
 * which exits at once). */
static int stop_group(long pgid, cerr *e)
{
    if (kill((pid_t)-pgid, SIGTERM) < 0)
        return errno == ESRCH ? 0 : cerr_set(e, CERR_INTERNAL_ERROR, "kill -%ld: %s", pgid, strerror(errno));
    char grace[16], group[32];
    snprintf(grace, sizeof grace, "%d", LOCAL_KILL_GRACE_S);
    snprintf(group, sizeof group, "-%ld", pgid);
    char *argv[] = {"sh", "-c", "(sleep \"$1\"; kill -KILL \"$2\") >/dev/null 2>&1 &", "sh",
                    grace, group, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    backend_spawnattr(&attr, POSIX_SPAWN_SETSID);
    pid_t pid;
    int err = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (err != 0)
        return cerr_set(e, CERR_INTERNAL_ERROR, "cannot start the SIGKILL timer: %s", strerror(err));
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    return 0;
}

int local_cancel(const char *backend_id, const char *workdir, cerr *e)
{
    long pid, rc, pgid;
    unsigned long long start;
    bool missing;
    if (parse_id(backend_id, &pid, &start, e) < 0 ||
        read_number(workdir, LOCAL_STATUS_FILE, &rc, &missing, e) < 0)
        return -1;
    if (!missing)
        return 0; /* finished: nothing to stop */
    sbuf p = SBUF_INIT;
    backend_path(&p, workdir, LOCAL_CANCEL_FILE);
    int fd = open(p.data, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    int err = errno;
    sbuf_free(&p);
    if (fd < 0)
        return cerr_set(e, CERR_INTERNAL_ERROR, "cannot mark the job cancelled: %s", strerror(err));
    close(fd);
    /* Marker first, group second: the watcher writes the group first and
     * looks for the marker second, so one of the two sees the other. */
    if (read_number(workdir, LOCAL_PGID_FILE, &pgid, &missing, e) < 0)
        return -1;
    if (missing || pgid <= 1)
        return 0;
    return stop_group(pgid, e);
}
