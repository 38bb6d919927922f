/* archive_pack.c - a project directory written as a tar.gz (archive.h), for
 * `cairn submit`: a depth-first walk in name order (so the same tree gives
 * the same member order), relative names, regular files streamed, symbolic
 * links stored as links, `.git` and the output file itself left out. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "archive.h"
#include "../util/sbuf.h"

#define AP_BLOCK 65536

typedef struct {
    struct archive *out;
    dev_t out_dev;
    ino_t out_ino;
} packer;

static int ap_fail(packer *p, const char *what, const char *path, cerr *e)
{
    return cerr_set(e, CERR_INTERNAL_ERROR, "cannot pack %s: %s", path,
                    what ? what : archive_error_string(p->out));
}

/* Writes at most size bytes (the size in the member's header): a file that
 * grows while it is packed is cut there, one that shrinks is padded. */
static int ap_file_data(packer *p, const char *path, off_t size, cerr *e)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return ap_fail(p, strerror(errno), path, e);
    char buf[AP_BLOCK];
    int r = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = ap_fail(p, strerror(errno), path, e);
            break;
        }
        if (n == 0 || size == 0)
            break;
        if (n > size)
            n = (ssize_t)size;
        size -= n;
        if (archive_write_data(p->out, buf, (size_t)n) != n) {
            r = ap_fail(p, NULL, path, e);
            break;
        }
    }
    close(fd);
    return r;
}

/* One member: rel is its name in the archive, path its place on disk. */
static int ap_member(packer *p, const char *path, const char *rel, const struct stat *st, cerr *e)
{
    struct archive_entry *ent = archive_entry_new();
    archive_entry_copy_pathname(ent, rel);
    archive_entry_copy_stat(ent, st);
    archive_entry_set_uid(ent, 0);
    archive_entry_set_gid(ent, 0);
    archive_entry_set_perm(ent, st->st_mode & 0777);
    if (S_ISLNK(st->st_mode)) {
        char target[4096];
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n < 0) {
            archive_entry_free(ent);
            return ap_fail(p, strerror(errno), path, e);
        }
        target[n] = '\0';
        archive_entry_copy_symlink(ent, target);
        archive_entry_set_size(ent, 0);
    } else if (S_ISDIR(st->st_mode)) {
        archive_entry_set_size(ent, 0);
    }
    int r = archive_write_header(p->out, ent) < ARCHIVE_WARN ? ap_fail(p, NULL, path, e) : 0;
    archive_entry_free(ent);
    if (r == 0 && S_ISREG(st->st_mode))
        r = ap_file_data(p, path, st->st_size, e);
    return r;
}

static int ap_walk(packer *p, const char *dir, const char *rel, cerr *e);

static int ap_entry(packer *p, const char *dir, const char *rel, const char *name, cerr *e)
{
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strcmp(name, ".git") == 0)
        return 0;
    sbuf path = SBUF_INIT, sub = SBUF_INIT;
    sbuf_printf(&path, "%s/%s", dir, name);
    sbuf_printf(&sub, "%s%s%s", rel, *rel ? "/" : "", name);
    struct stat st;
    int r = 0;
    if (lstat(path.data, &st) < 0)
        r = ap_fail(p, strerror(errno), path.data, e);
    else if (st.st_dev == p->out_dev && st.st_ino == p->out_ino)
        r = 0;  /* the archive being written */
    else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
        r = ap_member(p, path.data, sub.data, &st, e);
    else if (S_ISDIR(st.st_mode) && (r = ap_member(p, path.data, sub.data, &st, e)) == 0)
        r = ap_walk(p, path.data, sub.data, e);
    sbuf_free(&path);
    sbuf_free(&sub);
    return r;
}

static int ap_walk(packer *p, const char *dir, const char *rel, cerr *e)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0)
        return ap_fail(p, strerror(errno), dir, e);
    int r = 0;
    for (int i = 0; i < n; i++) {
        if (r == 0)
            r = ap_entry(p, dir, rel, names[i]->d_name, e);
        free(names[i]);
    }
    free(names);
    return r;
}

int archive_pack_dir(const char *dir, const char *out_path, cerr *e)
{
    struct stat st;
    if (stat(dir, &st) < 0)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "cannot pack %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "cannot pack %s: not a directory", dir);
    packer p = {archive_write_new(), 0, 0};
    if (p.out == NULL)
        return cerr_set(e, CERR_INTERNAL_ERROR, "archive: out of memory");
    archive_write_set_format_pax_restricted(p.out);
    archive_write_add_filter_gzip(p.out);
    int r = 0;
    if (archive_write_open_filename(p.out, out_path) != ARCHIVE_OK)
        r = cerr_set(e, CERR_INTERNAL_ERROR, "cannot write %s: %s", out_path, archive_error_string(p.out));
    else if (stat(out_path, &st) == 0) {
        p.out_dev = st.st_dev;
        p.out_ino = st.st_ino;
    }
    if (r == 0)
        r = ap_walk(&p, dir, "", e);
    if (archive_write_close(p.out) != ARCHIVE_OK && r == 0)
        r = cerr_set(e, CERR_INTERNAL_ERROR, "cannot write %s: %s", out_path, archive_error_string(p.out));
    archive_write_free(p.out);
    return r;
}
