/* backend.c - job_backend_submit/poll/cancel (backend.h) dispatched on the
 * backend kind, and what the backends share: small files in the job's
 * directory written atomically, and running a program with argv (never a
 * shell) with its output collected and a time limit.
 *
 * Programs are started with posix_spawn: the server is multithreaded, and
 * posix_spawn does in the child only what the file actions say, so no
 * lock another thread held at fork time can be met there. */
#include "backend_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int not_built(backend_kind kind, cerr *e)
{
    return cerr_set(e, CERR_NOT_IMPLEMENTED, "the %s backend is not built yet",
                    backend_kind_name(kind));
}

static int spec_check(const job_spec *spec, cerr *e)
{
    if (spec == NULL || spec->cfg == NULL || spec->job_id == NULL || spec->command == NULL)
        return cerr_set(e, CERR_INTERNAL_ERROR, "job spec: job_id, command and cfg are required");
    const char *paths[] = {spec->workdir, spec->project_dir, spec->output_path};
    for (size_t i = 0; i < 3; i++)
        if (paths[i] == NULL || paths[i][0] != '/')
            return cerr_set(e, CERR_INTERNAL_ERROR,
                            "job spec: workdir, project_dir and output_path must be absolute");
    return 0;
}

int job_backend_submit(const job_spec *spec, char **backend_id, cerr *e)
{
    *backend_id = NULL;
    if (spec_check(spec, e) < 0)
        return -1;
    switch (spec->cfg->backend) {
    case BACKEND_LOCAL:
        return local_submit(spec, backend_id, e);
    case BACKEND_SLURM:
        return slurm_submit(spec, backend_id, e);
    default:
        return not_built(spec->cfg->backend, e);
    }
}

int job_backend_poll(backend_kind kind, const char *backend_id, const char *workdir,
                     job_status *out, cerr *e)
{
    memset(out, 0, sizeof *out);
    out->exit_code = -1;
    if (backend_id == NULL || backend_id[0] == '\0')
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "no backend job id to poll");
    if (kind == BACKEND_LOCAL && (workdir == NULL || workdir[0] != '/'))
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "a local job needs its absolute workdir");
    switch (kind) {
    case BACKEND_LOCAL:
        return local_poll(backend_id, workdir, out, e);
    case BACKEND_SLURM:
        return slurm_poll(backend_id, out, e);
    default:
        return not_built(kind, e);
    }
}

int job_backend_cancel(backend_kind kind, const char *backend_id, const char *workdir, cerr *e)
{
    if (backend_id == NULL || backend_id[0] == '\0')
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "no backend job id to cancel");
    if (kind == BACKEND_LOCAL && (workdir == NULL || workdir[0] != '/'))
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "a local job needs its absolute workdir");
    switch (kind) {
    case BACKEND_LOCAL:
        return local_cancel(backend_id, workdir, e);
    case BACKEND_SLURM:
        return slurm_cancel(backend_id, e);
    default:
        return not_built(kind, e);
    }
}

int job_backend_peek(backend_kind kind, const char *const *ids, size_t n, int *states, cerr *e)
{
    if (kind != BACKEND_SLURM)
        return 0;
    return slurm_peek(ids, n, states, e) < 0 ? -1 : 1;
}

int job_backend_find(backend_kind kind, const char *job_id, char **backend_id, cerr *e)
{
    *backend_id = NULL;
    if (kind == BACKEND_SLURM)
        return slurm_find(job_id, backend_id, e);
    return 0;
}

void backend_path(sbuf *out, const char *dir, const char *name)
{
    sbuf_reset(out);
    sbuf_puts(out, dir);
    if (out->len == 0 || out->data[out->len - 1] != '/')
        sbuf_putc(out, '/');
    sbuf_puts(out, name);
}

bool backend_env_name_ok(const char *s, size_t n)
{
    if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int backend_write_file(const char *path, const char *data, size_t len, int mode, cerr *e)
{
    sbuf tmp = SBUF_INIT;
    sbuf_printf(&tmp, "%s.tmp", path);
    int fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    int rc = fd < 0 ? -1 : 0;
    if (rc == 0 && (write_all(fd, data, len) < 0 || fsync(fd) < 0))
        rc = -1;
    if (fd >= 0 && close(fd) < 0)
        rc = -1;
    /* open applies the umask; the scripts must be executable as given. */
    if (rc == 0 && (chmod(tmp.data, (mode_t)mode) < 0 || rename(tmp.data, path) < 0))
        rc = -1;
    if (rc < 0) {
        int err = errno;
        unlink(tmp.data);
        cerr_set(e, CERR_INTERNAL_ERROR, "cannot write %s: %s", path, strerror(err));
    }
    sbuf_free(&tmp);
    return rc;
}

int backend_read_file(const char *path, size_t max, sbuf *out, bool *missing, cerr *e)
{
    sbuf_reset(out);
    *missing = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        *missing = true;
        return 0;
    }
    if (fd < 0)
        return cerr_set(e, CERR_INTERNAL_ERROR, "cannot open %s: %s", path, strerror(errno));
    char buf[512];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int err = errno;
            close(fd);
            return cerr_set(e, CERR_INTERNAL_ERROR, "cannot read %s: %s", path, strerror(err));
        }
        if (r == 0 || out->len >= max)
            break;
        sbuf_append(out, buf, (size_t)r);
    }
    close(fd);
    if (out->len == 0)
        sbuf_puts(out, "");
    return 0;
}

