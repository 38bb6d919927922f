/* search_parse.c - MLflow search filter text -> search_filter AST.
 *
 * Follows SearchUtils.parse_search_filter: the text is cut into tokens,
 * tokens are grouped as sqlparse groups them (dotted identifiers,
 * parentheses, "<ident> <op> <value>" comparisons, "<ident> [NOT] IN (...)"),
 * every top-level item that is neither a comparison nor AND is reported as
 * an invalid clause, and each comparison's identifier and value are then
 * checked with MLflow's rules and messages (_get_identifier, _get_value).
 * Like MLflow, a missing AND between two comparisons is tolerated. */
#include "search_ast.h"
#include "search_lex.h"
#include "search_value.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef enum { IT_IDENT, IT_STR, IT_NUM, IT_HEX, IT_CMP, IT_PAREN, IT_AND, IT_KW, IT_OTHER } item_kind;

typedef struct item {
    item_kind kind;
    size_t off, len; /* source span */
    size_t t0, t1;   /* IT_PAREN: inner tokens [t0, t1) */
    search_tok_kind tk;
} item;

typedef struct items {
    item *v;
    size_t n, cap;
} items;

/* A comparison before its identifier and value are checked. */
typedef struct raw_cmp {
    const item *left, *right;
    const char *op;
    size_t oplen;
} raw_cmp;

typedef struct parser {
    const char *src;
    search_toks toks;
    items it;
    search_flavor flavor;
    size_t nvalues; /* list values so far, for SEARCH_MAX_VALUES */
    size_t *close;  /* owned; see match_parens() */
} parser;

static void items_push(items *it, item x)
{
    if (it->n == it->cap) {
        it->cap = it->cap ? it->cap * 2 : 16;
        item *v = realloc(it->v, it->cap * sizeof *v);
        if (v == NULL)
            abort();
        it->v = v;
    }
    it->v[it->n++] = x;
}

static const search_tok *tok_at(const parser *p, size_t i) { return &p->toks.v[i]; }

static int is_name_tok(search_tok_kind k)
{
    return k == SEARCH_TOK_WORD || k == SEARCH_TOK_QNAME || k == SEARCH_TOK_SYM;
}

/* sqlparse's group_period: name(.name)*, where a name after a dot may also
 * be a 'string', and a trailing dot belongs to the identifier. */
static size_t ident_end(const parser *p, size_t i)
{
    size_t j = i + 1;
    while (j < p->toks.n && tok_at(p, j)->kind == SEARCH_TOK_DOT) {
        j++;
        if (j < p->toks.n && (is_name_tok(tok_at(p, j)->kind) || tok_at(p, j)->kind == SEARCH_TOK_STR))
            j++;
    }
    return j;
}

/* For every '(' the index of its ')' (0 if it has none), in one pass so
 * that a filter of a million '(' costs no more than one of a million 'a'. */
static void match_parens(parser *p)
{
    size_t n = p->toks.n, depth = 0;
    size_t *open = malloc((n + 1) * sizeof *open);
    p->close = calloc(n + 1, sizeof *p->close);
    if (open == NULL || p->close == NULL)
        abort();
    for (size_t j = 0; j < n; j++) {
        search_tok_kind k = tok_at(p, j)->kind;
        if (k == SEARCH_TOK_LPAREN)
            open[depth++] = j;
        else if (k == SEARCH_TOK_RPAREN && depth > 0)
            p->close[open[--depth]] = j;
    }
    free(open);
}

static int is_keyword(const parser *p, const search_tok *t)
{
    return search_tok_is_kw(p->src, t, "OR") || search_tok_is_kw(p->src, t, "NOT") ||
           search_tok_is_kw(p->src, t, "IN");
}

