/* fuzz_api.c - libFuzzer harness for the whole request path below the
 * socket: body parsing (http/request.c) and every REST handler (api/) on a
 * real SQLite store. The first input byte picks the endpoint, the rest is the
 * body. Handlers must answer 0 with an object or -1 with an MLflow error
 * code; anything else, a crash or a sanitizer report, is a finding.
 *
 * The store lives in a temporary folder per fuzzing process, so created
 * experiments ("1", "2", ...) are reachable by later inputs; run ids are
 * random, so run endpoints mostly exercise validation and not-found paths. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "http/internal.h"

static const struct { const char *method, *path; } fuzz_routes[] = {
    {"POST", "experiments/create"}, {"GET", "experiments/get"},
    {"GET", "experiments/get-by-name"}, {"POST", "experiments/search"},
    {"POST", "experiments/update"}, {"POST", "experiments/delete"},
    {"POST", "experiments/restore"}, {"POST", "experiments/set-experiment-tag"},
    {"POST", "runs/create"}, {"GET", "runs/get"}, {"POST", "runs/update"},
    {"POST", "runs/delete"}, {"POST", "runs/restore"}, {"POST", "runs/search"},
    {"POST", "runs/log-metric"}, {"POST", "runs/log-parameter"}, {"POST", "runs/log-batch"},
    {"POST", "runs/set-tag"}, {"POST", "runs/delete-tag"}, {"POST", "runs/log-inputs"},
    {"GET", "metrics/get-history"}, {"GET", "artifacts/list"},
    {"GET", "metrics/get-history-bulk-interval"},
};
#define FUZZ_NROUTES (sizeof fuzz_routes / sizeof fuzz_routes[0])

static api_ctx fuzz_ctx;

static void fuzz_init(void)
{
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/cairn-fuzz-api-%d", (int)getpid());
    char uri[128];
    snprintf(uri, sizeof uri, "sqlite:///%s/mlflow.db", dir);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        abort();
    cerr e;
    if (store_open(uri, "mlflow-artifacts:/", &fuzz_ctx.st, &e) < 0)
        abort();
    if (artifacts_store_open(dir, &fuzz_ctx.artifacts, &e) < 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_ctx.st == NULL)
        fuzz_init();
    if (size < 1)
        return 0;
    bool known;
    const char *param;
    char url[128];
    snprintf(url, sizeof url, "/api/2.0/mlflow/%s", fuzz_routes[data[0] % FUZZ_NROUTES].path);
    const api_route *r =
        api_route_find(fuzz_routes[data[0] % FUZZ_NROUTES].method, url, &known, &param);
    if (r == NULL)
        abort(); /* the table above and routes.c disagree */
    json_t *args;
    cerr e;
    cerr_clear(&e);
    if (http_args_from_body((const char *)data + 1, size - 1, &args, &e) < 0) {
        if (e.code == CERR_OK)
            abort();
        return 0;
    }
    api_request req = {.args = args, .body_len = size - 1};
    json_t *out = NULL;
    int rc = api_call(r, &fuzz_ctx, &req, &out, &e);
    if (rc == 0 && !json_is_object(out))
        abort();
    if (rc != 0 && (rc != -1 || e.code == CERR_OK || e.msg[0] == '\0'))
        abort();
    if (rc != 0 && e.code == CERR_INTERNAL_ERROR)
        abort(); /* a 500 on input: a bug, not an answer */
    json_decref(out);
    json_decref(args);
    return 0;
}
