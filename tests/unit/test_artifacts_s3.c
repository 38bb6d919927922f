/* test_artifacts_s3.c - the S3 artifact store against a real S3 server.
 *
 * Needs MLFLOW_S3_ENDPOINT_URL and credentials in the environment, as
 * `eval "$(scripts/swift.sh start)"` prints them (scripts/test.sh does
 * this); CAIRN_TEST_S3 may name the bucket URI (default s3://cairn-test).
 * Without an endpoint it says why and runs nothing. Every test works under
 * its own random prefix, so runs never see each other's keys. The last
 * test stops the Swift proxy in the middle of an upload (CAIRN_SWIFT_DIR
 * from swift.sh) and starts it again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "artifacts/s3.h"
#include "artifacts/store.h"
#include "util/misc.h"
#include "util/sbuf.h"

#define MIB (1u << 20)
#define WAIT_SECS 60 /* longest wait for a notify before the test fails */

static char bucket_uri[512];
static char run_prefix[64];

/* ---- helpers ---- */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fired;
} waiter;

static void waiter_init(waiter *w)
{
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->fired = 0;
}

static void waiter_fire(void *arg)
{
    waiter *w = arg;
    pthread_mutex_lock(&w->mu);
    w->fired++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void waiter_wait(waiter *w)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WAIT_SECS;
    pthread_mutex_lock(&w->mu);
    while (w->fired == 0)
        assert_int_not_equal(pthread_cond_timedwait(&w->cv, &w->mu, &until), ETIMEDOUT);
    w->fired = 0;
    pthread_mutex_unlock(&w->mu);
}

/* A store on the test bucket with this run's prefix plus sub. */
static artifacts_store *open_store(const char *sub)
{
    char uri[1024];
    snprintf(uri, sizeof uri, "%s/%s/%s", bucket_uri, run_prefix, sub);
    artifacts_store *s = NULL;
    cerr e = {0};
    int rc = artifacts_store_open(uri, &s, &e);
    if (rc != 0)
        fail_msg("open %s: %s", uri, e.msg);
    /* The sizes below are counted in parts of S3's smallest size we allow,
     * whatever the default is. */
    s3_test_set_part_size(s, (size_t)S3_PART_MB_MIN * MIB);
    return s;
}

/* Deterministic bytes, so a failure can be reproduced. */
static void fill_bytes(unsigned char *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)x;
    }
}

