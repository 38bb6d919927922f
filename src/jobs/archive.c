/* archive.c - unpacking an uploaded project archive safely (archive.h).
 *
 * Every member is checked here before libarchive's disk writer sees it (name,
 * type, mode, link target, no symbolic link on its path), then written below
 * realpath(dest) with ARCHIVE_EXTRACT_SECURE_SYMLINKS | SECURE_NODOTDOT as a
 * second line. ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS cannot be set: the name
 * handed to the writer is the absolute path dest/member (a process-wide chdir
 * is no option in a threaded server); the rule itself is applied to the
 * member's name before it is joined. Bytes are counted as the data blocks
 * arrive, so a member that inflates past the limit stops the extraction at
 * the limit whatever its header says. Symbolic links are checked again once
 * everything is written, with realpath, since a chain of links can leave
 * dest where each link alone does not. */
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "archive.h"
#include "../util/sbuf.h"

static int au_unpack(const char *archive_path, const char *dest_dir, const archive_limits *lim,
                     archive_info *info, cerr *e);

const archive_limits archive_default_limits = {ARCHIVE_MAX_ENTRIES, ARCHIVE_MAX_BYTES, ARCHIVE_MAX_PATH};

#define AU_BLOCK 65536
#define AU_NAME_SHOWN 200 /* bytes of a member's name quoted in a message */

typedef struct {
    const archive_limits *lim;
    char *root;        /* realpath(dest) */
    struct archive *in, *out;
    uint64_t headers, entries, bytes;
    char *top;         /* the first component common to every member so far */
    int mixed;         /* members under different tops, or a file at the top */
    sbuf links;        /* names of the symbolic links written, NUL-separated */
    size_t nlinks;
    const char *name;  /* the member being extracted (quoted in errors) */
    sbuf full;         /* its path on disk */
} unpacker;

/* Names as the archive has them: the locale's form, else the UTF-8 one (a
 * zip's UTF-8 names have no form in the C locale of a server). */
static const char *au_pathname(struct archive_entry *ent)
{
    const char *p = archive_entry_pathname(ent);
    return p ? p : archive_entry_pathname_utf8(ent);
}

static const char *au_target(struct archive_entry *ent)
{
    const char *t = archive_entry_symlink(ent);
    return t ? t : archive_entry_symlink_utf8(ent);
}

static int au_is_hardlink(struct archive_entry *ent)
{
    return archive_entry_hardlink(ent) || archive_entry_hardlink_utf8(ent) || archive_entry_hardlink_w(ent);
}

static const char *au_lib_error(struct archive *a)
{
    const char *s = archive_error_string(a);
    return s ? s : "unknown error";
}

/* The member's name for a message: at most AU_NAME_SHOWN bytes, control
 * characters as '?'. */
static const char *au_shown(const char *name, char *buf, size_t cap)
{
    size_t i = 0;
    for (; name && name[i] && i + 1 < cap && i < AU_NAME_SHOWN; i++)
        buf[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
    buf[i] = '\0';
    return buf;
}

static int au_refuse(const char *name, cerr *e, const char *rule)
{
    char shown[AU_NAME_SHOWN + 1];
    return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "archive member '%s': %s",
                    au_shown(name, shown, sizeof shown), rule);
}

/* Writes name with empty and "." components dropped. Returns 1 for the
 * archive's root itself ("./"), 0 for a member, -1 refused. */
static int au_clean_name(const char *raw, const archive_limits *lim, sbuf *out, cerr *e)
{
    if (raw == NULL)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "archive member with an unreadable name");
    if (strlen(raw) > lim->max_path) {
        char rule[96];
        snprintf(rule, sizeof rule, "name longer than %zu bytes", lim->max_path);
        return au_refuse(raw, e, rule);
    }
    if (raw[0] == '/')
        return au_refuse(raw, e, "absolute path");
    sbuf_reset(out);
    for (const char *p = raw; *p;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return au_refuse(raw, e, "path leaves the project");
        if (n > 0 && !(n == 1 && p[0] == '.')) {
            if (out->len)
                sbuf_putc(out, '/');
            sbuf_append(out, p, n);
        }
        p += n + (slash != NULL);
    }
    return out->len == 0 ? 1 : 0;
}

/* A link target, read from the link's directory, must stay below the root. */
static int au_check_target(const char *name, const char *target, cerr *e)
{
    if (target == NULL || *target == '\0')
        return au_refuse(name, e, "symbolic link without a target");
    if (target[0] == '/')
        return au_refuse(name, e, "symbolic link target is an absolute path");
    long depth = 0;
    for (const char *p = name; *p; p++)
        depth += *p == '/';
    for (const char *p = target; *p;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            depth--;
        else if (n > 0 && !(n == 1 && p[0] == '.'))
            depth++;
        if (depth < 0)
            return au_refuse(name, e, "symbolic link target leaves the project");
        p += n + (slash != NULL);
    }
    return 0;
}

