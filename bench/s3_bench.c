/* s3_bench.c - upload and download speed of the S3 artifact store.
 *
 * Usage: s3_bench [MiB] [unsized] (default 512), with the S3 environment set as
 * `eval "$(scripts/swift.sh start)"` prints it; CAIRN_TEST_S3 may name the
 * bucket URI (default s3://cairn-test). Writes one object of that size with
 * write_all in 1 MiB chunks (its size given to the writer, as the proxy
 * does with a Content-Length; "unsized": not, the buffered path), reads it back with the non-blocking read,
 * deletes it, and prints MB/s both ways and the peak RSS, which shows that
 * memory does not grow with the object. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "artifacts/store.h"
#include "util/misc.h"

#define CHUNK (1u << 20)

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int fired;

static void on_ready(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    fired = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    long mib = argc > 1 ? atol(argv[1]) : 512;
    const char *b = getenv("CAIRN_TEST_S3");
    char uri[512];
    snprintf(uri, sizeof uri, "%s/bench", b && b[0] ? b : "s3://cairn-test");
    artifacts_store *s = NULL;
    cerr e = {0};
    char *chunk = malloc(CHUNK), *in = malloc(CHUNK);
    for (size_t i = 0; i < CHUNK; i++)
        chunk[i] = (char)(i * 31 + 7);
    if (artifacts_store_open(uri, &s, &e) < 0 || artifacts_store_check(s, &e) < 0) {
        fprintf(stderr, "s3_bench: %s\n", e.msg);
        return 1;
    }
    char id[33], rel[64];
    ids_hex32(id);
    snprintf(rel, sizeof rel, "obj-%.8s", id);
    artifacts_writer *w = NULL;
    double t0 = now();
    bool unsized = argc > 2 && strcmp(argv[2], "unsized") == 0;
    int rc = artifacts_writer_open_sized(s, rel, unsized ? -1 : (int64_t)mib * CHUNK, &w, &e);
    for (long i = 0; rc == 0 && i < mib; i++)
        rc = artifacts_writer_write_all(w, chunk, CHUNK, &e);
    if (rc == 0)
        rc = artifacts_writer_commit(w, &e);
    else
        artifacts_writer_abort(w);
    double t1 = now();
    if (rc < 0) {
        fprintf(stderr, "s3_bench: upload: %s\n", e.msg);
        return 1;
    }
    artifacts_reader *r = NULL;
    uint64_t size, got = 0;
    if (artifacts_reader_open(s, rel, 0, UINT64_MAX, &r, &size, &e) < 0) {
        fprintf(stderr, "s3_bench: %s\n", e.msg);
        return 1;
    }
    artifacts_reader_notify(r, on_ready, NULL);
    for (;;) {
        ssize_t k = artifacts_reader_read(r, in, CHUNK, &e);
        if (k == ARTIFACTS_AGAIN) {
            pthread_mutex_lock(&mu);
            while (!fired)
                pthread_cond_wait(&cv, &mu);
            fired = 0;
            pthread_mutex_unlock(&mu);
            continue;
        }
        if (k < 0) {
            fprintf(stderr, "s3_bench: download: %s\n", e.msg);
            return 1;
        }
        if (k == 0)
            break;
        got += (uint64_t)k;
    }
    artifacts_reader_close(r);
    double t2 = now();
    artifacts_store_delete(s, rel, &e);
    artifacts_store_free(s);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double mb = (double)mib * 1048576.0 / 1e6;
    printf("s3 %ld MiB: upload %.1f MB/s, download %.1f MB/s (%s bytes back), peak RSS %ld MiB\n",
           mib, mb / (t1 - t0), mb / (t2 - t1), got == size ? "all" : "NOT all",
           ru.ru_maxrss / 1024);
    free(chunk);
    free(in);
    return got == size ? 0 : 1;
}
