/* test_archive.c - project archives (src/jobs/archive*.c): hostile archives,
 * built here with libarchive's writer, each refused with its message and
 * nothing written outside the destination; zip and tar.gz round trips of a
 * tree packed by archive_pack_dir (names, types, modes, contents, link
 * targets; .git left out); the single-top-folder project root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define _XOPEN_SOURCE_EXTENDED 1
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "jobs/archive.h"
#include "util/sbuf.h"

/* ---- building archives ---- */
typedef struct {
    const char *name;
    mode_t mode;       /* AE_IF* | permissions */
    const char *data;  /* regular files */
    const char *link;  /* symlink target, or the hard link's target */
    int hard;
    size_t zeros;      /* zero bytes appended to data (bombs) */
} member;

static void write_member(struct archive *a, const member *m)
{
    struct archive_entry *ent = archive_entry_new();
    archive_entry_set_pathname(ent, m->name);
    archive_entry_set_mode(ent, m->mode);
    archive_entry_set_mtime(ent, 1700000000, 0);
    size_t len = m->data ? strlen(m->data) : 0;
    archive_entry_set_size(ent, S_ISREG(m->mode) && !m->hard ? (la_int64_t)(len + m->zeros) : 0);
    if (S_ISCHR(m->mode))
        archive_entry_set_rdev(ent, makedev(1, 3));
    if (m->hard)
        archive_entry_set_hardlink(ent, m->link);
    else if (m->link)
        archive_entry_set_symlink(ent, m->link);
    assert_true(archive_write_header(a, ent) >= ARCHIVE_WARN);
    if (len && !m->hard)
        archive_write_data(a, m->data, len);
    static char zero[65536];
    for (size_t left = m->zeros; left > 0;) {
        size_t n = left < sizeof zero ? left : sizeof zero;
        assert_int_equal(archive_write_data(a, zero, n), (la_ssize_t)n);
        left -= n;
    }
    archive_entry_free(ent);
}

static struct archive *writer(const char *path, const char *fmt)
{
    struct archive *a = archive_write_new();
    if (strcmp(fmt, "zip") == 0) {
        archive_write_set_format_zip(a);
    } else {
        archive_write_set_format_pax_restricted(a);
        if (strcmp(fmt, "tar.gz") == 0)
            archive_write_add_filter_gzip(a);
        else if (strcmp(fmt, "tar.bz2") == 0)
            archive_write_add_filter_bzip2(a);
        else if (strcmp(fmt, "tar.xz") == 0)
            archive_write_add_filter_xz(a);
    }
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    return a;
}

