/* cairn.h - libcairn, the C client of an MLflow tracking server (Cairn or
 * MLflow 2.9). Opaque handles, cairn_noun_verb names, int return codes
 * (CAIRN_OK or a negative CAIRN_E*) and a per-thread last error with a message
 * (cairn_error_last). Every call is thread-safe on a shared cairn_client.
 *
 * Logging calls (cairn_log_param, cairn_log_metric, cairn_set_tag) never
 * touch the network: they queue the item and return. A background thread per
 * client sends the queue as runs/log-batch requests within MLflow's limits,
 * retries with back-off, and, when the server stays unreachable, appends the
 * items to the offline spool (see docs/CLIENT.md). cairn_run_end and
 * cairn_client_flush wait until everything queued so far is delivered or
 * spooled; an atexit handler flushes every live client.
 *
 * Strings returned through char ** out-parameters are owned by the caller
 * and freed with cairn_free(). JSON results are the server's JSON objects.
 */
#ifndef CAIRN_H
#define CAIRN_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CAIRN_EXTERN __attribute__((visibility("default")))
#else
#define CAIRN_EXTERN
#endif

/* Cairn's version, defined here and nowhere else: the Makefile reads it for
 * cairn.pc, the man page and `cairn --version`, python/setup.py for the Python
 * package, and libcairn sends it in its User-Agent. */
#define CAIRN_VERSION_STRING "0.1.0"

/* Return codes. */
enum {
    CAIRN_OK = 0,
    CAIRN_EINVAL = -1,      /* bad argument (missing run id, empty key, ...) */
    CAIRN_ENOMEM = -2,      /* out of memory */
    CAIRN_EUNREACHABLE = -3,/* cannot reach the server (message names the address) */
    CAIRN_ESERVER = -4,     /* the server answered with an MLflow error */
    CAIRN_ENOTFOUND = -5,   /* RESOURCE_DOES_NOT_EXIST */
    CAIRN_EIO = -6,         /* local file or spool error */
    CAIRN_EPROTO = -7,      /* unexpected answer from the server */
    CAIRN_EOFFLINE = -8,    /* the call needs the server but the client is offline */
    CAIRN_ETLS = -9         /* https:// only: the server's certificate failed verification,
                               the CA file is unreadable, or the TLS handshake failed. Never
                               spooled: a wrong certificate is not an absent server. */
};

/* The last error of the calling thread. */
typedef struct {
    int code;                 /* one of CAIRN_E* */
    int http_status;          /* HTTP status when the server answered, else 0 */
    const char *error_code;   /* MLflow error_code ("RESOURCE_DOES_NOT_EXIST"), or "" */
    const char *message;      /* human readable, never NULL */
} cairn_error;

CAIRN_EXTERN const cairn_error *cairn_error_last(void);
CAIRN_EXTERN void cairn_error_clear(void);
CAIRN_EXTERN void cairn_free(void *p);
CAIRN_EXTERN const char *cairn_version(void);

typedef struct cairn_client cairn_client;

/* Options for cairn_client_open; NULL fields come from the environment:
 * MLFLOW_TRACKING_URI (default http://127.0.0.1:5000), MLFLOW_TRACKING_TOKEN,
 * MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD, MLFLOW_TRACKING_INSECURE_TLS,
 * CAIRN_OFFLINE=1, CAIRN_SPOOL_DIR (default $HOME/.cairn/spool). For https://
 * the server's certificate is always verified: against the system's CAs, or
 * the CA file in CAIRN_CA_CERT (which wins) or MLFLOW_TRACKING_SERVER_CERT_PATH;
 * MLFLOW_TRACKING_INSECURE_TLS=true turns verification off (and wins over both). */
typedef struct {
    const char *tracking_uri;
    const char *token;
    const char *username;
    const char *password;
    const char *spool_dir;
    int offline;              /* 1: never contact the server, spool everything */
    int no_spool;             /* 1: never spool; unreachable is an error */
    int max_retries;          /* 0: default (4) */
    int flush_interval_ms;    /* 0: default (200) */
} cairn_options;

CAIRN_EXTERN int cairn_client_open(cairn_client **out, const cairn_options *opts);
/* Flushes, stops the background thread and frees the client. */
CAIRN_EXTERN int cairn_client_close(cairn_client *c);
/* Waits until everything queued so far is delivered or spooled. Returns the
 * first error met by the background thread since the last flush, if any. */
CAIRN_EXTERN int cairn_client_flush(cairn_client *c);
CAIRN_EXTERN const char *cairn_client_tracking_uri(const cairn_client *c);
/* 1 when the client spools instead of sending (CAIRN_OFFLINE or fallback). */
CAIRN_EXTERN int cairn_client_is_offline(cairn_client *c);
CAIRN_EXTERN const char *cairn_client_spool_dir(const cairn_client *c);

/* Experiments. */
CAIRN_EXTERN int cairn_experiment_create(cairn_client *c, const char *name,
                                         const char *artifact_location, char **id_out);
