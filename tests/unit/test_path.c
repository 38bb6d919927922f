/* test_path.c - safe request paths: every hostile form as a table row,
 * then resolution under a real temporary root with symbolic links. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/path.h"

typedef struct {
    const char *rel;
    int ok;             /* 1: accepted, 0: refused */
    const char *norm;   /* expected normalized form when accepted */
} path_case;

static const path_case validate_cases[] = {
    /* ordinary paths */
    {"", 1, ""},
    {"model", 1, "model"},
    {"model/MLmodel", 1, "model/MLmodel"},
    {"a//b/./c/", 1, "a/b/c"},
    {"./a", 1, "a"},
    {".", 1, ""},
    {"a/.hidden", 1, "a/.hidden"},
    {"a/..b/c..", 1, "a/..b/c.."},
    {"...", 1, "..."},
    {"a b/ü.txt", 1, "a b/ü.txt"},
    {"C:x", 1, "C:x"},                /* drive-relative: not absolute in MLflow either */
    {"a\\b", 1, "a\\b"},              /* backslash: a file-name byte on POSIX */
    {"..\\..\\etc\\passwd", 1, "..\\..\\etc\\passwd"}, /* one odd name, not a parent */
    {"%41bc", 1, "%41bc"},            /* decoded only to check; used as given */
    {"100%", 1, "100%"},
    {"a%zz", 1, "a%zz"},
    /* parent components */
    {"..", 0, NULL},
    {"../x", 0, NULL},
    {"a/../../x", 0, NULL},
    {"a/..", 0, NULL},
    {"a/../b", 0, NULL},
    /* encoded parents, once and several times */
    {"%2e%2e/x", 0, NULL},
    {"%2E%2E", 0, NULL},
    {"a/%2e./b", 0, NULL},
    {"..%2fx", 0, NULL},
    {"a%2f..%2fb", 0, NULL},
    {"%252e%252e/x", 0, NULL},
    {"%25252e%25252e%25252fetc", 0, NULL},
    /* absolute paths */
    {"/etc/passwd", 0, NULL},
    {"/", 0, NULL},
    {"%2fetc", 0, NULL},
    {"%252Fetc", 0, NULL},
    {"//server/share", 0, NULL},
    {"\\\\server\\share", 0, NULL},
    {"C:\\Windows", 0, NULL},
    {"c:/x", 0, NULL},
    {"%43%3a%5cx", 0, NULL},
    /* URIs, fragments and NUL */
    {"file:///etc/passwd", 0, NULL},
    {"FILE:/etc", 0, NULL},
    {"file:x", 0, NULL},
    {"a#b", 0, NULL},
    {"a%23b", 0, NULL},
    {"a%00b", 0, NULL},
    {"a%2500b", 0, NULL},
    {"x.txt%00.png", 0, NULL},
};

static void test_validate_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof validate_cases / sizeof validate_cases[0]; i++) {
        const path_case *c = &validate_cases[i];
        cerr e;
        cerr_clear(&e);
        sbuf out = SBUF_INIT;
        int rc = path_normalize_rel(c->rel, &out, &e);
        if (c->ok != (rc == 0))
            fail_msg("case %zu '%s': expected %s, got rc=%d (%s)", i, c->rel,
                     c->ok ? "accept" : "refuse", rc, e.msg);
        if (c->ok) {
            assert_string_equal(sbuf_str(&out), c->norm);
        } else {
            assert_int_equal(e.code, CERR_INVALID_PARAMETER_VALUE);
            assert_string_equal(e.msg, "Invalid path");
        }
        sbuf_free(&out);
    }
}

static void test_too_long_and_decode_loop(void **state)
{
    (void)state;
    cerr e;
    char *big = malloc(PATH_REL_MAX + 2);
    memset(big, 'a', PATH_REL_MAX + 1);
    big[PATH_REL_MAX + 1] = '\0';
    assert_int_equal(path_validate_rel(big, &e), -1);
    big[PATH_REL_MAX] = '\0';
    assert_int_equal(path_validate_rel(big, &e), 0);
    free(big);
    /* "%" encoded eleven times still changes after MLflow's 10 rounds. */
    sbuf s = SBUF_INIT;
    sbuf_puts(&s, "%25");
    for (int i = 0; i < 10; i++) {
        sbuf t = SBUF_INIT;
        for (const char *p = sbuf_str(&s); *p; p++)
            sbuf_puts(&t, *p == '%' ? "%25" : (char[]){*p, 0});
        sbuf_free(&s);
        s = t;
    }
    assert_int_equal(path_validate_rel(sbuf_str(&s), &e), -1);
    assert_string_equal(e.msg, "Failed to decode url");
    sbuf_free(&s);
}

