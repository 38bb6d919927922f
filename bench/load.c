/* load.c - cairn_load: the workloads of `make bench` that wrk cannot drive
 * (requests that depend on earlier answers, timed end to end). Each prints
 * one line per figure.
 *
 *   cairn_load PORT ingest CLIENTS SECONDS
 *       each client logs to its own run, log-batch of 1000 metrics (10 keys x
 *       100 steps) per request, for SECONDS: metrics/s acknowledged.
 *   cairn_load PORT runs NRUNS CLIENTS EXPERIMENT
 *       create NRUNS runs in a new experiment: runs/create with 2 tags, then
 *       log-batch with 5 params and 5 metrics; wall time for all of it.
 *   cairn_load PORT search EXPERIMENT MAX_RESULTS REPEAT
 *       `metrics.m1 > 0.5 and params.p1 = 'x'` ordered by metrics.m1 DESC,
 *       one client, REPEAT times: median and worst latency, results returned.
 *   cairn_load PORT history STEPS REPEAT
 *       log STEPS steps of one metric, then get-history REPEAT times:
 *       median and worst latency, bytes received.
 *   cairn_load PORT interval STEPS REPEAT
 *       the same history through get-history-bulk-interval (default 320
 *       points): median and worst latency, points returned. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "load.h"

static int load_port;

static double load_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t load_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* POST and insist on 200: a benchmark that counts errors as work lies. */
static void load_post(load_conn *c, const char *api, const char *body, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "/api/2.0/mlflow/%s", api);
    int st = load_request(c, "POST", path, body, len);
    if (st != 200) {
        fprintf(stderr, "cairn_load: %s answered %d: %.300s\n", api, st, c->body);
        exit(1);
    }
}

/* The value of "field":"..." in the last body (a run or experiment id). */
static void load_field(const load_conn *c, const char *field, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", field);
    const char *p = strstr(c->body, pat);
    size_t i = 0;
    if (p)
        for (p += strlen(pat); *p && *p != '"' && i + 1 < cap; p++)
            out[i++] = *p;
    out[i] = '\0';
    if (i == 0) {
        fprintf(stderr, "cairn_load: no %s in %.300s\n", field, c->body);
        exit(1);
    }
}

static void load_experiment(load_conn *c, const char *name, char *id, size_t cap)
{
    char body[512];
    int n = snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
    load_post(c, "experiments/create", body, (size_t)n);
    load_field(c, "experiment_id", id, cap);
}

static void load_run(load_conn *c, const char *exp, const char *tags, char *id, size_t cap)
{
    char body[1024];
    int n = snprintf(body, sizeof body, "{\"experiment_id\":\"%s\",\"start_time\":1%s}", exp,
                     tags);
    load_post(c, "runs/create", body, (size_t)n);
    load_field(c, "run_id", id, cap);
}

/* ---- ingest ---- */

typedef struct load_ingest {
    const char *exp;
    double until;
    long requests;
} load_ingest;

static void *load_ingest_main(void *arg)
{
    load_ingest *w = arg;
    load_conn c;
    load_conn_open(&c, load_port);
    char run[64];
    load_run(&c, w->exp, "", run, sizeof run);
    size_t cap = 1000 * 96 + 256;
    char *body = malloc(cap);
    long step = 0;
    while (load_now() < w->until) {
        size_t n = (size_t)snprintf(body, cap, "{\"run_id\":\"%s\",\"metrics\":[", run);
        for (int s = 0; s < 100; s++, step++)
            for (int k = 0; k < 10; k++)
                n += (size_t)snprintf(body + n, cap - n,
                                      "%s{\"key\":\"m%d\",\"value\":%.6f,\"timestamp\":%ld,"
                                      "\"step\":%ld}",
                                      s == 0 && k == 0 ? "" : ",", k,
                                      (double)step / (k + 1), 1700000000000L + step, step);
        n += (size_t)snprintf(body + n, cap - n, "]}");
        load_post(&c, "runs/log-batch", body, n);
        w->requests++;
    }
    free(body);
    load_conn_close(&c);
    return NULL;
}

