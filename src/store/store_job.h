/* store_job.h - a job as the store keeps it (a row of cairn_jobs), as a
 * struct with typed fields.
 *
 * It lives in store/ because the store reads and writes it, and the store
 * sees nothing above it; jobs/ (job.h, backend_config.h) builds on it and
 * api/ turns it into the Job object of docs/JOBS.md, which is the only place
 * a job becomes JSON.
 *
 * The vocabularies (job states, backend kinds) are util/jobword.h's.
 */
#ifndef CAIRN_STORE_JOB_H
#define CAIRN_STORE_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/jobword.h"



/* One job. Every string is the struct's own (heap), freed by
 * store_job_free; a text the job does not have yet is "" or NULL (the store
 * writes NULL as "" and reads back ""). */
typedef struct store_job {
    char *job_id;         /* 32 hex digits */
    char *experiment_id;
    char *run_id;         /* "" until the run exists */
    char *run_name;
    backend_kind backend;
    char *backend_job_id; /* Slurm's job id, or "PID:STARTTIME"; "" before submission */
    job_state state;      /* the run's status is job_state_run_status(state) */
    char *reason;         /* why it ended so, or why it waits */
    int exit_code;        /* -1 while unknown */
    char *entry_point;
    char *command;
    char *user_id;
    char *source;         /* the API it came through: "cairn", "compute-backend", "new_task" */
    char *workdir;        /* the job's directory: the server's business, never answered */
    char *host;           /* the machine of the server that started it */
    int64_t submit_time;  /* ms; 0 while unknown */
    int64_t start_time;
    int64_t end_time;
} store_job;

/* An empty job: NULL strings, exit_code -1, state PENDING. */
#define STORE_JOB_INIT {.exit_code = -1}

/* Frees the strings and empties *j (NULL allowed). */
void store_job_free(store_job *j);
/* Frees n jobs and the array. */
void store_jobs_free(store_job *jobs, size_t n);
/* Sets *field to a heap copy of value (NULL: NULL), freeing the old one. */
void store_job_set_text(char **field, const char *value);

/* The fields of a job that an update may set (store_job_update); the
 * others (job_id, experiment_id, backend, user_id, source, workdir, host,
 * submit_time) are fixed when the job is recorded. */
enum {
    STORE_JOB_RUN_ID = 1u << 0,
    STORE_JOB_RUN_NAME = 1u << 1,
    STORE_JOB_BACKEND_JOB_ID = 1u << 2,
    STORE_JOB_STATE = 1u << 3, /* and the run status it implies */
    STORE_JOB_REASON = 1u << 4,
    STORE_JOB_EXIT_CODE = 1u << 5,
    STORE_JOB_ENTRY_POINT = 1u << 6,
    STORE_JOB_COMMAND = 1u << 7,
    STORE_JOB_START_TIME = 1u << 8,
    STORE_JOB_END_TIME = 1u << 9,
};

#endif
