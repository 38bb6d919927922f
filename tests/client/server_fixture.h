/* server_fixture.h - starts the real `cairn server` for the libcairn C tests:
 * the binary next to the test's build folder (build/tests/x -> build/cairn),
 * on 127.0.0.1 and a free port, over a fresh temporary folder; stopped by
 * PID with SIGTERM. Header-only, included by one test file each. */
#ifndef CAIRN_TEST_SERVER_FIXTURE_H
#define CAIRN_TEST_SERVER_FIXTURE_H

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    pid_t pid;
    int port;
    char dir[256];
    char uri[64];
} test_server;

static int test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        return -1;
    close(fd);
    return ntohs(a.sin_port);
}

static int test_can_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Returns 0 when the server listens (a liveness bound, not a speed test). */
static int test_server_start(test_server *s)
{
    char exe[PATH_MAX], bin[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    *slash = '\0';                    /* build/tests */
    slash = strrchr(exe, '/');
    *slash = '\0';                    /* build */
    snprintf(bin, sizeof bin, "%s/cairn", exe);
    const char *env_bin = getenv("CAIRN_BIN");
    if (env_bin && *env_bin)
        snprintf(bin, sizeof bin, "%s", env_bin);
    snprintf(s->dir, sizeof s->dir, "/tmp/cairn-ctest-XXXXXX");
    if (mkdtemp(s->dir) == NULL)
        return -1;
    s->port = test_free_port();
    snprintf(s->uri, sizeof s->uri, "http://127.0.0.1:%d", s->port);
    char port[16], store[400], art[300], log[300];
    snprintf(port, sizeof port, "%d", s->port);
    snprintf(store, sizeof store, "sqlite:///%s/mlflow.db", s->dir);
    snprintf(art, sizeof art, "%s/artifacts", s->dir);
    snprintf(log, sizeof log, "%s/server.log", s->dir);
    s->pid = fork();
    if (s->pid == 0) {
        FILE *f = freopen(log, "w", stderr);
        (void)f;
        execl(bin, bin, "server", "--host", "127.0.0.1", "--port", port, "--backend-store-uri", store,
              "--artifacts-destination", art, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 600; i++) {   /* up to 60 s under a sanitizer on a loaded machine */
        if (test_can_connect(s->port))
            return 0;
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid)
            return -1;
        struct timespec ts = {0, 100000000L};
        nanosleep(&ts, NULL);
    }
    return -1;
}

static int test_server_stop(test_server *s)
{
    int st = 0;
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, &st, 0);
        s->pid = 0;
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
    if (system(cmd) != 0)
        return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

#endif
