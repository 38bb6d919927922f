/* test_job_backend.c - the job backends as data: job states read from
 * Slurm's names, the batch script rendered from a config (its #SBATCH lines
 * compared whole), the container forms, values that must not reach the
 * script, and the job body run by /bin/sh with hostile values that must
 * arrive literally. The local backend with real processes is in
 * test_job_local.c; Slurm itself in tests/e2e/test_backends.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jobs/backend.h"
#include "jobs/backend_int.h"
#include "jobs/job.h"
#include "util/sbuf.h"
#include "util/shell.h"

static const struct {
    const char *name;
    int state; /* -1: refused */
} parse_cases[] = {
    {"PENDING", JOB_PENDING},
    {"RUNNING", JOB_RUNNING},
    {"COMPLETED", JOB_COMPLETED},
    {"FAILED", JOB_FAILED},
    {"CANCELLED", JOB_CANCELLED},
    {"CANCELLED by 0", JOB_CANCELLED},
    {"CANCELLED by 1234", JOB_CANCELLED},
    {"TIMEOUT", JOB_TIMEOUT},
    {"OUT_OF_MEMORY", JOB_OUT_OF_MEMORY},
    {"NODE_FAIL", JOB_NODE_FAIL},
    {"PREEMPTED", JOB_PREEMPTED},
    {"BOOT_FAIL", JOB_BOOT_FAIL},
    {"DEADLINE", JOB_DEADLINE},
    {"LOST", JOB_LOST},
    {"COMPLETING", JOB_RUNNING},
    {"CONFIGURING", JOB_PENDING},
    {"REQUEUED", JOB_PENDING},
    {"REQUEUE_HOLD", JOB_PENDING},
    {"REQUEUE_FED", JOB_PENDING},
    {"RESV_DEL_HOLD", JOB_PENDING},
    {"SUSPENDED", JOB_RUNNING},
    {"STOPPED", JOB_RUNNING},
    {"SIGNALING", JOB_RUNNING},
    {"STAGE_OUT", JOB_RUNNING},
    {"RESIZING", JOB_RUNNING},
    {"SPECIAL_EXIT", JOB_FAILED},
    {"REVOKED", JOB_FAILED},
    {"RUNNING\n", JOB_RUNNING},
    {"", -1},
    {" RUNNING", -1},
    {"running", -1},
    {"RUN", -1},
    {"RUNNINGX", -1},
    {"UNKNOWN", -1},
    {"PD", -1},
};

static void test_state_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        job_state s = JOB_LOST;
        int rc = job_state_parse(parse_cases[i].name, &s);
        if (parse_cases[i].state < 0) {
            if (rc != -1)
                fail_msg("'%s' was read as %s", parse_cases[i].name, job_state_name(s));
        } else if (rc != 0 || (int)s != parse_cases[i].state) {
            fail_msg("'%s': rc %d, %s", parse_cases[i].name, rc, job_state_name(s));
        }
    }
    job_state s;
    assert_int_equal(job_state_parse(NULL, &s), -1);
}

static void test_state_names(void **state)
{
    (void)state;
    static const char *const run_status[] = {
        "SCHEDULED", "RUNNING", "FINISHED", "FAILED", "KILLED", "FAILED",
        "FAILED",    "FAILED",  "FAILED",   "FAILED", "FAILED", "FAILED",
    };
    for (int i = JOB_PENDING; i <= JOB_LOST; i++) {
        job_state s;
        assert_int_equal(job_state_parse(job_state_name((job_state)i), &s), 0);
        assert_int_equal(s, i);
        assert_string_equal(job_state_run_status((job_state)i), run_status[i]);
        assert_int_equal(job_state_terminal((job_state)i), i != JOB_PENDING && i != JOB_RUNNING);
    }
    assert_string_equal(job_state_name((job_state)99), "UNKNOWN");
}

