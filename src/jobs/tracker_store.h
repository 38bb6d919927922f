/* tracker_store.h - the job tracker (tracker.h) over the server's own store
 * and artifact folder: what the job service tracks its runs with. */
#ifndef CAIRN_TRACKER_STORE_H
#define CAIRN_TRACKER_STORE_H

#include "../artifacts/store.h"
#include "../store/store.h"
#include "tracker.h"

typedef struct tracker_store_ctx {
    store *st;
    artifacts_store *artifacts; /* behind mlflow-artifacts:/ */
} tracker_store_ctx;

/* A tracker whose ctx is c (which must outlive it). */
job_tracker tracker_store_make(tracker_store_ctx *c);

#endif
