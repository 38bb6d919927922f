/* backend_driver.c - the job backends (src/jobs/backend.h) on the command
 * line, so that tests/e2e/test_backends.py drives real Slurm and real local
 * processes through the same code the server uses.
 *
 *   backend_driver submit [OPTIONS] COMMAND   prints the backend job id
 *   backend_driver script [OPTIONS] COMMAND   prints the batch script (slurm)
 *                                             or the job body (local)
 *   backend_driver poll KIND ID WORKDIR       prints STATE<TAB>EXIT<TAB>REASON
 *   backend_driver cancel KIND ID WORKDIR
 *   backend_driver sacct ID                   the accounting record only
 *                                             (STATE<TAB>EXIT<TAB>REASON, or NONE)
 * OPTIONS: --workdir DIR (required), --project DIR (default DIR/project,
 * created), --output FILE (default DIR/output.log), --job-id ID (default
 * e2e), --config FILE (a backend config), --backend local|slurm,
 * --env NAME=VALUE (repeatable).
 * Errors: "ERROR_CODE: message" on stderr, exit 1; usage errors exit 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jobs/backend.h"
#include "jobs/backend_int.h"

typedef struct {
    const char *workdir, *project, *output, *job_id, *config, *backend, *command;
    const char *env[64];
    size_t nenv;
} opts;

static int usage(void)
{
    fputs("usage: backend_driver submit|script [--workdir DIR] [--project DIR] [--output FILE]\n"
          "         [--job-id ID] [--config FILE] [--backend KIND] [--env K=V]... COMMAND\n"
          "       backend_driver poll|cancel KIND ID WORKDIR\n"
          "       backend_driver sacct ID\n",
          stderr);
    return 2;
}

static int fail(const cerr *e)
{
    fprintf(stderr, "%s: %s\n", cerr_code_name(e->code), e->msg);
    return 1;
}

static int parse_opts(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->job_id = "e2e";
    int i = 2;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        const char *k = argv[i] + 2, *v = argv[i + 1];
        if (strcmp(k, "workdir") == 0) o->workdir = v;
        else if (strcmp(k, "project") == 0) o->project = v;
        else if (strcmp(k, "output") == 0) o->output = v;
        else if (strcmp(k, "job-id") == 0) o->job_id = v;
        else if (strcmp(k, "config") == 0) o->config = v;
        else if (strcmp(k, "backend") == 0) o->backend = v;
        else if (strcmp(k, "env") == 0 && o->nenv < 64) o->env[o->nenv++] = v;
        else return -1;
    }
    if (i + 1 != argc || o->workdir == NULL)
        return -1;
    o->command = argv[i];
    return 0;
}

static int load_config(const opts *o, backend_config **cfg, cerr *e)
{
    int rc = o->config ? backend_config_load(o->config, cfg, e)
                       : backend_config_parse("", 0, BACKEND_CONFIG_AUTO, cfg, e);
    if (rc < 0 || o->backend == NULL)
        return rc;
    if (strcmp(o->backend, "slurm") == 0)
        (*cfg)->backend = BACKEND_SLURM;
    else if (strcmp(o->backend, "local") == 0)
        (*cfg)->backend = BACKEND_LOCAL;
    else
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "unknown backend %s", o->backend);
    return 0;
}

static int cmd_submit(int argc, char **argv, int print_only)
{
    opts o;
    cerr e = {0};
    backend_config *cfg = NULL;
    if (parse_opts(argc, argv, &o) < 0)
        return usage();
    if (load_config(&o, &cfg, &e) < 0)
        return fail(&e);
    char project[4096], output[4096];
    snprintf(project, sizeof project, "%s/project", o.workdir);
    snprintf(output, sizeof output, "%s/output.log", o.workdir);
    if (o.project == NULL) {
        mkdir(project, 0755);
        o.project = project;
    }
    job_spec spec = {o.job_id, o.workdir, o.project, o.command, cfg, o.env, o.nenv,
                     o.output ? o.output : output};
    int rc = 0;
    if (print_only) {
        sbuf s = SBUF_INIT;
        rc = cfg->backend == BACKEND_SLURM ? slurm_script_render(&spec, &s, &e)
                                           : slurm_script_body(&spec, &s, &e);
        if (rc == 0)
            fputs(sbuf_str(&s), stdout);
        sbuf_free(&s);
    } else {
        char *id = NULL;
        rc = job_backend_submit(&spec, &id, &e);
        if (rc == 0)
            printf("%s\n", id);
        free(id);
    }
    backend_config_free(cfg);
    return rc < 0 ? fail(&e) : 0;
}

static int kind_of(const char *s, backend_kind *k)
{
    static const backend_kind kinds[] = {BACKEND_LOCAL, BACKEND_SLURM, BACKEND_UNICORE, BACKEND_KUBERNETES};
    for (size_t i = 0; i < 4; i++)
        if (strcmp(s, backend_kind_name(kinds[i])) == 0) {
            *k = kinds[i];
            return 0;
        }
    return -1;
}

static void print_status(const job_status *st)
{
    printf("%s\t%d\t%s\n", job_state_name(st->state), st->exit_code, st->reason);
}

int main(int argc, char **argv)
{
    cerr e = {0};
    backend_kind k;
    job_status st;
    if (argc >= 2 && (strcmp(argv[1], "submit") == 0 || strcmp(argv[1], "script") == 0))
        return cmd_submit(argc, argv, strcmp(argv[1], "script") == 0);
    if (argc == 3 && strcmp(argv[1], "sacct") == 0) {
        bool found;
        if (slurm_sacct_status(argv[2], &st, &found, &e) < 0)
            return fail(&e);
        if (found)
            print_status(&st);
        else
            puts("NONE");
        return 0;
    }
    if (argc != 5 || kind_of(argv[2], &k) < 0)
        return usage();
    if (strcmp(argv[1], "poll") == 0) {
        if (job_backend_poll(k, argv[3], argv[4], &st, &e) < 0)
            return fail(&e);
        print_status(&st);
        return 0;
    }
    if (strcmp(argv[1], "cancel") == 0)
        return job_backend_cancel(k, argv[3], argv[4], &e) < 0 ? fail(&e) : 0;
    return usage();
}
