/* test_mlproject.c - MLflow projects: MLproject files accepted and refused
 * (each a table row with the error expected), runs resolved into commands,
 * the fixture projects under tests/data/projects, hostile YAML (deep, huge,
 * aliases), and quoting proven by running the produced commands through
 * /bin/sh -c in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jobs/mlproject.h"
#include "jobs/ytree.h"
#include "util/sbuf.h"

/* ---- MLproject texts: accepted, or refused with this error ---- */
typedef struct {
    const char *yaml;
    const char *err; /* NULL: accepted */
} parse_case;

static const parse_case parse_cases[] = {
    {"name: x\nentry_points:\n  main:\n    command: echo hi\n", NULL},
    {"entry_points:\n  main:\n    parameters:\n      a: int\n    command: echo {a}\n", NULL},
    {"name: only-a-name\n", NULL},
    {"name: x\nentry_points: ~\n", NULL},
    {"name: x\nunknown_top_level: kept-quiet-as-in-mlflow\n", NULL},
    {"entry_points:\n  main:\n    parameters:\n      a: {default: 3}\n    command: echo {a}\n", NULL},
    {"entry_points:\n  main:\n    parameters:\n      a: {type: int, default: null}\n    command: echo\n", NULL},
    /* bad YAML: line and column */
    {"name: x\nentry_points:\n  main: [unclosed\n", "bad YAML at line 4, column 1"},
    {"name: x\n  bad: indent\n", "bad YAML at line 2, column 6"},
    {"entry_points:\n\tmain: {}\n", "bad YAML at line 2"},
    {"a: 1\n---\nb: 2\n", "more than one YAML document (line 2, column 1)"},
    {"base: &b {command: x}\nentry_points:\n  main: *b\n", "YAML aliases (*name) are not supported (line 3, column 9)"},
    {"name: x\nname: y\n", "duplicate key 'name' (line 2, column 1)"},
    {"? [a, b]\n: c\n", "a mapping key must be a plain value"},
    /* shapes */
    {"", "the MLproject file must be a mapping, not null"},
    {"- a\n- b\n", "the MLproject file must be a mapping, not a list"},
    {"name: [a]\n", "name must be a string, not a list (line 1, column 7)"},
    {"entry_points: [main]\n", "entry_points must be a mapping, not a list"},
    {"entry_points:\n  main: python x.py\n", "entry point 'main' must be a mapping, not a string (line 2, column 9)"},
    {"entry_points:\n  main:\n    parameters: {}\n", "entry point 'main' has no 'command'"},
    {"entry_points:\n  main:\n    command: [a, b]\n", "entry point 'main' command must be a string, not a list"},
    {"entry_points:\n  main:\n    command:\n", "entry point 'main' command must be a string, not null"},
    {"entry_points:\n  main:\n    parameters: [a]\n    command: x\n", "parameters must be a mapping, not a list"},
    /* names and types */
    {"entry_points:\n  'rm -rf':\n    command: x\n", "invalid entry point name 'rm -rf' (line 2, column 3)"},
    {"entry_points:\n  '':\n    command: x\n", "invalid entry point name ''"},
    {"entry_points:\n  main:\n    parameters:\n      'a;b': int\n    command: x\n", "invalid parameter name 'a;b'"},
    {"entry_points:\n  main:\n    parameters:\n      a: integer\n    command: x\n",
     "parameter 'a' has unknown type 'integer' (line 4, column 10); accepted: string, float, int, path, uri"},
    {"entry_points:\n  main:\n    parameters:\n      a: {type: [int]}\n    command: x\n",
     "parameter 'a' has unknown type 'a list'"},
    {"entry_points:\n  main:\n    parameters:\n      a: ~\n    command: x\n",
     "parameter 'a' must be a type name or a mapping with 'type' and 'default', not null"},
    {"entry_points:\n  main:\n    parameters:\n      a: {type: int, default: [1]}\n    command: x\n",
     "the default of parameter 'a' must be a single value, not a list"},
    /* environments */
    {"python_env: p.yaml\nconda_env: c.yaml\n", "Project cannot contain multiple environment fields (python_env and conda_env)"},
    {"docker_env: {image: a}\npython_env: p.yaml\n", "multiple environment fields (docker_env and python_env)"},
    {"docker_env: {volumes: []}\n", "docker_env has no 'image'"},
    {"docker_env: python:3\n", "docker_env must be a mapping, not a string"},
    {"docker_env: {image: a, volumes: /data}\n", "docker_env.volumes must be a list, not a string"},
    {"docker_env: {image: a, environment: [[a, b, c]]}\n", "docker_env.environment (or a [name, value] pair) must be a string"},
    {"python_env: /etc/passwd\n", "python_env must be a relative path inside the project, not '/etc/passwd'"},
    {"conda_env: ../../env.yaml\n", "conda_env must be a relative path inside the project"},
};

