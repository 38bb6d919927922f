/* s3_write.c - the S3 writer: a streamed multipart upload in constant memory.
 *
 * Two ways, chosen at open. When the object's size is known (streamed
 * mode, below s3_stream_*), each part's request body is fed straight from
 * the caller's writes through a small ring (S3_STREAM_RING): the parts can
 * be large (64 MiB: few requests for S3) and cost no memory, and a part's
 * request starts when the previous part's body is sent (its answer may be
 * pending: at most S3_STREAM_OPEN requests are open). An object of at most
 * one part is one streamed PutObject. The object's last byte is held back
 * until commit, so a PutObject never completes (and nothing is visible)
 * unless commit agrees that every byte came.
 *
 * When the size is unknown (buffered mode), the caller fills a part-sized buffer; a full buffer is handed to the
 * writer's upload threads, which send it as the next part (UploadPart)
 * while the caller fills another buffer. Up to S3_UPLOAD_STREAMS parts are
 * in flight at once, each on its own thread and curl handle, so the
 * latency S3 adds to every request (for Swift: authorisation, a container
 * lookup, an fsync at the end of each part) overlaps with the other parts'
 * bytes instead of stopping the stream; parts may finish in any order and
 * their ETags are kept by part number. With every buffer in flight a write
 * takes nothing and the notify function is called when one frees, so an
 * HTTP thread never waits on S3. Memory is at most S3_WRITE_BUFS parts per
 * upload and no more than S3_WRITE_MEM unless that is under two parts
 * (mapped on first use, unmapped at the end), whatever the object's size.
 *
 * Atomicity is S3's: parts are invisible until CompleteMultipartUpload, and
 * every failure or abort ends with AbortMultipartUpload, so no partial
 * object is ever visible. An object that never fills one part is sent at
 * commit as one PutObject (no multipart upload at all). */
#include "s3.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../util/path.h"

typedef enum { S3_ID_NONE, S3_ID_MAKING, S3_ID_READY } s3_id_state;

typedef struct s3_writer {
    artifacts_writer base;
    s3_store *s;
    char *key;
    size_t part_size;
    char *buf[S3_WRITE_BUFS];
    size_t len[S3_WRITE_BUFS];
    int num[S3_WRITE_BUFS];   /* the part number of a handed buffer */
    bool busy[S3_WRITE_BUFS]; /* handed to the threads */
    int fill;                 /* the buffer the caller fills, -1 when none */
    int queue[S3_WRITE_BUFS]; /* handed buffers no thread took yet, oldest first */
    int qhead, qlen;
    int handed;               /* parts handed so far (the last part number) */
    pthread_mutex_t mu;
    pthread_cond_t work;  /* the threads wait for a part (or the end) */
    pthread_cond_t space; /* writer_wait waits for a free buffer */
    pthread_cond_t ready; /* threads wait for the upload id another one asks for */
    pthread_t th[S3_WRITE_BUFS - 1];
    int nthreads;
    int nbufs;   /* buffers this writer may map: see s3_writer_open */
    int streams; /* upload threads it may start: nbufs - 1 */
    int idle;                 /* threads waiting for a part */
    bool closing;             /* no part will be handed any more */
    atomic_bool stopping;     /* abort or a failed part: give up the transfers in flight */
    bool failed;
    cerr err;
    s3_id_state id_state;
    sbuf upload_id;           /* set once, before any part is sent */
    char **etags;             /* by part number - 1, for CompleteMultipartUpload */
    size_t etags_cap;
    artifacts_notify_fn fn;
    void *arg;
    bool want; /* a write took 0 bytes: notify when a buffer (or ring room) frees */
    /* Streamed mode (size >= 0); part_size is then the streamed part's. */
    bool streamed;
    uint64_t size;
    int nparts;          /* 0: one PutObject (or, for size 0, one at commit) */
    int next;            /* the next part to start, from 1 */
    char *ring;          /* S3_STREAM_RING bytes, mapped at open */
    uint64_t written;    /* bytes the caller wrote into the ring ... */
    uint64_t consumed;   /* ... and curl took from it */
    bool sealed;         /* commit came with every byte: the last may go */
    bool reading;        /* a read callback waits for bytes */
    pthread_cond_t data; /* ... on this */
} s3_writer;

