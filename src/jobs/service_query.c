/* service_query.c - the job service's reads and its one request to a
 * running job: get, list, cancel, and where the output is. */
#include "service_int.h"

#include <stdlib.h>
#include <string.h>

#include "backend.h"

int job_service_get(job_service *s, const char *job_id, store_job *job, cerr *e)
{
    *job = (store_job)STORE_JOB_INIT;
    if (job_id == NULL || job_id[0] == '\0')
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Missing value for required parameter "
                                                         "'job_id'");
    return store_job_get(s->st, job_id, job, e);
}

int job_service_list(job_service *s, const store_job_query *q, store_job **jobs, size_t *n,
                     char **next_token, cerr *e)
{
    return store_job_list(s->st, q, jobs, n, next_token, e);
}

int job_service_cancel(job_service *s, const char *job_id, store_job *job, cerr *e)
{
    if (job_service_get(s, job_id, job, e) < 0)
        return -1;
    int rc = 0;
    if (!job_state_terminal(job->state)) {
        if (job->backend_job_id[0] == '\0')
            rc = cerr_set(e, CERR_BAD_REQUEST,
                          "job %s is still being submitted; cancel it again in a moment", job_id);
        else if (!job_service_reaches(s, job))
            rc = cerr_set(e, CERR_BAD_REQUEST,
                          "job %s runs on %s, whose server can cancel it; this is %s", job_id,
                          job->host, s->host);
        else
            rc = job_backend_cancel(job->backend, job->backend_job_id, job->workdir, e);
    }
    if (rc < 0)
        store_job_free(job);
    return rc;
}

int job_service_output(job_service *s, const char *job_id, char **path, bool *ended, cerr *e)
{
    store_job job;
    *path = NULL;
    if (job_service_get(s, job_id, &job, e) < 0)
        return -1;
    sbuf p = SBUF_INIT;
    sbuf_printf(&p, "%s/output.log", job.workdir);
    *path = sbuf_detach(&p);
    *ended = job_state_terminal(job.state);
    store_job_free(&job);
    return 0;
}
