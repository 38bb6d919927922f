/* local.c - artifacts as files below a root folder.
 *
 * Paths are resolved with path_resolve_under(), so nothing outside the
 * root is ever read, written or removed, through a symbolic link or not. Uploads go to ARTIFACTS_TMP_PREFIX<random> in the target folder
 * (same file system, so rename(2) is atomic), are fsync'ed, renamed into
 * place, and the folder is fsync'ed so the new name survives a crash. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/misc.h"
#include "../util/path.h"
#include "../util/sbuf.h"
#include "listing.h"

/* Temporary upload files start with this; listings hide them. */
#define ARTIFACTS_TMP_PREFIX ".cairn-tmp-"

typedef struct local_store {
    artifacts_store base;
    char *root; /* as given; resolved (and created) at each use */
} local_store;

typedef struct artifacts_upload {
    artifacts_writer base;
    int fd;       /* the temporary file */
    int dirfd;    /* its folder */
    char *tmp;    /* temporary name in dirfd */
    char *name;   /* final name in dirfd */
    char *rel;    /* for messages */
} artifacts_upload;

typedef struct local_reader {
    artifacts_reader base;
    int fd;
    uint64_t left; /* bytes of the range still to read */
} local_reader;

static const artifacts_ops local_ops;

/* Splits the target of a write or delete into its folder and last name.
 * The whole path is resolved first, so a path that escapes the root
 * anywhere, a symbolic link at its end included, is refused. follow:
 * act on what a final link points to (a write, as MLflow's copy follows
 * links); otherwise on the link itself (a delete removes the link). */
static int artifacts_split(const char *root, const char *rel, bool follow, sbuf *dir, sbuf *name,
                           cerr *e)
{
    sbuf norm = SBUF_INIT, full = SBUF_INIT, real_root = SBUF_INIT;
    int rc = path_normalize_rel(rel, &norm, e);
    if (rc == 0 && norm.len == 0)
        rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid path");
    if (rc == 0)
        rc = path_resolve_under(root, norm.data, &full, e);
    if (rc == 0)
        rc = path_resolve_under(root, "", &real_root, e);
    /* A link to the root itself would make the root's parent the folder. */
    if (rc == 0 && follow && strcmp(full.data, real_root.data) == 0)
        rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid path");
    if (rc == 0) {
        sbuf *path = follow ? &full : &norm;
        const char *base = path_basename(path->data);
        sbuf_reset(name);
        sbuf_puts(name, base);
        path->data[base > path->data ? base - path->data - 1 : 0] = '\0';
        if (follow) {
            sbuf_reset(dir);
            sbuf_puts(dir, full.data[0] ? full.data : "/");
        } else {
            rc = path_resolve_under(root, norm.data, dir, e);
        }
    }
    sbuf_free(&norm);
    sbuf_free(&full);
    sbuf_free(&real_root);
    return rc;
}

/* ---- listing ---- */

/* Stats one folder entry. A link is followed only when it stays inside the
 * root; otherwise the entry is hidden (false). */
static bool artifacts_entry_stat(const char *root, const char *rel, int dfd, const char *name,
                                 struct stat *st)
{
    if (fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
        return false;
    if (!S_ISLNK(st->st_mode))
        return true;
    sbuf sub = SBUF_INIT, abs = SBUF_INIT;
    sbuf_printf(&sub, "%s%s%s", rel, rel[0] ? "/" : "", name);
    bool ok = path_resolve_under(root, sub.data, &abs, NULL) == 0 && stat(abs.data, st) == 0;
    sbuf_free(&sub);
    sbuf_free(&abs);
    return ok;
}

static int artifacts_local_list(const char *root, const char *rel, const char *prefix, json_t **out,
                         cerr *e)
{
    *out = NULL;
    sbuf norm = SBUF_INIT, abs = SBUF_INIT;
    if (path_normalize_rel(rel, &norm, e) < 0 || path_resolve_under(root, rel, &abs, e) < 0) {
        sbuf_free(&norm);
        sbuf_free(&abs);
        return -1;
    }
    DIR *d = opendir(abs.data);
    sbuf_free(&abs);
    if (d == NULL) {
        int err = errno;
        sbuf_free(&norm);
        if (err == ENOENT || err == ENOTDIR) {
            *out = json_array();
            return 0;
        }
        return cerr_set(e, CERR_INTERNAL_ERROR, "Cannot list artifacts: %s", strerror(err));
    }
    artifacts_listing l = ARTIFACTS_LISTING_INIT;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
            strncmp(name, ARTIFACTS_TMP_PREFIX, strlen(ARTIFACTS_TMP_PREFIX)) == 0)
            continue;
        struct stat st;
        if (!artifacts_entry_stat(root, norm.data, dirfd(d), name, &st))
            continue;
        artifacts_listing_add(&l, name, strlen(name), S_ISDIR(st.st_mode), (int64_t)st.st_size);
    }
    closedir(d);
    sbuf_free(&norm);
    *out = artifacts_listing_json(&l, prefix);
    artifacts_listing_free(&l);
    return 0;
}

