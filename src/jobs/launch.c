/* launch.c - a job's life cycle on a tracked run (see launch.h): resolve the
 * project, create the run with MLflow's project tags, log the parameters,
 * build the job's environment and submit it (job_launch); then move the run
 * along as the backend reports states (job_apply).
 *
 * The job's environment: MLFLOW_RUN_ID, MLFLOW_TRACKING_URI and
 * MLFLOW_EXPERIMENT_ID, then the caller's extra variables (never overriding
 * those three, and without an MLFLOW_EXPERIMENT_NAME that could name another
 * experiment), then, so that `import cairn` works inside the job,
 * PYTHONPATH with Cairn's python/ directory in front and CAIRN_LIBRARY
 * naming libcairn.so, when both are found next to the running program
 * (job_cairn_paths).
 *
 * On failure *out keeps what was made (run_id once the run exists, so a
 * caller can name the failed run); job_launched_free it either way. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../store/validate.h"
#include "../util/misc.h"
#include "../util/runstatus.h"
#include "../util/sbuf.h"
#include "launch.h"
#include "mlproject.h"

#define LAUNCH_TAGS_MAX 16
#define LAUNCH_ENV_FIXED 5 /* MLFLOW_RUN_ID, _TRACKING_URI, _EXPERIMENT_ID, PYTHONPATH, CAIRN_LIBRARY */

/* ---- where Cairn's Python package and libcairn.so are ---- */

static int job_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Tries dir/rel; on success out holds its canonical path. */
static int job_try_path(const char *dir, const char *rel, const char *probe, sbuf *out)
{
    sbuf p = SBUF_INIT;
    sbuf_printf(&p, "%s/%s%s", dir, rel, probe);
    int found = job_file_exists(sbuf_str(&p));
    if (found) {
        sbuf_reset(&p);
        sbuf_printf(&p, "%s/%s", dir, rel);
        char real[PATH_MAX];
        found = realpath(sbuf_str(&p), real) != NULL;
        if (found) {
            sbuf_reset(out);
            sbuf_puts(out, real);
        }
    }
    sbuf_free(&p);
    return found;
}

/* Finds Cairn's python/ directory (holding cairn/__init__.py) and libcairn.so
 * relative to the running program: build/cairn (or build/asan/cairn) in a
 * checkout gives repo/python and build/libcairn.so; PREFIX/bin/cairn gives
 * PREFIX/share/cairn/python and PREFIX/lib/libcairn.so. Each out stays empty
 * when not found. */
static void job_cairn_paths(sbuf *python_dir, sbuf *library)
{
    static const char *const py[] = {"../python", "../../python", "../share/cairn/python"};
    static const char *const lib[] = {"libcairn.so", "../lib/libcairn.so"};
    char exe[PATH_MAX];
    if (realpath("/proc/self/exe", exe) == NULL)
        return;
    char *slash = strrchr(exe, '/');
    if (slash == NULL)
        return;
    *slash = '\0';
    for (size_t i = 0; i < sizeof py / sizeof py[0]; i++)
        if (job_try_path(exe, py[i], "/cairn/__init__.py", python_dir))
            break;
    for (size_t i = 0; i < sizeof lib / sizeof lib[0]; i++)
        if (job_try_path(exe, lib[i], "", library))
            break;
}

/* ---- the job's environment ---- */

typedef struct {
    char **vars; /* heap "NAME=value" */
    size_t n;
} job_env;

static void job_env_add(job_env *env, sbuf *var)
{
    env->vars[env->n++] = sbuf_detach(var);
}

static int job_env_is(const char *var, const char *name)
{
    size_t n = strlen(name);
    return strncmp(var, name, n) == 0 && var[n] == '=';
}

/* PYTHONPATH with dir in front of the caller's, unless already on it. */
static void job_env_pythonpath(job_env *env, const char *dir)
{
    const char *old = getenv("PYTHONPATH");
    sbuf v = SBUF_INIT;
    if (old == NULL || *old == '\0')
        sbuf_printf(&v, "PYTHONPATH=%s", dir);
    else
        sbuf_printf(&v, "PYTHONPATH=%s:%s", dir, old);
    job_env_add(env, &v);
}