/* posix_spawn attributes for a child that starts clean: no signal blocked
 * (the server blocks some in its threads) and every signal at its default
 * (the server ignores SIGPIPE; an ignored signal stays ignored across exec). */
int backend_spawnattr(posix_spawnattr_t *a, short extra_flags)
{
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    if (posix_spawnattr_init(a) != 0)
        return -1;
    posix_spawnattr_setsigmask(a, &none);
    posix_spawnattr_setsigdefault(a, &all);
    posix_spawnattr_setflags(a, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | extra_flags);
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Keeps up to BACKEND_CMD_OUTPUT_MAX bytes of what fd gives; -1 at EOF. */
static int drain(int fd, sbuf *into)
{
    char buf[4096];
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (r <= 0)
        return -1;
    if (into->len < BACKEND_CMD_OUTPUT_MAX)
        sbuf_append(into, buf, (size_t)r);
    return 0;
}

/* Reads both pipes until both end or the deadline passes (returns -1). */
static int collect(int fds[2], sbuf *bufs[2], long long deadline)
{
    while (fds[0] >= 0 || fds[1] >= 0) {
        struct pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
        long long left = deadline - now_ms();
        if (left <= 0)
            return -1;
        int n = poll(p, 2, (int)left);
        if (n < 0 && errno != EINTR)
            return -1;
        for (int i = 0; n > 0 && i < 2; i++) {
            if (fds[i] >= 0 && p[i].revents && drain(fds[i], bufs[i]) < 0) {
                close(fds[i]);
                fds[i] = -1;
            }
        }
    }
    return 0;
}

/* Waits for pid until the deadline, then kills it: a program that closed
 * its output but lingers must not hold the caller. *killed tells that. */
static int wait_child(pid_t pid, long long deadline, int *status, bool *killed)
{
    int ws;
    pid_t r;
    *killed = false;
    while ((r = waitpid(pid, &ws, WNOHANG)) == 0 && now_ms() < deadline) {
        struct timespec nap = {0, 10 * 1000000L};
        nanosleep(&nap, NULL);
    }
    if (r == 0) {
        kill(pid, SIGKILL);
        *killed = true;
        r = waitpid(pid, &ws, 0);
    }
    while (r < 0 && errno == EINTR)
        r = waitpid(pid, &ws, 0);
    if (r < 0)
        return -1;
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    return 0;
}

static int spawn_piped(const char *const *argv, int outw, int errw, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, outw, 1);
    posix_spawn_file_actions_adddup2(&fa, errw, 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    backend_spawnattr(&attr, 0);
    int rc = posix_spawnp(pid, argv[0], &fa, &attr, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return rc;
}

int backend_run(const char *const *argv, int timeout_ms, sbuf *out, sbuf *err, int *status,
                cerr *e)
{
    int po[2], pe[2];
    sbuf_reset(out);
    sbuf_reset(err);
    if (pipe2(po, O_CLOEXEC) < 0)
        return cerr_set(e, CERR_INTERNAL_ERROR, "pipe: %s", strerror(errno));
    if (pipe2(pe, O_CLOEXEC) < 0) {
        close(po[0]);
        close(po[1]);
        return cerr_set(e, CERR_INTERNAL_ERROR, "pipe: %s", strerror(errno));
    }
    pid_t pid;
    int rc = spawn_piped(argv, po[1], pe[1], &pid);
    close(po[1]);
    close(pe[1]);
    if (rc != 0) {
        close(po[0]);
        close(pe[0]);
        return cerr_set(e, CERR_INTERNAL_ERROR, "cannot run %s: %s", argv[0], strerror(rc));
    }
    int fds[2] = {po[0], pe[0]};
    sbuf *bufs[2] = {out, err};
    long long deadline = now_ms() + timeout_ms;
    int late = collect(fds, bufs, deadline);
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    bool killed;
    if (wait_child(pid, late < 0 ? 0 : deadline, status, &killed) < 0)
        return cerr_set(e, CERR_INTERNAL_ERROR, "waitpid %s: %s", argv[0], strerror(errno));
    if (killed)
        return cerr_set(e, CERR_TEMPORARILY_UNAVAILABLE, "%s did not finish within %.1f s",
                        argv[0], timeout_ms / 1000.0);
    sbuf_puts(out, "");
    sbuf_puts(err, "");
    return 0;
}
