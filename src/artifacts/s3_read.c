/* s3_read.c - the S3 reader: one ranged GET streamed by a background thread.
 *
 * Opening asks for the object's size with a HEAD (so a missing object, a
 * folder or an offset past the end are errors before any byte is sent);
 * then a thread GETs bytes [offset, offset + length) into a ring buffer of
 * S3_READ_BUF bytes. The thread waits while the ring is full, so memory
 * stays bounded however slowly the caller reads; the caller never waits:
 * an empty ring is ARTIFACTS_AGAIN and the notify function is called when
 * bytes arrive. */
#include "s3.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../util/path.h"

typedef struct s3_reader {
    artifacts_reader base;
    s3_store *s;
    char *key;
    uint64_t offset, length; /* the range, clipped to the object */
    bool whole;              /* no Range header: the answer is 200, not 206 */
    char *ring;
    size_t head, count;      /* the bytes not read yet */
    uint64_t received;
    CURL *h;                 /* the thread's, for the status in the sink */
    bool checked;            /* the status was checked at the first bytes */
    pthread_mutex_t mu;
    pthread_cond_t space;    /* the thread waits for room in the ring */
    pthread_t th;
    bool started;
    bool done, failed, closing;
    cerr err;
    artifacts_notify_fn fn;
    void *arg;
    bool want;
} s3_reader;

/* Takes the notify function if a read is waiting for it. Locked. */
static artifacts_notify_fn s3_take_notify(s3_reader *r, void **arg)
{
    artifacts_notify_fn fn = r->want ? r->fn : NULL;
    *arg = r->arg;
    r->want = false;
    return fn;
}

static size_t s3_sink(const char *p, size_t n, void *arg)
{
    s3_reader *r = arg;
    if (!r->checked) {
        long status = 0;
        curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &status);
        r->checked = true;
        if (status != (r->whole ? 200 : 206)) {
            sbuf where = SBUF_INIT;
            s3_display(r->s, r->key, &where);
            pthread_mutex_lock(&r->mu);
            cerr_set(&r->err, CERR_INTERNAL_ERROR,
                     "S3 GET %s failed: answered %ld to a read of bytes %" PRIu64 "-%" PRIu64,
                     where.data, status, r->offset, r->offset + r->length - 1);
            r->failed = true;
            pthread_mutex_unlock(&r->mu);
            sbuf_free(&where);
            return 0;
        }
    }
    size_t done = 0;
    pthread_mutex_lock(&r->mu);
    while (done < n) {
        while (r->count == S3_READ_BUF && !r->closing)
            pthread_cond_wait(&r->space, &r->mu);
        if (r->closing)
            break;
        size_t tail = (r->head + r->count) % S3_READ_BUF;
        size_t k = S3_READ_BUF - r->count;
        if (k > S3_READ_BUF - tail)
            k = S3_READ_BUF - tail;
        if (k > n - done)
            k = n - done;
        memcpy(r->ring + tail, p + done, k);
        r->count += k;
        done += k;
        /* A waiting caller is woken for S3_READ_WAKE bytes at least (or a
         * full ring), not for each of curl's pieces: every wake-up costs
         * its connection a resume. The end of the transfer wakes it too. */
        if (r->count < S3_READ_WAKE && r->count < S3_READ_BUF)
            continue;
        void *fn_arg;
        artifacts_notify_fn fn = s3_take_notify(r, &fn_arg);
        if (fn) {
            pthread_mutex_unlock(&r->mu);
            fn(fn_arg);
            pthread_mutex_lock(&r->mu);
        }
    }
    r->received += done;
    pthread_mutex_unlock(&r->mu);
    return done;
}

static void *s3_reader_main(void *arg)
{
    s3_reader *r = arg;
    sbuf range = SBUF_INIT;
    if (!r->whole)
        sbuf_printf(&range, "bytes=%" PRIu64 "-%" PRIu64, r->offset, r->offset + r->length - 1);
    s3_call c = {.method = "GET", .key = r->key, .range = r->whole ? NULL : range.data,
                 .sink = s3_sink, .sink_arg = r};
    s3_resp resp;
    cerr e;
    int rc = s3_perform(r->s, r->h, &c, &resp, &e);
    if (rc == 0 && (resp.status < 200 || resp.status >= 300))
        rc = s3_fail(r->s, "GET", r->key, &resp, &e);
    pthread_mutex_lock(&r->mu);
    if (rc == 0 && r->received != r->length) {
        sbuf where = SBUF_INIT;
        s3_display(r->s, r->key, &where);
        rc = cerr_set(&e, CERR_INTERNAL_ERROR,
                      "S3 GET %s failed: %" PRIu64 " bytes received of %" PRIu64, where.data,
                      r->received, r->length);
        sbuf_free(&where);
    }
    if (rc < 0 && !r->failed) {
        r->failed = true;
        r->err = e;
    }
    r->done = true;
    void *fn_arg;
    artifacts_notify_fn fn = s3_take_notify(r, &fn_arg);
    pthread_mutex_unlock(&r->mu);
    if (fn)
        fn(fn_arg);
    s3_resp_free(&resp);
    sbuf_free(&range);
    return NULL;
}