static void sha256(const void *p, size_t n, unsigned char out[32])
{
    unsigned int len = 0;
    EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

/* Writes data through the non-blocking write (waiting on notify when it
 * takes 0 bytes) in chunks of chunk bytes, then commits; the writer is
 * opened with the size hint (-1: unknown). */
static int put_async_sized(artifacts_store *s, const char *rel, int64_t hint, const void *data,
                           size_t n, size_t chunk, cerr *e)
{
    artifacts_writer *w = NULL;
    if (artifacts_writer_open_sized(s, rel, hint, &w, e) < 0)
        return -1;
    waiter wt;
    waiter_init(&wt);
    artifacts_writer_notify(w, waiter_fire, &wt);
    const char *p = data;
    size_t left = n;
    while (left > 0) {
        size_t k = left < chunk ? left : chunk;
        ssize_t got = artifacts_writer_write(w, p, k, e);
        if (got < 0) {
            artifacts_writer_abort(w);
            return -1;
        }
        if (got == 0) {
            waiter_wait(&wt);
            continue;
        }
        p += got;
        left -= (size_t)got;
    }
    return artifacts_writer_commit(w, e);
}

static int put_async(artifacts_store *s, const char *rel, const void *data, size_t n,
                     size_t chunk, cerr *e)
{
    return put_async_sized(s, rel, -1, data, n, chunk, e);
}

static void put(artifacts_store *s, const char *rel, const void *data, size_t n)
{
    artifacts_writer *w = NULL;
    cerr e = {0};
    if (artifacts_writer_open(s, rel, &w, &e) < 0 ||
        artifacts_writer_write_all(w, data, n, &e) < 0) {
        artifacts_writer_abort(w);
        fail_msg("put %s: %s", rel, e.msg);
    }
    if (artifacts_writer_commit(w, &e) < 0)
        fail_msg("commit %s: %s", rel, e.msg);
}

static void put_str(artifacts_store *s, const char *rel, const char *text)
{
    put(s, rel, text, strlen(text));
}

/* Reads [off, off+len) whole into a heap buffer (*out, *n). */
static int get(artifacts_store *s, const char *rel, uint64_t off, uint64_t len,
               unsigned char **out, size_t *n, uint64_t *size, cerr *e)
{
    artifacts_reader *r = NULL;
    *out = NULL;
    *n = 0;
    if (artifacts_reader_open(s, rel, off, len, &r, size, e) < 0)
        return -1;
    assert_int_equal(artifacts_reader_fd(r), -1);
    waiter wt;
    waiter_init(&wt);
    artifacts_reader_notify(r, waiter_fire, &wt);
    sbuf b = SBUF_INIT;
    char chunk[65536];
    int rc = 0;
    for (;;) {
        ssize_t k = artifacts_reader_read(r, chunk, sizeof chunk, e);
        if (k == ARTIFACTS_AGAIN) {
            waiter_wait(&wt);
            continue;
        }
        if (k < 0)
            rc = -1;
        if (k <= 0)
            break;
        sbuf_append(&b, chunk, (size_t)k);
    }
    artifacts_reader_close(r);
    *n = b.len;
    *out = (unsigned char *)sbuf_detach(&b);
    return rc;
}

static bool exists(artifacts_store *s, const char *rel)
{
    artifacts_reader *r = NULL;
    uint64_t size;
    cerr e = {0};
    if (artifacts_reader_open(s, rel, 0, UINT64_MAX, &r, &size, &e) == 0) {
        artifacts_reader_close(r);
        return true;
    }
    assert_int_equal(e.code, CERR_RESOURCE_DOES_NOT_EXIST);
    return false;
}

static json_t *list(artifacts_store *s, const char *rel, const char *prefix)
{
    json_t *out = NULL;
    cerr e = {0};
    if (artifacts_store_list(s, rel, prefix, &out, &e) < 0)
        fail_msg("list %s: %s", rel, e.msg);
    return out;
}

/* "name/ name2:5 ..." of a listing, for one assert. */
static char *list_str(json_t *arr)
{
    sbuf b = SBUF_INIT;
    size_t i;
    json_t *fi;
    json_array_foreach(arr, i, fi) {
        const char *path = json_string_value(json_object_get(fi, "path"));
        if (json_is_true(json_object_get(fi, "is_dir")))
            sbuf_printf(&b, "%s%s/", i ? " " : "", path);
        else
            sbuf_printf(&b, "%s%s:%lld", i ? " " : "", path,
                        (long long)json_integer_value(json_object_get(fi, "file_size")));
    }
    json_decref(arr);
    return sbuf_detach(&b);
}

static void assert_list(artifacts_store *s, const char *rel, const char *prefix,
                        const char *want)
{
    char *got = list_str(list(s, rel, prefix));
    assert_string_equal(got ? got : "", want);
    free(got);
}

/* ---- tests ---- */

static void test_small_round_trip(void **state)
{
    (void)state;
    artifacts_store *s = open_store("small");
    cerr e = {0};
    assert_int_equal(artifacts_store_check(s, &e), 0);
    put_str(s, "model/MLmodel", "flavors: {}\n");
    put(s, "empty.txt", "", 0);
    unsigned char *got;
    size_t n;
    uint64_t size;
    assert_int_equal(get(s, "model/MLmodel", 0, UINT64_MAX, &got, &n, &size, &e), 0);
    assert_int_equal(size, 12);
    assert_int_equal(n, 12);
    assert_memory_equal(got, "flavors: {}\n", 12);
    free(got);
    assert_int_equal(get(s, "empty.txt", 0, UINT64_MAX, &got, &n, &size, &e), 0);
    assert_int_equal(size, 0);
    assert_int_equal(n, 0);
    free(got);
    /* Overwrite: the new content replaces the old. */
    put_str(s, "model/MLmodel", "v2");
    assert_int_equal(get(s, "model/MLmodel", 0, UINT64_MAX, &got, &n, &size, &e), 0);
    assert_int_equal(n, 2);
    free(got);
    artifacts_store_free(s);
}

static void test_multipart_round_trip(void **state)
{
    (void)state;
    artifacts_store *s = open_store("multi");
    size_t n = 20 * MIB + 12345; /* 3 parts of 8 MiB, the last short */
    unsigned char *data = malloc(n), want[32], have[32];
    assert_non_null(data);
    fill_bytes(data, n, 7);
    sha256(data, n, want);
    cerr e = {0};
    /* Odd chunks through the non-blocking write, waiting on notify. */
    if (put_async(s, "big.bin", data, n, 3 * MIB + 17, &e) < 0)
        fail_msg("multipart put: %s", e.msg);
    unsigned char *got;
    size_t gn;
    uint64_t size;
    assert_int_equal(get(s, "big.bin", 0, UINT64_MAX, &got, &gn, &size, &e), 0);
    assert_int_equal(size, n);
    assert_int_equal(gn, n);
    sha256(got, gn, have);
    assert_memory_equal(want, have, 32);
    free(got);
    /* Exactly one part: a multipart upload of one part. */
    put(s, "one-part.bin", data, 8 * MIB);
    assert_int_equal(get(s, "one-part.bin", 0, UINT64_MAX, &got, &gn, &size, &e), 0);
    assert_int_equal(gn, 8 * MIB);
    assert_memory_equal(got, data, gn);
    free(got);
    assert_list(s, "", NULL, "big.bin:20983865 one-part.bin:8388608");
    free(data);
    artifacts_store_free(s);
}

static void test_ranged_reads(void **state)
{
    (void)state;
    artifacts_store *s = open_store("range");
    size_t n = 100000;
    unsigned char *data = malloc(n);
    fill_bytes(data, n, 3);
    put(s, "r.bin", data, n);
    struct {
        uint64_t off, len;
        size_t want;
    } cases[] = {{0, 10, 10}, {1000, 5000, 5000}, {99990, UINT64_MAX, 10},
                 {99999, 1, 1}, {100000, UINT64_MAX, 0}, {0, UINT64_MAX, 100000},
                 {5, 0, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        unsigned char *got;
        size_t gn;
        uint64_t size;
        cerr e = {0};
        assert_int_equal(get(s, "r.bin", cases[i].off, cases[i].len, &got, &gn, &size, &e), 0);
        assert_int_equal(size, n);
        assert_int_equal(gn, cases[i].want);
        if (gn)
            assert_memory_equal(got, data + cases[i].off, gn);
        free(got);
    }
    artifacts_reader *r = NULL;
    uint64_t size;
    cerr e = {0};
    assert_int_equal(artifacts_reader_open(s, "r.bin", 100001, 1, &r, &size, &e), -1);
    assert_int_equal(e.code, CERR_INVALID_PARAMETER_VALUE);
    /* A reader closed before the end stops its transfer. */
    assert_int_equal(artifacts_reader_open(s, "r.bin", 0, UINT64_MAX, &r, &size, &e), 0);
    artifacts_reader_close(r);
    free(data);
    artifacts_store_free(s);
}

static void test_missing_and_folder(void **state)
{
    (void)state;
    artifacts_store *s = open_store("missing");
    put_str(s, "dir/file", "x");
    artifacts_reader *r = NULL;
    uint64_t size;
    cerr e = {0};
    assert_int_equal(artifacts_reader_open(s, "nope/x.txt", 0, UINT64_MAX, &r, &size, &e), -1);
    assert_int_equal(e.code, CERR_RESOURCE_DOES_NOT_EXIST);
    assert_string_equal(e.msg, "No such file or directory: 'nope/x.txt'");
    assert_int_equal(artifacts_reader_open(s, "dir", 0, UINT64_MAX, &r, &size, &e), -1);
    assert_int_equal(e.code, CERR_INVALID_PARAMETER_VALUE);
    /* Paths are checked before any request. */
    const char *bad[] = {"../x", "a/../../x", "/etc/passwd", "%2e%2e/x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        artifacts_writer *w = NULL;
        json_t *out = NULL;
        assert_int_equal(artifacts_reader_open(s, bad[i], 0, 1, &r, &size, &e), -1);
        assert_int_equal(e.code, CERR_INVALID_PARAMETER_VALUE);
        assert_int_equal(artifacts_writer_open(s, bad[i], &w, &e), -1);
        assert_int_equal(e.code, CERR_INVALID_PARAMETER_VALUE);
        assert_int_equal(artifacts_store_list(s, bad[i], NULL, &out, &e), -1);
        assert_int_equal(artifacts_store_delete(s, bad[i], &e), -1);
    }
    artifacts_writer *w = NULL;
    assert_int_equal(artifacts_writer_open(s, "dir/", &w, &e), -1);
    assert_int_equal(e.code, CERR_INVALID_PARAMETER_VALUE);
    assert_int_equal(artifacts_writer_open(s, "", &w, &e), -1);
    assert_int_equal(e.code, CERR_INVALID_PARAMETER_VALUE);
    artifacts_store_free(s);
}

static void test_list(void **state)
{
    (void)state;
    artifacts_store *s = open_store("list");
    put_str(s, "a/x", "1");
    put_str(s, "a/y", "22");
    put_str(s, "a/sub/z", "333");
    put_str(s, "b", "4444");
    assert_list(s, "", NULL, "a/ b:4");
    assert_list(s, "a", "a", "a/sub/ a/x:1 a/y:2");
    assert_list(s, "a/", "", "sub/ x:1 y:2");
    assert_list(s, "b", NULL, "");       /* a file lists as nothing */
    assert_list(s, "nowhere", NULL, ""); /* so does a missing folder */
    /* A folder marker (the key "<dir>/", as consoles create) is no entry. */
    s3_store *ss = (s3_store *)s;
    sbuf key = SBUF_INIT;
    sbuf_printf(&key, "%s/a/", ss->prefix);
    s3_call c = {.method = "PUT", .key = key.data, .body = "", .has_body = true};
    s3_resp r;
    cerr e = {0};
    assert_int_equal(s3_request(ss, &c, &r, &e), 0);
    assert_int_equal(r.status, 200);
    s3_resp_free(&r);
    sbuf_free(&key);
    assert_list(s, "a", NULL, "sub/ x:1 y:2");
    /* Continuation: pages of 2 keys. */
    for (int i = 0; i < 7; i++) {
        char name[32];
        snprintf(name, sizeof name, "many/f%d", i);
        put_str(s, name, "z");
    }
    put_str(s, "many/d1/q", "z");
    put_str(s, "many/d2/q", "z");
    s3_test_set_list_max_keys(s, 2);
    assert_list(s, "many", NULL, "d1/ d2/ f0:1 f1:1 f2:1 f3:1 f4:1 f5:1 f6:1");
    s3_test_set_list_max_keys(s, S3_LIST_MAX_KEYS);
    artifacts_store_free(s);
}

static void test_delete(void **state)
{
    (void)state;
    artifacts_store *s = open_store("delete");
    put_str(s, "f.txt", "x");
    put_str(s, "d/1", "x");
    put_str(s, "d/2", "x");
    put_str(s, "d/e/3", "x");
    put_str(s, "d/e/f/4", "x");
    put_str(s, "dx", "x"); /* shares the prefix "d" but is not below "d/" */
    cerr e = {0};
    assert_int_equal(artifacts_store_delete(s, "f.txt", &e), 0);
    assert_false(exists(s, "f.txt"));
    assert_int_equal(artifacts_store_delete(s, "f.txt", &e), 0); /* missing: no error */
    s3_test_set_list_max_keys(s, 2); /* several pages of DeleteObjects */
    assert_int_equal(artifacts_store_delete(s, "d", &e), 0);
    s3_test_set_list_max_keys(s, S3_LIST_MAX_KEYS);
    assert_list(s, "", NULL, "dx:1");
    assert_int_equal(artifacts_store_delete(s, "", &e), -1);
    assert_int_equal(e.code, CERR_INVALID_PARAMETER_VALUE);
    assert_int_equal(artifacts_store_delete(s, "/", &e), -1);
    artifacts_store_free(s);
}

static void test_keys_needing_encoding(void **state)
{
    (void)state;
    artifacts_store *s = open_store("enc oded+dir");
    const char *names[] = {"with space.txt", "plus+sign", "per%cent%20x", "ünï cødé ✓",
                           "a=b&c;d,e@f$g'h(i)!*", "tilde~under_dash-dot.x"};
    size_t nn = sizeof names / sizeof *names;
    for (size_t i = 0; i < nn; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "d %zu/%s", i, names[i]);
        put_str(s, rel, names[i]);
        unsigned char *got;
        size_t n;
        uint64_t size;
        cerr e = {0};
        if (get(s, rel, 0, UINT64_MAX, &got, &n, &size, &e) < 0)
            fail_msg("get %s: %s", rel, e.msg);
        assert_int_equal(n, strlen(names[i]));
        assert_memory_equal(got, names[i], n);
        free(got);
        char dir[32], want[512];
        snprintf(dir, sizeof dir, "d %zu", i);
        snprintf(want, sizeof want, "%s/%s:%zu", dir, names[i], strlen(names[i]));
        assert_list(s, dir, dir, want);
        assert_int_equal(artifacts_store_delete(s, dir, &e), 0);
        assert_false(exists(s, rel));
    }
    artifacts_store_free(s);
}

/* Sets name to value (NULL: unset), returning the old value to restore. */
static char *swap_env(const char *name, const char *value)
{
    const char *old = getenv(name);
    char *saved = old ? strdup(old) : NULL;
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
    return saved;
}

static void restore_env(const char *name, char *saved)
{
    if (saved)
        setenv(name, saved, 1);
    else
        unsetenv(name);
    free(saved);
}

static void test_check_errors(void **state)
{
    (void)state;
    const char *secret = "Wr0ng-S3cret-Value";
    const char *endpoint = getenv("MLFLOW_S3_ENDPOINT_URL");
    char *saved = swap_env("AWS_SECRET_ACCESS_KEY", secret);
    artifacts_store *s = open_store("check");
    restore_env("AWS_SECRET_ACCESS_KEY", saved);
    cerr e = {0};
    assert_int_equal(artifacts_store_check(s, &e), -1);
    assert_int_equal(e.code, CERR_INTERNAL_ERROR);
    char want[1024];
    snprintf(want, sizeof want, "S3 refused the credentials for bucket '%s' at %s: ",
             bucket_uri + 5, endpoint);
    if (strncmp(e.msg, want, strlen(want)) != 0)
        fail_msg("got: %s", e.msg);
    assert_non_null(strstr(e.msg, "SignatureDoesNotMatch"));
    assert_null(strstr(e.msg, secret));
    /* Any other request says the S3 code and message, never the secret. */
    artifacts_writer *w = NULL;
    assert_int_equal(artifacts_writer_open(s, "x", &w, &e), 0);
    assert_int_equal(artifacts_writer_write_all(w, "abc", 3, &e), 0);
    assert_int_equal(artifacts_writer_commit(w, &e), -1);
    assert_int_equal(e.code, CERR_INTERNAL_ERROR);
    assert_non_null(strstr(e.msg, "S3 PUT s3://"));
    assert_non_null(strstr(e.msg, "failed: 403 SignatureDoesNotMatch: "));
    assert_null(strstr(e.msg, secret));
    artifacts_store_free(s);

    artifacts_store *m = NULL;
    assert_int_equal(artifacts_store_open("s3://cairn-no-such-bucket/p", &m, &e), 0);
    assert_int_equal(artifacts_store_check(m, &e), -1);
    snprintf(want, sizeof want, "S3 bucket 'cairn-no-such-bucket' does not exist at %s",
             endpoint);
    assert_string_equal(e.msg, want);
    artifacts_store_free(m);

    saved = swap_env("MLFLOW_S3_ENDPOINT_URL", "http://127.0.0.1:1");
    assert_int_equal(artifacts_store_open("s3://cairn-test", &m, &e), 0);
    restore_env("MLFLOW_S3_ENDPOINT_URL", saved);
    assert_int_equal(artifacts_store_check(m, &e), -1);
    assert_non_null(strstr(e.msg, "Cannot reach S3 at http://127.0.0.1:1 for bucket 'cairn-test': "));
    artifacts_store_free(m);

    saved = swap_env("CAIRN_S3_PART_MB", "4");
    assert_int_equal(artifacts_store_open("s3://cairn-test", &m, &e), -1);
    restore_env("CAIRN_S3_PART_MB", saved);
    assert_int_equal(artifacts_store_open("gs://bucket/x", &m, &e), -1);
    assert_int_equal(e.code, CERR_NOT_IMPLEMENTED);
}

/* The multipart uploads in progress under the store's prefix, as text. */
static char *pending_uploads(artifacts_store *st)
{
    s3_store *s = (s3_store *)st;
    sbuf q = SBUF_INIT;
    sbuf_puts(&q, "prefix=");
    s3_encode(&q, s->prefix, false);
    sbuf_puts(&q, "&uploads=");
    s3_call c = {.method = "GET", .query = q.data};
    s3_resp r;
    cerr e = {0};
    assert_int_equal(s3_request(s, &c, &r, &e), 0);
    assert_int_equal(r.status, 200);
    char *body = sbuf_detach(&r.body);
    s3_resp_free(&r);
    sbuf_free(&q);
    return body;
}

static void test_abort_leaves_nothing(void **state)
{
    (void)state;
    artifacts_store *s = open_store("abort");
    /* Every buffer handed and one more byte: write_all must wait for a
     * buffer to come back, so the upload is begun when it returns. */
    size_t n = S3_WRITE_BUFS * 8 * MIB + 1;
    unsigned char *data = malloc(n);
    fill_bytes(data, n, 11);
    artifacts_writer *w = NULL;
    cerr e = {0};
    assert_int_equal(artifacts_writer_open(s, "gone.bin", &w, &e), 0);
    assert_int_equal(artifacts_writer_write_all(w, data, n, &e), 0);
    /* write_all returned, so a buffer came back: a part is up. */
    char *up = pending_uploads(s);
    assert_non_null(strstr(up, "gone.bin"));
    free(up);
    artifacts_writer_abort(w);
    assert_false(exists(s, "gone.bin"));
    up = pending_uploads(s);
    assert_null(strstr(up, "gone.bin"));
    free(up);
    /* An abort before anything filled a part sends nothing at all. */
    assert_int_equal(artifacts_writer_open(s, "small.bin", &w, &e), 0);
    assert_int_equal(artifacts_writer_write_all(w, data, 100, &e), 0);
    artifacts_writer_abort(w);
    assert_false(exists(s, "small.bin"));
    /* An abort does not touch the object already there. */
    put_str(s, "kept.txt", "old");
    assert_int_equal(artifacts_writer_open(s, "kept.txt", &w, &e), 0);
    assert_int_equal(artifacts_writer_write_all(w, data, n, &e), 0);
    artifacts_writer_abort(w);
    unsigned char *got;
    size_t gn;
    uint64_t size;
    assert_int_equal(get(s, "kept.txt", 0, UINT64_MAX, &got, &gn, &size, &e), 0);
    assert_int_equal(gn, 3);
    free(got);
    free(data);
    artifacts_store_free(s);
}


/* ---- uploads of a known size (streamed part by part) ---- */

/* The object's ETag (new), by a HEAD. */
static char *etag_of(artifacts_store *st, const char *rel)
{
    s3_store *s = (s3_store *)st;
    sbuf key = SBUF_INIT;
    s3_key(s, rel, &key);
    s3_call c = {.method = "HEAD", .key = key.data};
    s3_resp r;
    cerr e = {0};
    assert_int_equal(s3_request(s, &c, &r, &e), 0);
    assert_int_equal(r.status, 200);
    char *tag = sbuf_detach(&r.etag);
    s3_resp_free(&r);
    sbuf_free(&key);
    assert_non_null(tag);
    return tag;
}

/* Puts data with its size known, reads it back and compares. */
static void sized_round_trip(artifacts_store *s, const char *rel, const unsigned char *data,
                             size_t n, size_t chunk)
{
    cerr e = {0};
    if (put_async_sized(s, rel, (int64_t)n, data, n, chunk, &e) < 0)
        fail_msg("sized put %s (%zu bytes): %s", rel, n, e.msg);
    unsigned char *got, want[32], have[32];
    size_t gn;
    uint64_t size;
    assert_int_equal(get(s, rel, 0, UINT64_MAX, &got, &gn, &size, &e), 0);
    assert_int_equal(size, n);
    assert_int_equal(gn, n);
    sha256(data, n, want);
    sha256(got, gn, have);
    assert_memory_equal(want, have, 32);
    free(got);
}

static void test_sized_round_trip(void **state)
{
    (void)state;
    artifacts_store *s = open_store("sized");
    size_t n = 4 * 8 * MIB + 54321; /* 5 parts of 8 MiB, the last short */
    unsigned char *data = malloc(n);
    assert_non_null(data);
    fill_bytes(data, n, 21);
    /* Odd chunks, larger and smaller than the ring. */
    sized_round_trip(s, "five-parts.bin", data, n, 5 * MIB + 7);
    sized_round_trip(s, "five-parts-small-writes.bin", data, n, 100 * 1000 + 3);
    /* Exactly two parts; exactly one part (one PutObject); a few bytes. */
    sized_round_trip(s, "two-parts.bin", data, 16 * MIB, 1 * MIB);
    sized_round_trip(s, "one-part.bin", data, 8 * MIB, 3 * MIB);
    sized_round_trip(s, "tiny.txt", data, 5, 5);
    /* Zero bytes: an empty object, overwriting one with content. */
    put_str(s, "empty.bin", "not yet empty");
    sized_round_trip(s, "empty.bin", data, 0, 1);
    assert_list(s, "", NULL,
                "empty.bin:0 five-parts-small-writes.bin:33608753 five-parts.bin:33608753 "
                "one-part.bin:8388608 tiny.txt:5 two-parts.bin:16777216");
    /* Parts as planned: a multipart object's ETag ends in "-<parts>". */
    char *tag = etag_of(s, "five-parts.bin");
    assert_non_null(strstr(tag, "-5\""));
    free(tag);
    tag = etag_of(s, "two-parts.bin");
    assert_non_null(strstr(tag, "-2\""));
    free(tag);
    tag = etag_of(s, "one-part.bin");
    assert_null(strchr(tag, '-'));
    free(tag);
    /* No multipart upload left behind by any of them. */
    char *up = pending_uploads(s);
    assert_null(strstr(up, "<Key>"));
    free(up);
    free(data);
    artifacts_store_free(s);
}

/* A size hint that the bytes do not match: refused, nothing visible, the
 * old object kept, no upload left. */
static void test_sized_mismatch(void **state)
{
    (void)state;
    artifacts_store *s = open_store("mismatch");
    size_t n = 3 * 8 * MIB + 99;
    unsigned char *data = malloc(n + 1);
    assert_non_null(data);
    fill_bytes(data, n + 1, 31);
    struct {
        const char *rel;
        int64_t hint;
        size_t bytes;
    } cases[] = {
        {"short-multi.bin", (int64_t)n + 1, n}, /* fewer bytes than declared: at commit */
        {"long-multi.bin", (int64_t)n - 1, n},  /* more: the write past it fails */
        {"short-one.bin", 1000, 999},           /* one PutObject, a byte short */
        {"long-one.bin", 1000, 1001},
        {"long-empty.bin", 0, 1},
        {"kept.txt", 2 * 8 * MIB, 8 * MIB},     /* over an object already there */
    };
    put_str(s, "kept.txt", "old");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cerr e = {0};
        int rc = put_async_sized(s, cases[i].rel, cases[i].hint, data, cases[i].bytes, 3 * MIB,
                                 &e);
        if (rc == 0)
            fail_msg("%s: %zu bytes for a size of %lld were accepted", cases[i].rel,
                     cases[i].bytes, (long long)cases[i].hint);
        assert_int_equal(e.code, CERR_INVALID_PARAMETER_VALUE);
        assert_non_null(strstr(e.msg, "declared"));
        if (strcmp(cases[i].rel, "kept.txt") != 0)
            assert_false(exists(s, cases[i].rel));
    }
    unsigned char *got;
    size_t gn;
    uint64_t size;
    cerr e = {0};
    assert_int_equal(get(s, "kept.txt", 0, UINT64_MAX, &got, &gn, &size, &e), 0);
    assert_int_equal(gn, 3);
    assert_memory_equal(got, "old", 3);
    free(got);
    char *up = pending_uploads(s);
    assert_null(strstr(up, "<Key>"));
    free(up);
    /* An abort in the middle of a streamed multipart upload. */
    artifacts_writer *w = NULL;
    assert_int_equal(artifacts_writer_open_sized(s, "aborted.bin", (int64_t)n, &w, &e), 0);
    assert_int_equal(artifacts_writer_write_all(w, data, 2 * 8 * MIB + 5, &e), 0);
    artifacts_writer_abort(w);
    assert_false(exists(s, "aborted.bin"));
    up = pending_uploads(s);
    assert_null(strstr(up, "aborted.bin"));
    free(up);
    free(data);
    artifacts_store_free(s);
}

