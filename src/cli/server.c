/* server.c - `cairn server`: options, start-up, and clean shutdown.
 *
 * Options take the names `mlflow server` users know. Each value comes from,
 * in rising priority: the built-in default, MLFLOW_<NAME>, CAIRN_<NAME>, the
 * command-line flag. Start-up opens the store, creates the artifacts
 * destination, starts the HTTP server and prints one "listening on" line
 * to stderr. SIGINT and SIGTERM are blocked in every thread and taken by
 * sigwait() in the main thread, so shutdown runs in ordinary code: stop
 * HTTP (in-flight requests finish), close the store, exit 0. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "../api/auth.h"
#include "../http/http.h"
#include "../jobs/service.h"
#include "../store/store.h"
#include "../util/misc.h"
#include "../util/path.h"
#include "../util/sbuf.h"
#include "cli.h"
#include "server_auth.h"

/* malloc arenas for the whole server (see cli_server_run). */
#define CLI_SERVER_ARENAS 4

enum {
    OPT_HOST,
    OPT_PORT,
    OPT_STORE,
    OPT_DEST,
    OPT_ROOT,
    OPT_WORKERS,
    OPT_LOG,
    OPT_JOBS_DIR,
    OPT_PUBLIC_URL,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_APP_NAME,
    OPT_AUTH_CONFIG,
    OPT_AUTH_KEY,
    OPT_COUNT
};

typedef struct {
    const char *flag;   /* long option */
    int short_flag;     /* 0: none */
    const char *env;    /* suffix of MLFLOW_ and CAIRN_ */
    bool mlflow_env;    /* also read MLFLOW_<env> */
    const char *def;
    const char *meta;
    const char *help;
} cli_opt;

static const cli_opt cli_server_opts[OPT_COUNT] = {
    [OPT_HOST] = {"host", 'h', "HOST", true, "127.0.0.1", "HOST",
                  "Address to listen on; 0.0.0.0 or :: for every interface."},
    [OPT_PORT] = {"port", 'p', "PORT", true, "5000", "PORT",
                  "TCP port; 0 picks a free one (printed at start-up)."},
    [OPT_STORE] = {"backend-store-uri", 0, "BACKEND_STORE_URI", true, "sqlite:///mlflow.db", "URI",
                   "Metadata store, e.g. sqlite:///rel/path.db or sqlite:////abs/path.db."},
    [OPT_DEST] = {"artifacts-destination", 0, "ARTIFACTS_DESTINATION", true, "./mlartifacts",
                  "URI", "Where mlflow-artifacts:/ lives: a local folder (created if missing) or "
                  "s3://bucket/prefix."},
    [OPT_ROOT] = {"default-artifact-root", 0, "DEFAULT_ARTIFACT_ROOT", true, "mlflow-artifacts:/",
                  "URI", "Artifact location given to new experiments."},
    [OPT_WORKERS] = {"workers", 'w', "WORKERS", true, "4", "N",
                     "HTTP worker threads (1..1024)."},
    [OPT_LOG] = {"log-level", 0, "LOG_LEVEL", false, "info", "LEVEL",
                 "debug, info, warn or error."},
    [OPT_JOBS_DIR] = {"jobs-dir", 0, "JOBS_DIR", false, "./cairn-jobs", "DIR",
                      "Job directories (projects, outputs); shared with the compute nodes."},
    [OPT_PUBLIC_URL] = {"public-url", 0, "PUBLIC_URL", false, "auto", "URL",
                        "MLFLOW_TRACKING_URI given to jobs; auto: http(s)://HOST:PORT."},
    [OPT_TLS_CERT] = {"tls-cert", 0, "TLS_CERT", false, "", "FILE",
                      "Serve HTTPS (TLS 1.2+) with this PEM certificate (chain); needs --tls-key."},
    [OPT_TLS_KEY] = {"tls-key", 0, "TLS_KEY", false, "", "FILE",
                     "The certificate's PEM private key (unencrypted); needs --tls-cert."},
    [OPT_APP_NAME] = {"app-name", 0, "APP_NAME", false, "", "NAME",
                      "basic-auth: users, tokens and permissions (as mlflow server's); "
                      "same as --auth."},
    [OPT_AUTH_CONFIG] = {"auth-config", 0, "AUTH_CONFIG_PATH", true, "", "FILE",
                         "MLflow's basic_auth.ini: default_permission, admin_username, "
                         "admin_password."},
    [OPT_AUTH_KEY] = {"auth-key", 0, "AUTH_KEY", false, "cairn-auth.key", "FILE",
                      "The token signing key (32 bytes, mode 0600; made at first start)."},
};