/* Returns the id of the experiment named name, creating it when missing. */
CAIRN_EXTERN int cairn_experiment_ensure(cairn_client *c, const char *name, char **id_out);
CAIRN_EXTERN int cairn_experiment_get(cairn_client *c, const char *id, char **json_out);
CAIRN_EXTERN int cairn_experiment_get_by_name(cairn_client *c, const char *name, char **json_out);
/* view: "ACTIVE_ONLY" (NULL), "DELETED_ONLY" or "ALL". Follows page tokens. */
CAIRN_EXTERN int cairn_experiment_search(cairn_client *c, const char *filter, const char *view,
                                         char **json_out);
CAIRN_EXTERN int cairn_experiment_rename(cairn_client *c, const char *id, const char *new_name);
CAIRN_EXTERN int cairn_experiment_delete(cairn_client *c, const char *id);
CAIRN_EXTERN int cairn_experiment_restore(cairn_client *c, const char *id);

/* Runs. experiment_id NULL: MLFLOW_EXPERIMENT_ID, else MLFLOW_EXPERIMENT_NAME,
 * else "0". start_time_ms 0: now. Offline, the run gets a local id
 * ("local-...") that cairn sync maps to the server's id. */
CAIRN_EXTERN int cairn_run_create(cairn_client *c, const char *experiment_id, const char *run_name,
                                  int64_t start_time_ms, char **run_id_out);
CAIRN_EXTERN int cairn_run_get(cairn_client *c, const char *run_id, char **json_out);
/* experiment_ids: comma separated. view as for experiments. max_results 0:
 * all (follows page tokens). Returns {"runs": [...]}. */
CAIRN_EXTERN int cairn_run_search(cairn_client *c, const char *experiment_ids, const char *filter,
                                  const char *order_by, const char *view, int max_results,
                                  char **json_out);
/* status: RUNNING, SCHEDULED, FINISHED, FAILED, KILLED. end_time_ms 0: now
 * for a terminal status. */
CAIRN_EXTERN int cairn_run_update_status(cairn_client *c, const char *run_id, const char *status,
                                         int64_t end_time_ms);
/* Flushes the run's queued items, then sets its status (NULL: FINISHED). */
CAIRN_EXTERN int cairn_run_end(cairn_client *c, const char *run_id, const char *status);
CAIRN_EXTERN int cairn_run_delete(cairn_client *c, const char *run_id);
CAIRN_EXTERN int cairn_run_restore(cairn_client *c, const char *run_id);
/* The run id from MLFLOW_RUN_ID, or NULL. */
CAIRN_EXTERN const char *cairn_env_run_id(void);

/* Logging: queued, never blocking on the network. timestamp_ms 0: now. */
CAIRN_EXTERN int cairn_log_param(cairn_client *c, const char *run_id, const char *key,
                                 const char *value);
CAIRN_EXTERN int cairn_log_metric(cairn_client *c, const char *run_id, const char *key,
                                  double value, int64_t timestamp_ms, int64_t step);
CAIRN_EXTERN int cairn_set_tag(cairn_client *c, const char *run_id, const char *key,
                               const char *value);
/* Returns {"metrics": [...]} with every point (follows page tokens). */
CAIRN_EXTERN int cairn_metric_history(cairn_client *c, const char *run_id, const char *key,
                                      char **json_out);

/* Artifacts, streamed from and to files. progress may be NULL; it gets the
 * bytes done and the total (0 when unknown). artifact_path NULL on upload:
 * the file's base name at the root. */
typedef void (*cairn_progress_fn)(void *ud, uint64_t done, uint64_t total);
CAIRN_EXTERN int cairn_artifact_upload(cairn_client *c, const char *run_id, const char *local_path,
                                       const char *artifact_path, cairn_progress_fn progress,
                                       void *ud);
CAIRN_EXTERN int cairn_artifact_download(cairn_client *c, const char *run_id,
                                         const char *artifact_path, const char *local_path,
                                         cairn_progress_fn progress, void *ud);
/* Returns {"root_uri": ..., "files": [...]} for a directory (NULL: root). */
CAIRN_EXTERN int cairn_artifact_list(cairn_client *c, const char *run_id, const char *path,
                                     char **json_out);

/* Offline spool replay: sends every record of spool_dir not yet delivered,
 * exactly once, and keeps what it cannot send. */
typedef struct {
    int records_sent;     /* delivered by this call */
    int records_skipped;  /* already delivered by an earlier sync */
    int records_failed;   /* kept for a later sync */
    int records_corrupt;  /* torn lines (a process killed mid-write), dropped */
    int runs_created;
} cairn_sync_stats;
CAIRN_EXTERN int cairn_spool_sync(cairn_client *c, const char *spool_dir, cairn_sync_stats *stats);

/* Jobs: Cairn's job service (/api/2.0/cairn/jobs/, docs/JOBS.md), which runs
 * an MLflow project on the server's local or Slurm backend as a tracked run.
 * Results are the server's JSON: {"job": Job} or {"jobs": [Job...]}. These
 * calls need a Cairn server and are never spooled. */
