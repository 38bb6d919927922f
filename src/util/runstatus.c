/* runstatus.c - MLflow's RunStatus names (runstatus.h). */
#include "runstatus.h"

#include <string.h>

static const char *const runstatus_names[] = {
    [RUNSTATUS_RUNNING] = "RUNNING", [RUNSTATUS_SCHEDULED] = "SCHEDULED", [RUNSTATUS_FINISHED] = "FINISHED",
    [RUNSTATUS_FAILED] = "FAILED",   [RUNSTATUS_KILLED] = "KILLED",
};

const char *runstatus_name(int s)
{
    return s >= RUNSTATUS_RUNNING && s <= RUNSTATUS_MAX ? runstatus_names[s] : NULL;
}

runstatus runstatus_parse(const char *name)
{
    for (int s = RUNSTATUS_RUNNING; name != NULL && s <= RUNSTATUS_MAX; s++)
        if (strcmp(name, runstatus_names[s]) == 0)
            return (runstatus)s;
    return RUNSTATUS_NONE;
}

bool runstatus_is_terminal(const char *name)
{
    runstatus s = runstatus_parse(name);
    return s == RUNSTATUS_FINISHED || s == RUNSTATUS_FAILED || s == RUNSTATUS_KILLED;
}
