/* job.h - what a backend reports about a job, and Slurm's state names read
 * back into the job states.
 *
 * The states themselves, their names and what each means for the tracked
 * run are store/store_job.h's (the store keeps them); this adds what only
 * the backends need: Slurm prints more states than a run needs, and the
 * transient ones are folded into the state the run is in meanwhile. */
#ifndef CAIRN_JOB_H
#define CAIRN_JOB_H

#include <stdbool.h>

#include "../store/store_job.h"

/* What a backend reports about one job. */
#define JOB_REASON_MAX 256
typedef struct job_status {
    job_state state;
    int exit_code;               /* the command's exit status, -1 unknown */
    char reason[JOB_REASON_MAX]; /* the backend's words, e.g. "TIMEOUT",
                                  * "exit code 3", "Resources"; may be "" */
} job_status;

/* Reads a state name as Slurm prints it: "RUNNING", "CANCELLED by 0",
 * "COMPLETING" (RUNNING), "CONFIGURING" (PENDING), "REQUEUED" (PENDING),
 * "SUSPENDED" (RUNNING), ... Unknown names give -1. */
int job_state_parse(const char *name, job_state *out);

#endif