static void test_time(void **state)
{
    (void)state;
    static const struct {
        long long s;
        const char *want;
    } cases[] = {
        {1, "0-00:01:00"},     {59, "0-00:01:00"},         {60, "0-00:01:00"},
        {61, "0-00:02:00"},    {5400, "0-01:30:00"},       {7200, "0-02:00:00"},
        {86400, "1-00:00:00"}, {216000, "2-12:00:00"},     {366LL * 86400, "366-00:00:00"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sbuf b = SBUF_INIT;
        slurm_script_time(cases[i].s, &b);
        assert_string_equal(b.data, cases[i].want);
        sbuf_free(&b);
    }
}

static backend_config *config(const char *text)
{
    backend_config *c = NULL;
    cerr e = {0};
    if (backend_config_parse(text, strlen(text), BACKEND_CONFIG_AUTO, &c, &e) < 0)
        fail_msg("config %s: %s", text, e.msg);
    return c;
}

static job_spec spec_for(const backend_config *cfg, const char *command)
{
    job_spec s = {"0123abcd", "/w", "/w/project", command, cfg, NULL, 0, "/w/output.log"};
    return s;
}

#define HEAD "#!/bin/sh\n#SBATCH --job-name=cairn-0123abcd\n#SBATCH --output=/w/output.log\n" \
             "#SBATCH --open-mode=append\n#SBATCH --chdir=/w/project\n"

static const struct {
    const char *config;
    const char *sbatch; /* the #SBATCH lines after HEAD */
} sbatch_cases[] = {
    {"{\"Backend\": \"slurm\"}", ""},
    {"{\"Resources\": {\"Runtime\": \"90s\"}}", "#SBATCH --time=0-00:02:00\n"},
    {"{\"Resources\": {\"Queue\": \"debug\", \"QoS\": \"high\", \"Reservation\": \"r1\"},"
     " \"Account\": \"proj42\"}",
     "#SBATCH --partition=debug\n#SBATCH --account=proj42\n#SBATCH --qos=high\n"
     "#SBATCH --reservation=r1\n"},
    /* CPUs: one task per node with the node's CPUs. */
    {"{\"Resources\": {\"CPUsPerNode\": 4}}",
     "#SBATCH --ntasks-per-node=1\n#SBATCH --cpus-per-task=4\n"},
    {"{\"Resources\": {\"TotalCPUs\": 8}}",
     "#SBATCH --ntasks-per-node=1\n#SBATCH --cpus-per-task=8\n"},
    {"{\"Resources\": {\"CPUs\": 9, \"Nodes\": 2}}",
     "#SBATCH --nodes=2\n#SBATCH --ntasks-per-node=1\n#SBATCH --cpus-per-task=5\n"},
    {"{\"Resources\": {\"TotalCPUs\": 96, \"CPUsPerNode\": 48}}",
     "#SBATCH --nodes=2\n#SBATCH --ntasks-per-node=1\n#SBATCH --cpus-per-task=48\n"},
    {"{\"Resources\": {\"Nodes\": 3}}", "#SBATCH --nodes=3\n"},
    {"{\"Resources\": {\"Memory\": \"1.5G\", \"GPUsPerNode\": 0, \"Exclusive\": false}}",
     "#SBATCH --mem=1536M\n"},
    {"{\"Resources\": {\"GPUsPerNode\": 4, \"Exclusive\": true, \"NodeConstraints\": \"a100&ib\"}}",
     "#SBATCH --gpus-per-node=4\n#SBATCH --constraint=a100&ib\n#SBATCH --exclusive\n"},
    {"{\"Backend\": \"slurm\", \"SbatchOptions\": [\"--mail-type=END\", \"--signal=USR2@120\", "
     "\"--comment=a b 'c'\"]}",
     "#SBATCH --mail-type=END\n#SBATCH --signal=USR2@120\n#SBATCH --comment=a b 'c'\n"},
};

static char *render(const char *cfgtext, const char *command, cerr *e)
{
    backend_config *c = config(cfgtext);
    job_spec s = spec_for(c, command);
    sbuf b = SBUF_INIT;
    int rc = slurm_script_render(&s, &b, e);
    backend_config_free(c);
    if (rc < 0) {
        sbuf_free(&b);
        return NULL;
    }
    return sbuf_detach(&b);
}

static void test_sbatch_lines(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof sbatch_cases / sizeof sbatch_cases[0]; i++) {
        cerr e = {0};
        char *text = render(sbatch_cases[i].config, "true", &e);
        if (text == NULL)
            fail_msg("%s: %s", sbatch_cases[i].config, e.msg);
        char *blank = strstr(text, "\n\n");
        assert_non_null(blank);
        blank[1] = '\0';
        sbuf want = SBUF_INIT;
        sbuf_printf(&want, "%s%s", HEAD, sbatch_cases[i].sbatch);
        if (strcmp(text, want.data) != 0)
            fail_msg("%s:\n--- got\n%s--- want\n%s", sbatch_cases[i].config, text, want.data);
        sbuf_free(&want);
        free(text);
    }
}

