/* client_bench.c - CPU cost of logging through libcairn: logs N metric
 * points (default 1,000,000: 10 keys x 100,000 steps) into one run of the
 * server at MLFLOW_TRACKING_URI, ends the run (which flushes everything),
 * checks that the server holds every point, and prints the client process's
 * own CPU time (user + sys, getrusage) and the wall time. Run by
 * bench/client.sh (make bench-client). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cairn.h"

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *what)
{
    fprintf(stderr, "client_bench: %s: %s\n", what, cairn_error_last()->message);
    return 1;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    const int keys = 10;
    char key[keys][16];
    for (int k = 0; k < keys; k++)
        snprintf(key[k], sizeof key[k], "loss_%d", k);
    cairn_client *c = NULL;
    cairn_options o = {0};
    o.no_spool = 1;
    if (cairn_client_open(&c, &o) < 0)
        return die("open");
    char *exp = NULL, *run = NULL;
    if (cairn_experiment_ensure(c, "client-bench", &exp) < 0 || cairn_run_create(c, exp, "bench", 0, &run) < 0)
        return die("create run");
    double cpu0 = cpu_seconds(), wall0 = wall_seconds();
    int64_t ts = 1700000000000;
    for (long i = 0; i < n; i++) {
        if (cairn_log_metric(c, run, key[i % keys], (double)i * 0.001 + 0.5, ts + i / keys, i / keys) < 0)
            return die("log_metric");
    }
    double cpu_enqueue = cpu_seconds() - cpu0, wall_enqueue = wall_seconds() - wall0;
    if (cairn_run_end(c, run, "FINISHED") < 0)
        return die("run_end");
    double cpu = cpu_seconds() - cpu0, wall = wall_seconds() - wall0;
    char *hist = NULL;
    if (cairn_metric_history(c, run, key[keys - 1], &hist) < 0)
        return die("history");
    long points = 0;
    for (const char *p = hist; (p = strstr(p, "\"step\"")) != NULL; p++)
        points++;
    cairn_free(hist);
    printf("logged %ld metric points (%d keys) into run %s\n", n, keys, run);
    printf("client CPU time (user+sys): %.3f s  (%.0f ns per point; %.3f s of it in the logging calls)\n", cpu,
           cpu * 1e9 / (double)n, cpu_enqueue);
    printf("wall time to deliver everything: %.3f s  (%.3f s in the logging calls)\n", wall, wall_enqueue);
    printf("server holds %ld points of %s (expected %ld)\n", points, key[keys - 1], n / keys);
    cairn_free(exp);
    cairn_free(run);
    cairn_client_close(c);
    return points == n / keys ? 0 : 1;
}
