/* search_lex.c - the search filter lexer.
 *
 * Mirrors the subset of sqlparse's SQL_REGEX that can matter in an MLflow
 * filter, in sqlparse's order of precedence: comments, whitespace, quoted
 * names and strings, numbers, comparison operators, words, punctuation.
 * Quoted tokens follow sqlparse's regexes exactly, including their
 * backtracking: 'C:\dir\' is one string (the \' escape is given back so the
 * quote can close the string), as it is in MLflow. */
#include "search_lex.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Python's \w, approximated for UTF-8: any non-ASCII byte is a word byte. */
static int is_word(unsigned char c) { return isalnum(c) || c == '_' || c >= 0x80; }

/* sqlparse's (?![_A-ZÀ-Ü]) after a number: a letter or '_' may not follow. */
static int is_num_stop(unsigned char c) { return !(isalpha(c) || c == '_' || c >= 0x80); }

static void push(search_toks *t, search_tok_kind kind, size_t off, size_t len)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 32;
        search_tok *v = realloc(t->v, t->cap * sizeof *v);
        if (v == NULL)
            abort(); /* as sbuf does: no useful answer without memory */
        t->v = v;
    }
    t->v[t->n++] = (search_tok){kind, off, len};
}

/* One alternative of the quoted-token loop (''|\\\\|\\'|[^']) at i, the
 * alt-th in regex order; returns the bytes it consumes or 0. */
static size_t quote_alt(const char *s, size_t n, size_t i, char q, int bs, int alt)
{
    int two = i + 1 < n;
    switch (alt) {
    case 0: return (s[i] == q && two && s[i + 1] == q) ? 2 : 0;
    case 1: return (bs && s[i] == '\\' && two && s[i + 1] == '\\') ? 2 : 0;
    case 2: return (bs && s[i] == '\\' && two && s[i + 1] == q) ? 2 : 0;
    case 3: return s[i] != q ? 1 : 0;
    default: return 0;
    }
}

/* Match q(alts)*q at s[start] as Python's re would: a depth-first search
 * that tries a greedy loop first, then each alternative in order, then the
 * closing quote. Positions already known to fail are remembered, so the
 * search is linear. Returns the token length, or 0 if nothing matches. */
static size_t lex_quoted_dfs(const char *s, size_t n, size_t start, char q, int bs)
{
    size_t m = n - start;
    unsigned char *dead = calloc(m + 1, 1);
    size_t *pos = malloc((m + 1) * sizeof *pos);
    int *alt = malloc((m + 1) * sizeof *alt);
    if (dead == NULL || pos == NULL || alt == NULL)
        abort();
    size_t depth = 0, result = 0;
    pos[0] = start + 1;
    alt[0] = 0;
    for (;;) {
        size_t i = pos[depth];
        size_t step = 0;
        while (i < n && !dead[i - start] && alt[depth] < 4 && step == 0)
            step = quote_alt(s, n, i, q, bs, alt[depth]++);
        if (step) { /* descend: one more loop iteration */
            pos[++depth] = i + step;
            alt[depth] = 0;
            continue;
        }
        if (i < n && s[i] == q) { /* leave the loop and close here */
            result = i + 1 - start;
            break;
        }
        dead[i - start] = 1;
        if (depth == 0)
            break;
        depth--;
    }
    free(dead);
    free(pos);
    free(alt);
    return result;
}

/* The regex's first path: take the first alternative that applies at each
 * step. It ends at a lone quote (the match) or at the end of the text; only
 * then can backtracking find another match, so the search runs only then. */
static size_t lex_quoted(const char *s, size_t n, size_t start, char q, int bs)
{
    size_t i = start + 1;
    while (i < n) {
        size_t step = 0;
        for (int alt = 0; alt < 4 && step == 0; alt++)
            step = quote_alt(s, n, i, q, bs, alt);
        if (step == 0)
            return i + 1 - start; /* s[i] is a lone closing quote */
        i += step;
    }
    return lex_quoted_dfs(s, n, start, q, bs);
}

