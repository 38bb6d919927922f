/* api.h - MLflow REST handlers: a parsed request in, a JSON object out.
 *
 * http/ turns a request into `args`, one JSON object for both methods:
 * a POST body as sent, or a GET query string with each key mapped to its
 * string value (a key given several times, or as key[] / key[0], maps to an
 * array of strings). Handlers therefore accept numbers either as JSON numbers
 * or as decimal strings, exactly as protobuf's JSON parser does for MLflow.
 * A handler never sees a socket, so each one is unit-testable. */
#ifndef CAIRN_API_H
#define CAIRN_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../artifacts/store.h"
#include "../jobs/service.h"
#include "../store/store.h"
#include "../util/err.h"
#include "../util/sbuf.h"

/* Who may do what: access.c asks it for every request that touches an
 * experiment (users and permissions will fill it; today a toy policy in
 * tests). allow returns 0, or -1 with e set to PERMISSION_DENIED.
 * experiment_id is NULL for creating a new experiment. */
typedef struct api_caller api_caller;
typedef enum api_perm { API_PERM_READ, API_PERM_EDIT, API_PERM_MANAGE } api_perm;
typedef struct api_policy api_policy;
struct api_policy {
    int (*allow)(const api_policy *p, const api_caller *who, const char *experiment_id,
                 api_perm perm, cerr *e);
    void *arg;
};

/* Users and permissions (api/auth.c): NULL when auth is off. */
typedef struct api_auth api_auth;

typedef struct api_ctx {
    store *st;
    /* The store behind mlflow-artifacts:/ (--artifacts-destination). */
    artifacts_store *artifacts;
    /* The job service (api/jobs.c); NULL answers its endpoints with
     * NOT_IMPLEMENTED. */
    job_service *jobs;
    /* Who may do what (access.c); NULL allows everything. */
    const api_policy *policy;
    /* Who is asking (auth.c): with it, every route but the public ones
     * needs credentials. */
    api_auth *auth;
} api_ctx;

/* Who is asking, as http/ read it off the request; access.c decides what
 * it means. */
struct api_caller {
    const char *authorization; /* the Authorization header, or NULL */
    char remote_addr[64];      /* the client's address, for rate limits */
    /* Filled by the door (access.c) once the caller is authenticated, when
     * auth is on (ctx->auth); all zero when it is off. */
    bool authenticated;
    int64_t user_id;
    char username[256];
    bool is_admin;
    bool must_change_password;
    char scope[64]; /* a limited token's experiment id (a job's), or "" */
};

/* The request headers a handler may read, as sent (NULL: absent). */
typedef struct api_headers {
    const char *range; /* Range: a download of part of an artifact */
    /* As the client sent them (NULL: absent): an upload's size is known
     * when it has a Content-Length and no Transfer-Encoding. */
    const char *content_length;
    const char *transfer_encoding;
} api_headers;

/* A file part of a multipart/form-data request, saved by http/ in a
 * temporary file that lives until the request is answered. */
typedef struct api_file {
    const char *field;    /* the form field's name */
    const char *filename; /* as the client named it; may be "" */
    const char *path;     /* the temporary file */
    uint64_t size;
} api_file;

typedef struct api_request {
    json_t *args;    /* never NULL: an empty object when nothing was sent;
                      * a form's text fields as strings (repeated: arrays),
                      * a path parameter (api_route.param) as a string */
    size_t body_len; /* raw body size in bytes (MLflow limits log-batch by it) */
    const api_file *files; /* form routes: the file parts, in order */
    size_t nfiles;
    api_caller caller;
    api_headers headers;
} api_request;

/* Returns 0 with *out set to the response object (caller owns it),
 * or -1 with e set. */
typedef int (*api_handler)(const api_ctx *ctx, const api_request *req, json_t **out, cerr *e);

/* A body produced piece by piece (a metric history of any length), so
 * that memory does not grow with the response. */
typedef struct api_stream api_stream;
struct api_stream {
    /* Appends the next piece to out: 1 when more may follow, 0 at the end
     * (nothing appended), API_STREAM_WAIT when nothing is ready yet (a log
     * being followed: http/ asks again a little later, holding no thread),
     * -1 on error. */
    int (*next)(api_stream *s, sbuf *out, cerr *e);
    void (*free)(api_stream *s);
};
#define API_STREAM_WAIT 2
int api_stream_next(api_stream *s, sbuf *out, cerr *e);
/* NULL is allowed. */
void api_stream_free(api_stream *s);