enum { OPT_HELP = OPT_COUNT, OPT_SERVE_ARTIFACTS, OPT_ROUTES, OPT_AUTH, OPT_ALLOW_SIGNUP };

/* The switches without a value, each also an environment variable. */
typedef struct cli_server_switches {
    bool auth;         /* --auth, CAIRN_AUTH=1: as --app-name basic-auth */
    bool allow_signup; /* --allow-signup, CAIRN_ALLOW_SIGNUP=1 */
} cli_server_switches;

/* --routes: the route table, one route a line: method, URL (the first of
 * its prefixes; {name} for a path parameter), scope, permission, what it
 * does. */
static void cli_server_routes(void)
{
    static const char *const perms[] = {"READ", "EDIT", "MANAGE"};
    size_t n;
    const api_route *r = api_routes_all(&n);
    for (size_t i = 0; i < n; i++, r++) {
        char url[256];
        snprintf(url, sizeof url, "%s%s%s%s%s", api_mount_prefix(r->mount), r->path,
                 r->param ? "{" : "", r->param ? r->param : "", r->param ? "}" : "");
        printf("%-6s %-62s %-15s %-6s %s\n", r->method, url, api_scope_name(r->scope),
               r->scope == API_SCOPE_PUBLIC ? "-" : perms[r->perm], r->doc);
    }
}

void cli_server_help(void)
{
    printf("usage: cairn server [options]\n\n"
           "Run the MLflow-compatible tracking server (REST API of MLflow %s) with the\n"
           "artifact proxy. Each option also reads CAIRN_<NAME> or MLFLOW_<NAME> from the\n"
           "environment (the flag wins, then CAIRN_, then MLFLOW_).\n\nOptions:\n",
           CAIRN_MLFLOW_VERSION);
    for (int i = 0; i < OPT_COUNT; i++) {
        const cli_opt *o = &cli_server_opts[i];
        char left[64];
        if (o->short_flag)
            snprintf(left, sizeof left, "-%c, --%s %s", o->short_flag, o->flag, o->meta);
        else
            snprintf(left, sizeof left, "    --%s %s", o->flag, o->meta);
        printf("  %-32s %s\n", left, o->help);
        printf("  %-32s default %s; env %s%s%sCAIRN_%s\n", "", o->def[0] ? o->def : "none",
               o->mlflow_env ? "MLFLOW_" : "",
               o->mlflow_env ? o->env : "", o->mlflow_env ? ", " : "", o->env);
    }
    printf("  %-32s %s\n", "    --serve-artifacts", "Accepted for mlflow compatibility: always on.");
    printf("  %-32s %s\n", "    --auth", "Users, tokens and permissions (env CAIRN_AUTH=1); see "
                                          "docs/SECURITY.md.");
    printf("  %-32s %s\n", "    --allow-signup", "With --auth, anyone may create a user "
                                                  "(env CAIRN_ALLOW_SIGNUP=1).");
    printf("  %-32s %s\n", "    --routes", "Print every route the server answers, and exit.");
    printf("  %-32s %s\n", "    --help", "Show this help.");
    printf("\nSIGINT or SIGTERM stops the server cleanly (exit status 0).\n"
           "See docs/CONFIGURATION.md for limits and details.\n");
}

/* Defaults, then MLFLOW_*, then CAIRN_*. */
static void cli_server_env(const char *val[OPT_COUNT])
{
    for (int i = 0; i < OPT_COUNT; i++) {
        const cli_opt *o = &cli_server_opts[i];
        val[i] = o->def;
        char name[64];
        const char *v;
        snprintf(name, sizeof name, "MLFLOW_%s", o->env);
        if (o->mlflow_env && (v = getenv(name)) != NULL && v[0] != '\0')
            val[i] = v;
        snprintf(name, sizeof name, "CAIRN_%s", o->env);
        if ((v = getenv(name)) != NULL && v[0] != '\0')
            val[i] = v;
    }
}

