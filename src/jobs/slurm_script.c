/* slurm_script.c - the text a job runs: the body both backends share and
 * the Slurm batch script around it.
 *
 * The body (job.sh locally, after the #SBATCH lines on Slurm):
 *   cd PROJECT; export NAME=VALUE for the config's Environment, then the
 *   spec's variables (later ones win, so MLFLOW_RUN_ID cannot be overridden
 *   by a config); `module load` for each of Modules; PreRunCommands (the
 *   first that fails ends the job with its status); the command, as
 *   `/bin/sh -c CMD` or wrapped in the container (container.c); then
 *   PostRunCommands (a failure is reported in the output, not in the
 *   status); exit with the command's status.
 * The pre- and post-run commands are the user's own shell lines. Pre-run
 * commands run in the body's shell, so `source venv/bin/activate` or `cd`
 * takes effect for the command; post-run commands each run in a subshell,
 * so that not even an `exit` there changes the job's status. Every other
 * value is quoted with shell_quote, so a value like `'; rm -rf / #` arrives
 * in the job as written.
 *
 * The command runs once, on the first node of the allocation, without srun:
 * an MLflow project's command is one program; one that spans nodes starts
 * its own steps (srun, mpirun) within the allocation.
 *
 * #SBATCH lines are read by sbatch, not by a shell, and sbatch splits them
 * at blanks and treats '#' and quotes specially; so the paths, the job name
 * and NodeConstraints that go there are checked to hold none of those (and
 * no '%', which sbatch expands in --output). backend_config.c has already
 * limited Queue, QoS, Reservation and Account to a safe set. */
#include "backend_int.h"

#include <string.h>

#include "../util/shell.h"

static void put_quoted_line(sbuf *out, const char *prefix, const char *value)
{
    sbuf_puts(out, prefix);
    shell_quote(out, value);
    sbuf_putc(out, '\n');
}

static int put_env(sbuf *out, const job_spec *spec, cerr *e)
{
    const backend_config *cfg = spec->cfg;
    for (size_t i = 0; i < cfg->nenv; i++) {
        sbuf_printf(out, "export %s=", cfg->env[i].name);
        shell_quote(out, cfg->env[i].value);
        sbuf_putc(out, '\n');
    }
    for (size_t i = 0; i < spec->nenv; i++) {
        const char *kv = spec->env[i];
        const char *eq = strchr(kv, '=');
        if (eq == NULL || !backend_env_name_ok(kv, (size_t)(eq - kv)))
            return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                            "job environment entry '%.64s' is not NAME=value", kv);
        sbuf_printf(out, "export %.*s=", (int)(eq - kv), kv);
        shell_quote(out, eq + 1);
        sbuf_putc(out, '\n');
    }
    return 0;
}

/* A batch shell may start without the module function (it comes from the
 * login profile): the usual init files are tried, and without it the job
 * stops at once with status 127 and says why, rather than running without
 * the software it asked for. */
static void put_modules(sbuf *out, const backend_config *cfg)
{
    if (cfg->nmodules == 0)
        return;
    sbuf_puts(out,
              "if ! command -v module >/dev/null 2>&1; then\n"
              "    for cairn_f in /etc/profile.d/lmod.sh /etc/profile.d/modules.sh \\\n"
              "        /usr/share/lmod/lmod/init/sh /usr/share/modules/init/sh; do\n"
              "        if [ -r \"$cairn_f\" ]; then . \"$cairn_f\"; break; fi\n"
              "    done\n"
              "fi\n"
              "if ! command -v module >/dev/null 2>&1; then\n"
              "    echo 'cairn: Modules are given but there is no module command' >&2\n"
              "    exit 127\n"
              "fi\n");
    for (size_t i = 0; i < cfg->nmodules; i++) {
        sbuf_puts(out, "module load ");
        shell_quote(out, cfg->modules[i]);
        sbuf_puts(out, " || { cairn_rc=$?; printf 'cairn: module load %s failed\\n' ");
        shell_quote(out, cfg->modules[i]);
        sbuf_puts(out, " >&2; exit \"$cairn_rc\"; }\n");
    }
}

static void put_pre_run(sbuf *out, const backend_config *cfg)
{
    for (size_t i = 0; i < cfg->npre_run; i++)
        sbuf_printf(out,
                    "{\n%s\n} || { cairn_rc=$?; echo \"cairn: PreRunCommands[%zu] failed with "
                    "status $cairn_rc\" >&2; exit \"$cairn_rc\"; }\n",
                    cfg->pre_run[i], i + 1);
}

static void put_post_run(sbuf *out, const backend_config *cfg)
{
    for (size_t i = 0; i < cfg->npost_run; i++)
        sbuf_printf(out,
                    "(\n%s\n) || echo \"cairn: PostRunCommands[%zu] failed with status $?\" >&2\n",
                    cfg->post_run[i], i + 1);
}

