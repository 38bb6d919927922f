/* store.h - the artifact store: one interface over where artifacts live.
 *
 * An artifacts_store is a root: a local folder, or an S3 bucket and a key
 * prefix. Everything above artifacts/ (api/, jobs/) reads and writes
 * artifacts through this interface only, so a new kind of store is one new
 * file here and one line in store.c's table.
 *
 * Paths given to these functions are relative to the root ("1/<run>/
 * artifacts/model/MLmodel"). Each one is checked with path_normalize_rel()
 * (no "..", no absolute path, no NUL) before use, whatever the store.
 *
 * Writes are atomic: nothing is visible under the final name until commit
 * returns 0, and an abort (or a failed commit) leaves the old object, if
 * any, as it was. Reads and writes stream in constant memory at any size.
 *
 * Writers and readers may be backed by a background transfer (S3). Their
 * write/read then never block the caller on the network: a write that
 * finds every buffer in flight takes 0 bytes, a read that finds nothing
 * received yet answers ARTIFACTS_AGAIN, and the notify function set with
 * *_notify is called (from any thread, at most once per AGAIN/0) when it is
 * worth calling again. The local store never does either.
 *
 * A store handle is thread-safe; a writer or reader belongs to one caller
 * at a time. */
#ifndef CAIRN_ARTIFACTS_STORE_H
#define CAIRN_ARTIFACTS_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../util/err.h"

typedef struct artifacts_store artifacts_store;
typedef struct artifacts_writer artifacts_writer;
typedef struct artifacts_reader artifacts_reader;

/* A read or write that has to wait: see the header comment. */
#define ARTIFACTS_AGAIN (-2)

typedef void (*artifacts_notify_fn)(void *arg);

/* Opens the store at uri:
 *   /abs/path, a relative path, file:///abs/path (file://localhost/...):
 *     a local folder (created on the first write if missing);
 *   s3://bucket[/prefix]: an S3 bucket, credentials and endpoint from the
 *     environment as boto reads them: AWS_ACCESS_KEY_ID,
 *     AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_DEFAULT_REGION (or
 *     AWS_REGION; default us-east-1), MLFLOW_S3_ENDPOINT_URL (default
 *     https://s3.<region>.amazonaws.com, path-style addressing).
 * Any other scheme is NOT_IMPLEMENTED. Opening does no I/O: see
 * artifacts_store_check. */
int artifacts_store_open(const char *uri, artifacts_store **out, cerr *e);
void artifacts_store_free(artifacts_store *s);
/* The store's URI as given (for messages; never holds a secret). */
const char *artifacts_store_uri(const artifacts_store *s);
/* Start-up check: a local root that is a regular file or that cannot be
 * written, a wrong S3 secret, a missing bucket: each is a clear error. */
int artifacts_store_check(artifacts_store *s, cerr *e);

/* Lists the folder rel as MLflow FileInfo objects {path, is_dir,
 * file_size (files only)}, sorted by name; each path is prefix + "/" + name
 * (just the name when prefix is NULL or ""). A missing folder, or a file,
 * lists as an empty array, as MLflow's repositories do. *out is new. */
int artifacts_store_list(artifacts_store *s, const char *rel, const char *prefix, json_t **out,
                         cerr *e);
/* Deletes the file or the whole folder rel; a missing path is not an
 * error. The root itself ("") cannot be deleted: INVALID_PARAMETER_VALUE. */
int artifacts_store_delete(artifacts_store *s, const char *rel, cerr *e);

/* ---- writing ---- */

/* Starts writing the object rel. A path ending in '/' or naming the root
 * is INVALID_PARAMETER_VALUE. Must end with exactly one of commit and
 * abort. The object's size is not known: see artifacts_writer_open_sized. */
int artifacts_writer_open(artifacts_store *s, const char *rel, artifacts_writer **out, cerr *e);
/* The same for an object of size bytes, known up front (-1: unknown, as
 * artifacts_writer_open). A store may then stream without buffering parts
 * (S3: each part straight into its request, 64 MiB parts in a few MiB).
 * The size is a promise: a write past it fails (INVALID_PARAMETER_VALUE,
 * the writer is then only good for abort), and a commit with fewer bytes
 * written fails and leaves nothing visible. */
int artifacts_writer_open_sized(artifacts_store *s, const char *rel, int64_t size,
                                artifacts_writer **out, cerr *e);
