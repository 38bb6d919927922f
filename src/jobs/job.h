/* job.h - the states of a job and what they mean for its tracked run.
 *
 * One vocabulary for every backend: Slurm's job state names (squeue's long
 * form, sacct's State column), which the local backend uses as well, plus
 * LOST for a job whose process or record vanished without a final state.
 * A run's MLflow status follows from the state (job_state_run_status):
 *
 *   PENDING                                    SCHEDULED
 *   RUNNING                                    RUNNING
 *   COMPLETED                                  FINISHED
 *   CANCELLED                                  KILLED
 *   FAILED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL,
 *   PREEMPTED, BOOT_FAIL, DEADLINE, LOST       FAILED (the state is the reason)
 */
#ifndef CAIRN_JOB_H
#define CAIRN_JOB_H

#include <stdbool.h>

typedef enum {
    JOB_PENDING,
    JOB_RUNNING,
    JOB_COMPLETED,
    JOB_FAILED,
    JOB_CANCELLED,
    JOB_TIMEOUT,
    JOB_OUT_OF_MEMORY,
    JOB_NODE_FAIL,
    JOB_PREEMPTED,
    JOB_BOOT_FAIL,
    JOB_DEADLINE,
    JOB_LOST,
} job_state;

/* What a backend reports about one job. */
#define JOB_REASON_MAX 256
typedef struct job_status {
    job_state state;
    int exit_code;               /* the command's exit status, -1 unknown */
    char reason[JOB_REASON_MAX]; /* the backend's words, e.g. "TIMEOUT",
                                  * "exit code 3", "Resources"; may be "" */
} job_status;

const char *job_state_name(job_state s);
/* Reads a state name as Slurm prints it: "RUNNING", "CANCELLED by 0",
 * "COMPLETING" (RUNNING), "CONFIGURING" (PENDING), "REQUEUED" (PENDING),
 * "SUSPENDED" (RUNNING), ... Unknown names give -1. */
int job_state_parse(const char *name, job_state *out);
/* "SCHEDULED", "RUNNING", "FINISHED", "FAILED" or "KILLED". */
const char *job_state_run_status(job_state s);
bool job_state_terminal(job_state s);

#endif
