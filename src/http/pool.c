/* pool.c - the handler pool: threads that run requests which may block.
 *
 * MHD's polling threads serve many connections each, so a handler that
 * blocks (a write waiting for its group commit's fsync, a long search)
 * would stall every other connection of its thread, and the number of
 * writes waiting for one commit could never exceed the number of polling
 * threads: group commit would have nothing to group. Such requests are
 * therefore handed here: the polling thread suspends the connection and
 * queues the job; a pool thread runs it and resumes the connection, and the
 * polling thread then sends the answer it left behind.
 *
 * Threads are started on demand, when a job arrives and no thread is idle,
 * up to the pool's maximum; they stay for the life of the server, so an
 * idle server holds only the threads its busiest moment needed. */
#include "internal.h"

#include <stdatomic.h>
#include <stdlib.h>

struct http_pool {
    pthread_mutex_t lock;
    pthread_cond_t work;    /* a job was queued, or the threads may end */
    pthread_cond_t drained; /* reserved == 0 while stopping */
    http_job *head, *tail;
    unsigned idle;          /* threads waiting for work */
    unsigned nthreads, max;
    pthread_t *threads;
    bool exiting;           /* drained: threads may end */
    /* Outside the lock: every request touches them, the lock only once. */
    atomic_uint reserved;   /* jobs promised by http_pool_reserve, not yet finished */
    atomic_bool stopping;
};

/* One promised job is over; the last one while draining wakes the drainer. */
void http_pool_release(http_pool *p)
{
    if (atomic_fetch_sub(&p->reserved, 1) == 1 && atomic_load(&p->stopping)) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->drained);
        pthread_mutex_unlock(&p->lock);
    }
}

static void *http_pool_main(void *arg)
{
    http_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->head == NULL && !p->exiting) {
            p->idle++;
            pthread_cond_wait(&p->work, &p->lock);
            p->idle--;
        }
        http_job *j = p->head;
        if (j == NULL) /* drained, and nothing left */
            break;
        p->head = j->next;
        if (p->head == NULL)
            p->tail = NULL;
        pthread_mutex_unlock(&p->lock);
        j->fn(j); /* may free the job's owner: read nothing from j after */
        http_pool_release(p);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Called with the lock held. Returns false if no thread could be started. */
static bool http_pool_grow(http_pool *p)
{
    if (p->nthreads == p->max)
        return false;
    if (pthread_create(&p->threads[p->nthreads], NULL, http_pool_main, p) != 0)
        return false;
    p->nthreads++;
    return true;
}

int http_pool_create(unsigned max_threads, http_pool **out, cerr *e)
{
    http_pool *p = calloc(1, sizeof *p);
    if (p == NULL || (p->threads = calloc(max_threads, sizeof *p->threads)) == NULL)
        abort();
    p->max = max_threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->drained, NULL);
    /* One thread from the start, so a queued job always has a taker. */
    pthread_mutex_lock(&p->lock);
    bool ok = http_pool_grow(p);
    pthread_mutex_unlock(&p->lock);
    if (!ok) {
        http_pool_destroy(p);
        return cerr_set(e, CERR_INTERNAL_ERROR, "cannot start a handler thread");
    }
    *out = p;
    return 0;
}

bool http_pool_reserve(http_pool *p)
{
    /* Count first, then look: a drainer that set stopping before our
     * increment sees it and waits, or we see stopping and back out. */
    atomic_fetch_add(&p->reserved, 1);
    if (!atomic_load(&p->stopping))
        return true;
    http_pool_release(p);
    return false;
}

void http_pool_push(http_pool *p, http_job *j)
{
    j->next = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    /* A thread that fails to start is not fatal: the running ones will
     * get to the job, later. */
    if (p->idle == 0)
        http_pool_grow(p);
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
}

void http_pool_drain(http_pool *p)
{
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->stopping, true);
    while (atomic_load(&p->reserved) > 0)
        pthread_cond_wait(&p->drained, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

void http_pool_destroy(http_pool *p)
{
    if (p == NULL)
        return;
    http_pool_drain(p);
    pthread_mutex_lock(&p->lock);
    p->exiting = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->drained);
    free(p->threads);
    free(p);
}
