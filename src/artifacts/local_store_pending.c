/* local_store_pending.c - DELETE ON MERGE. A placeholder for the local
 * store's constructor, which the lead is writing in local.c on another
 * branch; it exists only so that branch s3 links (store.c calls it). It is
 * an ordinary (not weak) definition on purpose: merged beside the real one,
 * the link fails loudly instead of picking one silently. */
#include "store.h"

int artifacts_local_open_store(const char *uri, const char *root, artifacts_store **out, cerr *e)
{
    (void)root;
    *out = NULL;
    return cerr_set(e, CERR_NOT_IMPLEMENTED, "Local artifact store '%s': not on this branch yet",
                    uri);
}
