/* test_backend_config.c - backend configs: accepted JSON and YAML configs
 * rendered field by field and compared with what they must mean, refused
 * ones with the exact error, the Runtime and Memory forms, the fixture
 * configs under tests/data/backend, and the bounds on hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/backend_config.h"
#include "jobs/ytree.h"
#include "util/sbuf.h"

/* One line per config: every field that is set, in a fixed order. */
static void list(sbuf *b, const char *name, char **v, size_t n)
{
    if (n == 0)
        return;
    sbuf_printf(b, " %s=[", name);
    for (size_t i = 0; i < n; i++)
        sbuf_printf(b, "%s%s", i ? "|" : "", v[i]);
    sbuf_putc(b, ']');
}

static void num(sbuf *b, const char *name, int64_t v)
{
    if (v != BACKEND_UNSET)
        sbuf_printf(b, " %s=%lld", name, (long long)v);
}

static void str(sbuf *b, const char *name, const char *v)
{
    if (v != NULL)
        sbuf_printf(b, " %s=%s", name, v);
}

static char *render(const backend_config *c)
{
    sbuf b = SBUF_INIT;
    const backend_resources *r = &c->resources;
    sbuf_printf(&b, "%s %s", backend_kind_name(c->backend), container_runtime_name(c->container));
    str(&b, "image", c->image);
    str(&b, "url", c->unicore_api_url);
    str(&b, "account", c->account);
    for (size_t i = 0; i < c->nenv; i++)
        sbuf_printf(&b, "%s%s=%s%s", i ? "|" : " env=[", c->env[i].name, c->env[i].value, i + 1 == c->nenv ? "]" : "");
    list(&b, "modules", c->modules, c->nmodules);
    list(&b, "pre", c->pre_run, c->npre_run);
    list(&b, "post", c->post_run, c->npost_run);
    list(&b, "sbatch", c->sbatch_options, c->nsbatch_options);
    num(&b, "runtime", r->runtime_s);
    num(&b, "nodes", r->nodes);
    num(&b, "cpus", r->total_cpus);
    num(&b, "cpn", r->cpus_per_node);
    num(&b, "gpn", r->gpus_per_node);
    num(&b, "mem", r->memory_mb);
    num(&b, "excl", r->exclusive);
    str(&b, "queue", r->queue);
    str(&b, "resv", r->reservation);
    str(&b, "constraint", r->node_constraints);
    str(&b, "qos", r->qos);
    return sbuf_detach(&b);
}

typedef struct {
    const char *text;
    const char *expect; /* ok: render(); else the error (exact when it starts with "backend config:") */
    int ok;
} config_case;