/* Takes up to n bytes: returns how many (0 when every buffer is in
 * flight: call again after notify), or -1 with e set (the writer is then
 * only good for abort). */
ssize_t artifacts_writer_write(artifacts_writer *w, const void *data, size_t n, cerr *e);
/* Writes all n bytes, waiting (blocking the caller) where the store must:
 * for callers on a thread that may block (the job monitor). */
int artifacts_writer_write_all(artifacts_writer *w, const void *data, size_t n, cerr *e);
void artifacts_writer_notify(artifacts_writer *w, artifacts_notify_fn fn, void *arg);
/* Makes the object visible under its name; frees w even on failure. */
int artifacts_writer_commit(artifacts_writer *w, cerr *e);
/* Drops everything written; frees w. NULL is allowed. */
void artifacts_writer_abort(artifacts_writer *w);

/* ---- reading ---- */

/* Opens the object rel for reading bytes [offset, offset + length) (length
 * UINT64_MAX: to the end). *size is the object's whole size. Missing:
 * RESOURCE_DOES_NOT_EXIST "No such file or directory: '<rel>'"; a folder:
 * INVALID_PARAMETER_VALUE. An offset past the end is INVALID_PARAMETER_VALUE. */
int artifacts_reader_open(artifacts_store *s, const char *rel, uint64_t offset, uint64_t length,
                          artifacts_reader **out, uint64_t *size, cerr *e);
/* Up to n bytes into buf: the count, 0 at the end, ARTIFACTS_AGAIN (call
 * again after notify), or -1 with e set. */
ssize_t artifacts_reader_read(artifacts_reader *r, void *buf, size_t n, cerr *e);
void artifacts_reader_notify(artifacts_reader *r, artifacts_notify_fn fn, void *arg);
/* A file descriptor positioned at the range's start when the object is a
 * local file (so it can be sent with sendfile), else -1. Still owned by r. */
int artifacts_reader_fd(artifacts_reader *r);
/* NULL is allowed. */
void artifacts_reader_close(artifacts_reader *r);

/* ---- for store implementations (store.c dispatches through this) ---- */

typedef struct artifacts_ops {
    const char *name; /* "local", "s3" */
    int (*check)(artifacts_store *s, cerr *e);
    int (*list)(artifacts_store *s, const char *rel, const char *prefix, json_t **out, cerr *e);
    int (*remove)(artifacts_store *s, const char *rel, cerr *e);
    /* size: the object's size, -1 when unknown (store.c checks the count). */
    int (*writer_open)(artifacts_store *s, const char *rel, int64_t size,
                       artifacts_writer **out, cerr *e);
    ssize_t (*write)(artifacts_writer *w, const void *data, size_t n, cerr *e);
    /* Blocks until a write could take bytes again (NULL: never needed). */
    void (*writer_wait)(artifacts_writer *w);
    void (*writer_notify)(artifacts_writer *w, artifacts_notify_fn fn, void *arg);
    int (*commit)(artifacts_writer *w, cerr *e);
    void (*abort)(artifacts_writer *w);
    int (*reader_open)(artifacts_store *s, const char *rel, uint64_t offset, uint64_t length,
                       artifacts_reader **out, uint64_t *size, cerr *e);
    ssize_t (*read)(artifacts_reader *r, void *buf, size_t n, cerr *e);
    void (*reader_notify)(artifacts_reader *r, artifacts_notify_fn fn, void *arg);
    int (*reader_fd)(artifacts_reader *r);
    void (*reader_close)(artifacts_reader *r);
    void (*free)(artifacts_store *s);
} artifacts_ops;

/* Every store, writer and reader starts with its header, so store.c can
 * dispatch without knowing the implementation's struct. */
struct artifacts_store {
    const artifacts_ops *ops;
    char *uri;
};
struct artifacts_writer {
    const artifacts_ops *ops;
    int64_t size;     /* declared (-1: unknown); set and counted by store.c */
    uint64_t written;
};
struct artifacts_reader {
    const artifacts_ops *ops;
};

/* The implementations' constructors (uri already split by store.c). */
int artifacts_local_open_store(const char *uri, const char *root, artifacts_store **out, cerr *e);
/* bucket and prefix (no leading or trailing '/'; may be "") of s3://... */
int artifacts_s3_open_store(const char *uri, const char *bucket, const char *prefix,
                            artifacts_store **out, cerr *e);

#endif
