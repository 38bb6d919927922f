/* sbuf.h - a growable byte buffer, always NUL-terminated.
 *
 * The one string builder used across Cairn (SQL text, JSON pieces, paths).
 * Allocation failure aborts: a server that cannot allocate a few bytes cannot
 * answer anything useful, and checking every append would hide the logic. */
#ifndef CAIRN_SBUF_H
#define CAIRN_SBUF_H

#include <stddef.h>

typedef struct sbuf {
    char *data; /* NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
} sbuf;

#define SBUF_INIT {NULL, 0, 0}

void sbuf_append(sbuf *b, const char *s, size_t n);
void sbuf_puts(sbuf *b, const char *s);
void sbuf_putc(sbuf *b, char c);
void sbuf_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_reset(sbuf *b);
/* Never NULL: an empty buffer gives "". */
const char *sbuf_str(const sbuf *b);
/* Hand the heap string to the caller (who frees it); b is left empty. */
char *sbuf_detach(sbuf *b);
void sbuf_free(sbuf *b);

#endif
