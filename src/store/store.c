/* store.c - store_open: pick the metadata store from the URI's scheme.
 *
 * SQLAlchemy-style URIs, as MLflow's --backend-store-uri takes them:
 * sqlite:///relative/path.db and sqlite:////absolute/path.db. PostgreSQL
 * (postgresql://) will be dispatched here too once it exists. */
#include <string.h>

#include "sqlite.h"
#include "store.h"

#define SQLITE_SCHEME "sqlite:///"

static bool store_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
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
        return sqlite_store_open(path, default_artifact_root, out, e);
    }
    if (strcmp(uri, "sqlite://") == 0)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "an in-memory SQLite store is not supported; give a file, e.g. "
                        "sqlite:///mlflow.db");
    if (store_has_prefix(uri, "postgresql:") || store_has_prefix(uri, "postgres:"))
        return cerr_set(e, CERR_NOT_IMPLEMENTED, "the PostgreSQL store is not available yet");
    return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                    "unsupported backend store URI '%s' (expected sqlite:///path.db)", uri);
}
