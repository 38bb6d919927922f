/* search_ast.h - the parsed form of an MLflow search filter and order_by
 * list, shared by the parser (search_parse.c, search_order.c) and the SQL
 * compiler (search_compile.c). Internal to store/; callers use search.h.
 *
 * The AST keeps what MLflow's SearchUtils keeps after parsing: the entity
 * type, the unquoted key, the comparator as typed (upper-cased) and the value
 * (a string, a number or a list of strings). Comparator validity is checked
 * at compile time, as MLflow's SqlAlchemyStore does, so errors come out in
 * MLflow's order. */
#ifndef CAIRN_SEARCH_AST_H
#define CAIRN_SEARCH_AST_H

#include <stddef.h>
#include <stdint.h>

#include "../util/err.h"
#include "../util/sbuf.h"
#include "search.h"

/* Limits. MLflow has none; a C server needs its memory and the number of
 * SQL variables bounded (SQLite's default maximum is 32766). An IN list of
 * 10000 run ids is about 360 KB of filter text. */
#define SEARCH_MAX_FILTER_LEN (512 * 1024)
#define SEARCH_MAX_CLAUSES 256
#define SEARCH_MAX_VALUES 10000 /* strings in all IN lists together */
#define SEARCH_MAX_ORDER_BY 64
#define SEARCH_MAX_ORDER_BY_LEN 4096

/* Which search: the two accept different identifiers and keys. */
typedef enum { SEARCH_FLAVOR_RUNS, SEARCH_FLAVOR_EXPERIMENTS } search_flavor;

/* MLflow's identifier types; names as MLflow prints them are in
 * search_entity_name(). */
typedef enum {
    SEARCH_ENT_METRIC,
    SEARCH_ENT_PARAM,
    SEARCH_ENT_TAG,
    SEARCH_ENT_ATTRIBUTE,
    SEARCH_ENT_DATASET,
} search_entity;

typedef enum {
    SEARCH_VAL_STRING, /* str: unquoted text */
    SEARCH_VAL_NUMBER, /* str: the literal; is_int, i, d: its value */
    SEARCH_VAL_LIST,   /* list/nlist: the strings of a parenthesised list */
} search_value_kind;

typedef struct search_cmp {
    search_entity entity;
    char *key;  /* owned; unquoted, aliases not yet translated */
    char *op;   /* owned; comparator as typed, upper-cased ("NOT IN", "<=") */
    search_value_kind kind;
    char *str;  /* owned; SEARCH_VAL_STRING and SEARCH_VAL_NUMBER */
    int is_int; /* SEARCH_VAL_NUMBER: an integer literal that fits int64 */
    int64_t i;
    double d;
    char **list; /* owned, SEARCH_VAL_LIST */
    size_t nlist;
} search_cmp;

typedef struct search_filter {
    search_cmp *cmps; /* owned */
    size_t n;
} search_filter;

typedef struct search_order {
    search_entity entity;
    char *key; /* owned; for runs already alias-translated */
    int ascending;
} search_order;

typedef struct search_orders {
    search_order *v; /* owned */
    size_t n;
} search_orders;

/* search_parse.c: filter text -> AST. NULL or "" gives an empty filter. */
int search_parse_filter(const char *filter, search_flavor flavor, search_filter *out, cerr *e);
void search_filter_free(search_filter *f);

/* search_ident.c: MLflow's _get_identifier / _get_value rules, shared by the
 * filter and order_by parsers. `ident` is an identifier's raw text. */
int search_ident(const char *ident, size_t len, search_flavor flavor, int for_order,
                 search_entity *ent, char **key, cerr *e);
const char *search_entity_name(search_entity ent);
char *search_strndup(const char *s, size_t n);
/* Python's repr of a str, as MLflow's messages print list items. */
void search_py_repr(sbuf *b, const char *s);

/* search_order.c: order_by strings -> AST, with MLflow's checks (runs:
 * duplicates, entity types). For experiments an empty list gives MLflow's
 * default ["creation_time DESC", "experiment_id ASC"]. */
int search_parse_order(const char **order_by, size_t n, search_flavor flavor,
                       search_orders *out, cerr *e);
void search_orders_free(search_orders *o);

/* search_compile.c: AST -> SQL text plus binds. */
typedef struct search_emit {
    search_sql *out;
    search_dialect dialect;
    int next_param; /* PostgreSQL: number of the next $N; 0 for '?' */
    size_t cap;     /* allocated length of out->binds */
    int per_run;    /* child-table tests as per-run EXISTS probes (driven
                     * plans stop early) rather than IN lists */
} search_emit;

void search_emit_init(search_emit *em, search_sql *out, search_dialect dialect, int first_param);
/* Whether the runs query can walk the first order key's metric (search.h's
 * `driven`): it is a metric the filter requires present and not NaN. */
int search_runs_drivable(const search_filter *f, const search_orders *o);
/* With out->driven set, the WHERE starts with the driving key's test. */
int search_compile_runs_where(const search_filter *f, const search_orders *o, search_emit *em,
                              cerr *e);
void search_compile_runs_order(const search_orders *o, search_emit *em);
int search_compile_experiments_where(const search_filter *f, search_emit *em, cerr *e);
void search_compile_experiments_order(const search_orders *o, search_emit *em);

#endif
