/* err.h - errors as values: an MLflow error code plus a message.
 *
 * Every layer below http/ reports failure by filling a cerr and returning -1.
 * The code names are MLflow's ErrorCode enum (databricks.proto) so that http/
 * can serialise them unchanged; cerr_http_status() is MLflow's
 * ERROR_CODE_TO_HTTP_STATUS table. */
#ifndef CAIRN_ERR_H
#define CAIRN_ERR_H

#include <stddef.h>

typedef enum cerr_code {
    CERR_OK = 0,
    CERR_INVALID_PARAMETER_VALUE,
    CERR_RESOURCE_ALREADY_EXISTS,
    CERR_RESOURCE_DOES_NOT_EXIST,
    CERR_BAD_REQUEST,
    CERR_ENDPOINT_NOT_FOUND,
    CERR_INTERNAL_ERROR,
    CERR_INVALID_STATE,
    CERR_PERMISSION_DENIED,
    CERR_NOT_IMPLEMENTED,
    CERR_REQUEST_LIMIT_EXCEEDED,
    CERR_TEMPORARILY_UNAVAILABLE,
    /* no or wrong credentials (MLflow's basic-auth app: 401) */
    CERR_UNAUTHENTICATED,
} cerr_code;

/* Long enough for MLflow's messages, which quote the offending key and a
 * prefix of the value; longer messages are truncated, never overflowed. */
#define CERR_MSG_MAX 2048

typedef struct cerr {
    cerr_code code;
    char msg[CERR_MSG_MAX];
} cerr;

/* Fill e (which may be NULL) and return -1, so callers can write
 * `return cerr_set(e, CERR_..., "fmt", ...);`. */
int cerr_set(cerr *e, cerr_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cerr_clear(cerr *e);
const char *cerr_code_name(cerr_code code);
int cerr_http_status(cerr_code code);

#endif
