/* buf.c - a growable byte buffer with fast JSON writers (strings, 64-bit
 * integers, doubles) used to build log-batch bodies without a DOM, plus
 * small helpers: strdup, wall clock in ms, random ids. */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "../util/fmt17.h"
#include "internal.h"

int cl_buf_reserve(cl_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return CAIRN_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL)
        return cl_oom();
    b->data = p;
    b->cap = cap;
    return CAIRN_OK;
}

int cl_buf_add(cl_buf *b, const void *p, size_t n)
{
    if (cl_buf_reserve(b, n) < 0)
        return CAIRN_ENOMEM;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return CAIRN_OK;
}

int cl_buf_puts(cl_buf *b, const char *s)
{
    return cl_buf_add(b, s, strlen(s));
}

int cl_buf_printf(cl_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || cl_buf_reserve(b, (size_t)n) < 0)
        return CAIRN_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return CAIRN_OK;
}

int cl_buf_json_str(cl_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(s);
    if (cl_buf_reserve(b, n * 6 + 2) < 0)
        return CAIRN_ENOMEM;
    char *w = b->data + b->len;
    *w++ = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char ch = *p;
        if (ch == '"' || ch == '\\') {
            *w++ = '\\';
            *w++ = (char)ch;
        } else if (ch < 0x20) {
            *w++ = '\\';
            *w++ = 'u';
            *w++ = '0';
            *w++ = '0';
            *w++ = hex[ch >> 4];
            *w++ = hex[ch & 15];
        } else {
            *w++ = (char)ch;
        }
    }
    *w++ = '"';
    *w = '\0';
    b->len = (size_t)(w - b->data);
    return CAIRN_OK;
}

int cl_buf_json_i64(cl_buf *b, int64_t v)
{
    char tmp[24];
    int i = (int)sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--i] = '-';
    return cl_buf_add(b, tmp + i, sizeof tmp - (size_t)i);
}

int cl_buf_json_double(cl_buf *b, double v)
{
    if (isnan(v))
        return cl_buf_puts(b, "\"NaN\"");
    if (isinf(v))
        return cl_buf_puts(b, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    /* Integral values in the exact range print as integers (fast path). */
    if (v == (double)(int64_t)v && fabs(v) < 9007199254740992.0)
        return cl_buf_json_i64(b, (int64_t)v);
    if (cl_buf_reserve(b, 32) < 0)
        return CAIRN_ENOMEM;
    int n = fmt_double17(v, b->data + b->len);
    if (n < 0)
        n = snprintf(b->data + b->len, 32, "%.17g", v);
    b->len += (size_t)n;
    return CAIRN_OK;
}

char *cl_buf_take(cl_buf *b)
{
    if (b->data == NULL && cl_buf_reserve(b, 0) < 0)
        return NULL;
    b->data[b->len] = '\0';
    char *p = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void cl_buf_free(cl_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *cl_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

int64_t cl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cl_uuid_hex(char out[33])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[16];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got < sizeof raw) {   /* no entropy source: time and pid, still unique enough */
        int64_t t = cl_now_ms();
        pid_t pid = getpid();
        memcpy(raw, &t, sizeof t);
        memcpy(raw + 8, &pid, sizeof pid);
    }
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[32] = '\0';
}
