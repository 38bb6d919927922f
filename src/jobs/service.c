/* service.c - the job service: submissions (this file) and the monitor
 * (monitor.c) around one shared state. See service.h.
 *
 * A submission is checked as far as it can be before anything is recorded:
 * the experiment, the archive (unpacked into the job's directory), the
 * backend config, the entry point and the parameters. Only then is the job
 * recorded (PENDING, no backend id yet) and launched; once launched, its
 * run id and backend id are recorded. A server killed between the two
 * leaves a job without a backend id, which the next start marks LOST. */
#include "service_int.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/misc.h"
#include "../util/path.h"
#include "../util/runstatus.h"
#include "archive.h"
#include "launch.h"
#include "mlproject.h"

/* ---- the experiment: by id, by name (created when missing), or "0" ---- */

static int job_service_experiment(job_service *s, const job_submit_req *r, char **id, cerr *e)
{
    json_t *exp = NULL;
    int rc;
    *id = NULL;
    if (r->experiment_id && r->experiment_id[0]) {
        rc = store_experiment_get(s->st, r->experiment_id, &exp, e);
    } else if (r->experiment_name && r->experiment_name[0]) {
        rc = store_experiment_get_by_name(s->st, r->experiment_name, &exp, e);
        if (rc < 0 && e->code == CERR_RESOURCE_DOES_NOT_EXIST) {
            /* As `mlflow run --experiment-name` does. */
            rc = store_experiment_create(s->st, r->experiment_name, NULL, NULL, 0, id, e);
            if (rc < 0 && e->code == CERR_RESOURCE_ALREADY_EXISTS) /* lost a race */
                rc = store_experiment_get_by_name(s->st, r->experiment_name, &exp, e);
        }
    } else {
        rc = store_experiment_get(s->st, "0", &exp, e);
    }
    if (rc == 0 && exp) {
        const char *stage = json_string_value(json_object_get(exp, "lifecycle_stage"));
        if (stage && strcmp(stage, "active") != 0)
            rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                          "experiment '%s' is deleted; restore it or submit to another one",
                          json_string_value(json_object_get(exp, "name")));
        else
            *id = strdup(json_string_value(json_object_get(exp, "experiment_id")));
    }
    json_decref(exp);
    return rc;
}

/* ---- the project: unpacked (or the one file) into workdir/project ---- */

static int job_service_copy_file(const char *from, const char *to, cerr *e)
{
    FILE *in = fopen(from, "rb");
    FILE *out = in ? fopen(to, "wbx") : NULL;
    int rc = 0;
    char buf[65536];
    size_t n;
    while (out && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    if (in == NULL || out == NULL || ferror(in) || rc < 0)
        rc = cerr_set(e, CERR_INTERNAL_ERROR, "copying the uploaded file: %s", strerror(errno));
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = cerr_set(e, CERR_INTERNAL_ERROR, "copying the uploaded file: %s", strerror(errno));
    return rc;
}

/* One uploaded script: its name must be a plain file name. */
static int job_service_single(const job_submit_req *r, const char *project, cerr *e)
{
    const char *name = r->archive_name ? r->archive_name : "";
    if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') || path_validate_rel(name, e) < 0)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "the uploaded file name '%.200s' is not a plain file name", name);
    sbuf to = SBUF_INIT;
    sbuf_printf(&to, "%s/%s", project, name);
    int rc = job_service_copy_file(r->archive_path, sbuf_str(&to), e);
    sbuf_free(&to);
    return rc;
}

static int job_service_unpack(const job_submit_req *r, const char *workdir, sbuf *project,
                              cerr *e)
{
    sbuf_printf(project, "%s/project", workdir);
    if (mkdir(sbuf_str(project), 0755) < 0)
        return cerr_set(e, CERR_INTERNAL_ERROR, "%s: %s", sbuf_str(project), strerror(errno));
    if (r->single_file)
        return job_service_single(r, sbuf_str(project), e);
    archive_info info = {0};
    if (archive_unpack(r->archive_path, sbuf_str(project), NULL, &info, e) < 0)
        return -1;
    /* Everything in one folder with the MLproject (a GitHub zip): run there. */
    sbuf_reset(project);
    sbuf_puts(project, info.project_root);
    archive_info_free(&info);
    return 0;
}

/* ---- the backend config, with the submission's overrides ---- */

static int job_service_config_load(const job_submit_req *r, const char *project,
                                   backend_config **cfg, cerr *e)
{
    if (r->config_text)
        return backend_config_parse(r->config_text, r->config_len, BACKEND_CONFIG_AUTO, cfg, e);
    if (r->config_in_project == NULL)
        return backend_config_parse("", 0, BACKEND_CONFIG_AUTO, cfg, e);
    sbuf path = SBUF_INIT;
    struct stat sb;
    int rc = path_resolve_under(project, r->config_in_project, &path, e);
    if (rc == 0 && stat(sbuf_str(&path), &sb) != 0)
        rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                      "the backend config '%.200s' is not in the project", r->config_in_project);
    if (rc == 0)
        rc = backend_config_load(sbuf_str(&path), cfg, e);
    sbuf_free(&path);
    return rc;
}