/* ---- reading ---- */

static int artifacts_local_open(const char *root, const char *rel, int *fd, uint64_t *size, cerr *e)
{
    *fd = -1;
    sbuf abs = SBUF_INIT;
    if (path_resolve_under(root, rel, &abs, e) < 0) {
        sbuf_free(&abs);
        return -1;
    }
    /* O_NOFOLLOW: the resolved path has no links left unless one was
     * planted since; O_NONBLOCK: a FIFO must not hang the worker. */
    int f = open(abs.data, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    int err = errno;
    sbuf_free(&abs);
    if (f < 0) {
        if (err == ENOENT || err == ENOTDIR)
            return cerr_set(e, CERR_RESOURCE_DOES_NOT_EXIST, "No such file or directory: '%s'",
                            rel);
        if (err == ELOOP)
            return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid path");
        return cerr_set(e, CERR_INTERNAL_ERROR, "Cannot open artifact '%s': %s", rel,
                        strerror(err));
    }
    struct stat st;
    if (fstat(f, &st) < 0)
        st.st_mode = 0;
    if (!S_ISREG(st.st_mode)) {
        bool dir = S_ISDIR(st.st_mode);
        close(f);
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Artifact '%s' is %s", rel,
                        dir ? "a directory" : "not a regular file");
    }
    *fd = f;
    *size = (uint64_t)st.st_size;
    return 0;
}

/* ---- uploading ---- */

/* mkdir -p of an absolute path whose existing part is already checked. */
static int artifacts_mkdirs(sbuf *dir, const char *rel, cerr *e)
{
    for (char *p = dir->data + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        int rc = mkdir(dir->data, 0777);
        int err = errno;
        *p = saved;
        if (rc < 0 && err != EEXIST) {
            if (err == ENOTDIR)
                return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                                "Cannot upload '%s': a parent path is a file", rel);
            return cerr_set(e, CERR_INTERNAL_ERROR, "Cannot create folder for '%s': %s", rel,
                            strerror(err));
        }
        if (saved == '\0')
            return 0;
    }
}

static void artifacts_upload_free(artifacts_upload *u)
{
    if (u->fd >= 0)
        close(u->fd);
    if (u->dirfd >= 0)
        close(u->dirfd);
    free(u->tmp);
    free(u->name);
    free(u->rel);
    free(u);
}

static char *artifacts_strdup(const char *s)
{
    char *d = strdup(s);
    if (d == NULL)
        abort();
    return d;
}