typedef struct {
    const char *p;
    size_t left;
} s3_body;

static size_t s3_body_read(char *buf, size_t size, size_t n, void *arg)
{
    s3_body *b = arg;
    size_t k = size * n < b->left ? size * n : b->left;
    memcpy(buf, b->p, k);
    b->p += k;
    b->left -= k;
    return k;
}

static int s3_writer_stop(void *arg)
{
    return atomic_load(&((s3_writer *)arg)->stopping);
}

static int s3_initiate(s3_writer *w, CURL *h, sbuf *upload_id, cerr *e)
{
    s3_call c = {.method = "POST", .key = w->key, .query = "uploads=",
                 .content_type = "application/octet-stream", .stop = s3_writer_stop,
                 .stop_arg = w};
    s3_resp r;
    int rc = s3_perform(w->s, h, &c, &r, e);
    if (rc == 0 && r.status != 200)
        rc = s3_fail(w->s, "POST", w->key, &r, e);
    if (rc == 0 && s3_xml_upload_id(r.body.data, r.body.len, upload_id) < 0) {
        sbuf where = SBUF_INIT;
        s3_display(w->s, w->key, &where);
        rc = cerr_set(e, CERR_INTERNAL_ERROR,
                      "S3 POST %s failed: no UploadId in the answer to CreateMultipartUpload",
                      where.data);
        sbuf_free(&where);
    }
    s3_resp_free(&r);
    return rc;
}

/* UploadPart; *etag is the part's ETag (new) on success. upload_id is
 * read without the lock: it is set once, before any part is sent. */
static int s3_upload_part(s3_writer *w, CURL *h, int number, const char *data, size_t len,
                          char **etag, cerr *e)
{
    sbuf q = SBUF_INIT;
    sbuf_printf(&q, "partNumber=%d&uploadId=", number);
    s3_encode(&q, w->upload_id.data, false);
    s3_body body = {data, len};
    s3_call c = {.method = "PUT", .key = w->key, .query = q.data, .read = s3_body_read,
                 .read_arg = &body, .read_len = len, .stop = s3_writer_stop, .stop_arg = w};
    s3_resp r;
    int rc = s3_perform(w->s, h, &c, &r, e);
    if (rc == 0 && r.status != 200)
        rc = s3_fail(w->s, "PUT", w->key, &r, e);
    if (rc == 0 && r.etag.len == 0) {
        sbuf where = SBUF_INIT;
        s3_display(w->s, w->key, &where);
        rc = cerr_set(e, CERR_INTERNAL_ERROR, "S3 PUT %s failed: no ETag for part %d",
                      where.data, number);
        sbuf_free(&where);
    }
    if (rc == 0)
        *etag = sbuf_detach(&r.etag);
    s3_resp_free(&r);
    sbuf_free(&q);
    return rc;
}

/* Records the first failure and stops the other transfers: the upload is
 * lost anyway. Locked. */
static void s3_writer_fail(s3_writer *w, const cerr *e)
{
    if (!w->failed) {
        w->failed = true;
        w->err = *e;
    }
    atomic_store(&w->stopping, true);
    pthread_cond_broadcast(&w->work);
    pthread_cond_broadcast(&w->ready);
    pthread_cond_broadcast(&w->data);
    pthread_cond_broadcast(&w->space);
}

/* The notify function to call (after unlocking) when a caller waits for
 * it, or NULL. Locked. */
static artifacts_notify_fn s3_take_notify(s3_writer *w, void **arg)
{
    if (!w->want || w->fn == NULL)
        return NULL;
    w->want = false;
    *arg = w->arg;
    return w->fn;
}

/* The upload id, asked for by the first thread that needs it; the others
 * wait for it. Locked (released while asking). */
