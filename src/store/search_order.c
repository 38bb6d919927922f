/* search_order.c - order_by strings -> search_orders.
 *
 * Follows SearchUtils._parse_order_by_string: one identifier, optionally
 * followed by ASC or DESC (any case); the identifier is unquoted the way
 * MLflow's shlex.split does it (backticks read as double quotes), then
 * checked by the same _get_identifier rules as filters, against the
 * orderable keys. Runs add _get_orderby_clauses' checks (no dataset
 * ordering, no duplicate fields); experiments add
 * _get_search_experiments_order_by_clauses' (attributes only, default
 * "creation_time DESC, experiment_id ASC"). */
#include "search_ast.h"
#include "search_lex.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int cannot_parse(const char *s, cerr *e)
{
    return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                    "Invalid order_by clause '%s'. Could not be parsed.", s);
}

/* shlex.split's unquoting of one word, after MLflow's ` -> " swap:
 * '...' is literal, "..." honours \" and \\, a bare \ escapes anything. */
static char *shlex_word(const char *s, size_t n)
{
    sbuf b = SBUF_INIT;
    char mode = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i] == '`' ? '"' : s[i];
        if (mode == '\'') {
            if (c == '\'')
                mode = 0;
            else
                sbuf_putc(&b, c);
        } else if (mode == '"') {
            if (c == '\\' && i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '\\'))
                sbuf_putc(&b, s[++i]);
            else if (c == '"')
                mode = 0;
            else
                sbuf_putc(&b, c);
        } else if (c == '\'' || c == '"') {
            mode = c;
        } else if (c == '\\' && i + 1 < n) {
            sbuf_putc(&b, s[++i]);
        } else {
            sbuf_putc(&b, c);
        }
    }
    return sbuf_detach(&b);
}

static int is_name(search_tok_kind k)
{
    return k == SEARCH_TOK_WORD || k == SEARCH_TOK_QNAME || k == SEARCH_TOK_SYM;
}

static int is_reserved(const char *src, const search_tok *t)
{
    static const char *const kw[] = {"ASC", "DESC", "AND", "OR", "NOT", "IN", NULL};
    for (size_t i = 0; kw[i]; i++)
        if (search_tok_is_kw(src, t, kw[i]))
            return 1;
    return 0;
}

/* Split "<ident> [<direction>]" into the identifier's span and the
 * direction's; returns -1 if the text is not of that shape. */
static int split_clause(const char *s, const search_toks *t, size_t *ioff, size_t *ilen,
                        const search_tok **dir)
{
    size_t i = 0, n = t->n;
    while (i < n && t->v[i].kind == SEARCH_TOK_WS)
        i++;
    if (i >= n || !is_name(t->v[i].kind) || is_reserved(s, &t->v[i]))
        return -1;
    size_t first = i++;
    while (i < n && t->v[i].kind == SEARCH_TOK_DOT) {
        i++;
        if (i < n && (is_name(t->v[i].kind) || t->v[i].kind == SEARCH_TOK_STR))
            i++;
    }
    *ioff = t->v[first].off;
    *ilen = t->v[i - 1].off + t->v[i - 1].len - *ioff;
    *dir = NULL;
    if (i < n && t->v[i].kind == SEARCH_TOK_WS && i + 1 < n && is_name(t->v[i + 1].kind)) {
        *dir = &t->v[i + 1];
        i += 2;
    }
    while (i < n && t->v[i].kind == SEARCH_TOK_WS)
        i++;
    return i == n ? 0 : -1;
}

/* One clause: identifier, entity and key, direction. */
static int parse_one(const char *s, search_flavor flavor, search_order *o, cerr *e)
{
    size_t len = strlen(s);
    if (len > SEARCH_MAX_ORDER_BY_LEN)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "order_by clause is %zu characters long; at most %d are allowed", len,
                        SEARCH_MAX_ORDER_BY_LEN);
    search_toks t;
    search_lex(s, len, &t);
    size_t ioff = 0, ilen = 0;
    const search_tok *dir = NULL;
    int rv = split_clause(s, &t, &ioff, &ilen, &dir);
    o->ascending = 1;
    if (rv < 0) {
        rv = cannot_parse(s, e);
    } else if (dir != NULL) {
        char *d = shlex_word(s + dir->off, dir->len);
        if (strcasecmp(d, "asc") != 0 && strcasecmp(d, "desc") != 0)
            rv = cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                          "Invalid ordering key in order_by clause '%s'.", s);
        o->ascending = strcasecmp(d, "asc") == 0;
        free(d);
    }
    if (rv == 0) {
        char *ident = shlex_word(s + ioff, ilen);
        rv = search_ident(ident, strlen(ident), flavor, 1, &o->entity, &o->key, e);
        free(ident);
    }
    search_toks_free(&t);
    return rv;
}

/* SearchUtils.translate_key_alias, for the keys order_by accepts. */
static void translate_alias(search_order *o)
{
    if (o->entity == SEARCH_ENT_ATTRIBUTE &&
        (strcmp(o->key, "created") == 0 || strcmp(o->key, "Created") == 0)) {
        free(o->key);
        o->key = search_strndup("start_time", 10);
    }
}

static int duplicate_error(const char **order_by, size_t n, cerr *e)
{
    sbuf b = SBUF_INIT;
    sbuf_putc(&b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            sbuf_puts(&b, ", ");
        search_py_repr(&b, order_by[i] ? order_by[i] : "");
    }
    sbuf_putc(&b, ']');
    cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "`order_by` contains duplicate fields: %s",
             sbuf_str(&b));
    sbuf_free(&b);
    return -1;
}

static int runs_checks(const char **order_by, size_t n, search_orders *o, cerr *e)
{
    search_order *cur = &o->v[o->n - 1];
    translate_alias(cur);
    if (cur->entity == SEARCH_ENT_DATASET)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid identifier type '%s'",
                        search_entity_name(cur->entity));
    for (size_t i = 0; i + 1 < o->n; i++)
        if (o->v[i].entity == cur->entity && strcmp(o->v[i].key, cur->key) == 0)
            return duplicate_error(order_by, n, e);
    return 0;
}

static int experiments_checks(search_orders *o, cerr *e)
{
    search_order *cur = &o->v[o->n - 1];
    if (cur->entity != SEARCH_ENT_ATTRIBUTE)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid order_by entity: %s",
                        search_entity_name(cur->entity));
    return 0;
}

int search_parse_order(const char **order_by, size_t n, search_flavor flavor,
                       search_orders *out, cerr *e)
{
    static const char *const exp_default[] = {"creation_time DESC", "experiment_id ASC"};
    memset(out, 0, sizeof *out);
    if (flavor == SEARCH_FLAVOR_EXPERIMENTS && n == 0)
        order_by = (const char **)exp_default, n = 2;
    if (n > SEARCH_MAX_ORDER_BY)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "order_by has %zu clauses; at most %d are allowed", n,
                        SEARCH_MAX_ORDER_BY);
    out->v = calloc(n ? n : 1, sizeof *out->v);
    if (out->v == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        out->n = i + 1;
        const char *s = order_by[i] ? order_by[i] : "";
        int rv = parse_one(s, flavor, &out->v[i], e);
        if (rv == 0)
            rv = flavor == SEARCH_FLAVOR_RUNS ? runs_checks(order_by, n, out, e)
                                              : experiments_checks(out, e);
        if (rv < 0) {
            search_orders_free(out);
            return -1;
        }
    }
    return 0;
}

void search_orders_free(search_orders *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->v[i].key);
    free(o->v);
    o->v = NULL;
    o->n = 0;
}
