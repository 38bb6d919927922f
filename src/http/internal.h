/* internal.h - what the files of http/ share: the per-request state and
 * the request-parsing, response and proxy helpers. Not for other layers. */
#ifndef CAIRN_HTTP_INTERNAL_H
#define CAIRN_HTTP_INTERNAL_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../api/api.h"
#include "../util/err.h"
#include "../util/sbuf.h"

/* A response computed away from the connection (on a pool thread), to be
 * queued by the connection's own thread: status, body (heap) and type. */
typedef struct http_waker http_waker;
typedef struct http_form http_form;

typedef struct http_out {
    unsigned status;
    char *body;
    size_t len;
    const char *type;
    api_stream *stream; /* instead of body: sent with chunked encoding */
    api_download *download; /* or an artifact's bytes: */
    uint64_t size;          /*   how many */
    char *filename;         /*   the name it is saved under */
    uint64_t offset, total; /*   206: where they start, of how many */
    http_waker *waker;  /* parks the connection while the stream waits */
} http_out;

/* A unit of work for the handler pool; embedded in its owner. */
typedef struct http_job {
    void (*fn)(struct http_job *j);
    struct http_job *next;
} http_job;

typedef enum { HTTP_INLINE, HTTP_QUEUED, HTTP_DONE } http_job_state;

struct http_server;

/* One request, from its headers to its completion (MHD's *req_cls). */
typedef struct http_req {
    const api_route *route;    /* NULL once refused at the headers */
    bool is_get;               /* GET or HEAD */
    bool responded;            /* a response was queued early */
    char *param;               /* the route's path parameter, or NULL */
    sbuf body;                 /* API_BODY_JSON: up to CAIRN_MAX_JSON_BODY */
    uint64_t body_len;         /* bytes received, even past the cap */
    http_form *form;           /* API_BODY_FORM: the body, being read */
    api_upload *upload;        /* API_BODY_RAW: while receiving */
    json_t *args;              /* API_BODY_RAW: what the upload was begun with */
    bool failed;               /* an upload error met while receiving: err */
    unsigned fail_status;      /* refused at the headers: status, code, err.msg */
    const char *fail_code;
    cerr err;
    /* Run on the handler pool or queued to the store: see server.c. */
    http_job job;
    http_job_state state;
    struct http_server *srv;
    struct MHD_Connection *conn;
    http_out out;              /* HTTP_DONE: the answer to send */
    api_caller caller;         /* who api/ found asking, with the headers (auth on) */
} http_req;

/* ---- request.c ---- */

/* MHD unescape callback: %XX decoding, except that %00 is left as is so a
 * decoded string never hides an embedded NUL (path checks refuse it). */
size_t http_unescape(void *cls, struct MHD_Connection *c, char *s);
/* The query string as MLflow's handlers see it: key -> string, a repeated
 * key (or key[] / key[N]) -> array of strings. Returns the number of keys
 * given (0: no query string). *out is a new object. */
size_t http_args_from_query(struct MHD_Connection *c, json_t **out);
/* Adds a field to args as a query string's are added: the first value as
 * it is (or in a list when as_list: key[] / key[N]), a repeated key turns
 * into a list. key is made UTF-8 first. Steals v. */
void http_args_add(json_t *args, const char *key, json_t *v, bool as_list);
/* A JSON body: empty or null -> {}, a JSON string holding JSON (old
 * clients double-encode) is decoded again; anything but an object is
 * INVALID_PARAMETER_VALUE. */
int http_args_from_body(const char *data, size_t len, json_t **out, cerr *e);
/* MLflow 2.9's _validate_content_type for POST/PUT: application/json. */
int http_check_json_content_type(struct MHD_Connection *c, cerr *e);
/* Content-Length, or -1 when absent (chunked) or unparsable. */
int64_t http_content_length(struct MHD_Connection *c);

/* ---- response.c ---- */

/* Retry-After of a 429 (seconds): api/auth.h's API_AUTH_FAIL_WINDOW. */
#define HTTP_RETRY_AFTER_S 60

/* Bytes MHD asks a streamed answer for at a time. */
#define HTTP_STREAM_BLOCK (32u * 1024)
/* The same for an artifact download from a store that streams it (S3):
 * larger, so each call to the store and each send moves more bytes. */
#define HTTP_DOWNLOAD_BLOCK (256u * 1024)