static int s3_need_upload_id(s3_writer *w, CURL *h)
{
    while (w->id_state == S3_ID_MAKING && !w->failed && !atomic_load(&w->stopping))
        pthread_cond_wait(&w->ready, &w->mu);
    if (w->failed || atomic_load(&w->stopping))
        return -1;
    if (w->id_state == S3_ID_READY)
        return 0;
    w->id_state = S3_ID_MAKING;
    pthread_mutex_unlock(&w->mu);
    sbuf id = SBUF_INIT;
    cerr e;
    int rc = s3_initiate(w, h, &id, &e);
    pthread_mutex_lock(&w->mu);
    if (rc == 0) {
        w->upload_id = id;
        w->id_state = S3_ID_READY;
    } else {
        sbuf_free(&id);
        w->id_state = S3_ID_NONE;
        s3_writer_fail(w, &e);
    }
    pthread_cond_broadcast(&w->ready);
    return rc;
}

/* An upload thread: takes the oldest handed part, sends it, and again. */
static void *s3_writer_main(void *arg)
{
    s3_writer *w = arg;
    CURL *h = s3_handle_get(w->s);
    bool h_ok = true;
    cerr e;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        w->idle++;
        while (w->qlen == 0 && !w->closing && !w->failed && !atomic_load(&w->stopping))
            pthread_cond_wait(&w->work, &w->mu);
        w->idle--;
        if (w->failed || atomic_load(&w->stopping) || w->qlen == 0)
            break;
        int i = w->queue[w->qhead];
        w->qhead = (w->qhead + 1) % S3_WRITE_BUFS;
        w->qlen--;
        int rc = s3_need_upload_id(w, h);
        char *etag = NULL;
        if (rc == 0) {
            pthread_mutex_unlock(&w->mu);
            /* buf[i] is ours alone while it is busy: no lock for the transfer. */
            rc = s3_upload_part(w, h, w->num[i], w->buf[i], w->len[i], &etag, &e);
            pthread_mutex_lock(&w->mu);
            if (rc == 0)
                w->etags[w->num[i] - 1] = etag;
            else
                s3_writer_fail(w, &e);
        }
        w->busy[i] = false;
        w->len[i] = 0;
        if (rc < 0)
            h_ok = false;
        artifacts_notify_fn fn = w->want ? w->fn : NULL;
        void *fn_arg = w->arg;
        if (fn)
            w->want = false;
        pthread_cond_broadcast(&w->space);
        if (fn) {
            pthread_mutex_unlock(&w->mu);
            fn(fn_arg);
            pthread_mutex_lock(&w->mu);
        }
        if (rc < 0)
            break;
    }
    pthread_mutex_unlock(&w->mu);
    if (h_ok)
        s3_handle_put(w->s, h);
    else
        curl_easy_cleanup(h); /* its connection may be in any state */
    return NULL;
}

/* A free buffer for the caller to fill (mapped on first use), or -1. */
static int s3_free_buf(s3_writer *w)
{
    for (int i = 0; i < w->nbufs; i++) {
        if (w->busy[i])
            continue;
        if (w->buf[i] == NULL) {
            /* Mapped rather than malloc'ed, so that unmapping gives the
             * memory back to the system at once, whichever thread frees. */
            void *p = mmap(NULL, w->part_size, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED)
                abort(); /* as malloc: no memory, nothing useful to answer */
            w->buf[i] = p;
        }
        w->len[i] = 0;
        return i;
    }
    return -1;
}

/* Hands buffer i to the upload threads, starting one more when every
 * thread is busy and there may be more. Locked. */
static int s3_hand(s3_writer *w, int i, cerr *e)
{
    if (w->handed >= S3_MAX_PARTS) {
        cerr err;
        cerr_set(&err, CERR_INVALID_PARAMETER_VALUE,
                 "Artifact too large for S3: more than %d parts of %zu MiB", S3_MAX_PARTS,
                 w->part_size >> 20);
        s3_writer_fail(w, &err);
        if (e)
            *e = w->err;
        return -1;
    }
    if ((size_t)w->handed == w->etags_cap) {
        size_t cap = w->etags_cap ? 2 * w->etags_cap : 64;
        char **p = realloc(w->etags, cap * sizeof *p);
        if (p == NULL)
            abort();
        memset(p + w->etags_cap, 0, (cap - w->etags_cap) * sizeof *p);
        w->etags = p;
        w->etags_cap = cap;
    }
    w->num[i] = ++w->handed;
    w->busy[i] = true;
    w->queue[(w->qhead + w->qlen) % S3_WRITE_BUFS] = i;
    w->qlen++;
    if (w->qlen > w->idle && w->nthreads < w->streams) {
        if (pthread_create(&w->th[w->nthreads], NULL, s3_writer_main, w) == 0) {
            w->nthreads++;
        } else if (w->nthreads == 0) {
            cerr err;
            cerr_set(&err, CERR_INTERNAL_ERROR, "Cannot start the S3 upload thread");
            s3_writer_fail(w, &err);
            if (e)
                *e = w->err;
            return -1;
        } /* else: the threads there are will do */
    }
    pthread_cond_signal(&w->work);
    return 0;
}

