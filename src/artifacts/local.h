/* local.h - the local-folder artifact store.
 *
 * Artifacts live as plain files below a root folder (--artifacts-destination
 * for mlflow-artifacts:/ URIs, or a run's own local artifact_uri). Every
 * relative path is checked and resolved with path_resolve_under(), so no
 * call here reads or writes outside the root. Uploads stream into a hidden
 * temporary file in the target folder and are renamed into place only when
 * complete, so a reader never sees half a file and a failed upload leaves
 * the old file intact. Used by the mlflow-artifacts proxy (http/) and by
 * artifacts/list (api/). All functions are thread-safe. */
#ifndef CAIRN_ARTIFACTS_LOCAL_H
#define CAIRN_ARTIFACTS_LOCAL_H

#include <jansson.h>
#include <stdint.h>

#include "../util/err.h"

/* Temporary upload files start with this; listings hide them. */
#define ARTIFACTS_TMP_PREFIX ".cairn-tmp-"

/* Lists the folder rel (relative to root) as MLflow FileInfo objects
 * {path, is_dir, file_size (files only)}, sorted by name. Each path is
 * prefix + "/" + name, or just the name when prefix is NULL or "".
 * A missing folder, or a file, lists as an empty array (as MLflow's
 * LocalArtifactRepository). *out is a new array (caller owns it). */
int artifacts_local_list(const char *root, const char *rel, const char *prefix, json_t **out,
                         cerr *e);

/* Opens the regular file rel for reading. *fd is the caller's to close.
 * Missing: RESOURCE_DOES_NOT_EXIST; a folder: INVALID_PARAMETER_VALUE. */
int artifacts_local_open(const char *root, const char *rel, int *fd, uint64_t *size, cerr *e);

typedef struct artifacts_upload artifacts_upload;

/* Starts writing the file rel (parents are created). The upload must end
 * with exactly one of artifacts_upload_commit or artifacts_upload_abort. */
int artifacts_upload_begin(const char *root, const char *rel, artifacts_upload **out, cerr *e);
int artifacts_upload_write(artifacts_upload *u, const void *data, size_t n, cerr *e);
/* fsync, rename over rel, fsync the folder; frees u (even on failure). */
int artifacts_upload_commit(artifacts_upload *u, cerr *e);
/* Removes the temporary file; frees u. NULL is allowed. */
void artifacts_upload_abort(artifacts_upload *u);

/* Deletes the file or the whole folder rel; a missing path is not an
 * error (MLflow's delete_artifacts is idempotent). The root itself cannot
 * be deleted. */
int artifacts_local_delete(const char *root, const char *rel, cerr *e);

#endif
