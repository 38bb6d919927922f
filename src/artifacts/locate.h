/* locate.h - where a run's artifact_uri lives on this server's disk.
 *
 *   mlflow-artifacts:/X (or mlflow-artifacts://host/X): X below the
 *     server's artifacts destination (the proxied store);
 *   file:///abs/path (file://localhost/...), or a plain local path: that
 *     folder;
 *   anything else (s3://, a remote file URI): NOT_IMPLEMENTED for now.
 * Used by artifacts/list (api/) and by the job service, which stores a
 * job's output in its run. */
#ifndef CAIRN_ARTIFACTS_LOCATE_H
#define CAIRN_ARTIFACTS_LOCATE_H

#include <stdbool.h>

#include "../util/err.h"
#include "../util/sbuf.h"

typedef struct artifacts_loc {
    const char *root; /* the destination, or root_buf's text */
    sbuf root_buf;
    sbuf base;        /* below root; "" for the root itself */
    bool proxied;     /* root is the artifacts destination */
} artifacts_loc;

#define ARTIFACTS_LOC_INIT {NULL, SBUF_INIT, SBUF_INIT, false}

/* what names the use in error messages ("Listing artifacts"). */
int artifacts_locate(const char *destination, const char *uri, const char *what,
                     artifacts_loc *loc, cerr *e);
void artifacts_loc_free(artifacts_loc *loc);

#endif
