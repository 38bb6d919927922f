/* runstatus.h - MLflow's RunStatus, the one table of its names: RUNNING = 1,
 * SCHEDULED, FINISHED, FAILED, KILLED = 5 (the protobuf enum's numbers), for
 * the server (api/, store/, jobs/, cli/) and libcairn, which links this file
 * as it links fmt17.c. Needs nothing but the C library. The SQL schemas keep
 * MLflow's own CHECK constraint text verbatim. */
#ifndef CAIRN_RUNSTATUS_H
#define CAIRN_RUNSTATUS_H

#include <stdbool.h>

typedef enum {
    RUNSTATUS_NONE = 0, /* not a status: what runstatus_parse answers for an unknown name */
    RUNSTATUS_RUNNING = 1,
    RUNSTATUS_SCHEDULED = 2,
    RUNSTATUS_FINISHED = 3,
    RUNSTATUS_FAILED = 4,
    RUNSTATUS_KILLED = 5,
} runstatus;
#define RUNSTATUS_MAX RUNSTATUS_KILLED

/* The names in the enum's order, for messages. */
#define RUNSTATUS_LIST "RUNNING, SCHEDULED, FINISHED, FAILED, KILLED"

/* "RUNNING" ... "KILLED"; NULL for anything outside 1..5. */
const char *runstatus_name(int s);
/* The status with that exact (case-sensitive) name; RUNSTATUS_NONE for NULL
 * or any other string. */
runstatus runstatus_parse(const char *name);
/* FINISHED, FAILED or KILLED: a run that has ended. False for NULL or an
 * unknown name. */
bool runstatus_is_terminal(const char *name);

#endif
