/* slurm.c - the Slurm backend: a generated batch script (slurm_script.c)
 * submitted with sbatch, followed with scontrol and sacct, cancelled with
 * scancel.
 *
 * The commands run with argv through backend_run (posix_spawnp: no shell,
 * PATH and SLURM_CONF from the process environment), each bounded by
 * BACKEND_CMD_TIMEOUT_MS. A job's state comes from slurmctld
 * (`scontrol -o show job ID`) while it still knows the job (MinJobAge after
 * the end), then from the accounting records: `sacct -P -n -X -j ID`, or,
 * when accounting storage is disabled, `sacct -c` (the jobcomp file). The
 * completion record can be there while slurmctld still says COMPLETING; it
 * is then taken. A job neither knows is LOST.
 *
 * ExitCode is Slurm's "E:S" (exit status E, or signal S): exit_code is E,
 * or 128+S for a signal, as a shell reports it. The reason is "exit code E"
 * or "signal S" for FAILED, Slurm's pending reason for PENDING, the state's
 * name for the other final states (TIMEOUT, OUT_OF_MEMORY, CANCELLED...). */
#include "backend_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Slurm ids as Cairn uses them: digits only (no arrays, no steps); also
 * keeps an id from reading as an option. */
static int check_id(const char *id, cerr *e)
{
    size_t n = strspn(id, "0123456789");
    if (n == 0 || n > 20 || id[n] != '\0')
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "'%.64s' is not a Slurm job id", id);
    return 0;
}

/* A command's stderr as one line for an error message: its lines joined
 * with "; ", in place. */
static const char *one_line(sbuf *b)
{
    sbuf joined = SBUF_INIT;
    char *save = NULL;
    for (char *l = strtok_r(b->data, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save))
        sbuf_printf(&joined, "%s%s", joined.len ? "; " : "", l);
    sbuf_free(b);
    *b = joined;
    return b->len ? b->data : "(no message)";
}

static bool unreachable(const char *err)
{
    return strstr(err, "Unable to contact slurm controller") != NULL ||
           strstr(err, "Socket timed out") != NULL || strstr(err, "Connection refused") != NULL;
}

static int submit_failed(const char *script, int status, sbuf *err, cerr *e)
{
    const char *msg = one_line(err);
    return cerr_set(e, unreachable(msg) ? CERR_TEMPORARILY_UNAVAILABLE : CERR_INVALID_PARAMETER_VALUE,
                    "sbatch %s failed (exit %d): %s", script, status, msg);
}

/* "ID" or "ID;cluster" (sbatch --parsable). */
static int parse_sbatch(const char *text, char **id, cerr *e)
{
    size_t n = strspn(text, "0123456789");
    if (n == 0 || n > 20 || (text[n] != '\0' && text[n] != ';' && text[n] != '\n'))
        return cerr_set(e, CERR_INTERNAL_ERROR, "sbatch --parsable printed '%.100s', not a job id", text);
    *id = strndup(text, n);
    return 0;
}

int slurm_submit(const job_spec *spec, char **backend_id, cerr *e)
{
    sbuf text = SBUF_INIT, path = SBUF_INIT, out = SBUF_INIT, err = SBUF_INIT;
    int status = 0;
    int rc = slurm_script_render(spec, &text, e);
    backend_path(&path, spec->workdir, JOB_SBATCH_FILE);
    if (rc == 0)
        rc = backend_write_file(path.data, text.data, text.len, 0700, e);
    const char *argv[] = {"sbatch", "--parsable", path.data, NULL};
    if (rc == 0)
        rc = backend_run(argv, BACKEND_CMD_TIMEOUT_MS, &out, &err, &status, e);
    if (rc == 0 && status != 0)
        rc = submit_failed(path.data, status, &err, e);
    if (rc == 0)
        rc = parse_sbatch(out.data, backend_id, e);
    sbuf_free(&text);
    sbuf_free(&path);
    sbuf_free(&out);
    sbuf_free(&err);
    return rc;
}

/* A final state with Slurm's "E:S" exit code. */
static void final_state(job_state st, const char *exit_code, job_status *out)
{
    int ex = 0, sig = 0;
    out->state = st;
    out->exit_code = -1;
    if (exit_code != NULL && sscanf(exit_code, "%d:%d", &ex, &sig) == 2)
        out->exit_code = sig ? 128 + sig : ex;
    out->reason[0] = '\0';
    if (st == JOB_FAILED && sig)
        snprintf(out->reason, sizeof out->reason, "signal %d", sig);
    else if (st == JOB_FAILED)
        snprintf(out->reason, sizeof out->reason, "exit code %d", ex);
    else if (st != JOB_COMPLETED)
        snprintf(out->reason, sizeof out->reason, "%s", job_state_name(st));
}