static void job_env_build(const job_launch_req *req, const char *run_id, job_env *env)
{
    env->vars = calloc(req->nenv + LAUNCH_ENV_FIXED, sizeof *env->vars);
    if (env->vars == NULL)
        abort();
    env->n = 0;
    sbuf v = SBUF_INIT;
    sbuf_printf(&v, "MLFLOW_RUN_ID=%s", run_id);
    job_env_add(env, &v);
    if (req->tracking_uri != NULL) {
        sbuf_printf(&v, "MLFLOW_TRACKING_URI=%s", req->tracking_uri);
        job_env_add(env, &v);
    }
    sbuf_printf(&v, "MLFLOW_EXPERIMENT_ID=%s", req->experiment_id);
    job_env_add(env, &v);
    for (size_t i = 0; i < req->nenv; i++) {
        const char *x = req->env[i];
        if (job_env_is(x, "MLFLOW_RUN_ID") || job_env_is(x, "MLFLOW_TRACKING_URI") ||
            job_env_is(x, "MLFLOW_EXPERIMENT_ID") || job_env_is(x, "MLFLOW_EXPERIMENT_NAME"))
            continue;
        sbuf_puts(&v, x);
        job_env_add(env, &v);
    }
    sbuf py = SBUF_INIT, lib = SBUF_INIT;
    job_cairn_paths(&py, &lib);
    if (py.len > 0)
        job_env_pythonpath(env, sbuf_str(&py));
    if (lib.len > 0 && getenv("CAIRN_LIBRARY") == NULL) {
        sbuf_printf(&v, "CAIRN_LIBRARY=%s", sbuf_str(&lib));
        job_env_add(env, &v);
    }
    sbuf_free(&py);
    sbuf_free(&lib);
}

static void job_env_free(job_env *env)
{
    for (size_t i = 0; i < env->n; i++)
        free(env->vars[i]);
    free(env->vars);
}

/* ---- launching ---- */

static int job_resolve(const job_launch_req *req, mlproject_run *run, cerr *e)
{
    mlproject *p = NULL;
    if (mlproject_load(req->project_dir, &p, e) < 0) {
        e->code = CERR_INVALID_PARAMETER_VALUE;
        return -1;
    }
    int rc = mlproject_resolve(p, req->entry_point, req->params, req->nparams, run, e);
    mlproject_free(p);
    if (rc < 0)
        e->code = CERR_INVALID_PARAMETER_VALUE;
    return rc;
}

static size_t job_tags(const job_launch_req *req, const mlproject_run *run, const backend_config *cfg,
                       store_kv *tags)
{
    size_t n = 0;
    tags[n++] = (store_kv){"mlflow.source.type", "PROJECT"};
    tags[n++] = (store_kv){"mlflow.source.name", req->source_name ? req->source_name : req->project_dir};
    tags[n++] = (store_kv){"mlflow.project.entryPoint", run->entry_point};
    tags[n++] = (store_kv){"mlflow.project.backend", backend_kind_name(cfg->backend)};
    if (req->user != NULL)
        tags[n++] = (store_kv){"mlflow.user", req->user};
    if (req->run_name != NULL && *req->run_name != '\0')
        tags[n++] = (store_kv){"mlflow.runName", req->run_name};
    if (req->git_commit != NULL && *req->git_commit != '\0')
        tags[n++] = (store_kv){"mlflow.source.git.commit", req->git_commit};
    tags[n++] = (store_kv){"cairn.job.id", req->job_id};
    return n;
}

/* Every tag and parameter the run will get passes MLflow's rules, with
 * set-tag's and log-param's messages, before the run exists. */
