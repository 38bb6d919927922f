/* store.c - store_open and store_close: pick the metadata store from the
 * URI's scheme.
 *
 * SQLAlchemy-style URIs, as MLflow's --backend-store-uri takes them:
 * sqlite:///relative/path.db and sqlite:////absolute/path.db for SQLite;
 * postgresql://user:pass@host:port/db (also postgres://, and with a driver,
 * postgresql+psycopg2://) for PostgreSQL, whose query string may hold any
 * libpq parameter, e.g. ?host=/run/postgresql for a unix socket. */
#include <stdlib.h>
#include <string.h>

#include "../util/sbuf.h"
#include "db_impl.h"
#include "postgres.h"
#include "sqlite.h"
#include "store.h"

#define SQLITE_SCHEME "sqlite:///"

static bool store_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static store *store_new(db_kind kind, const char *root)
{
    store *st = calloc(1, sizeof *st);
    if (st == NULL)
        abort();
    st->kind = kind;
    st->artifact_root = strdup(root);
    if (st->artifact_root == NULL)
        abort();
    return st;
}

/* The libpq connection URI for a SQLAlchemy PostgreSQL URI: the dialect
 * (and driver, e.g. +psycopg2) replaced by libpq's "postgresql://". NULL
 * when uri is not a PostgreSQL URI. */
static char *store_pg_conninfo(const char *uri)
{
    const char *rest = NULL;
    if (store_has_prefix(uri, "postgresql"))
        rest = uri + strlen("postgresql");
    else if (store_has_prefix(uri, "postgres"))
        rest = uri + strlen("postgres");
    else
        return NULL;
    if (*rest == '+') { /* a driver name: letters, digits, '_' */
        size_t n = strspn(rest + 1, "abcdefghijklmnopqrstuvwxyz0123456789_");
        if (n == 0)
            return NULL;
        rest += 1 + n;
    }
    if (!store_has_prefix(rest, "://"))
        return NULL;
    sbuf b = SBUF_INIT;
    sbuf_printf(&b, "postgresql%s", rest);
    return sbuf_detach(&b);
}

int store_open(const char *uri, const char *default_artifact_root, store **out, cerr *e)
{
    *out = NULL;
    if (uri == NULL)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "no backend store URI given");
    if (default_artifact_root == NULL || default_artifact_root[0] == '\0')
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "no default artifact root given");
    if (store_has_prefix(uri, SQLITE_SCHEME)) {
        const char *path = uri + strlen(SQLITE_SCHEME);
        /* Each connection would get its own empty in-memory database
         * (MLflow issue #12783 loses experiments that way). */
        if (path[0] == '\0' || strcmp(path, ":memory:") == 0)
            return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                            "an in-memory SQLite store is not supported; give a file, e.g. "
                            "sqlite:///mlflow.db");
        store *st = store_new(DB_SQLITE, default_artifact_root);
        if (sqlite_store_open(path, default_artifact_root, &st->sq, e) < 0) {
            store_close(st);
            return -1;
        }
        *out = st;
        return 0;
    }
    if (strcmp(uri, "sqlite://") == 0)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "an in-memory SQLite store is not supported; give a file, e.g. "
                        "sqlite:///mlflow.db");
    char *conninfo = store_pg_conninfo(uri);
    if (conninfo) {
        store *st = store_new(DB_POSTGRES, default_artifact_root);
        int rc = pg_store_open(conninfo, default_artifact_root, &st->pg, e);
        free(conninfo);
        if (rc < 0) {
            store_close(st);
            return -1;
        }
        *out = st;
        return 0;
    }
    return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                    "unsupported backend store URI '%s' (expected sqlite:///path.db or "
                    "postgresql://user:password@host:port/database)",
                    uri);
}

void store_close(store *st)
{
    if (st == NULL)
        return;
    sqlite_store_close(st->sq);
    pg_store_close(st->pg);
    free(st->artifact_root);
    free(st);
}