static int au_check_type(struct archive_entry *ent, const char *name, cerr *e)
{
    if (au_is_hardlink(ent))
        return au_refuse(name, e, "hard links are not accepted");
    mode_t mode = archive_entry_mode(ent);
    switch (archive_entry_filetype(ent)) {
    case AE_IFREG:
    case AE_IFDIR:
        break;
    case AE_IFLNK:
        if (au_check_target(name, au_target(ent), e) < 0)
            return -1;
        break;
    case AE_IFCHR:
    case AE_IFBLK:
        return au_refuse(name, e, "device nodes are not accepted");
    case AE_IFIFO:
        return au_refuse(name, e, "FIFOs are not accepted");
    case AE_IFSOCK:
        return au_refuse(name, e, "sockets are not accepted");
    default:
        return au_refuse(name, e, "not a file, directory or symbolic link");
    }
    if (mode & (S_ISUID | S_ISGID))
        return au_refuse(name, e, "setuid and setgid bits are not accepted");
    return 0;
}

/* No component of the member's path (itself included) may be a symbolic link
 * already on disk: writing there would land wherever the link points. */
static int au_check_path_on_disk(unpacker *u, const char *name, cerr *e)
{
    if (u->nlinks == 0)
        return 0;
    sbuf p = SBUF_INIT;
    int r = 0;
    for (const char *s = name;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        sbuf_reset(&p);
        sbuf_printf(&p, "%s/%.*s", u->root, (int)(s - name), name);
        struct stat st;
        if (lstat(p.data, &st) == 0 && S_ISLNK(st.st_mode)) {
            r = au_refuse(name, e, "path passes through a symbolic link");
            break;
        }
        if (*s == '\0')
            break;
    }
    sbuf_free(&p);
    return r;
}

static void au_note_top(unpacker *u, const char *name, int is_dir)
{
    const char *slash = strchr(name, '/');
    size_t n = slash ? (size_t)(slash - name) : strlen(name);
    if (!slash && !is_dir)
        u->mixed = 1;
    if (u->mixed)
        return;
    if (u->top == NULL) {
        u->top = strndup(name, n);
        if (u->top == NULL)
            u->mixed = 1;
    } else if (strlen(u->top) != n || strncmp(u->top, name, n) != 0) {
        u->mixed = 1;
    }
}

static int au_count(unpacker *u, uint64_t more, cerr *e)
{
    u->bytes += more;
    if (u->bytes <= u->lim->max_bytes)
        return 0;
    char rule[96];
    snprintf(rule, sizeof rule, "the archive unpacks to more than %llu bytes",
             (unsigned long long)u->lim->max_bytes);
    return au_refuse(u->name, e, rule);
}

/* Copies the data blocks, counting the bytes as they come (holes included). */
static int au_copy_data(unpacker *u, struct archive_entry *ent, cerr *e)
{
    const void *buf;
    size_t size;
    la_int64_t off;
    uint64_t end = 0;
    for (;;) {
        int r = archive_read_data_block(u->in, &buf, &size, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN || off < 0) {
            char rule[CERR_MSG_MAX / 2];
            snprintf(rule, sizeof rule, "damaged archive: %s", au_lib_error(u->in));
            return au_refuse(u->name, e, rule);
        }
        uint64_t blk_end = (uint64_t)off + size;
        if (blk_end > end) {
            if (au_count(u, blk_end - end, e) < 0)
                return -1;
            end = blk_end;
        }
        if (archive_write_data_block(u->out, buf, size, off) < ARCHIVE_WARN) {
            char rule[CERR_MSG_MAX / 2];
            snprintf(rule, sizeof rule, "cannot write: %s", au_lib_error(u->out));
            return au_refuse(u->name, e, rule);
        }
    }
    /* The writer extends the file to the size in the header: count that too. */
    if (archive_entry_size_is_set(ent) && archive_entry_size(ent) > 0 &&
        (uint64_t)archive_entry_size(ent) > end)
        return au_count(u, (uint64_t)archive_entry_size(ent) - end, e);
    return 0;
}