static const config_case cases[] = {
    /* defaults and formats */
    {"", "local none", 1},
    {"{}", "local none", 1},
    {"  {\"Backend\": \"slurm\"}", "slurm none", 1},
    {"Backend: slurm\n", "slurm none", 1},
    {"Backend: SLURM\n", "slurm none", 1},
    {"{\"Backend\": \"kubernetes\"}", "kubernetes none", 1},
    /* the seed format as mantik users have it: UNICORE implied, apptainer implied */
    {"{\"UnicoreApiUrl\": \"https://zam2125.zam.kfa-juelich.de:9112/JUWELS/rest/core\", \"SingularityImage\": "
     "\"image.sif\", \"Environment\": {\"A\": \"1\", \"B\": 2, \"C\": true}, \"Resources\": {\"Runtime\": \"1h\", "
     "\"Queue\": \"devel\", \"Nodes\": 2, \"CPUs\": 96, \"CPUsPerNode\": 48, \"Memory\": \"4G\", \"Reservation\": "
     "\"r1\", \"NodeConstraints\": \"gpu&ib\", \"QoS\": \"normal\"}}",
     "unicore apptainer image=image.sif url=https://zam2125.zam.kfa-juelich.de:9112/JUWELS/rest/core "
     "env=[A=1|B=2|C=true] runtime=3600 nodes=2 cpus=96 cpn=48 mem=4096 queue=devel resv=r1 constraint=gpu&ib "
     "qos=normal", 1},
    /* Cairn's fields, YAML */
    {"Backend: slurm\nContainerRuntime: podman\nImage: docker.io/library/python:3.11\nAccount: proj1\n"
     "Environment: [\"OMP_NUM_THREADS=4\", \"EMPTY=\"]\nModules: [GCC/11.3.0, Python/3.10.4]\n"
     "PreRunCommands: [\"source venv/bin/activate\", \"echo 'start' > log\"]\nPostRunCommands: [\"rm -rf tmp\"]\n"
     "SbatchOptions: [\"--mail-type=END\", \"--signal=USR2@90\"]\n"
     "Resources:\n  Runtime: 01:30:00\n  TotalCPUs: 8\n  GPUsPerNode: 0\n  Memory: 512M\n  Exclusive: yes\n",
     "slurm podman image=docker.io/library/python:3.11 account=proj1 env=[OMP_NUM_THREADS=4|EMPTY=] "
     "modules=[GCC/11.3.0|Python/3.10.4] pre=[source venv/bin/activate|echo 'start' > log] post=[rm -rf tmp] "
     "sbatch=[--mail-type=END|--signal=USR2@90] runtime=5400 cpus=8 gpn=0 mem=512 excl=1", 1},
    {"Project: p2\nResources: {Exclusive: false, Runtime: 90m, Memory: 2048}\n",
     "local none account=p2 runtime=5400 mem=2048 excl=0", 1},
    {"{\"Resources\": {\"Runtime\": 600, \"Memory\": 1.5, \"Nodes\": 2.0, \"Exclusive\": true}}",
     "local none runtime=600 nodes=2 mem=2 excl=1", 1},
    {"ContainerRuntime: none\n", "local none", 1},
    {"ContainerRuntime: charliecloud\nImage: /scratch/img\n", "local charliecloud image=/scratch/img", 1},
    {"Backend: unicore\nUnicoreApiUrl: http://localhost:8080/DEMO/rest/core\n",
     "unicore none url=http://localhost:8080/DEMO/rest/core", 1},
    /* unknown fields, with the closest name */
    {"{\"Backnd\": \"slurm\"}", "backend config: unknown field 'Backnd'; did you mean 'Backend'?", 0},
    {"resources: {}\n", "backend config: unknown field 'resources' (line 1, column 1); did you mean 'Resources'?", 0},
    {"Resources:\n  runtime: 1h\n", "backend config: unknown field 'Resources.runtime' (line 2, column 3); did you "
                                   "mean 'Runtime'?", 0},
    {"Resources: {GPUs: 1}\n", "did you mean 'CPUs'?", 0},
    {"Runtime: 1h\n", "backend config: unknown field 'Runtime' (line 1, column 1); it belongs inside Resources", 0},
    {"Resources: {Modules: [a]}\n", "unknown field 'Resources.Modules' (line 1, column 13); it belongs at the top "
                                    "level, not inside Resources", 0},
    {"{\"Frobnicate\": 1}", "backend config: unknown field 'Frobnicate'; known fields: Backend, ContainerRuntime, "
                            "Image, SingularityImage, UnicoreApiUrl, Account, Project, Environment, Modules, "
                            "PreRunCommands, PostRunCommands, SbatchOptions, Resources", 0},
    /* choices and types */
    {"Backend: pbs\n", "backend config: Backend 'pbs' is not one of: local, slurm, unicore, kubernetes", 0},
    {"ContainerRuntime: docker\nImage: x\n", "backend config: ContainerRuntime 'docker' is not one of: none, "
                                             "apptainer, singularity, charliecloud, podman", 0},
    {"Backend: [slurm]\n", "backend config: Backend must be a single value, not a list (line 1, column 10)", 0},
    {"{\"Backend\": null}", "backend config: Backend must be a single value, not null", 0},
    {"{\"Image\": true}", "backend config: Image must be a single value, not a boolean", 0},
    {"Resources: [1]\n", "backend config: Resources must be a mapping, not a list (line 1, column 12)", 0},
    {"- a\n", "backend config: the config must be a mapping, not a list (line 1, column 1)", 0},
    {"Resources: {Nodes: 0}\n", "backend config: Resources.Nodes must be a whole number from 1 to 1000000, not '0'", 0},
    {"Resources: {Nodes: two}\n", "Resources.Nodes must be a whole number from 1 to 1000000, not 'two'", 0},
    {"Resources: {Nodes: -1}\n", "Resources.Nodes must be a whole number from 1 to 1000000, not '-1'", 0},
    {"{\"Resources\": {\"Nodes\": 2.5}}", "Resources.Nodes must be a whole number from 1 to 1000000, not '2.5'", 0},
    {"Resources: {CPUsPerNode: 1000001}\n", "Resources.CPUsPerNode must be a whole number from 1 to 1000000", 0},
    {"Resources: {GPUsPerNode: -1}\n", "Resources.GPUsPerNode must be a whole number from 0 to 1000000", 0},
    {"Resources: {Exclusive: maybe}\n", "backend config: Resources.Exclusive must be true or false, not maybe "
                                        "(line 1, column 24)", 0},
    {"{\"Resources\": {\"Exclusive\": 1}}", "Resources.Exclusive must be true or false, not 1", 0},
    {"Resources: {Runtime: 1x}\n", "backend config: Resources.Runtime: '1x' is not a duration; use seconds (3600), a "
                                   "number with a unit (90m, 1h30m, 2d; units s, m, min, h, d) or [D-]HH:MM:SS", 0},
    {"Resources: {Memory: 4Q}\n", "backend config: Resources.Memory: '4Q' is not a memory size; use megabytes (4096) "
                                  "or a number with a unit (512M, 4G, 1.5G, 1T; K, M, G, T are powers of 1024)", 0},
    /* aliases given twice */
    {"Image: a\nSingularityImage: b\n", "backend config: SingularityImage and Image are the same setting; give only "
                                        "one", 0},
    {"Resources: {CPUs: 1, TotalCPUs: 2}\n", "backend config: Resources.TotalCPUs and Resources.CPUs are the same "
                                             "setting; give only one", 0},
    {"Account: a\nProject: b\n", "Project and Account are the same setting", 0},
    /* lists and Environment */
    {"Modules: GCC\n", "backend config: Modules must be a list of strings, not a string (line 1, column 10)", 0},
    {"Modules: [\"GCC; rm -rf ~\"]\n", "backend config: Modules[0] 'GCC; rm -rf ~' may hold only letters, digits "
                                      "and _ . , : @ + = % / -", 0},
    {"Modules: [[a]]\n", "backend config: Modules[0] must be a single value, not a list", 0},
    {"PreRunCommands: [\"a\\nb\"]\n", "backend config: PreRunCommands[0] must be one line without control "
                                      "characters", 0},
    {"PostRunCommands: [\"\"]\n", "backend config: PostRunCommands[0] must not be empty", 0},
    {"Backend: slurm\nSbatchOptions: [\"mail-type=END\"]\n", "backend config: SbatchOptions[0] 'mail-type=END' must "
                                                             "be an option starting with '-'", 0},
    {"SbatchOptions: [\"--x\"]\n", "backend config: SbatchOptions apply to the slurm backend only, and Backend is "
                                   "local", 0},
    {"Environment: \"A=1\"\n", "backend config: Environment must be a mapping {NAME: value} or a list "
                               "[\"NAME=value\"], not a string", 0},
    {"Environment: [\"A\"]\n", "backend config: Environment[0] 'A' must be NAME=value", 0},
    {"Environment: {\"1A\": x}\n", "backend config: Environment: '1A' is not a variable name", 0},
    {"Environment: [\"A B=1\"]\n", "backend config: Environment[0]: 'A B' is not a variable name", 0},
    {"Environment: {A: [1]}\n", "backend config: Environment.A must be a single value, not a list", 0},
    {"Environment: {A: \"x\\ny\"}\n", "the value of A must be one line without control characters", 0},
    /* words, URLs, text */
    {"Resources: {Queue: \"a b\"}\n", "backend config: Resources.Queue 'a b' may hold only letters, digits", 0},
    {"Account: \"$(id)\"\n", "backend config: Account '$(id)' may hold only letters, digits", 0},
    {"Resources: {QoS: \"\"}\n", "backend config: Resources.QoS must not be empty", 0},
    {"UnicoreApiUrl: ftp://x\n", "backend config: UnicoreApiUrl 'ftp://x' must be an http:// or https:// URL", 0},
    {"Image: \"a\\nb\"\n", "backend config: Image must be one line without control characters", 0},
    /* across fields */
    {"ContainerRuntime: apptainer\n", "backend config: ContainerRuntime apptainer needs an Image (or "
                                      "SingularityImage)", 0},
    {"ContainerRuntime: none\nImage: x\n", "backend config: an Image is given but ContainerRuntime is none", 0},
    {"Backend: unicore\n", "backend config: Backend unicore needs UnicoreApiUrl", 0},
    /* syntax */
    {"{\"Backend\": \"slurm\",}", "backend config: bad JSON at line 1, column 21", 0},
    {"{\"Backend\": \"slurm\", \"Backend\": \"local\"}", "backend config: bad JSON at line 1", 0},
    {"Backend: slurm\nBackend: local\n", "backend config: duplicate key 'Backend' (line 2, column 1)", 0},
    {"Backend: slurm\n Queue: x\n", "backend config: bad YAML at line 2, column 7", 0},
};

