/* store_bench.c - figures for the SQLite store: log_batch throughput from
 * one and from four threads (group commit at work, synchronous=FULL), and
 * runs/search latency over 10,000 runs.
 *
 * Build (from the repo root, after `make`): compile this file with
 * `cc -std=c11 -D_GNU_SOURCE -O2 -Isrc` and link it with the store's objects
 * (build/src/store: store.o, sqlite*.o, search*.o) and build/src/util's,
 * plus -ljansson -lsqlite3 -lcrypto -lpthread -lm.
 * Run: build/store_bench [dir]   (dir: where the temp database goes; default /tmp;
 * use a directory on the disk you care about, since fsync cost is the point). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"

#define BATCH_CALLS 2000   /* log_batch calls per thread */
#define BATCH_METRICS 10   /* metrics per call */
#define SEARCH_RUNS 10000
#define SEARCH_REPEAT 20

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const cerr *e)
{
    fprintf(stderr, "store_bench: %s: %s\n", what, e->msg);
    exit(1);
}

static char *new_run(store *st, const char *exp)
{
    store_run_create_req req = {.experiment_id = exp, .user_id = "bench", .start_time = 1};
    json_t *run;
    cerr e;
    if (store_run_create(st, &req, &run, &e) != 0)
        die("run create", &e);
    char *id = strdup(json_string_value(json_object_get(json_object_get(run, "info"), "run_id")));
    json_decref(run);
    return id;
}

typedef struct logger {
    store *st;
    char *run_id;
} logger;

static void *logger_main(void *p)
{
    logger *l = p;
    char keys[BATCH_METRICS][16];
    for (int k = 0; k < BATCH_METRICS; k++)
        snprintf(keys[k], sizeof keys[k], "metric_%d", k);
    for (int i = 0; i < BATCH_CALLS; i++) {
        store_metric m[BATCH_METRICS];
        for (int k = 0; k < BATCH_METRICS; k++)
            m[k] = (store_metric){keys[k], i * 0.001 + k, 1700000000000 + i, i};
        cerr e;
        if (store_run_log_batch(l->st, l->run_id, m, BATCH_METRICS, NULL, 0, NULL, 0, &e) != 0)
            die("log_batch", &e);
    }
    return NULL;
}

static void bench_log_batch(store *st, int nthreads)
{
    pthread_t t[16];
    logger l[16];
    for (int i = 0; i < nthreads; i++)
        l[i] = (logger){st, new_run(st, "0")};
    double t0 = now_s();
    for (int i = 0; i < nthreads; i++)
        pthread_create(&t[i], NULL, logger_main, &l[i]);
    for (int i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);
    double dt = now_s() - t0;
    double calls = (double)nthreads * BATCH_CALLS;
    printf("log_batch, %d thread%s, %d metrics/call: %8.0f calls/s  %9.0f metrics/s\n", nthreads,
           nthreads > 1 ? "s" : " ", BATCH_METRICS, calls / dt, calls * BATCH_METRICS / dt);
    for (int i = 0; i < nthreads; i++)
        free(l[i].run_id);
}

typedef struct filler {
    store *st;
    const char *exp;
    int from, to;
} filler;

/* Each run gets 3 params, 3 metrics and 2 tags besides mlflow.runName. */
static void *filler_main(void *p)
{
    filler *f = p;
    for (int i = f->from; i < f->to; i++) {
        char *id = new_run(f->st, f->exp);
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        store_kv params[] = {{"lr", v}, {"batch", "64"}, {"opt", "adam"}};
        store_kv tags[] = {{"team", "vision"}, {"seed", v}};
        store_metric m[] = {{"loss", 1.0 / (i + 1), 1, 10}, {"acc", i * 1e-4, 1, 10},
                            {"f1", 0.5, 1, 10}};
        cerr e;
        if (store_run_log_batch(f->st, id, m, 3, params, 3, tags, 2, &e) != 0)
            die("fill", &e);
        free(id);
    }
    return NULL;
}

static void bench_search(store *st)
{
    char *exp;
    cerr e;
    if (store_experiment_create(st, "search-bench", NULL, NULL, 0, &exp, &e) != 0)
        die("experiment create", &e);
    pthread_t t[8];
    filler f[8];
    double t0 = now_s();
    for (int i = 0; i < 8; i++) {
        f[i] = (filler){st, exp, i * SEARCH_RUNS / 8, (i + 1) * SEARCH_RUNS / 8};
        pthread_create(&t[i], NULL, filler_main, &f[i]);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    printf("filled %d runs (create + log_batch each, 8 threads) in %.2f s\n", SEARCH_RUNS,
           now_s() - t0);

    const char *exps[] = {exp};
    int64_t sizes[] = {100, 1000, SEARCH_RUNS};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        store_search q = {.experiment_ids = exps, .nexperiment_ids = 1, .view = VIEW_ACTIVE_ONLY,
                          .max_results = sizes[k]};
        double t1 = now_s();
        size_t got = 0;
        for (int r = 0; r < SEARCH_REPEAT; r++) {
            json_t *page;
            char *token;
            if (store_run_search(st, &q, &page, &token, &e) != 0)
                die("search", &e);
            got = json_array_size(page);
            json_decref(page);
            free(token);
        }
        printf("runs/search over %d runs, max_results %5lld: %8.2f ms per call (%zu runs with "
               "params, tags, metrics)\n",
               SEARCH_RUNS, (long long)sizes[k], (now_s() - t1) * 1000 / SEARCH_REPEAT, got);
    }
    free(exp);
}

int main(int argc, char **argv)
{
    char dir[256], uri[320];
    snprintf(dir, sizeof dir, "%s/cairn-bench-XXXXXX", argc > 1 ? argv[1] : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(uri, sizeof uri, "sqlite:///%s/bench.db", dir);
    store *st;
    cerr e;
    if (store_open(uri, "/tmp/artifacts", &st, &e) != 0)
        die("open", &e);
    bench_log_batch(st, 1);
    bench_log_batch(st, 4);
    bench_search(st);
    store_close(st);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