static int cli_usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "cairn server: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'cairn server --help'.\n");
    return CLI_EXIT_USAGE;
}

/* Returns -1 to go on, or an exit status (help shown, or bad usage). */
static int cli_server_flags(int argc, char **argv, const char *val[OPT_COUNT],
                            cli_server_switches *sw)
{
    struct option longs[OPT_COUNT + 6];
    for (int i = 0; i < OPT_COUNT; i++)
        longs[i] = (struct option){cli_server_opts[i].flag, required_argument, NULL, i};
    longs[OPT_COUNT] = (struct option){"help", no_argument, NULL, OPT_HELP};
    longs[OPT_COUNT + 1] = (struct option){"serve-artifacts", no_argument, NULL, OPT_SERVE_ARTIFACTS};
    longs[OPT_COUNT + 2] = (struct option){"routes", no_argument, NULL, OPT_ROUTES};
    longs[OPT_COUNT + 3] = (struct option){"auth", no_argument, NULL, OPT_AUTH};
    longs[OPT_COUNT + 4] = (struct option){"allow-signup", no_argument, NULL, OPT_ALLOW_SIGNUP};
    longs[OPT_COUNT + 5] = (struct option){NULL, 0, NULL, 0};
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":h:p:w:", longs, NULL)) != -1) {
        if (c == OPT_HELP) {
            cli_server_help();
            return CLI_EXIT_OK;
        }
        if (c == OPT_SERVE_ARTIFACTS)
            continue;
        if (c == OPT_AUTH || c == OPT_ALLOW_SIGNUP) {
            *(c == OPT_AUTH ? &sw->auth : &sw->allow_signup) = true;
            continue;
        }
        if (c == OPT_ROUTES) {
            cli_server_routes();
            return CLI_EXIT_OK;
        }
        if (c == ':')
            return cli_usage_error("option '%s' needs a value", argv[optind - 1]);
        if (c == '?')
            return cli_usage_error("unknown option '%s'", argv[optind - 1]);
        for (int i = 0; i < OPT_COUNT; i++)
            if (c == i || (cli_server_opts[i].short_flag && c == cli_server_opts[i].short_flag))
                val[i] = optarg;
    }
    if (optind < argc)
        return cli_usage_error("unexpected argument '%s'", argv[optind]);
    return -1;
}

/* An environment switch: 1, true, yes or on. */
static bool cli_env_true(const char *name)
{
    const char *v = getenv(name);
    return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
                 strcasecmp(v, "on") == 0);
}

static bool cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = (unsigned)v;
    return true;
}

static bool cli_parse_level(const char *s, log_level *out)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (log_level)i;
            return true;
        }
    return false;
}

/* mkdir -p dir, then its canonical absolute path (heap) or NULL. */
static artifacts_store *cli_open_destination(const char *dest)
{
    cerr e;
    cerr_clear(&e);
    artifacts_store *a = NULL;
    char *real = NULL;
    /* A local folder is made absolute once, so that a job's or a later
     * chdir's idea of "." never matters. */
    if (strstr(dest, "://") == NULL || strncmp(dest, "file://", 7) == 0) {
        const char *dir = strncmp(dest, "file://", 7) == 0 ? dest + 7 : dest;
        if (path_mkdirs(dir, 0777, &e) < 0) {
            fprintf(stderr, "cairn server: artifacts destination: %s\n", e.msg);
            return NULL;
        }
        if ((real = realpath(dir, NULL)) == NULL) {
            fprintf(stderr, "cairn server: artifacts destination '%s': %s\n", dir,
                    strerror(errno));
            return NULL;
        }
        dest = real;
    }
    if (artifacts_store_open(dest, &a, &e) < 0 || artifacts_store_check(a, &e) < 0) {
        fprintf(stderr, "cairn server: artifacts destination '%s': %s\n", dest, e.msg);
        artifacts_store_free(a);
        a = NULL;
    }
    free(real);
    return a;
}

/* Blocks until SIGINT or SIGTERM; returns the signal. */
static int cli_wait_signal(const sigset_t *set)
{
    int sig = 0;
    while (sigwait(set, &sig) != 0)
        ;
    return sig;
}

