/* run.c - `cairn run DIR`: run an MLflow project as a tracked job, like
 * `mlflow run`. The project runs in place (DIR, which on a cluster is on the
 * shared file system); the job's own files (output.log, the backend's batch
 * script and status files) go to a job directory,
 * $CAIRN_JOBS_DIR/<job_id> (default ~/.cache/cairn/jobs/<job_id>). The run
 * is created on the tracking server through libcairn (run_tracker.c), the
 * job is started with job_launch and followed here (run_follow.c) until it
 * ends; the exit status is 0 when the run FINISHED, 130 after Ctrl-C, 1
 * otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../jobs/launch.h"
#include "../jobs/mlproject.h"
#include "../util/misc.h"
#include "../util/path.h"
#include "../util/sbuf.h"
#include "cmd.h"
#include "run.h"
#include "run_tracker.h"

extern char **environ;

static int run_main(const char *noun, int argc, char **argv);

static const cmd_verb run_verb = {
    "run", "DIR",
    "Run the MLflow project in DIR as a tracked job, like `mlflow run`: create a run with the\n"
    "project's parameters, start the entry point's command on the backend (local or Slurm),\n"
    "show its output, and set the run's status when it ends. Ctrl-C cancels the job.\n"
    "Exit status: 0 when the run FINISHED, 130 after Ctrl-C, 1 otherwise.",
    run_main};

/* ---- setup: options, directories, what the run records ---- */

typedef struct {
    const char *entry, *exp_id, *exp_name, *run_name, *backend, *config_path;
    json_t *params;
} run_opts;

#define RUN_NOPTS 8

static void run_opt_table(run_opts *o, cmd_opt opts[RUN_NOPTS])
{
    const cmd_opt t[RUN_NOPTS] = {
        {"entry-point", 'e', "ENTRY", "Entry point of the MLproject (default main).", &o->entry, NULL, NULL},
        {"param", 'P', "KEY=VALUE", "A parameter of the entry point (repeatable).", NULL, NULL, &o->params},
        {"experiment-name", 0, "NAME", "Experiment by name (created if missing).", &o->exp_name, NULL, NULL},
        {"experiment-id", 0, "ID", "Experiment id (default $MLFLOW_EXPERIMENT_ID, else 0).", &o->exp_id, NULL, NULL},
        {"run-name", 0, "NAME", "Name of the new run.", &o->run_name, NULL, NULL},
        {"backend", 'b', "local|slurm", "Where the job runs (overrides the config's Backend).", &o->backend,
         NULL, NULL},
        {"backend-config", 'c', "FILE", "Backend configuration, JSON or YAML (docs/BACKENDS.md).",
         &o->config_path, NULL, NULL},
        {0}};
    memcpy(opts, t, sizeof t);
}

static int run_usage(const char *fmt, const char *arg)
{
    return cmd_usage_error("run", NULL, fmt, arg);
}

/* Loads --backend-config (or the default: local) and applies --backend. */
static int run_config(const run_opts *o, backend_config **cfg)
{
    cerr e;
    int rc = o->config_path ? backend_config_load(o->config_path, cfg, &e)
                            : backend_config_parse("", 0, BACKEND_CONFIG_AUTO, cfg, &e);
    if (rc < 0) {
        fprintf(stderr, "cairn: backend config %s: %s\n", o->config_path ? o->config_path : "", e.msg);
        return CLI_EXIT_FAIL;
    }
    if (o->backend == NULL)
        return CLI_EXIT_OK;
    if (strcmp(o->backend, "local") == 0)
        (*cfg)->backend = BACKEND_LOCAL;
    else if (strcmp(o->backend, "slurm") == 0)
        (*cfg)->backend = BACKEND_SLURM;
    else
        return run_usage("--backend must be local or slurm, not '%s'", o->backend);
    return CLI_EXIT_OK;
}

/* $CAIRN_JOBS_DIR/<job_id>, else ~/.cache/cairn/jobs/<job_id> (XDG_CACHE_HOME
 * when set), made with its parents. */
static int run_workdir(const char *job_id, sbuf *out)
{
    const char *root = getenv("CAIRN_JOBS_DIR"), *cache = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    if (root != NULL && *root)
        sbuf_printf(out, "%s/%s", root, job_id);
    else if (cache != NULL && *cache == '/')
        sbuf_printf(out, "%s/cairn/jobs/%s", cache, job_id);
    else if (home != NULL && *home)
        sbuf_printf(out, "%s/.cache/cairn/jobs/%s", home, job_id);
    else
        sbuf_printf(out, "/tmp/cairn-jobs-%u/%s", (unsigned)getuid(), job_id);
    cerr e;
    if (path_mkdirs(sbuf_str(out), 0755, &e) < 0) {
        fprintf(stderr, "cairn: cannot make the job directory %s: %s\n", sbuf_str(out), e.msg);
        return CLI_EXIT_FAIL;
    }
    char real[PATH_MAX];
    if (realpath(sbuf_str(out), real) != NULL) {
        sbuf_reset(out);
        sbuf_puts(out, real);
    }
    return CLI_EXIT_OK;
}