static void job_service_replace(char **field, const char *value)
{
    free(*field);
    *field = strdup(value);
}

static int job_service_backend_config(const job_submit_req *r, const char *project, backend_config **cfg,
                              cerr *e)
{
    if (job_service_config_load(r, project, cfg, e) < 0)
        return -1;
    if (r->backend && r->backend[0]) {
        backend_kind k;
        if (backend_kind_parse(r->backend, &k) < 0)
            return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                            "unknown backend '%.64s': use local, slurm, unicore or kubernetes",
                            r->backend);
        (*cfg)->backend = k;
    }
    if (r->account && r->account[0])
        job_service_replace(&(*cfg)->account, r->account);
    if (r->image && r->image[0]) {
        job_service_replace(&(*cfg)->image, r->image);
        if ((*cfg)->container == CONTAINER_NONE)
            (*cfg)->container = CONTAINER_APPTAINER;
    }
    return 0;
}

/* The entry point and parameters resolve (as job_launch will resolve
 * them), so a bad one is refused before anything is recorded. */
static int job_service_check_project(const job_submit_req *r, const char *project, cerr *e)
{
    mlproject *p = NULL;
    mlproject_run run = {0};
    int rc = mlproject_load(project, &p, e);
    if (rc == 0)
        rc = mlproject_resolve(p, r->entry_point, r->params, r->nparams, &run, e);
    mlproject_run_free(&run);
    mlproject_free(p);
    if (rc < 0) /* an unknown entry point too: the submission is what is wrong */
        e->code = CERR_INVALID_PARAMETER_VALUE;
    return rc;
}

/* ---- recording ---- */

static json_t *job_service_row(const job_service *s, const char *job_id, const char *exp_id,
                               const job_submit_req *r, const backend_config *cfg,
                               const char *workdir, const char *user)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "job_id", job_id,
                     "experiment_id", exp_id, "run_name", r->run_name ? r->run_name : "",
                     "backend", backend_kind_name(cfg->backend), "state",
                     job_state_name(JOB_PENDING), "run_status", runstatus_name(RUNSTATUS_SCHEDULED), "entry_point",
                     r->entry_point ? r->entry_point : "main", "user_id", user, "source",
                     r->source ? r->source : "cairn", "workdir", workdir, "submit_time",
                     (json_int_t)time_now_ms(), "host", s->host);
}

/* MLFLOW_* only, and not the three the job gets from us. */
static bool job_service_env_ok(const char *kv)
{
    static const char *const ours[] = {"MLFLOW_RUN_ID=", "MLFLOW_TRACKING_URI=",
                                       "MLFLOW_EXPERIMENT_ID="};
    if (strncmp(kv, "MLFLOW_", 7) != 0 || strchr(kv, '=') == NULL)
        return false;
    for (size_t i = 0; i < 3; i++)
        if (strncmp(kv, ours[i], strlen(ours[i])) == 0)
            return false;
    return true;
}

