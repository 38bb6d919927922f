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

/* What "%.17g" prints, computed exactly with integer arithmetic, for
 * 1e-3 <= |v| < 2^53 (the range of most metrics); -1 outside it. v is
 * m * 2^e with e in [-63, -1] or 0: the integer part is m >> -e and the
 * fraction (m mod 2^-e) / 2^-e yields its decimal digits exactly by
 * multiplying by 10; the 17th significant digit is rounded half-to-even on
 * the exact remainder, as glibc does. About 5x faster than snprintf. */
int cl_fmt17(double v, char out[32])
{
    double a = fabs(v);
    if (!(a >= 1e-3 && a < 9007199254740992.0))
        return -1;
    int e;
    double fr = frexp(a, &e);
    uint64_t m = (uint64_t)ldexp(fr, 53);
    e -= 53;
    if (e > 0 || e < -63)
        return -1;
    int shift = -e;
    uint64_t mask = shift ? (((uint64_t)1 << shift) - 1) : 0;
    unsigned __int128 frac = m & mask;
    uint64_t ip = shift ? m >> shift : m;
    char dig[24];
    int nd = 0, point = 0;
    if (ip) {
        char tmp[24];
        int ni = 0;
        for (uint64_t t = ip; t; t /= 10)
            tmp[ni++] = (char)('0' + t % 10);
        while (ni)
            dig[nd++] = tmp[--ni];
        point = nd;
    }
    while (nd < 17) {
        frac *= 10;
        int d = (int)(frac >> shift);
        frac &= mask;
        if (nd == 0 && d == 0) {
            point--;
            continue;
        }
        dig[nd++] = (char)('0' + d);
    }
    if (shift) {
        unsigned __int128 half = (unsigned __int128)1 << (shift - 1);
        if (frac > half || (frac == half && ((dig[16] - '0') & 1))) {
            int i = 16;
            while (i >= 0 && dig[i] == '9')
                dig[i--] = '0';
            if (i >= 0) {
                dig[i]++;
            } else {            /* 99...9 rounded up to 100...0 */
                memmove(dig + 1, dig, 16);
                dig[0] = '1';
                point++;
            }
        }
    }
    int last = 16;              /* drop trailing zeros of the fraction */
    while (last >= 0 && last >= point && dig[last] == '0')
        last--;
    char *w = out;
    if (v < 0)
        *w++ = '-';
    if (point <= 0) {
        *w++ = '0';
        *w++ = '.';
        for (int i = point; i < 0; i++)
            *w++ = '0';
        for (int i = 0; i <= last; i++)
            *w++ = dig[i];
    } else {
        for (int i = 0; i < point; i++)
            *w++ = i < 17 ? dig[i] : '0';
        if (last >= point) {
            *w++ = '.';
            for (int i = point; i <= last; i++)
                *w++ = dig[i];
        }
    }
    *w = '\0';
    return (int)(w - out);
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
    int n = cl_fmt17(v, b->data + b->len);
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