/* ---- streamed mode (the object's size is known) ---- */

/* The bytes part `number` (from 1) covers: [*start, *end). */
static void s3_stream_range(const s3_writer *w, int number, uint64_t *start, uint64_t *end)
{
    if (w->nparts == 0) {
        *start = 0;
        *end = w->size;
        return;
    }
    *start = (uint64_t)(number - 1) * w->part_size;
    *end = *start + w->part_size < w->size ? *start + w->part_size : w->size;
}

typedef struct {
    s3_writer *w;
    uint64_t end; /* the part's last byte + 1 */
} s3_stream_src;

/* curl's read callback for a streamed part: the ring's bytes up to the
 * part's end, waiting for the caller while the ring is empty. The object's
 * last byte waits for commit (sealed). */
static size_t s3_stream_read(char *buf, size_t size, size_t n, void *arg)
{
    s3_stream_src *src = arg;
    s3_writer *w = src->w;
    size_t room = size * n;
    pthread_mutex_lock(&w->mu);
    uint64_t upto;
    for (;;) {
        if (w->failed || atomic_load(&w->stopping)) {
            pthread_mutex_unlock(&w->mu);
            return CURL_READFUNC_ABORT;
        }
        uint64_t limit = src->end;
        if (limit == w->size && !w->sealed)
            limit--;
        upto = w->written < limit ? w->written : limit;
        if (upto > w->consumed || w->consumed >= src->end)
            break;
        w->reading = true;
        pthread_cond_wait(&w->data, &w->mu);
    }
    w->reading = false;
    if (w->consumed >= src->end) { /* curl knows the length: not asked again */
        pthread_mutex_unlock(&w->mu);
        return 0;
    }
    size_t pos = (size_t)(w->consumed % S3_STREAM_RING);
    size_t k = room;
    if (k > upto - w->consumed)
        k = (size_t)(upto - w->consumed);
    if (k > S3_STREAM_RING - pos)
        k = S3_STREAM_RING - pos;
    pthread_mutex_unlock(&w->mu);
    /* [consumed, upto) is ours: the caller writes only past w->written. */
    memcpy(buf, w->ring + pos, k);
    pthread_mutex_lock(&w->mu);
    w->consumed += k;
    if (w->consumed == src->end)
        pthread_cond_broadcast(&w->work); /* the next part may start */
    uint64_t free_bytes = S3_STREAM_RING - (w->written - w->consumed);
    void *fn_arg = NULL;
    artifacts_notify_fn fn = free_bytes >= S3_STREAM_WAKE ? s3_take_notify(w, &fn_arg) : NULL;
    pthread_cond_broadcast(&w->space);
    pthread_mutex_unlock(&w->mu);
    if (fn)
        fn(fn_arg);
    return k;
}

/* One streamed request: the PutObject of the whole object (nparts 0) or
 * UploadPart `number`; *etag is the part's ETag (new) on success. */