static void s3_reader_free(s3_reader *r)
{
    if (r->h) {
        if (r->failed || r->closing)
            curl_easy_cleanup(r->h);
        else
            s3_handle_put(r->s, r->h);
    }
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->space);
    free(r->ring);
    free(r->key);
    free(r);
}

/* HEAD: the object's size, or why it cannot be read. */
static int s3_head(s3_store *s, const char *rel, const char *key, uint64_t *size, cerr *e)
{
    s3_call c = {.method = "HEAD", .key = key};
    s3_resp r;
    int rc = s3_request(s, &c, &r, e);
    if (rc == 0 && r.status == 404) {
        bool folder = false;
        rc = s3_is_folder(s, key, &folder, e);
        if (rc == 0 && folder)
            rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Artifact '%s' is a directory", rel);
        else if (rc == 0)
            rc = cerr_set(e, CERR_RESOURCE_DOES_NOT_EXIST, "No such file or directory: '%s'",
                          rel);
    } else if (rc == 0 && (r.status != 200 || r.length < 0)) {
        rc = s3_fail(s, "HEAD", key, &r, e);
    }
    if (rc == 0)
        *size = (uint64_t)r.length;
    s3_resp_free(&r);
    return rc;
}

int s3_reader_open(artifacts_store *st, const char *rel, uint64_t offset, uint64_t length,
                   artifacts_reader **out, uint64_t *size, cerr *e)
{
    s3_store *s = (s3_store *)st;
    *out = NULL;
    sbuf norm = SBUF_INIT, key = SBUF_INIT;
    int rc = path_normalize_rel(rel, &norm, e);
    if (rc == 0 && norm.len == 0)
        rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Artifact '%s' is a directory", rel);
    if (rc == 0) {
        s3_key(s, norm.data, &key);
        rc = s3_head(s, rel, key.data, size, e);
    }
    if (rc == 0 && offset > *size)
        rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                      "Offset %" PRIu64 " is past the end of '%s' (%" PRIu64 " bytes)", offset,
                      rel, *size);
    sbuf_free(&norm);
    if (rc < 0) {
        sbuf_free(&key);
        return -1;
    }
    s3_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        abort();
    r->base.ops = s->base.ops;
    r->s = s;
    r->key = sbuf_detach(&key);
    r->offset = offset;
    r->length = length < *size - offset ? length : *size - offset;
    r->whole = offset == 0 && r->length == *size;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->space, NULL);
    if (r->length == 0) {
        r->done = true; /* nothing to fetch: no GET (a 0-byte range is a 416) */
    } else {
        if ((r->ring = malloc(S3_READ_BUF)) == NULL)
            abort();
        r->h = s3_handle_get(s);
        if (pthread_create(&r->th, NULL, s3_reader_main, r) != 0) {
            s3_reader_free(r);
            return cerr_set(e, CERR_INTERNAL_ERROR, "Cannot start the S3 download thread");
        }
        r->started = true;
    }
    *out = &r->base;
    return 0;
}

ssize_t s3_read(artifacts_reader *ar, void *buf, size_t n, cerr *e)
{
    s3_reader *r = (s3_reader *)ar;
    ssize_t rc;
    pthread_mutex_lock(&r->mu);
    if (r->count > 0) {
        size_t k = r->count < n ? r->count : n;
        size_t first = S3_READ_BUF - r->head < k ? S3_READ_BUF - r->head : k;
        memcpy(buf, r->ring + r->head, first);
        memcpy((char *)buf + first, r->ring, k - first);
        r->head = (r->head + k) % S3_READ_BUF;
        r->count -= k;
        pthread_cond_signal(&r->space);
        rc = (ssize_t)k;
    } else if (r->failed) {
        if (e)
            *e = r->err;
        rc = -1;
    } else if (r->done) {
        rc = 0;
    } else {
        r->want = true;
        rc = ARTIFACTS_AGAIN;
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

void s3_reader_notify(artifacts_reader *ar, artifacts_notify_fn fn, void *arg)
{
    s3_reader *r = (s3_reader *)ar;
    pthread_mutex_lock(&r->mu);
    r->fn = fn;
    r->arg = arg;
    /* A read answered AGAIN before fn was set: bytes (or the end) may have
     * come in between, with no one to tell. */
    bool now = fn && r->want && (r->count > 0 || r->done || r->failed);
    if (now)
        r->want = false;
    pthread_mutex_unlock(&r->mu);
    if (now)
        fn(arg);
}

int s3_reader_fd(artifacts_reader *ar)
{
    (void)ar;
    return -1;
}

void s3_reader_close(artifacts_reader *ar)
{
    s3_reader *r = (s3_reader *)ar;
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    bool early = !r->done;
    r->closing = early; /* a transfer stopped midway leaves its connection unusable */
    pthread_cond_broadcast(&r->space);
    pthread_mutex_unlock(&r->mu);
    if (r->started)
        pthread_join(r->th, NULL);
    s3_reader_free(r);
}
