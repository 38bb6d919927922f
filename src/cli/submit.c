/* submit.c - `cairn submit DIR`: packs a project directory (a tar.gz without
 * .git), sends it to the server's job service with the parameters, the
 * backend config and the caller's MLFLOW_* settings that make sense for the
 * job (docs/JOBS.md, docs/CLIENT.md), and prints the job and run ids; with
 * --follow it streams the job's output, with --wait it waits for the end,
 * and either exits 0 only if the run FINISHED. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "jobs.h"
#include "../jobs/archive.h"
#include "../util/runstatus.h"

/* The server's upload limit (docs/JOBS.md): checked before sending. */
#define SUBMIT_MAX_ARCHIVE (100LL * 1024 * 1024)
#define SUBMIT_MAX_ENV 256
#define SUBMIT_NOPTS 10   /* the options of submit_options, and the end mark */

extern char **environ;

static int submit_run(const char *noun, int argc, char **argv);

static const cmd_verb submit_verb = {
    "submit", "DIR",
    "Run the MLflow project in DIR on the server's job service (local or Slurm backend) as a tracked run.\n"
    "DIR is packed (without .git) and uploaded; the job id and run id are printed.",
    submit_run};

typedef struct {
    const char *entry, *exp_id, *exp_name, *run_name, *backend, *config;
    json_t *params;    /* "k=v" strings */
    int wait, follow;
} submit_args;

/* The caller's MLFLOW_* variables worth giving the job: none that says how
 * this machine reaches its server (MLFLOW_TRACKING_*: the server gives the
 * job its own URI and credentials), none naming the run or the experiment
 * (the server's run is the job's), and nothing that looks like a secret. */
static int submit_env_wanted(const char *item)
{
    static const char *const never[] = {"MLFLOW_TRACKING_", "MLFLOW_RUN_ID=", "MLFLOW_EXPERIMENT_ID=",
                                        "MLFLOW_EXPERIMENT_NAME="};
    static const char *const secret[] = {"TOKEN", "PASSWORD", "SECRET", "KEY", "CREDENTIAL", "AUTH"};
    const char *eq = strchr(item, '=');
    if (strncmp(item, "MLFLOW_", 7) != 0 || eq == NULL)
        return 0;
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        if (strncmp(item, never[i], strlen(never[i])) == 0)
            return 0;
    char name[256];
    size_t n = (size_t)(eq - item);
    if (n >= sizeof name)
        return 0;
    memcpy(name, item, n);
    name[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (!(name[i] == '_' || (name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= '0' && name[i] <= '9')))
            return 0;
    for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++)
        if (strstr(name, secret[i]) != NULL)
            return 0;
    return 1;
}

static size_t submit_env(const char **out, size_t cap)
{
    size_t n = 0;
    for (char **e = environ; e && *e && n < cap; e++)
        if (submit_env_wanted(*e))
            out[n++] = *e;
    return n;
}

/* HEAD's commit when dir is in a git work tree: `git -C dir rev-parse HEAD`,
 * run without a shell. Returns 1 with out filled, else 0. */
static int submit_git_commit(const char *dir, char out[65])
{
    int fd[2];
    if (pipe(fd) < 0)
        return 0;
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return 0;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 2);
        dup2(fd[1], 1);
        close(fd[0]);
        unsetenv("GIT_DIR");
        unsetenv("GIT_WORK_TREE");
        execlp("git", "git", "-C", dir, "rev-parse", "--verify", "-q", "HEAD", (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    char buf[128];
    size_t len = 0;
    for (ssize_t r; len < sizeof buf - 1 && (r = read(fd[0], buf + len, sizeof buf - 1 - len)) != 0;)
        if (r > 0)
            len += (size_t)r;
        else if (errno != EINTR)
            break;
    close(fd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    buf[len] = '\0';
    len = strspn(buf, "0123456789abcdef");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || (len != 40 && len != 64) || buf[len] != '\n')
        return 0;
    memcpy(out, buf, len);
    out[len] = '\0';
    return 1;
}

/* -P k=v items as a JSON object text; reports a usage error (returns NULL). */
static char *submit_params(json_t *list)
{
    json_t *obj = json_object();
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        const char *item = json_string_value(v), *eq = strchr(item, '=');
        char key[256];
        if (eq == NULL || eq == item || (size_t)(eq - item) >= sizeof key) {
            cmd_usage_error("submit", NULL, "parameter '%s' is not of the form key=value", item);
            json_decref(obj);
            return NULL;
        }
        memcpy(key, item, (size_t)(eq - item));
        key[eq - item] = '\0';
        if (json_object_get(obj, key) != NULL) {
            cmd_usage_error("submit", NULL, "parameter '%s' is given more than once", key);
            json_decref(obj);
            return NULL;
        }
        json_object_set_new(obj, key, json_string(eq + 1));
    }
    char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    return text;
}

