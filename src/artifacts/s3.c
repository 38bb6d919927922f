/* s3.c - placeholder until the S3 store lands: s3:// is refused. */
#include "store.h"

int artifacts_s3_open_store(const char *uri, const char *bucket, const char *prefix,
                            artifacts_store **out, cerr *e)
{
    (void)bucket;
    (void)prefix;
    *out = NULL;
    return cerr_set(e, CERR_NOT_IMPLEMENTED, "Artifacts at '%s' are not supported yet", uri);
}
