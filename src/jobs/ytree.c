/* ytree.c - the bounded YAML/JSON document tree (see ytree.h). */
#include "ytree.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define YTREE_STR2(x) #x
#define YTREE_STR(x) YTREE_STR2(x)

/* The state of one build: the open collections and the node count. */
typedef struct {
    ytree *root;
    ytree *stack[YTREE_DEPTH_MAX];
    size_t depth;
    size_t nodes;
} builder;

static ytree *node_new(ytree_kind kind, size_t line, size_t col)
{
    ytree *t = calloc(1, sizeof *t);
    if (t == NULL)
        abort();
    t->kind = kind;
    t->line = line;
    t->col = col;
    return t;
}

void ytree_free(ytree *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++)
        ytree_free(t->items[i]);
    free(t->items);
    free(t->text);
    free(t);
}

const char *ytree_where(const ytree *t, char *buf, size_t size)
{
    if (t == NULL || t->line == 0)
        snprintf(buf, size, "%s", "");
    else
        snprintf(buf, size, " (line %zu, column %zu)", t->line, t->col);
    return buf;
}

/* Attach child to the open collection (or make it the root); takes child. */
static int attach(builder *b, ytree *child, cerr *e)
{
    char w[64];
    if (++b->nodes > YTREE_NODES_MAX) {
        int rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "document has more than %d nodes%s", YTREE_NODES_MAX,
                          ytree_where(child, w, sizeof w));
        ytree_free(child);
        return rc;
    }
    if (b->depth == 0) {
        b->root = child;
        return 0;
    }
    ytree *top = b->stack[b->depth - 1];
    int is_key = top->kind == YTREE_MAP && top->n % 2 == 0;
    const char *why = NULL;
    if (top->n >= (top->kind == YTREE_MAP ? 2 : 1) * (size_t)YTREE_ITEMS_MAX)
        why = "a mapping or list has more than " YTREE_STR(YTREE_ITEMS_MAX) " entries";
    else if (is_key && child->kind != YTREE_SCALAR)
        why = "a mapping key must be a plain value, not a mapping or list";
    for (size_t i = 0; why == NULL && is_key && i < top->n; i += 2)
        if (strcmp(top->items[i]->text, child->text) == 0)
            why = "duplicate key";
    if (why != NULL) {
        int rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "%s%s%s%s%s", why,
                          is_key && child->kind == YTREE_SCALAR ? " '" : "",
                          is_key && child->kind == YTREE_SCALAR ? child->text : "",
                          is_key && child->kind == YTREE_SCALAR ? "'" : "", ytree_where(child, w, sizeof w));
        ytree_free(child);
        return rc;
    }
    ytree **items = realloc(top->items, (top->n + 1) * sizeof *items);
    if (items == NULL)
        abort();
    top->items = items;
    top->items[top->n++] = child;
    return 0;
}

static int push(builder *b, ytree *coll, cerr *e)
{
    char w[64];
    if (b->depth >= YTREE_DEPTH_MAX) {
        int rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "document nested deeper than %d levels%s",
                          YTREE_DEPTH_MAX, ytree_where(coll, w, sizeof w));
        ytree_free(coll);
        return rc;
    }
    if (attach(b, coll, e) != 0)
        return -1;
    b->stack[b->depth++] = coll;
    return 0;
}

static ytree *yaml_scalar(const yaml_event_t *ev, cerr *e)
{
    size_t line = ev->start_mark.line + 1, col = ev->start_mark.column + 1;
    if (ev->data.scalar.length > YTREE_SCALAR_MAX) {
        cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "a value is longer than %d bytes (line %zu, column %zu)",
                 YTREE_SCALAR_MAX, line, col);
        return NULL;
    }
    if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length) != NULL) {
        cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "a value contains a NUL byte (line %zu, column %zu)", line, col);
        return NULL;
    }
    ytree *t = node_new(YTREE_SCALAR, line, col);
    t->style = ev->data.scalar.plain_implicit ? YTREE_PLAIN : YTREE_STRING;
    t->text = strdup((const char *)ev->data.scalar.value);
    if (t->text == NULL)
        abort();
    return t;
}

/* One event into the builder; sets *done at the end of the stream. */
static int yaml_event(builder *b, const yaml_event_t *ev, int *done, cerr *e)
{
    size_t line = ev->start_mark.line + 1, col = ev->start_mark.column + 1;
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        ytree *t = yaml_scalar(ev, e);
        return t == NULL ? -1 : attach(b, t, e);
    }
    case YAML_MAPPING_START_EVENT:
        return push(b, node_new(YTREE_MAP, line, col), e);
    case YAML_SEQUENCE_START_EVENT:
        return push(b, node_new(YTREE_SEQ, line, col), e);
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
        b->depth--;
        return 0;
    case YAML_ALIAS_EVENT:
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "YAML aliases (*name) are not supported (line %zu, column %zu)", line, col);
    case YAML_DOCUMENT_START_EVENT:
        if (b->root != NULL)
            return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                            "more than one YAML document (line %zu, column %zu)", line, col);
        return 0;
    case YAML_STREAM_END_EVENT:
        *done = 1;
        return 0;
    default:
        return 0;
    }
}

