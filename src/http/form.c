/* form.c - multipart/form-data (and urlencoded) request bodies, for the
 * job submission endpoints: text fields become the request's args, file
 * parts are streamed to temporary files, so a 100 MiB project costs no
 * memory. libmicrohttpd's post processor does the parsing; this file keeps
 * the limits (HTTP_FORM_*) and the files.
 *
 * A temporary file is unlinked as soon as it is created and reached
 * through /proc/self/fd/N while the request lives: whatever happens to the
 * request or the process (even SIGKILL), no upload is left behind. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define HTTP_FORM_PP_BUFFER (64u * 1024)

typedef struct http_form_file {
    api_file pub;
    char *field, *filename, *path;
    int fd;
} http_form_file;

struct http_form {
    struct MHD_PostProcessor *pp;
    const char *tmpdir;
    json_t *args;
    size_t nfields;
    http_form_file files[HTTP_FORM_MAX_FILES];
    api_file pub[HTTP_FORM_MAX_FILES];
    size_t nfiles;
    sbuf value;        /* the text field being read */
    char *value_key;
    cerr err;          /* set once the form is refused */
    bool failed;
};

static enum MHD_Result http_form_fail(http_form *f, const char *fmt, const char *arg)
{
    if (!f->failed)
        cerr_set(&f->err, CERR_INVALID_PARAMETER_VALUE, fmt, arg);
    f->failed = true;
    return MHD_NO;
}

/* A text field is complete: into args, a repeated name as an array (as a
 * query string's). */
static void http_form_flush(http_form *f)
{
    if (f->value_key == NULL)
        return;
    http_args_add(f->args, f->value_key, http_json_string(sbuf_str(&f->value)), false);
    free(f->value_key);
    f->value_key = NULL;
    sbuf_reset(&f->value);
}

static enum MHD_Result http_form_text(http_form *f, const char *key, const char *data,
                                      uint64_t off, size_t size)
{
    if (off == 0) {
        http_form_flush(f);
        if (++f->nfields > HTTP_FORM_MAX_FIELDS)
            return http_form_fail(f, "too many form fields%s", "");
        f->value_key = strdup(key);
    }
    if (f->value.len + size > HTTP_FORM_MAX_FIELD)
        return http_form_fail(f, "form field '%.100s' is too long", key);
    sbuf_append(&f->value, data, size);
    return MHD_YES;
}

static enum MHD_Result http_form_file_open(http_form *f, const char *key, const char *filename)
{
    if (f->nfiles == HTTP_FORM_MAX_FILES)
        return http_form_fail(f, "too many files in the form%s", "");
    http_form_file *ff = &f->files[f->nfiles];
    sbuf p = SBUF_INIT;
    sbuf_printf(&p, "%s/cairn-upload-XXXXXX", f->tmpdir);
    ff->path = sbuf_detach(&p);
    ff->fd = mkstemp(ff->path);
    if (ff->fd < 0) {
        free(ff->path);
        ff->path = NULL;
        return http_form_fail(f, "cannot store the upload: %s", strerror(errno));
    }
    unlink(ff->path);
    sbuf_printf(&p, "/proc/self/fd/%d", ff->fd);
    free(ff->path);
    ff->path = sbuf_detach(&p);
    ff->field = strdup(key);
    ff->filename = strdup(filename);
    f->nfiles++;
    return MHD_YES;
}

static enum MHD_Result http_form_file_data(http_form *f, const char *data, size_t size)
{
    http_form_file *ff = &f->files[f->nfiles - 1];
    while (size > 0) {
        ssize_t n = write(ff->fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return http_form_fail(f, "cannot store the upload: %s", strerror(errno));
        data += n;
        size -= (size_t)n;
        ff->pub.size += (uint64_t)n;
    }
    return MHD_YES;
}

static enum MHD_Result http_form_part(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *filename, const char *content_type,
                                      const char *transfer_encoding, const char *data,
                                      uint64_t off, size_t size)
{
    (void)kind;
    (void)content_type;
    (void)transfer_encoding;
    http_form *f = cls;
    if (f->failed)
        return MHD_NO;
    if (key == NULL)
        key = "";
    if (filename == NULL)
        return http_form_text(f, key, data, off, size);
    if (off == 0) {
        http_form_flush(f);
        if (http_form_file_open(f, key, filename) == MHD_NO)
            return MHD_NO;
    }
    return http_form_file_data(f, data, size);
}

int http_form_begin(struct MHD_Connection *c, const char *tmpdir, http_form **out, cerr *e)
{
    *out = NULL;
    http_form *f = calloc(1, sizeof *f);
    if (f == NULL)
        abort();
    f->tmpdir = tmpdir;
    f->pp = MHD_create_post_processor(c, HTTP_FORM_PP_BUFFER, http_form_part, f);
    if (f->pp == NULL) {
        free(f);
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "this endpoint takes a multipart/form-data body");
    }
    f->args = json_object();
    *out = f;
    return 0;
}

int http_form_data(http_form *f, const char *data, size_t n, cerr *e)
{
    if (!f->failed && MHD_post_process(f->pp, data, n) != MHD_YES && !f->failed) {
        f->failed = true;
        cerr_set(&f->err, CERR_INVALID_PARAMETER_VALUE, "malformed multipart/form-data body");
    }
    if (f->failed) {
        *e = f->err;
        return -1;
    }
    return 0;
}

int http_form_finish(http_form *f, json_t **args, const api_file **files, size_t *nfiles, cerr *e)
{
    if (f->failed) {
        *e = f->err;
        return -1;
    }
    http_form_flush(f);
    for (size_t i = 0; i < f->nfiles; i++) {
        http_form_file *ff = &f->files[i];
        /* Kept open: the file lives as long as its descriptor. */
        f->pub[i] = (api_file){ff->field, ff->filename, ff->path, ff->pub.size};
    }
    *args = json_incref(f->args);
    *files = f->pub;
    *nfiles = f->nfiles;
    return 0;
}

void http_form_free(http_form *f)
{
    if (f == NULL)
        return;
    if (f->pp)
        MHD_destroy_post_processor(f->pp);
    for (size_t i = 0; i < f->nfiles; i++) {
        http_form_file *ff = &f->files[i];
        if (ff->fd >= 0)
            close(ff->fd);
        free(ff->path);
        free(ff->field);
        free(ff->filename);
    }
    free(f->value_key);
    sbuf_free(&f->value);
    json_decref(f->args);
    free(f);
}