/* A number at s[i], following sqlparse's four number regexes in order. */
static size_t lex_number(const char *s, size_t n, size_t i, search_tok_kind *kind)
{
    size_t p = i + (s[i] == '-');
    if (p + 1 < n && s[p] == '0' && (s[p + 1] == 'x' || s[p + 1] == 'X') && p + 2 < n &&
        isxdigit((unsigned char)s[p + 2])) {
        size_t q = p + 2;
        while (q < n && isxdigit((unsigned char)s[q]))
            q++;
        *kind = SEARCH_TOK_HEX;
        return q - i;
    }
    size_t d = p;
    while (d < n && isdigit((unsigned char)s[d]))
        d++;
    if (d > p) { /* -?\d+(\.\d+)?E-?\d+ */
        size_t q = d;
        if (q + 1 < n && s[q] == '.' && isdigit((unsigned char)s[q + 1]))
            for (q++; q < n && isdigit((unsigned char)s[q]);)
                q++;
        if (q < n && (s[q] == 'e' || s[q] == 'E')) {
            size_t r = q + 1 + (q + 1 < n && s[q + 1] == '-');
            size_t r0 = r;
            while (r < n && isdigit((unsigned char)s[r]))
                r++;
            if (r > r0) {
                *kind = SEARCH_TOK_FLOAT;
                return r - i;
            }
        }
    }
    size_t q = d;
    if (q < n && s[q] == '.' && (d > p || (q + 1 < n && isdigit((unsigned char)s[q + 1])))) {
        for (q++; q < n && isdigit((unsigned char)s[q]);)
            q++;
        if (q >= n || is_num_stop((unsigned char)s[q])) {
            *kind = SEARCH_TOK_FLOAT;
            return q - i;
        }
    }
    if (d > p && (d >= n || is_num_stop((unsigned char)s[d]))) {
        *kind = SEARCH_TOK_INT;
        return d - i;
    }
    return 0;
}

static size_t word_len(const char *s, size_t n, size_t i)
{
    size_t q = i + 1;
    while (q < n && (is_word((unsigned char)s[q]) || s[q] == '$' || s[q] == '#'))
        q++;
    return q - i;
}

static int word_eq(const char *s, size_t len, const char *kw)
{
    return strlen(kw) == len && strncasecmp(s, kw, len) == 0;
}

static int is_like_word(const char *s, size_t len)
{
    return word_eq(s, len, "LIKE") || word_eq(s, len, "ILIKE") || word_eq(s, len, "RLIKE") ||
           word_eq(s, len, "REGEXP");
}

/* (NOT\s+)?(LIKE|ILIKE|RLIKE|REGEXP)\b at a word of length wl; returns the
 * operator's length or 0. A word followed by '.' is a name (sqlparse tries
 * that rule first), so "like.x" stays an identifier. */
static size_t lex_like(const char *s, size_t n, size_t i, size_t wl)
{
    if (i + wl < n && s[i + wl] == '.')
        return 0;
    if (is_like_word(s + i, wl))
        return wl;
    if (!word_eq(s + i, wl, "NOT"))
        return 0;
    size_t p = i + wl;
    while (p < n && isspace((unsigned char)s[p]))
        p++;
    if (p == i + wl || p >= n || !is_word((unsigned char)s[p]))
        return 0;
    size_t l2 = word_len(s, n, p);
    return is_like_word(s + p, l2) ? p + l2 - i : 0;
}