static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        const parse_case *c = &parse_cases[i];
        mlproject *p = NULL;
        cerr e = {0};
        int rc = mlproject_parse(c->yaml, strlen(c->yaml), NULL, &p, &e);
        if (c->err == NULL && rc != 0)
            fail_msg("case %zu refused: %s\n%s", i, e.msg, c->yaml);
        if (c->err != NULL && rc == 0)
            fail_msg("case %zu accepted, expected: %s\n%s", i, c->err, c->yaml);
        if (c->err != NULL && strstr(e.msg, c->err) == NULL)
            fail_msg("case %zu: error '%s' lacks '%s'", i, e.msg, c->err);
        if (c->err != NULL)
            assert_int_equal(e.code, CERR_INVALID_PARAMETER_VALUE);
        mlproject_free(p);
    }
}

/* ---- resolving runs: the command, or the error ---- */
static const char *const demo_yaml =
    "name: demo\n"
    "entry_points:\n"
    "  main:\n"
    "    parameters:\n"
    "      alpha: {type: float, default: 0.5}\n"
    "      epochs: {type: int, default: 10}\n"
    "      data: path\n"
    "      src: {type: uri, default: 's3://bucket/key'}\n"
    "      note: {type: string, default: ''}\n"
    "    command: \"train --alpha {alpha} --epochs {epochs} --data {data} --src {src} {note}\"\n"
    "  plain:\n"
    "    command: \"echo {{not a param}} done\"\n"
    "  brace:\n"
    "    command: \"echo {oops\"\n"
    "  close:\n"
    "    command: \"echo oops}\"\n"
    "  undeclared:\n"
    "    command: \"echo {ghost}\"\n"
    "  badint:\n"
    "    parameters:\n"
    "      n: {type: int, default: ten}\n"
    "    command: \"echo {n}\"\n";

typedef struct {
    const char *entry;
    const char *params[6];
    const char *expect;  /* the command, or a substring of the error */
    const char *logged;  /* the resolved params as "k=v;..." (accepted runs) */
} resolve_case;

#define OK_CMD(alpha, epochs, data, src, note) \
    "train --alpha " alpha " --epochs " epochs " --data " data " --src " src " " note