int ytree_from_yaml(const char *text, size_t len, ytree **out, cerr *e)
{
    *out = NULL;
    if (len > YTREE_TEXT_MAX)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "YAML text is larger than %d bytes", YTREE_TEXT_MAX);
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return cerr_set(e, CERR_INTERNAL_ERROR, "cannot start the YAML parser");
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    builder b = {0};
    int done = 0, rc = 0;
    while (!done && rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "bad YAML at line %zu, column %zu: %s%s%s",
                          p.problem_mark.line + 1, p.problem_mark.column + 1,
                          p.problem ? p.problem : "syntax error", p.context ? " " : "",
                          p.context ? p.context : "");
            break;
        }
        rc = yaml_event(&b, &ev, &done, e);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    if (rc != 0) {
        ytree_free(b.root);
        return -1;
    }
    if (b.root == NULL) {
        b.root = node_new(YTREE_SCALAR, 1, 1);
        b.root->style = YTREE_PLAIN;
        b.root->text = strdup("");
    }
    *out = b.root;
    return 0;
}

static ytree *json_scalar(const json_t *j)
{
    ytree *t = node_new(YTREE_SCALAR, 0, 0);
    char num[64];
    const char *s = "";
    switch (json_typeof(j)) {
    case JSON_STRING:
        t->style = YTREE_STRING;
        s = json_string_value(j);
        break;
    case JSON_INTEGER:
        t->style = YTREE_NUMBER;
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        s = num;
        break;
    case JSON_REAL:
        t->style = YTREE_NUMBER;
        snprintf(num, sizeof num, "%.17g", json_real_value(j));
        s = num;
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        t->style = YTREE_BOOL;
        s = json_is_true(j) ? "true" : "false";
        break;
    default:
        t->style = YTREE_NULL;
        break;
    }
    t->text = strdup(s);
    if (t->text == NULL)
        abort();
    return t;
}

static int json_walk(builder *b, const char *key, const json_t *j, cerr *e)
{
    if (key != NULL) {
        ytree *k = node_new(YTREE_SCALAR, 0, 0);
        k->style = YTREE_STRING;
        if ((k->text = strdup(key)) == NULL)
            abort();
        if (attach(b, k, e) != 0)
            return -1;
    }
    if (!json_is_object(j) && !json_is_array(j)) {
        if (json_is_string(j) && json_string_length(j) > YTREE_SCALAR_MAX)
            return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "a value is longer than %d bytes", YTREE_SCALAR_MAX);
        return attach(b, json_scalar(j), e);
    }
    if (push(b, node_new(json_is_object(j) ? YTREE_MAP : YTREE_SEQ, 0, 0), e) != 0)
        return -1;
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v) if (json_walk(b, k, v, e) != 0) return -1;
    } else {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) if (json_walk(b, NULL, v, e) != 0) return -1;
    }
    b->depth--;
    return 0;
}

int ytree_from_json(const char *text, size_t len, ytree **out, cerr *e)
{
    *out = NULL;
    if (len > YTREE_TEXT_MAX)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "JSON text is larger than %d bytes", YTREE_TEXT_MAX);
    json_error_t je;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (j == NULL)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "bad JSON at line %d, column %d: %s", je.line, je.column,
                        je.text);
    builder b = {0};
    int rc = json_walk(&b, NULL, j, e);
    json_decref(j);
    if (rc != 0) {
        ytree_free(b.root);
        return -1;
    }
    *out = b.root;
    return 0;
}

bool ytree_is_null(const ytree *t)
{
    if (t == NULL || t->kind != YTREE_SCALAR)
        return false;
    if (t->style == YTREE_NULL)
        return true;
    if (t->style != YTREE_PLAIN)
        return false;
    const char *s = t->text;
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

const char *ytree_kind_name(const ytree *t)
{
    if (t->kind == YTREE_MAP)
        return "a mapping";
    if (t->kind == YTREE_SEQ)
        return "a list";
    if (ytree_is_null(t))
        return "null";
    switch (t->style) {
    case YTREE_NUMBER:
        return "a number";
    case YTREE_BOOL:
        return "a boolean";
    default:
        return "a string";
    }
}

const ytree *ytree_get(const ytree *map, const char *key)
{
    if (map == NULL || map->kind != YTREE_MAP)
        return NULL;
    for (size_t i = 0; i + 1 < map->n; i += 2)
        if (strcmp(map->items[i]->text, key) == 0)
            return map->items[i + 1];
    return NULL;
}
