/* test_auth_config.c - MLflow's basic_auth.ini as configparser reads it
 * (src/auth/config.c): MLflow's own file, configparser's rules (case of
 * keys, delimiters, comments, continuation lines, [DEFAULT], %(x)s and %%),
 * every refusal with the line it names and never the password, a file on
 * disk; and MLflow's permission levels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/auth.h"

static void test_config_mlflow_default(void **state)
{
    (void)state;
    /* MLflow's own basic_auth.ini */
    const char *ini = "[mlflow]\n"
                      "default_permission = READ\n"
                      "database_uri = sqlite:///basic_auth.db\n"
                      "admin_username = admin\n"
                      "admin_password = password1234\n"
                      "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n";
    auth_config c;
    cerr e;
    assert_int_equal(auth_config_parse(ini, strlen(ini), &c, &e), 0);
    assert_string_equal(c.default_permission, "READ");
    assert_string_equal(c.database_uri, "sqlite:///basic_auth.db");
    assert_string_equal(c.admin_username, "admin");
    assert_string_equal(c.admin_password, "password1234");
    assert_string_equal(c.authorization_function, AUTH_CONFIG_DEFAULT_AUTHZ);
    auth_config_free(&c);
    assert_null(c.admin_password);
}

static void test_config_configparser_rules(void **state)
{
    (void)state;
    const char *ini = "# a comment\r\n"
                      "; another\n"
                      "[DEFAULT]\n"
                      "host = db.example\n"
                      "[other]\n"
                      "default_permission = MANAGE\n"
                      "[mlflow]\n"
                      "  Default_Permission:EDIT  \n"
                      "DATABASE_URI = postgresql://u@%(host)s/auth\n"
                      "admin_username=root\n"
                      "admin_password = 50%% off ; not a comment\n"
                      "unknown_key = ignored\n"
                      "authorization_function = a\n"
                      "    b\n"
                      "\n"
                      "empty =\n";
    auth_config c;
    cerr e;
    assert_int_equal(auth_config_parse(ini, strlen(ini), &c, &e), 0);
    assert_string_equal(c.default_permission, "EDIT");
    assert_string_equal(c.database_uri, "postgresql://u@db.example/auth");
    assert_string_equal(c.admin_username, "root");
    assert_string_equal(c.admin_password, "50% off ; not a comment");
    assert_string_equal(c.authorization_function, "a\nb");
    auth_config_free(&c);

    /* Without authorization_function: MLflow's default. */
    const char *min = "[mlflow]\ndefault_permission=NO_PERMISSIONS\ndatabase_uri=x\n"
                      "admin_username=a\nadmin_password=\n";
    assert_int_equal(auth_config_parse(min, strlen(min), &c, &e), 0);
    assert_string_equal(c.admin_password, "");
    assert_string_equal(c.authorization_function, AUTH_CONFIG_DEFAULT_AUTHZ);
    auth_config_free(&c);
}

static void config_refused(const char *ini, const char *needle)
{
    auth_config c;
    cerr e;
    assert_int_equal(auth_config_parse(ini, strlen(ini), &c, &e), -1);
    assert_int_equal(e.code, CERR_INVALID_PARAMETER_VALUE);
    if (strstr(e.msg, needle) == NULL)
        fail_msg("'%s' does not say '%s'", e.msg, needle);
    assert_null(strstr(e.msg, "s3cret")); /* the password is never quoted */
    assert_null(c.admin_password);
}

static void test_config_errors(void **state)
{
    (void)state;
#define REST "database_uri=x\nadmin_username=a\nadmin_password=s3cret\n"
    config_refused("", "no [mlflow] section");
    config_refused("[other]\ndefault_permission=READ\n" REST, "no [mlflow] section");
    config_refused("[mlflow]\n" REST, "no 'default_permission'");
    config_refused("[mlflow]\ndefault_permission=READ\ndatabase_uri=x\nadmin_username=a\n",
                   "no 'admin_password'");
    config_refused("[mlflow]\ndefault_permission=read\n" REST, "Invalid default_permission 'read'");
    config_refused("[mlflow]\ndefault_permission=WRITE\n" REST, "Valid permissions are");
    config_refused("default_permission=READ\n[mlflow]\n" REST, "line 1: a key before any");
    config_refused("[mlflow\ndefault_permission=READ\n" REST, "line 1: a section header");
    config_refused("[mlflow]\ndefault_permission READ\n" REST, "line 2: not a 'key = value'");
    config_refused("[mlflow]\ndefault_permission=READ\nDEFAULT_PERMISSION=EDIT\n" REST,
                   "line 3: option 'default_permission' in section [mlflow] already exists");
    config_refused("[mlflow]\ndefault_permission=READ\n" REST "[mlflow]\n",
                   "section [mlflow] already exists");
    config_refused("[mlflow]\ndefault_permission=READ\ndatabase_uri=x\nadmin_username=a\n"
                   "admin_password=s3cret%\n",
                   "line 5: '%' in the value of 'admin_password'");
    config_refused("[mlflow]\ndefault_permission=READ\ndatabase_uri=%(nope)s\n"
                   "admin_username=a\nadmin_password=s3cret\n",
                   "refers to 'nope'");
    config_refused("[mlflow]\ndefault_permission=READ\ndatabase_uri=%(database_uri)s\n"
                   "admin_username=a\nadmin_password=s3cret\n",
                   "nests too deep");
    const char nul[] = "[mlflow]\ndefault_permission=READ\0\n";
    auth_config c;
    cerr e;
    assert_int_equal(auth_config_parse(nul, sizeof nul - 1, &c, &e), -1);
    assert_non_null(strstr(e.msg, "NUL"));
#undef REST
}

static void test_config_file(void **state)
{
    (void)state;
    char path[] = "/tmp/cairn-ini-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *ini = "[mlflow]\ndefault_permission=READ\ndatabase_uri=x\nadmin_username=a\n"
                      "admin_password=b\n";
    assert_int_equal(write(fd, ini, strlen(ini)), (ssize_t)strlen(ini));
    close(fd);
    auth_config c;
    cerr e;
    assert_int_equal(auth_config_read(path, &c, &e), 0);
    assert_string_equal(c.admin_password, "b");
    auth_config_free(&c);
    unlink(path);
    assert_int_equal(auth_config_read(path, &c, &e), -1);
    assert_non_null(strstr(e.msg, "cannot read the auth config"));
}

static void test_permissions(void **state)
{
    (void)state;
    const auth_permission *p = auth_permission_get("EDIT");
    assert_non_null(p);
    assert_true(p->can_read && p->can_update && !p->can_delete && !p->can_manage);
    p = auth_permission_get("MANAGE");
    assert_true(p->can_read && p->can_update && p->can_delete && p->can_manage);
    p = auth_permission_get("NO_PERMISSIONS");
    assert_false(p->can_read);
    assert_true(auth_permission_get("READ")->can_read);
    assert_null(auth_permission_get("read"));
    assert_null(auth_permission_get(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_mlflow_default),
        cmocka_unit_test(test_config_configparser_rules),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_config_file),
        cmocka_unit_test(test_permissions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
