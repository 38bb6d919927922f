/* batch.c - the background batching thread. Logging calls append an item to
 * the client's queue and return; the thread takes the whole queue when
 * CL_QUEUE_WAKE items wait, when flush_ms passes, or when someone flushes,
 * groups the items by run (keeping each run's order), cuts them into
 * runs/log-batch bodies within MLflow's limits, and sends each with retries
 * and exponential back-off. A body that cannot be delivered because the
 * server is unreachable goes to the offline spool. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* An item with its strings resolved against its queue's arena. */
typedef struct {
    char kind;
    const char *run_id, *key, *sval;
    double value;
    int64_t timestamp, step;
} cl_view;

static cl_view cl_resolve(const cl_queue *q, const cl_item *it)
{
    const char *base = q->mem.data;
    cl_view v = {it->kind, base + it->run_off, base + it->key_off,
                 it->sval_off == (size_t)-1 ? NULL : base + it->sval_off, it->value, it->timestamp, it->step};
    return v;
}

/* ---- one log-batch body under construction ---- */
typedef struct {
    const char *run_id;
    cl_buf metrics, params, tags;
    int nmetrics, nparams, ntags;
    const char *param_keys[CL_MAX_PARAMS_TAGS_PER_BATCH];
    const char *tag_keys[CL_MAX_PARAMS_TAGS_PER_BATCH];
} cl_batch;

static void cl_batch_reset(cl_batch *b)
{
    b->metrics.len = b->params.len = b->tags.len = 0;
    b->nmetrics = b->nparams = b->ntags = 0;
}

static int cl_batch_empty(const cl_batch *b)
{
    return b->nmetrics + b->nparams + b->ntags == 0;
}

static int cl_has_key(const char *const *keys, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(keys[i], key) == 0)
            return 1;
    return 0;
}

/* Would adding it break a limit (or put a key twice in one batch)? */
static int cl_batch_full(const cl_batch *b, const cl_view *it)
{
    int total = b->nmetrics + b->nparams + b->ntags;
    size_t bytes = b->metrics.len + b->params.len + b->tags.len;
    if (total >= CL_MAX_ENTITIES_PER_BATCH || bytes >= CL_BATCH_BYTES_SOFT)
        return 1;
    switch (it->kind) {
    case CL_METRIC:
        return b->nmetrics >= CL_MAX_METRICS_PER_BATCH;
    case CL_PARAM:
        return b->nparams >= CL_MAX_PARAMS_TAGS_PER_BATCH ||
               cl_has_key(b->param_keys, b->nparams, it->key);
    default:
        return b->ntags >= CL_MAX_PARAMS_TAGS_PER_BATCH || cl_has_key(b->tag_keys, b->ntags, it->key);
    }
}

static int cl_batch_add(cl_batch *b, const cl_view *it)
{
    int r = 0;
    if (it->kind == CL_METRIC) {
        cl_buf *w = &b->metrics;
        r |= cl_buf_puts(w, b->nmetrics ? ",{\"key\":" : "{\"key\":");
        r |= cl_buf_json_str(w, it->key);
        r |= cl_buf_puts(w, ",\"value\":");
        r |= cl_buf_json_double(w, it->value);
        r |= cl_buf_puts(w, ",\"timestamp\":");
        r |= cl_buf_json_i64(w, it->timestamp);
        r |= cl_buf_puts(w, ",\"step\":");
        r |= cl_buf_json_i64(w, it->step);
        r |= cl_buf_puts(w, "}");
        b->nmetrics++;
    } else {
        int param = it->kind == CL_PARAM;
        cl_buf *w = param ? &b->params : &b->tags;
        int *n = param ? &b->nparams : &b->ntags;
        (param ? b->param_keys : b->tag_keys)[*n] = it->key;
        r |= cl_buf_puts(w, *n ? ",{\"key\":" : "{\"key\":");
        r |= cl_buf_json_str(w, it->key);
        r |= cl_buf_puts(w, ",\"value\":");
        r |= cl_buf_json_str(w, it->sval);
        r |= cl_buf_puts(w, "}");
        (*n)++;
    }
    return r ? CAIRN_ENOMEM : CAIRN_OK;
}