static int au_write_member(unpacker *u, struct archive_entry *ent, const char *name, cerr *e)
{
    int type = (int)archive_entry_filetype(ent);
    sbuf_reset(&u->full);
    sbuf_printf(&u->full, "%s/%s", u->root, name);
    archive_entry_copy_pathname(ent, u->full.data);
    if (type == AE_IFLNK && archive_entry_symlink(ent) == NULL) {   /* only a UTF-8 form: the writer's */
        char *t = strdup(au_target(ent));
        archive_entry_copy_symlink(ent, t);
        free(t);
    }
    mode_t perm = archive_entry_perm(ent) & 0777;
    archive_entry_set_perm(ent, perm | (type == AE_IFDIR ? 0700 : 0600));
    if (archive_entry_size_is_set(ent) && type != AE_IFREG)
        archive_entry_set_size(ent, 0);
    if (archive_write_header(u->out, ent) < ARCHIVE_WARN) {
        char rule[CERR_MSG_MAX / 2];
        snprintf(rule, sizeof rule, "cannot create: %s", au_lib_error(u->out));
        return au_refuse(name, e, rule);
    }
    if (type == AE_IFREG && au_copy_data(u, ent, e) < 0) {
        unlink(u->full.data);   /* not left half written (nor extended to its header's size) */
        return -1;
    }
    if (archive_write_finish_entry(u->out) < ARCHIVE_WARN) {
        char rule[CERR_MSG_MAX / 2];
        snprintf(rule, sizeof rule, "cannot finish: %s", au_lib_error(u->out));
        return au_refuse(name, e, rule);
    }
    if (type == AE_IFLNK) {
        sbuf_append(&u->links, name, strlen(name) + 1);
        u->nlinks++;
    }
    return 0;
}

static int au_member(unpacker *u, struct archive_entry *ent, sbuf *name, cerr *e)
{
    if (++u->headers > u->lim->max_entries) {
        char rule[96];
        snprintf(rule, sizeof rule, "the archive has more than %llu entries",
                 (unsigned long long)u->lim->max_entries);
        return au_refuse(au_pathname(ent), e, rule);
    }
    int r = au_clean_name(au_pathname(ent), u->lim, name, e);
    if (r != 0)
        return r < 0 ? -1 : 0;
    u->name = name->data;
    if (au_check_type(ent, name->data, e) < 0 || au_check_path_on_disk(u, name->data, e) < 0)
        return -1;
    au_note_top(u, name->data, archive_entry_filetype(ent) == AE_IFDIR);
    if (au_write_member(u, ent, name->data, e) < 0)
        return -1;
    u->entries++;
    return 0;
}

/* Below root (or root itself)? */
static int au_inside(const char *root, const char *path)
{
    size_t n = strlen(root);
    return strncmp(root, path, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static int au_has_dotdot(const char *t)
{
    for (const char *p = t; *p;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return 1;
        p += n + (slash != NULL);
    }
    return 0;
}

/* Every link written must resolve inside root; a dangling one (or a loop)
 * is accepted only when its target climbs nowhere. */
static int au_check_links(unpacker *u, cerr *e)
{
    const char *name = u->links.data;
    for (size_t i = 0; i < u->nlinks; i++, name += strlen(name) + 1) {
        sbuf full = SBUF_INIT;
        sbuf_printf(&full, "%s/%s", u->root, name);
        char resolved[PATH_MAX], target[PATH_MAX];
        int ok;
        if (realpath(full.data, resolved) != NULL) {
            ok = au_inside(u->root, resolved);
        } else {
            ssize_t n = readlink(full.data, target, sizeof target - 1);
            ok = n > 0 && (target[n] = '\0', !au_has_dotdot(target));
        }
        sbuf_free(&full);
        if (!ok)
            return au_refuse(name, e, "symbolic link target leaves the project");
    }
    return 0;
}

/* After a refusal no link written stays behind (dest is to be removed, but
 * a link out of it must not outlive the refusal even briefly). */
static void au_drop_links(unpacker *u)
{
    const char *name = u->links.data;
    for (size_t i = 0; i < u->nlinks; i++, name += strlen(name) + 1) {
        sbuf full = SBUF_INIT;
        sbuf_printf(&full, "%s/%s", u->root, name);
        unlink(full.data);
        sbuf_free(&full);
    }
}

static int au_has_mlproject(const char *dir)
{
    static const char *const names[] = {"MLproject", "mlproject"};
    for (size_t i = 0; i < 2; i++) {
        sbuf p = SBUF_INIT;
        sbuf_printf(&p, "%s/%s", dir, names[i]);
        struct stat st;
        int found = lstat(p.data, &st) == 0 && S_ISREG(st.st_mode);
        sbuf_free(&p);
        if (found)
            return 1;
    }
    return 0;
}

static void au_fill_info(unpacker *u, archive_info *info)
{
    info->entries = u->entries;
    info->bytes = u->bytes;
    sbuf root = SBUF_INIT;
    sbuf_puts(&root, u->root);
    if (!u->mixed && u->top != NULL) {
        sbuf_printf(&root, "/%s", u->top);
        if (!au_has_mlproject(root.data)) {
            sbuf_reset(&root);
            sbuf_puts(&root, u->root);
        }
    }
    info->project_root = sbuf_detach(&root);
}

static int au_open(unpacker *u, const char *archive_path, cerr *e)
{
    u->in = archive_read_new();
    u->out = archive_write_disk_new();
    if (u->in == NULL || u->out == NULL)
        return cerr_set(e, CERR_INTERNAL_ERROR, "archive: out of memory");
    archive_read_support_filter_gzip(u->in);
    archive_read_support_filter_bzip2(u->in);
    archive_read_support_filter_xz(u->in);
    archive_read_support_format_tar(u->in);
    archive_read_support_format_zip(u->in);
    archive_write_disk_set_options(u->out, ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                               ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME);
    struct stat st;
    if (stat(archive_path, &st) < 0)
        return cerr_set(e, CERR_INTERNAL_ERROR, "archive: cannot read %s: %s", archive_path, strerror(errno));
    if (st.st_size == 0)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "archive: the archive is empty");
    if (archive_read_open_filename(u->in, archive_path, AU_BLOCK) != ARCHIVE_OK)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "archive: not a zip or tar archive (%s)",
                        au_lib_error(u->in));
    return 0;
}