static int s3_stream_send(s3_writer *w, CURL *h, int number, char **etag, cerr *e)
{
    uint64_t start, end;
    s3_stream_range(w, number, &start, &end);
    sbuf q = SBUF_INIT;
    if (w->nparts > 0) {
        sbuf_printf(&q, "partNumber=%d&uploadId=", number);
        s3_encode(&q, w->upload_id.data, false);
    }
    s3_stream_src src = {w, end};
    s3_call c = {.method = "PUT", .key = w->key, .query = w->nparts > 0 ? q.data : NULL,
                 .read = s3_stream_read, .read_arg = &src, .read_len = end - start,
                 .stop = s3_writer_stop, .stop_arg = w};
    s3_resp r;
    int rc = s3_perform(w->s, h, &c, &r, e);
    if (rc == 0 && r.status != 200)
        rc = s3_fail(w->s, "PUT", w->key, &r, e);
    if (rc == 0 && w->nparts > 0) {
        if (r.etag.len == 0) {
            sbuf where = SBUF_INIT;
            s3_display(w->s, w->key, &where);
            rc = cerr_set(e, CERR_INTERNAL_ERROR, "S3 PUT %s failed: no ETag for part %d",
                          where.data, number);
            sbuf_free(&where);
        } else {
            *etag = sbuf_detach(&r.etag);
        }
    }
    s3_resp_free(&r);
    sbuf_free(&q);
    return rc;
}

/* A streamed upload's thread: starts the next part once the previous
 * part's body is sent, sends it, and again. */
static void *s3_stream_main(void *arg)
{
    s3_writer *w = arg;
    CURL *h = s3_handle_get(w->s);
    bool h_ok = true;
    int count = w->nparts > 0 ? w->nparts : 1;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        uint64_t start = 0, end = 0;
        while (!w->failed && !atomic_load(&w->stopping) && w->next <= count) {
            s3_stream_range(w, w->next, &start, &end);
            if (w->consumed >= start)
                break;
            pthread_cond_wait(&w->work, &w->mu);
        }
        if (w->failed || atomic_load(&w->stopping) || w->next > count)
            break;
        int number = w->next++;
        w->handed = number;
        int rc = w->nparts > 0 ? s3_need_upload_id(w, h) : 0;
        if (rc < 0)
            break; /* recorded by s3_need_upload_id */
        pthread_mutex_unlock(&w->mu);
        cerr e;
        char *etag = NULL;
        rc = s3_stream_send(w, h, number, &etag, &e);
        pthread_mutex_lock(&w->mu);
        if (rc == 0) {
            if (w->nparts > 0)
                w->etags[number - 1] = etag;
            continue;
        }
        h_ok = false;
        s3_writer_fail(w, &e);
        break;
    }
    /* A parked caller learns of a failure. */
    void *fn_arg = NULL;
    artifacts_notify_fn fn = w->failed ? s3_take_notify(w, &fn_arg) : NULL;
    pthread_mutex_unlock(&w->mu);
    if (fn)
        fn(fn_arg);
    if (h_ok)
        s3_handle_put(w->s, h);
    else
        curl_easy_cleanup(h); /* its connection may be in any state */
    return NULL;
}

/* Sets w up for an object of size bytes; starts its threads. */
static int s3_stream_open(s3_writer *w, uint64_t size, cerr *e)
{
    /* The part size: the store's, or more when 10000 parts are too few. */
    uint64_t part = w->s->stream_part_size;
    uint64_t need = (size + S3_MAX_PARTS - 1) / S3_MAX_PARTS;
    need = (need + (1u << 20) - 1) & ~(uint64_t)((1u << 20) - 1);
    if (part < need)
        part = need;
    if (part > S3_PUT_MAX)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Artifact too large for S3: %llu bytes is more than %d parts of 5 GiB",
                        (unsigned long long)size, S3_MAX_PARTS);
    w->streamed = true;
    w->size = size;
    w->part_size = (size_t)part;
    w->nparts = size <= part ? 0 : (int)((size + part - 1) / part);
    w->next = 1;
    if (w->nparts > 0) {
        w->etags = calloc((size_t)w->nparts, sizeof *w->etags);
        if (w->etags == NULL)
            abort();
        w->etags_cap = (size_t)w->nparts;
    }
    if (size == 0)
        return 0; /* an empty PutObject at commit */
    void *p = mmap(NULL, S3_STREAM_RING, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                   0);
    if (p == MAP_FAILED)
        abort(); /* as malloc: no memory, nothing useful to answer */
    w->ring = p;
    int threads = w->nparts > 1 ? S3_STREAM_OPEN : 1;
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&w->th[w->nthreads], NULL, s3_stream_main, w) != 0)
            break;
        w->nthreads++;
    }
    if (w->nthreads == 0)
        return cerr_set(e, CERR_INTERNAL_ERROR, "Cannot start the S3 upload thread");
    return 0;
}

