/* run_tracker.h - the job_tracker of `cairn run` (src/jobs/tracker.h): the
 * job's run lives on a tracking server reached through libcairn. */
#ifndef CAIRN_CLI_RUN_TRACKER_H
#define CAIRN_CLI_RUN_TRACKER_H

#include "cairn.h"
#include "../jobs/tracker.h"

/* A tracker over client c (which must outlive it); nothing to free. */
job_tracker run_tracker(cairn_client *c);

#endif