/* The value of "key=" among scontrol's blank-separated fields, copied. */
static void field(const char *text, const char *key, char *val, size_t cap)
{
    size_t kn = strlen(key);
    val[0] = '\0';
    for (const char *p = text; (p = strstr(p, key)) != NULL; p += kn) {
        if ((p == text || p[-1] == ' ') && p[kn] == '=') {
            size_t n = strcspn(p + kn + 1, " \n");
            snprintf(val, cap, "%.*s", (int)n, p + kn + 1);
            return;
        }
    }
}

static int scontrol_query(const char *id, job_status *out, bool *found, bool *completing, cerr *e)
{
    sbuf o = SBUF_INIT, err = SBUF_INIT;
    const char *argv[] = {"scontrol", "-o", "show", "job", id, NULL};
    int status = 0, rc = backend_run(argv, BACKEND_CMD_TIMEOUT_MS, &o, &err, &status, e);
    char state[64], reason[JOB_REASON_MAX], code[32];
    *found = *completing = false;
    if (rc == 0 && status != 0 && strstr(err.data, "Invalid job id") == NULL)
        rc = cerr_set(e, CERR_TEMPORARILY_UNAVAILABLE, "scontrol show job %s failed (exit %d): %s",
                      id, status, one_line(&err));
    if (rc == 0 && status == 0) {
        field(o.data, "JobState", state, sizeof state);
        field(o.data, "Reason", reason, sizeof reason);
        field(o.data, "ExitCode", code, sizeof code);
        job_state st;
        if (job_state_parse(state, &st) < 0)
            rc = cerr_set(e, CERR_INTERNAL_ERROR, "Slurm job %s is in state '%s', unknown to Cairn", id, state);
        else if (job_state_terminal(st))
            final_state(st, code, out);
        else {
            out->state = st;
            out->exit_code = -1;
            snprintf(out->reason, sizeof out->reason, "%s",
                     st == JOB_PENDING && strcmp(reason, "None") != 0 ? reason : "");
        }
        *found = rc == 0;
        *completing = strcmp(state, "COMPLETING") == 0;
    }
    sbuf_free(&o);
    sbuf_free(&err);
    return rc;
}

int slurm_scontrol_status(const char *id, job_status *out, bool *found, cerr *e)
{
    bool completing;
    if (check_id(id, e) < 0)
        return -1;
    return scontrol_query(id, out, found, &completing, e);
}

/* The last "ID|State|ExitCode" line for id (a requeued job has several). */
static int sacct_parse(const char *id, char *text, job_status *out, bool *found, cerr *e)
{
    size_t idn = strlen(id);
    *found = false;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char *bar = strchr(line, '|');
        if (bar == NULL || (size_t)(bar - line) != idn || strncmp(line, id, idn) != 0)
            continue;
        char *bar2 = strchr(bar + 1, '|');
        if (bar2 == NULL)
            continue;
        *bar2 = '\0';
        job_state st;
        if (job_state_parse(bar + 1, &st) < 0)
            return cerr_set(e, CERR_INTERNAL_ERROR,
                            "sacct: Slurm job %s is in state '%s', unknown to Cairn", id, bar + 1);
        if (job_state_terminal(st))
            final_state(st, bar2 + 1, out);
        else {
            out->state = st;
            out->exit_code = -1;
            out->reason[0] = '\0';
        }
        *found = true;
    }
    return 0;
}

int slurm_sacct_status(const char *id, job_status *out, bool *found, cerr *e)
{
    if (check_id(id, e) < 0)
        return -1;
    sbuf o = SBUF_INIT, err = SBUF_INIT;
    const char *argv[] = {"sacct", "-P", "-n", "-X", "-j", id, "-o", "JobID,State,ExitCode", NULL};
    const char *argv_c[] = {"sacct", "-c", "-P", "-n", "-X", "-j", id, "-o", "JobID,State,ExitCode", NULL};
    int status = 0, rc = backend_run(argv, BACKEND_CMD_TIMEOUT_MS, &o, &err, &status, e);
    /* Without slurmdbd the records are in the jobcomp file. */
    if (rc == 0 && status != 0 && strstr(err.data, "accounting storage is disabled") != NULL)
        rc = backend_run(argv_c, BACKEND_CMD_TIMEOUT_MS, &o, &err, &status, e);
    if (rc == 0 && status != 0)
        rc = cerr_set(e, CERR_TEMPORARILY_UNAVAILABLE, "sacct -j %s failed (exit %d): %s", id,
                      status, one_line(&err));
    if (rc == 0)
        rc = sacct_parse(id, o.data, out, found, e);
    sbuf_free(&o);
    sbuf_free(&err);
    return rc;
}

