/* locate.h - which artifact store holds a run's artifact_uri, and where
 * below its root.
 *
 *   mlflow-artifacts:/X (or mlflow-artifacts://host/X): X below the
 *     server's artifacts destination (the proxied store, local or S3);
 *   file:///abs/path (file://localhost/...), a plain local path, or
 *     s3://bucket/prefix: a store opened for that URI;
 *   anything else: NOT_IMPLEMENTED.
 * Used by artifacts/list (api/) and by the job service, which stores a
 * job's output in its run. */
#ifndef CAIRN_ARTIFACTS_LOCATE_H
#define CAIRN_ARTIFACTS_LOCATE_H

#include <stdbool.h>

#include "../util/err.h"
#include "../util/sbuf.h"
#include "store.h"

typedef struct artifacts_loc {
    artifacts_store *store; /* the destination, or opened for the URI */
    bool owned;             /* store is this loc's to free */
    sbuf base;              /* below the store's root; "" for the root */
    bool proxied;           /* store is the artifacts destination */
} artifacts_loc;

#define ARTIFACTS_LOC_INIT {NULL, false, SBUF_INIT, false}

/* what names the use in error messages ("Listing artifacts"). */
int artifacts_locate(artifacts_store *destination, const char *uri, const char *what,
                     artifacts_loc *loc, cerr *e);
/* base + "/" + rel (just one of them when the other is ""), into out. */
void artifacts_loc_path(const artifacts_loc *loc, const char *rel, sbuf *out);
void artifacts_loc_free(artifacts_loc *loc);

#endif