static void write_archive(const char *path, const char *fmt, const member *m, size_t n)
{
    struct archive *a = writer(path, fmt);
    for (size_t i = 0; i < n; i++)
        write_member(a, &m[i]);
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* ---- a scratch area: base/in (archives), base/dest, nothing else ---- */
typedef struct {
    char base[64];
    char in[96], dest[96], arc[128];
} scratch;

static void scratch_new(scratch *s, const char *arcname)
{
    strcpy(s->base, "/tmp/cairn-archive-XXXXXX");
    assert_non_null(mkdtemp(s->base));
    snprintf(s->in, sizeof s->in, "%s/in", s->base);
    snprintf(s->dest, sizeof s->dest, "%s/dest", s->base);
    snprintf(s->arc, sizeof s->arc, "%s/%s", s->in, arcname);
    assert_int_equal(mkdir(s->in, 0700), 0);
    assert_int_equal(mkdir(s->dest, 0700), 0);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static void rm_rf(const char *p)
{
    nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* base holds exactly "in" and "dest": nothing was written beside dest. */
static void assert_nothing_outside(const scratch *s)
{
    DIR *d = opendir(s->base);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        n++;
        assert_true(strcmp(de->d_name, "in") == 0 || strcmp(de->d_name, "dest") == 0);
    }
    closedir(d);
    assert_int_equal(n, 2);
}

/* ---- hostile archives, each with the message expected ---- */
typedef struct {
    const char *what;
    const char *fmt;
    member m[4];
    size_t n;
    const char *msg;
} hostile;

#define REG(n, d) {n, AE_IFREG | 0644, d, NULL, 0, 0}
#define DIRM(n) {n, AE_IFDIR | 0755, NULL, NULL, 0, 0}
#define LNK(n, t) {n, AE_IFLNK | 0777, NULL, t, 0, 0}

static const hostile hostiles[] = {
    {"dotdot", "tar", {REG("../evil", "x")}, 1, "archive member '../evil': path leaves the project"},
    {"dotdot zip", "zip", {REG("../evil", "x")}, 1, "archive member '../evil': path leaves the project"},
    {"absolute", "tar", {REG("/etc/x", "x")}, 1, "archive member '/etc/x': absolute path"},
    {"inner dotdot", "tar.gz", {REG("a/../../x", "x")}, 1, "archive member 'a/../../x': path leaves the project"},
    {"link to /etc", "tar", {LNK("link", "/etc"), REG("link/passwd", "root::0:0::/:/bin/sh\n")}, 2,
     "archive member 'link': symbolic link target is an absolute path"},
    {"through a link", "tar", {DIRM("sub"), LNK("link", "sub"), REG("link/x", "x")}, 3,
     "archive member 'link/x': path passes through a symbolic link"},
    {"link up", "tar", {LNK("up", "../..")}, 1, "archive member 'up': symbolic link target leaves the project"},
    {"link up from a dir", "zip", {DIRM("d"), LNK("d/up", "../../x")}, 2,
     "archive member 'd/up': symbolic link target leaves the project"},
    {"link chain", "tar", {DIRM("d"), LNK("d/l", ".."), LNK("t", "d/l/..")}, 3,
     "archive member 't': symbolic link target leaves the project"},
    {"hard link", "tar", {REG("a", "x"), {"b", AE_IFREG | 0644, NULL, "a", 1, 0}}, 2,
     "archive member 'b': hard links are not accepted"},
    {"device", "tar", {{"null", AE_IFCHR | 0666, NULL, NULL, 0, 0}}, 1,
     "archive member 'null': device nodes are not accepted"},
    {"fifo", "tar", {{"pipe", AE_IFIFO | 0644, NULL, NULL, 0, 0}}, 1, "archive member 'pipe': FIFOs are not accepted"},
    {"setuid", "tar", {{"su", AE_IFREG | 04755, "x", NULL, 0, 0}}, 1,
     "archive member 'su': setuid and setgid bits are not accepted"},
    {"setgid dir", "zip", {{"g", AE_IFDIR | 02755, NULL, NULL, 0, 0}}, 1,
     "archive member 'g': setuid and setgid bits are not accepted"},
    {"empty", "tar.gz", {{0}}, 0, "archive: the archive is empty"},
    {"only the root", "tar", {DIRM("./")}, 1, "archive: the archive is empty"},
};

static void test_hostile(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof hostiles / sizeof hostiles[0]; i++) {
        const hostile *h = &hostiles[i];
        scratch s;
        scratch_new(&s, "a");
        write_archive(s.arc, h->fmt, h->m, h->n);
        cerr e;
        archive_info info;
        int r = archive_unpack(s.arc, s.dest, NULL, &info, &e);
        if (r != -1 || strcmp(e.msg, h->msg) != 0)
            fail_msg("%s: got %d '%s', want '%s'", h->what, r, r ? e.msg : "", h->msg);
        assert_int_equal(e.code, CERR_INVALID_PARAMETER_VALUE);
        assert_nothing_outside(&s);
        rm_rf(s.base);
    }
    assert_int_not_equal(access("/etc/x", F_OK), 0);
}

static void expect_refused(const scratch *s, const archive_limits *lim, const char *msg_prefix)
{
    cerr e;
    int r = archive_unpack(s->arc, s->dest, lim, NULL, &e);
    assert_int_equal(r, -1);
    if (strncmp(e.msg, msg_prefix, strlen(msg_prefix)) != 0)
        fail_msg("got '%s', want '%s...'", e.msg, msg_prefix);
    assert_int_equal(e.code, CERR_INVALID_PARAMETER_VALUE);
    assert_nothing_outside(s);
}

static void test_too_many_entries(void **state)
{
    (void)state;
    scratch s;
    scratch_new(&s, "many.tar.gz");
    struct archive *a = writer(s.arc, "tar.gz");
    char name[32];
    for (int i = 0; i <= ARCHIVE_MAX_ENTRIES; i++) {
        snprintf(name, sizeof name, "d%03d/f%03d", i / 1000, i % 1000);
        member m = REG(name, NULL);
        write_member(a, &m);
    }
    archive_write_close(a);
    archive_write_free(a);
    expect_refused(&s, NULL, "archive member 'd100/f000': the archive has more than 100000 entries");
    rm_rf(s.base);
}

/* 4 MiB of zeros against a 1 MiB limit: stopped at the limit while writing. */
static void bomb(const char *fmt)
{
    scratch s;
    scratch_new(&s, "bomb");
    member m[] = {REG("ok", "fine"), {"big", AE_IFREG | 0644, "z", NULL, 0, 4u << 20}};
    write_archive(s.arc, fmt, m, 2);
    struct stat st;
    assert_int_equal(stat(s.arc, &st), 0);
    assert_true(st.st_size < 64 * 1024);
    archive_limits lim = archive_default_limits;
    lim.max_bytes = 1u << 20;
    expect_refused(&s, &lim, "archive member 'big': the archive unpacks to more than 1048576 bytes");
    char big[160];
    snprintf(big, sizeof big, "%s/big", s.dest);
    assert_int_not_equal(stat(big, &st), 0);     /* the partial member is removed */
    rm_rf(s.base);
}

static void test_bomb_tar_gz(void **state)
{
    (void)state;
    bomb("tar.gz");
}

static void test_bomb_zip(void **state)
{
    (void)state;
    bomb("zip");
}

static void test_garbage_and_truncated(void **state)
{
    (void)state;
    scratch s;
    scratch_new(&s, "x");
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 2654435761u >> 13);
    write_bytes(s.arc, junk, sizeof junk);
    expect_refused(&s, NULL, "archive: not a zip or tar archive (");
    write_bytes(s.arc, "", 0);
    expect_refused(&s, NULL, "archive: the archive is empty");
    /* A tar.gz cut in the middle of its only member. */
    member m[] = {{"data.bin", AE_IFREG | 0644, NULL, NULL, 0, 0}};
    static char rnd[256 * 1024];
    for (size_t i = 0; i < sizeof rnd; i++)
        rnd[i] = (char)((i * 2654435761u) >> 7 ^ i);
    m[0].data = NULL;
    struct archive *a = writer(s.arc, "tar.gz");
    struct archive_entry *ent = archive_entry_new();
    archive_entry_set_pathname(ent, "data.bin");
    archive_entry_set_mode(ent, AE_IFREG | 0644);
    archive_entry_set_size(ent, sizeof rnd);
    archive_write_header(a, ent);
    archive_write_data(a, rnd, sizeof rnd);
    archive_entry_free(ent);
    archive_write_close(a);
    archive_write_free(a);
    struct stat st;
    assert_int_equal(stat(s.arc, &st), 0);
    assert_int_equal(truncate(s.arc, st.st_size / 2), 0);
    expect_refused(&s, NULL, "archive member 'data.bin': damaged archive: ");
    (void)m;
    rm_rf(s.base);
}

