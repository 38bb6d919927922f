/* search_value.c - the value side of a comparison, as MLflow's
 * SearchUtils._get_value checks it: numbers for metrics and numeric
 * attributes, quoted strings for the rest, and parenthesised lists of
 * 'strings' for run_id and dataset keys (_parse_run_ids, which reads the
 * list as a Python tuple literal). Messages are MLflow's. */
#include "search_value.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LIST_MSG "While parsing a list in the query, "

static int is_numeric_attr(search_flavor flavor, const char *key)
{
    static const char *const runs[] = {"start_time", "end_time", "created", "Created", NULL};
    static const char *const exps[] = {"creation_time", "last_update_time", NULL};
    const char *const *v = flavor == SEARCH_FLAVOR_RUNS ? runs : exps;
    for (; *v; v++)
        if (strcmp(*v, key) == 0)
            return 1;
    return 0;
}

/* _strip_quotes(value, expect_quoted_value=True): the text between one
 * pair of ' or "; nothing inside is unescaped, exactly as in MLflow. */
static int strip_quotes(const search_v *v, search_cmp *c, cerr *e)
{
    if (v->len >= 2 && (v->text[0] == '\'' || v->text[0] == '"') &&
        v->text[v->len - 1] == v->text[0]) {
        c->kind = SEARCH_VAL_STRING;
        c->str = search_strndup(v->text + 1, v->len - 2);
        return 0;
    }
    return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                    "Parameter value is either not quoted or unidentified quote types used for "
                    "string value %.*s. Use either single or double quotes.",
                    (int)v->len, v->text);
}

static void set_number(const search_v *v, search_cmp *c)
{
    c->kind = SEARCH_VAL_NUMBER;
    c->str = search_strndup(v->text, v->len);
    c->d = strtod(c->str, NULL); /* Python's float(): 1e999 is inf */
    if (v->tk == SEARCH_TOK_INT) {
        errno = 0;
        long long ll = strtoll(c->str, NULL, 10);
        c->is_int = errno != ERANGE;
        c->i = (int64_t)ll;
    }
}

static void put_utf8(sbuf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80)
        u[0] = (char)cp, n = 1;
    else if (cp < 0x800)
        u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 0x3F)),
        u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    else
        u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 0x3F)),
        u[2] = (char)(0x80 | (cp >> 6 & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    sbuf_append(b, u, n);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A numeric escape (\ooo, \xHH, \uHHHH, \UHHHHHHHH) at s[*i] (after the
 * backslash). NUL and surrogates are refused: they cannot be bound as text. */
static int numeric_escape(const char *s, size_t n, size_t *i, sbuf *b)
{
    char k = s[*i];
    uint32_t cp = 0;
    size_t digits = k == 'x' ? 2 : k == 'u' ? 4 : k == 'U' ? 8 : 0, j = *i + 1;
    if (digits == 0) { /* octal, one to three digits */
        for (j = *i; j < n && j < *i + 3 && s[j] >= '0' && s[j] <= '7'; j++)
            cp = cp * 8 + (uint32_t)(s[j] - '0');
    } else {
        for (; digits; digits--, j++) {
            if (j >= n || hexval(s[j]) < 0)
                return -1;
            cp = cp * 16 + (uint32_t)hexval(s[j]);
        }
    }
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    put_utf8(b, cp);
    *i = j;
    return 0;
}

static int simple_escape(char k, char *out)
{
    static const char from[] = "\\'\"abfnrtv", to[] = "\\'\"\a\b\f\n\r\t\v";
    const char *p = strchr(from, k);
    if (p == NULL || k == '\0')
        return -1;
    *out = to[p - from];
    return 0;
}

/* ast.literal_eval of one sqlparse string token: Python escapes, and
 * 'a''b' read as the two adjacent literals 'a' 'b' ("ab"). */
static int py_string(const char *s, size_t n, sbuf *b)
{
    size_t i = 0;
    while (i < n) {
        if (s[i++] != '\'')
            return -1;
        for (;;) {
            if (i >= n || s[i] == '\n' || s[i] == '\r')
                return -1;
            char ch = s[i];
            if (ch == '\'') {
                i++;
                break;
            }
            if (ch != '\\') {
                sbuf_putc(b, ch), i++;
                continue;
            }
            if (++i >= n)
                return -1;
            char out;
            if (s[i] == '\n')
                i++; /* line continuation */
            else if (simple_escape(s[i], &out) == 0)
                sbuf_putc(b, out), i++;
            else if (strchr("01234567xuU", s[i]) != NULL) {
                if (numeric_escape(s, n, &i, b) < 0)
                    return -1;
            } else if (s[i] == 'N')
                return -1; /* \N{name}: not supported */
            else
                sbuf_putc(b, '\\'); /* unknown escapes stay, as in Python */
        }
    }
    return 0;
}

/* str.islower(): some cased character and no upper-case one (ASCII). */
static int py_islower(const char *s)
{
    int lower = 0;
    for (; *s; s++) {
        if (*s >= 'A' && *s <= 'Z')
            return 0;
        lower |= *s >= 'a' && *s <= 'z';
    }
    return lower;
}

static int list_shape(const search_v *v, const search_tok **nw, size_t n, cerr *e)
{
    if (n == 0)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        LIST_MSG "expected a non-empty list of string values, but got empty list");
    if (n == 1 && nw[0]->kind == SEARCH_TOK_STR)
        return 0;
    size_t commas = 0, others = 0;
    for (size_t i = 0; i < n; i++) {
        commas += nw[i]->kind == SEARCH_TOK_COMMA;
        others += nw[i]->kind != SEARCH_TOK_COMMA && nw[i]->kind != SEARCH_TOK_STR;
    }
    if (commas && others)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        LIST_MSG "expected string value, punctuation, or whitespace, but got "
                                 "different type in list: %.*s",
                        (int)v->len, v->text);
    /* 'a', 'b' [,]: strings and commas alternating, one trailing comma. */
    int ok = commas > 0;
    for (size_t i = 0; ok && i < n; i++)
        ok = nw[i]->kind == (i % 2 ? SEARCH_TOK_COMMA : SEARCH_TOK_STR);
    if (!ok)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        LIST_MSG "expected a non-empty list of string values, but got ill-formed "
                                 "list.");
    return 0;
}

