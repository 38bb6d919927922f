/* misc.c - clock, random ids, page tokens, logging. */
#include "misc.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

int64_t time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ids_hex32(char out[33])
{
    unsigned char raw[16];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n < 0)
            abort(); /* no entropy source: ids would collide */
        got += (size_t)n;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof raw; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[32] = '\0';
}

char *token_from_offset(int64_t offset)
{
    char json[64];
    int n = snprintf(json, sizeof json, "{\"offset\": %lld}", (long long)offset);
    char *out = malloc(4 * ((size_t)n + 2) / 3 + 4);
    if (out == NULL)
        abort();
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)json, n);
    return out;
}

bool token_to_offset(const char *token, int64_t *offset)
{
    *offset = 0;
    if (token == NULL || token[0] == '\0')
        return true;
    size_t len = strlen(token);
    if (len % 4 != 0 || len > 256)
        return false;
    unsigned char raw[200];
    int n = EVP_DecodeBlock(raw, (const unsigned char *)token, (int)len);
    if (n < 0)
        return false;
    /* EVP_DecodeBlock counts padding bytes as zeros; drop them. */
    while (n > 0 && raw[n - 1] == '\0')
        n--;
    json_t *j = json_loadb((const char *)raw, (size_t)n, 0, NULL);
    json_t *v = j ? json_object_get(j, "offset") : NULL;
    bool ok = json_is_integer(v) && json_integer_value(v) >= 0;
    if (ok)
        *offset = json_integer_value(v);
    json_decref(j);
    return ok;
}

static int pct_hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool pct_decode(const char *in, size_t n, sbuf *out, bool keep_nul)
{
    bool changed = false;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (in[i] == '%' && i + 2 < n && (hi = pct_hex((unsigned char)in[i + 1])) >= 0 &&
            (lo = pct_hex((unsigned char)in[i + 2])) >= 0 && !(keep_nul && (hi | lo) == 0)) {
            sbuf_putc(out, (char)(hi * 16 + lo));
            i += 2;
            changed = true;
        } else {
            sbuf_putc(out, in[i]);
        }
    }
    return changed;
}

static log_level log_threshold = LOG_INFO;

void log_set_level(log_level level) { log_threshold = level; }

void log_msg(log_level level, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (level < log_threshold)
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    /* One fprintf per line so concurrent threads do not interleave. */
    fprintf(stderr, "%s cairn %s: %s\n", when, names[level], line);
}