/* Creates the temporary file in u->dirfd. */
static int artifacts_upload_tmp(artifacts_upload *u, cerr *e)
{
    for (int tries = 0; tries < 8; tries++) {
        char id[33];
        ids_hex32(id);
        sbuf t = SBUF_INIT;
        sbuf_printf(&t, "%s%.16s", ARTIFACTS_TMP_PREFIX, id);
        u->fd = openat(u->dirfd, t.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (u->fd >= 0) {
            u->tmp = sbuf_detach(&t);
            return 0;
        }
        sbuf_free(&t);
        if (errno != EEXIST)
            break;
    }
    return cerr_set(e, CERR_INTERNAL_ERROR, "Cannot create a file for '%s': %s", u->rel,
                    strerror(errno));
}

static int artifacts_upload_begin(const char *root, const char *rel, artifacts_upload **out, cerr *e)
{
    *out = NULL;
    sbuf dir = SBUF_INIT, name = SBUF_INIT;
    artifacts_upload *u = calloc(1, sizeof *u);
    if (u == NULL)
        abort();
    u->base.ops = &local_ops;
    u->fd = u->dirfd = -1;
    u->rel = artifacts_strdup(rel);
    int rc = artifacts_split(root, rel, true, &dir, &name, e);
    if (rc == 0)
        rc = artifacts_mkdirs(&dir, rel, e);
    if (rc == 0) {
        u->dirfd = open(dir.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (u->dirfd < 0)
            rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Cannot upload '%s': %s", rel,
                          strerror(errno));
    }
    struct stat st;
    if (rc == 0 && fstatat(u->dirfd, name.data, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISDIR(st.st_mode))
        rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                      "Cannot upload '%s': a directory exists at that path", rel);
    if (rc == 0) {
        u->name = sbuf_detach(&name);
        rc = artifacts_upload_tmp(u, e);
    }
    sbuf_free(&dir);
    sbuf_free(&name);
    if (rc < 0) {
        artifacts_upload_free(u);
        return -1;
    }
    *out = u;
    return 0;
}

static int artifacts_upload_write(artifacts_upload *u, const void *data, size_t n, cerr *e)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(u->fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return cerr_set(e, CERR_INTERNAL_ERROR, "Cannot write artifact '%s': %s", u->rel,
                            strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int artifacts_upload_commit(artifacts_upload *u, cerr *e)
{
    int rc = 0;
    if (fsync(u->fd) < 0 || close(u->fd) < 0)
        rc = cerr_set(e, CERR_INTERNAL_ERROR, "Cannot save artifact '%s': %s", u->rel,
                      strerror(errno));
    u->fd = -1;
    if (rc == 0 && renameat(u->dirfd, u->tmp, u->dirfd, u->name) < 0)
        rc = cerr_set(e, errno == EISDIR ? CERR_INVALID_PARAMETER_VALUE : CERR_INTERNAL_ERROR,
                      "Cannot save artifact '%s': %s", u->rel, strerror(errno));
    if (rc < 0)
        unlinkat(u->dirfd, u->tmp, 0);
    else
        fsync(u->dirfd); /* best effort: some file systems refuse it on folders */
    artifacts_upload_free(u);
    return rc;
}

static void artifacts_upload_abort(artifacts_upload *u)
{
    if (u == NULL)
        return;
    if (u->tmp != NULL)
        unlinkat(u->dirfd, u->tmp, 0);
    artifacts_upload_free(u);
}

/* ---- deleting ---- */

static int artifacts_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int rc = (flag == FTW_DP) ? rmdir(path) : unlink(path);
    return (rc < 0 && errno != ENOENT) ? errno : 0;
}

static int artifacts_local_delete(const char *root, const char *rel, cerr *e)
{
    sbuf dir = SBUF_INIT, name = SBUF_INIT;
    int rc = artifacts_split(root, rel, false, &dir, &name, e);
    if (rc == 0) {
        sbuf_printf(&dir, "/%s", name.data);
        struct stat st;
        int err = 0;
        if (lstat(dir.data, &st) < 0)
            err = (errno == ENOENT || errno == ENOTDIR) ? 0 : errno;
        else if (S_ISDIR(st.st_mode)) {
            int r = nftw(dir.data, artifacts_rm_one, 16, FTW_DEPTH | FTW_PHYS);
            err = r == -1 ? errno : r;
        }
        else if (unlink(dir.data) < 0)
            err = errno == ENOENT ? 0 : errno;
        if (err != 0)
            rc = cerr_set(e, CERR_INTERNAL_ERROR, "Cannot delete artifact '%s': %s", rel,
                          strerror(err));
    }
    sbuf_free(&dir);
    sbuf_free(&name);
    return rc;
}

/* ---- the artifacts_ops of a local folder ---- */

static bool local_root_exists(const local_store *s)
{
    struct stat st;
    return stat(s->root, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A missing root is made on the first write, as MLflow's local repository
 * does; reading or listing it finds nothing. */
static int local_check(artifacts_store *base, cerr *e)
{
    local_store *s = (local_store *)base;
    struct stat st;
    if (stat(s->root, &st) == 0 && !S_ISDIR(st.st_mode))
        return cerr_set(e, CERR_INTERNAL_ERROR,
                        "artifacts destination '%s' is not a folder", s->root);
    if (path_mkdirs(s->root, 0777, e) < 0)
        return -1;
    /* Can a file be made there? access(2) says yes to root on a read-only
     * mount, so try. */
    artifacts_upload *u = NULL;
    if (artifacts_upload_begin(s->root, ".cairn-check", &u, e) < 0)
        return cerr_set(e, CERR_INTERNAL_ERROR, "artifacts destination '%s' cannot be written: %s",
                        s->root, e->msg);
    artifacts_upload_abort(u);
    return 0;
}

static int local_list(artifacts_store *base, const char *rel, const char *prefix, json_t **out,
                      cerr *e)
{
    local_store *s = (local_store *)base;
    if (!local_root_exists(s)) {
        *out = json_array();
        return 0;
    }
    return artifacts_local_list(s->root, rel, prefix, out, e);
}

static int local_remove(artifacts_store *base, const char *rel, cerr *e)
{
    local_store *s = (local_store *)base;
    if (!local_root_exists(s))
        return rel[0] ? 0 : cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid path");
    return artifacts_local_delete(s->root, rel, e);
}

static int local_writer_open(artifacts_store *base, const char *rel, int64_t size,
                             artifacts_writer **out, cerr *e)
{
    (void)size; /* a file needs no size up front; store.c checks the count */
    local_store *s = (local_store *)base;
    artifacts_upload *u = NULL;
    if (path_mkdirs(s->root, 0777, e) < 0 || artifacts_upload_begin(s->root, rel, &u, e) < 0)
        return -1;
    *out = &u->base;
    return 0;
}

static ssize_t local_write(artifacts_writer *w, const void *data, size_t n, cerr *e)
{
    return artifacts_upload_write((artifacts_upload *)w, data, n, e) < 0 ? -1 : (ssize_t)n;
}

static int local_commit(artifacts_writer *w, cerr *e)
{
    return artifacts_upload_commit((artifacts_upload *)w, e);
}

static void local_abort(artifacts_writer *w) { artifacts_upload_abort((artifacts_upload *)w); }

static int local_reader_open(artifacts_store *base, const char *rel, uint64_t offset,
                             uint64_t length, artifacts_reader **out, uint64_t *size, cerr *e)
{
    local_store *s = (local_store *)base;
    int fd = -1;
    if (!local_root_exists(s))
        return cerr_set(e, CERR_RESOURCE_DOES_NOT_EXIST, "No such file or directory: '%s'", rel);
    if (artifacts_local_open(s->root, rel, &fd, size, e) < 0)
        return -1;
    if (offset > *size || (offset > 0 && lseek(fd, (off_t)offset, SEEK_SET) < 0)) {
        close(fd);
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Range starts past the end of '%s'", rel);
    }
    local_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        abort();
    r->base.ops = &local_ops;
    r->fd = fd;
    r->left = *size - offset < length ? *size - offset : length;
    *out = &r->base;
    return 0;
}

static ssize_t local_read(artifacts_reader *base, void *buf, size_t n, cerr *e)
{
    local_reader *r = (local_reader *)base;
    if (n > r->left)
        n = (size_t)r->left;
    if (n == 0)
        return 0;
    ssize_t k;
    do
        k = read(r->fd, buf, n);
    while (k < 0 && errno == EINTR);
    if (k < 0)
        return cerr_set(e, CERR_INTERNAL_ERROR, "Cannot read artifact: %s", strerror(errno));
    r->left -= (uint64_t)k;
    return k;
}

static int local_reader_fd(artifacts_reader *r) { return ((local_reader *)r)->fd; }

static void local_reader_close(artifacts_reader *base)
{
    local_reader *r = (local_reader *)base;
    if (r->fd >= 0)
        close(r->fd);
    free(r);
}

static void local_free(artifacts_store *base)
{
    local_store *s = (local_store *)base;
    free(s->base.uri);
    free(s->root);
    free(s);
}

static const artifacts_ops local_ops = {
    .name = "local",
    .check = local_check,
    .list = local_list,
    .remove = local_remove,
    .writer_open = local_writer_open,
    .write = local_write,
    .commit = local_commit,
    .abort = local_abort,
    .reader_open = local_reader_open,
    .read = local_read,
    .reader_fd = local_reader_fd,
    .reader_close = local_reader_close,
    .free = local_free,
};

int artifacts_local_open_store(const char *uri, const char *root, artifacts_store **out, cerr *e)
{
    (void)e;
    local_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        abort();
    s->base.ops = &local_ops;
    s->base.uri = artifacts_strdup(uri);
    s->root = artifacts_strdup(root);
    *out = &s->base;
    return 0;
}