static int cl_batch_send(cairn_client *c, cl_batch *b, cl_buf *body)
{
    if (cl_batch_empty(b))
        return CAIRN_OK;
    body->len = 0;
    int r = cl_buf_puts(body, "{\"run_id\":");
    r |= cl_buf_json_str(body, b->run_id);
    r |= cl_buf_puts(body, ",\"metrics\":[");
    r |= cl_buf_add(body, b->metrics.data ? b->metrics.data : "", b->metrics.len);
    r |= cl_buf_puts(body, "],\"params\":[");
    r |= cl_buf_add(body, b->params.data ? b->params.data : "", b->params.len);
    r |= cl_buf_puts(body, "],\"tags\":[");
    r |= cl_buf_add(body, b->tags.data ? b->tags.data : "", b->tags.len);
    r |= cl_buf_puts(body, "]}");
    cl_batch_reset(b);
    if (r)
        return cl_oom();
    return cl_send_batch(c, c->bg_http, b->run_id, body->data, body->len);
}

static void cl_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int cl_send_batch(cairn_client *c, CURL *h, const char *run_id, const char *body, size_t len)
{
    if (atomic_load(&c->offline) || cl_is_local_run(run_id)) {
        if (c->no_spool)
            return cl_fail(CAIRN_EOFFLINE, "the client is offline and spooling is disabled");
        return cl_spool_batch(c, body, len);
    }
    int r = CAIRN_OK;
    long backoff = 100;
    for (int attempt = 0;; attempt++) {
        r = cl_http(c, h, "POST", "/api/2.0/mlflow/runs/log-batch", body, len, NULL);
        if (r == CAIRN_OK || !cl_retryable() || attempt >= c->max_retries)
            break;
        cl_sleep_ms(backoff);
        backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
    }
    if (r == CAIRN_OK || !cl_retryable() || c->no_spool)
        return r;
    if (r == CAIRN_EUNREACHABLE)
        cl_go_offline(c);
    return cl_spool_batch(c, body, len);
}

/* Copies the thread's last error (message, MLflow code, status) aside. */
static int cl_keep(int r, char msg[1024], char code[64], int *http)
{
    const cairn_error *e = cairn_error_last();
    snprintf(msg, 1024, "%s", e->message);
    snprintf(code, 64, "%s", e->error_code);
    *http = e->http_status;
    return r;
}

/* Is every item of the queue for the same run (the common case)? */
static int cl_single_run(const cl_queue *q)
{
    size_t off = q->len ? q->items[0].run_off : 0;
    for (size_t i = 1; i < q->len; i++)
        if (q->items[i].run_off != off && strcmp(q->mem.data + q->items[i].run_off, q->mem.data + off) != 0)
            return 0;
    return 1;
}

static uint64_t cl_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Orders the items by run, keeping each run's order: a run slot per item
 * through an open-addressing table of run ids, then a counting sort. Fills
 * order[n] and bounds[nruns + 1] (run k is order[bounds[k] .. bounds[k+1])). */
