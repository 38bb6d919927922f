/* path.h - relative paths from requests, resolved safely under a root.
 *
 * Every artifact path that arrives in a request (the mlflow-artifacts proxy,
 * artifacts/list) goes through here before it touches the file system.
 * The rules are MLflow's validate_path_is_safe (mlflow/utils/uri.py) as it
 * behaves on a POSIX server, plus what C needs on top:
 *   - the path is percent-decoded repeatedly (at most 10 rounds, as MLflow's
 *     _decode) and the checks apply to both the given and the decoded form;
 *   - refused: a ".." component, an absolute POSIX path, a Windows absolute
 *     path ("C:\x", "C:/x", "\\server\share"), "#", a "file:" URI, an
 *     embedded NUL (e.g. from "%00"), more than PATH_REL_MAX bytes;
 *   - a backslash is an ordinary file-name byte, as on MLflow's Linux server;
 *   - resolving never leaves the root: existing components are followed
 *     and every symbolic link met must resolve inside realpath(root);
 *     a dangling link is refused, since creating a file through it could
 *     write anywhere.
 * Refusals are INVALID_PARAMETER_VALUE "Invalid path", MLflow's wording. */
#ifndef CAIRN_PATH_H
#define CAIRN_PATH_H

#include "err.h"
#include "sbuf.h"

/* Longest relative path accepted from a request, in bytes. */
#define PATH_REL_MAX 4096

/* The syntax checks above, without touching the file system. */
int path_validate_rel(const char *rel, cerr *e);

/* Validates rel, then writes it with empty and "." components dropped and
 * no leading or trailing '/' ("" for the root itself). */
int path_normalize_rel(const char *rel, sbuf *out, cerr *e);

/* Validates rel and resolves it under root (which must exist). On success
 * out holds an absolute path without symbolic links in its existing part;
 * components that do not exist yet are appended as given, so the result
 * can name a file about to be created. */
int path_resolve_under(const char *root, const char *rel, sbuf *out, cerr *e);

/* mkdir -p: dir and its missing parents (mode before umask). The error
 * names the component that could not be made. Not for request paths: use
 * path_resolve_under for those. */
int path_mkdirs(const char *dir, int mode, cerr *e);

/* The last component of a normalized relative path ("" for ""). */
const char *path_basename(const char *norm);

#endif
