/* request.c - turning an HTTP request into the `args` object of api/.
 *
 * MLflow 2.9.2 (_get_request_message in mlflow/server/handlers.py) reads a
 * GET request from its query string when there is one and otherwise from a
 * JSON body, and a POST request from its JSON body, which must be declared
 * application/json. Query values are strings; a key given several times,
 * or as key[] / key[0], becomes a list, as querystring_parser does. */
#include "internal.h"
#include "../util/misc.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

size_t http_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    sbuf out = SBUF_INIT;
    pct_decode(s, strlen(s), &out, true);
    /* Decoding never lengthens, so the result fits where s was. */
    memcpy(s, sbuf_str(&out), out.len + 1);
    size_t n = out.len;
    sbuf_free(&out);
    return n;
}

/* "name[]" or "name[123]": the length of "name", or 0 if key is plain. */
static size_t http_array_key_len(const char *key)
{
    size_t n = strlen(key);
    if (n < 3 || key[n - 1] != ']')
        return 0;
    size_t i = n - 1;
    while (i > 0 && isdigit((unsigned char)key[i - 1]))
        i--;
    if (i < 2 || key[i - 1] != '[')
        return 0;
    return i - 1;
}

typedef struct {
    json_t *args;
    size_t count;
    sbuf key;
} http_query_walk;

void http_args_add(json_t *args, const char *key, json_t *v, bool as_list)
{
    /* Keys must be UTF-8 for jansson; make them so as werkzeug would. */
    json_t *kj = http_json_string(key);
    const char *k = json_string_value(kj);
    json_t *old = json_object_get(args, k);
    if (old == NULL) {
        if (as_list) {
            json_t *arr = json_array();
            json_array_append_new(arr, v);
            v = arr;
        }
        json_object_set_new(args, k, v);
    } else if (json_is_array(old)) {
        json_array_append_new(old, v);
    } else {
        json_t *arr = json_array();
        json_array_append(arr, old);
        json_array_append_new(arr, v);
        json_object_set_new(args, k, arr);
    }
    json_decref(kj);
}

static enum MHD_Result http_query_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    http_query_walk *w = cls;
    w->count++;
    size_t base = http_array_key_len(key);
    sbuf_reset(&w->key);
    sbuf_append(&w->key, key, base ? base : strlen(key));
    http_args_add(w->args, sbuf_str(&w->key), http_json_string(value ? value : ""), base != 0);
    return MHD_YES;
}

size_t http_args_from_query(struct MHD_Connection *c, json_t **out)
{
    http_query_walk w = {json_object(), 0, SBUF_INIT};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, http_query_one, &w);
    sbuf_free(&w.key);
    *out = w.args;
    return w.count;
}

static bool http_all_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i]))
            return false;
    return true;
}

static json_t *http_parse(const char *data, size_t len, cerr *e)
{
    json_error_t je;
    /* Without JSON_ALLOW_NUL a "\u0000" is refused, so no handler ever
     * sees a string cut short by an embedded NUL. */
    json_t *j = json_loadb(data, len, JSON_DECODE_ANY, &je);
    if (j == NULL && strstr(je.text, "\\u0000") != NULL)
        cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                 "Malformed JSON in request body: \\u0000 is not allowed in strings");
    else if (j == NULL)
        cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                 "Malformed JSON in request body: %s (line %d, column %d)", je.text, je.line,
                 je.column);
    return j;
}

int http_args_from_body(const char *data, size_t len, json_t **out, cerr *e)
{
    *out = NULL;
    if (len == 0 || http_all_space(data, len)) {
        *out = json_object();
        return 0;
    }
    json_t *j = http_parse(data, len, e);
    if (j == NULL)
        return -1;
    if (json_is_string(j)) {
        /* Older clients post their JSON double-encoded as a string. */
        json_t *inner = http_parse(json_string_value(j), json_string_length(j), e);
        json_decref(j);
        if (inner == NULL)
            return -1;
        j = inner;
    }
    if (json_is_null(j)) {
        json_decref(j);
        j = json_object();
    }
    if (!json_is_object(j)) {
        json_decref(j);
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Malformed JSON in request body: expected a JSON object");
    }
    *out = j;
    return 0;
}

int http_check_json_content_type(struct MHD_Connection *c, cerr *e)
{
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (ct == NULL)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Bad Request. Content-Type header is missing.");
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    static const char want[] = "application/json";
    if (n == sizeof want - 1 && strncasecmp(ct, want, n) == 0)
        return 0;
    return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                    "Bad Request. Content-Type must be one of ['application/json'].");
}

int64_t http_content_length(struct MHD_Connection *c)
{
    const char *s =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (s == NULL || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > INT64_MAX)
        return -1;
    return (int64_t)v;
}