static ssize_t s3_stream_write(s3_writer *w, const void *data, size_t n, cerr *e)
{
    pthread_mutex_lock(&w->mu);
    if (!w->failed && n > w->size - w->written) {
        cerr err;
        cerr_set(&err, CERR_INVALID_PARAMETER_VALUE,
                 "The upload is larger than its declared size of %llu bytes",
                 (unsigned long long)w->size);
        s3_writer_fail(w, &err);
    }
    if (w->failed) {
        if (e)
            *e = w->err;
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
    size_t free_bytes = S3_STREAM_RING - (size_t)(w->written - w->consumed);
    if (free_bytes == 0) {
        w->want = true;
        pthread_mutex_unlock(&w->mu);
        return 0;
    }
    size_t k = n < free_bytes ? n : free_bytes;
    size_t pos = (size_t)(w->written % S3_STREAM_RING);
    pthread_mutex_unlock(&w->mu);
    /* [written, consumed + RING) is ours: the threads read below written. */
    size_t first = k < S3_STREAM_RING - pos ? k : S3_STREAM_RING - pos;
    memcpy(w->ring + pos, data, first);
    if (k > first)
        memcpy(w->ring, (const char *)data + first, k - first);
    pthread_mutex_lock(&w->mu);
    w->written += k;
    if (w->reading)
        pthread_cond_signal(&w->data);
    pthread_mutex_unlock(&w->mu);
    return (ssize_t)k;
}

int s3_writer_open(artifacts_store *st, const char *rel, int64_t size, artifacts_writer **out,
                   cerr *e)
{
    s3_store *s = (s3_store *)st;
    *out = NULL;
    sbuf norm = SBUF_INIT, key = SBUF_INIT;
    size_t n = rel ? strlen(rel) : 0;
    int rc = path_normalize_rel(rel, &norm, e);
    if (rc == 0 && (norm.len == 0 || rel[n - 1] == '/'))
        rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid path");
    if (rc < 0) {
        sbuf_free(&norm);
        return -1;
    }
    s3_key(s, norm.data, &key);
    sbuf_free(&norm);
    s3_writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        abort();
    w->base.ops = s->base.ops;
    w->s = s;
    w->key = sbuf_detach(&key);
    w->part_size = s->part_size;
    w->fill = -1;
    /* As many buffers as S3_WRITE_MEM holds, at least two: big parts
     * need less overlap, and memory stays what two parts always took. */
    w->nbufs = (int)(S3_WRITE_MEM / w->part_size);
    if (w->nbufs > S3_WRITE_BUFS)
        w->nbufs = S3_WRITE_BUFS;
    if (w->nbufs < 2)
        w->nbufs = 2;
    w->streams = w->nbufs - 1;
    atomic_init(&w->stopping, false);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->space, NULL);
    pthread_cond_init(&w->ready, NULL);
    pthread_cond_init(&w->data, NULL);
    if (size >= 0 && s3_stream_open(w, (uint64_t)size, e) < 0) {
        s3_abort(&w->base);
        return -1;
    }
    *out = &w->base;
    return 0;
}

