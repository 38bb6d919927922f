/* store_job.c - the job struct of store_job.h: the one table of job states
 * (name, the run status it implies, whether it is final), the one table of
 * backend names, and freeing. */
#include "store_job.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    const char *run_status;
    bool terminal;
} job_states[JOB_STATE_COUNT] = {
    [JOB_PENDING] = {"PENDING", "SCHEDULED", false},
    [JOB_RUNNING] = {"RUNNING", "RUNNING", false},
    [JOB_COMPLETED] = {"COMPLETED", "FINISHED", true},
    [JOB_FAILED] = {"FAILED", "FAILED", true},
    [JOB_CANCELLED] = {"CANCELLED", "KILLED", true},
    [JOB_TIMEOUT] = {"TIMEOUT", "FAILED", true},
    [JOB_OUT_OF_MEMORY] = {"OUT_OF_MEMORY", "FAILED", true},
    [JOB_NODE_FAIL] = {"NODE_FAIL", "FAILED", true},
    [JOB_PREEMPTED] = {"PREEMPTED", "FAILED", true},
    [JOB_BOOT_FAIL] = {"BOOT_FAIL", "FAILED", true},
    [JOB_DEADLINE] = {"DEADLINE", "FAILED", true},
    [JOB_LOST] = {"LOST", "FAILED", true},
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
    return (unsigned)s < JOB_STATE_COUNT ? job_states[s].run_status : "FAILED";
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

void store_job_set_text(char **field, const char *value)
{
    char *copy = value ? strdup(value) : NULL;
    if (value && copy == NULL)
        abort();
    free(*field);
    *field = copy;
}

void store_job_free(store_job *j)
{
    if (j == NULL)
        return;
    char **texts[] = {&j->job_id,  &j->experiment_id, &j->run_id,   &j->run_name,
                      &j->backend_job_id, &j->reason, &j->entry_point, &j->command,
                      &j->user_id, &j->source, &j->workdir, &j->host};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        free(*texts[i]);
    *j = (store_job)STORE_JOB_INIT;
}

void store_jobs_free(store_job *jobs, size_t n)
{
    for (size_t i = 0; jobs && i < n; i++)
        store_job_free(&jobs[i]);
    free(jobs);
}