/* Several uploads and downloads at once on one store: the handle pool and
 * the per-transfer threads must not mix them up. */
#define PAR_N 4

typedef struct {
    artifacts_store *s;
    int i;
    int rc;
    char msg[CERR_MSG_MAX];
} par_job;

static void *par_main(void *arg)
{
    par_job *j = arg;
    size_t n = 9 * MIB + (size_t)j->i * 1000;
    unsigned char *data = malloc(n), want[32], have[32];
    fill_bytes(data, n, 100 + (uint32_t)j->i);
    sha256(data, n, want);
    char rel[32];
    snprintf(rel, sizeof rel, "p%d.bin", j->i);
    cerr e = {0};
    /* Half of them with their size known (streamed), half buffered. */
    j->rc = put_async_sized(j->s, rel, j->i % 2 ? (int64_t)n : -1, data, n, 1 * MIB + 3, &e);
    unsigned char *got = NULL;
    size_t gn = 0;
    uint64_t size;
    if (j->rc == 0)
        j->rc = get(j->s, rel, 0, UINT64_MAX, &got, &gn, &size, &e);
    if (j->rc == 0) {
        sha256(got, gn, have);
        if (gn != n || memcmp(want, have, 32) != 0) {
            j->rc = -1;
            snprintf(e.msg, sizeof e.msg, "%s came back different (%zu bytes)", rel, gn);
        }
    }
    snprintf(j->msg, sizeof j->msg, "%s", e.msg);
    free(got);
    free(data);
    return NULL;
}