static const resolve_case resolve_cases[] = {
    {NULL, {"data=d.csv"}, OK_CMD("0.5", "10", "d.csv", "s3://bucket/key", "''"),
     "alpha=0.5;epochs=10;data=d.csv;src=s3://bucket/key;note="},
    {"main", {"data=x", "alpha=1e-3", "epochs=-3", "note=hi there"}, OK_CMD("1e-3", "-3", "x", "s3://bucket/key", "'hi there'"),
     "alpha=1e-3;epochs=-3;data=x;src=s3://bucket/key;note=hi there"},
    {"main", {"data=x", "alpha=.5", "epochs=+7", "src=file:///tmp/a b"},
     OK_CMD(".5", "+7", "x", "'file:///tmp/a b'", "''"), "alpha=.5;epochs=+7;data=x;src=file:///tmp/a b;note="},
    {"main", {"data=x", "extra=1", "z.k-2=two words"},
     OK_CMD("0.5", "10", "x", "s3://bucket/key", "''") " --extra 1 --z.k-2 'two words'",
     "alpha=0.5;epochs=10;data=x;src=s3://bucket/key;note=;extra=1;z.k-2=two words"},
    {"main", {"data='; rm -rf / #"}, OK_CMD("0.5", "10", "''\"'\"'; rm -rf / #'", "s3://bucket/key", "''"),
     "alpha=0.5;epochs=10;data='; rm -rf / #;src=s3://bucket/key;note="},
    {"plain", {0}, "echo {not a param} done", ""},
    {"plain", {"k=v"}, "echo {not a param} done --k v", "k=v"},
    {"plain", {"k="}, "echo {not a param} done --k ''", "k="},
    {"plain", {"k=a=b"}, "echo {not a param} done --k a=b", "k=a=b"},
    /* errors */
    {"main", {0}, "entry point 'main': no value given for missing parameters: 'data'", NULL},
    {"nope", {0}, "entry point 'nope' not found in project 'demo'; accepted: main, plain, brace, close, undeclared, "
                  "badint; or a .py or .sh file of the project (there is none)", NULL},
    {"main", {"data=x", "epochs=ten"}, "parameter 'epochs' of entry point 'main' must be an int (a whole number such "
                                       "as 10 or -3), got 'ten'", NULL},
    {"main", {"data=x", "epochs=1.5"}, "parameter 'epochs' of entry point 'main' must be an int", NULL},
    {"main", {"data=x", "epochs=99999999999999999999"}, "must be an int", NULL},
    {"main", {"data=x", "epochs="}, "must be an int", NULL},
    {"main", {"data=x", "alpha=abc"}, "parameter 'alpha' of entry point 'main' must be a float (a number such as 0.5, "
                                      "-2 or 1e-3), got 'abc'", NULL},
    {"main", {"data=x", "alpha=0x10"}, "must be a float", NULL},
    {"main", {"data=x", "alpha= 1"}, "must be a float", NULL},
    {"main", {"data=x", "alpha=1.0; ls"}, "must be a float", NULL},
    {"main", {"data=x", "src=bucket/key"}, "parameter 'src' of entry point 'main' must be a uri", NULL},
    {"main", {"data="}, "parameter 'data' of entry point 'main' must be a path (not empty)", NULL},
    {"main", {"data=x", "data=y"}, "parameter 'data' is given more than once", NULL},
    {"main", {"data"}, "parameter 'data' is not of the form key=value", NULL},
    {"main", {"=x"}, "invalid parameter name ''", NULL},
    {"main", {"data=x", "a b=1"}, "invalid parameter name 'a b'", NULL},
    {"main", {"data=x", "--rm=1"}, NULL, NULL}, /* a name may start with '-': quoted, never an option of sh */
    {"brace", {0}, "entry point 'brace': a '{' without '}' in its command", NULL},
    {"close", {0}, "entry point 'close': a single '}' in its command", NULL},
    {"undeclared", {"ghost=1"}, "its command refers to '{ghost}', which is not a declared parameter", NULL},
    {"badint", {0}, "parameter 'n' of entry point 'badint' must be an int (a whole number such as 10 or -3), got 'ten' "
                    "(its default in the MLproject file)", NULL},
    {"run.py", {0}, "entry point 'run.py' not found in project 'demo'", NULL},
};

static size_t count(const char *const *v, size_t max)
{
    size_t n = 0;
    while (n < max && v[n] != NULL)
        n++;
    return n;
}