/* The store URI as logged: a password in it (postgresql://user:secret@...)
 * replaced by "***". Heap string. */
static char *cli_redact_uri(const char *uri)
{
    sbuf b = SBUF_INIT;
    const char *auth = strstr(uri, "://");
    const char *at = auth ? strchr(auth + 3, '@') : NULL;
    const char *slash = auth ? strchr(auth + 3, '/') : NULL;
    const char *colon = auth ? strchr(auth + 3, ':') : NULL;
    if (at && (slash == NULL || at < slash) && colon && colon < at) {
        sbuf_append(&b, uri, (size_t)(colon - uri));
        sbuf_puts(&b, ":***");
        sbuf_puts(&b, at);
    } else {
        sbuf_puts(&b, uri);
    }
    return sbuf_detach(&b);
}

/* CAIRN_JOBS_POLL_MS: the job monitor's period (0: the default). */
static int cli_jobs_poll_ms(void)
{
    const char *v = getenv("CAIRN_JOBS_POLL_MS");
    unsigned ms;
    return v && cli_parse_uint(v, 10, 3600000, &ms) ? (int)ms : 0;
}

/* What jobs get as MLFLOW_TRACKING_URI: --public-url, or this server's
 * address (loopback when it listens on every interface), https:// when it
 * serves TLS. */
static void cli_jobs_tracking_uri(job_service *jobs, const char *host, unsigned port,
                                  const char *public_url, bool tls)
{
    sbuf u = SBUF_INIT;
    const char *scheme = tls ? "https" : "http";
    if (strcmp(public_url, "auto") != 0)
        sbuf_puts(&u, public_url);
    else if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0)
        sbuf_printf(&u, "%s://127.0.0.1:%u", scheme, port);
    else
        sbuf_printf(&u, strchr(host, ':') ? "%s://[%s]:%u" : "%s://%s:%u", scheme, host, port);
    job_service_set_tracking_uri(jobs, sbuf_str(&u));
    sbuf_free(&u);
}

