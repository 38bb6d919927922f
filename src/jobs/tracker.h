/* tracker.h - where a job's run is tracked, as a table of functions.
 *
 * The job life cycle (launch.c) is written once over this table and used
 * twice: by the job service inside `cairn server`, which writes to its own
 * store (tracker_store.c), and by `cairn run`, which talks to a tracking
 * server through libcairn (src/cli/run_tracker.c). Every function returns
 * 0, or -1 with e set. */
#ifndef CAIRN_TRACKER_H
#define CAIRN_TRACKER_H

#include <stdint.h>

#include "../store/store.h"
#include "../util/err.h"

typedef struct job_tracker {
    void *ctx;
    /* Creates a run in experiment_id (never NULL) with the tags; *run_id is
     * heap. start_time in ms. */
    int (*run_create)(void *ctx, const char *experiment_id, const char *run_name,
                      const char *user, int64_t start_time, const store_kv *tags, size_t ntags,
                      char **run_id, cerr *e);
    int (*run_log)(void *ctx, const char *run_id, const store_kv *params, size_t nparams,
                   const store_kv *tags, size_t ntags, cerr *e);
    /* status: MLflow's RunStatus name; end_time 0 leaves it unset. */
    int (*run_status)(void *ctx, const char *run_id, const char *status, int64_t end_time,
                      cerr *e);
    /* Copies the local file path to the run's artifacts as artifact_path. */
    int (*artifact_put)(void *ctx, const char *run_id, const char *path,
                        const char *artifact_path, cerr *e);
} job_tracker;

#endif