/* An artifact being downloaded (a GET of mlflow-artifacts), read by http/
 * as the client takes it. */
typedef struct api_download api_download;

/* A wait is over: call the read or write that had to wait again. */
typedef void (*api_notify_fn)(void *arg);

/* Up to n bytes: the count, 0 at the end, API_AGAIN (nothing received
 * yet: call again after the notify function set with
 * api_download_notify), or -1 with e set. */
#define API_AGAIN (-2)
ssize_t api_download_read(api_download *d, void *buf, size_t n, cerr *e);
void api_download_notify(api_download *d, api_notify_fn fn, void *arg);
/* A file descriptor at the start of the bytes to send, when the artifact
 * is a local file (http/ then lets the kernel send it), else -1. */
int api_download_fd(api_download *d);
/* NULL is allowed. */
void api_download_free(api_download *d);

/* What a handler answers: exactly one of json, text, stream and download
 * is set. */
typedef struct api_result {
    json_t *json;       /* an object, encoded by http/ */
    sbuf text;          /* or text the handler wrote itself */
    api_stream *stream; /* or a stream of text */
    api_download *download; /* or an artifact's bytes: */
    uint64_t size;          /*   how many */
    char *filename;         /*   the name a browser saves them under */
    uint64_t offset, total; /*   status 206: where they start, of how many */
    const char *content_type; /* of text and stream; NULL: application/json */
    unsigned status;    /* 0: 200 */
} api_result;

/* A write to a run, parsed and checked, ready for the store: what
 * log-metric, log-parameter, log-batch and set-tag become. Strings point
 * into the request's args, which must outlive it; a single metric or
 * key/value lives in `one`, so the struct must not be moved once filled. */
typedef struct api_batch {
    const char *run_id;
    store_metric *metrics;
    store_kv *params, *tags;
    size_t nmetrics, nparams, ntags;
    bool owned; /* the three arrays are heap (log-batch) */
    union {
        store_metric m;
        store_kv kv;
    } one;
} api_batch;

/* Parse and check a request into b (zeroed). On error b may hold memory:
 * api_batch_free it either way. */
typedef int (*api_batch_prep)(const api_request *req, api_batch *b, cerr *e);
void api_batch_free(api_batch *b);
/* prep, then the blocking store write: the ordinary handler. */
int api_batch_run(const api_ctx *ctx, api_batch_prep prep, const api_request *req, json_t **out,
                  cerr *e);

/* A handler that may answer with text or a stream (see api_result). */
typedef int (*api_handler_ex)(const api_ctx *ctx, const api_request *req, api_result *res,
                              cerr *e);

/* Where a route is mounted: its path is below one of these prefixes. */
typedef enum api_mount {
    API_MOUNT_ROOT,      /* the path is the whole URL path */
    API_MOUNT_MLFLOW,    /* /api/2.0/mlflow/ and /ajax-api/2.0/mlflow/ */
    API_MOUNT_ARTIFACTS, /* /api/2.0/mlflow-artifacts/ and its /ajax-api/ twin */
    API_MOUNT_CAIRN,     /* /api/2.0/cairn/ and /ajax-api/2.0/cairn/ */
} api_mount;

/* How the request body is read. */
typedef enum api_body {
    API_BODY_JSON, /* buffered up to CAIRN_MAX_JSON_BODY; application/json for POST */
    API_BODY_FORM, /* multipart/form-data, files into temporary files */
    API_BODY_RAW,  /* streamed to the route's upload handler as it arrives */
} api_body;

/* What a route touches, for the access check (access.c): the experiment
 * it is about is found from this. */
typedef enum api_scope {
    API_SCOPE_PUBLIC,          /* nothing of anyone's: /health */
    API_SCOPE_CREATE,          /* makes a new experiment */
    API_SCOPE_EXPERIMENT,      /* args.experiment_id */
    API_SCOPE_EXPERIMENT_NAME, /* args.experiment_name */
    API_SCOPE_EXPERIMENTS,     /* every id of args.experiment_ids */
    API_SCOPE_RUN,             /* args.run_id (or run_uuid) */
    API_SCOPE_RUNS,            /* every id of args.run_ids */
    API_SCOPE_ARTIFACT,        /* args.path below the destination: <experiment_id>/... */
    API_SCOPE_JOB,             /* args.job_id (or task_id): the job's experiment */
    API_SCOPE_SUBMIT,          /* a submission: args.experiment_id or experiment_name */
    API_SCOPE_LIST,            /* a list of many experiments' things: filtered */
    API_SCOPE_ADMIN,           /* administrators only (users/create, users/delete, ...) */
    API_SCOPE_USER,            /* args.username is the caller, or an administrator */
    API_SCOPE_MODEL,           /* args.name: a registered model */
    API_SCOPE_LOGIN,           /* answers credentials itself (token endpoints): no check */
} api_scope;