/* ---- round trips ---- */
static void put(const char *root, const char *rel, const char *text, mode_t perm)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    write_bytes(p, text, strlen(text));
    assert_int_equal(chmod(p, perm), 0);
}

static void make_tree(const char *root)
{
    char p[512];
    static const char *const dirs[] = {"bin", "sub", "sub/deep", "empty", ".git", "sub/.git"};
    for (size_t i = 0; i < 6; i++) {
        snprintf(p, sizeof p, "%s/%s", root, dirs[i]);
        assert_int_equal(mkdir(p, 0755), 0);
    }
    snprintf(p, sizeof p, "%s/empty", root);
    chmod(p, 0750);
    put(root, "MLproject", "name: t\nentry_points:\n  main:\n    command: bash bin/run.sh\n", 0644);
    put(root, "bin/run.sh", "#!/bin/sh\necho hi\n", 0755);
    put(root, "sub/deep/secret.txt", "only me\n", 0600);
    put(root, "donn\xc3\xa9" "es.csv", "a,b\n", 0644);   /* a UTF-8 name */
    put(root, ".git/HEAD", "ref: refs/heads/main\n", 0644);
    put(root, "sub/.git/config", "[core]\n", 0644);
    static char big[300000];
    for (size_t i = 0; i < sizeof big - 1; i++)
        big[i] = (char)('a' + (i * 7919 % 26));
    put(root, "sub/deep/data.txt", big, 0644);
    snprintf(p, sizeof p, "%s/link", root);
    assert_int_equal(symlink("sub/deep/data.txt", p), 0);
    snprintf(p, sizeof p, "%s/sub/dangling", root);
    assert_int_equal(symlink("not-yet", p), 0);
}