int slurm_poll(const char *backend_id, job_status *out, cerr *e)
{
    bool found, completing, final;
    job_status rec;
    if (check_id(backend_id, e) < 0 || scontrol_query(backend_id, out, &found, &completing, e) < 0)
        return -1;
    if (found && !completing)
        return 0;
    if (slurm_sacct_status(backend_id, &rec, &final, e) < 0)
        return -1;
    if (final && (!found || job_state_terminal(rec.state))) {
        *out = rec;
        return 0;
    }
    if (found)
        return 0; /* COMPLETING, no record yet: still RUNNING */
    out->state = JOB_LOST;
    out->exit_code = -1;
    snprintf(out->reason, sizeof out->reason,
             "Slurm knows no job %s (neither slurmctld nor the accounting records)", backend_id);
    return 0;
}

int slurm_cancel(const char *backend_id, cerr *e)
{
    if (check_id(backend_id, e) < 0)
        return -1;
    sbuf o = SBUF_INIT, err = SBUF_INIT;
    const char *argv[] = {"scancel", backend_id, NULL};
    int status = 0, rc = backend_run(argv, BACKEND_CMD_TIMEOUT_MS, &o, &err, &status, e);
    /* A job that has ended, or that slurmctld has forgotten, is not an error. */
    if (rc == 0 && status != 0 && strstr(err.data, "Invalid job id") == NULL &&
        strstr(err.data, "already completing or completed") == NULL)
        rc = cerr_set(e, unreachable(err.data) ? CERR_TEMPORARILY_UNAVAILABLE : CERR_INTERNAL_ERROR,
                      "scancel %s failed (exit %d): %s", backend_id, status, one_line(&err));
    sbuf_free(&o);
    sbuf_free(&err);
    return rc;
}

int slurm_find(const char *job_id, char **backend_id, cerr *e)
{
    *backend_id = NULL;
    if (strspn(job_id, "0123456789abcdef") != strlen(job_id) || job_id[0] == '\0')
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "'%.64s' is not a Cairn job id", job_id);
    sbuf name = SBUF_INIT, o = SBUF_INIT, err = SBUF_INIT;
    sbuf_printf(&name, "cairn-%s", job_id);
    const char *argv[] = {"squeue", "-h", "-t", "all", "-n", name.data, "-o", "%i", NULL};
    int status = 0, rc = backend_run(argv, BACKEND_CMD_TIMEOUT_MS, &o, &err, &status, e);
    if (rc == 0 && status != 0)
        rc = cerr_set(e, unreachable(err.data) ? CERR_TEMPORARILY_UNAVAILABLE : CERR_INTERNAL_ERROR,
                      "squeue -n %s failed (exit %d): %s", name.data, status, one_line(&err));
    if (rc == 0 && o.len > 0) {
        size_t n = strspn(o.data, "0123456789");
        if (n > 0 && (*backend_id = strndup(o.data, n)) != NULL)
            rc = 1;
    }
    sbuf_free(&name);
    sbuf_free(&o);
    sbuf_free(&err);
    return rc;
}

void slurm_peek_parse(const char *text, const char *const *ids, size_t n, int *states)
{
    for (size_t i = 0; i < n; i++)
        states[i] = -1;
    char id[32], name[64];
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        job_state st;
        if (sscanf(l, "%31s %63s", id, name) != 2 || job_state_parse(name, &st) < 0)
            continue;
        for (size_t i = 0; i < n; i++)
            if (strcmp(ids[i], id) == 0)
                states[i] = (int)st;
    }
}

int slurm_peek(const char *const *ids, size_t n, int *states, cerr *e)
{
    sbuf o = SBUF_INIT, err = SBUF_INIT;
    /* Every job of this user that slurmctld knows, in one call; filtering
     * here rather than with -j, which errs on one id it has forgotten. */
    const char *argv[] = {"squeue", "-h", "-t", "all", "--me", "-o", "%i %T", NULL};
    int status = 0, rc = backend_run(argv, BACKEND_CMD_TIMEOUT_MS, &o, &err, &status, e);
    if (rc == 0 && status != 0)
        rc = cerr_set(e, unreachable(err.data) ? CERR_TEMPORARILY_UNAVAILABLE : CERR_INTERNAL_ERROR,
                      "squeue failed (exit %d): %s", status, one_line(&err));
    if (rc == 0)
        slurm_peek_parse(sbuf_str(&o), ids, n, states);
    sbuf_free(&o);
    sbuf_free(&err);
    return rc;
}