/* `git -C dir rev-parse HEAD`, run without a shell; NULL outside a work
 * tree or without git. */
static char *run_git_commit(const char *dir)
{
    int fds[2];
    if (pipe(fds) < 0)
        return NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 2);
        dup2(fds[1], 1);
        close(fds[0]);
        char *const argv[] = {"git", "-C", (char *)dir, "rev-parse", "--verify", "-q", "HEAD", NULL};
        execvp("git", argv);
        _exit(127);
    }
    close(fds[1]);
    char buf[128] = {0};
    size_t n = 0;
    ssize_t r;
    while (pid > 0 && n < sizeof buf - 1 && (r = read(fds[0], buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)r;
    close(fds[0]);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return NULL;
    buf[strcspn(buf, "\r\n")] = '\0';
    return strlen(buf) >= 40 && strspn(buf, "0123456789abcdef") == strlen(buf) ? strdup(buf) : NULL;
}

/* Who runs it, as Python's getpass.getuser() finds out. */
static const char *run_user(void)
{
    static const char *const vars[] = {"LOGNAME", "USER", "LNAME", "USERNAME"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v != NULL && *v)
            return v;
    }
    struct passwd *pw = getpwuid(getuid());
    return pw != NULL ? pw->pw_name : NULL;
}

/* The caller's MLFLOW_* variables, for the job (launch.c lets its own
 * MLFLOW_RUN_ID, MLFLOW_TRACKING_URI and MLFLOW_EXPERIMENT_ID win). */
static size_t run_mlflow_env(const char ***out)
{
    size_t n = 0;
    for (char **v = environ; *v; v++)
        n++;
    *out = calloc(n + 1, sizeof **out);
    if (*out == NULL)
        abort();
    n = 0;
    for (char **v = environ; *v; v++)
        if (strncmp(*v, "MLFLOW_", 7) == 0)
            (*out)[n++] = *v;
    return n;
}

/* --experiment-id, --experiment-name (created if missing), else
 * MLFLOW_EXPERIMENT_ID, MLFLOW_EXPERIMENT_NAME, else "0". */
static int run_experiment(cairn_client *c, const run_opts *o, char **out)
{
    const char *id = o->exp_id, *name = o->exp_name;
    if (id == NULL && name == NULL) {
        id = getenv("MLFLOW_EXPERIMENT_ID");
        if (id == NULL || *id == '\0')
            id = NULL, name = getenv("MLFLOW_EXPERIMENT_NAME");
        if (name != NULL && *name == '\0')
            name = NULL;
    }
    if (id != NULL || name == NULL) {
        *out = strdup(id ? id : "0");
        return CLI_EXIT_OK;
    }
    char *got = NULL;
    if (cairn_experiment_ensure(c, name, &got) < 0)
        return cmd_fail();
    *out = strdup(got);
    cairn_free(got);
    return CLI_EXIT_OK;
}

/* ---- the command ---- */

typedef struct {
    char job_id[33];
    sbuf workdir;
    char project[PATH_MAX];
    char *git_commit;
    char *experiment_id;
    const char **env;
    size_t nenv;
    const char **params;
    size_t nparams;
} run_ctx;

static void run_ctx_free(run_ctx *r)
{
    sbuf_free(&r->workdir);
    free(r->git_commit);
    free(r->experiment_id);
    free(r->env);
    free(r->params);
}

static void run_params(const run_opts *o, run_ctx *r)
{
    r->nparams = o->params ? json_array_size(o->params) : 0;
    r->params = calloc(r->nparams + 1, sizeof *r->params);
    if (r->params == NULL)
        abort();
    for (size_t i = 0; i < r->nparams; i++)
        r->params[i] = json_string_value(json_array_get(o->params, i));
}