/* A streamed upload (API_BODY_RAW routes), owned by api/. */
typedef struct api_upload api_upload;
typedef int (*api_upload_begin_fn)(const api_ctx *ctx, const api_request *req, api_upload **out,
                                   cerr *e);

/* One row of the route table (routes.c). Every field by name: adding a
 * field touches no row. */
typedef struct api_route {
    const char *method; /* "GET", "POST", "PUT", "PATCH", "DELETE" (HEAD is GET) */
    api_mount mount;
    const char *path;   /* below the mount; ends in '/' when .param is set */
    /* The handler: exactly one of these. */
    api_handler fn;
    api_handler_ex fn_ex;
    api_upload_begin_fn upload; /* API_BODY_RAW */
    /* Set when fn is api_batch_run over it: the write may be queued to the
     * store without holding a thread (api_call_queued). */
    api_batch_prep prep;
    api_body body;
    const char *param;  /* the rest of the URL after path is this arg */
    bool param_tail;    /* ... and may hold '/' (an artifact path) */
    /* May wait for a remote store (S3): run on the handler pool even as a
     * GET, never on a polling thread. */
    bool slow;
    api_scope scope;
    api_perm perm;
    const char *doc;    /* one line: what it does */
} api_route;

/* Looks a request up by its URL path. NULL when none matches;
 * *path_known then tells whether the path exists with another method (so
 * http/ can answer 405, as Flask does). On success *param points into url
 * where the path parameter starts, or is NULL. */
const api_route *api_route_find(const char *method, const char *url, bool *path_known,
                                const char **param);
/* Is url below MLflow's REST prefixes? (Its 404 says "No API endpoint".) */
bool api_url_is_mlflow(const char *url);
/* Every route, for `cairn server --routes` and the tests. */
const api_route *api_routes_all(size_t *n);
const char *api_mount_prefix(api_mount m);
const char *api_scope_name(api_scope s);

/* Runs a route's handler on a request the way MLflow's parse_dict would see
 * it: numeric experiment_id / experiment_ids are turned into strings first
 * (old clients send numbers). Checks access first (access.c). */
int api_call(const api_route *route, const api_ctx *ctx, api_request *req, json_t **out, cerr *e);
/* The same, keeping a text, streamed or download answer as it is: what
 * http/ uses. res must start zeroed; the caller frees what it holds
 * (api_result_free). */
int api_call_ex(const api_route *route, const api_ctx *ctx, api_request *req, api_result *res,
                cerr *e);
void api_result_free(api_result *res);

/* The answer to a queued call: rc 0 with res (taken over by done), or -1
 * with e. Called exactly once, from any thread. */
typedef void (*api_done_fn)(void *arg, int rc, api_result *res, const cerr *e);
/* api_call_queued could not queue: call api_call_ex on a thread that may
 * block. */
#define API_BLOCKING 1
/* For routes with .prep (run writes): checks access, parses and checks the
 * write, and hands it to the store's writer, which answers through done
 * once it is durable; no thread waits. Takes req->args over. Returns 0
 * when done has been called (at once, on this thread, for a refused
 * request) or will be (from the writer thread): the caller must be ready
 * for either before calling. API_BLOCKING when the store cannot queue
 * (PostgreSQL): done is not called and req is untouched. */
int api_call_queued(const api_route *route, const api_ctx *ctx, api_request *req,
                    api_done_fn done, void *arg);

/* Streamed uploads (API_BODY_RAW routes). begin runs with the headers,
 * before any byte of the body, so a refused upload costs no transfer. */
int api_upload_begin(const api_route *route, const api_ctx *ctx, api_request *req,
                     api_upload **out, cerr *e);
/* Takes up to n bytes: how many (0: the store's buffers are all in
 * flight; call again after notify), or -1 with e set (then only abort). */
