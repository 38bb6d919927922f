/* search_ident.c - MLflow's identifier rules: "<entity>.<key>" split at the
 * first dot, entity aliases (metrics./params./attr./...), key unquoting and
 * the attribute and dataset key lists, for runs (SearchUtils) and for
 * experiments (SearchExperimentsUtils), with MLflow's error messages.
 *
 * MLflow prints its key lists as Python sets, whose order changes from one
 * process to the next; we print them sorted so messages are stable. */
#include "search_ast.h"

#include <stdlib.h>
#include <string.h>

/* RunInfo's searchable attributes plus the aliases MLflow adds. */
static const char *const runs_search_keys[] = {
    "Created", "Run Name", "Run name", "artifact_uri", "created", "end_time",
    "run name", "run_id", "run_name", "start_time", "status", "user_id", NULL};
/* RunInfo's orderable attributes plus "created"/"Created". */
static const char *const runs_order_keys[] = {"Created", "artifact_uri", "created",
                                              "end_time", "run_id", "run_name",
                                              "start_time", "status", "user_id", NULL};
static const char *const exp_search_keys[] = {"creation_time", "last_update_time", "name",
                                              NULL};
static const char *const exp_order_keys[] = {"creation_time", "experiment_id",
                                             "last_update_time", "name", NULL};
static const char *const dataset_keys[] = {"context", "digest", "name", NULL};

static const struct {
    const char *name;
    search_entity ent;
} entity_aliases[] = {
    {"metric", SEARCH_ENT_METRIC},       {"metrics", SEARCH_ENT_METRIC},
    {"parameter", SEARCH_ENT_PARAM},     {"parameters", SEARCH_ENT_PARAM},
    {"param", SEARCH_ENT_PARAM},         {"params", SEARCH_ENT_PARAM},
    {"tag", SEARCH_ENT_TAG},             {"tags", SEARCH_ENT_TAG},
    {"attribute", SEARCH_ENT_ATTRIBUTE}, {"attributes", SEARCH_ENT_ATTRIBUTE},
    {"attr", SEARCH_ENT_ATTRIBUTE},      {"run", SEARCH_ENT_ATTRIBUTE},
    {"dataset", SEARCH_ENT_DATASET},     {"datasets", SEARCH_ENT_DATASET},
};

char *search_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p == NULL)
        abort();
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

const char *search_entity_name(search_entity ent)
{
    switch (ent) {
    case SEARCH_ENT_METRIC: return "metric";
    case SEARCH_ENT_PARAM: return "parameter";
    case SEARCH_ENT_TAG: return "tag";
    case SEARCH_ENT_ATTRIBUTE: return "attribute";
    case SEARCH_ENT_DATASET: return "dataset";
    }
    return "?";
}

void search_py_repr(sbuf *b, const char *s)
{
    /* Python picks double quotes only for a str with ' and without ". */
    char q = (strchr(s, '\'') && !strchr(s, '"')) ? '"' : '\'';
    sbuf_putc(b, q);
    for (; *s; s++) {
        if (*s == q || *s == '\\')
            sbuf_putc(b, '\\');
        sbuf_putc(b, *s);
    }
    sbuf_putc(b, q);
}

static void py_set(sbuf *b, const char *const *names)
{
    sbuf_putc(b, '{');
    for (size_t i = 0; names[i]; i++) {
        if (i)
            sbuf_puts(b, ", ");
        search_py_repr(b, names[i]);
    }
    sbuf_putc(b, '}');
}

static int in_list(const char *const *names, const char *s)
{
    for (size_t i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0)
            return 1;
    return 0;
}

static int is_quoted(const char *s, size_t n, char q)
{
    return n >= 2 && s[0] == q && s[n - 1] == q;
}

/* _trim_backticks(_strip_quotes(key)): one pair of ' or ", then one pair
 * of backticks; nothing inside is unescaped, as in MLflow. */
static char *unquote_key(const char *s, size_t n)
{
    if (is_quoted(s, n, '\'') || is_quoted(s, n, '"'))
        s++, n -= 2;
    if (is_quoted(s, n, '`'))
        s++, n -= 2;
    return search_strndup(s, n);
}

/* _valid_entity_type: backticks trimmed, then one of the aliases. */
static int entity_type(const char *s, size_t n, search_entity *ent, cerr *e)
{
    if (is_quoted(s, n, '`'))
        s++, n -= 2;
    for (size_t i = 0; i < sizeof entity_aliases / sizeof entity_aliases[0]; i++)
        if (strlen(entity_aliases[i].name) == n && memcmp(entity_aliases[i].name, s, n) == 0) {
            *ent = entity_aliases[i].ent;
            return 0;
        }
    return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                    "Invalid entity type '%.*s'. Valid values are ['metric', 'parameter', "
                    "'tag', 'attribute', 'dataset']",
                    (int)n, s);
}

/* SearchExperimentsUtils allows only these spellings, before the aliases. */
static int experiments_entity_ok(const char *s, size_t n, cerr *e)
{
    static const char *const ok[] = {"attribute", "tag", "tags"};
    for (size_t i = 0; i < 3; i++)
        if (strlen(ok[i]) == n && memcmp(ok[i], s, n) == 0)
            return 0;
    return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                    "Invalid entity type '%.*s'. Valid entity types are ('attribute', 'tag', "
                    "'tags')",
                    (int)n, s);
}

static int key_error(cerr *e, const char *what, const char *key, const char *const *valid)
{
    sbuf b = SBUF_INIT;
    py_set(&b, valid);
    cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid %s key '%s' specified. Valid keys are '%s'",
             what, key, sbuf_str(&b));
    sbuf_free(&b);
    return -1;
}

static const char *const *attribute_keys(search_flavor flavor, int for_order)
{
    if (flavor == SEARCH_FLAVOR_RUNS)
        return for_order ? runs_order_keys : runs_search_keys;
    return for_order ? exp_order_keys : exp_search_keys;
}

int search_ident(const char *ident, size_t len, search_flavor flavor, int for_order,
                 search_entity *ent, char **key, cerr *e)
{
    const char *dot = memchr(ident, '.', len);
    const char *k = ident;
    size_t klen = len;
    *ent = SEARCH_ENT_ATTRIBUTE;
    *key = NULL;
    if (dot != NULL) {
        size_t elen = (size_t)(dot - ident);
        if (flavor == SEARCH_FLAVOR_EXPERIMENTS && experiments_entity_ok(ident, elen, e) < 0)
            return -1;
        if (entity_type(ident, elen, ent, e) < 0)
            return -1;
        k = dot + 1;
        klen = len - elen - 1;
    }
    char *unq = unquote_key(k, klen);
    if (*ent == SEARCH_ENT_ATTRIBUTE && !in_list(attribute_keys(flavor, for_order), unq)) {
        key_error(e, "attribute", unq, attribute_keys(flavor, for_order));
        free(unq);
        return -1;
    }
    if (*ent == SEARCH_ENT_DATASET && !in_list(dataset_keys, unq)) {
        key_error(e, "dataset", unq, dataset_keys);
        free(unq);
        return -1;
    }
    *key = unq;
    return 0;
}
