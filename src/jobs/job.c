/* job.c - the job states of job.h: their names, Slurm's names read back,
 * and what each means for the tracked run.
 *
 * Slurm prints more states than a run needs; the transient ones are folded
 * into the state the run is in meanwhile (COMPLETING is still RUNNING: the
 * final state and exit code come after it). */
#include "job.h"
#include "../util/runstatus.h"

#include <string.h>

static const char *const state_names[] = {
    [JOB_PENDING] = "PENDING",
    [JOB_RUNNING] = "RUNNING",
    [JOB_COMPLETED] = "COMPLETED",
    [JOB_FAILED] = "FAILED",
    [JOB_CANCELLED] = "CANCELLED",
    [JOB_TIMEOUT] = "TIMEOUT",
    [JOB_OUT_OF_MEMORY] = "OUT_OF_MEMORY",
    [JOB_NODE_FAIL] = "NODE_FAIL",
    [JOB_PREEMPTED] = "PREEMPTED",
    [JOB_BOOT_FAIL] = "BOOT_FAIL",
    [JOB_DEADLINE] = "DEADLINE",
    [JOB_LOST] = "LOST",
};

#define NSTATES (sizeof state_names / sizeof state_names[0])

/* Slurm's other names (squeue.1, JOB STATE CODES) and the state they are. */
static const struct {
    const char *name;
    job_state state;
} slurm_aliases[] = {
    {"COMPLETING", JOB_RUNNING},     {"CONFIGURING", JOB_PENDING},
    {"REQUEUED", JOB_PENDING},       {"REQUEUE_HOLD", JOB_PENDING},
    {"REQUEUE_FED", JOB_PENDING},    {"RESV_DEL_HOLD", JOB_PENDING},
    {"SUSPENDED", JOB_RUNNING},      {"STOPPED", JOB_RUNNING},
    {"SIGNALING", JOB_RUNNING},      {"STAGE_OUT", JOB_RUNNING},
    {"RESIZING", JOB_RUNNING},       {"SPECIAL_EXIT", JOB_FAILED},
    {"REVOKED", JOB_FAILED},
};

const char *job_state_name(job_state s)
{
    if ((unsigned)s >= NSTATES)
        return "UNKNOWN";
    return state_names[s];
}

/* The name's first word: sacct writes "CANCELLED by 0" (the uid that
 * cancelled); a '+' suffix ("CANCELLED+") marks a truncated column. */
static size_t first_word(const char *name)
{
    size_t n = strcspn(name, " \t\n+");
    return n;
}

int job_state_parse(const char *name, job_state *out)
{
    if (name == NULL)
        return -1;
    size_t n = first_word(name);
    if (n == 0)
        return -1;
    for (size_t i = 0; i < NSTATES; i++) {
        if (strlen(state_names[i]) == n && strncmp(state_names[i], name, n) == 0) {
            *out = (job_state)i;
            return 0;
        }
    }
    for (size_t i = 0; i < sizeof slurm_aliases / sizeof slurm_aliases[0]; i++) {
        if (strlen(slurm_aliases[i].name) == n && strncmp(slurm_aliases[i].name, name, n) == 0) {
            *out = slurm_aliases[i].state;
            return 0;
        }
    }
    return -1;
}

const char *job_state_run_status(job_state s)
{
    switch (s) {
    case JOB_PENDING:
        return runstatus_name(RUNSTATUS_SCHEDULED);
    case JOB_RUNNING:
        return runstatus_name(RUNSTATUS_RUNNING);
    case JOB_COMPLETED:
        return runstatus_name(RUNSTATUS_FINISHED);
    case JOB_CANCELLED:
        return runstatus_name(RUNSTATUS_KILLED);
    default:
        return runstatus_name(RUNSTATUS_FAILED);
    }
}

bool job_state_terminal(job_state s)
{
    return s != JOB_PENDING && s != JOB_RUNNING;
}