static int submit_usage(const submit_args *s, const cmd_args *a)
{
    if (s->exp_id && s->exp_name)
        return cmd_usage_error("submit", NULL, "give --experiment-id or --experiment-name, not both");
    if (s->backend && strcmp(s->backend, "local") != 0 && strcmp(s->backend, "slurm") != 0)
        return cmd_usage_error("submit", NULL, "--backend must be local or slurm, not '%s'", s->backend);
    if (s->follow && a->common.json)
        return cmd_usage_error("submit", NULL, "--follow prints the job's output; it does not go with --json");
    return -1;
}

/* Packs dir into a temporary tar.gz; *path is the file (to unlink). */
static int submit_pack(const char *dir, char *path, size_t cap)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(path, cap, "%s/cairn-submit-XXXXXX.tar.gz", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemps(path, 7);
    if (fd < 0) {
        path[0] = '\0';
        fprintf(stderr, "cairn: cannot create a temporary file in %s: %s\n", tmp && *tmp ? tmp : "/tmp",
                strerror(errno));
        return CLI_EXIT_FAIL;
    }
    close(fd);
    cerr e;
    struct stat st;
    if (archive_pack_dir(dir, path, &e) != 0) {
        fprintf(stderr, "cairn: %s\n", e.msg);
        return CLI_EXIT_FAIL;
    }
    if (stat(path, &st) == 0 && st.st_size > SUBMIT_MAX_ARCHIVE) {
        fprintf(stderr, "cairn: %s packs to %.1f MiB; the server takes at most 100 MiB (keep data out of the "
                        "project directory)\n", dir, (double)st.st_size / 1048576.0);
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

/* The final word on an ended job; exit 0 only for a FINISHED run. */
static int submit_outcome(json_t *job, int json)
{
    const char *status = cmd_str(job, "run_status"), *reason = cmd_str(job, "reason");
    if (json) {
        json_t *j = json_pack("{s:O}", "job", job);
        cmd_print_json(j);
        json_decref(j);
    } else {
        fprintf(stderr, "cairn: job %s ended %s%s%s (run %s %s)\n", cmd_str(job, "job_id"), cmd_str(job, "state"),
                *reason ? ": " : "", reason, cmd_str(job, "run_id"), status);
    }
    return runstatus_parse(status) == RUNSTATUS_FINISHED ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

/* After the answer to jobs/submit: print, then follow or wait if asked. */
static int submit_after(cairn_client *c, const submit_args *s, const cmd_args *a, char *text)
{
    json_t *j = cmd_json(text), *job = json_object_get(j, "job");
    const char *id = cmd_str(job, "job_id");
    int rc = CLI_EXIT_OK;
    if (!json_is_object(job) || *id == '\0') {
        fprintf(stderr, "cairn: the server's answer to jobs/submit has no job\n");
        rc = CLI_EXIT_FAIL;
    } else if (s->follow) {
        fprintf(stderr, "cairn: submitted job %s (run %s); its output follows\n", id, cmd_str(job, "run_id"));
        long long offset = 0;
        json_t *end = NULL;
        if ((rc = cli_job_output(c, id, 1, &offset, &end)) == CLI_EXIT_OK)
            rc = submit_outcome(end, 0);
        json_decref(end);
    } else {
        if (a->common.json && !s->wait)
            cmd_print_json(j);
        else if (!a->common.json)
            printf("job_id: %s\nrun_id: %s\n", id, cmd_str(job, "run_id"));
        fflush(stdout);
        json_t *end = NULL;
        if (s->wait && (rc = cli_job_wait(c, id, &end)) == CLI_EXIT_OK)
            rc = submit_outcome(end, a->common.json);
        json_decref(end);
    }
    json_decref(j);
    return rc;
}

static int submit_send(const submit_args *s, const cmd_args *a, cairn_job_submit_opts *o)
{
    char archive[PATH_MAX];
    int rc = submit_pack(a->pos[0], archive, sizeof archive);
    if (rc != CLI_EXIT_OK) {
        if (archive[0])
            unlink(archive);
        return rc;
    }
    o->project_path = archive;
    cairn_client *c = cmd_client(&a->common, 0);
    char *text = NULL;
    if (c == NULL)
        rc = cmd_status();
    else if (cairn_job_submit(c, o, &text) < 0)
        rc = cmd_fail();
    unlink(archive);
    if (rc == CLI_EXIT_OK)
        rc = submit_after(c, s, a, text);
    cairn_client_close(c);
    return rc;
}

static int submit_prepare(const submit_args *s, const cmd_args *a)
{
    char *params = submit_params(s->params);
    if (params == NULL)
        return CLI_EXIT_USAGE;
    char real[PATH_MAX], commit[65];
    struct stat st;
    const char *bad = realpath(a->pos[0], real) == NULL ? strerror(errno)
                      : stat(real, &st) < 0 || !S_ISDIR(st.st_mode) ? "not a directory" : NULL;
    if (bad != NULL) {
        fprintf(stderr, "cairn: project directory %s: %s\n", a->pos[0], bad);
        free(params);
        return CLI_EXIT_FAIL;
    }
    const char *env[SUBMIT_MAX_ENV];
    cairn_job_submit_opts o = {0};
    o.backend_config_path = s->config;
    o.backend = s->backend;
    o.entry_point = s->entry;
    o.parameters_json = s->params != NULL ? params : NULL;
    o.experiment_id = s->exp_id;
    o.experiment_name = s->exp_name;
    if (!s->exp_id && !s->exp_name) {
        o.experiment_id = getenv("MLFLOW_EXPERIMENT_ID");
        o.experiment_name = o.experiment_id && *o.experiment_id ? NULL : getenv("MLFLOW_EXPERIMENT_NAME");
    }
    o.run_name = s->run_name;
    o.source_name = real;
    o.git_commit = submit_git_commit(real, commit) ? commit : NULL;
    o.env = env;
    o.nenv = submit_env(env, SUBMIT_MAX_ENV);
    int rc = submit_send(s, a, &o);
    free(params);
    return rc;
}

static void submit_options(submit_args *s, cmd_opt *o)
{
    const cmd_opt all[] = {
        {"entry-point", 'e', "NAME", "Entry point of the MLproject (default main).", &s->entry, NULL, NULL},
        {"param", 'P', "KEY=VALUE", "A parameter of the entry point (repeatable).", NULL, NULL, &s->params},
        {"experiment-name", 0, "NAME", "Experiment by name (created if missing).", &s->exp_name, NULL, NULL},
        {"experiment-id", 'x', "ID", "Experiment (default $MLFLOW_EXPERIMENT_ID, $MLFLOW_EXPERIMENT_NAME, else 0).",
         &s->exp_id, NULL, NULL},
        {"run-name", 0, "NAME", "Name of the run.", &s->run_name, NULL, NULL},
        {"backend", 'b', "local|slurm", "Backend (default: the config's, else local).", &s->backend, NULL, NULL},
        {"backend-config", 'c', "FILE", "Backend config, JSON or YAML (docs/BACKENDS.md).", &s->config, NULL, NULL},
        {"wait", 'w', NULL, "Wait until the job ends; exit 0 only if its run FINISHED.", NULL, &s->wait, NULL},
        {"follow", 'f', NULL, "Print the job's output until it ends (on stdout; exit as --wait).", NULL, &s->follow,
         NULL},
        {0}};
    memcpy(o, all, sizeof all);
}

static int submit_run(const char *noun, int argc, char **argv)
{
    (void)noun;
    submit_args s = {0};
    cmd_opt opts[SUBMIT_NOPTS];
    submit_options(&s, opts);
    cmd_args a;
    int rc = cmd_parse("submit", &submit_verb, opts, 1, 1, argc, argv, &a);
    if (rc < 0 && (rc = submit_usage(&s, &a)) < 0)
        rc = submit_prepare(&s, &a);
    json_decref(s.params);
    return rc;
}

int cli_submit(int argc, char **argv)
{
    return submit_run("submit", argc, argv);
}

void cli_submit_help(void)
{
    submit_args s = {0};
    cmd_opt opts[SUBMIT_NOPTS];
    submit_options(&s, opts);
    cmd_verb_help(stdout, "submit", &submit_verb, opts);
}
