/* s3.h - the S3 artifact store's insides, shared by its files:
 *   s3_req.c    configuration from the environment, key and query
 *               encoding, one signed request (libcurl SigV4), S3 errors
 *               as cerr, a small pool of curl handles;
 *   s3_xml.c    the XML S3 answers with (libxml2) and the XML we send;
 *   s3_store.c  the store: open, check, list, delete, the ops table;
 *   s3_write.c  the writer: multipart upload from part buffers (size
 *               unknown) or streamed part by part (size known), on
 *               background threads;
 *   s3_read.c   the reader: ranged GET streamed by a background thread.
 * Nothing outside src/artifacts/s3*.c includes this, except the unit test
 * (for its hooks). */
#ifndef CAIRN_ARTIFACTS_S3_H
#define CAIRN_ARTIFACTS_S3_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../util/sbuf.h"
#include "store.h"

/* Multipart part size: S3 wants at least 5 MiB per part but the last, and
 * at most 10000 parts; 8 MiB (boto's) allows 78 GiB objects, 16 MiB 156 GiB,
 * 64 MiB 625 GiB. 16 by default: every part costs S3 a request (for Swift,
 * measured: about as much CPU as 8 MiB of bytes), and 16 MiB parts uploaded
 * 15% faster than 8 MiB ones in the same memory (docs/BENCHMARKS.md). */
#define S3_PART_MB_DEFAULT 16
#define S3_PART_MB_MIN 8
#define S3_PART_MB_MAX 64
#define S3_MAX_PARTS 10000
/* An upload whose size is known up front (the request's Content-Length)
 * streams each part from the caller straight into its UploadPart through a
 * small ring, so its parts cost no memory: 64 MiB by default (CAIRN_S3_PART_MB
 * when set), larger only when the object needs more than 10000 parts. At
 * most S3_STREAM_OPEN parts' requests are open at once: the next part starts
 * when the previous part's body is sent, while its answer is awaited. */
#define S3_STREAM_PART_MB_DEFAULT S3_PART_MB_MAX
#define S3_STREAM_RING (4u << 20)
#define S3_STREAM_WAKE (1u << 20) /* free ring bytes that wake a parked caller */
#define S3_STREAM_OPEN 2
#define S3_PUT_MAX (5ull << 30)   /* S3's largest PutObject and part */
/* Parts of one upload in flight at once (each on its own thread and curl
 * handle), as boto's transfer manager does: one part at a time leaves the
 * stream idle for S3's per-request latency. A writer holds the parts in
 * flight and the one being filled, at most S3_WRITE_BUFS and no more than
 * S3_WRITE_MEM bytes of them, but always two: 3 parts (48 MiB) with the
 * default part size, 5 of 8 MiB, 2 of 24 MiB or more. */
#define S3_UPLOAD_STREAMS 4
#define S3_WRITE_BUFS (S3_UPLOAD_STREAMS + 1)
#define S3_WRITE_MEM (48u << 20)
/* A reader's buffer between its transfer thread and the caller, and how
 * much of it must fill before a caller waiting for bytes is woken. */
#define S3_READ_BUF (4u << 20)
#define S3_READ_WAKE (1u << 20)
/* curl's receive buffer (its maximum) and send buffer: fewer, larger
 * reads, writes and callbacks than its 16 KiB and 64 KiB defaults. */
#define S3_CURL_RECV_BUF (512L << 10)
#define S3_CURL_SEND_BUF (512L << 10)
/* Keys per ListObjectsV2 page (S3's own maximum) and per DeleteObjects. */
#define S3_LIST_MAX_KEYS 1000
#define S3_DELETE_BATCH 1000
/* Largest response body kept in memory (listings of 1000 keys are ~300 KiB;
 * error documents are small). */
#define S3_RESP_MAX (16u << 20)
/* Idle curl handles kept per store, so connections are reused. */
#define S3_POOL_MAX 16
/* Connecting must not hang a request; a transfer that moves less than
 * S3_LOW_SPEED bytes/s for S3_LOW_SPEED_SECS seconds is given up. */
#define S3_CONNECT_TIMEOUT_SECS 10L
#define S3_LOW_SPEED 1L
#define S3_LOW_SPEED_SECS 60L

typedef struct s3_store {
    artifacts_store base;
    char *bucket;
    char *prefix;   /* no leading or trailing '/'; may be "" */
    char *endpoint; /* scheme://host[:port][/path], no trailing '/' */
    char *region;
    char *sigv4;    /* "aws:amz:<region>:s3" */
    char *access_key, *secret_key, *token; /* NULL when unset */
    size_t part_size;        /* buffered uploads (size unknown) */
    size_t stream_part_size; /* streamed uploads (size known) */
    long list_max_keys; /* S3_LIST_MAX_KEYS; smaller in tests */
    pthread_mutex_t pool_mu;
    CURL *pool[S3_POOL_MAX];
    int npool;
} s3_store;

/* ---- s3_req.c ---- */

/* S3's URI encoding of one string: unreserved bytes kept, every other byte
 * %XX (upper case); '/' kept when keep_slash (object keys in paths). */
void s3_encode(sbuf *out, const char *s, bool keep_slash);
/* The full key of rel below the store's prefix (rel normalized, may be ""). */
void s3_key(const s3_store *s, const char *rel, sbuf *out);
/* "s3://bucket/key" for messages. */
void s3_display(const s3_store *s, const char *key, sbuf *out);

