/* misc.h - small shared helpers: clock, random ids, page tokens, logging. */
#ifndef CAIRN_MISC_H
#define CAIRN_MISC_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

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

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;
/* Set once at start-up, before threads start. */
void log_set_level(log_level level);
void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