static void check_resolve(const mlproject *p, const resolve_case *c, size_t i)
{
    mlproject_run r;
    cerr e = {0};
    int rc = mlproject_resolve(p, c->entry, c->params, count(c->params, 6), &r, &e);
    int want_ok = c->expect == NULL || c->logged != NULL;
    if (want_ok && rc != 0)
        fail_msg("resolve case %zu refused: %s", i, e.msg);
    if (!want_ok && rc == 0)
        fail_msg("resolve case %zu accepted as [%s], expected: %s", i, r.command, c->expect);
    if (!want_ok && strstr(e.msg, c->expect) == NULL)
        fail_msg("resolve case %zu: error '%s' lacks '%s'", i, e.msg, c->expect);
    if (rc != 0)
        return;
    if (c->expect != NULL && strcmp(r.command, c->expect) != 0)
        fail_msg("resolve case %zu: command\n  [%s]\nexpected\n  [%s]", i, r.command, c->expect);
    sbuf got = SBUF_INIT;
    for (size_t k = 0; k < r.nparams; k++)
        sbuf_printf(&got, "%s%s=%s", k ? ";" : "", r.params[k].key, r.params[k].value);
    if (c->logged != NULL && strcmp(sbuf_str(&got), c->logged) != 0)
        fail_msg("resolve case %zu: params [%s], expected [%s]", i, sbuf_str(&got), c->logged);
    assert_string_equal(r.entry_point, c->entry ? c->entry : "main");
    sbuf_free(&got);
    mlproject_run_free(&r);
}

static void test_resolve_table(void **state)
{
    (void)state;
    mlproject *p;
    cerr e;
    assert_int_equal(mlproject_parse(demo_yaml, strlen(demo_yaml), NULL, &p, &e), 0);
    for (size_t i = 0; i < sizeof resolve_cases / sizeof resolve_cases[0]; i++)
        check_resolve(p, &resolve_cases[i], i);
    mlproject_free(p);
}

static void test_resolve_limits(void **state)
{
    (void)state;
    mlproject *p;
    cerr e;
    assert_int_equal(mlproject_parse(demo_yaml, strlen(demo_yaml), NULL, &p, &e), 0);
    const char *many[MLPROJECT_PARAMS_MAX + 1];
    for (size_t i = 0; i <= MLPROJECT_PARAMS_MAX; i++)
        many[i] = "k=v";
    mlproject_run r;
    assert_int_equal(mlproject_resolve(p, "plain", many, MLPROJECT_PARAMS_MAX + 1, &r, &e), -1);
    assert_non_null(strstr(e.msg, "more than 256 parameters given"));
    char *big = malloc(MLPROJECT_COMMAND_MAX + 16);
    memcpy(big, "k=", 2);
    memset(big + 2, 'x', MLPROJECT_COMMAND_MAX);
    big[MLPROJECT_COMMAND_MAX + 2] = '\0';
    const char *one[] = {big};
    assert_int_equal(mlproject_resolve(p, "plain", one, 1, &r, &e), -1);
    assert_non_null(strstr(e.msg, "the command would be longer than 65536 bytes"));
    free(big);
    mlproject_free(p);
}

/* ---- the fixture projects ---- */
#define FIX "tests/data/projects/"

static mlproject *load(const char *dir)
{
    mlproject *p = NULL;
    cerr e = {0};
    if (mlproject_load(dir, &p, &e) != 0)
        fail_msg("loading %s: %s", dir, e.msg);
    return p;
}