static int cl_group(const cl_queue *q, size_t **order_out, size_t **bounds_out, size_t *nruns_out)
{
    size_t n = q->len, nruns = 0, cap = 16, tcap = 64;
    size_t *rep = malloc(cap * sizeof *rep), *order = malloc(n * sizeof *order), *bounds = NULL;
    uint32_t *table = calloc(tcap, sizeof *table), *slot = malloc(n * sizeof *slot);
    int ok = rep && order && table && slot;
    size_t last_off = (size_t)-1;
    uint32_t last = 0;
    for (size_t i = 0; ok && i < n; i++) {
        size_t off = q->items[i].run_off;
        if (off != last_off) {
            const char *id = q->mem.data + off;
            size_t j = (size_t)cl_hash(id) & (tcap - 1);
            while (table[j] && strcmp(q->mem.data + rep[table[j] - 1], id) != 0)
                j = (j + 1) & (tcap - 1);
            if (table[j] == 0) {
                if (nruns == cap) {
                    size_t *r2 = realloc(rep, 2 * cap * sizeof *rep);
                    if (r2 == NULL) {
                        ok = 0;
                        break;
                    }
                    rep = r2;
                    cap *= 2;
                }
                rep[nruns++] = off;
                table[j] = (uint32_t)nruns;
                if (nruns * 2 > tcap) {   /* grow and rehash */
                    uint32_t *t2 = calloc(tcap * 2, sizeof *t2);
                    if (t2 == NULL) {
                        ok = 0;
                        break;
                    }
                    free(table);
                    table = t2;
                    tcap *= 2;
                    for (size_t k = 0; k < nruns; k++) {
                        size_t h = (size_t)cl_hash(q->mem.data + rep[k]) & (tcap - 1);
                        while (table[h])
                            h = (h + 1) & (tcap - 1);
                        table[h] = (uint32_t)(k + 1);
                    }
                }
                last = (uint32_t)(nruns - 1);
            } else {
                last = table[j] - 1;
            }
            last_off = off;
        }
        slot[i] = last;
    }
    if (ok)
        ok = (bounds = calloc(nruns + 1, sizeof *bounds)) != NULL;
    if (ok) {
        for (size_t i = 0; i < n; i++)
            bounds[slot[i] + 1]++;
        for (size_t k = 0; k < nruns; k++)
            bounds[k + 1] += bounds[k];
        size_t *pos = rep;              /* reuse: rep is no longer needed */
        memcpy(pos, bounds, nruns * sizeof *pos);
        for (size_t i = 0; i < n; i++)
            order[pos[slot[i]]++] = i;
    }
    free(rep);
    free(table);
    free(slot);
    if (!ok) {
        free(order);
        free(bounds);
        return cl_oom();
    }
    *order_out = order;
    *bounds_out = bounds;
    *nruns_out = nruns;
    return CAIRN_OK;
}

/* Sends the queue's items grouped by run, in order within each run. */
static int cl_process(cairn_client *c, const cl_queue *q, cl_batch *bp, cl_buf *bodyp)
{
    int first = CAIRN_OK, first_http = 0;
    char first_msg[1024] = "", first_code[64] = "";
    cl_batch b = *bp;          /* buffers reused across rounds (no page faults) */
    cl_buf body = *bodyp;
    cl_batch_reset(&b);
    size_t *order = NULL, *bounds = NULL, nruns = 1, one[2] = {0, q->len};
    if (!cl_single_run(q) && cl_group(q, &order, &bounds, &nruns) < 0) {
        first = cl_keep(CAIRN_ENOMEM, first_msg, first_code, &first_http);
        nruns = 0;
    }
    if (bounds == NULL)
        bounds = one;
    for (size_t k = 0; k < nruns && q->len > 0; k++) {
        b.run_id = q->mem.data + q->items[order ? order[bounds[k]] : 0].run_off;
        for (size_t p = bounds[k]; p < bounds[k + 1]; p++) {
            cl_view v = cl_resolve(q, &q->items[order ? order[p] : p]);
            int r = CAIRN_OK;
            if (cl_batch_full(&b, &v))
                r = cl_batch_send(c, &b, &body);
            if (r == CAIRN_OK)
                r = cl_batch_add(&b, &v);
            if (r < 0 && first == CAIRN_OK)
                first = cl_keep(r, first_msg, first_code, &first_http);
        }
        int r = cl_batch_send(c, &b, &body);
        if (r < 0 && first == CAIRN_OK)
            first = cl_keep(r, first_msg, first_code, &first_http);
    }
    free(order);
    if (bounds != one)
        free(bounds);
    *bp = b;
    *bodyp = body;
    if (first < 0 && first_code[0])
        cl_fail_server(first_http, first_code, first_msg);
    else if (first < 0)
        cl_fail(first, "%s", first_msg);
    return first;
}