ssize_t api_upload_write(api_upload *u, const void *data, size_t n, cerr *e);
void api_upload_notify(api_upload *u, api_notify_fn fn, void *arg);
/* The whole body is in: makes the upload visible, answers res. Frees u. */
int api_upload_finish(api_upload *u, api_result *res, cerr *e);
/* Drops the upload (client gone, or refused). NULL is allowed. */
void api_upload_abort(api_upload *u);

/* ---- access.c: the one check of who asks and what they may do ---- */

/* Before a route's handler: who is req's caller (with auth on, from its
 * credentials: req->caller is filled), and may they do route's work? 0 or
 * -1 with e (UNAUTHENTICATED, PERMISSION_DENIED). Every entry point above
 * calls it. */
int api_access_check(const api_ctx *ctx, const api_route *route, api_request *req, cerr *e);
/* Only who is asking (the first half of the check), for http/ to call with
 * the headers, so that a request without good credentials is refused 401
 * before its body is read, whatever the body. 0 when auth is off. */
int api_identify(const api_ctx *ctx, const api_route *route, api_request *req, cerr *e);
/* After a route's handler succeeded: a list (API_SCOPE_LIST) loses what
 * the caller may not read; a new experiment's creator gets MANAGE on it. */
void api_access_after(const api_ctx *ctx, const api_route *route, const api_request *req,
                       api_result *res);
/* For a handler that learns its experiment only from its body (an
 * ml-task-manager task names it in a file): the same check. name may name
 * no experiment yet (then: may the caller create one?). */
int api_access_experiment_name(const api_ctx *ctx, const api_request *req, const char *name,
                               api_perm perm, cerr *e);
/* A toy policy denying every access to the experiments listed in ids
 * (comma-separated): what the tests prove the one door with
 * (CAIRN_TEST_DENY_EXPERIMENTS). *out is static-duration-free: free with
 * api_policy_free. */
int api_policy_deny_list(const char *ids, api_policy **out);
void api_policy_free(api_policy *p);

/* Handlers, one file per resource. */
int api_experiments_create(const api_ctx *, const api_request *, json_t **, cerr *);
int api_experiments_get(const api_ctx *, const api_request *, json_t **, cerr *);
int api_experiments_get_by_name(const api_ctx *, const api_request *, json_t **, cerr *);
int api_experiments_search(const api_ctx *, const api_request *, json_t **, cerr *);
int api_experiments_update(const api_ctx *, const api_request *, json_t **, cerr *);
int api_experiments_delete(const api_ctx *, const api_request *, json_t **, cerr *);
int api_experiments_restore(const api_ctx *, const api_request *, json_t **, cerr *);
int api_experiments_set_tag(const api_ctx *, const api_request *, json_t **, cerr *);

int api_runs_create(const api_ctx *, const api_request *, json_t **, cerr *);
int api_runs_get(const api_ctx *, const api_request *, json_t **, cerr *);
int api_runs_update(const api_ctx *, const api_request *, json_t **, cerr *);
int api_runs_delete(const api_ctx *, const api_request *, json_t **, cerr *);
int api_runs_restore(const api_ctx *, const api_request *, json_t **, cerr *);
int api_runs_search(const api_ctx *, const api_request *, json_t **, cerr *);
int api_runs_log_metric(const api_ctx *, const api_request *, json_t **, cerr *);
int api_runs_log_parameter(const api_ctx *, const api_request *, json_t **, cerr *);
int api_runs_log_batch(const api_ctx *, const api_request *, json_t **, cerr *);
int api_runs_log_metric_prep(const api_request *, api_batch *, cerr *);
int api_runs_log_parameter_prep(const api_request *, api_batch *, cerr *);
int api_runs_log_batch_prep(const api_request *, api_batch *, cerr *);
int api_runs_set_tag_prep(const api_request *, api_batch *, cerr *);
int api_runs_set_tag(const api_ctx *, const api_request *, json_t **, cerr *);
int api_runs_delete_tag(const api_ctx *, const api_request *, json_t **, cerr *);
int api_runs_log_inputs(const api_ctx *, const api_request *, json_t **, cerr *);

int api_metrics_get_history(const api_ctx *, const api_request *, json_t **, cerr *);
/* Streamed when the client asks for no page (history.c). */
int api_metrics_get_history_ex(const api_ctx *, const api_request *, api_result *, cerr *);
int api_metrics_get_history_bulk_interval(const api_ctx *, const api_request *, api_result *,
                                          cerr *);
