/* path.c - validating request paths and resolving them under a root.
 *
 * See path.h for the rules. The checks run on byte strings with explicit
 * lengths because percent-decoding can produce a NUL, which must be seen
 * (and refused) rather than silently cut the string short. */
#include "path.h"
#include "misc.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* MLflow's _decode gives up after this many rounds. */
#define PATH_DECODE_ROUNDS 10

static int path_invalid(cerr *e) { return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid path"); }

/* One round of %XX decoding into out (emptied first); an embedded NUL it
 * produces is refused later by the form check. */
static bool path_pct_round(const char *in, size_t n, sbuf *out)
{
    sbuf_reset(out);
    return pct_decode(in, n, out, false);
}

/* The syntax rules on one form of the path. */
static bool path_form_ok(const char *p, size_t n)
{
    if (memchr(p, '\0', n) != NULL || memchr(p, '#', n) != NULL)
        return false;
    if (n >= 5 && strncasecmp(p, "file:", 5) == 0)
        return false;
    if (n >= 1 && p[0] == '/')
        return false;
    /* Windows absolute forms: a drive with a root, or a UNC prefix. */
    if (n >= 3 && isalpha((unsigned char)p[0]) && p[1] == ':' && (p[2] == '/' || p[2] == '\\'))
        return false;
    if (n >= 2 && (p[0] == '/' || p[0] == '\\') && (p[1] == '/' || p[1] == '\\'))
        return false;
    for (size_t start = 0; start <= n;) {
        const char *slash = memchr(p + start, '/', n - start);
        size_t end = slash ? (size_t)(slash - p) : n;
        if (end - start == 2 && p[start] == '.' && p[start + 1] == '.')
            return false;
        start = end + 1;
    }
    return true;
}

int path_validate_rel(const char *rel, cerr *e)
{
    size_t n = strlen(rel);
    if (n > PATH_REL_MAX || !path_form_ok(rel, n))
        return path_invalid(e);
    sbuf cur = SBUF_INIT, next = SBUF_INIT;
    sbuf_append(&cur, rel, n);
    int rc = -1;
    for (int round = 0; round < PATH_DECODE_ROUNDS; round++) {
        if (!path_pct_round(cur.data, cur.len, &next)) {
            rc = path_form_ok(cur.data, cur.len) ? 0 : path_invalid(e);
            goto out;
        }
        sbuf tmp = cur;
        cur = next;
        next = tmp;
        if (!path_form_ok(cur.data, cur.len)) {
            rc = path_invalid(e);
            goto out;
        }
    }
    rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Failed to decode url");
out:
    sbuf_free(&cur);
    sbuf_free(&next);
    return rc;
}

int path_normalize_rel(const char *rel, sbuf *out, cerr *e)
{
    if (path_validate_rel(rel, e) < 0)
        return -1;
    sbuf_reset(out);
    sbuf_puts(out, ""); /* so out->data is never NULL */
    for (const char *p = rel; *p;) {
        size_t len = strcspn(p, "/");
        if (len > 0 && !(len == 1 && p[0] == '.')) {
            if (out->len > 0)
                sbuf_putc(out, '/');
            sbuf_append(out, p, len);
        }
        p += len;
        if (*p == '/')
            p++;
    }
    return 0;
}

const char *path_basename(const char *norm)
{
    const char *slash = strrchr(norm, '/');
    return slash ? slash + 1 : norm;
}

/* Is p (canonical) root itself or below it? */
static bool path_is_under(const char *p, const char *root)
{
    size_t rn = strlen(root);
    if (rn == 1 && root[0] == '/')
        return p[0] == '/';
    return strncmp(p, root, rn) == 0 && (p[rn] == '\0' || p[rn] == '/');
}

/* cur is an existing canonical directory below root; step into comp. */
static int path_step(sbuf *cur, const char *comp, size_t len, const char *root, bool *missing,
                     cerr *e)
{
    size_t keep = cur->len;
    if (!(cur->len == 1 && cur->data[0] == '/'))
        sbuf_putc(cur, '/');
    sbuf_append(cur, comp, len);
    struct stat st;
    if (lstat(cur->data, &st) < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            *missing = true; /* nothing below exists: no link to follow */
            return 0;
        }
        if (errno == ENAMETOOLONG || errno == ELOOP)
            return path_invalid(e);
        cur->len = keep;
        return cerr_set(e, CERR_INTERNAL_ERROR, "Cannot access artifact path: %s",
                        strerror(errno));
    }
    if (!S_ISLNK(st.st_mode))
        return 0;
    char *real = realpath(cur->data, NULL);
    if (real == NULL || !path_is_under(real, root)) {
        free(real);
        return path_invalid(e); /* dangling, looping or escaping link */
    }
    sbuf_reset(cur);
    sbuf_puts(cur, real);
    free(real);
    return 0;
}

int path_resolve_under(const char *root, const char *rel, sbuf *out, cerr *e)
{
    sbuf norm = SBUF_INIT;
    if (path_normalize_rel(rel, &norm, e) < 0) {
        sbuf_free(&norm);
        return -1;
    }
    char *real_root = realpath(root, NULL);
    if (real_root == NULL) {
        sbuf_free(&norm);
        return cerr_set(e, CERR_INTERNAL_ERROR, "Artifact root '%s' is not accessible: %s", root,
                        strerror(errno));
    }
    sbuf_reset(out);
    sbuf_puts(out, real_root);
    bool missing = false;
    int rc = 0;
    for (const char *p = sbuf_str(&norm); *p && rc == 0;) {
        size_t len = strcspn(p, "/");
        if (missing) {
            sbuf_putc(out, '/');
            sbuf_append(out, p, len);
        } else {
            rc = path_step(out, p, len, real_root, &missing, e);
        }
        p += len;
        if (*p == '/')
            p++;
    }
    if (rc == 0 && out->len >= PATH_MAX)
        rc = path_invalid(e);
    free(real_root);
    sbuf_free(&norm);
    return rc;
}

int path_mkdirs(const char *dir, int mode, cerr *e)
{
    sbuf p = SBUF_INIT;
    sbuf_puts(&p, dir);
    int rc = 0;
    for (size_t i = 1; rc == 0 && i <= p.len; i++) {
        if (p.data[i] != '/' && p.data[i] != '\0')
            continue;
        char saved = p.data[i];
        p.data[i] = '\0';
        if (mkdir(p.data, (mode_t)mode) < 0 && errno != EEXIST)
            rc = cerr_set(e, CERR_INTERNAL_ERROR, "cannot create %s: %s", p.data, strerror(errno));
        p.data[i] = saved;
    }
    sbuf_free(&p);
    return rc;
}
