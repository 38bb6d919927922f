/* launch.h - a job's life cycle on a run, shared by the job service and
 * `cairn run`: resolve the project, create the run with MLflow's project
 * tags and the parameters, start the job on its backend; then, each time
 * the backend reports a state, move the run along.
 *
 * Tags set at creation, as `mlflow run` sets them: mlflow.source.type
 * PROJECT, mlflow.source.name, mlflow.project.entryPoint,
 * mlflow.project.backend, mlflow.user, mlflow.runName (when named),
 * mlflow.source.git.commit (when known), cairn.job.id; once submitted
 * cairn.job.backend_id. At the end: cairn.job.state (the backend state),
 * cairn.job.reason (when the run did not finish), cairn.job.exit_code, and
 * the output file as the artifact JOB_OUTPUT_ARTIFACT. */
#ifndef CAIRN_LAUNCH_H
#define CAIRN_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "backend_config.h"
#include "tracker.h"

#define JOB_OUTPUT_ARTIFACT "cairn/output.log"

typedef struct job_launch_req {
    const char *job_id;          /* Cairn's id for the job (32 hex) */
    const char *workdir;         /* absolute, exists */
    const char *project_dir;     /* absolute, the unpacked project */
    const char *entry_point;     /* NULL: "main" */
    const char *const *params;   /* "key=value" */
    size_t nparams;
    const backend_config *cfg;
    const char *experiment_id;   /* resolved already */
    const char *run_name;        /* may be NULL */
    const char *user;            /* mlflow.user */
    const char *source_name;     /* mlflow.source.name */
    const char *git_commit;      /* may be NULL */
    const char *tracking_uri;    /* MLFLOW_TRACKING_URI given to the job */
    const char *const *env;      /* more "NAME=value" for the job (the caller's MLFLOW_*) */
    size_t nenv;
} job_launch_req;

typedef struct job_launched {
    char *run_id;
    char *backend_id;
    char *entry_point;
    char *command;
    char *output_path;           /* workdir/output.log */
} job_launched;

/* Resolves, creates the run, logs the parameters, submits. A bad project,
 * entry point or parameter fails before any run exists
 * (INVALID_PARAMETER_VALUE with the parser's message), and so does a tag
 * or parameter MLflow would refuse (store/validate.h: the message set-tag
 * or log-param gives); a failed submission leaves the run FAILED with the
 * reason as a tag, and returns -1. */
int job_launch(const job_tracker *t, const job_launch_req *req, job_launched *out, cerr *e);
/* The checks job_launch makes before it creates the run, alone: for a
 * caller that must refuse bad input before it records anything.
 * experiment_id, tracking_uri and env are not used. */
int job_launch_check(const job_launch_req *req, cerr *e);
void job_launched_free(job_launched *l);

/* Moves the run from state prev to now->state: a new run status when it
 * changes; at a terminal state the tags above, the output artifact and the
 * end time. Idempotent: applying the same terminal status twice does no
 * harm (the service may crash between applying and recording it). */
int job_apply(const job_tracker *t, const char *run_id, job_state prev, const job_status *now,
              const char *output_path, cerr *e);

#endif