/* Compares two trees entry by entry (a's .git left out, as packing does). */
static void compare_trees(const char *a, const char *b, int *count)
{
    struct dirent **names;
    int n = scandir(a, &names, NULL, alphasort);
    assert_true(n >= 2);
    int nb = 0;
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        if (strcmp(nm, ".") && strcmp(nm, "..") && strcmp(nm, ".git")) {
            char pa[1024], pb[1024];
            snprintf(pa, sizeof pa, "%s/%s", a, nm);
            snprintf(pb, sizeof pb, "%s/%s", b, nm);
            struct stat sa, sb;
            assert_int_equal(lstat(pa, &sa), 0);
            if (lstat(pb, &sb) != 0)
                fail_msg("%s missing after the round trip", pb);
            assert_int_equal(sa.st_mode, sb.st_mode);
            if (S_ISDIR(sa.st_mode)) {
                compare_trees(pa, pb, count);
            } else if (S_ISLNK(sa.st_mode)) {
                char ta[512] = "", tb[512] = "";
                assert_true(readlink(pa, ta, sizeof ta - 1) > 0 && readlink(pb, tb, sizeof tb - 1) > 0);
                assert_string_equal(ta, tb);
            } else {
                assert_int_equal(sa.st_size, sb.st_size);
                char cmd[2200];
                snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", pa, pb);
                assert_int_equal(system(cmd), 0);
            }
            nb++;
            (*count)++;
        }
        free(names[i]);
    }
    free(names);
    n = scandir(b, &names, NULL, alphasort);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    assert_int_equal(n - 2, nb);   /* nothing more in b */
}

/* Rewrites the packed tar.gz as a zip, member by member. */
static void tar_to_zip(const char *tgz, const char *zip)
{
    struct archive *in = archive_read_new();
    archive_read_support_filter_gzip(in);
    archive_read_support_format_tar(in);
    assert_int_equal(archive_read_open_filename(in, tgz, 65536), ARCHIVE_OK);
    struct archive *out = writer(zip, "zip");
    struct archive_entry *ent;
    while (archive_read_next_header(in, &ent) == ARCHIVE_OK) {
        assert_true(archive_write_header(out, ent) >= ARCHIVE_WARN);
        const void *buf;
        size_t size;
        la_int64_t off;
        while (archive_read_data_block(in, &buf, &size, &off) == ARCHIVE_OK)
            archive_write_data(out, buf, size);
    }
    archive_read_free(in);
    assert_int_equal(archive_write_close(out), ARCHIVE_OK);
    archive_write_free(out);
}

static void round_trip(int zip)
{
    scratch s;
    scratch_new(&s, "p.tar.gz");
    char src[128], zpath[160];
    snprintf(src, sizeof src, "%s/src", s.in);
    assert_int_equal(mkdir(src, 0755), 0);
    make_tree(src);
    cerr e;
    if (archive_pack_dir(src, s.arc, &e) != 0)
        fail_msg("pack: %s", e.msg);
    const char *arc = s.arc;
    if (zip) {
        snprintf(zpath, sizeof zpath, "%s/p.zip", s.in);
        tar_to_zip(s.arc, zpath);
        arc = zpath;
    }
    archive_info info;
    if (archive_unpack(arc, s.dest, NULL, &info, &e) != 0)
        fail_msg("unpack: %s", e.msg);
    int count = 0;
    compare_trees(src, s.dest, &count);
    assert_int_equal(count, 11);
    assert_int_equal(info.entries, 11);
    assert_int_equal(info.bytes, 300000 - 1 + 8 + 18 + 59 + 4);
    char *real = realpath(s.dest, NULL);
    assert_string_equal(info.project_root, real);   /* files at the top: dest itself */
    free(real);
    archive_info_free(&info);
    rm_rf(s.base);
}

static void test_round_trip_tar_gz(void **state)
{
    (void)state;
    round_trip(0);
}