static void *cl_thread(void *arg)
{
    cairn_client *c = arg;
    cl_batch batch = {0};
    cl_buf body = {0};
    pthread_mutex_lock(&c->mu);
    for (;;) {
        int timed_out = 0, have_deadline = 0;
        struct timespec deadline;
        while (!(c->stop || c->q.len >= CL_QUEUE_WAKE ||
                 (c->q.len > 0 && (c->flush_waiters > 0 || timed_out)))) {
            if (c->q.len == 0) {
                have_deadline = 0;
                pthread_cond_wait(&c->cv_work, &c->mu);
                continue;
            }
            if (!have_deadline) {
                clock_gettime(CLOCK_REALTIME, &deadline);
                deadline.tv_nsec += (long)c->flush_ms * 1000000L;
                deadline.tv_sec += deadline.tv_nsec / 1000000000L;
                deadline.tv_nsec %= 1000000000L;
                have_deadline = 1;
            }
            if (pthread_cond_timedwait(&c->cv_work, &c->mu, &deadline) == ETIMEDOUT)
                timed_out = 1;
        }
        if (c->q.len == 0)
            break;   /* stopping, nothing left */
        cl_queue work = c->q;          /* take the queue, leave the spare */
        c->q = c->spare;
        memset(&c->spare, 0, sizeof c->spare);
        size_t n = work.len;
        pthread_cond_broadcast(&c->cv_space);
        pthread_mutex_unlock(&c->mu);
        int r = cl_process(c, &work, &batch, &body);
        work.len = 0;
        work.mem.len = 0;
        work.last_run_len = 0;
        pthread_mutex_lock(&c->mu);
        if (c->spare.items == NULL && c->spare.mem.data == NULL) {
            c->spare = work;           /* keep the memory for the next round */
        } else {
            free(work.items);
            cl_buf_free(&work.mem);
        }
        if (r < 0 && c->bg_code == 0) {
            c->bg_code = r;
            free(c->bg_msg);
            c->bg_msg = cl_strdup(cairn_error_last()->message);
            snprintf(c->bg_error_code, sizeof c->bg_error_code, "%s", cairn_error_last()->error_code);
            c->bg_status = cairn_error_last()->http_status;
        }
        c->processed += n;
        pthread_cond_broadcast(&c->cv_done);
    }
    pthread_mutex_unlock(&c->mu);
    cl_buf_free(&batch.metrics);
    cl_buf_free(&batch.params);
    cl_buf_free(&batch.tags);
    cl_buf_free(&body);
    return NULL;
}

int cl_queue_start(cairn_client *c)
{
    if (pthread_create(&c->thread, NULL, cl_thread, c) != 0)
        return CAIRN_ENOMEM;
    c->thread_started = 1;
    return CAIRN_OK;
}

void cl_queue_stop(cairn_client *c)
{
    if (!c->thread_started)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_broadcast(&c->cv_work);
    pthread_cond_broadcast(&c->cv_space);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    c->thread_started = 0;
}