static int cli_server_run(const char *val[OPT_COUNT], const cli_server_switches *sw,
                          unsigned port, unsigned workers)
{
    /* glibc gives each busy thread its own heap (up to 8 per core), and a
     * heap keeps what its thread freed: with hundreds of handler threads
     * that is memory held for nothing. Four heaps keep contention low on
     * the machines Cairn runs on and the resident size bounded. */
    mallopt(M_ARENA_MAX, CLI_SERVER_ARENAS);
    /* A shell starts background jobs with SIGINT ignored; an ignored signal
     * is discarded, not queued for sigwait, so restore the default. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    /* Before any thread starts, so every thread inherits the mask. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    cerr e;
    cerr_clear(&e);
    store *st = NULL;
    char *shown = cli_redact_uri(val[OPT_STORE]);
    if (store_open(val[OPT_STORE], val[OPT_ROOT], &st, &e) < 0) {
        fprintf(stderr, "cairn server: cannot open backend store '%s': %s\n", shown, e.msg);
        free(shown);
        return CLI_EXIT_FAIL;
    }
    artifacts_store *dest = cli_open_destination(val[OPT_DEST]);
    if (dest == NULL) {
        store_close(st);
        free(shown);
        return CLI_EXIT_FAIL;
    }
    api_auth *auth = NULL;
    if (sw->auth && cli_server_auth_open(st, val[OPT_AUTH_CONFIG], val[OPT_AUTH_KEY],
                                         sw->allow_signup, &auth) < 0) {
        store_close(st);
        artifacts_store_free(dest);
        free(shown);
        return CLI_EXIT_FAIL;
    }
    api_policy *policy = NULL;
    const char *deny = getenv("CAIRN_TEST_DENY_EXPERIMENTS");
    if (deny && deny[0]) {
        api_policy_deny_list(deny, &policy);
        log_msg(LOG_WARN, "test policy: every access to experiments %s is denied", deny);
    }
    job_service *jobs = NULL;
    job_service_config jcfg = {st, val[OPT_JOBS_DIR], dest, cli_jobs_poll_ms()};
    if (job_service_start(&jcfg, &jobs, &e) < 0) {
        fprintf(stderr, "cairn server: cannot start the job service in '%s': %s\n",
                val[OPT_JOBS_DIR], e.msg);
        store_close(st);
        artifacts_store_free(dest);
        api_policy_free(policy);
        api_auth_free(auth);
        free(shown);
        return CLI_EXIT_FAIL;
    }
    bool tls = val[OPT_TLS_CERT][0] != '\0' || val[OPT_TLS_KEY][0] != '\0';
    http_config cfg = {.host = val[OPT_HOST],
                       .port = port,
                       .workers = workers,
                       .tls_cert = val[OPT_TLS_CERT][0] ? val[OPT_TLS_CERT] : NULL,
                       .tls_key = val[OPT_TLS_KEY][0] ? val[OPT_TLS_KEY] : NULL,
                       .api = {.st = st,
                               .artifacts = dest,
                               .jobs = jobs,
                               .policy = policy,
                               .auth = auth}};
    http_server *srv = NULL;
    if (http_server_start(&cfg, &srv, &e) < 0) {
        fprintf(stderr, "cairn server: %s\n", e.msg);
        job_service_stop(jobs);
        store_close(st);
        artifacts_store_free(dest);
        api_policy_free(policy);
        api_auth_free(auth);
        free(shown);
        return CLI_EXIT_FAIL;
    }
    cli_jobs_tracking_uri(jobs, val[OPT_HOST], http_server_port(srv), val[OPT_PUBLIC_URL], tls);
    bool v6 = strchr(val[OPT_HOST], ':') != NULL;
    log_msg(LOG_INFO, "listening on %s://%s%s%s:%u (workers %u, store %s, artifacts %s)",
            tls ? "https" : "http", v6 ? "[" : "", val[OPT_HOST], v6 ? "]" : "",
            http_server_port(srv), workers,
            shown, artifacts_store_uri(dest));
    free(shown);
    int sig = cli_wait_signal(&set);
    log_msg(LOG_INFO, "%s received, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    http_server_stop(srv);
    job_service_stop(jobs);
    store_close(st);
    artifacts_store_free(dest);
    api_policy_free(policy);
    api_auth_free(auth);
    log_msg(LOG_INFO, "stopped");
    return CLI_EXIT_OK;
}

int cli_server(int argc, char **argv)
{
    const char *val[OPT_COUNT];
    cli_server_env(val);
    cli_server_switches sw = {cli_env_true("CAIRN_AUTH"), cli_env_true("CAIRN_ALLOW_SIGNUP")};
    int rc = cli_server_flags(argc, argv, val, &sw);
    if (rc >= 0)
        return rc;
    unsigned port, workers;
    log_level level;
    if (!cli_parse_uint(val[OPT_PORT], 0, 65535, &port))
        return cli_usage_error("invalid port '%s' (0..65535)", val[OPT_PORT]);
    if (!cli_parse_uint(val[OPT_WORKERS], 1, 1024, &workers))
        return cli_usage_error("invalid worker count '%s' (1..1024)", val[OPT_WORKERS]);
    if (!cli_parse_level(val[OPT_LOG], &level))
        return cli_usage_error("invalid log level '%s' (debug, info, warn, error)", val[OPT_LOG]);
    for (int i = 0; i < OPT_COUNT; i++)  /* an option off by default ("") may stay so */
        if (val[i][0] == '\0' && val[i] != cli_server_opts[i].def)
            return cli_usage_error("option '--%s' must not be empty", cli_server_opts[i].flag);
    if ((val[OPT_TLS_CERT][0] == '\0') != (val[OPT_TLS_KEY][0] == '\0'))
        return cli_usage_error("%s", val[OPT_TLS_CERT][0]
                                         ? "--tls-cert needs --tls-key (or CAIRN_TLS_KEY)"
                                         : "--tls-key needs --tls-cert (or CAIRN_TLS_CERT)");
    if (val[OPT_APP_NAME][0] && strcmp(val[OPT_APP_NAME], "basic-auth") != 0)
        return cli_usage_error("unknown app '%s' (basic-auth)", val[OPT_APP_NAME]);
    sw.auth = sw.auth || val[OPT_APP_NAME][0];
    log_set_level(level);
    return cli_server_run(val, &sw, port, workers);
}
