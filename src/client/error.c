/* error.c - the per-thread last error (cairn_error_last) and the setters
 * every libcairn call uses to fail: one thread-local record, no globals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct {
    cairn_error pub;
    char code_buf[64];
    char msg_buf[1024];
} cl_error_slot;

static _Thread_local cl_error_slot cl_err = {{0, 0, "", ""}, "", ""};

const cairn_error *cairn_error_last(void)
{
    cl_err.pub.error_code = cl_err.code_buf;
    cl_err.pub.message = cl_err.msg_buf;
    return &cl_err.pub;
}

void cairn_error_clear(void)
{
    cl_err.pub.code = 0;
    cl_err.pub.http_status = 0;
    cl_err.code_buf[0] = '\0';
    cl_err.msg_buf[0] = '\0';
}

int cl_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cl_err.msg_buf, sizeof cl_err.msg_buf, fmt, ap);
    va_end(ap);
    cl_err.pub.code = code;
    cl_err.pub.http_status = 0;
    cl_err.code_buf[0] = '\0';
    return code;
}

int cl_fail_server(int http_status, const char *error_code, const char *message)
{
    int code = CAIRN_ESERVER;
    if (error_code != NULL && strcmp(error_code, "RESOURCE_DOES_NOT_EXIST") == 0)
        code = CAIRN_ENOTFOUND;
    cl_fail(code, "%s", message != NULL && *message ? message : "the server returned an error");
    cl_err.pub.http_status = http_status;
    snprintf(cl_err.code_buf, sizeof cl_err.code_buf, "%s", error_code ? error_code : "");
    return code;
}

int cl_oom(void)
{
    return cl_fail(CAIRN_ENOMEM, "out of memory");
}

int cl_retryable(void)
{
    if (cl_err.pub.code == CAIRN_EUNREACHABLE)
        return 1;
    return cl_err.pub.code == CAIRN_ESERVER &&
           (cl_err.pub.http_status >= 500 || cl_err.pub.http_status == 429);
}

void cairn_free(void *p)
{
    free(p);
}

const char *cairn_version(void)
{
    return CAIRN_VERSION_STRING;
}

int cl_require(const char *what, const char *v)
{
    if (v == NULL || *v == '\0')
        return cl_fail(CAIRN_EINVAL, "missing %s", what);
    return CAIRN_OK;
}

int cl_dump_out(json_t *j, char **out)
{
    if (out == NULL) {
        json_decref(j);
        return CAIRN_OK;
    }
    *out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return *out ? CAIRN_OK : cl_oom();
}
