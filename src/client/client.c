/* client.c - the cairn_client handle: configuration from options and the
 * environment (as MLflow's client reads it), the libcurl handles, and the
 * process-wide registry of live clients that the atexit handler flushes.
 * That registry (a list under a mutex) is libcairn's only global mutable
 * state; it exists because "flush at exit" needs to find the clients. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "internal.h"

static pthread_once_t cl_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t cl_live_mu = PTHREAD_MUTEX_INITIALIZER;
static cairn_client *cl_live;

static void cl_atexit(void)
{
    pthread_mutex_lock(&cl_live_mu);
    for (cairn_client *c = cl_live; c != NULL; c = c->next_live)
        if (c->owner == getpid())    /* a forked child has no batching thread */
            cl_queue_flush(c);
    pthread_mutex_unlock(&cl_live_mu);
}

static void cl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    atexit(cl_atexit);
}

static const char *cl_env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? v : NULL;
}

static int cl_truthy(const char *v)
{
    return v != NULL && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 ||
                         strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0);
}

static char *cl_default_spool(void)
{
    const char *home = cl_env("HOME");
    cl_buf b = {0};
    if (cl_buf_printf(&b, "%s/.cairn/spool", home ? home : ".") < 0)
        return NULL;
    return cl_buf_take(&b);
}

static void cl_client_free(cairn_client *c)
{
    if (c == NULL)
        return;
    if (c->http)
        curl_easy_cleanup(c->http);
    if (c->bg_http)
        curl_easy_cleanup(c->bg_http);
    free(c->uri);
    cl_wipe_free(c->token);
    free(c->username);
    cl_wipe_free(c->password);
    cl_tokens_free(c);
    free(c->spool_dir);
    free(c->ca_cert);
    free(c->bg_msg);
    free(c->q.items);
    cl_buf_free(&c->q.mem);
    free(c->spare.items);
    cl_buf_free(&c->spare.mem);
    pthread_mutex_destroy(&c->http_mu);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv_work);
    pthread_cond_destroy(&c->cv_done);
    pthread_cond_destroy(&c->cv_space);
    free(c);
}

int cairn_client_open(cairn_client **out, const cairn_options *opts)
{
    static const cairn_options none = {0};
    if (out == NULL)
        return cl_fail(CAIRN_EINVAL, "cairn_client_open: out is NULL");
    *out = NULL;
    if (opts == NULL)
        opts = &none;
    pthread_once(&cl_once, cl_init_once);
    cairn_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return cl_oom();
    pthread_mutex_init(&c->http_mu, NULL);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv_work, NULL);
    pthread_cond_init(&c->cv_done, NULL);
    pthread_cond_init(&c->cv_space, NULL);

    const char *uri = opts->tracking_uri ? opts->tracking_uri : cl_env("MLFLOW_TRACKING_URI");
    if (uri == NULL)
        uri = "http://127.0.0.1:5000";
    if (strncmp(uri, "http://", 7) != 0 && strncmp(uri, "https://", 8) != 0) {
        cl_client_free(c);
        return cl_fail(CAIRN_EINVAL,
                       "unsupported tracking URI '%s': libcairn talks to a server over http:// or https://",
                       uri);
    }
    c->uri = cl_strdup(uri);
    c->token = cl_strdup(opts->token ? opts->token : cl_env("MLFLOW_TRACKING_TOKEN"));
    c->username = cl_strdup(opts->username ? opts->username : cl_env("MLFLOW_TRACKING_USERNAME"));
    c->password = cl_strdup(opts->password ? opts->password : cl_env("MLFLOW_TRACKING_PASSWORD"));
    const char *spool = opts->spool_dir ? opts->spool_dir : cl_env("CAIRN_SPOOL_DIR");
    c->spool_dir = spool ? cl_strdup(spool) : cl_default_spool();
    c->insecure_tls = cl_truthy(cl_env("MLFLOW_TRACKING_INSECURE_TLS"));
    /* Cairn's own name wins over MLflow's, as everywhere (CAIRN_ over MLFLOW_). */
    const char *ca = cl_env("CAIRN_CA_CERT");
    c->ca_cert = cl_strdup(ca ? ca : cl_env("MLFLOW_TRACKING_SERVER_CERT_PATH"));
    c->no_spool = opts->no_spool;
    c->owner = getpid();
    c->max_retries = opts->max_retries > 0 ? opts->max_retries : 4;
    c->flush_ms = opts->flush_interval_ms > 0 ? opts->flush_interval_ms : 200;
    c->forced_offline = opts->offline || cl_truthy(cl_env("CAIRN_OFFLINE"));
    atomic_init(&c->offline, c->forced_offline);
    c->http = cl_curl_new();
    c->bg_http = cl_curl_new();
    if (c->uri == NULL || c->spool_dir == NULL || c->http == NULL || c->bg_http == NULL) {
        cl_client_free(c);
        return cl_oom();
    }
    size_t n = strlen(c->uri);
    while (n > 0 && c->uri[n - 1] == '/')
        c->uri[--n] = '\0';
    cl_tokens_load(c);   /* after the URI is normalised: it is the file's key */
    if (cl_queue_start(c) < 0) {
        cl_client_free(c);
        return cl_fail(CAIRN_ENOMEM, "cannot start the batching thread");
    }
    pthread_mutex_lock(&cl_live_mu);
    c->next_live = cl_live;
    cl_live = c;
    pthread_mutex_unlock(&cl_live_mu);
    *out = c;
    return CAIRN_OK;
}

int cairn_client_close(cairn_client *c)
{
    if (c == NULL)
        return CAIRN_OK;
    pthread_mutex_lock(&cl_live_mu);
    for (cairn_client **p = &cl_live; *p != NULL; p = &(*p)->next_live) {
        if (*p == c) {
            *p = c->next_live;
            break;
        }
    }
    pthread_mutex_unlock(&cl_live_mu);
    if (c->owner != getpid()) {   /* forked child: the thread is the parent's */
        c->thread_started = 0;
        cl_client_free(c);
        return CAIRN_OK;
    }
    int r = cl_queue_flush(c);
    cl_queue_stop(c);
    cl_client_free(c);
    return r;
}

int cairn_client_flush(cairn_client *c)
{
    if (c == NULL)
        return cl_fail(CAIRN_EINVAL, "missing client");
    return cl_queue_flush(c);
}

const char *cairn_client_tracking_uri(const cairn_client *c)
{
    return c ? c->uri : NULL;
}

const char *cairn_client_spool_dir(const cairn_client *c)
{
    return c ? c->spool_dir : NULL;
}

int cairn_client_is_offline(cairn_client *c)
{
    return c ? atomic_load(&c->offline) : 0;
}

void cl_go_offline(cairn_client *c)
{
    atomic_store(&c->offline, 1);
}

int cl_fallback(cairn_client *c, int r)
{
    if (r != CAIRN_EUNREACHABLE || c->no_spool)
        return 0;
    cl_go_offline(c);
    return 1;
}

const char *cairn_env_run_id(void)
{
    return cl_env("MLFLOW_RUN_ID");
}

int cairn_request_post(cairn_client *c, const char *path, const char *body, char **json_out)
{
    if (c == NULL || cl_require("request path", path) < 0)
        return cl_fail(CAIRN_EINVAL, "missing client or request path");
    return cl_api_post(c, path, body, json_out);
}

int cairn_request_get(cairn_client *c, const char *path_and_query, char **json_out)
{
    if (c == NULL || cl_require("request path", path_and_query) < 0)
        return cl_fail(CAIRN_EINVAL, "missing client or request path");
    return cl_api_get(c, path_and_query, json_out);
}