int cl_queue_flush(cairn_client *c)
{
    if (c->owner != getpid())
        return cl_fail(CAIRN_EINVAL, "this client was opened by process %d; open a new one after fork()",
                       (int)c->owner);
    pthread_mutex_lock(&c->mu);
    uint64_t target = c->enqueued;
    c->flush_waiters++;
    pthread_cond_signal(&c->cv_work);
    while (c->processed < target && c->thread_started && !c->stop)
        pthread_cond_wait(&c->cv_done, &c->mu);
    c->flush_waiters--;
    int r = c->bg_code;
    if (r < 0) {
        const char *msg = c->bg_msg ? c->bg_msg : "a background log-batch failed";
        if (c->bg_error_code[0])
            cl_fail_server(c->bg_status, c->bg_error_code, msg);
        else
            cl_fail(r, "%s", msg);
        c->bg_code = 0;
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}

int cl_enqueue(cairn_client *c, char kind, const char *run_id, const char *key, const char *sval,
               double value, int64_t ts, int64_t step)
{
    if (c == NULL)
        return cl_fail(CAIRN_EINVAL, "missing client");
    if (run_id == NULL || *run_id == '\0')
        run_id = cairn_env_run_id();
    if (run_id == NULL)
        return cl_fail(CAIRN_EINVAL, "missing run id (pass one or set MLFLOW_RUN_ID)");
    if (key == NULL || *key == '\0')
        return cl_fail(CAIRN_EINVAL, "missing %s key", kind == CL_METRIC ? "metric" : kind == CL_PARAM ? "param" : "tag");
    if (kind != CL_METRIC && sval == NULL)
        return cl_fail(CAIRN_EINVAL, "missing value for '%s'", key);
    int64_t stamp = ts > 0 ? ts : cl_now_ms();
    size_t lr = strlen(run_id), lk = strlen(key) + 1, lv = sval ? strlen(sval) + 1 : 0;
    pthread_mutex_lock(&c->mu);
    while (c->q.len >= CL_QUEUE_MAX && !c->stop)
        pthread_cond_wait(&c->cv_space, &c->mu);
    cl_queue *q = &c->q;
    if (q->len == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 1024;
        cl_item *items = realloc(q->items, cap * sizeof *items);
        if (items == NULL) {
            pthread_mutex_unlock(&c->mu);
            return cl_oom();
        }
        q->items = items;
        q->cap = cap;
    }
    int same_run = q->last_run_len == lr + 1 && memcmp(q->mem.data + q->last_run_off, run_id, lr) == 0;
    if (cl_buf_reserve(&q->mem, (same_run ? 0 : lr + 1) + lk + lv) < 0) {
        pthread_mutex_unlock(&c->mu);
        return CAIRN_ENOMEM;
    }
    if (!same_run) {
        q->last_run_off = q->mem.len;
        q->last_run_len = lr + 1;
        memcpy(q->mem.data + q->mem.len, run_id, lr + 1);
        q->mem.len += lr + 1;
    }
    cl_item *it = &q->items[q->len++];
    it->kind = kind;
    it->run_off = q->last_run_off;
    it->key_off = q->mem.len;
    memcpy(q->mem.data + q->mem.len, key, lk);
    q->mem.len += lk;
    it->sval_off = (size_t)-1;
    if (sval != NULL) {
        it->sval_off = q->mem.len;
        memcpy(q->mem.data + q->mem.len, sval, lv);
        q->mem.len += lv;
    }
    it->value = value;
    it->timestamp = stamp;
    it->step = step;
    c->enqueued++;
    if (q->len == 1 || q->len == CL_QUEUE_WAKE)
        pthread_cond_signal(&c->cv_work);
    pthread_mutex_unlock(&c->mu);
    return CAIRN_OK;
}

int cairn_log_param(cairn_client *c, const char *run_id, const char *key, const char *value)
{
    return cl_enqueue(c, CL_PARAM, run_id, key, value, 0, 0, 0);
}

int cairn_log_metric(cairn_client *c, const char *run_id, const char *key, double value,
                     int64_t timestamp_ms, int64_t step)
{
    return cl_enqueue(c, CL_METRIC, run_id, key, NULL, value, timestamp_ms, step);
}

int cairn_set_tag(cairn_client *c, const char *run_id, const char *key, const char *value)
{
    return cl_enqueue(c, CL_TAG, run_id, key, value, 0, 0, 0);
}
