/* jsonx.c - request field accessors with protobuf-JSON semantics. */
#include "jsonx.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

/* MLflow's handlers end every schema error with this sentence. */
#define API_DOCS_HINT " See the API docs for more information about request parameters."

/* Python's type() name for a JSON value, as MLflow's hint prints it. */
static const char *jsonx_py_type(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING: return "str";
    case JSON_INTEGER: return "int";
    case JSON_REAL: return "float";
    case JSON_TRUE:
    case JSON_FALSE: return "bool";
    case JSON_ARRAY: return "list";
    case JSON_OBJECT: return "dict";
    default: return "NoneType";
    }
}

static int jsonx_invalid(const char *key, const json_t *v, cerr *e)
{
    char *text = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    const char *shown = json_is_string(v) ? json_string_value(v) : (text ? text : "?");
    cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
             "Invalid value %.200s for parameter '%s' supplied. Hint: Value was of type '%s'."
             API_DOCS_HINT,
             shown, key, jsonx_py_type(v));
    free(text);
    return -1;
}

int jsonx_string(const json_t *obj, const char *key, const char **out, cerr *e)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return jsonx_invalid(key, v, e);
    *out = json_string_value(v);
    return 0;
}

int jsonx_string_required(const json_t *obj, const char *key, const char **out, cerr *e)
{
    if (jsonx_string(obj, key, out, e) < 0)
        return -1;
    if (*out == NULL || (*out)[0] == '\0')
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Missing value for required parameter '%s'." API_DOCS_HINT, key);
    return 0;
}

/* Whole-string decimal int64, as protobuf accepts for int64 fields. */
static bool jsonx_parse_int64(const char *s, int64_t *out)
{
    if (s[0] == '\0')
        return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = v;
    return true;
}

int jsonx_int64(const json_t *obj, const char *key, int64_t *out, bool *present, cerr *e)
{
    json_t *v = json_object_get(obj, key);
    *present = false;
    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
    } else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
               fabs(json_real_value(v)) < 9.2e18) {
        /* protobuf accepts 5.0 for an int64 field, not 5.5 */
        *out = (int64_t)json_real_value(v);
    } else if (!json_is_string(v) || !jsonx_parse_int64(json_string_value(v), out)) {
        return jsonx_invalid(key, v, e);
    }
    *present = true;
    return 0;
}

static bool jsonx_parse_double(const char *s, double *out)
{
    if (strcmp(s, "NaN") == 0) {
        *out = NAN;
        return true;
    }
    if (strcmp(s, "Infinity") == 0) {
        *out = INFINITY;
        return true;
    }
    if (strcmp(s, "-Infinity") == 0) {
        *out = -INFINITY;
        return true;
    }
    if (s[0] == '\0' || strchr(s, 'n') || strchr(s, 'N') || strchr(s, 'x') || strchr(s, 'X'))
        return false; /* strtod's "nan"/"inf"/hex forms are not protobuf's */
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (*end != '\0' || (errno == ERANGE && isinf(v)))
        return false;
    *out = v;
    return true;
}

int jsonx_double(const json_t *obj, const char *key, double *out, bool *present, cerr *e)
{
    json_t *v = json_object_get(obj, key);
    *present = false;
    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_number(v))
        *out = json_number_value(v);
    else if (!json_is_string(v) || !jsonx_parse_double(json_string_value(v), out))
        return jsonx_invalid(key, v, e);
    *present = true;
    return 0;
}

int jsonx_strings(const json_t *obj, const char *key, const char ***out, size_t *n, cerr *e)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    *n = 0;
    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        *out = malloc(sizeof **out);
        if (*out == NULL)
            abort();
        (*out)[0] = json_string_value(v);
        *n = 1;
        return 0;
    }
    if (!json_is_array(v))
        return jsonx_invalid(key, v, e);
    size_t len = json_array_size(v);
    for (size_t i = 0; i < len; i++)
        if (!json_is_string(json_array_get(v, i)))
            return jsonx_invalid(key, v, e);
    *out = malloc((len ? len : 1) * sizeof **out);
    if (*out == NULL)
        abort();
    for (size_t i = 0; i < len; i++)
        (*out)[i] = json_string_value(json_array_get(v, i));
    *n = len;
    return 0;
}

int jsonx_objects(const json_t *obj, const char *key, const json_t **out, cerr *e)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return jsonx_invalid(key, v, e);
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
        if (!json_is_object(item))
            return jsonx_invalid(key, v, e);
    }
    *out = v;
    return 0;
}
