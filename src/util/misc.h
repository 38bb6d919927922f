/* misc.h - small shared helpers: clock, random ids, page tokens, logging. */
#ifndef CAIRN_MISC_H
#define CAIRN_MISC_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "sbuf.h"

/* Milliseconds since the Unix epoch (MLflow's timestamp unit). */
int64_t time_now_ms(void);

/* 32 lowercase hex digits from the kernel's CSPRNG: MLflow's run id form
 * (uuid4().hex). out must hold 33 bytes. */
void ids_hex32(char out[33]);

/* Page tokens are opaque to clients; we use MLflow's SQL-store format,
 * base64(json {"offset": N}), so that tokens from either server look alike.
 * Returns a heap string. */
char *token_from_offset(int64_t offset);
/* NULL or "" gives offset 0. Returns false for a malformed token. */
bool token_to_offset(const char *token, int64_t *offset);

/* Percent-decoding, one round, appended to out: %XX with two hex digits
 * becomes the byte; anything else (a lone '%', bad digits) is kept as is,
 * as Python's unquote does. With keep_nul, "%00" stays three characters so
 * that a decoded C string never hides an embedded NUL. Returns whether
 * anything was decoded. The one decoder for URLs, paths and file URIs. */
bool pct_decode(const char *in, size_t n, sbuf *out, bool keep_nul);

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;
/* Set once at start-up, before threads start. */
void log_set_level(log_level level);
void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