static void test_parallel_transfers(void **state)
{
    (void)state;
    artifacts_store *s = open_store("parallel");
    pthread_t th[PAR_N];
    par_job jobs[PAR_N];
    for (int i = 0; i < PAR_N; i++) {
        jobs[i] = (par_job){.s = s, .i = i};
        assert_int_equal(pthread_create(&th[i], NULL, par_main, &jobs[i]), 0);
    }
    for (int i = 0; i < PAR_N; i++) {
        pthread_join(th[i], NULL);
        if (jobs[i].rc != 0)
            fail_msg("transfer %d: %s", i, jobs[i].msg);
    }
    artifacts_store_free(s);
}

/* ---- Swift stopped in the middle of an upload ---- */

static pid_t proxy_pid(const char *dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/run/proxy.pid", dir);
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (f) {
        if (fscanf(f, "%ld", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    return (pid_t)pid;
}

/* Starts the proxy again as swift.sh does, so its stop finds the new PID. */
static void proxy_restart(const char *dir)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "setsid swift-proxy-server '%s/etc/proxy-server.conf' -v >>'%s/log/proxy.log' 2>&1 "
             "</dev/null & echo $! >'%s/run/proxy.pid'; "
             "for i in $(seq 300); do curl -s -o /dev/null -m 1 -w '%%{http_code}' "
             "\"$MLFLOW_S3_ENDPOINT_URL/healthcheck\" | grep -q 200 && exit 0; sleep 0.1; done; "
             "exit 1",
             dir, dir, dir);
    assert_int_equal(system(cmd), 0);
}

static void test_server_stopped_mid_upload(void **state)
{
    (void)state;
    const char *dir = getenv("CAIRN_SWIFT_DIR");
    if (dir == NULL || dir[0] == '\0')
        skip(); /* a real S3 elsewhere: nothing here may stop it */
    artifacts_store *s = open_store("stopped");
    size_t part = 8 * MIB;
    unsigned char *data = malloc(part);
    fill_bytes(data, part, 5);
    artifacts_writer *w = NULL;
    cerr e = {0};
    assert_int_equal(artifacts_writer_open(s, "cut.bin", &w, &e), 0);
    assert_int_equal(artifacts_writer_write_all(w, data, part, &e), 0); /* part 1 goes */
    pid_t pid = proxy_pid(dir);
    assert_true(pid > 0);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int rc = 0;
    for (int i = 0; i < 4 && rc == 0; i++) /* more parts, into the void */
        rc = artifacts_writer_write_all(w, data, part, &e);
    if (rc == 0)
        rc = artifacts_writer_commit(w, &e);
    else
        artifacts_writer_abort(w);
    assert_int_equal(rc, -1);
    assert_int_equal(e.code, CERR_INTERNAL_ERROR);
    assert_non_null(strstr(e.msg, "S3 "));
    proxy_restart(dir);
    assert_false(exists(s, "cut.bin"));
    free(data);
    artifacts_store_free(s);
}

int main(void)
{
    const char *endpoint = getenv("MLFLOW_S3_ENDPOINT_URL");
    if (endpoint == NULL || endpoint[0] == '\0') {
        printf("# test_artifacts_s3: skipped: MLFLOW_S3_ENDPOINT_URL is not set "
               "(eval \"$(scripts/swift.sh start)\" starts a Swift with S3)\n");
        return 0;
    }
    const char *uri = getenv("CAIRN_TEST_S3");
    snprintf(bucket_uri, sizeof bucket_uri, "%s", uri && uri[0] ? uri : "s3://cairn-test");
    char id[33];
    ids_hex32(id);
    snprintf(run_prefix, sizeof run_prefix, "unit-%.12s", id);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_round_trip),
        cmocka_unit_test(test_multipart_round_trip),
        cmocka_unit_test(test_ranged_reads),
        cmocka_unit_test(test_missing_and_folder),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_keys_needing_encoding),
        cmocka_unit_test(test_check_errors),
        cmocka_unit_test(test_abort_leaves_nothing),
        cmocka_unit_test(test_sized_round_trip),
        cmocka_unit_test(test_sized_mismatch),
        cmocka_unit_test(test_parallel_transfers),
        cmocka_unit_test(test_server_stopped_mid_upload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