int slurm_script_body(const job_spec *spec, sbuf *out, cerr *e)
{
    sbuf_printf(out, "# Cairn job %s: the body (src/jobs/slurm_script.c)\n", spec->job_id);
    put_quoted_line(out, "cd ", spec->project_dir);
    if (put_env(out, spec, e) < 0)
        return -1;
    put_modules(out, spec->cfg);
    put_pre_run(out, spec->cfg);
    if (container_wrap(spec->cfg, spec->project_dir, spec->command, out, e) < 0)
        return -1;
    sbuf_puts(out, "\ncairn_rc=$?\n");
    put_post_run(out, spec->cfg);
    sbuf_puts(out, "exit \"$cairn_rc\"\n");
    return 0;
}

void slurm_script_time(long long seconds, sbuf *out)
{
    long long m = (seconds + 59) / 60;
    sbuf_printf(out, "%lld-%02lld:%02lld:00", m / 1440, m % 1440 / 60, m % 60);
}

/* A value sbatch reads as one word from an #SBATCH line. */
static int sbatch_word(const char *what, const char *v, cerr *e)
{
    if (v[0] == '\0')
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "%s is empty", what);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p <= ' ' || *p == 0x7f || strchr("'\"\\#%", *p) != NULL)
            return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                            "%s '%.200s' holds a character an #SBATCH line cannot carry "
                            "(blank, quote, backslash, '#' or '%%')",
                            what, v);
    return 0;
}

static int put_opt(sbuf *out, const char *opt, const char *what, const char *v, cerr *e)
{
    if (v == NULL)
        return 0;
    if (sbatch_word(what, v, e) < 0)
        return -1;
    sbuf_printf(out, "#SBATCH --%s=%s\n", opt, v);
    return 0;
}

static void put_num(sbuf *out, const char *opt, long long v)
{
    if (v != BACKEND_UNSET)
        sbuf_printf(out, "#SBATCH --%s=%lld\n", opt, v);
}

/* One task per node (the command runs once, see above), with the CPUs of
 * the node for it: CPUsPerNode, or TotalCPUs spread over Nodes (rounded
 * up). Nodes not given but TotalCPUs and CPUsPerNode are: as many nodes as
 * they take. */
static void put_cpus(sbuf *out, const backend_resources *r)
{
    long long nodes = r->nodes, cpt = r->cpus_per_node;
    if (nodes == BACKEND_UNSET && r->total_cpus != BACKEND_UNSET && cpt != BACKEND_UNSET)
        nodes = (r->total_cpus + cpt - 1) / cpt;
    if (cpt == BACKEND_UNSET && r->total_cpus != BACKEND_UNSET) {
        long long n = nodes == BACKEND_UNSET ? 1 : nodes;
        cpt = (r->total_cpus + n - 1) / n;
    }
    put_num(out, "nodes", nodes);
    if (cpt != BACKEND_UNSET) {
        put_num(out, "ntasks-per-node", 1);
        put_num(out, "cpus-per-task", cpt);
    }
}

static int put_resources(sbuf *out, const backend_config *cfg, cerr *e)
{
    const backend_resources *r = &cfg->resources;
    if (r->runtime_s != BACKEND_UNSET) {
        sbuf_puts(out, "#SBATCH --time=");
        slurm_script_time(r->runtime_s, out);
        sbuf_putc(out, '\n');
    }
    if (put_opt(out, "partition", "Queue", r->queue, e) < 0 ||
        put_opt(out, "account", "Account", cfg->account, e) < 0 ||
        put_opt(out, "qos", "QoS", r->qos, e) < 0 ||
        put_opt(out, "reservation", "Reservation", r->reservation, e) < 0)
        return -1;
    put_cpus(out, r);
    if (r->memory_mb != BACKEND_UNSET)
        sbuf_printf(out, "#SBATCH --mem=%lldM\n", (long long)r->memory_mb);
    if (r->gpus_per_node > 0)
        put_num(out, "gpus-per-node", r->gpus_per_node);
    if (put_opt(out, "constraint", "NodeConstraints", r->node_constraints, e) < 0)
        return -1;
    if (r->exclusive == 1)
        sbuf_puts(out, "#SBATCH --exclusive\n");
    return 0;
}

int slurm_script_render(const job_spec *spec, sbuf *out, cerr *e)
{
    sbuf_puts(out, "#!/bin/sh\n");
    if (sbatch_word("job id", spec->job_id, e) < 0)
        return -1;
    sbuf_printf(out, "#SBATCH --job-name=cairn-%s\n", spec->job_id);
    if (put_opt(out, "output", "output path", spec->output_path, e) < 0)
        return -1;
    sbuf_puts(out, "#SBATCH --open-mode=append\n");
    if (put_opt(out, "chdir", "project directory", spec->project_dir, e) < 0 ||
        put_resources(out, spec->cfg, e) < 0)
        return -1;
    for (size_t i = 0; i < spec->cfg->nsbatch_options; i++)
        sbuf_printf(out, "#SBATCH %s\n", spec->cfg->sbatch_options[i]);
    sbuf_putc(out, '\n');
    return slurm_script_body(spec, out, e);
}
