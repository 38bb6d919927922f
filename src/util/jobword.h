/* jobword.h - the words of a job, defined once: the states a job goes
 * through and the kinds of backend it runs on, each with its one name
 * table. In util/ because every layer speaks them: the store keeps them in
 * cairn_jobs, jobs/ moves a job through them, api/ answers with them, and
 * `cairn run` (cli/) prints them.
 *
 * The states are Slurm's job state names (squeue's long form), which the
 * local backend uses as well, plus LOST for a job whose process or record
 * vanished without a final state. A run's MLflow status follows from the
 * state (job_state_run_status):
 *
 *   PENDING                                    SCHEDULED
 *   RUNNING                                    RUNNING
 *   COMPLETED                                  FINISHED
 *   CANCELLED                                  KILLED
 *   FAILED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL,
 *   PREEMPTED, BOOT_FAIL, DEADLINE, LOST       FAILED (the state is the reason)
 */
#ifndef CAIRN_JOBWORD_H
#define CAIRN_JOBWORD_H

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
#define JOB_STATE_COUNT (JOB_LOST + 1)

/* "PENDING", ...; "UNKNOWN" for a value out of range. */
const char *job_state_name(job_state s);
/* Exactly one of the names above (jobs/job.h's job_state_parse also reads
 * Slurm's other spellings). -1 for anything else. */
int job_state_from_name(const char *name, job_state *out);
/* "SCHEDULED", "RUNNING", "FINISHED", "FAILED" or "KILLED". */
const char *job_state_run_status(job_state s);
bool job_state_terminal(job_state s);

typedef enum { BACKEND_LOCAL, BACKEND_SLURM, BACKEND_UNICORE, BACKEND_KUBERNETES } backend_kind;
#define BACKEND_KIND_COUNT (BACKEND_KUBERNETES + 1)

/* "local", "slurm", "unicore" or "kubernetes". */
const char *backend_kind_name(backend_kind k);
/* One of those names to its kind; -1 for anything else. */
int backend_kind_parse(const char *name, backend_kind *out);

#endif