/* Jobs (api/jobs.c) and the compatible submission APIs (api/compat.c). */
int api_jobs_submit(const api_ctx *, const api_request *, api_result *, cerr *);
int api_jobs_get(const api_ctx *, const api_request *, api_result *, cerr *);
int api_jobs_list(const api_ctx *, const api_request *, api_result *, cerr *);
int api_jobs_cancel(const api_ctx *, const api_request *, api_result *, cerr *);
int api_jobs_logs(const api_ctx *, const api_request *, api_result *, cerr *);
int api_compat_compute_backend_submit(const api_ctx *, const api_request *, api_result *, cerr *);
int api_compat_new_task(const api_ctx *, const api_request *, api_result *, cerr *);
int api_compat_tasks(const api_ctx *, const api_request *, api_result *, cerr *);
int api_compat_task(const api_ctx *, const api_request *, api_result *, cerr *);
int api_compat_job_status(const api_ctx *, const api_request *, api_result *, cerr *);

/* artifacts/list: implemented in api/artifacts.c over artifacts/. */
int api_artifacts_list(const api_ctx *, const api_request *, json_t **, cerr *);
/* The mlflow-artifacts service (api/proxy.c). */
int api_proxy_list(const api_ctx *, const api_request *, json_t **, cerr *);
int api_proxy_get(const api_ctx *, const api_request *, api_result *, cerr *);
int api_proxy_delete(const api_ctx *, const api_request *, json_t **, cerr *);
int api_proxy_put_begin(const api_ctx *, const api_request *, api_upload **, cerr *);
int api_proxy_mpu(const api_ctx *, const api_request *, json_t **, cerr *);
int api_health(const api_ctx *, const api_request *, api_result *, cerr *);

/* ---- Users, permissions and tokens (users.c, permissions.c, tokens.c) ----
 * MLflow's basic-auth REST API and the login endpoints; api/auth.c is what
 * they call for logins and tokens. */
typedef struct store_user store_user;
typedef struct store_permission store_permission;
typedef struct api_tokens api_tokens;
int api_users_create(const api_ctx *, const api_request *, json_t **, cerr *);
int api_users_get(const api_ctx *, const api_request *, json_t **, cerr *);
int api_users_update_password(const api_ctx *, const api_request *, json_t **, cerr *);
int api_users_update_admin(const api_ctx *, const api_request *, json_t **, cerr *);
int api_users_delete(const api_ctx *, const api_request *, json_t **, cerr *);
int api_experiment_permissions_create(const api_ctx *, const api_request *, json_t **, cerr *);
int api_experiment_permissions_get(const api_ctx *, const api_request *, json_t **, cerr *);
int api_experiment_permissions_update(const api_ctx *, const api_request *, json_t **, cerr *);
int api_experiment_permissions_delete(const api_ctx *, const api_request *, json_t **, cerr *);
int api_model_permissions_create(const api_ctx *, const api_request *, json_t **, cerr *);
int api_model_permissions_get(const api_ctx *, const api_request *, json_t **, cerr *);
int api_model_permissions_update(const api_ctx *, const api_request *, json_t **, cerr *);
int api_model_permissions_delete(const api_ctx *, const api_request *, json_t **, cerr *);
int api_tokens_create(const api_ctx *, const api_request *, json_t **, cerr *);
int api_tokens_refresh(const api_ctx *, const api_request *, json_t **, cerr *);
int api_tokens_revoke(const api_ctx *, const api_request *, json_t **, cerr *);
int api_tokens_oauth2_login(const api_ctx *, const api_request *, json_t **, cerr *);
int api_tokens_mantik_create(const api_ctx *, const api_request *, json_t **, cerr *);
int api_tokens_mantik_refresh(const api_ctx *, const api_request *, json_t **, cerr *);
/* The JSON of MLflow's entities (entities.py): a user with their
 * permissions (never the hash), an experiment and a model permission. */
json_t *api_user_json(const store_user *u, const store_permission *eperms, size_t neperms,
                      const store_permission *mperms, size_t nmperms);
json_t *api_experiment_permission_json(const store_permission *p);
json_t *api_model_permission_json(const store_permission *p);
/* The answers of the token endpoints: Cairn's (expires_in counted from
 * now, seconds) and mantik's (ExpiresAt as ISO 8601 UTC). */
json_t *api_tokens_cairn_json(const api_tokens *t, int64_t now);
json_t *api_tokens_mantik_json(const api_tokens *t);
void api_tokens_iso8601(int64_t t, char out[32]);

#endif