static int au_run(unpacker *u, cerr *e)
{
    struct archive_entry *ent;
    sbuf name = SBUF_INIT;
    int r = 0;
    for (;;) {
        int rr = archive_read_next_header(u->in, &ent);
        if (rr == ARCHIVE_EOF)
            break;
        if (rr < ARCHIVE_WARN) {
            if (u->headers == 0)
                r = cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "archive: not a zip or tar archive (%s)",
                             au_lib_error(u->in));
            else
                r = cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "archive: damaged after %llu members (%s)",
                             (unsigned long long)u->headers, au_lib_error(u->in));
            break;
        }
        if ((r = au_member(u, ent, &name, e)) < 0)
            break;
    }
    u->name = NULL;
    sbuf_free(&name);
    if (r == 0 && archive_write_close(u->out) < ARCHIVE_WARN)
        r = cerr_set(e, CERR_INTERNAL_ERROR, "archive: cannot finish the extraction: %s",
                     au_lib_error(u->out));
    if (r == 0 && u->entries == 0)
        r = cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "archive: the archive is empty");
    if (r == 0)
        r = au_check_links(u, e);
    if (r != 0)
        au_drop_links(u);
    return r;
}

/* Names are bytes on Linux, but libarchive converts them between an archive's
 * charset (UTF-8 in zips and pax headers) and the locale's, and the C locale
 * of a server has no form for "données": the calling thread uses C.UTF-8
 * while it unpacks (uselocale is per thread; the process's locale is left
 * alone). Without C.UTF-8 on the system nothing changes. */
static locale_t au_utf8_begin(void)
{
    locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    return loc == (locale_t)0 ? (locale_t)0 : uselocale(loc);
}

static void au_utf8_end(locale_t old)
{
    if (old == (locale_t)0)
        return;
    locale_t mine = uselocale(old);
    freelocale(mine);
}

int archive_unpack(const char *archive_path, const char *dest_dir, const archive_limits *lim,
                   archive_info *info, cerr *e)
{
    locale_t old = au_utf8_begin();
    int r = au_unpack(archive_path, dest_dir, lim, info, e);
    au_utf8_end(old);
    return r;
}

static int au_unpack(const char *archive_path, const char *dest_dir, const archive_limits *lim,
                     archive_info *info, cerr *e)
{
    unpacker u = {0};
    u.lim = lim ? lim : &archive_default_limits;
    if (info != NULL)
        memset(info, 0, sizeof *info);
    u.root = realpath(dest_dir, NULL);
    struct stat st;
    if (u.root == NULL || stat(u.root, &st) < 0 || !S_ISDIR(st.st_mode)) {
        free(u.root);
        return cerr_set(e, CERR_INTERNAL_ERROR, "archive: destination %s is not a directory", dest_dir);
    }
    int r = au_open(&u, archive_path, e);
    if (r == 0)
        r = au_run(&u, e);
    if (r == 0 && info != NULL)
        au_fill_info(&u, info);
    archive_read_free(u.in);
    archive_write_free(u.out);
    sbuf_free(&u.links);
    sbuf_free(&u.full);
    free(u.top);
    free(u.root);
    return r;
}

void archive_info_free(archive_info *info)
{
    if (info == NULL)
        return;
    free(info->project_root);
    info->project_root = NULL;
}
