/* store_util.c - small helpers the store_*.c files share: experiment ids,
 * artifact paths, id lists bound as one JSON parameter, and a sorted index
 * for attaching child rows to their parents. No database access here. */
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/misc.h"

bool store_parse_id(const char *s, int64_t *out)
{
    if (s == NULL || *s == '\0')
        return false;
    const char *p = s + (*s == '-' || *s == '+');
    if (*p < '0' || *p > '9')
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = v;
    return true;
}

bool store_exp_id(const db_conn *c, const char *s, int64_t *out)
{
    if (!store_parse_id(s, out))
        return false;
    /* Out of range is "no such experiment", as on SQLite, not a SQL error. */
    return db_conn_kind(c) != DB_POSTGRES || (*out >= INT32_MIN && *out <= INT32_MAX);
}

char *store_path_join(const char *base, const char *a, const char *b)
{
    size_t n = strlen(base);
    const char *sep = n > 0 && base[n - 1] == '/' ? "" : "/";
    char *out = NULL;
    int rc =
        b ? asprintf(&out, "%s%s%s/%s", base, sep, a, b) : asprintf(&out, "%s%s%s", base, sep, a);
    if (rc < 0)
        abort();
    return out;
}

char *store_json_list(const char *const *items, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(items[i]));
    char *s = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    if (s == NULL)
        abort();
    return s;
}

char *store_json_int_list(const int64_t *items, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_integer(items[i]));
    char *s = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    if (s == NULL)
        abort();
    return s;
}

static int store_idx_cmp(const void *a, const void *b)
{
    return strcmp(((const store_idx_entry *)a)->key, ((const store_idx_entry *)b)->key);
}

void store_idx_build(store_idx *ix, const char *const *keys, size_t n)
{
    ix->n = n;
    ix->v = calloc(n ? n : 1, sizeof *ix->v);
    if (ix->v == NULL)
        abort();
    for (size_t i = 0; i < n; i++)
        ix->v[i] = (store_idx_entry){keys[i], i};
    qsort(ix->v, n, sizeof *ix->v, store_idx_cmp);
}

size_t store_idx_find(const store_idx *ix, const char *key)
{
    store_idx_entry k = {key, 0};
    const store_idx_entry *hit = bsearch(&k, ix->v, ix->n, sizeof *ix->v, store_idx_cmp);
    return hit ? hit->pos : (size_t)-1;
}

void store_idx_free(store_idx *ix)
{
    free(ix->v);
    ix->v = NULL;
    ix->n = 0;
}

int store_page_read(db_stmt *s, store_row_fn fn, int64_t max, int64_t offset, json_t *arr,
                    char **next_token, cerr *e)
{
    int rc;
    while ((rc = db_row(s, e)) == 1) {
        if ((int64_t)json_array_size(arr) == max) {
            *next_token = token_from_offset(offset + max);
            db_reset(s);
            return 0;
        }
        json_array_append_new(arr, fn(s));
    }
    return rc;
}

int store_page_done(int rc, json_t *arr, json_t **out, char **next_token)
{
    if (rc < 0) {
        json_decref(arr);
        free(*next_token);
        *next_token = NULL;
        return -1;
    }
    *out = arr;
    return 0;
}
