/* mlruns.c - readers for the files of an MLflow file store (see mlruns.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "mlruns.h"

json_t *mlruns_meta_parse(const char *text, size_t len)
{
    yaml_parser_t p;
    yaml_event_t ev;
    if (!yaml_parser_initialize(&p))
        return NULL;
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    json_t *out = json_object();
    char *key = NULL;
    int depth = 0, done = 0, ok = 1;
    while (!done) {
        if (!yaml_parser_parse(&p, &ev)) {
            ok = 0;
            break;
        }
        switch (ev.type) {
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
            depth++;
            if (depth > 1) {   /* a nested value: drop its key */
                free(key);
                key = NULL;
            }
            break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            depth--;
            break;
        case YAML_SCALAR_EVENT:
            if (depth == 1) {
                const char *v = (const char *)ev.data.scalar.value;
                if (key == NULL) {
                    key = strdup(v);
                } else {
                    json_t *s = json_string(v);   /* NULL when not UTF-8: skipped */
                    if (s != NULL)
                        json_object_set_new(out, key, s);
                    free(key);
                    key = NULL;
                }
            }
            break;
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    free(key);
    yaml_parser_delete(&p);
    if (!ok) {
        json_decref(out);
        return NULL;
    }
    return out;
}

char *mlruns_read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 256, len = 0, n;
    char *s = malloc(cap);
    while (s != NULL && (n = fread(s + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) {
            char *t = realloc(s, cap * 2);
            if (t == NULL) {
                free(s);
                s = NULL;
                break;
            }
            s = t;
            cap *= 2;
        }
    }
    fclose(f);
    if (s != NULL)
        s[len] = '\0';
    return s;
}

json_t *mlruns_meta_read(const char *path)
{
    char *text = mlruns_read_text(path);
    if (text == NULL)
        return NULL;
    json_t *j = mlruns_meta_parse(text, strlen(text));
    free(text);
    return j;
}

int mlruns_join(char *out, const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    if (a + b + 2 > PATH_MAX)
        return -1;
    memcpy(out, dir, a);
    out[a] = '/';
    memcpy(out + a + 1, name, b + 1);
    return 0;
}

int mlruns_metric_line(const char *line, long long *ts, double *value, long long *step)
{
    char *end;
    errno = 0;
    *ts = strtoll(line, &end, 10);
    if (end == line || errno == ERANGE || (*end != ' ' && *end != '\t'))
        return -1;
    const char *p = end;
    *value = strtod(p, &end);
    if (end == p)
        return -1;
    p = end;
    *step = 0;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '\0' && *p != '\n' && *p != '\r') {
        *step = strtoll(p, &end, 10);
        if (end == p || errno == ERANGE)
            return -1;
        p = end;
    }
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return *p == '\0' ? 0 : -1;
}