static void test_fixture_full(void **state)
{
    (void)state;
    mlproject *p = load(FIX "full");
    assert_true(p->has_file);
    assert_string_equal(p->name, "full-example");
    assert_int_equal(p->env, MLPROJECT_ENV_PYTHON);
    assert_string_equal(p->env_file, "python_env.yaml");
    assert_int_equal(p->nentries, 3);
    const mlproject_entry *m = mlproject_entry_find(p, "main");
    assert_non_null(m);
    assert_int_equal(m->nparams, 5);
    static const char *const names[] = {"alpha", "l1_ratio", "epochs", "data", "out"};
    static const mlproject_type types[] = {MLPROJECT_FLOAT, MLPROJECT_FLOAT, MLPROJECT_INT, MLPROJECT_PATH, MLPROJECT_URI};
    static const char *const defaults[] = {"0.5", "0.1", "10", NULL, "file:///tmp/out"};
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(m->params[i].name, names[i]);
        assert_int_equal(m->params[i].type, types[i]);
        if (defaults[i] == NULL)
            assert_null(m->params[i].default_value);
        else
            assert_string_equal(m->params[i].default_value, defaults[i]);
    }
    assert_string_equal(mlproject_type_name(MLPROJECT_URI), "uri");
    mlproject_run r;
    cerr e;
    const char *params[] = {"data=wine quality.csv", "seed=7"};
    assert_int_equal(mlproject_resolve(p, NULL, params, 2, &r, &e), 0);
    assert_string_equal(r.command, "python train.py --alpha 0.5 --l1-ratio 0.1 --epochs 10 --data 'wine quality.csv' "
                                   "--out file:///tmp/out --seed 7");
    mlproject_run_free(&r);
    /* a project with a file may still name one of its scripts */
    assert_int_equal(mlproject_resolve(p, "train.py", NULL, 0, &r, &e), 0);
    assert_string_equal(r.command, "python3 train.py");
    mlproject_run_free(&r);
    assert_int_equal(mlproject_resolve(p, "missing.py", NULL, 0, &r, &e), -1);
    assert_string_equal(e.msg, "entry point 'missing.py' not found in project 'full-example'; accepted: main, "
                               "validate, braces; or a .py or .sh file of the project (train.py)");
    assert_int_equal(e.code, CERR_RESOURCE_DOES_NOT_EXIST);
    mlproject_free(p);
}

static void test_fixture_scripts(void **state)
{
    (void)state;
    mlproject *p = load(FIX "scripts");
    assert_false(p->has_file);
    assert_null(p->name);
    assert_int_equal(p->nentries, 0);
    assert_int_equal(p->nscripts, 2);
    assert_string_equal(p->scripts[0], "run.sh");
    assert_string_equal(p->scripts[1], "train.py");
    mlproject_run r;
    cerr e;
    const char *params[] = {"alpha=0.1", "name=a b"};
    assert_int_equal(mlproject_resolve(p, "train.py", params, 2, &r, &e), 0);
    assert_string_equal(r.command, "python3 train.py --alpha 0.1 --name 'a b'");
    assert_int_equal(r.nparams, 2);
    mlproject_run_free(&r);
    assert_int_equal(mlproject_resolve(p, "run.sh", NULL, 0, &r, &e), 0);
    assert_string_equal(r.command, "bash run.sh");
    mlproject_run_free(&r);
    static const char *const refused[] = {NULL, "main", "README.md", "../scripts/run.sh", "/etc/x.sh", "nope.py"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        assert_int_equal(mlproject_resolve(p, refused[i], NULL, 0, &r, &e), -1);
        assert_non_null(strstr(e.msg, "not found in project; accepted: a .py or .sh file of the project "
                                      "(run.sh, train.py)"));
    }
    mlproject_free(p);
}

static void test_fixture_envs(void **state)
{
    (void)state;
    mlproject *p = load(FIX "docker");
    assert_int_equal(p->env, MLPROJECT_ENV_DOCKER);
    assert_string_equal(p->docker_image, "python:3.11-slim");
    assert_int_equal(p->ndocker_volumes, 2);
    assert_string_equal(p->docker_volumes[1], "/scratch:/scratch");
    assert_int_equal(p->ndocker_environment, 2);
    assert_string_equal(p->docker_environment[0], "NEW_ENV_VAR=new_var_value");
    assert_string_equal(p->docker_environment[1], "VAR_TO_COPY_FROM_HOST_ENVIRONMENT");
    mlproject_free(p);
    p = load(FIX "conda");
    assert_int_equal(p->env, MLPROJECT_ENV_CONDA);
    assert_string_equal(p->env_file, "conda.yaml");
    mlproject_free(p);
    p = load(FIX "lower"); /* the file name is matched in any case */
    assert_true(p->has_file);
    assert_string_equal(p->name, "lower-case-file");
    mlproject_free(p);
    cerr e;
    assert_int_equal(mlproject_load(FIX "no-such-dir", &p, &e), -1);
    assert_int_equal(e.code, CERR_RESOURCE_DOES_NOT_EXIST);
    assert_non_null(strstr(e.msg, "project directory 'tests/data/projects/no-such-dir'"));
}

