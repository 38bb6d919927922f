/* validate.c - MLflow's input rules, for api/ and jobs/ alike; see validate.h. */
#include "validate.h"

#include <locale.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#include "../util/sbuf.h"

#define BAD_CHARACTERS_MESSAGE                                                                   \
    "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( " \
    "), and slashes (/)."

size_t validate_utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* Python's \w on str is Unicode-aware; glibc's iswalnum in C.UTF-8 follows
 * the same Unicode letter and digit classes. The locale is created once. */
static locale_t validate_locale;
static pthread_once_t validate_locale_once = PTHREAD_ONCE_INIT;

static void validate_locale_init(void)
{
    validate_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* ^[/\w.\- ]*$ */
static bool validate_name_chars(const char *s)
{
    pthread_once(&validate_locale_once, validate_locale_init);
    mbstate_t st;
    memset(&st, 0, sizeof st);
    size_t len = strlen(s);
    while (len > 0) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x80) {
            if (!(c == '/' || c == '_' || c == '.' || c == '-' || c == ' ' ||
                  (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
                return false;
            s++;
            len--;
            continue;
        }
        if (validate_locale == (locale_t)0)
            return false;
        wchar_t wc;
        locale_t old = uselocale(validate_locale);
        size_t used = mbrtowc(&wc, s, len, &st);
        bool ok = used != (size_t)-1 && used != (size_t)-2 && used != 0 && iswalnum(wc);
        uselocale(old);
        if (!ok)
            return false;
        s += used;
        len -= used;
    }
    return true;
}

char *validate_normpath(const char *path)
{
    if (path[0] == '\0')
        return strdup(".");
    /* POSIX allows exactly two leading slashes to mean something else. */
    int initial = 0;
    if (path[0] == '/')
        initial = (path[1] == '/' && path[2] != '/') ? 2 : 1;
    size_t cap = strlen(path) + 1;
    const char **comps = malloc(cap * sizeof *comps);
    size_t *lens = malloc(cap * sizeof *lens);
    if (comps == NULL || lens == NULL)
        abort();
    size_t n = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        const char *start = p;
        while (*p && *p != '/')
            p++;
        size_t l = (size_t)(p - start);
        if (l == 0 || (l == 1 && start[0] == '.'))
            continue;
        bool dotdot = l == 2 && start[0] == '.' && start[1] == '.';
        if (!dotdot || (initial == 0 && (n == 0 || (lens[n - 1] == 2 &&
                                                     memcmp(comps[n - 1], "..", 2) == 0)))) {
            comps[n] = start;
            lens[n++] = l;
        } else if (n > 0) {
            n--;
        }
    }
    sbuf out = SBUF_INIT;
    for (int i = 0; i < initial; i++)
        sbuf_putc(&out, '/');
    for (size_t i = 0; i < n; i++) {
        if (i)
            sbuf_putc(&out, '/');
        sbuf_append(&out, comps[i], lens[i]);
    }
    free(comps);
    free(lens);
    if (out.len == 0)
        sbuf_putc(&out, '.');
    return sbuf_detach(&out);
}

/* MLflow's path_not_unique(). */
static bool validate_path_not_unique(const char *name, char **norm)
{
    *norm = validate_normpath(name);
    return strcmp(*norm, name) != 0 || strcmp(*norm, ".") == 0 || strncmp(*norm, "..", 2) == 0 ||
           (*norm)[0] == '/';
}

int validate_entity_name(const char *kind, const char *name, cerr *e)
{
    if (name == NULL) {
        const char *cap = strcmp(kind, "metric") == 0      ? "Metric"
                          : strcmp(kind, "parameter") == 0 ? "Parameter"
                                                           : "Tag";
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "%s name cannot be None. A key name must be provided.", cap);
    }
    if (!validate_name_chars(name))
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid %s name: '%.300s'. %s", kind,
                        name, BAD_CHARACTERS_MESSAGE);
    char *norm;
    bool bad = validate_path_not_unique(name, &norm);
    if (bad)
        cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                 "Invalid %s name: '%.300s'. Names may be treated as files in certain cases, and "
                 "must not resolve to other names when treated as such. This name would resolve "
                 "to '%.300s'",
                 kind, name, norm);
    free(norm);
    return bad ? -1 : 0;
}

