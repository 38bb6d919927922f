/* store.c - opening an artifact store by URI, and the dispatch of every
 * call to the store's implementation (store.h). The only file that knows
 * which kinds of store exist. */
#include "store.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/misc.h"
#include "../util/path.h"
#include "../util/sbuf.h"

/* A file URI's path, decoded; an encoded NUL is refused. */
static int artifacts_file_path(const char *uri, sbuf *out, cerr *e)
{
    const char *p = uri + 5; /* after "file:" */
    if (p[0] == '/' && p[1] == '/') {
        const char *host = p + 2;
        size_t hl = strcspn(host, "/");
        if (hl != 0 && !(hl == 9 && strncasecmp(host, "localhost", 9) == 0))
            return cerr_set(e, CERR_NOT_IMPLEMENTED,
                            "Artifacts at '%s' (a remote file URI) are not supported", uri);
        p = host + hl;
    }
    pct_decode(p, strlen(p), out, false);
    if (memchr(sbuf_str(out), '\0', out->len) != NULL || out->len == 0)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid artifact location '%s'", uri);
    return 0;
}

/* s3://bucket[/prefix]: the bucket and the prefix without its slashes. */
static int artifacts_s3_split(const char *uri, sbuf *bucket, sbuf *prefix, cerr *e)
{
    const char *p = uri + 5; /* after "s3://" */
    size_t bl = strcspn(p, "/");
    if (bl == 0)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid S3 URI '%s': no bucket", uri);
    sbuf_append(bucket, p, bl);
    p += bl;
    while (*p == '/')
        p++;
    size_t pl = strlen(p);
    while (pl > 0 && p[pl - 1] == '/')
        pl--;
    sbuf_append(prefix, p, pl);
    if (pl > 0 && path_validate_rel(sbuf_str(prefix), e) < 0)
        return -1;
    return 0;
}

int artifacts_store_open(const char *uri, artifacts_store **out, cerr *e)
{
    *out = NULL;
    sbuf a = SBUF_INIT, b = SBUF_INIT;
    int rc;
    if (strncasecmp(uri, "s3://", 5) == 0) {
        rc = artifacts_s3_split(uri, &a, &b, e);
        if (rc == 0)
            rc = artifacts_s3_open_store(uri, sbuf_str(&a), sbuf_str(&b), out, e);
    } else if (strncasecmp(uri, "file:", 5) == 0) {
        rc = artifacts_file_path(uri, &a, e);
        if (rc == 0)
            rc = artifacts_local_open_store(uri, sbuf_str(&a), out, e);
    } else if (strstr(uri, "://") != NULL || uri[0] == '\0') {
        rc = cerr_set(e, CERR_NOT_IMPLEMENTED, "Artifacts at '%s' are not supported", uri);
    } else {
        rc = artifacts_local_open_store(uri, uri, out, e);
    }
    sbuf_free(&a);
    sbuf_free(&b);
    return rc;
}

void artifacts_store_free(artifacts_store *s)
{
    if (s)
        s->ops->free(s);
}

const char *artifacts_store_uri(const artifacts_store *s) { return s->uri; }

int artifacts_store_check(artifacts_store *s, cerr *e) { return s->ops->check(s, e); }

int artifacts_store_list(artifacts_store *s, const char *rel, const char *prefix, json_t **out,
                         cerr *e)
{
    *out = NULL;
    if (path_validate_rel(rel, e) < 0)
        return -1;
    return s->ops->list(s, rel, prefix, out, e);
}

int artifacts_store_delete(artifacts_store *s, const char *rel, cerr *e)
{
    if (path_validate_rel(rel, e) < 0)
        return -1;
    return s->ops->remove(s, rel, e);
}

int artifacts_writer_open(artifacts_store *s, const char *rel, artifacts_writer **out, cerr *e)
{
    return artifacts_writer_open_sized(s, rel, -1, out, e);
}

int artifacts_writer_open_sized(artifacts_store *s, const char *rel, int64_t size,
                                artifacts_writer **out, cerr *e)
{
    *out = NULL;
    /* A trailing '/' names a folder, which a stream of bytes cannot become. */
    if (rel[0] == '\0' || rel[strlen(rel) - 1] == '/')
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid path");
    if (path_validate_rel(rel, e) < 0)
        return -1;
    if (size < -1)
        size = -1;
    if (s->ops->writer_open(s, rel, size, out, e) < 0)
        return -1;
    (*out)->size = size;
    (*out)->written = 0;
    return 0;
}

/* One write, refused when it would pass the declared size. */
static ssize_t artifacts_write_counted(artifacts_writer *w, const void *data, size_t n, cerr *e)
{
    if (w->size >= 0 && n > (uint64_t)w->size - w->written)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "The upload is larger than its declared size of %lld bytes",
                        (long long)w->size);
    ssize_t k = w->ops->write(w, data, n, e);
    if (k > 0)
        w->written += (uint64_t)k;
    return k;
}

ssize_t artifacts_writer_write(artifacts_writer *w, const void *data, size_t n, cerr *e)
{
    return artifacts_write_counted(w, data, n, e);
}

int artifacts_writer_write_all(artifacts_writer *w, const void *data, size_t n, cerr *e)
{
    const char *p = data;
    while (n > 0) {
        ssize_t k = artifacts_write_counted(w, p, n, e);
        if (k < 0)
            return -1;
        if (k == 0 && w->ops->writer_wait)
            w->ops->writer_wait(w);
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
    if (w->size >= 0 && w->written != (uint64_t)w->size) {
        int64_t size = w->size;
        uint64_t written = w->written;
        w->ops->abort(w);
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "The upload ended after %llu of its declared %lld bytes",
                        (unsigned long long)written, (long long)size);
    }
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
    *out = NULL;
    if (path_validate_rel(rel, e) < 0)
        return -1;
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