static void list_add(search_cmp *c, char *s)
{
    char **l = realloc(c->list, (c->nlist + 1) * sizeof *l);
    if (l == NULL)
        abort();
    c->list = l;
    c->list[c->nlist++] = s;
}

/* _parse_run_ids; only run_id keeps MLflow's filter that drops ids with
 * upper-case letters (see search.c for why datasets do not). */
static int parse_list(const search_v *v, search_cmp *c, size_t *nvalues, cerr *e)
{
    const search_tok **nw = malloc((v->ninner + 1) * sizeof *nw);
    if (nw == NULL)
        abort();
    size_t n = 0;
    for (size_t i = 0; i < v->ninner; i++)
        if (v->inner[i].kind != SEARCH_TOK_WS)
            nw[n++] = &v->inner[i];
    int rv = list_shape(v, nw, n, e);
    c->kind = SEARCH_VAL_LIST;
    for (size_t i = 0; rv == 0 && i < n; i += 2) {
        sbuf b = SBUF_INIT;
        if (py_string(v->src + nw[i]->off, nw[i]->len, &b) < 0) {
            sbuf_free(&b);
            rv = cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                          LIST_MSG "expected a non-empty list of string values, but got "
                                   "ill-formed list.");
        } else if (++*nvalues > SEARCH_MAX_VALUES) {
            sbuf_free(&b);
            rv = cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                          "Search filter has more than %d values in lists", SEARCH_MAX_VALUES);
        } else if (c->entity == SEARCH_ENT_ATTRIBUTE && !py_islower(sbuf_str(&b))) {
            sbuf_free(&b);
        } else {
            list_add(c, sbuf_detach(&b));
        }
    }
    free(nw);
    return rv;
}

static int want_number(const search_v *v, search_cmp *c, const char *what, const char *key,
                       cerr *e)
{
    if (v->kind == SEARCH_V_NUMBER) {
        set_number(v, c);
        return 0;
    }
    if (key)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Expected %s: %s. Found %.*s", what, key,
                        (int)v->len, v->text);
    return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Expected %s. Found %.*s", what,
                    (int)v->len, v->text);
}

static int attribute_value(search_flavor flavor, const search_v *v, search_cmp *c,
                           size_t *nvalues, cerr *e)
{
    if (is_numeric_attr(flavor, c->key))
        return want_number(v, c, "numeric value type for numeric attribute", c->key, e);
    if (v->kind == SEARCH_V_QUOTED)
        return strip_quotes(v, c, e);
    if (v->kind == SEARCH_V_LIST) {
        if (strcmp(c->key, "run_id") != 0)
            return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                            "Only the 'run_id' attribute supports comparison with a list of "
                            "quoted string values.");
        return parse_list(v, c, nvalues, e);
    }
    return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                    "Expected a quoted string value for attributes. Got value %.*s", (int)v->len,
                    v->text);
}

int search_value(search_flavor flavor, const search_v *v, search_cmp *c, size_t *nvalues,
                 cerr *e)
{
    switch (c->entity) {
    case SEARCH_ENT_METRIC:
        return want_number(v, c, "numeric value type for metric", NULL, e);
    case SEARCH_ENT_PARAM:
    case SEARCH_ENT_TAG:
        if (v->kind == SEARCH_V_QUOTED)
            return strip_quotes(v, c, e);
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Expected a quoted string value for %s (e.g. 'my-value'). Got value %.*s",
                        search_entity_name(c->entity), (int)v->len, v->text);
    case SEARCH_ENT_ATTRIBUTE:
        return attribute_value(flavor, v, c, nvalues, e);
    case SEARCH_ENT_DATASET:
        if (v->kind == SEARCH_V_QUOTED)
            return strip_quotes(v, c, e);
        if (v->kind == SEARCH_V_LIST)
            return parse_list(v, c, nvalues, e);
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Expected a quoted string value for dataset attributes. Got value %.*s",
                        (int)v->len, v->text);
    }
    return cerr_set(e, CERR_INTERNAL_ERROR, "unknown search entity");
}