ssize_t s3_write(artifacts_writer *aw, const void *data, size_t n, cerr *e)
{
    s3_writer *w = (s3_writer *)aw;
    if (n == 0)
        return 0;
    if (w->streamed)
        return s3_stream_write(w, data, n, e);
    pthread_mutex_lock(&w->mu);
    if (w->failed) {
        if (e)
            *e = w->err;
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
    if (w->fill < 0)
        w->fill = s3_free_buf(w);
    if (w->fill < 0) {
        w->want = true;
        pthread_mutex_unlock(&w->mu);
        return 0;
    }
    int i = w->fill;
    size_t k = w->part_size - w->len[i];
    if (k > n)
        k = n;
    pthread_mutex_unlock(&w->mu);
    /* buf[i] is the caller's alone while it is w->fill. */
    memcpy(w->buf[i] + w->len[i], data, k);
    pthread_mutex_lock(&w->mu);
    w->len[i] += k;
    ssize_t rc = (ssize_t)k;
    if (w->len[i] == w->part_size) {
        w->fill = -1;
        if (s3_hand(w, i, e) < 0)
            rc = -1;
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void s3_writer_wait(artifacts_writer *aw)
{
    s3_writer *w = (s3_writer *)aw;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        bool free_buf = w->fill >= 0;
        for (int i = 0; i < w->nbufs; i++)
            free_buf = free_buf || !w->busy[i];
        if (w->streamed)
            free_buf = w->written - w->consumed < S3_STREAM_RING;
        if (w->failed || free_buf)
            break;
        pthread_cond_wait(&w->space, &w->mu);
    }
    pthread_mutex_unlock(&w->mu);
}

void s3_writer_notify(artifacts_writer *aw, artifacts_notify_fn fn, void *arg)
{
    s3_writer *w = (s3_writer *)aw;
    pthread_mutex_lock(&w->mu);
    w->fn = fn;
    w->arg = arg;
    /* A write that took 0 bytes before fn was set: a buffer may have
     * freed in between, with no one to tell. */
    bool now = false;
    if (fn && w->want) {
        now = w->failed;
        for (int i = 0; i < w->nbufs; i++)
            now = now || !w->busy[i];
        if (w->streamed)
            now = w->failed || w->written - w->consumed < S3_STREAM_RING;
        if (now)
            w->want = false;
    }
    pthread_mutex_unlock(&w->mu);
    if (now)
        fn(arg);
}

static void s3_writer_free(s3_writer *w)
{
    for (int i = 0; i < S3_WRITE_BUFS; i++)
        if (w->buf[i])
            munmap(w->buf[i], w->part_size);
    if (w->ring)
        munmap(w->ring, S3_STREAM_RING);
    for (size_t i = 0; i < w->etags_cap; i++)
        free(w->etags[i]);
    free(w->etags);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->space);
    pthread_cond_destroy(&w->ready);
    pthread_cond_destroy(&w->data);
    sbuf_free(&w->upload_id);
    free(w->key);
    free(w);
}

/* Ends the threads: closing lets them finish the handed parts, stop gives
 * up (the transfers in flight stop at curl's next progress call). */
static void s3_writer_join(s3_writer *w, bool stop)
{
    pthread_mutex_lock(&w->mu);
    w->closing = true;
    if (stop)
        atomic_store(&w->stopping, true);
    pthread_cond_broadcast(&w->work);
    pthread_cond_broadcast(&w->ready);
    pthread_cond_broadcast(&w->data);
    int n = w->nthreads;
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < n; i++)
        pthread_join(w->th[i], NULL);
    w->nthreads = 0;
}

/* Best effort: S3 forgets the parts. A failure here leaves an incomplete
 * upload that a bucket lifecycle rule removes; it is never visible. */
static void s3_abort_upload(s3_writer *w)
{
    if (w->upload_id.len == 0)
        return;
    sbuf q = SBUF_INIT;
    sbuf_puts(&q, "uploadId=");
    s3_encode(&q, w->upload_id.data, false);
    s3_call c = {.method = "DELETE", .key = w->key, .query = q.data};
    s3_resp r;
    s3_request(w->s, &c, &r, NULL);
    s3_resp_free(&r);
    sbuf_free(&q);
}

