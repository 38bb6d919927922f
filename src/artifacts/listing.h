/* listing.h - a folder's entries gathered by a store and answered as
 * MLflow's FileInfo array, the same way by every store (local.c, s3_store.c):
 * sorted by name, path = prefix + "/" + name, file_size for files only, a
 * name that is not UTF-8 left out (JSON cannot say it). Internal to
 * artifacts/. */
#ifndef CAIRN_ARTIFACTS_LISTING_H
#define CAIRN_ARTIFACTS_LISTING_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct artifacts_entry {
    char *name;
    bool is_dir;
    int64_t size;
} artifacts_entry;

typedef struct artifacts_listing {
    artifacts_entry *v;
    size_t n, cap;
} artifacts_listing;

#define ARTIFACTS_LISTING_INIT {NULL, 0, 0}

/* Adds the first len bytes of name. */
void artifacts_listing_add(artifacts_listing *l, const char *name, size_t len, bool is_dir,
                           int64_t size);
/* The FileInfo array (new), sorted; l is sorted in place. */
json_t *artifacts_listing_json(artifacts_listing *l, const char *prefix);
void artifacts_listing_free(artifacts_listing *l);

#endif