/* Comments: (--|# ).*?(\r\n|\r|\n|$) and /\* ... *\/. */
static size_t lex_comment(const char *s, size_t n, size_t i)
{
    if ((s[i] == '-' && i + 1 < n && s[i + 1] == '-') ||
        (s[i] == '#' && i + 1 < n && s[i + 1] == ' ')) {
        size_t q = i;
        while (q < n && s[q] != '\n' && s[q] != '\r')
            q++;
        if (q < n)
            q += (s[q] == '\r' && q + 1 < n && s[q + 1] == '\n') ? 2 : 1;
        return q - i;
    }
    if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
        const char *end = NULL;
        for (size_t q = i + 2; q + 1 < n; q++)
            if (s[q] == '*' && s[q + 1] == '/') {
                end = s + q + 2;
                break;
            }
        return end ? (size_t)(end - (s + i)) : 0;
    }
    return 0;
}

static search_tok_kind punct_kind(char c)
{
    switch (c) {
    case '(': return SEARCH_TOK_LPAREN;
    case ')': return SEARCH_TOK_RPAREN;
    case ',': return SEARCH_TOK_COMMA;
    case '.': return SEARCH_TOK_DOT;
    case ';': return SEARCH_TOK_SEMI;
    default: return SEARCH_TOK_OTHER;
    }
}

/* Quoted tokens: ` names, ' strings, " symbols. */
static size_t lex_quote_tok(const char *s, size_t n, size_t i, search_tok_kind *kind)
{
    char c = s[i];
    *kind = c == '`' ? SEARCH_TOK_QNAME : c == '\'' ? SEARCH_TOK_STR : SEARCH_TOK_SYM;
    return lex_quoted(s, n, i, c, c != '`');
}

/* One token at s[i]; returns its length (always >= 1). */
static size_t lex_one(const char *s, size_t n, size_t i, search_tok_kind *kind)
{
    unsigned char c = (unsigned char)s[i];
    size_t len;
    if ((len = lex_comment(s, n, i)) != 0)
        return *kind = SEARCH_TOK_OTHER, len;
    if (isspace(c))
        return *kind = SEARCH_TOK_WS, 1;
    if (c == '`' || c == '\'' || c == '"') {
        if ((len = lex_quote_tok(s, n, i, kind)) != 0)
            return len;
        return *kind = SEARCH_TOK_OTHER, 1; /* sqlparse's Error token */
    }
    if ((isdigit(c) || c == '-' || c == '.') && (len = lex_number(s, n, i, kind)) != 0)
        return len;
    if (strchr("<>=~!", c) != NULL) {
        len = 1;
        while (i + len < n && strchr("<>=~!", s[i + len]) != NULL && s[i + len] != '\0')
            len++;
        return *kind = SEARCH_TOK_CMP, len;
    }
    if (is_word(c)) {
        size_t wl = word_len(s, n, i);
        if ((len = lex_like(s, n, i, wl)) != 0)
            return *kind = SEARCH_TOK_CMP, len;
        return *kind = SEARCH_TOK_WORD, wl;
    }
    if (strchr("+/@#%^&|-", c) != NULL && c != '\0') {
        len = 1;
        while (i + len < n && s[i + len] != '\0' && strchr("+/@#%^&|-", s[i + len]) != NULL)
            len++;
        return *kind = SEARCH_TOK_OTHER, len;
    }
    *kind = punct_kind((char)c);
    return 1;
}

void search_lex(const char *s, size_t n, search_toks *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n;) {
        search_tok_kind kind;
        size_t len = lex_one(s, n, i, &kind);
        /* Merge whitespace runs: the parser only needs to know there was
         * some, and it keeps the token array short. */
        if (kind == SEARCH_TOK_WS && out->n && out->v[out->n - 1].kind == SEARCH_TOK_WS)
            out->v[out->n - 1].len += len;
        else
            push(out, kind, i, len);
        i += len;
    }
}

void search_toks_free(search_toks *t)
{
    free(t->v);
    memset(t, 0, sizeof *t);
}

int search_tok_is_kw(const char *src, const search_tok *tok, const char *kw)
{
    return tok->kind == SEARCH_TOK_WORD && word_eq(src + tok->off, tok->len, kw);
}