static const char *job_service_user(const job_submit_req *r, char *buf, size_t n)
{
    if (r->user && r->user[0])
        return r->user;
    struct passwd pw, *res = NULL;
    char tmp[1024];
    if (getpwuid_r(geteuid(), &pw, tmp, sizeof tmp, &res) == 0 && res)
        snprintf(buf, n, "%s", res->pw_name);
    else
        snprintf(buf, n, "%u", (unsigned)geteuid());
    return buf;
}

static int job_service_launch(job_service *s, const job_submit_req *r, const char *job_id,
                              const char *exp_id, const char *workdir, const char *project,
                              const backend_config *cfg, const char *user, cerr *e)
{
    const char **env = calloc(r->nenv + 1, sizeof *env);
    size_t nenv = 0;
    for (size_t i = 0; i < r->nenv; i++)
        if (job_service_env_ok(r->env[i]))
            env[nenv++] = r->env[i];
    char *uri = job_service_tracking_uri(s);
    job_launch_req lr = {job_id, workdir, project, r->entry_point, r->params, r->nparams, cfg,
                         exp_id, r->run_name, user,
                         r->source_name ? r->source_name : r->archive_name, r->git_commit, uri,
                         env, nenv};
    job_launched l = {0};
    int rc = job_launch(&s->tracker, &lr, &l, e);
    json_t *f;
    if (rc == 0)
        f = json_pack("{s:s, s:s, s:s, s:s}", "run_id", l.run_id, "backend_job_id", l.backend_id,
                      "command", l.command, "entry_point", l.entry_point);
    else
        f = json_pack("{s:s, s:s, s:s, s:s, s:I}", "run_id", l.run_id ? l.run_id : "", "state",
                      job_state_name(JOB_FAILED), "run_status", runstatus_name(RUNSTATUS_FAILED), "reason", e->msg,
                      "end_time", (json_int_t)time_now_ms());
    cerr e2;
    if (store_job_update(s->st, job_id, f, &e2) < 0 && rc == 0)
        rc = cerr_set(e, e2.code, "%s", e2.msg);
    json_decref(f);
    job_launched_free(&l);
    free(uri);
    free(env);
    return rc;
}

int job_service_submit(job_service *s, const job_submit_req *r, json_t **job, cerr *e)
{
    char job_id[33], userbuf[256];
    char *exp_id = NULL;
    backend_config *cfg = NULL;
    sbuf workdir = SBUF_INIT, project = SBUF_INIT;
    bool recorded = false;
    *job = NULL;
    ids_hex32(job_id);
    sbuf_printf(&workdir, "%s/%s", s->jobs_dir, job_id);
    int rc = job_service_experiment(s, r, &exp_id, e);
    if (rc == 0 && mkdir(sbuf_str(&workdir), 0755) < 0)
        rc = cerr_set(e, CERR_INTERNAL_ERROR, "%s: %s", sbuf_str(&workdir), strerror(errno));
    if (rc == 0)
        rc = job_service_unpack(r, sbuf_str(&workdir), &project, e);
    if (rc == 0)
        rc = job_service_backend_config(r, sbuf_str(&project), &cfg, e);
    if (rc == 0)
        rc = job_service_check_project(r, sbuf_str(&project), e);
    const char *user = job_service_user(r, userbuf, sizeof userbuf);
    if (rc == 0) {
        json_t *row = job_service_row(s, job_id, exp_id, r, cfg, sbuf_str(&workdir), user);
        rc = store_job_create(s->st, row, e);
        json_decref(row);
        recorded = rc == 0;
    }
    if (rc == 0)
        rc = job_service_launch(s, r, job_id, exp_id, sbuf_str(&workdir), sbuf_str(&project), cfg,
                                user, e);
    if (rc == 0) {
        job_service_kick(s);
        rc = job_service_get(s, job_id, job, e);
    }
    if (rc < 0 && !recorded)
        job_service_rmtree(sbuf_str(&workdir));
    backend_config_free(cfg);
    free(exp_id);
    sbuf_free(&workdir);
    sbuf_free(&project);
    return rc;
}
