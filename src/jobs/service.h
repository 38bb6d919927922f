/* service.h - the job service inside `cairn server`: submissions in, jobs
 * followed to the end, their runs kept up to date.
 *
 * A submission (job_service_submit) unpacks the project archive into a job
 * directory (jobs_dir/<job_id>/project), reads the backend config, checks
 * the entry point and parameters, records the job in cairn_jobs, and then
 * creates the run and starts the job through launch.c. A monitor thread
 * polls every job that has not ended (every poll_ms), applies each change
 * of state to its run (job_apply) and records it. Everything the monitor
 * needs is in the store and the job directory, so a restarted server
 * follows the jobs the previous one started; the jobs themselves never
 * depend on the server process.
 *
 * Jobs are store_job structs (store/store_job.h); api/ makes the Job
 * objects of docs/JOBS.md of them, without workdir. */
#ifndef CAIRN_JOB_SERVICE_H
#define CAIRN_JOB_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "../artifacts/store.h"
#include "../store/store.h"
#include "../util/err.h"

/* Monitor period, ms (CAIRN_JOBS_POLL_MS overrides it; see CONFIGURATION.md). */
#define JOB_SERVICE_POLL_MS 1000

typedef struct job_service job_service;

typedef struct job_service_config {
    store *st;
    const char *jobs_dir;              /* job directories; created if missing */
    artifacts_store *artifacts;        /* behind mlflow-artifacts:/ (borrowed) */
    int poll_ms;                       /* <= 0: JOB_SERVICE_POLL_MS */
} job_service_config;

/* Opens the service and starts its monitor. */
int job_service_start(const job_service_config *cfg, job_service **out, cerr *e);
/* The MLFLOW_TRACKING_URI jobs get: the server's own address, known once
 * it listens. Set before the first submission. */
void job_service_set_tracking_uri(job_service *s, const char *uri);
/* Stops the monitor; the jobs keep running. NULL is allowed. */
void job_service_stop(job_service *s);

typedef struct job_submit_req {
    const char *source;          /* "cairn", "compute-backend", "new_task" */
    const char *archive_path;    /* the uploaded project: a zip or tar archive */
    bool single_file;            /* ... or one file (a script), named archive_name */
    const char *archive_name;    /* the upload's file name; may be NULL */
    const char *config_text;     /* backend config (JSON or YAML); NULL: none */
    size_t config_len;
    const char *config_in_project; /* or its path inside the project (mantik) */
    const char *backend;         /* overrides the config's Backend; may be NULL */
    const char *account;         /* overrides its Account; may be NULL */
    const char *image;           /* overrides its Image; may be NULL */
    const char *entry_point;     /* NULL: "main" */
    const char *const *params;   /* "key=value" */
    size_t nparams;
    const char *experiment_id;   /* one of these two, or neither: "0" */
    const char *experiment_name; /* created when missing */
    const char *run_name;
    const char *user;
    const char *source_name;     /* mlflow.source.name; NULL: the archive's name */
    const char *git_commit;
    const char *const *env;      /* "MLFLOW_X=value" (other names are dropped) */
    size_t nenv;
} job_submit_req;

/* Fills *job (store_job_free it) with the new job (state PENDING, run
 * SCHEDULED) once its run exists and the backend has accepted it. Bad
 * input is INVALID_PARAMETER_VALUE and leaves no run and no job. */
int job_service_submit(job_service *s, const job_submit_req *r, store_job *job, cerr *e);
int job_service_get(job_service *s, const char *job_id, store_job *job, cerr *e);
/* *jobs holds *n jobs (store_jobs_free them). */
int job_service_list(job_service *s, const store_job_query *q, store_job **jobs, size_t *n,
                     char **next_token, cerr *e);
/* Asks the backend to stop the job; fills *job as it is now. */
int job_service_cancel(job_service *s, const char *job_id, store_job *job, cerr *e);
/* The job's output file (heap path; it may not exist yet) and whether the
 * job has ended. */
int job_service_output(job_service *s, const char *job_id, char **path, bool *ended, cerr *e);

#endif
