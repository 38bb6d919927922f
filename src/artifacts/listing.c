/* listing.c - a folder's entries as MLflow's FileInfo array (listing.h). */
#include "listing.h"

#include <stdlib.h>
#include <string.h>

#include "../util/sbuf.h"

void artifacts_listing_add(artifacts_listing *l, const char *name, size_t len, bool is_dir,
                           int64_t size)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (l->v == NULL)
            abort();
    }
    char *copy = strndup(name, len);
    if (copy == NULL)
        abort();
    l->v[l->n++] = (artifacts_entry){copy, is_dir, size};
}

static int artifacts_entry_cmp(const void *a, const void *b)
{
    return strcmp(((const artifacts_entry *)a)->name, ((const artifacts_entry *)b)->name);
}

json_t *artifacts_listing_json(artifacts_listing *l, const char *prefix)
{
    if (l->n > 1) /* qsort(NULL, 0) is undefined behaviour */
        qsort(l->v, l->n, sizeof *l->v, artifacts_entry_cmp);
    json_t *arr = json_array();
    sbuf p = SBUF_INIT;
    for (size_t i = 0; i < l->n; i++) {
        sbuf_reset(&p);
        if (prefix && prefix[0])
            sbuf_printf(&p, "%s/", prefix);
        sbuf_puts(&p, l->v[i].name);
        json_t *path = json_string(sbuf_str(&p));
        if (path == NULL)
            continue; /* a name that is not UTF-8 cannot be said in JSON */
        json_t *fi = json_object();
        json_object_set_new(fi, "path", path);
        json_object_set_new(fi, "is_dir", json_boolean(l->v[i].is_dir));
        if (!l->v[i].is_dir)
            json_object_set_new(fi, "file_size", json_integer(l->v[i].size));
        json_array_append_new(arr, fi);
    }
    sbuf_free(&p);
    return arr;
}

void artifacts_listing_free(artifacts_listing *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
    *l = (artifacts_listing)ARTIFACTS_LISTING_INIT;
}
