/* store_job.c - the job struct of store_job.h: setting its texts and
 * freeing it. */
#include "store_job.h"

#include <stdlib.h>
#include <string.h>


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