/* Group one top-level item starting at token i; returns the next token. */
static size_t group_one(parser *p, size_t i)
{
    const search_tok *t = tok_at(p, i);
    item x = {IT_OTHER, t->off, t->len, 0, 0, t->kind};
    size_t next = i + 1;
    int before_dot = i + 1 < p->toks.n && tok_at(p, i + 1)->kind == SEARCH_TOK_DOT;
    if (search_tok_is_kw(p->src, t, "AND") && !before_dot) {
        x.kind = IT_AND;
    } else if (is_keyword(p, t) && !before_dot) {
        x.kind = IT_KW;
    } else if (is_name_tok(t->kind)) {
        next = ident_end(p, i);
        const search_tok *last = tok_at(p, next - 1);
        x.kind = IT_IDENT;
        x.len = last->off + last->len - t->off;
    } else if (t->kind == SEARCH_TOK_STR) {
        x.kind = IT_STR;
    } else if (t->kind == SEARCH_TOK_INT || t->kind == SEARCH_TOK_FLOAT) {
        x.kind = IT_NUM;
    } else if (t->kind == SEARCH_TOK_HEX) {
        x.kind = IT_HEX;
    } else if (t->kind == SEARCH_TOK_CMP) {
        x.kind = IT_CMP;
    } else if (t->kind == SEARCH_TOK_LPAREN) {
        size_t rp = p->close[i];
        if (rp) {
            const search_tok *c = tok_at(p, rp);
            x = (item){IT_PAREN, t->off, c->off + c->len - t->off, i + 1, rp, t->kind};
            next = rp + 1;
        }
    }
    items_push(&p->it, x);
    return next;
}

static void group_items(parser *p)
{
    match_parens(p);
    for (size_t i = 0; i < p->toks.n;)
        i = tok_at(p, i)->kind == SEARCH_TOK_WS ? i + 1 : group_one(p, i);
}

static int is_operand(const item *x)
{
    return x->kind == IT_IDENT || x->kind == IT_STR || x->kind == IT_NUM || x->kind == IT_HEX ||
           x->kind == IT_PAREN;
}

static int item_is_kw(const parser *p, const item *x, const char *kw)
{
    size_t n = strlen(kw);
    return x->kind == IT_KW && x->len == n && strncasecmp(p->src + x->off, kw, n) == 0;
}

/* A comparison at item k: "<operand> <op> <operand>", "<ident> IN (..)"
 * or "<ident> NOT IN (..)". Returns the items it spans, or 0. */
static size_t match_cmp(const parser *p, size_t k, raw_cmp *rc)
{
    const item *v = p->it.v;
    size_t n = p->it.n;
    if (!is_operand(&v[k]))
        return 0;
    if (k + 2 < n && v[k + 1].kind == IT_CMP && is_operand(&v[k + 2])) {
        *rc = (raw_cmp){&v[k], &v[k + 2], p->src + v[k + 1].off, v[k + 1].len};
        return 3;
    }
    if (v[k].kind != IT_IDENT)
        return 0;
    if (k + 2 < n && item_is_kw(p, &v[k + 1], "IN") && v[k + 2].kind == IT_PAREN) {
        *rc = (raw_cmp){&v[k], &v[k + 2], "IN", 2};
        return 3;
    }
    if (k + 3 < n && item_is_kw(p, &v[k + 1], "NOT") && item_is_kw(p, &v[k + 2], "IN") &&
        v[k + 3].kind == IT_PAREN) {
        *rc = (raw_cmp){&v[k], &v[k + 3], "NOT IN", 6};
        return 4;
    }
    return 0;
}

static void add_invalid(const parser *p, sbuf *b, const item *x)
{
    if (b->len > CERR_MSG_MAX)
        return; /* the message is cut at CERR_MSG_MAX anyway */
    if (b->len)
        sbuf_puts(b, ", ");
    int quote = p->flavor == SEARCH_FLAVOR_RUNS; /* the two MLflow messages differ */
    if (quote)
        sbuf_putc(b, '\'');
    sbuf_append(b, p->src + x->off, x->len);
    if (quote)
        sbuf_putc(b, '\'');
}

/* _process_statement: split items into comparisons, ANDs and invalid
 * clauses; report every invalid clause at once, as MLflow does. */
static int split_statement(const parser *p, raw_cmp **out, size_t *nout, cerr *e)
{
    raw_cmp *cmps = calloc(p->it.n ? p->it.n : 1, sizeof *cmps);
    if (cmps == NULL)
        abort();
    size_t nc = 0;
    sbuf bad = SBUF_INIT;
    for (size_t k = 0; k < p->it.n;) {
        size_t used = match_cmp(p, k, &cmps[nc]);
        if (used) {
            nc++, k += used;
            continue;
        }
        if (p->it.v[k].kind != IT_AND)
            add_invalid(p, &bad, &p->it.v[k]);
        k++;
    }
    if (bad.len) {
        cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid clause(s) in filter string: %s",
                 sbuf_str(&bad));
        sbuf_free(&bad);
        free(cmps);
        return -1;
    }
    if (nc > SEARCH_MAX_CLAUSES) {
        free(cmps);
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Search filter has %zu comparisons; at most %d are allowed", nc,
                        SEARCH_MAX_CLAUSES);
    }
    *out = cmps;
    *nout = nc;
    return 0;
}

