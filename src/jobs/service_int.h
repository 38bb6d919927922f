/* service_int.h - what service.c (submissions) and monitor.c (following
 * jobs, and the service's life) share. Not for other modules. */
#ifndef CAIRN_JOB_SERVICE_INT_H
#define CAIRN_JOB_SERVICE_INT_H

#include <pthread.h>
#include <stdbool.h>

#include "service.h"
#include "tracker.h"
#include "tracker_store.h"

struct job_service {
    store *st;
    char *jobs_dir;             /* absolute */
    int poll_ms;
    tracker_store_ctx tctx;
    job_tracker tracker;
    pthread_mutex_t mu;         /* guards tracking_uri and stopping */
    pthread_cond_t cv;
    char *tracking_uri;
    char host[256];             /* this machine: local jobs are followed only here */
    bool stopping;
    bool kicked;                /* a job was submitted: poll now */
    bool running;               /* the monitor thread was started */
    pthread_t thread;
};

/* Wakes the monitor for a round now (a job was just submitted). */
void job_service_kick(job_service *s);
/* A copy of the tracking URI (heap). */
char *job_service_tracking_uri(job_service *s);
/* Whether this server can reach the job's backend: a local job only from
 * the machine that started it (servers sharing one database may run on
 * several machines). */
bool job_service_reaches(const job_service *s, const store_job *job);
/* Removes a job directory that was never recorded (best effort). */
void job_service_rmtree(const char *dir);

#endif
