/* run.h - the parts of `cairn run` (run.c) that follow a started job until
 * it ends (run_follow.c): signals, polling, output, the run's status. */
#ifndef CAIRN_CLI_RUN_H
#define CAIRN_CLI_RUN_H

#include <stdio.h>

#include "../jobs/launch.h"

#define RUN_EXIT_INTERRUPTED 130

typedef struct {
    const job_tracker *tracker;
    backend_kind backend;
    const job_launched *launched;
    const char *workdir;
    const char *job_id;
    const char *experiment_id;
    int json;                 /* --json: output to stderr, a JSON summary on stdout */
} run_job;

/* SIGINT and SIGTERM only set a flag (no SA_RESTART): run_follow cancels.
 * SIGPIPE is ignored. */
void run_signals_install(void);
/* Has SIGINT or SIGTERM come? */
int run_interrupted(void);
/* Follows the job to its end: state changes on stderr, the output file's new
 * bytes on stdout, job_apply at each change, job_backend_cancel after a
 * signal. Returns the exit status: 0 FINISHED, 130 interrupted, else 1. */
int run_follow(const run_job *job);

#endif
