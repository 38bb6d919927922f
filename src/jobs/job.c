/* job.c - Slurm's state names read back into job states (job.h).
 *
 * Slurm prints more states than a run needs; the transient ones are folded
 * into the state the run is in meanwhile (COMPLETING is still RUNNING: the
 * final state and exit code come after it). The states' own names are
 * store/store_job.c's one table. */
#include "job.h"

#include <string.h>

/* Slurm's other names (squeue.1, JOB STATE CODES) and the state they are. */
static const struct {
    const char *name;
    job_state state;
} slurm_aliases[] = {
    {"COMPLETING", JOB_RUNNING},     {"CONFIGURING", JOB_PENDING},
    {"REQUEUED", JOB_PENDING},       {"REQUEUE_HOLD", JOB_PENDING},
    {"REQUEUE_FED", JOB_PENDING},    {"RESV_DEL_HOLD", JOB_PENDING},
    {"SUSPENDED", JOB_RUNNING},      {"STOPPED", JOB_RUNNING},
    {"SIGNALING", JOB_RUNNING},      {"STAGE_OUT", JOB_RUNNING},
    {"RESIZING", JOB_RUNNING},       {"SPECIAL_EXIT", JOB_FAILED},
    {"REVOKED", JOB_FAILED},
};

/* The name's first word: sacct writes "CANCELLED by 0" (the uid that
 * cancelled); a '+' suffix ("CANCELLED+") marks a truncated column. */
int job_state_parse(const char *name, job_state *out)
{
    if (name == NULL)
        return -1;
    size_t n = strcspn(name, " \t\n+");
    if (n == 0 || n >= 32)
        return -1;
    char word[32];
    memcpy(word, name, n);
    word[n] = '\0';
    if (job_state_from_name(word, out) == 0)
        return 0;
    for (size_t i = 0; i < sizeof slurm_aliases / sizeof slurm_aliases[0]; i++)
        if (strcmp(slurm_aliases[i].name, word) == 0) {
            *out = slurm_aliases[i].state;
            return 0;
        }
    return -1;
}
