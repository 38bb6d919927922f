/* internal.h - libcairn's private types: the client handle, the per-thread
 * error setters, a growable buffer with JSON writers, the HTTP layer over
 * libcurl, the batching queue and the offline spool. Nothing here is
 * exported from libcairn.so (built with -fvisibility=hidden). */
#ifndef CAIRN_CLIENT_INTERNAL_H
#define CAIRN_CLIENT_INTERNAL_H

#include <pthread.h>
#include <sys/types.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cairn.h"

/* MLflow's runs/log-batch limits (mlflow/utils/validation.py). */
#define CL_MAX_METRICS_PER_BATCH 1000
#define CL_MAX_PARAMS_TAGS_PER_BATCH 100
#define CL_MAX_ENTITIES_PER_BATCH 1000
#define CL_MAX_BATCH_BYTES 1000000
/* Stay under the byte limit with room for one more entity. */
#define CL_BATCH_BYTES_SOFT 900000
/* The background thread wakes early once this many items wait. */
#define CL_QUEUE_WAKE 1000
/* Producers wait (on memory, not on the network) above this many items. */
#define CL_QUEUE_MAX 1048576

/* ---- errors (error.c) ---- */
int cl_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cl_fail_server(int http_status, const char *error_code, const char *message);
int cl_oom(void);

/* ---- buffer (buf.c) ---- */
typedef struct {
    char *data;
    size_t len, cap;
} cl_buf;