static int run_launch(cairn_client *c, const run_opts *o, const backend_config *cfg, run_ctx *r,
                      job_launched *l)
{
    job_tracker t = run_tracker(c);
    job_launch_req req = {
        .job_id = r->job_id,
        .workdir = sbuf_str(&r->workdir),
        .project_dir = r->project,
        .entry_point = o->entry,
        .params = r->params,
        .nparams = r->nparams,
        .cfg = cfg,
        .experiment_id = r->experiment_id,
        .run_name = o->run_name,
        .user = run_user(),
        .source_name = r->project,
        .git_commit = r->git_commit,
        .tracking_uri = cairn_client_tracking_uri(c),
        .env = r->env,
        .nenv = r->nenv,
    };
    cerr e;
    if (job_launch(&t, &req, l, &e) < 0) {
        if (l->run_id != NULL)
            fprintf(stderr, "cairn: run %s FAILED: %s\n", l->run_id, e.msg);
        else
            fprintf(stderr, "cairn: %s\n", e.msg);
        return CLI_EXIT_FAIL;
    }
    fprintf(stderr, "cairn: run %s in experiment %s: job %s on %s (%s), entry point '%s'\n", l->run_id,
            r->experiment_id, r->job_id, backend_kind_name(cfg->backend), l->backend_id, l->entry_point);
    fprintf(stderr, "cairn: command: %s\ncairn: output: %s\n", l->command, l->output_path);
    return CLI_EXIT_OK;
}

/* The project, entry point and parameters, checked before the server is
 * asked for anything (job_launch checks them again, for its other caller). */
static int run_check_project(const run_ctx *r, const char *entry)
{
    mlproject *p = NULL;
    mlproject_run run;
    cerr e;
    int rc = mlproject_load(r->project, &p, &e);
    if (rc == 0 && (rc = mlproject_resolve(p, entry, r->params, r->nparams, &run, &e)) == 0)
        mlproject_run_free(&run);
    mlproject_free(p);
    if (rc < 0)
        fprintf(stderr, "cairn: %s\n", e.msg);
    return rc < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

static int run_prepare(const run_opts *o, const char *dir, run_ctx *r)
{
    if (realpath(dir, r->project) == NULL) {
        fprintf(stderr, "cairn: project directory %s: %s\n", dir, strerror(errno));
        return CLI_EXIT_FAIL;
    }
    struct stat st;
    if (stat(r->project, &st) < 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "cairn: %s is not a directory\n", dir);
        return CLI_EXIT_FAIL;
    }
    run_params(o, r);
    if (run_check_project(r, o->entry) != CLI_EXIT_OK)
        return CLI_EXIT_FAIL;
    ids_hex32(r->job_id);
    if (run_workdir(r->job_id, &r->workdir) != CLI_EXIT_OK)
        return CLI_EXIT_FAIL;
    r->git_commit = run_git_commit(r->project);
    r->nenv = run_mlflow_env(&r->env);
    return CLI_EXIT_OK;
}

static int run_execute(const cmd_args *a, const run_opts *o, const backend_config *cfg)
{
    run_ctx r = {.workdir = SBUF_INIT};
    job_launched l = {0};
    run_signals_install();
    int rc = run_prepare(o, a->pos[0], &r);
    cairn_client *c = NULL;
    if (rc == CLI_EXIT_OK && (c = cmd_client(&a->common, 0)) == NULL)
        rc = cmd_status();
    if (rc == CLI_EXIT_OK)
        rc = run_experiment(c, o, &r.experiment_id);
    if (rc == CLI_EXIT_OK && run_interrupted())
        rc = RUN_EXIT_INTERRUPTED; /* before anything started */
    if (rc == CLI_EXIT_OK)
        rc = run_launch(c, o, cfg, &r, &l);
    if (rc != CLI_EXIT_OK && l.run_id == NULL && r.workdir.len > 0)
        rmdir(sbuf_str(&r.workdir)); /* nothing started: leave no empty job directory */
    if (rc == CLI_EXIT_OK) {
        job_tracker t = run_tracker(c);
        run_job job = {&t, cfg->backend, &l, sbuf_str(&r.workdir), r.job_id, r.experiment_id, a->common.json};
        rc = run_follow(&job);
    }
    job_launched_free(&l);
    if (c != NULL)
        cairn_client_close(c);
    run_ctx_free(&r);
    return rc;
}

static int run_main(const char *noun, int argc, char **argv)
{
    run_opts o = {0};
    cmd_opt opts[RUN_NOPTS];
    run_opt_table(&o, opts);
    cmd_args a;
    int rc = cmd_parse(noun, &run_verb, opts, 1, 1, argc, argv, &a);
    if (rc >= 0)
        goto out;
    backend_config *cfg = NULL;
    if (o.exp_id && o.exp_name)
        rc = run_usage("give --experiment-id or --experiment-name, not both%s", "");
    else
        rc = run_config(&o, &cfg);
    if (rc == CLI_EXIT_OK)
        rc = run_execute(&a, &o, cfg);
    backend_config_free(cfg);
out:
    json_decref(o.params);
    return rc;
}

int cli_run(int argc, char **argv)
{
    return run_main("run", argc, argv);
}

void cli_run_help(void)
{
    run_opts o = {0};
    cmd_opt opts[RUN_NOPTS];
    run_opt_table(&o, opts);
    cmd_verb_help(stdout, "run", &run_verb, opts);
}