static void test_config_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const config_case *c = &cases[i];
        backend_config *cfg = NULL;
        cerr e = {0};
        int rc = backend_config_parse(c->text, strlen(c->text), BACKEND_CONFIG_AUTO, &cfg, &e);
        if (c->ok && rc != 0)
            fail_msg("case %zu refused: %s\n%s", i, e.msg, c->text);
        if (!c->ok && rc == 0)
            fail_msg("case %zu accepted, expected: %s\n%s", i, c->expect, c->text);
        if (c->ok) {
            char *got = render(cfg);
            if (strcmp(got, c->expect) != 0)
                fail_msg("case %zu:\n  got    %s\n  wanted %s", i, got, c->expect);
            free(got);
            backend_config_free(cfg);
            continue;
        }
        int exact = strncmp(c->expect, "backend config:", 15) == 0;
        if (exact ? strncmp(e.msg, c->expect, strlen(c->expect)) != 0 : strstr(e.msg, c->expect) == NULL)
            fail_msg("case %zu: error\n  %s\nlacks\n  %s", i, e.msg, c->expect);
        assert_int_equal(e.code, CERR_INVALID_PARAMETER_VALUE);
    }
}

/* ---- Runtime and Memory forms ---- */
typedef struct {
    const char *text;
    int64_t value; /* -1: refused */
} unit_case;