int validate_length(const char *entity, size_t limit, const char *value, cerr *e)
{
    if (value == NULL)
        return 0;
    size_t len = validate_utf8_len(value);
    if (len <= limit)
        return 0;
    /* MLflow quotes the first 250 characters of the value. */
    const char *end = value;
    for (size_t chars = 0; *end && chars < 250; chars++) {
        end++;
        while (((unsigned char)*end & 0xC0) == 0x80)
            end++;
    }
    return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                    "%s '%.*s' had length %zu, which exceeded length limit of %zu", entity,
                    (int)(end - value), value, len, limit);
}

int validate_metric(const char *key, double value, bool value_ok, int64_t timestamp, cerr *e)
{
    (void)value;
    if (validate_entity_name("metric", key, e) < 0)
        return -1;
    if (!value_ok)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Got invalid value for metric '%s' (timestamp=%lld). Please specify value "
                        "as a valid double (64-bit floating point)",
                        key, (long long)timestamp);
    if (timestamp < 0)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Got invalid timestamp %lld for metric '%s' (value=%g). Timestamp must be "
                        "a nonnegative long (64-bit integer) ",
                        (long long)timestamp, key, value);
    return validate_length("Metric name", MAX_ENTITY_KEY_LENGTH, key, e);
}

/* A key/value pair: the key's name rule, then both lengths. label is
 * MLflow's capitalised word for the messages ("Param", "Tag"). */
static int validate_pair(const char *kind, const char *label, size_t key_max, size_t value_max,
                         const char *key, const char *value, cerr *e)
{
    char what[32];
    if (validate_entity_name(kind, key, e) < 0)
        return -1;
    snprintf(what, sizeof what, "%s key", label);
    if (validate_length(what, key_max, key, e) < 0)
        return -1;
    snprintf(what, sizeof what, "%s value", label);
    return validate_length(what, value_max, value, e);
}

int validate_param(const char *key, const char *value, cerr *e)
{
    return validate_pair("parameter", "Param", MAX_ENTITY_KEY_LENGTH, MAX_PARAM_VAL_LENGTH, key,
                         value, e);
}

int validate_tag(const char *key, const char *value, cerr *e)
{
    return validate_pair("tag", "Tag", MAX_ENTITY_KEY_LENGTH, MAX_TAG_VAL_LENGTH, key, value, e);
}

int validate_experiment_tag(const char *key, const char *value, cerr *e)
{
    return validate_pair("tag", "Tag", MAX_EXPERIMENT_TAG_KEY_LENGTH,
                         MAX_EXPERIMENT_TAG_VAL_LENGTH, key, value, e);
}

int validate_experiment_name(const char *name, cerr *e)
{
    if (name == NULL || name[0] == '\0')
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid experiment name: '%s'",
                        name ? name : "None");
    if (validate_utf8_len(name) > MAX_EXPERIMENT_NAME_LENGTH)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Experiment name exceeds the maximum length of %d characters",
                        MAX_EXPERIMENT_NAME_LENGTH);
    return 0;
}

int validate_batch_limit(const char *entity, size_t limit, size_t n, cerr *e)
{
    if (n <= limit)
        return 0;
    return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                    "A batch logging request can contain at most %zu %s. Got %zu %s. Please split "
                    "up %s across multiple requests and try again.",
                    limit, entity, n, entity, entity);
}

/* ^[a-zA-Z0-9][\w\-]{0,255}$ (ASCII here: run ids are ours or hex). */
int validate_run_id(const char *run_id, cerr *e)
{
    size_t len = strlen(run_id);
    bool ok = len >= 1 && len <= 256;
    for (size_t i = 0; ok && i < len; i++) {
        char c = run_id[i];
        bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        ok = alnum || (i > 0 && (c == '_' || c == '-'));
    }
    if (!ok)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid run ID: '%.300s'", run_id);
    return 0;
}