static void test_basename(void **state)
{
    (void)state;
    assert_string_equal(path_basename(""), "");
    assert_string_equal(path_basename("a"), "a");
    assert_string_equal(path_basename("a/b/c.txt"), "c.txt");
}

/* ---- resolution under a real root ---- */

typedef struct {
    char base[PATH_MAX];    /* the temporary folder holding both */
    char root[PATH_MAX];    /* canonical */
    char outside[PATH_MAX]; /* a sibling folder outside the root */
} fixture;

static void mkfile(const char *path)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "x", 1), 1);
    close(fd);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char tmpl[] = "/tmp/cairn-test-path-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    char *real = realpath(tmpl, NULL);
    snprintf(f->base, sizeof f->base, "%s", real);
    snprintf(f->outside, sizeof f->outside, "%s/outside", real);
    snprintf(f->root, sizeof f->root, "%s/root", real);
    free(real);
    assert_int_equal(mkdir(f->root, 0755), 0);
    assert_int_equal(mkdir(f->outside, 0755), 0);
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/secret", f->outside);
    mkfile(p);
    snprintf(p, sizeof p, "%s/a", f->root);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/a/file.txt", f->root);
    mkfile(p);
    /* links: inside -> inside, inside -> outside (dir and file),
     * dangling, absolute to /, relative escaping, a loop */
    snprintf(p, sizeof p, "%s/in_link", f->root);
    assert_int_equal(symlink("a", p), 0);
    snprintf(p, sizeof p, "%s/out_dir", f->root);
    assert_int_equal(symlink(f->outside, p), 0);
    snprintf(p, sizeof p, "%s/out_file", f->root);
    assert_int_equal(symlink("../outside/secret", p), 0);
    snprintf(p, sizeof p, "%s/dangling", f->root);
    assert_int_equal(symlink("../outside/newfile", p), 0);
    snprintf(p, sizeof p, "%s/etc", f->root);
    assert_int_equal(symlink("/etc", p), 0);
    snprintf(p, sizeof p, "%s/a/up", f->root);
    assert_int_equal(symlink("..", p), 0);
    snprintf(p, sizeof p, "%s/a/upup", f->root);
    assert_int_equal(symlink("../..", p), 0);
    snprintf(p, sizeof p, "%s/loop", f->root);
    assert_int_equal(symlink("loop", p), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[2 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->base);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

typedef struct {
    const char *rel;
    const char *expect; /* path below the root, or NULL when refused */
} resolve_case;

static const resolve_case resolve_cases[] = {
    {"", ""},
    {"a", "/a"},
    {"a/file.txt", "/a/file.txt"},
    {"new/dir/file", "/new/dir/file"},       /* not there yet: appended */
    {"a/file.txt/below", "/a/file.txt/below"}, /* ENOTDIR: appended, fails later */
    {"in_link/file.txt", "/a/file.txt"},     /* link inside the root: followed */
    {"a/up/a/file.txt", "/a/file.txt"},      /* link to the root itself */
    {"out_dir", NULL},
    {"out_dir/secret", NULL},
    {"out_file", NULL},
    {"dangling", NULL},
    {"etc/passwd", NULL},
    {"a/upup/outside/secret", NULL},
    {"loop", NULL},
    {"../outside/secret", NULL},
    {"a/../../outside/secret", NULL},
    {"%2e%2e/outside/secret", NULL},
};

static void test_resolve_table(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < sizeof resolve_cases / sizeof resolve_cases[0]; i++) {
        const resolve_case *c = &resolve_cases[i];
        cerr e;
        cerr_clear(&e);
        sbuf out = SBUF_INIT;
        int rc = path_resolve_under(f->root, c->rel, &out, &e);
        if (c->expect == NULL) {
            if (rc != -1)
                fail_msg("case %zu '%s': accepted as '%s'", i, c->rel, sbuf_str(&out));
            assert_int_equal(e.code, CERR_INVALID_PARAMETER_VALUE);
            assert_string_equal(e.msg, "Invalid path");
        } else {
            if (rc != 0)
                fail_msg("case %zu '%s': refused (%s)", i, c->rel, e.msg);
            char want[2 * PATH_MAX];
            snprintf(want, sizeof want, "%s%s", f->root, c->expect);
            assert_string_equal(sbuf_str(&out), want);
        }
        sbuf_free(&out);
    }
}

static void test_resolve_missing_root(void **state)
{
    (void)state;
    cerr e;
    sbuf out = SBUF_INIT;
    assert_int_equal(path_resolve_under("/nonexistent/cairn/root", "a", &out, &e), -1);
    assert_int_equal(e.code, CERR_INTERNAL_ERROR);
    sbuf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_table),
        cmocka_unit_test(test_too_long_and_decode_loop),
        cmocka_unit_test(test_basename),
        cmocka_unit_test_setup_teardown(test_resolve_table, setup, teardown),
        cmocka_unit_test(test_resolve_missing_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
