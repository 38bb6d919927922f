/* search_value.h - MLflow's value rules (_get_value, _parse_run_ids) for
 * one comparison, used by the filter parser. Internal to store/. */
#ifndef CAIRN_SEARCH_VALUE_H
#define CAIRN_SEARCH_VALUE_H

#include <stddef.h>

#include "search_ast.h"
#include "search_lex.h"

typedef enum {
    SEARCH_V_QUOTED, /* a 'string' or an identifier ("x", `x`, a.b, x) */
    SEARCH_V_NUMBER, /* an integer or float literal */
    SEARCH_V_LIST,   /* a parenthesised group */
    SEARCH_V_OTHER,  /* anything else MLflow lets through (0x1F) */
} search_v_kind;

typedef struct search_v {
    search_v_kind kind;
    const char *text; /* the value as written, for messages */
    size_t len;
    search_tok_kind tk;       /* SEARCH_V_NUMBER: INT or FLOAT */
    const search_tok *inner;  /* SEARCH_V_LIST: tokens between the parentheses */
    size_t ninner;
    const char *src;          /* what inner's offsets refer to */
} search_v;

/* Fill c->kind and the value fields for entity c->entity and key c->key;
 * *nvalues counts list strings across the filter (SEARCH_MAX_VALUES). */
int search_value(search_flavor flavor, const search_v *v, search_cmp *c, size_t *nvalues,
                 cerr *e);

#endif