static int job_check_run(const job_launch_req *req, const mlproject_run *run,
                         const backend_config *cfg, cerr *e)
{
    store_kv tags[LAUNCH_TAGS_MAX];
    size_t ntags = job_tags(req, run, cfg, tags);
    for (size_t i = 0; i < ntags; i++)
        if (validate_tag(tags[i].key, tags[i].value, e) < 0)
            return -1;
    for (size_t i = 0; i < run->nparams; i++)
        if (validate_param(run->params[i].key, run->params[i].value, e) < 0)
            return -1;
    return 0;
}

static int job_launch_cfg(const job_launch_req *req, backend_config **dflt,
                          const backend_config **cfg, cerr *e)
{
    *dflt = NULL;
    *cfg = req->cfg;
    if (*cfg != NULL)
        return 0;
    if (backend_config_parse("", 0, BACKEND_CONFIG_AUTO, dflt, e) < 0)
        return -1;
    *cfg = *dflt;
    return 0;
}

int job_launch_check(const job_launch_req *req, cerr *e)
{
    backend_config *dflt;
    const backend_config *cfg;
    if (job_launch_cfg(req, &dflt, &cfg, e) < 0)
        return -1;
    mlproject_run run;
    int rc = job_resolve(req, &run, e);
    if (rc == 0) {
        rc = job_check_run(req, &run, cfg, e);
        mlproject_run_free(&run);
    }
    backend_config_free(dflt);
    return rc;
}

static int job_create_run(const job_tracker *t, const job_launch_req *req, const mlproject_run *run,
                          const backend_config *cfg, char **run_id, cerr *e)
{
    store_kv tags[LAUNCH_TAGS_MAX];
    size_t ntags = job_tags(req, run, cfg, tags);
    if (t->run_create(t->ctx, req->experiment_id, req->run_name, req->user, time_now_ms(), tags, ntags,
                      run_id, e) < 0)
        return -1;
    store_kv *params = calloc(run->nparams + 1, sizeof *params);
    if (params == NULL)
        abort();
    for (size_t i = 0; i < run->nparams; i++)
        params[i] = (store_kv){run->params[i].key, run->params[i].value};
    int rc = t->run_log(t->ctx, *run_id, params, run->nparams, NULL, 0, e);
    free(params);
    if (rc == 0)
        rc = t->run_status(t->ctx, *run_id, runstatus_name(RUNSTATUS_SCHEDULED), 0, e);
    return rc;
}

/* The run of a job that never started: FAILED, with the reason. The
 * caller's error e is kept; a tracker failure here is not reported over it. */
static void job_fail_run(const job_tracker *t, const char *run_id, const char *reason)
{
    cerr ignored;
    store_kv tags[] = {{"cairn.job.state", job_state_name(JOB_FAILED)}, {"cairn.job.reason", reason}};
    t->run_log(t->ctx, run_id, NULL, 0, tags, 2, &ignored);
    t->run_status(t->ctx, run_id, runstatus_name(RUNSTATUS_FAILED), time_now_ms(), &ignored);
}

static int job_submit(const job_tracker *t, const job_launch_req *req, const backend_config *cfg,
                      job_launched *out, cerr *e)
{
    job_env env;
    job_env_build(req, out->run_id, &env);
    sbuf outp = SBUF_INIT;
    sbuf_printf(&outp, "%s/output.log", req->workdir);
    out->output_path = sbuf_detach(&outp);
    job_spec spec = {
        .job_id = req->job_id,
        .workdir = req->workdir,
        .project_dir = req->project_dir,
        .command = out->command,
        .cfg = cfg,
        .env = (const char *const *)env.vars,
        .nenv = env.n,
        .output_path = out->output_path,
    };
    int rc = job_backend_submit(&spec, &out->backend_id, e);
    job_env_free(&env);
    if (rc < 0) {
        job_fail_run(t, out->run_id, e->msg);
        return -1;
    }
    store_kv tag = {"cairn.job.backend_id", out->backend_id};
    if (t->run_log(t->ctx, out->run_id, NULL, 0, &tag, 1, e) == 0)
        return 0;
    /* A job nobody could follow must not run on: stop it, fail the run. */
    cerr ignored;
    job_backend_cancel(cfg->backend, out->backend_id, req->workdir, &ignored);
    job_fail_run(t, out->run_id, e->msg);
    return -1;
}