/* The seed example (tests/data/backend/slurm.json) rendered whole. */
static void test_full_script(void **state)
{
    (void)state;
    backend_config *c = NULL;
    cerr e = {0};
    if (backend_config_load("tests/data/backend/slurm.json", &c, &e) < 0)
        fail_msg("%s", e.msg);
    const char *env[] = {"MLFLOW_RUN_ID=abc", "OMP_NUM_THREADS=2"};
    job_spec s = spec_for(c, "python train.py --alpha 0.5");
    s.env = env;
    s.nenv = 2;
    sbuf b = SBUF_INIT;
    assert_int_equal(slurm_script_render(&s, &b, &e), 0);
    const char *want =
        HEAD "#SBATCH --time=0-02:00:00\n#SBATCH --partition=gpus\n#SBATCH --account=proj42\n"
        "#SBATCH --qos=normal\n#SBATCH --reservation=maint-free\n#SBATCH --nodes=1\n"
        "#SBATCH --ntasks-per-node=1\n#SBATCH --cpus-per-task=8\n#SBATCH --mem=16384M\n"
        "#SBATCH --gpus-per-node=1\n#SBATCH --constraint=a100\n#SBATCH --mail-type=END\n"
        "#SBATCH --signal=USR2@120\n\n"
        "# Cairn job 0123abcd: the body (src/jobs/slurm_script.c)\n"
        "cd /w/project\n"
        "export OMP_NUM_THREADS=8\nexport WANDB_MODE=offline\n"
        "export MLFLOW_RUN_ID=abc\nexport OMP_NUM_THREADS=2\n";
    assert_memory_equal(b.data, want, strlen(want));
    const char *rest = b.data + strlen(want);
    assert_non_null(strstr(rest, "module load Stages/2024 || { cairn_rc=$?; printf 'cairn: module load %s "
                                 "failed\\n' Stages/2024 >&2; exit \"$cairn_rc\"; }\n"
                                 "module load GCC/12.3.0 ||"));
    const char *tail =
        "{\necho starting\n} || { cairn_rc=$?; echo \"cairn: PreRunCommands[1] failed with status "
        "$cairn_rc\" >&2; exit \"$cairn_rc\"; }\n"
        "apptainer exec --nv /scratch/images/wine.sif /bin/sh -c 'python train.py --alpha 0.5'\n"
        "cairn_rc=$?\n"
        "(\necho done\n) || echo \"cairn: PostRunCommands[1] failed with status $?\" >&2\n"
        "exit \"$cairn_rc\"\n";
    assert_non_null(strstr(rest, tail));
    assert_string_equal(rest + strlen(rest) - strlen(tail), tail);
    sbuf_free(&b);
    backend_config_free(c);
}