typedef struct {
    const char *project_path;         /* required: the project as a zip or tar archive file */
    const char *backend_config_path;  /* JSON or YAML file (docs/BACKENDS.md); NULL: none */
    const char *backend;              /* "local" or "slurm"; NULL: the config's, else local */
    const char *entry_point;          /* NULL: "main" */
    const char *parameters_json;      /* a JSON object as text, {"alpha": "0.5"}; NULL: none */
    const char *experiment_id;        /* NULL: experiment_name, else experiment 0 */
    const char *experiment_name;      /* created when missing */
    const char *run_name;
    const char *source_name;          /* mlflow.source.name; NULL: the archive's file name */
    const char *git_commit;           /* mlflow.source.git.commit */
    const char *const *env;           /* nenv "NAME=value" items for the job (MLFLOW_* only) */
    size_t nenv;
} cairn_job_submit_opts;

CAIRN_EXTERN int cairn_job_submit(cairn_client *c, const cairn_job_submit_opts *opts, char **job_json);
CAIRN_EXTERN int cairn_job_get(cairn_client *c, const char *job_id, char **job_json);
/* experiment_id NULL: every experiment; active_only 1: jobs not yet ended;
 * max_results 0: all (follows page tokens). Newest first. */
CAIRN_EXTERN int cairn_job_list(cairn_client *c, const char *experiment_id, int active_only,
                                int max_results, char **json_out);
/* Asks the backend to stop the job; answers the job at once. */
CAIRN_EXTERN int cairn_job_cancel(cairn_client *c, const char *job_id, char **job_json);
/* The job's output (stdout and stderr) from byte offset, handed to write_cb
 * as it arrives; with follow 1 the call returns when the job has ended and
 * all its output is sent. write_cb returns 0 to go on, nonzero to stop (the
 * call then returns CAIRN_EIO). The transfer has its own connection, so
 * other calls on the client do not wait for it. */
typedef int (*cairn_write_fn)(void *arg, const char *data, size_t len);
CAIRN_EXTERN int cairn_job_logs(cairn_client *c, const char *job_id, int64_t offset, int follow,
                                cairn_write_fn write_cb, void *arg);

/* The stored login (docs/CLIENT.md, "Logging in"). A client opened with no
 * explicit credentials (options, MLFLOW_TRACKING_TOKEN, MLFLOW_TRACKING_USERNAME
 * / _PASSWORD) sends the access token stored for its tracking URI in
 * $HOME/.cairn/tokens.json as a Bearer token, refreshes it when it expires
 * within a minute or is refused (401), and writes the new pair back.
 *
 * cairn_login gets tokens for username/password from Cairn's
 * /api/2.0/cairn/auth/token, stores them (0600 file in a 0700 folder,
 * written atomically) and uses them from then on. A wrong password is
 * CAIRN_ESERVER with http_status 401; nothing is stored then. expires_at
 * (may be NULL): the access token's expiry, seconds since the epoch. */
CAIRN_EXTERN int cairn_login(cairn_client *c, const char *username, const char *password,
                             int64_t *expires_at);
/* Revokes the stored refresh token on the server (best effort: *revoked
 * says if it worked) and removes the entry; *was_logged_in 0: there was none. */
CAIRN_EXTERN int cairn_logout(cairn_client *c, int *was_logged_in, int *revoked);
/* The path of the tokens file; free with cairn_free. */
CAIRN_EXTERN char *cairn_tokens_path(void);

/* Administration (MLflow's basic-auth API; admins only). Passwords go only
 * in request bodies. Results are the server's JSON ({"user": {...}}). */
CAIRN_EXTERN int cairn_user_create(cairn_client *c, const char *username, const char *password,
                                   char **json_out);
CAIRN_EXTERN int cairn_user_get(cairn_client *c, const char *username, char **json_out);
CAIRN_EXTERN int cairn_user_update_password(cairn_client *c, const char *username, const char *password);
CAIRN_EXTERN int cairn_user_update_admin(cairn_client *c, const char *username, int is_admin);
CAIRN_EXTERN int cairn_user_delete(cairn_client *c, const char *username);
/* permission: READ, EDIT, MANAGE or NO_PERMISSIONS; created, or updated when
 * the user has one already. */
CAIRN_EXTERN int cairn_experiment_permission_set(cairn_client *c, const char *experiment_id,
                                                 const char *username, const char *permission);
CAIRN_EXTERN int cairn_experiment_permission_delete(cairn_client *c, const char *experiment_id,
                                                    const char *username);

/* Raw request helpers for what the typed calls do not cover. path is below
 * /api/2.0/mlflow/ ("runs/log-batch"); body is JSON text. */
CAIRN_EXTERN int cairn_request_post(cairn_client *c, const char *path, const char *body,
                                    char **json_out);
CAIRN_EXTERN int cairn_request_get(cairn_client *c, const char *path_and_query, char **json_out);

#ifdef __cplusplus
}
#endif
#endif
