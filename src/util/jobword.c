/* jobword.c - the one table of job states (name, the run status it
 * implies, whether it is final) and the one table of backend names
 * (jobword.h). */
#include "jobword.h"

#include <stddef.h>
#include <string.h>

#include "runstatus.h"

static const struct {
    const char *name;
    runstatus run_status;
    bool terminal;
} job_states[JOB_STATE_COUNT] = {
    [JOB_PENDING] = {"PENDING", RUNSTATUS_SCHEDULED, false},
    [JOB_RUNNING] = {"RUNNING", RUNSTATUS_RUNNING, false},
    [JOB_COMPLETED] = {"COMPLETED", RUNSTATUS_FINISHED, true},
    [JOB_FAILED] = {"FAILED", RUNSTATUS_FAILED, true},
    [JOB_CANCELLED] = {"CANCELLED", RUNSTATUS_KILLED, true},
    [JOB_TIMEOUT] = {"TIMEOUT", RUNSTATUS_FAILED, true},
    [JOB_OUT_OF_MEMORY] = {"OUT_OF_MEMORY", RUNSTATUS_FAILED, true},
    [JOB_NODE_FAIL] = {"NODE_FAIL", RUNSTATUS_FAILED, true},
    [JOB_PREEMPTED] = {"PREEMPTED", RUNSTATUS_FAILED, true},
    [JOB_BOOT_FAIL] = {"BOOT_FAIL", RUNSTATUS_FAILED, true},
    [JOB_DEADLINE] = {"DEADLINE", RUNSTATUS_FAILED, true},
    [JOB_LOST] = {"LOST", RUNSTATUS_FAILED, true},
};

const char *job_state_name(job_state s)
{
    return (unsigned)s < JOB_STATE_COUNT ? job_states[s].name : "UNKNOWN";
}

int job_state_from_name(const char *name, job_state *out)
{
    for (size_t i = 0; name && i < JOB_STATE_COUNT; i++)
        if (strcmp(job_states[i].name, name) == 0) {
            *out = (job_state)i;
            return 0;
        }
    return -1;
}

const char *job_state_run_status(job_state s)
{
    return runstatus_name((unsigned)s < JOB_STATE_COUNT ? job_states[s].run_status
                                                        : RUNSTATUS_FAILED);
}

bool job_state_terminal(job_state s)
{
    return (unsigned)s >= JOB_STATE_COUNT || job_states[s].terminal;
}

static const char *const backend_names[BACKEND_KIND_COUNT] = {
    [BACKEND_LOCAL] = "local",
    [BACKEND_SLURM] = "slurm",
    [BACKEND_UNICORE] = "unicore",
    [BACKEND_KUBERNETES] = "kubernetes",
};

const char *backend_kind_name(backend_kind k)
{
    return (unsigned)k < BACKEND_KIND_COUNT ? backend_names[k] : "unknown";
}

int backend_kind_parse(const char *name, backend_kind *out)
{
    for (size_t i = 0; name && i < BACKEND_KIND_COUNT; i++)
        if (strcmp(backend_names[i], name) == 0) {
            *out = (backend_kind)i;
            return 0;
        }
    return -1;
}

