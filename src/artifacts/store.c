/* store.c - the artifact store's front: open by URI, then dispatch.
 *
 * Every call goes to the implementation through the ops table that heads
 * its store, writer or reader (store.h); this file knows only how to tell
 * the kinds of URI apart, and how write_all waits on a store whose writes
 * can take 0 bytes. */
#include "store.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../util/misc.h"
#include "../util/sbuf.h"

/* The scheme of uri ("s3", "file", ...) into out; false when uri has none
 * (a plain path, relative or absolute). */
static bool artifacts_scheme(const char *uri, sbuf *out)
{
    const char *p = uri;
    if (!isalpha((unsigned char)*p))
        return false;
    while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
        p++;
    if (strncmp(p, "://", 3) != 0)
        return false;
    sbuf_append(out, uri, (size_t)(p - uri));
    for (size_t i = 0; i < out->len; i++)
        out->data[i] = (char)tolower((unsigned char)out->data[i]);
    return true;
}

static int artifacts_open_s3(const char *uri, artifacts_store **out, cerr *e)
{
    const char *b = uri + strlen("s3://");
    const char *slash = strchr(b, '/');
    size_t blen = slash ? (size_t)(slash - b) : strlen(b);
    sbuf bucket = SBUF_INIT, prefix = SBUF_INIT;
    sbuf_append(&bucket, b, blen);
    if (slash) {
        const char *p = slash;
        while (*p == '/')
            p++;
        sbuf_puts(&prefix, p);
        while (prefix.len > 0 && prefix.data[prefix.len - 1] == '/')
            prefix.data[--prefix.len] = '\0';
    }
    int rc = artifacts_s3_open_store(uri, sbuf_str(&bucket), sbuf_str(&prefix), out, e);
    sbuf_free(&bucket);
    sbuf_free(&prefix);
    return rc;
}

int artifacts_store_open(const char *uri, artifacts_store **out, cerr *e)
{
    *out = NULL;
    if (uri == NULL || uri[0] == '\0')
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "No artifact store URI");
    sbuf scheme = SBUF_INIT, root = SBUF_INIT;
    int rc;
    if (!artifacts_scheme(uri, &scheme)) {
        rc = artifacts_local_open_store(uri, uri, out, e);
    } else if (strcmp(scheme.data, "s3") == 0) {
        rc = artifacts_open_s3(uri, out, e);
    } else if (strcmp(scheme.data, "file") == 0) {
        const char *p = uri + strlen("file://");
        if (strncmp(p, "localhost/", 10) == 0)
            p += strlen("localhost");
        if (*p != '/') {
            rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                          "Artifact store URI '%s': a file URI names a local absolute path", uri);
        } else {
            pct_decode(p, strlen(p), &root, true);
            rc = artifacts_local_open_store(uri, root.data, out, e);
        }
    } else {
        rc = cerr_set(e, CERR_NOT_IMPLEMENTED, "Artifact store URI scheme '%s' is not supported",
                      scheme.data);
    }
    sbuf_free(&scheme);
    sbuf_free(&root);
    return rc;
}

void artifacts_store_free(artifacts_store *s)
{
    if (s)
        s->ops->free(s);
}

const char *artifacts_store_uri(const artifacts_store *s)
{
    return s->uri;
}

int artifacts_store_check(artifacts_store *s, cerr *e)
{
    return s->ops->check(s, e);
}

int artifacts_store_list(artifacts_store *s, const char *rel, const char *prefix, json_t **out,
                         cerr *e)
{
    return s->ops->list(s, rel, prefix, out, e);
}

int artifacts_store_delete(artifacts_store *s, const char *rel, cerr *e)
{
    return s->ops->remove(s, rel, e);
}

int artifacts_writer_open(artifacts_store *s, const char *rel, artifacts_writer **out, cerr *e)
{
    return s->ops->writer_open(s, rel, out, e);
}

ssize_t artifacts_writer_write(artifacts_writer *w, const void *data, size_t n, cerr *e)
{
    return w->ops->write(w, data, n, e);
}

int artifacts_writer_write_all(artifacts_writer *w, const void *data, size_t n, cerr *e)
{
    const char *p = data;
    while (n > 0) {
        ssize_t k = w->ops->write(w, p, n, e);
        if (k < 0)
            return -1;
        if (k == 0) {
            if (w->ops->writer_wait == NULL)
                return cerr_set(e, CERR_INTERNAL_ERROR, "The artifact store took no bytes");
            w->ops->writer_wait(w);
            continue;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

void artifacts_writer_notify(artifacts_writer *w, artifacts_notify_fn fn, void *arg)
{
    if (w->ops->writer_notify)
        w->ops->writer_notify(w, fn, arg);
}

int artifacts_writer_commit(artifacts_writer *w, cerr *e)
{
    return w->ops->commit(w, e);
}

void artifacts_writer_abort(artifacts_writer *w)
{
    if (w)
        w->ops->abort(w);
}

int artifacts_reader_open(artifacts_store *s, const char *rel, uint64_t offset, uint64_t length,
                          artifacts_reader **out, uint64_t *size, cerr *e)
{
    return s->ops->reader_open(s, rel, offset, length, out, size, e);
}

ssize_t artifacts_reader_read(artifacts_reader *r, void *buf, size_t n, cerr *e)
{
    return r->ops->read(r, buf, n, e);
}

void artifacts_reader_notify(artifacts_reader *r, artifacts_notify_fn fn, void *arg)
{
    if (r->ops->reader_notify)
        r->ops->reader_notify(r, fn, arg);
}

int artifacts_reader_fd(artifacts_reader *r)
{
    return r->ops->reader_fd ? r->ops->reader_fd(r) : -1;
}

void artifacts_reader_close(artifacts_reader *r)
{
    if (r)
        r->ops->reader_close(r);
}