/* Fill o with obj (stolen) as JSON, or with MLflow's error body. */
void http_out_json(http_out *o, unsigned status, json_t *obj);
void http_out_error(http_out *o, unsigned status, const char *code_name, const char *msg);
void http_out_cerr(http_out *o, const cerr *e);
/* Fill o from a handler's answer (taken over; res is left empty). */
void http_out_result(http_out *o, api_result *res);
/* Queue o's body (ownership passes to MHD). */
enum MHD_Result http_out_send(struct MHD_Connection *c, http_out *o);

/* A JSON string that never fails: bytes that are not UTF-8 become U+FFFD. */
json_t *http_json_string(const char *s);
/* Queue obj (stolen) as application/json. */
enum MHD_Result http_send_json(struct MHD_Connection *c, unsigned status, json_t *obj);
enum MHD_Result http_send_error(struct MHD_Connection *c, unsigned status, const char *code_name,
                                const char *msg);
/* MLflow's error body with MLflow's status for e->code. */
enum MHD_Result http_send_cerr(struct MHD_Connection *c, const cerr *e);
enum MHD_Result http_send_text(struct MHD_Connection *c, unsigned status, const char *text);

/* ---- wake.c: connections whose stream waits for data ---- */

/* How long a waiting stream's connection stays parked, ms. */
#define HTTP_WAKE_MS 250

int http_waker_start(http_waker **out, cerr *e);
/* Suspends c and resumes it after HTTP_WAKE_MS; false (nothing done) once
 * the server is stopping: the stream should end then. */
bool http_waker_park(http_waker *w, struct MHD_Connection *c);
/* Resumes the parked connections now (an api_notify_fn: arg is the
 * waker). Safe from any thread. */
void http_waker_kick(void *arg);
/* Resumes every parked connection and stops parking (server shutdown,
 * before MHD stops). */
void http_waker_quiesce(http_waker *w);
void http_waker_free(http_waker *w);

/* ---- form.c: multipart/form-data bodies ---- */

/* Largest form body (bytes): mantik's 100 MiB upload limit. */
#define HTTP_FORM_MAX_BODY (100u * 1024 * 1024)
/* Text fields: at most this many, each at most this long. */
#define HTTP_FORM_MAX_FIELDS 1024
#define HTTP_FORM_MAX_FIELD (1u * 1024 * 1024)
#define HTTP_FORM_MAX_FILES 16

/* Starts reading a form body: multipart/form-data or
 * application/x-www-form-urlencoded, else INVALID_PARAMETER_VALUE. File
 * parts go to temporary files in tmpdir. */
int http_form_begin(struct MHD_Connection *c, const char *tmpdir, http_form **out, cerr *e);
/* A chunk of the body; -1 with e set once the form is refused (the rest
 * of the body is then ignored). */
int http_form_data(http_form *f, const char *data, size_t n, cerr *e);
/* The parsed form: text fields as args (a new object), file parts in
 * *files (owned by f). */
int http_form_finish(http_form *f, json_t **args, const api_file **files, size_t *nfiles, cerr *e);
/* Removes the temporary files and frees f. NULL is allowed. */
void http_form_free(http_form *f);

/* ---- pool.c: threads for handlers that may block ---- */

/* Handler threads started at most; beyond them, jobs wait in the queue. */
#define HTTP_POOL_MAX_THREADS 256

typedef struct http_pool http_pool;
int http_pool_create(unsigned max_threads, http_pool **out, cerr *e);
/* Promise a job; false once the pool is stopping (run the request inline
 * then). A promised job must be pushed. */
bool http_pool_reserve(http_pool *p);
void http_pool_push(http_pool *p, http_job *j);
/* A promised job that did not go through the queue (a write the store
 * queued itself) is over. */
void http_pool_release(http_pool *p);
/* Refuse new jobs and wait until every promised one has run. */
void http_pool_drain(http_pool *p);
/* Drain, then stop the threads and free p. */
void http_pool_destroy(http_pool *p);

/* ---- TLS (tls.c) ---- */
/* The server's PEM certificate (chain) and private key, as MHD takes them. */
typedef struct http_tls {
    char *cert;
    size_t cert_len;
    char *key;
    size_t key_len;
} http_tls;

/* GnuTLS priorities: TLS 1.3 and 1.2 only, GnuTLS's NORMAL choices within. */
#define HTTP_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* Reads both files and checks that the key belongs to the certificate; on
 * failure nothing stays allocated and e names the file and the reason. */
int http_tls_load(const char *cert_path, const char *key_path, http_tls *t, cerr *e);
/* Zeroes the key's text and frees both. */
void http_tls_wipe(http_tls *t);

#endif