int job_launch(const job_tracker *t, const job_launch_req *req, job_launched *out, cerr *e)
{
    memset(out, 0, sizeof *out);
    backend_config *dflt;
    const backend_config *cfg;
    if (job_launch_cfg(req, &dflt, &cfg, e) < 0)
        return -1;
    mlproject_run run;
    int rc = job_resolve(req, &run, e);
    if (rc < 0)
        goto out;
    rc = job_check_run(req, &run, cfg, e);
    if (rc < 0) {
        mlproject_run_free(&run);
        goto out;
    }
    out->entry_point = strdup(run.entry_point);
    out->command = strdup(run.command);
    if (out->entry_point == NULL || out->command == NULL)
        abort();
    rc = job_create_run(t, req, &run, cfg, &out->run_id, e);
    if (rc < 0 && out->run_id != NULL)
        job_fail_run(t, out->run_id, e->msg);
    if (rc == 0)
        rc = job_submit(t, req, cfg, out, e);
    mlproject_run_free(&run);
out:
    backend_config_free(dflt);
    return rc;
}

void job_launched_free(job_launched *l)
{
    if (l == NULL)
        return;
    free(l->run_id);
    free(l->backend_id);
    free(l->entry_point);
    free(l->command);
    free(l->output_path);
    memset(l, 0, sizeof *l);
}

/* ---- following ---- */

/* cairn.job.reason: the backend's words for FAILED and CANCELLED; for the
 * other failures the state itself, with the backend's words after it. */
static void job_reason(const job_status *now, sbuf *out)
{
    const char *name = job_state_name(now->state);
    if (now->state == JOB_FAILED || now->state == JOB_CANCELLED) {
        sbuf_puts(out, now->reason[0] ? now->reason : name);
        return;
    }
    sbuf_puts(out, name);
    if (now->reason[0] && strcmp(now->reason, name) != 0)
        sbuf_printf(out, ": %s", now->reason);
}

static int job_finish(const job_tracker *t, const char *run_id, const job_status *now,
                      const char *output_path, cerr *e)
{
    const char *status = job_state_run_status(now->state);
    sbuf reason = SBUF_INIT;
    char code[24];
    store_kv tags[3];
    size_t n = 0;
    tags[n++] = (store_kv){"cairn.job.state", job_state_name(now->state)};
    if (runstatus_parse(status) != RUNSTATUS_FINISHED) {
        job_reason(now, &reason);
        tags[n++] = (store_kv){"cairn.job.reason", sbuf_str(&reason)};
    }
    if (now->exit_code >= 0) {
        snprintf(code, sizeof code, "%d", now->exit_code);
        tags[n++] = (store_kv){"cairn.job.exit_code", code};
    }
    int rc = t->run_log(t->ctx, run_id, NULL, 0, tags, n, e);
    sbuf_free(&reason);
    if (rc == 0 && output_path != NULL && job_file_exists(output_path))
        rc = t->artifact_put(t->ctx, run_id, output_path, JOB_OUTPUT_ARTIFACT, e);
    if (rc == 0)
        rc = t->run_status(t->ctx, run_id, status, time_now_ms(), e);
    return rc;
}

int job_apply(const job_tracker *t, const char *run_id, job_state prev, const job_status *now,
              const char *output_path, cerr *e)
{
    if (job_state_terminal(now->state)) {
        if (prev == now->state)
            return 0; /* applied and recorded already */
        return job_finish(t, run_id, now, output_path, e);
    }
    const char *status = job_state_run_status(now->state);
    if (strcmp(status, job_state_run_status(prev)) == 0)
        return 0;
    return t->run_status(t->ctx, run_id, status, 0, e);
}
