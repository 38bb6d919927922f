/* backend_units.c - the value forms of backend configs: durations
 * (Runtime) to seconds and sizes (Memory) to megabytes, with errors that
 * show the accepted forms (see backend_config.h). */
#include "backend_config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ERR(...) cerr_set(e, CERR_INVALID_PARAMETER_VALUE, __VA_ARGS__)

static const char RUNTIME_FORMS[] =
    "use seconds (3600), a number with a unit (90m, 1h30m, 2d; units s, m, min, h, d) or [D-]HH:MM:SS";

/* Digits only, at most 12 of them, into *v. Advances *s. */
static int digits(const char **s, int64_t *v)
{
    size_t n = strspn(*s, "0123456789");
    if (n == 0 || n > 12)
        return -1;
    *v = 0;
    for (size_t i = 0; i < n; i++)
        *v = *v * 10 + ((*s)[i] - '0');
    *s += n;
    return 0;
}

/* [D-]HH:MM:SS */
static int clock_form(const char *s, int64_t *out)
{
    int64_t d = 0, h, m, sec;
    const char *dash = strchr(s, '-');
    if (dash != NULL && (digits(&s, &d) != 0 || *s++ != '-'))
        return -1;
    if (digits(&s, &h) != 0 || *s++ != ':' || digits(&s, &m) != 0 || *s++ != ':' || digits(&s, &sec) != 0 || *s)
        return -1;
    if (m > 59 || sec > 59 || h > 9999)
        return -1;
    *out = ((d * 24 + h) * 60 + m) * 60 + sec;
    return 0;
}

static int64_t unit_seconds(const char *u, size_t n)
{
    static const struct {
        const char *name;
        int64_t s;
    } units[] = {{"s", 1}, {"sec", 1}, {"m", 60}, {"min", 60}, {"h", 3600}, {"d", 86400}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strlen(units[i].name) == n && strncasecmp(u, units[i].name, n) == 0)
            return units[i].s;
    return 0;
}

/* 90m, 1h30m, 2d, 45min: number-unit pairs, each unit at most once in a row. */
static int unit_form(const char *s, int64_t *out)
{
    int64_t total = 0;
    while (*s) {
        int64_t v;
        if (digits(&s, &v) != 0)
            return -1;
        size_t n = 0;
        while (isalpha((unsigned char)s[n]))
            n++;
        int64_t f = unit_seconds(s, n);
        if (f == 0 || v > BACKEND_RUNTIME_MAX)
            return -1;
        total += v * f;
        if (total > BACKEND_RUNTIME_MAX)
            return -1;
        s += n;
    }
    *out = total;
    return 0;
}

int backend_parse_runtime(const char *text, const char *field, int64_t *seconds, cerr *e)
{
    int64_t v = 0;
    const char *s = text;
    int rc;
    if (*s && strspn(s, "0123456789") == strlen(s))
        rc = digits(&s, &v);
    else if (strchr(text, ':') != NULL)
        rc = clock_form(text, &v);
    else
        rc = *text ? unit_form(text, &v) : -1;
    if (rc != 0)
        return ERR("%s: '%.100s' is not a duration; %s", field, text, RUNTIME_FORMS);
    if (v <= 0 || v > BACKEND_RUNTIME_MAX)
        return ERR("%s: '%.100s' must be more than 0 and at most %lld seconds (366 days)", field, text,
                   (long long)BACKEND_RUNTIME_MAX);
    *seconds = v;
    return 0;
}

/* Megabytes per unit, as numerator / 1024 to keep K exact. */
static int64_t unit_kb(const char *u)
{
    static const struct {
        const char *name;
        int64_t kb;
    } units[] = {{"", 1024},        {"k", 1},           {"kb", 1},          {"kib", 1},          {"m", 1024},
                 {"mb", 1024},      {"mib", 1024},      {"g", 1024 * 1024}, {"gb", 1024 * 1024}, {"gib", 1024 * 1024},
                 {"t", 1LL << 30}, {"tb", 1LL << 30}, {"tib", 1LL << 30}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcasecmp(u, units[i].name) == 0)
            return units[i].kb;
    return 0;
}

int backend_parse_memory(const char *text, const char *field, int64_t *mb, cerr *e)
{
    const char *s = text;
    int64_t whole = 0, frac = 0, scale = 1;
    int rc = digits(&s, &whole);
    if (rc == 0 && *s == '.') {
        s++;
        const char *f = s;
        rc = digits(&s, &frac);
        for (; f < s; f++)
            scale *= 10;
    }
    int64_t kb = rc == 0 ? unit_kb(s) : 0;
    if (kb == 0)
        return ERR("%s: '%.100s' is not a memory size; use megabytes (4096) or a number with a unit "
                   "(512M, 4G, 1.5G, 1T; K, M, G, T are powers of 1024)", field, text);
    /* kilobytes, rounded up to whole megabytes */
    long double total_kb = ((long double)whole + (long double)frac / (long double)scale) * (long double)kb;
    long double v = (total_kb + 1023.0L) / 1024.0L;
    if (total_kb <= 0 || v > (long double)BACKEND_MEMORY_MAX_MB)
        return ERR("%s: '%.100s' must be more than 0 and at most %lld MB", field, text,
                   (long long)BACKEND_MEMORY_MAX_MB);
    *mb = (int64_t)v;
    return 0;
}
