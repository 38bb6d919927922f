/* locate.c - a run's artifact_uri to a store and a path in it (locate.h). */
#include "locate.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

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

int artifacts_locate(artifacts_store *destination, const char *uri, const char *what,
                     artifacts_loc *loc, cerr *e)
{
    size_t sl = artifacts_uri_scheme_len(uri);
    if (sl != 0 && strncasecmp(uri, "mlflow-artifacts:", sl) == 0) {
        /* The path part of mlflow-artifacts:[//authority]/path. */
        const char *p = uri + sl;
        if (p[0] == '/' && p[1] == '/') {
            p += 2;
            p += strcspn(p, "/");
        }
        while (*p == '/')
            p++;
        loc->store = destination;
        loc->proxied = true;
        sbuf_puts(&loc->base, p);
        return 0;
    }
    if (sl != 0 && strncasecmp(uri, "file:", sl) != 0 && strncasecmp(uri, "s3:", sl) != 0)
        return cerr_set(e, CERR_NOT_IMPLEMENTED,
                        "%s at '%s' is not supported by this server yet", what, uri);
    if (artifacts_store_open(uri, &loc->store, e) < 0)
        return -1;
    loc->owned = true;
    return 0;
}

void artifacts_loc_path(const artifacts_loc *loc, const char *rel, sbuf *out)
{
    sbuf_printf(out, "%s%s%s", sbuf_str(&loc->base), loc->base.len && rel[0] ? "/" : "", rel);
}

void artifacts_loc_free(artifacts_loc *loc)
{
    if (loc->owned)
        artifacts_store_free(loc->store);
    loc->store = NULL;
    sbuf_free(&loc->base);
}
