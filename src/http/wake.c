/* wake.c - connections parked while their streamed answer waits for data
 * (a job's log being followed), resumed a little later, or at once when
 * the store says the wait is over (http_waker_kick: an S3 transfer that
 * has bytes for a download, or room for an upload's next bytes). A kick
 * that comes before its connection is parked is kept, so it is never
 * lost; a kick resumes every parked connection, and one that finds no
 * change parks again.
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
    bool kicked; /* a stream became ready: resume the parked now */
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
        while (!w->stopping && !(w->kicked && w->list) &&
               pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT)
            ;
        if (w->list)
            w->kicked = false;
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
    if (w->kicked) /* the kick came before the park: do not miss it */
        pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return true;
}

void http_waker_kick(void *arg)
{
    http_waker *w = arg;
    pthread_mutex_lock(&w->mu);
    w->kicked = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
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
