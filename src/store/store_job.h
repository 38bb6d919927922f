/* store_job.h - a job as the store keeps it (a row of cairn_jobs), as a
 * struct with typed fields, and the two vocabularies it is made of: the
 * states of a job and the kinds of backend, each with its one name table.
 *
 * It lives in store/ because the store reads and writes it, and the store
 * sees nothing above it; jobs/ (job.h, backend_config.h) builds on it and
 * api/ turns it into the Job object of docs/JOBS.md, which is the only place
 * a job becomes JSON.
 *
 * The states are Slurm's job state names (squeue's long form), which the
 * local backend uses as well, plus LOST for a job whose process or record
 * vanished without a final state. A run's MLflow status follows from the
 * state (job_state_run_status):
 *
 *   PENDING                                    SCHEDULED
 *   RUNNING                                    RUNNING
 *   COMPLETED                                  FINISHED
 *   CANCELLED                                  KILLED
 *   FAILED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL,
 *   PREEMPTED, BOOT_FAIL, DEADLINE, LOST       FAILED (the state is the reason)
 */
#ifndef CAIRN_STORE_JOB_H
#define CAIRN_STORE_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    JOB_PENDING,
    JOB_RUNNING,
    JOB_COMPLETED,
    JOB_FAILED,
    JOB_CANCELLED,
    JOB_TIMEOUT,
    JOB_OUT_OF_MEMORY,
    JOB_NODE_FAIL,
    JOB_PREEMPTED,
    JOB_BOOT_FAIL,
    JOB_DEADLINE,
    JOB_LOST,
} job_state;
#define JOB_STATE_COUNT (JOB_LOST + 1)

/* "PENDING", ...; "UNKNOWN" for a value out of range. */
const char *job_state_name(job_state s);
/* Exactly one of the names above (jobs/job.h's job_state_parse also reads
 * Slurm's other spellings). -1 for anything else. */
int job_state_from_name(const char *name, job_state *out);
/* "SCHEDULED", "RUNNING", "FINISHED", "FAILED" or "KILLED". */
const char *job_state_run_status(job_state s);
bool job_state_terminal(job_state s);

typedef enum { BACKEND_LOCAL, BACKEND_SLURM, BACKEND_UNICORE, BACKEND_KUBERNETES } backend_kind;
#define BACKEND_KIND_COUNT (BACKEND_KUBERNETES + 1)

/* "local", "slurm", "unicore" or "kubernetes". */
const char *backend_kind_name(backend_kind k);
/* One of those names to its kind; -1 for anything else. */
int backend_kind_parse(const char *name, backend_kind *out);

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