static void load_cmd_ingest(int clients, double seconds)
{
    load_conn c;
    load_conn_open(&c, load_port);
    char exp[32], name[64];
    snprintf(name, sizeof name, "ingest-%ld", (long)time(NULL));
    load_experiment(&c, name, exp, sizeof exp);
    load_conn_close(&c);
    load_ingest w[64] = {0};
    pthread_t t[64];
    double t0 = load_now();
    for (int i = 0; i < clients; i++) {
        w[i] = (load_ingest){exp, t0 + seconds, 0};
        pthread_create(&t[i], NULL, load_ingest_main, &w[i]);
    }
    long total = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(t[i], NULL);
        total += w[i].requests;
    }
    double dt = load_now() - t0;
    printf("ingest: log-batch of 1000 metrics, %d clients, %.0f s: %.0f metrics/s (%.0f requests/s)\n",
           clients, dt, total * 1000.0 / dt, total / dt);
}

/* ---- runs ---- */

typedef struct load_runs {
    const char *exp;
    int count;
    uint64_t seed;
} load_runs;

static void *load_runs_main(void *arg)
{
    load_runs *w = arg;
    load_conn c;
    load_conn_open(&c, load_port);
    static const char *const p1[] = {"x", "y", "z"};
    char run[64], body[2048];
    for (int i = 0; i < w->count; i++) {
        load_run(&c, w->exp,
                 ",\"tags\":[{\"key\":\"team\",\"value\":\"hpc\"},"
                 "{\"key\":\"mlflow.user\",\"value\":\"bench\"}]",
                 run, sizeof run);
        int n = snprintf(body, sizeof body, "{\"run_id\":\"%s\",\"params\":[", run);
        for (int k = 1; k <= 5; k++)
            n += snprintf(body + n, sizeof body - n, "%s{\"key\":\"p%d\",\"value\":\"%s\"}",
                          k > 1 ? "," : "", k,
                          k == 1 ? p1[load_rand(&w->seed) % 3] : "v");
        n += snprintf(body + n, sizeof body - n, "],\"metrics\":[");
        for (int k = 1; k <= 5; k++)
            n += snprintf(body + n, sizeof body - n,
                          "%s{\"key\":\"m%d\",\"value\":%.6f,\"timestamp\":1,\"step\":0}",
                          k > 1 ? "," : "", k,
                          (double)(load_rand(&w->seed) % 1000000) / 1e6);
        n += snprintf(body + n, sizeof body - n, "]}");
        load_post(&c, "runs/log-batch", body, (size_t)n);
    }
    load_conn_close(&c);
    return NULL;
}

static void load_cmd_runs(int nruns, int clients, const char *name)
{
    load_conn c;
    load_conn_open(&c, load_port);
    char exp[32];
    load_experiment(&c, name, exp, sizeof exp);
    load_conn_close(&c);
    load_runs w[64];
    pthread_t t[64];
    double t0 = load_now();
    for (int i = 0; i < clients; i++) {
        w[i] = (load_runs){exp, nruns / clients + (i < nruns % clients), 0x9E3779B97F4A7C15ull + i};
        pthread_create(&t[i], NULL, load_runs_main, &w[i]);
    }
    for (int i = 0; i < clients; i++)
        pthread_join(t[i], NULL);
    double dt = load_now() - t0;
    printf("create %d runs (5 params, 5 metrics, 2 tags each), %d clients: %.2f s (%.0f runs/s)\n",
           nruns, clients, dt, nruns / dt);
}

/* ---- timed single requests ---- */

static int load_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Run req REPEAT times on c; print median and worst in ms. */
static void load_timed(load_conn *c, const char *label, const char *method, const char *path,
                       const char *body, int repeat, const char *count_pat)
{
    double *ms = calloc((size_t)repeat, sizeof *ms);
    size_t bytes = 0, items = 0;
    for (int i = 0; i < repeat; i++) {
        double t0 = load_now();
        int st = load_request(c, method, path, body, body ? strlen(body) : 0);
        ms[i] = (load_now() - t0) * 1e3;
        if (st != 200) {
            fprintf(stderr, "cairn_load: %s answered %d: %.300s\n", path, st, c->body);
            exit(1);
        }
        bytes = c->body_len;
        items = 0;
        for (const char *p = c->body; (p = strstr(p, count_pat)) != NULL; p++)
            items++;
    }
    qsort(ms, (size_t)repeat, sizeof *ms, load_cmp);
    printf("%s: median %.2f ms, worst %.2f ms over %d calls (%zu results, %zu bytes)\n", label,
           ms[repeat / 2], ms[repeat - 1], repeat, items, bytes);
    free(ms);
}