static int s3_complete(s3_writer *w, cerr *e)
{
    sbuf q = SBUF_INIT, body = SBUF_INIT, code = SBUF_INIT, msg = SBUF_INIT;
    sbuf_puts(&q, "uploadId=");
    s3_encode(&q, w->upload_id.data, false);
    sbuf_puts(&body, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (int k = 0; k < w->handed; k++) {
        if (w->etags[k] == NULL) { /* cannot happen without a failure */
            sbuf_free(&q);
            sbuf_free(&body);
            return cerr_set(e, CERR_INTERNAL_ERROR, "S3 upload of part %d was lost", k + 1);
        }
        sbuf_printf(&body, "<Part><PartNumber>%d</PartNumber><ETag>", k + 1);
        s3_xml_escape(&body, w->etags[k]);
        sbuf_puts(&body, "</ETag></Part>");
    }
    sbuf_puts(&body, "</CompleteMultipartUpload>");
    s3_call c = {.method = "POST", .key = w->key, .query = q.data, .body = body.data,
                 .body_len = body.len, .has_body = true, .content_type = "application/xml"};
    s3_resp r;
    int rc = s3_request(w->s, &c, &r, e);
    /* S3 may answer 200 and then report the failure in the body. */
    if (rc == 0 && (r.status != 200 || s3_xml_error(r.body.data, r.body.len, &code, &msg))) {
        if (r.status == 200)
            r.status = 500; /* for the message: it failed whatever the status */
        rc = s3_fail(w->s, "POST", w->key, &r, e);
    }
    s3_resp_free(&r);
    sbuf_free(&q);
    sbuf_free(&body);
    sbuf_free(&code);
    sbuf_free(&msg);
    return rc;
}

static int s3_put_object(s3_writer *w, cerr *e)
{
    int i = w->fill;
    s3_call c = {.method = "PUT", .key = w->key, .body = i >= 0 ? w->buf[i] : "",
                 .body_len = i >= 0 ? w->len[i] : 0, .has_body = true};
    s3_resp r;
    int rc = s3_request(w->s, &c, &r, e);
    if (rc == 0 && r.status != 200)
        rc = s3_fail(w->s, "PUT", w->key, &r, e);
    s3_resp_free(&r);
    return rc;
}

/* Commit in streamed mode: every byte must have come; the last one goes
 * now, then the parts are completed (or the PutObject ends). */
static int s3_stream_commit(s3_writer *w, cerr *e)
{
    int rc = 0;
    pthread_mutex_lock(&w->mu);
    if (!w->failed && w->written != w->size) {
        cerr err;
        cerr_set(&err, CERR_INVALID_PARAMETER_VALUE,
                 "The upload ended after %llu of its declared %llu bytes",
                 (unsigned long long)w->written, (unsigned long long)w->size);
        s3_writer_fail(w, &err);
    }
    if (w->failed) {
        rc = -1;
    } else {
        w->sealed = true;
        pthread_cond_broadcast(&w->data);
    }
    pthread_mutex_unlock(&w->mu);
    s3_writer_join(w, rc < 0);
    if (w->failed)
        rc = -1;
    if (rc == 0 && w->size == 0) {
        rc = s3_put_object(w, e); /* fill is -1: an empty body */
    } else if (w->nparts > 0) {
        if (rc == 0 && w->handed != w->nparts)
            rc = cerr_set(e, CERR_INTERNAL_ERROR, "S3 upload of part %d was lost", w->handed + 1);
        if (rc == 0)
            rc = s3_complete(w, e);
        if (rc < 0)
            s3_abort_upload(w);
    }
    if (rc < 0 && w->failed && e)
        *e = w->err;
    s3_writer_free(w);
    return rc;
}

int s3_commit(artifacts_writer *aw, cerr *e)
{
    s3_writer *w = (s3_writer *)aw;
    if (w->streamed)
        return s3_stream_commit(w, e);
    int rc = 0;
    pthread_mutex_lock(&w->mu);
    bool multipart = w->handed > 0;
    if (w->failed)
        rc = -1;
    else if (multipart && w->fill >= 0 && w->len[w->fill] > 0) {
        int i = w->fill;
        w->fill = -1;
        rc = s3_hand(w, i, e);
    }
    pthread_mutex_unlock(&w->mu);
    if (!multipart) {
        if (rc == 0)
            rc = s3_put_object(w, e);
    } else {
        s3_writer_join(w, rc < 0);
        if (w->failed)
            rc = -1;
        if (rc == 0)
            rc = s3_complete(w, e);
        if (rc < 0)
            s3_abort_upload(w);
    }
    if (rc < 0 && w->failed && e)
        *e = w->err;
    s3_writer_free(w);
    return rc;
}

void s3_abort(artifacts_writer *aw)
{
    s3_writer *w = (s3_writer *)aw;
    if (w == NULL)
        return;
    s3_writer_join(w, true);
    s3_abort_upload(w);
    s3_writer_free(w);
}
