/* test_client_jobs.c - libcairn's jobs calls before the network: arguments
 * refused with CAIRN_EINVAL, unreadable files with CAIRN_EIO, a forced
 * offline client with CAIRN_EOFFLINE, a closed port with CAIRN_EUNREACHABLE
 * naming the address; nothing sent in the first three cases. The requests
 * themselves are checked by tests/client/test_jobs.py. No server needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cairn.h"

static char project[64];

static int setup(void **state)
{
    (void)state;
    strcpy(project, "/tmp/cairn-jobs-test-XXXXXX");
    int fd = mkstemp(project);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "not an archive", 14), 14);
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(project);
    return 0;
}

/* A client for a port nobody listens on: any request would be EUNREACHABLE. */
static cairn_client *closed_port(int offline)
{
    cairn_options o = {0};
    o.tracking_uri = "http://127.0.0.1:1";
    o.no_spool = 1;
    o.offline = offline;
    cairn_client *c = NULL;
    assert_int_equal(cairn_client_open(&c, &o), CAIRN_OK);
    return c;
}

static void expect(int r, int code, const char *msg)
{
    assert_int_equal(r, code);
    if (strstr(cairn_error_last()->message, msg) == NULL)
        fail_msg("message '%s' lacks '%s'", cairn_error_last()->message, msg);
}

static int sink(void *arg, const char *data, size_t len)
{
    (void)arg, (void)data, (void)len;
    return 0;
}

static void test_submit_arguments(void **state)
{
    (void)state;
    cairn_client *c = closed_port(0);
    char *out = NULL;
    cairn_job_submit_opts o = {0};
    expect(cairn_job_submit(c, NULL, &out), CAIRN_EINVAL, "missing project archive");
    expect(cairn_job_submit(c, &o, &out), CAIRN_EINVAL, "missing project archive");
    o.project_path = project;
    o.parameters_json = "[1, 2]";
    expect(cairn_job_submit(c, &o, &out), CAIRN_EINVAL, "parameters must be a JSON object");
    o.parameters_json = "{\"alpha\": \"0.5\"}";
    o.experiment_id = "1";
    o.experiment_name = "wine";
    expect(cairn_job_submit(c, &o, &out), CAIRN_EINVAL, "not both");
    o.experiment_name = NULL;
    const char *env[] = {"MLFLOW_X=1", "NOEQUALS"};
    o.env = env;
    o.nenv = 2;
    expect(cairn_job_submit(c, &o, &out), CAIRN_EINVAL, "environment item 'NOEQUALS' is not NAME=value");
    o.nenv = 1;
    o.backend_config_path = "/nonexistent/config.yaml";
    expect(cairn_job_submit(c, &o, &out), CAIRN_EIO, "cannot open backend config /nonexistent/config.yaml");
    o.backend_config_path = "/tmp";
    expect(cairn_job_submit(c, &o, &out), CAIRN_EIO, "backend config /tmp is not a regular file");
    o.backend_config_path = NULL;
    expect(cairn_job_submit(c, &o, &out), CAIRN_EUNREACHABLE, "cannot reach http://127.0.0.1:1");
    assert_null(out);
    cairn_client_close(c);
}

static void test_other_calls(void **state)
{
    (void)state;
    cairn_client *c = closed_port(0);
    char *out = NULL;
    expect(cairn_job_get(c, NULL, &out), CAIRN_EINVAL, "missing job id");
    expect(cairn_job_get(c, "", &out), CAIRN_EINVAL, "missing job id");
    expect(cairn_job_cancel(c, NULL, &out), CAIRN_EINVAL, "missing job id");
    expect(cairn_job_list(c, NULL, 0, -1, &out), CAIRN_EINVAL, "max_results must not be negative");
    expect(cairn_job_logs(c, "j", 0, 0, NULL, NULL), CAIRN_EINVAL, "missing write callback");
    expect(cairn_job_logs(c, "j", -1, 0, sink, NULL), CAIRN_EINVAL, "offset must not be negative");
    expect(cairn_job_logs(NULL, "j", 0, 0, sink, NULL), CAIRN_EINVAL, "missing client");
    expect(cairn_job_get(c, "j", &out), CAIRN_EUNREACHABLE, "cannot reach http://127.0.0.1:1");
    expect(cairn_job_list(c, "1", 1, 0, &out), CAIRN_EUNREACHABLE, "cannot reach");
    expect(cairn_job_logs(c, "j", 0, 1, sink, NULL), CAIRN_EUNREACHABLE, "cannot reach");
    assert_null(out);
    cairn_client_close(c);
}

static void test_offline(void **state)
{
    (void)state;
    cairn_client *c = closed_port(1);
    char *out = NULL;
    cairn_job_submit_opts o = {0};
    o.project_path = project;
    expect(cairn_job_submit(c, &o, &out), CAIRN_EOFFLINE, "offline");
    expect(cairn_job_get(c, "j", &out), CAIRN_EOFFLINE, "offline");
    expect(cairn_job_list(c, NULL, 0, 0, &out), CAIRN_EOFFLINE, "offline");
    expect(cairn_job_cancel(c, "j", &out), CAIRN_EOFFLINE, "offline");
    expect(cairn_job_logs(c, "j", 0, 0, sink, NULL), CAIRN_EOFFLINE, "offline");
    cairn_client_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_submit_arguments),
        cmocka_unit_test(test_other_calls),
        cmocka_unit_test(test_offline),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