static void load_cmd_search(const char *name, int max, int repeat)
{
    load_conn c;
    load_conn_open(&c, load_port);
    char path[512], exp[32], body[1024];
    snprintf(path, sizeof path, "/api/2.0/mlflow/experiments/get-by-name?experiment_name=%s", name);
    if (load_request(&c, "GET", path, NULL, 0) != 200)
        exit(1);
    load_field(&c, "experiment_id", exp, sizeof exp);
    snprintf(body, sizeof body,
             "{\"experiment_ids\":[\"%s\"],\"filter\":\"metrics.m1 > 0.5 and params.p1 = 'x'\","
             "\"order_by\":[\"metrics.m1 DESC\"],\"max_results\":%d}",
             exp, max);
    char label[128];
    snprintf(label, sizeof label, "runs/search, filter + order by metric, max_results %d", max);
    load_timed(&c, label, "POST", "/api/2.0/mlflow/runs/search", body, repeat, "\"run_uuid\"");
    load_conn_close(&c);
}

/* One run with `steps` steps of metric "loss", logged 1000 at a time. */
static void load_history_fill(load_conn *c, int steps, char *run, size_t cap)
{
    char exp[32], name[64];
    snprintf(name, sizeof name, "history-%ld-%d", (long)time(NULL), steps);
    load_experiment(c, name, exp, sizeof exp);
    load_run(c, exp, "", run, cap);
    size_t bcap = 1000 * 80 + 256;
    char *body = malloc(bcap);
    for (int s = 0; s < steps;) {
        size_t n = (size_t)snprintf(body, bcap, "{\"run_id\":\"%s\",\"metrics\":[", run);
        for (int i = 0; i < 1000 && s < steps; i++, s++)
            n += (size_t)snprintf(body + n, bcap - n,
                                  "%s{\"key\":\"loss\",\"value\":%.6f,\"timestamp\":%ld,\"step\":%d}",
                                  i ? "," : "", 1.0 / (s + 1), 1700000000000L + s, s);
        n += (size_t)snprintf(body + n, bcap - n, "]}");
        load_post(c, "runs/log-batch", body, n);
    }
    free(body);
}

static void load_cmd_history(int steps, int repeat, int interval)
{
    load_conn c;
    load_conn_open(&c, load_port);
    char run[64], path[512], label[128];
    load_history_fill(&c, steps, run, sizeof run);
    if (interval) {
        snprintf(path, sizeof path,
                 "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?run_ids=%s"
                 "&metric_key=loss",
                 run);
        snprintf(label, sizeof label, "metrics/get-history-bulk-interval, %d steps", steps);
    } else {
        snprintf(path, sizeof path,
                 "/api/2.0/mlflow/metrics/get-history?run_id=%s&metric_key=loss", run);
        snprintf(label, sizeof label, "metrics/get-history, %d steps", steps);
    }
    load_timed(&c, label, "GET", path, NULL, repeat, "\"step\"");
    load_conn_close(&c);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: cairn_load PORT ingest|runs|search|history|interval ARGS...\n");
        return 2;
    }
    load_port = atoi(argv[1]);
    const char *cmd = argv[2];
    if (strcmp(cmd, "ingest") == 0 && argc == 5)
        load_cmd_ingest(atoi(argv[3]) > 64 ? 64 : atoi(argv[3]), atof(argv[4]));
    else if (strcmp(cmd, "runs") == 0 && argc == 6)
        load_cmd_runs(atoi(argv[3]), atoi(argv[4]) > 64 ? 64 : atoi(argv[4]), argv[5]);
    else if (strcmp(cmd, "search") == 0 && argc == 6)
        load_cmd_search(argv[3], atoi(argv[4]), atoi(argv[5]));
    else if ((strcmp(cmd, "history") == 0 || strcmp(cmd, "interval") == 0) && argc == 5)
        load_cmd_history(atoi(argv[3]), atoi(argv[4]), cmd[0] == 'i');
    else {
        fprintf(stderr, "cairn_load: bad arguments for %s\n", cmd);
        return 2;
    }
    return 0;
}