/* ---- hostile YAML ---- */
static void expect_refused(const char *text, size_t len, const char *err)
{
    mlproject *p = NULL;
    cerr e = {0};
    if (mlproject_parse(text, len, NULL, &p, &e) != -1)
        fail_msg("accepted, expected: %s", err);
    if (strstr(e.msg, err) == NULL)
        fail_msg("error '%s' lacks '%s'", e.msg, err);
}

static void test_hostile_yaml(void **state)
{
    (void)state;
    size_t n = 200000;
    sbuf s = SBUF_INIT;
    sbuf_puts(&s, "entry_points: ");
    for (size_t i = 0; i < n; i++)
        sbuf_putc(&s, '[');
    expect_refused(sbuf_str(&s), s.len, "document nested deeper than 32 levels (line 1, column 46)");
    sbuf_reset(&s);
    for (size_t i = 0; i < 40; i++)
        sbuf_printf(&s, "%*sk:\n", (int)(2 * i), "");
    expect_refused(sbuf_str(&s), s.len, "nested deeper than 32 levels");
    sbuf_reset(&s);
    sbuf_puts(&s, "a: [");
    for (size_t i = 0; i < YTREE_ITEMS_MAX + 1; i++)
        sbuf_puts(&s, "1,");
    sbuf_puts(&s, "]\n");
    expect_refused(sbuf_str(&s), s.len, "a mapping or list has more than 1024 entries");
    sbuf_reset(&s);
    for (size_t k = 0; k < 25; k++) {
        sbuf_printf(&s, "k%zu: [", k);
        for (size_t i = 0; i < 1000; i++)
            sbuf_puts(&s, "1,");
        sbuf_puts(&s, "]\n");
    }
    expect_refused(sbuf_str(&s), s.len, "document has more than 20000 nodes");
    sbuf_reset(&s);
    sbuf_puts(&s, "name: '");
    for (size_t i = 0; i < YTREE_SCALAR_MAX + 1; i++)
        sbuf_putc(&s, 'x');
    sbuf_puts(&s, "'\n");
    expect_refused(sbuf_str(&s), s.len, "a value is longer than 65536 bytes (line 1, column 7)");
    sbuf_reset(&s);
    sbuf_puts(&s, "# ");
    for (size_t i = 0; i < YTREE_TEXT_MAX; i++)
        sbuf_putc(&s, 'x');
    expect_refused(sbuf_str(&s), s.len, "YAML text is larger than 1048576 bytes");
    expect_refused("a: 1\0b: 2", 9, "bad YAML at line 1");
    expect_refused("a: \"\\0\"\n", 8, "a value contains a NUL byte");
    expect_refused("a: \xff\xfe\n", 6, "bad YAML");
    sbuf_free(&s);
}

/* ---- quoting proven: run the command through /bin/sh -c ---- */
static char *run_sh(const char *dir, const char *cmd)
{
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        if (chdir(dir) != 0)
            _exit(127);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    sbuf out = SBUF_INIT;
    char buf[4096];
    ssize_t r;
    while ((r = read(fd[0], buf, sizeof buf)) > 0)
        sbuf_append(&out, buf, (size_t)r);
    close(fd[0]);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    sbuf_putc(&out, '\0');
    out.len--;
    return sbuf_detach(&out);
}

