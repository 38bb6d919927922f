/* search_lex.h - tokens of MLflow's search filter, cut the way MLflow's
 * parser (sqlparse) cuts them, so that what MLflow accepts as one token
 * (a quoted string with '' or \' inside, a negative number, "NOT LIKE")
 * is one token here too. Tokens point into the source text; nothing is
 * copied. */
#ifndef CAIRN_SEARCH_LEX_H
#define CAIRN_SEARCH_LEX_H

#include <stddef.h>

#include "../util/err.h"

typedef enum {
    SEARCH_TOK_WS,
    SEARCH_TOK_WORD,   /* \w[$#\w]*: a name or a keyword (AND, OR, NOT, IN) */
    SEARCH_TOK_QNAME,  /* `backtick quoted` name */
    SEARCH_TOK_STR,    /* 'single quoted' string */
    SEARCH_TOK_SYM,    /* "double quoted": a name or a string, by position */
    SEARCH_TOK_INT,    /* -?\d+ */
    SEARCH_TOK_FLOAT,  /* -?\d+\.\d*, -?\.\d+, -?\d+(\.\d+)?e-?\d+ */
    SEARCH_TOK_HEX,    /* -?0x[0-9a-f]+: a number MLflow does not accept */
    SEARCH_TOK_CMP,    /* [<>=~!]+ or [NOT] LIKE|ILIKE|RLIKE|REGEXP */
    SEARCH_TOK_LPAREN,
    SEARCH_TOK_RPAREN,
    SEARCH_TOK_COMMA,
    SEARCH_TOK_DOT,
    SEARCH_TOK_SEMI,
    SEARCH_TOK_OTHER,  /* comments, operators, unterminated quotes, ... */
} search_tok_kind;

typedef struct search_tok {
    search_tok_kind kind;
    size_t off; /* into the source */
    size_t len;
} search_tok;

typedef struct search_toks {
    search_tok *v; /* owned */
    size_t n;
    size_t cap;
} search_toks;

/* Cut s[0..n) into tokens. Never fails on input: anything unknown becomes
 * SEARCH_TOK_OTHER for the parser to reject with MLflow's message. */
void search_lex(const char *s, size_t n, search_toks *out);
void search_toks_free(search_toks *t);

/* True if tok is the word `kw`, compared case-insensitively. */
int search_tok_is_kw(const char *src, const search_tok *tok, const char *kw);

#endif