CURL *s3_handle_get(s3_store *s);
void s3_handle_put(s3_store *s, CURL *h);

/* One request. Query parameters must be given already sorted by name,
 * each value encoded with s3_encode (curl 7.88 signs the query as given). */
typedef struct s3_call {
    const char *method; /* GET HEAD PUT POST DELETE */
    const char *key;    /* NULL: the bucket itself */
    const char *query;  /* "a=1&b=2", or NULL */
    /* A body in memory (signed with its sha256) ... */
    const void *body;
    size_t body_len;
    bool has_body;
    /* ... or streamed by a read callback (UNSIGNED-PAYLOAD). */
    size_t (*read)(char *buf, size_t size, size_t n, void *arg);
    void *read_arg;
    uint64_t read_len;
    const char *content_type;
    const char *content_md5; /* base64, or NULL */
    const char *range;       /* "bytes=a-b", or NULL */
    /* Response body: streamed to sink when the status is 2xx (return less
     * than n to stop), else kept (up to S3_RESP_MAX) for the error. */
    size_t (*sink)(const char *p, size_t n, void *arg);
    void *sink_arg;
    /* Called now and then during the transfer: nonzero stops it. */
    int (*stop)(void *arg);
    void *stop_arg;
} s3_call;

typedef struct s3_resp {
    long status;   /* 0 when no HTTP answer came */
    sbuf body;     /* the kept body (2xx without a sink, or an error) */
    sbuf etag;     /* the ETag header, quotes included */
    int64_t length; /* Content-Length, -1 if none */
    int64_t total;  /* the size in a Content-Range "bytes a-b/total", -1 if none */
    CURLcode cc;
    char curl_err[CURL_ERROR_SIZE];
} s3_resp;

void s3_resp_init(s3_resp *r);
void s3_resp_free(s3_resp *r);

/* Performs c on handle h (from s3_handle_get). Returns 0 when an HTTP
 * answer came (whatever its status: see r->status), -1 with e set when
 * none did (unreachable, reset, stopped). */
int s3_perform(s3_store *s, CURL *h, const s3_call *c, s3_resp *r, cerr *e);
/* s3_perform on a pooled handle. */
int s3_request(s3_store *s, const s3_call *c, s3_resp *r, cerr *e);

/* The error for a request that got status r->status with an S3 error
 * document (or none): "S3 <METHOD> s3://bucket/key failed: <status>
 * <Code>: <Message>", INTERNAL_ERROR. Always returns -1. */
int s3_fail(s3_store *s, const char *method, const char *key, const s3_resp *r, cerr *e);

/* ---- s3_xml.c ---- */

/* Code and Message of an S3 <Error> document (either may stay empty);
 * false when the body is not one. */
bool s3_xml_error(const char *body, size_t len, sbuf *code, sbuf *message);
/* <InitiateMultipartUploadResult><UploadId>. */
int s3_xml_upload_id(const char *body, size_t len, sbuf *out);

typedef struct s3_list_page {
    char **keys;      /* Contents/Key */
    int64_t *sizes;   /* Contents/Size */
    size_t nkeys;
    char **prefixes;  /* CommonPrefixes/Prefix */
    size_t nprefixes;
    bool truncated;
    char *next_token; /* NextContinuationToken, or NULL */
} s3_list_page;

int s3_xml_list(const char *body, size_t len, s3_list_page *out);
void s3_list_page_free(s3_list_page *p);
/* The keys DeleteObjects could not delete: "key: Code Message" lines in
 * out; returns how many. */
size_t s3_xml_delete_errors(const char *body, size_t len, sbuf *out);
/* Appends s with XML's five special characters escaped. */
void s3_xml_escape(sbuf *out, const char *s);

/* ---- s3_write.c / s3_read.c (the ops table is in s3_store.c) ---- */

int s3_writer_open(artifacts_store *st, const char *rel, int64_t size, artifacts_writer **out,
                   cerr *e);
ssize_t s3_write(artifacts_writer *w, const void *data, size_t n, cerr *e);
void s3_writer_wait(artifacts_writer *w);
void s3_writer_notify(artifacts_writer *w, artifacts_notify_fn fn, void *arg);
int s3_commit(artifacts_writer *w, cerr *e);
void s3_abort(artifacts_writer *w);

int s3_reader_open(artifacts_store *st, const char *rel, uint64_t offset, uint64_t length,
                   artifacts_reader **out, uint64_t *size, cerr *e);
ssize_t s3_read(artifacts_reader *r, void *buf, size_t n, cerr *e);
void s3_reader_notify(artifacts_reader *r, artifacts_notify_fn fn, void *arg);
int s3_reader_fd(artifacts_reader *r);
void s3_reader_close(artifacts_reader *r);

/* s3_store.c: true when some key lies below key + "/" (rel is a folder). */
int s3_is_folder(s3_store *s, const char *key, bool *folder, cerr *e);

/* ---- test hooks (tests/unit/test_artifacts_s3.c) ---- */

/* Keys per listing page, so that continuation is tested with few keys. */
void s3_test_set_list_max_keys(artifacts_store *st, long n);
/* The part size in bytes, buffered and streamed (no range check: the test
 * may go below S3's). */
void s3_test_set_part_size(artifacts_store *st, size_t bytes);

#endif