/* sqlparse splits statements at ';': anything after one is a second
 * expression. A trailing ';' stays in the statement (an invalid clause). */
static int check_single_statement(const parser *p, const char *filter, cerr *e)
{
    size_t i = 0;
    while (i < p->toks.n && tok_at(p, i)->kind != SEARCH_TOK_SEMI)
        i++;
    for (i++; i < p->toks.n; i++)
        if (tok_at(p, i)->kind != SEARCH_TOK_WS)
            return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                            "Search filter contained multiple expression '%s'. Provide AND-ed "
                            "expression list.",
                            filter);
    return 0;
}

static void cmp_free(search_cmp *c)
{
    free(c->key);
    free(c->op);
    free(c->str);
    for (size_t i = 0; i < c->nlist; i++)
        free(c->list[i]);
    free(c->list);
}

void search_filter_free(search_filter *f)
{
    for (size_t i = 0; i < f->n; i++)
        cmp_free(&f->cmps[i]);
    free(f->cmps);
    f->cmps = NULL;
    f->n = 0;
}

static char *upper_dup(const char *s, size_t n)
{
    char *u = search_strndup(s, n);
    for (size_t i = 0; i < n; i++)
        u[i] = (char)toupper((unsigned char)u[i]);
    return u;
}

/* _get_comparison: the identifier, the comparator, then the value. */
static int build_cmp(parser *p, const raw_cmp *rc, search_cmp *c, cerr *e)
{
    const item *l = rc->left;
    if (l->kind != IT_IDENT)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Invalid comparison clause. Expected 'Identifier' found '%.*s'",
                        (int)l->len, p->src + l->off);
    if (search_ident(p->src + l->off, l->len, p->flavor, 0, &c->entity, &c->key, e) < 0)
        return -1;
    /* Case-insensitive keywords: MLflow's run search upper-cases the
     * comparator; we do it for experiments too (see search.c). */
    c->op = upper_dup(rc->op, rc->oplen);
    const item *r = rc->right;
    search_v v = {SEARCH_V_OTHER, p->src + r->off, r->len, r->tk, NULL, 0, p->src};
    if (r->kind == IT_STR || r->kind == IT_IDENT)
        v.kind = SEARCH_V_QUOTED;
    else if (r->kind == IT_NUM)
        v.kind = SEARCH_V_NUMBER;
    else if (r->kind == IT_PAREN)
        v.kind = SEARCH_V_LIST, v.inner = &p->toks.v[r->t0], v.ninner = r->t1 - r->t0;
    return search_value(p->flavor, &v, c, &p->nvalues, e);
}

static int build_filter(parser *p, const raw_cmp *rc, size_t nc, search_filter *out, cerr *e)
{
    out->cmps = calloc(nc ? nc : 1, sizeof *out->cmps);
    if (out->cmps == NULL)
        abort();
    for (size_t i = 0; i < nc; i++) {
        out->n = i + 1; /* so search_filter_free releases a half-built one */
        if (build_cmp(p, &rc[i], &out->cmps[i], e) < 0)
            return -1;
    }
    out->n = nc;
    return 0;
}

int search_parse_filter(const char *filter, search_flavor flavor, search_filter *out, cerr *e)
{
    memset(out, 0, sizeof *out);
    if (filter == NULL || filter[0] == '\0')
        return 0;
    size_t len = strlen(filter);
    if (len > SEARCH_MAX_FILTER_LEN)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Search filter is %zu characters long; at most %d are allowed", len,
                        SEARCH_MAX_FILTER_LEN);
    parser p = {.src = filter, .flavor = flavor};
    search_lex(filter, len, &p.toks);
    raw_cmp *rc = NULL;
    size_t nc = 0;
    int rv = check_single_statement(&p, filter, e);
    if (rv == 0) {
        group_items(&p);
        rv = split_statement(&p, &rc, &nc, e);
    }
    if (rv == 0)
        rv = build_filter(&p, rc, nc, out, e);
    if (rv < 0)
        search_filter_free(out);
    free(rc);
    free(p.it.v);
    free(p.close);
    search_toks_free(&p.toks);
    return rv;
}
