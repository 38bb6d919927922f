/* wake.c - connections parked while their streamed answer waits for data
 * (a job's log being followed), resumed a little later.
 *
 * MHD calls a response's content reader again as soon as it returns; a
 * reader with nothing to send must therefore suspend its connection first
 * (microhttpd.h says as much). The waker is the thread that resumes parked
 * connections after HTTP_WAKE_MS, so that a follower costs a connection
 * and a few wake-ups a second, never a thread. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"

typedef struct http_parked {
    struct MHD_Connection *c;
    struct http_parked *next;
} http_parked;

struct http_waker {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    http_parked *list;
    bool stopping;
    pthread_t thread;
};

static void http_waker_resume_all(http_waker *w)
{
    http_parked *p = w->list;
    w->list = NULL;
    while (p) {
        http_parked *next = p->next;
        MHD_resume_connection(p->c);
        free(p);
        p = next;
    }
}

static void *http_waker_main(void *arg)
{
    http_waker *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += HTTP_WAKE_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!w->stopping && pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT)
            ;
        http_waker_resume_all(w);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int http_waker_start(http_waker **out, cerr *e)
{
    http_waker *w = calloc(1, sizeof *w);
    if (w == NULL)
        abort();
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&w->thread, NULL, http_waker_main, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return cerr_set(e, CERR_INTERNAL_ERROR, "cannot start the stream waker thread");
    }
    *out = w;
    return 0;
}

bool http_waker_park(http_waker *w, struct MHD_Connection *c)
{
    http_parked *p = malloc(sizeof *p);
    if (p == NULL)
        abort();
    pthread_mutex_lock(&w->mu);
    if (w->stopping) {
        pthread_mutex_unlock(&w->mu);
        free(p);
        return false;
    }
    /* Suspended before it is listed: the waker resumes only what is
     * suspended. */
    MHD_suspend_connection(c);
    p->c = c;
    p->next = w->list;
    w->list = p;
    pthread_mutex_unlock(&w->mu);
    return true;
}

void http_waker_quiesce(http_waker *w)
{
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_mutex_lock(&w->mu);
    http_waker_resume_all(w);
    pthread_mutex_unlock(&w->mu);
}

void http_waker_free(http_waker *w)
{
    if (w == NULL)
        return;
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