static void test_round_trip_zip(void **state)
{
    (void)state;
    round_trip(1);
}

/* The output file inside the packed directory is left out. */
static void test_pack_skips_itself(void **state)
{
    (void)state;
    scratch s;
    scratch_new(&s, "unused");
    char out[160];
    snprintf(out, sizeof out, "%s/self.tar.gz", s.in);
    put(s.in, "a.py", "print(1)\n", 0644);
    cerr e;
    assert_int_equal(archive_pack_dir(s.in, out, &e), 0);
    assert_int_equal(archive_unpack(out, s.dest, NULL, NULL, &e), 0);
    char p[200];
    snprintf(p, sizeof p, "%s/self.tar.gz", s.dest);
    assert_int_not_equal(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/a.py", s.dest);
    assert_int_equal(access(p, F_OK), 0);
    assert_int_equal(archive_pack_dir("/nonexistent-dir", out, &e), -1);
    assert_string_equal(e.msg, "cannot pack /nonexistent-dir: No such file or directory");
    rm_rf(s.base);
}

/* ---- the project root ---- */
static void expect_root(const char *fmt, const member *m, size_t n, const char *sub)
{
    scratch s;
    scratch_new(&s, "gh");
    write_archive(s.arc, fmt, m, n);
    archive_info info;
    cerr e;
    if (archive_unpack(s.arc, s.dest, NULL, &info, &e) != 0)
        fail_msg("%s", e.msg);
    char *real = realpath(s.dest, NULL);
    sbuf want = SBUF_INIT;
    sbuf_printf(&want, "%s%s", real, sub);
    assert_string_equal(info.project_root, want.data);
    sbuf_free(&want);
    free(real);
    archive_info_free(&info);
    rm_rf(s.base);
}

/* A zip with UTF-8 names (flag bit 11), as Python and GitHub write them: in
 * the C locale libarchive has no locale form of the name. */
static void test_utf8_zip(void **state)
{
    (void)state;
    static const unsigned char zip[] = {
#include "utf8_zip.h"
    };
    scratch s;
    scratch_new(&s, "u.zip");
    write_bytes(s.arc, zip, sizeof zip);
    archive_info info;
    cerr e;
    if (archive_unpack(s.arc, s.dest, NULL, &info, &e) != 0)
        fail_msg("%s", e.msg);
    char p[200];
    snprintf(p, sizeof p, "%s/proj/donn\xc3\xa9" "es/\xc3\xa9t\xc3\xa9.csv", s.dest);
    assert_int_equal(access(p, F_OK), 0);
    assert_string_equal(info.project_root + strlen(info.project_root) - 5, "/proj");
    archive_info_free(&info);
    rm_rf(s.base);
}

static void test_project_root(void **state)
{
    (void)state;
    member gh[] = {DIRM("repo-main/"), REG("repo-main/MLproject", "name: x\n"), DIRM("repo-main/src"),
                   REG("repo-main/src/train.py", "print(1)\n")};
    expect_root("zip", gh, 4, "/repo-main");
    expect_root("tar.xz", gh + 1, 3, "/repo-main");            /* no entry for the folder itself */
    member nomlp[] = {DIRM("repo-main/"), REG("repo-main/train.py", "print(1)\n")};
    expect_root("tar.bz2", nomlp, 2, "");
    member mixed[] = {REG("repo-main/MLproject", "name: x\n"), REG("README", "hi\n")};
    expect_root("tar", mixed, 2, "");
    member two[] = {REG("a/MLproject", "name: x\n"), REG("b/MLproject", "name: y\n")};
    expect_root("tar", two, 2, "");
    member dotted[] = {DIRM("./"), REG("./p/MLproject", "name: x\n")};
    expect_root("tar.gz", dotted, 2, "/p");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile),           cmocka_unit_test(test_too_many_entries),
        cmocka_unit_test(test_bomb_tar_gz),       cmocka_unit_test(test_bomb_zip),
        cmocka_unit_test(test_garbage_and_truncated), cmocka_unit_test(test_round_trip_tar_gz),
        cmocka_unit_test(test_round_trip_zip),    cmocka_unit_test(test_pack_skips_itself),
        cmocka_unit_test(test_project_root),      cmocka_unit_test(test_utf8_zip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