int cl_buf_reserve(cl_buf *b, size_t extra);
int cl_buf_add(cl_buf *b, const void *p, size_t n);
int cl_buf_puts(cl_buf *b, const char *s);
int cl_buf_printf(cl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cl_buf_json_str(cl_buf *b, const char *s);   /* a quoted, escaped JSON string */
int cl_buf_json_i64(cl_buf *b, int64_t v);
int cl_buf_json_double(cl_buf *b, double v);     /* NaN / Infinity as MLflow's strings */
char *cl_buf_take(cl_buf *b);                    /* NUL-terminated, caller frees */
void cl_buf_free(cl_buf *b);

char *cl_strdup(const char *s);
int64_t cl_now_ms(void);
void cl_uuid_hex(char out[33]);                  /* 32 random hex digits */

/* ---- queue items ---- */
enum { CL_PARAM = 'p', CL_METRIC = 'm', CL_TAG = 't' };
/* Strings live in the queue's arena (cl_queue.mem), referenced by offset
 * because the arena grows; no allocation per item. */
typedef struct {
    char kind;
    size_t run_off, key_off, sval_off;   /* sval_off: (size_t)-1 for metrics */
    double value;
    int64_t timestamp, step;
} cl_item;

typedef struct {
    cl_item *items;
    size_t len, cap;
    cl_buf mem;
    size_t last_run_off;     /* the last run id written, reused when equal */
    size_t last_run_len;
} cl_queue;

/* ---- client ---- */
struct cairn_client {
    char *uri;            /* no trailing slash */
    char *token, *username, *password;
    char *spool_dir;
    int insecure_tls;     /* MLFLOW_TRACKING_INSECURE_TLS: no certificate check */
    char *ca_cert;        /* CAIRN_CA_CERT or MLFLOW_TRACKING_SERVER_CERT_PATH, or NULL */
    int no_spool;
    int max_retries;
    int flush_ms;
    atomic_int offline;
    int forced_offline;        /* CAIRN_OFFLINE / options: never try the network */
    pid_t owner;               /* the process that opened it (its thread is not forked) */

    pthread_mutex_t http_mu;   /* guards http (synchronous calls) */
    CURL *http;
    CURL *bg_http;             /* used by the background thread only */

    pthread_mutex_t mu;        /* guards everything below */
    pthread_cond_t cv_work, cv_done, cv_space;
    cl_queue q;                /* filled by logging calls */
    cl_queue spare;            /* an emptied queue kept for reuse */
    uint64_t enqueued, processed;
    int flush_waiters;
    int stop;
    int bg_code;               /* first background error since the last flush */
    char *bg_msg;
    char bg_error_code[64];    /* MLflow's error_code of that error, or "" */
    int bg_status;
    pthread_t thread;
    int thread_started;
    struct cairn_client *next_live;   /* the atexit registry (client.c) */

    /* The stored login (tokens.c), used when no explicit credentials. */
    pthread_mutex_t auth_mu;   /* guards the fields below; one refresh at a time */
    int auth_mu_ok;
    int stored;                /* send access as Bearer (from tokens.json) */
    char *access, *refresh;    /* wiped when freed */
    int64_t expires_at;        /* seconds since the epoch */
    uint64_t auth_gen;         /* bumped at every new pair */
    int auth_dead;             /* the refresh token was refused: stop trying */
};

/* ---- HTTP (http.c) ---- */
/* method "GET", "POST", "PUT"; path is the full path below the tracking URI
 * ("/api/2.0/mlflow/runs/get?run_id=..."). On 2xx stores the body in *out
 * (may be NULL to discard). Otherwise sets the thread's error and returns it:
 * CAIRN_EUNREACHABLE for transport failures, CAIRN_ETLS for TLS ones (a
 * certificate that fails verification: not retried, never spooled), CAIRN_ENOTFOUND or
 * CAIRN_ESERVER for MLflow errors. */
int cl_http(cairn_client *c, CURL *h, const char *method, const char *path, const char *body,
            size_t body_len, char **out);
/* Same, on the client's shared handle. */
int cl_api_post(cairn_client *c, const char *api_path, const char *body, char **out);
int cl_api_get(cairn_client *c, const char *api_path_query, char **out);
int cl_api_post_json(cairn_client *c, const char *api_path, json_t *body, json_t **out);
int cl_api_get_json(cairn_client *c, const char *api_path_query, json_t **out);
/* Streams a file up (PUT) or down (GET) on the shared handle. */
int cl_http_upload(cairn_client *c, const char *path, const char *local, cairn_progress_fn fn,
                   void *ud);
int cl_http_download(cairn_client *c, const char *path, const char *local, cairn_progress_fn fn,
                     void *ud);
/* POST multipart/form-data to path (the full path below the tracking URI):
 * build adds the parts (returns CAIRN_OK or an error set with cl_fail). */
typedef int (*cl_mime_fn)(curl_mime *mime, void *ud);
int cl_http_multipart(cairn_client *c, const char *path, cl_mime_fn build, void *ud, char **out);
/* GET path on a handle of its own, the 2xx body handed to fn as it comes
 * (fn returns nonzero to stop: CAIRN_EIO). */
int cl_http_stream(cairn_client *c, const char *path, cairn_write_fn fn, void *ud);
/* Percent-encodes s for a query value (escape_slash 1) or a path (0). */
char *cl_escape(const char *s, int escape_slash);
CURL *cl_curl_new(void);
int cl_retryable(void);        /* is the thread's last error worth a retry? */

/* POSTs body to path (below the tracking URI) with no credentials, on a
 * handle of its own (the login endpoints). */
int cl_http_plain_post(cairn_client *c, const char *path, const char *body, char **out);
/* Any method with a JSON body (PATCH, DELETE) below /api/2.0/mlflow/. */
int cl_api_request(cairn_client *c, const char *method, const char *api_path, const char *body,
                   char **out);

/* ---- stored login (tokens.c) ---- */
int cl_tokens_load(cairn_client *c);      /* at open: the entry for c->uri, if no explicit credentials */
void cl_tokens_free(cairn_client *c);
char *cl_tokens_path(void);
/* The Bearer header of the stored login (refreshed first when it expires
 * within a minute); 0 when the client has none. *gen identifies the pair. */
int cl_auth_bearer(cairn_client *c, char *hdr, size_t cap, uint64_t *gen);
/* After a 401 on pair gen: refreshes unless another thread did; 1: retry. */
int cl_auth_after_401(cairn_client *c, uint64_t gen);
int cl_auth_is_stored(cairn_client *c);
void cl_wipe_free(char *s);               /* zeroes a secret string, then frees it */

/* ---- batching (batch.c) ---- */
int cl_queue_start(cairn_client *c);
int cl_enqueue(cairn_client *c, char kind, const char *run_id, const char *key, const char *sval,
               double value, int64_t ts, int64_t step);
int cl_queue_flush(cairn_client *c);
void cl_queue_stop(cairn_client *c);
/* Sends one log-batch body with retries; spools it when the server stays
 * unreachable. Used by the thread and by cairn sync. */
int cl_send_batch(cairn_client *c, CURL *h, const char *run_id, const char *body, size_t len);

/* ---- spool (spool.c) ---- */
/* Appends one record {"id": ..., "op": op, ...fields} to the journal, fsync'd. */
int cl_spool_append(cairn_client *c, const char *op, json_t *fields);
/* Appends a raw log-batch body (JSON text) as a record. */
int cl_spool_batch(cairn_client *c, const char *body, size_t len);
int cl_is_local_run(const char *run_id);
/* Copies a file into DIR/artifacts/<id>; *rel_out is its path below DIR. */
int cl_spool_copy(cairn_client *c, const char *src, const char *id, char **rel_out);
/* Locking and durable appends, shared with sync.c. */
int cl_spool_lock(const char *dir);
void cl_spool_unlock(int fd);
int cl_spool_append_line(const char *dir, const char *name, const char *text, size_t len);
/* Switches the client to offline mode after a transport failure. */
void cl_go_offline(cairn_client *c);

/* Online halves of calls that have an offline path (runs.c, artifacts.c);
 * used by the typed calls and by cairn sync. */
int cl_run_create_online(cairn_client *c, const char *experiment_id, const char *run_name,
                         int64_t start_time, json_t *tags, char **run_id_out);
int cl_run_update_online(cairn_client *c, const char *run_id, const char *status, int64_t end_time);
int cl_artifact_upload_online(cairn_client *c, const char *run_id, const char *local_path,
                              const char *artifact_path, cairn_progress_fn fn, void *ud);
int cl_experiment_ensure_online(cairn_client *c, const char *name, char **id_out);
/* Should this failed call fall back to the spool? Switches to offline if so. */
int cl_fallback(cairn_client *c, int r);

/* ---- helpers shared by the API files ---- */
int cl_require(const char *what, const char *v);
int cl_dump_out(json_t *j, char **out);       /* JSON text for the caller, decrefs j */

#endif
