/* jsonx.h - reading request fields with protobuf-JSON semantics.
 *
 * MLflow parses requests with protobuf's JSON parser: an int64 or double may
 * arrive as a JSON number or as a decimal string ("10"), a double also as
 * "NaN", "Infinity" or "-Infinity", and null means "not set". GET query
 * parameters reach us as strings only, so the same accessors serve both.
 * Each accessor returns 0, or -1 with INVALID_PARAMETER_VALUE in MLflow's
 * words ("Invalid value ... for parameter '...' supplied"). */
#ifndef CAIRN_JSONX_H
#define CAIRN_JSONX_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

/* Absent or null gives *out = NULL. */
int jsonx_string(const json_t *obj, const char *key, const char **out, cerr *e);
/* Like jsonx_string, but absent, null or "" is "Missing value for required
 * parameter 'key'". */
int jsonx_string_required(const json_t *obj, const char *key, const char **out, cerr *e);
/* *present tells whether the field was set; *out is untouched when not. */
int jsonx_int64(const json_t *obj, const char *key, int64_t *out, bool *present, cerr *e);
int jsonx_double(const json_t *obj, const char *key, double *out, bool *present, cerr *e);
/* A repeated string field: an array of strings, or (GET) one string.
 * *out is a malloc'd array of borrowed pointers (free it, not them);
 * absent gives *out = NULL, *n = 0. */
int jsonx_strings(const json_t *obj, const char *key, const char ***out, size_t *n, cerr *e);
/* A repeated message field: an array of objects (absent: NULL). */
int jsonx_objects(const json_t *obj, const char *key, const json_t **out, cerr *e);

#endif
