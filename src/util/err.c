/* err.c - MLflow error codes, their names and HTTP statuses. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

int cerr_set(cerr *e, cerr_code code, const char *fmt, ...)
{
    if (e == NULL)
        return -1;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

void cerr_clear(cerr *e)
{
    if (e == NULL)
        return;
    e->code = CERR_OK;
    e->msg[0] = '\0';
}

static const struct {
    const char *name;
    int status;
} cerr_table[] = {
    [CERR_OK] = {"OK", 200},
    [CERR_INVALID_PARAMETER_VALUE] = {"INVALID_PARAMETER_VALUE", 400},
    /* MLflow maps RESOURCE_ALREADY_EXISTS to 400, not 409. */
    [CERR_RESOURCE_ALREADY_EXISTS] = {"RESOURCE_ALREADY_EXISTS", 400},
    [CERR_RESOURCE_DOES_NOT_EXIST] = {"RESOURCE_DOES_NOT_EXIST", 404},
    [CERR_BAD_REQUEST] = {"BAD_REQUEST", 400},
    [CERR_ENDPOINT_NOT_FOUND] = {"ENDPOINT_NOT_FOUND", 404},
    [CERR_INTERNAL_ERROR] = {"INTERNAL_ERROR", 500},
    [CERR_INVALID_STATE] = {"INVALID_STATE", 500},
    [CERR_PERMISSION_DENIED] = {"PERMISSION_DENIED", 403},
    [CERR_NOT_IMPLEMENTED] = {"NOT_IMPLEMENTED", 501},
    [CERR_REQUEST_LIMIT_EXCEEDED] = {"REQUEST_LIMIT_EXCEEDED", 429},
    [CERR_TEMPORARILY_UNAVAILABLE] = {"TEMPORARILY_UNAVAILABLE", 503},
    [CERR_UNAUTHENTICATED] = {"UNAUTHENTICATED", 401},
};

const char *cerr_code_name(cerr_code code)
{
    if ((size_t)code >= sizeof cerr_table / sizeof cerr_table[0])
        return "INTERNAL_ERROR";
    return cerr_table[code].name;
}

int cerr_http_status(cerr_code code)
{
    if ((size_t)code >= sizeof cerr_table / sizeof cerr_table[0])
        return 500;
    return cerr_table[code].status;
}