static const unit_case runtimes[] = {
    {"1", 1},           {"3600", 3600},      {"90m", 5400},       {"1h", 3600},        {"1h30m", 5400},
    {"2d", 172800},     {"45min", 2700},     {"30s", 30},         {"10sec", 10},       {"1H", 3600},
    {"1d2h3m4s", 93784}, {"01:30:00", 5400}, {"0:00:01", 1},      {"1-00:00:00", 86400}, {"2-12:30:15", 217815},
    {"366d", 31622400}, {"367d", -1},        {"0", -1},           {"0m", -1},          {"", -1},
    {"1.5h", -1},       {"h", -1},           {"1x", -1},          {"01:30", -1},       {"1:60:00", -1},
    {"1:00:60", -1},    {"-1", -1},          {"1h 30m", -1},      {"1-", -1},          {"a-01:00:00", -1},
    {"99999999999999", -1}, {"9999999999999h", -1}, {"1:2:3:4", -1}, {" 1", -1},     {"1m1", -1},
};

static const unit_case memories[] = {
    {"1", 1},           {"4096", 4096},      {"512M", 512},       {"512m", 512},       {"512MB", 512},
    {"512MiB", 512},    {"4G", 4096},        {"4GB", 4096},       {"4gib", 4096},      {"1.5G", 1536},
    {"1T", 1048576},    {"1024K", 1},        {"1500K", 2},        {"1K", 1},           {"0.5", 1},
    {"1048576T", -1},   {"0", -1},           {"0G", -1},          {"", -1},            {"G", -1},
    {"4Q", -1},         {"-4G", -1},         {"4 G", -1},         {"1e3", -1},         {"0x10", -1},
    {"1.G", -1},        {".5G", -1},         {"4GBB", -1},        {"99999999999999", -1},
};

static void test_units(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof runtimes / sizeof runtimes[0]; i++) {
        int64_t v = 0;
        cerr e = {0};
        int rc = backend_parse_runtime(runtimes[i].text, "Runtime", &v, &e);
        if ((rc == 0) != (runtimes[i].value >= 0) || (rc == 0 && v != runtimes[i].value))
            fail_msg("runtime '%s': rc %d value %lld (%s), expected %lld", runtimes[i].text, rc, (long long)v, e.msg,
                     (long long)runtimes[i].value);
        if (rc != 0)
            assert_non_null(strstr(e.msg, "Runtime: '"));
    }
    for (size_t i = 0; i < sizeof memories / sizeof memories[0]; i++) {
        int64_t v = 0;
        cerr e = {0};
        int rc = backend_parse_memory(memories[i].text, "Memory", &v, &e);
        if ((rc == 0) != (memories[i].value >= 0) || (rc == 0 && v != memories[i].value))
            fail_msg("memory '%s': rc %d value %lld (%s), expected %lld", memories[i].text, rc, (long long)v, e.msg,
                     (long long)memories[i].value);
    }
}

/* ---- the documented examples, as files ---- */
#define FIX "tests/data/backend/"

