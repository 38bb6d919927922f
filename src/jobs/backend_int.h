/* backend_int.h - what the backend files (backend.c, local.c, slurm.c,
 * slurm_script.c, container.c) share; not for the rest of Cairn, which uses
 * backend.h. */
#ifndef CAIRN_BACKEND_INT_H
#define CAIRN_BACKEND_INT_H

#include <stdbool.h>
#include <spawn.h>
#include <stddef.h>

#include "../util/err.h"
#include "../util/sbuf.h"
#include "backend.h"

/* Bound on one Slurm command (sbatch, scontrol, sacct, scancel): slurmctld
 * answers in milliseconds, a minute means it is gone. */
#define BACKEND_CMD_TIMEOUT_MS 60000
/* Output kept from one command, per stream; the rest is read and dropped. */
#define BACKEND_CMD_OUTPUT_MAX (1 << 20)
/* Largest status/pid file read back from a job's directory. */
#define BACKEND_SMALL_FILE_MAX 4096

/* The files a backend keeps in the job's directory. */
#define JOB_BODY_FILE "job.sh"           /* the job body (both backends) */
#define JOB_SBATCH_FILE "job.sbatch"     /* Slurm: the batch script */
#define LOCAL_WATCH_FILE "job.watch.sh"  /* local: the watcher */
#define LOCAL_STATUS_FILE "job.status"   /* local: the exit status, once known */
#define LOCAL_PGID_FILE "job.pgid"       /* local: the job's process group */
#define LOCAL_CANCEL_FILE "job.cancel"   /* local: cancel was asked */
#define LOCAL_TIMEOUT_FILE "job.timeout" /* local: Runtime ran out */

/* backend.c: files and programs. */
void backend_path(sbuf *out, const char *dir, const char *name);
/* Writes data to path through path.tmp and rename, so a reader sees the
 * whole file or none. */
int backend_write_file(const char *path, const char *data, size_t len, int mode, cerr *e);
/* Reads at most max bytes; *missing tells a file that does not exist
 * (then 0 is returned and out is empty). */
int backend_read_file(const char *path, size_t max, sbuf *out, bool *missing, cerr *e);
/* Runs argv[0] (looked up in PATH) with argv, no shell, stdin /dev/null,
 * and collects stdout and stderr. *status is the exit status (128+N for
 * signal N). Fails only when the program cannot run or exceeds timeout_ms
 * (it is then killed). */
int backend_run(const char *const *argv, int timeout_ms, sbuf *out, sbuf *err, int *status,
                cerr *e);
/* Attributes for a child that starts clean: no signal blocked, every
 * signal at its default; extra_flags e.g. POSIX_SPAWN_SETSID. */
int backend_spawnattr(posix_spawnattr_t *a, short extra_flags);
/* A name of the job environment: letters, digits and '_', no leading digit. */
bool backend_env_name_ok(const char *s, size_t n);

/* slurm_script.c: the job body (both backends) and the batch script. */
int slurm_script_body(const job_spec *spec, sbuf *out, cerr *e);
int slurm_script_render(const job_spec *spec, sbuf *out, cerr *e);
/* "D-HH:MM:SS" for a Runtime in seconds, rounded up to whole minutes. */
void slurm_script_time(long long seconds, sbuf *out);

/* container.c: cmd run through /bin/sh -c inside cfg's container. */
int container_wrap(const backend_config *cfg, const char *project_dir, const char *cmd,
                   sbuf *out, cerr *e);

/* local.c */
int local_submit(const job_spec *spec, char **backend_id, cerr *e);
int local_poll(const char *backend_id, const char *workdir, job_status *out, cerr *e);
int local_cancel(const char *backend_id, const char *workdir, cerr *e);

/* slurm.c */
int slurm_submit(const job_spec *spec, char **backend_id, cerr *e);
int slurm_poll(const char *backend_id, job_status *out, cerr *e);
int slurm_cancel(const char *backend_id, cerr *e);
int slurm_find(const char *job_id, char **backend_id, cerr *e);
int slurm_peek(const char *const *ids, size_t n, int *states, cerr *e);
/* squeue's "ID STATE" lines into states[i] for ids[i] (-1: not listed). */
void slurm_peek_parse(const char *text, const char *const *ids, size_t n, int *states);
/* What slurmctld says (scontrol show job); *found false when it no
 * longer knows the job. */
int slurm_scontrol_status(const char *id, job_status *out, bool *found, cerr *e);
/* What the accounting records say (sacct, or sacct -c when accounting
 * storage is disabled); *found false without a record. */
int slurm_sacct_status(const char *id, job_status *out, bool *found, cerr *e);

#endif