static const char *const hostile[] = {
    "'; touch pwned #", "$(touch pwned)", "`touch pwned`", "a b  c", "\"double\" 'single'", "back\\slash\\",
    "*", "~", "-n", "", "line1\nline2", "$HOME", ";|&&>x<y", "'", "''", "\\'", "ü ∂ 😀", "{a}", "%s %d", "!1",
    "a\tb", "#", "--", "$((1+1))", "${IFS}",
};

static void test_quoting_through_sh(void **state)
{
    (void)state;
    char dir[] = "/tmp/cairn-mlproject-XXXXXX";
    assert_non_null(mkdtemp(dir));
    static const char yaml[] = "entry_points:\n  main:\n    parameters:\n      a: string\n      b: {type: string, "
                               "default: x}\n      c: {type: path, default: 'a dir/f;x'}\n    command: \"printf '%s\\\\n' {a} {b} {c}\"\n";
    mlproject *p;
    cerr e;
    if (mlproject_parse(yaml, strlen(yaml), dir, &p, &e) != 0)
        fail_msg("%s", e.msg);
    size_t n = sizeof hostile / sizeof hostile[0];
    for (size_t i = 0; i < n; i++) {
        sbuf a = SBUF_INIT, b = SBUF_INIT, x = SBUF_INIT, expect = SBUF_INIT;
        sbuf_printf(&a, "a=%s", hostile[i]);
        sbuf_printf(&b, "b=%s", hostile[(i + 1) % n]);
        sbuf_printf(&x, "x=%s", hostile[(i + 2) % n]);
        const char *params[] = {sbuf_str(&a), sbuf_str(&b), sbuf_str(&x)};
        mlproject_run r;
        if (mlproject_resolve(p, NULL, params, 3, &r, &e) != 0)
            fail_msg("case %zu: %s", i, e.msg);
        char *out = run_sh(dir, r.command);
        sbuf_printf(&expect, "%s\n%s\na dir/f;x\n--x\n%s\n", hostile[i], hostile[(i + 1) % n], hostile[(i + 2) % n]);
        if (strcmp(out, sbuf_str(&expect)) != 0)
            fail_msg("case %zu: [%s] printed\n%s\nexpected\n%s", i, r.command, out, sbuf_str(&expect));
        free(out);
        mlproject_run_free(&r);
        sbuf_free(&a);
        sbuf_free(&b);
        sbuf_free(&x);
        sbuf_free(&expect);
    }
    mlproject_free(p);
    sbuf path = SBUF_INIT;
    sbuf_printf(&path, "%s/pwned", dir);
    assert_int_equal(access(sbuf_str(&path), F_OK), -1); /* nothing ran */
    sbuf_free(&path);
    assert_int_equal(rmdir(dir), 0); /* and nothing was written */
}

/* A project without an MLproject: `bash run.sh` gets every parameter intact. */
static void test_script_through_sh(void **state)
{
    (void)state;
    mlproject *p = load(FIX "scripts");
    const char *params[] = {"msg='; touch pwned #", "n=two words", "e="};
    mlproject_run r;
    cerr e;
    assert_int_equal(mlproject_resolve(p, "run.sh", params, 3, &r, &e), 0);
    char *out = run_sh(FIX "scripts", r.command);
    assert_string_equal(out, "--msg\n'; touch pwned #\n--n\ntwo words\n--e\n\n");
    assert_int_equal(access(FIX "scripts/pwned", F_OK), -1);
    free(out);
    mlproject_run_free(&r);
    mlproject_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),        cmocka_unit_test(test_resolve_table),
        cmocka_unit_test(test_resolve_limits),     cmocka_unit_test(test_fixture_full),
        cmocka_unit_test(test_fixture_scripts),    cmocka_unit_test(test_fixture_envs),
        cmocka_unit_test(test_hostile_yaml),       cmocka_unit_test(test_quoting_through_sh),
        cmocka_unit_test(test_script_through_sh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