static void test_fixture_files(void **state)
{
    (void)state;
    static const char *const files[] = {FIX "slurm.json", FIX "slurm.yaml"};
    char *first = NULL;
    for (size_t i = 0; i < 2; i++) {
        backend_config *c;
        cerr e;
        if (backend_config_load(files[i], &c, &e) != 0)
            fail_msg("%s: %s", files[i], e.msg);
        char *got = render(c);
        if (first == NULL)
            first = got;
        else {
            assert_string_equal(got, first); /* the JSON and the YAML example mean the same */
            free(got);
        }
        backend_config_free(c);
    }
    assert_string_equal(first, "slurm apptainer image=/scratch/images/wine.sif account=proj42 "
                               "env=[OMP_NUM_THREADS=8|WANDB_MODE=offline] modules=[Stages/2024|GCC/12.3.0] "
                               "pre=[echo starting] post=[echo done] sbatch=[--mail-type=END|--signal=USR2@120] "
                               "runtime=7200 nodes=1 cpus=8 cpn=8 gpn=1 mem=16384 excl=0 queue=gpus resv=maint-free "
                               "constraint=a100 qos=normal");
    free(first);
    backend_config *c;
    cerr e;
    assert_int_equal(backend_config_load(FIX "mantik.json", &c, &e), 0);
    char *got = render(c);
    assert_string_equal(got, "unicore apptainer image=mlproject.sif url=https://zam2125.zam.kfa-juelich.de:9112/"
                             "JUWELS/rest/core env=[MLFLOW_TRACKING_TOKEN=token] runtime=3600 nodes=1 cpus=48 mem=1024 "
                             "queue=batch");
    free(got);
    backend_config_free(c);
    assert_int_equal(backend_config_load(FIX "missing.json", &c, &e), -1);
    assert_non_null(strstr(e.msg, "cannot read 'tests/data/backend/missing.json'"));
    assert_int_equal(backend_config_load("tests/data", &c, &e), -1);
    assert_non_null(strstr(e.msg, "not a regular file"));
}

/* ---- hostile input ---- */
static void expect_refused(backend_config_format fmt, const sbuf *s, const char *err)
{
    backend_config *c = NULL;
    cerr e = {0};
    if (backend_config_parse(sbuf_str(s), s->len, fmt, &c, &e) != -1)
        fail_msg("accepted, expected: %s", err);
    if (strstr(e.msg, err) == NULL)
        fail_msg("error '%s' lacks '%s'", e.msg, err);
}

static void test_hostile(void **state)
{
    (void)state;
    sbuf s = SBUF_INIT;
    for (size_t i = 0; i < 100000; i++)
        sbuf_puts(&s, "{\"a\":");
    expect_refused(BACKEND_CONFIG_JSON, &s, "bad JSON"); /* jansson's own depth limit, then ours */
    sbuf_reset(&s);
    for (size_t i = 0; i < 40; i++)
        sbuf_puts(&s, "{\"a\":");
    sbuf_puts(&s, "1");
    for (size_t i = 0; i < 40; i++)
        sbuf_putc(&s, '}');
    expect_refused(BACKEND_CONFIG_JSON, &s, "backend config: document nested deeper than 32 levels");
    sbuf_reset(&s);
    for (size_t i = 0; i < 40; i++)
        sbuf_puts(&s, "[");
    expect_refused(BACKEND_CONFIG_YAML, &s, "backend config: document nested deeper than 32 levels (line 1, column 33)");
    sbuf_reset(&s);
    sbuf_puts(&s, "{\"Modules\": [");
    for (size_t i = 0; i <= BACKEND_LIST_MAX; i++)
        sbuf_printf(&s, "%s\"m%zu\"", i ? "," : "", i);
    sbuf_puts(&s, "]}");
    expect_refused(BACKEND_CONFIG_JSON, &s, "backend config: Modules has more than 256 entries");
    sbuf_reset(&s);
    sbuf_puts(&s, "{\"Image\": \"");
    for (size_t i = 0; i <= BACKEND_STRING_MAX; i++)
        sbuf_putc(&s, 'x');
    sbuf_puts(&s, "\"}");
    expect_refused(BACKEND_CONFIG_JSON, &s, "backend config: Image is longer than 4096 bytes");
    sbuf_reset(&s);
    sbuf_puts(&s, "{\"Image\": \"");
    for (size_t i = 0; i <= YTREE_SCALAR_MAX; i++)
        sbuf_putc(&s, 'x');
    sbuf_puts(&s, "\"}");
    expect_refused(BACKEND_CONFIG_JSON, &s, "backend config: a value is longer than 65536 bytes");
    sbuf_reset(&s);
    sbuf_puts(&s, "a: &x [1]\nb: *x\n");
    expect_refused(BACKEND_CONFIG_YAML, &s, "YAML aliases (*name) are not supported (line 2, column 4)");
    sbuf_reset(&s);
    sbuf_puts(&s, "{\"Image\": \"a\\u0000b\"}");
    expect_refused(BACKEND_CONFIG_JSON, &s, "bad JSON"); /* jansson refuses \u0000 */
    sbuf_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_table),
        cmocka_unit_test(test_units),
        cmocka_unit_test(test_fixture_files),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