static void test_refused_values(void **state)
{
    (void)state;
    static const struct {
        const char *config, *project, *job_id, *env, *want;
    } cases[] = {
        {"{}", "/w/my project", "j1", NULL,
         "project directory '/w/my project' holds a character an #SBATCH line cannot carry"},
        {"{}", "/w/100%", "j1", NULL, "project directory '/w/100%' holds a character"},
        {"{}", "/w/a#b", "j1", NULL, "project directory '/w/a#b' holds"},
        {"{}", "/w/p", "j 1", NULL, "job id 'j 1' holds"},
        {"{\"Resources\": {\"NodeConstraints\": \"a100 ib\"}}", "/w/p", "j1", NULL,
         "NodeConstraints 'a100 ib' holds"},
        {"{}", "/w/p", "j1", "1BAD=x", "job environment entry '1BAD=x' is not NAME=value"},
        {"{}", "/w/p", "j1", "NO_EQUALS", "job environment entry 'NO_EQUALS' is not NAME=value"},
        {"{}", "/w/p", "j1", "A-B=x", "is not NAME=value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        backend_config *c = config(cases[i].config);
        job_spec s = spec_for(c, "true");
        s.project_dir = cases[i].project;
        s.job_id = cases[i].job_id;
        s.env = &cases[i].env;
        s.nenv = cases[i].env != NULL;
        sbuf b = SBUF_INIT;
        cerr e = {0};
        assert_int_equal(slurm_script_render(&s, &b, &e), -1);
        assert_int_equal(e.code, CERR_INVALID_PARAMETER_VALUE);
        if (strstr(e.msg, cases[i].want) == NULL)
            fail_msg("case %zu: '%s' lacks '%s'", i, e.msg, cases[i].want);
        sbuf_free(&b);
        backend_config_free(c);
    }
}

static void test_containers(void **state)
{
    (void)state;
    static const struct {
        const char *config, *want;
    } cases[] = {
        {"{}", "/bin/sh -c 'echo \"$X\"'"},
        {"{\"Image\": \"/img/a b.sif\"}", "apptainer exec '/img/a b.sif' /bin/sh -c 'echo \"$X\"'"},
        {"{\"Image\": \"x.sif\", \"Resources\": {\"GPUsPerNode\": 2}}",
         "apptainer exec --nv x.sif /bin/sh -c 'echo \"$X\"'"},
        {"{\"ContainerRuntime\": \"singularity\", \"Image\": \"x.sif\"}",
         "singularity exec x.sif /bin/sh -c 'echo \"$X\"'"},
        {"{\"ContainerRuntime\": \"charliecloud\", \"Image\": \"/img/x\"}",
         "ch-run -b /w/project:/w/project -c /w/project /img/x -- /bin/sh -c 'echo \"$X\"'"},
        {"{\"ContainerRuntime\": \"podman\", \"Image\": \"docker.io/library/python:3.11\", "
         "\"Resources\": {\"GPUsPerNode\": 1}}",
         "podman run --rm --env-host --network=host -v /w/project:/w/project -w /w/project "
         "--device nvidia.com/gpu=all docker.io/library/python:3.11 /bin/sh -c 'echo \"$X\"'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        backend_config *c = config(cases[i].config);
        sbuf b = SBUF_INIT;
        sbuf_puts(&b, "prefix: ");
        cerr e = {0};
        assert_int_equal(container_wrap(c, "/w/project", "echo \"$X\"", &b, &e), 0);
        assert_string_equal(b.data + 8, cases[i].want);
        sbuf_free(&b);
        backend_config_free(c);
    }
}

/* Runs text with /bin/sh in dir; returns its exit status, *out its output. */
static int run_sh(const char *dir, const char *text, sbuf *out)
{
    char path[256];
    snprintf(path, sizeof path, "%s/body.sh", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    const char *argv[] = {"/bin/sh", path, NULL};
    sbuf err = SBUF_INIT;
    int status = -1;
    cerr e = {0};
    assert_int_equal(backend_run(argv, 10000, out, &err, &status, &e), 0);
    sbuf_puts(out, err.data); /* stderr after stdout: enough for these checks */
    sbuf_free(&err);
    return status;
}

static char *body_in(char *dir, const char *cfgtext, const char *command, const char *const *env,
                     size_t nenv)
{
    backend_config *c = config(cfgtext);
    job_spec s = {"t1", dir, dir, command, c, env, nenv, "/dev/null"};
    sbuf b = SBUF_INIT;
    cerr e = {0};
    if (slurm_script_body(&s, &b, &e) < 0)
        fail_msg("%s", e.msg);
    backend_config_free(c);
    return sbuf_detach(&b);
}

#define HOSTILE "'; rm -rf / # $(touch pwned) `touch pwned2` \"x\" \\ %s"

static void test_body_hostile_values(void **state)
{
    (void)state;
    char dir[] = "/tmp/cairn-body-XXXXXX";
    assert_non_null(mkdtemp(dir));
    /* The value in the config (JSON-escaped), in the job environment (with a
     * newline), and as a quoted argument of the command. */
    const char *cfg = "{\"Environment\": {\"CFG\": \"'; rm -rf / # $(touch pwned) `touch pwned2` "
                      "\\\"x\\\" \\\\ %s\"}}";
    const char *env[] = {"SPEC=" HOSTILE "\nline two", "CFG2=plain"};
    sbuf cmd = SBUF_INIT, out = SBUF_INIT;
    sbuf_puts(&cmd, "printf '[%s]\\n' \"$CFG\" \"$SPEC\" ");
    shell_quote(&cmd, HOSTILE);
    char *body = body_in(dir, cfg, cmd.data, env, 2);
    assert_int_equal(run_sh(dir, body, &out), 0);
    assert_string_equal(out.data, "[" HOSTILE "]\n[" HOSTILE "\nline two]\n[" HOSTILE "]\n");
    char probe[300];
    snprintf(probe, sizeof probe, "%s/pwned", dir);
    assert_int_not_equal(access(probe, F_OK), 0);
    snprintf(probe, sizeof probe, "%s/pwned2", dir);
    assert_int_not_equal(access(probe, F_OK), 0);
    free(body);
    sbuf_free(&cmd);
    sbuf_free(&out);
    snprintf(probe, sizeof probe, "rm -rf '%s'", dir);
    assert_int_equal(system(probe), 0);
}

static void test_body_pre_post_modules(void **state)
{
    (void)state;
    char dir[] = "/tmp/cairn-body-XXXXXX";
    assert_non_null(mkdtemp(dir));
    sbuf out = SBUF_INIT;
    /* The spec's variable wins over the config's; pre-run runs in the
     * body's shell, so its variables and cd reach the command. */
    const char *env[] = {"A=from-spec"};
    char *body = body_in(dir, "{\"Environment\": {\"A\": \"from-cfg\", \"B\": \"b\"},"
                              " \"PreRunCommands\": [\"C=pre; export C\", \"cd /\"],"
                              " \"PostRunCommands\": [\"echo post $cairn_rc\", \"false\", \"echo post2\"]}",
                         "echo \"$A $B $C $(pwd)\"; exit 3", env, 1);
    assert_int_equal(run_sh(dir, body, &out), 3);
    assert_string_equal(out.data, "from-spec b pre /\npost 3\npost2\n"
                                  "cairn: PostRunCommands[2] failed with status 1\n");
    free(body);
    /* A failing pre-run command ends the job with its status. */
    sbuf_reset(&out);
    body = body_in(dir, "{\"PreRunCommands\": [\"echo one\", \"(exit 7)\", \"echo never\"],"
                        " \"PostRunCommands\": [\"echo post\"]}", "echo cmd", NULL, 0);
    assert_int_equal(run_sh(dir, body, &out), 7);
    assert_string_equal(out.data, "one\ncairn: PreRunCommands[2] failed with status 7\n");
    free(body);
    /* No module command on this machine: a clear stop, status 127. */
    sbuf_reset(&out);
    body = body_in(dir, "{\"Modules\": [\"GCC/12.3.0\"]}", "echo cmd", NULL, 0);
    assert_int_equal(run_sh(dir, body, &out), 127);
    assert_string_equal(out.data, "cairn: Modules are given but there is no module command\n");
    free(body);
    sbuf_free(&out);
    char rm[100];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    assert_int_equal(system(rm), 0);
}

static void test_not_built(void **state)
{
    (void)state;
    static const char *const cfgs[] = {"{\"Backend\": \"unicore\", \"UnicoreApiUrl\": \"https://h/x\"}",
                                       "{\"Backend\": \"kubernetes\"}"};
    static const char *const msgs[] = {"the unicore backend is not built yet",
                                       "the kubernetes backend is not built yet"};
    for (int i = 0; i < 2; i++) {
        backend_config *c = config(cfgs[i]);
        job_spec s = spec_for(c, "true");
        char *id = (char *)"x";
        cerr e = {0};
        assert_int_equal(job_backend_submit(&s, &id, &e), -1);
        assert_null(id);
        assert_int_equal(e.code, CERR_NOT_IMPLEMENTED);
        assert_string_equal(e.msg, msgs[i]);
        job_status st;
        assert_int_equal(job_backend_poll(c->backend, "1", "/w", &st, &e), -1);
        assert_string_equal(e.msg, msgs[i]);
        assert_int_equal(job_backend_cancel(c->backend, "1", "/w", &e), -1);
        assert_int_equal(e.code, CERR_NOT_IMPLEMENTED);
        backend_config_free(c);
    }
}

static void test_bad_ids(void **state)
{
    (void)state;
    static const char *const local_ids[] = {"", "12", "12:", ":5", "1:5", "x:1", "12:3x", "-5:1", "12:-3", "12: 3", "12:+3"};
    static const char *const slurm_ids[] = {"", "12;cl", "-1", "--all", "12 13", "1_2"};
    job_status st;
    cerr e = {0};
    for (size_t i = 0; i < sizeof local_ids / sizeof local_ids[0]; i++) {
        assert_int_equal(job_backend_poll(BACKEND_LOCAL, local_ids[i], "/nonexistent", &st, &e), -1);
        assert_int_equal(job_backend_cancel(BACKEND_LOCAL, local_ids[i], "/nonexistent", &e), -1);
    }
    for (size_t i = 0; i < sizeof slurm_ids / sizeof slurm_ids[0]; i++) {
        assert_int_equal(job_backend_poll(BACKEND_SLURM, slurm_ids[i], "/w", &st, &e), -1);
        assert_int_equal(job_backend_cancel(BACKEND_SLURM, slurm_ids[i], "/w", &e), -1);
    }
}

/* Programs run with argv, their output collected, their time bounded (also
 * one that closed its output and lingers). */
static void test_run(void **state)
{
    (void)state;
    sbuf out = SBUF_INIT, err = SBUF_INIT;
    int status = -1;
    cerr e = {0};
    const char *ok[] = {"sh", "-c", "echo out; echo err >&2; exit 3", "ignored; rm -rf /", NULL};
    assert_int_equal(backend_run(ok, 10000, &out, &err, &status, &e), 0);
    assert_int_equal(status, 3);
    assert_string_equal(out.data, "out\n");
    assert_string_equal(err.data, "err\n");
    const char *killed[] = {"sh", "-c", "kill -TERM $$", NULL};
    assert_int_equal(backend_run(killed, 10000, &out, &err, &status, &e), 0);
    assert_int_equal(status, 128 + 15);
    const char *missing[] = {"cairn-no-such-program", NULL};
    assert_int_equal(backend_run(missing, 10000, &out, &err, &status, &e), -1);
    assert_string_equal(e.msg, "cannot run cairn-no-such-program: No such file or directory");
    const char *slow[] = {"sleep", "30", NULL};
    const char *lingers[] = {"sh", "-c", "exec >&- 2>&-; sleep 30", NULL};
    const char *const *late[] = {slow, lingers};
    for (int i = 0; i < 2; i++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(backend_run(late[i], 300, &out, &err, &status, &e), -1);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        assert_int_equal(e.code, CERR_TEMPORARILY_UNAVAILABLE);
        assert_string_equal(e.msg, i ? "sh did not finish within 0.3 s" : "sleep did not finish within 0.3 s");
        assert_true(t1.tv_sec - t0.tv_sec < 5);
    }
    sbuf_free(&out);
    sbuf_free(&err);
}

/* squeue "%i %T" lines to the states of the ids asked for: unknown ids,
 * other users' jobs, array and step ids, unknown states and junk lines are
 * left out (-1), never mistaken. */
static void test_peek_parse(void **state)
{
    (void)state;
    const char *ids[] = {"12", "7", "123", "99", "5"};
    int st[5];
    slurm_peek_parse("7 RUNNING\n12 PENDING\n1234 RUNNING\n123_4 RUNNING\n99 WEIRD\n"
                     "garbage\n\n5 CANCELLED by 0\n",
                     ids, 5, st);
    assert_int_equal(st[0], JOB_PENDING);
    assert_int_equal(st[1], JOB_RUNNING);
    assert_int_equal(st[2], -1);
    assert_int_equal(st[3], -1);
    assert_int_equal(st[4], JOB_CANCELLED);
    slurm_peek_parse("", ids, 5, st);
    for (int i = 0; i < 5; i++)
        assert_int_equal(st[i], -1);
    /* COMPLETING reads RUNNING: the completion comes from a poll of its own. */
    slurm_peek_parse("99 COMPLETING\n", ids, 5, st);
    assert_int_equal(st[3], JOB_RUNNING);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_parse),
        cmocka_unit_test(test_state_names),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_sbatch_lines),
        cmocka_unit_test(test_full_script),
        cmocka_unit_test(test_refused_values),
        cmocka_unit_test(test_containers),
        cmocka_unit_test(test_body_hostile_values),
        cmocka_unit_test(test_body_pre_post_modules),
        cmocka_unit_test(test_not_built),
        cmocka_unit_test(test_bad_ids),
        cmocka_unit_test(test_run),
        cmocka_unit_test(test_peek_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
