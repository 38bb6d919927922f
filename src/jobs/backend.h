/* backend.h - starting, following and cancelling a job on a backend.
 *
 * One interface over the places a job runs: local.c (a process group on
 * this machine) and slurm.c (a generated batch script, sbatch, squeue /
 * sacct, scancel); unicore and kubernetes later. The caller (the job
 * service of `cairn server`, or `cairn run`) keeps only the backend's job
 * id and the job's directory; every call after submit works from those two,
 * so a job is followed again after the caller restarts.
 *
 * The job's directory (workdir) holds what the backend needs: the project
 * (spec->project_dir, where the command runs, usually workdir/project), the
 * output file (stdout and stderr together, spec->output_path) and whatever
 * the backend writes for itself (batch script, exit status file); on a
 * cluster it must be on a file system the compute nodes share. */
#ifndef CAIRN_BACKEND_H
#define CAIRN_BACKEND_H

#include <stddef.h>

#include "../util/err.h"
#include "backend_config.h"
#include "job.h"

typedef struct job_spec {
    const char *job_id;      /* Cairn's id; the Slurm job is named "cairn-<job_id>" */
    const char *workdir;     /* exists, absolute */
    const char *project_dir; /* absolute; the command runs here */
    const char *command;     /* the resolved command, for /bin/sh -c */
    const backend_config *cfg;
    const char *const *env;  /* "NAME=value", added to the job's environment
                              * (MLFLOW_RUN_ID, MLFLOW_TRACKING_URI, ...) */
    size_t nenv;
    const char *output_path; /* absolute; stdout and stderr, appended */
} job_spec;

/* Starts the job; *backend_id (heap) is what poll and cancel take: the
 * Slurm job id, or "PID:STARTTIME" locally. Errors name what failed, with
 * sbatch's own message. */
int job_backend_submit(const job_spec *spec, char **backend_id, cerr *e);
/* The job's state now. */
int job_backend_poll(backend_kind kind, const char *backend_id, const char *workdir,
                     job_status *out, cerr *e);
/* Asks the job to stop (SIGTERM, then SIGKILL after a grace period, for
 * the whole process group; scancel on Slurm). Returns once asked, not once
 * stopped: poll then reports CANCELLED. Cancelling a finished job is not an
 * error. */
int job_backend_cancel(backend_kind kind, const char *backend_id, const char *workdir, cerr *e);

/* The states of many jobs in one call, where the backend has one (Slurm:
 * one squeue for all of this user's jobs): states[i] is a job_state, or -1
 * when the backend does not list ids[i] (it ended a while ago). Only the
 * state: poll a job whose state changed for its exit code and reason.
 * Returns 1 when done, 0 when the backend has no such call (poll each job),
 * -1 on error. */
int job_backend_peek(backend_kind kind, const char *const *ids, size_t n, int *states, cerr *e);

/* The job a submission named after job_id, for a caller that stopped
 * before it learned the backend id (a server killed in the middle of
 * job_backend_submit): 1 with *backend_id (heap), 0 when there is none or
 * the backend cannot look jobs up by name (local), -1 on error. Slurm: the
 * job named "cairn-<job_id>" that slurmctld still knows. */
int job_backend_find(backend_kind kind, const char *job_id, char **backend_id, cerr *e);

#endif
