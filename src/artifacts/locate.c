/* locate.c - a run's artifact_uri to a folder on this server (locate.h). */
#include "locate.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "../util/misc.h"

/* Length of "scheme:" at the start of uri (RFC 3986 letters), or 0. */
static size_t artifacts_uri_scheme_len(const char *uri)
{
    if (!isalpha((unsigned char)uri[0]))
        return 0;
    size_t i = 1;
    while (isalnum((unsigned char)uri[i]) || uri[i] == '+' || uri[i] == '-' || uri[i] == '.')
        i++;
    /* One letter before ':' is a Windows drive, not a scheme. */
    return (uri[i] == ':' && i > 1) ? i + 1 : 0;
}

/* The path part of scheme:[//authority]/path, without leading slashes. */
static const char *artifacts_uri_path(const char *after_scheme)
{
    const char *p = after_scheme;
    if (p[0] == '/' && p[1] == '/') {
        p += 2;
        p += strcspn(p, "/");
    }
    return p;
}

/* A file URI's path, decoded; an encoded NUL is refused. */
static int artifacts_pct_decode(const char *in, sbuf *out, cerr *e)
{
    size_t before = out->len;
    pct_decode(in, strlen(in), out, false);
    if (memchr(sbuf_str(out) + before, '\0', out->len - before) != NULL)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid path");
    return 0;
}

int artifacts_locate(const char *destination, const char *uri, const char *what,
                     artifacts_loc *loc, cerr *e)
{
    size_t sl = artifacts_uri_scheme_len(uri);
    if (sl == 0) {
        sbuf_puts(&loc->root_buf, uri);
    } else if (strncasecmp(uri, "mlflow-artifacts:", sl) == 0) {
        const char *p = artifacts_uri_path(uri + sl);
        while (*p == '/')
            p++;
        loc->root = destination;
        loc->proxied = true;
        sbuf_puts(&loc->base, p);
        return 0;
    } else if (strncasecmp(uri, "file:", sl) == 0) {
        const char *p = uri + sl;
        if (p[0] == '/' && p[1] == '/') {
            const char *host = p + 2;
            size_t hl = strcspn(host, "/");
            if (hl != 0 && !(hl == 9 && strncasecmp(host, "localhost", 9) == 0))
                return cerr_set(e, CERR_NOT_IMPLEMENTED,
                                "%s at '%s' (a remote file URI) is not supported",
                                what, uri);
            p = host + hl;
        }
        if (artifacts_pct_decode(p, &loc->root_buf, e) < 0)
            return -1;
    } else {
        return cerr_set(e, CERR_NOT_IMPLEMENTED,
                        "%s at '%s' is not supported by this server yet", what, uri);
    }
    loc->root = sbuf_str(&loc->root_buf);
    return 0;
}

void artifacts_loc_free(artifacts_loc *loc)
{
    sbuf_free(&loc->root_buf);
    sbuf_free(&loc->base);
}
