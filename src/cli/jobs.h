/* jobs.h - what `cairn jobs` and `cairn submit` share: showing a Job object,
 * knowing when a job has ended, streaming its output to stdout and waiting
 * for its end (docs/JOBS.md). */
#ifndef CAIRN_CLI_JOBS_H
#define CAIRN_CLI_JOBS_H

#include <jansson.h>

#include "cairn.h"

/* Has a job in this state (a JOBS.md state name) ended? */
int cli_job_ended(const char *state);
/* Prints a Job as "field: value" lines. */
void cli_job_print(json_t *job);
/* Streams the job's output to stdout from *offset (advanced by what was
 * written); with follow, until the job has ended (the stream is taken up
 * again if it breaks off before). On success *job is the ended job (follow)
 * or NULL. Both return an exit status, errors already reported. */
int cli_job_output(cairn_client *c, const char *job_id, int follow, long long *offset, json_t **job);
/* Polls the job until it has ended; *job is the ended Job. */
int cli_job_wait(cairn_client *c, const char *job_id, json_t **job);

#endif
