/* service_query.c - the job service's reads and its one request to a
 * running job: get, list, cancel, and where the output is. Job objects go
 * out without `workdir`, which is the server's business. */
#include "service_int.h"

#include <stdlib.h>
#include <string.h>

#include "backend.h"

static int job_service_load(job_service *s, const char *job_id, json_t **job, cerr *e)
{
    if (job_id == NULL || job_id[0] == '\0')
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Missing value for required parameter "
                                                         "'job_id'");
    return store_job_get(s->st, job_id, job, e);
}

int job_service_get(job_service *s, const char *job_id, json_t **job, cerr *e)
{
    if (job_service_load(s, job_id, job, e) < 0)
        return -1;
    json_object_del(*job, "workdir");
    return 0;
}

int job_service_list(job_service *s, const store_job_query *q, json_t **jobs, char **next_token,
                     cerr *e)
{
    if (store_job_list(s->st, q, jobs, next_token, e) < 0)
        return -1;
    json_t *job;
    size_t i;
    json_array_foreach(*jobs, i, job) json_object_del(job, "workdir");
    return 0;
}

static bool job_service_ended(const json_t *job)
{
    job_state st;
    const char *name = json_string_value(json_object_get(job, "state"));
    return name && job_state_parse(name, &st) == 0 && job_state_terminal(st);
}

int job_service_cancel(job_service *s, const char *job_id, json_t **job, cerr *e)
{
    if (job_service_load(s, job_id, job, e) < 0)
        return -1;
    const char *bid = json_string_value(json_object_get(*job, "backend_job_id"));
    const char *kind_name = json_string_value(json_object_get(*job, "backend"));
    int rc = 0;
    if (!job_service_ended(*job)) {
        backend_kind k;
        if (backend_kind_parse(kind_name, &k) < 0)
            rc = cerr_set(e, CERR_INTERNAL_ERROR, "job %s has an unknown backend '%s'", job_id,
                          kind_name ? kind_name : "");
        else if (bid == NULL || bid[0] == '\0')
            rc = cerr_set(e, CERR_BAD_REQUEST,
                          "job %s is still being submitted; cancel it again in a moment", job_id);
        else if (!job_service_reaches(s, *job))
            rc = cerr_set(e, CERR_BAD_REQUEST,
                          "job %s runs on %s, whose server can cancel it; this is %s", job_id,
                          json_string_value(json_object_get(*job, "host")), s->host);
        else
            rc = job_backend_cancel(k, bid,
                                    json_string_value(json_object_get(*job, "workdir")), e);
    }
    json_object_del(*job, "workdir");
    if (rc < 0) {
        json_decref(*job);
        *job = NULL;
    }
    return rc;
}

int job_service_output(job_service *s, const char *job_id, char **path, bool *ended, cerr *e)
{
    json_t *job;
    *path = NULL;
    if (job_service_load(s, job_id, &job, e) < 0)
        return -1;
    sbuf p = SBUF_INIT;
    sbuf_printf(&p, "%s/output.log", json_string_value(json_object_get(job, "workdir")));
    *path = sbuf_detach(&p);
    *ended = job_service_ended(job);
    json_decref(job);
    return 0;
}
