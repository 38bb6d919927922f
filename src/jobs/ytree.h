/* ytree.h - a small bounded document tree read from YAML (libyaml) or JSON
 * (jansson), the common input of the MLproject and backend-config parsers.
 *
 * Both parsers check shapes and types on this one tree, so a YAML and a JSON
 * config are judged by the same code. Outside input is bounded: the text, the
 * nesting depth, the node count, the entries of one collection and the length
 * of one scalar each have a named limit, and YAML aliases are refused (an
 * MLproject or a config never needs them, and expanding them is how a few
 * bytes become gigabytes). Duplicate mapping keys are an error. Positions are
 * 1-based YAML line and column; JSON nodes have none (line 0). */
#ifndef CAIRN_YTREE_H
#define CAIRN_YTREE_H

#include <stdbool.h>
#include <stddef.h>

#include "../util/err.h"

#define YTREE_TEXT_MAX (1024 * 1024)   /* bytes of input */
#define YTREE_DEPTH_MAX 32             /* nested collections */
#define YTREE_NODES_MAX 20000          /* nodes in one document */
#define YTREE_ITEMS_MAX 1024           /* entries of one mapping or sequence */
#define YTREE_SCALAR_MAX 65536         /* bytes of one scalar */

typedef enum { YTREE_SCALAR, YTREE_MAP, YTREE_SEQ } ytree_kind;

/* How a scalar was written: a YAML plain scalar is typed by its text (null,
 * true, 12 ...), a quoted YAML scalar or a JSON string is a string, and JSON
 * numbers, booleans and null keep their JSON type. */
typedef enum { YTREE_PLAIN, YTREE_STRING, YTREE_NUMBER, YTREE_BOOL, YTREE_NULL } ytree_style;

typedef struct ytree {
    ytree_kind kind;
    ytree_style style;   /* scalars only */
    char *text;          /* scalars: the text ("true", "12", "" for null) */
    size_t line, col;    /* YAML: 1-based position; JSON: 0 */
    struct ytree **items; /* map: key, value, key, value ...; seq: items */
    size_t n;
} ytree;

/* Parse one YAML document; an empty text gives a null scalar. Errors carry
 * the line and column. */
int ytree_from_yaml(const char *text, size_t len, ytree **out, cerr *e);
/* Parse one JSON value (duplicate keys refused). */
int ytree_from_json(const char *text, size_t len, ytree **out, cerr *e);
void ytree_free(ytree *t);

/* A null scalar: JSON null, or YAML "", "~", "null", "Null", "NULL" unquoted. */
bool ytree_is_null(const ytree *t);
/* "a mapping", "a list", "a string" ... for error messages. */
const char *ytree_kind_name(const ytree *t);
/* " (line L, column C)" for YAML nodes, "" for JSON ones, into buf. */
const char *ytree_where(const ytree *t, char *buf, size_t size);
/* A map's value for key, or NULL. */
const ytree *ytree_get(const ytree *map, const char *key);

#endif
