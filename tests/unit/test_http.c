/* test_http.c - http/: request parsing (bodies, query strings through a
 * real libmicrohttpd daemon), and the server itself over a socket for the
 * routes that need no store (health, 404/405, refusals before the
 * handler, the artifact proxy with hostile paths). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/http.h"
#include "http/internal.h"

/* ---- a minimal HTTP/1.1 client: one request per connection ---- */

typedef struct {
    int status;
    sbuf head;
    sbuf body;
} reply;

static void reply_free(reply *r)
{
    sbuf_free(&r->head);
    sbuf_free(&r->body);
}

static reply request(unsigned port, const char *method, const char *target, const char *headers,
                     const char *body, size_t body_len)
{
    reply r = {0, SBUF_INIT, SBUF_INIT};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    sbuf q = SBUF_INIT;
    sbuf_printf(&q, "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s", method, target,
                headers ? headers : "");
    if (body != NULL)
        sbuf_printf(&q, "Content-Length: %zu\r\n", body_len);
    sbuf_puts(&q, "\r\n");
    if (body != NULL)
        sbuf_append(&q, body, body_len);
    /* A refused request may be answered before its body is read. */
    size_t off = 0;
    while (off < q.len) {
        ssize_t w = send(fd, q.data + off, q.len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    sbuf_free(&q);
    sbuf all = SBUF_INIT;
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        sbuf_append(&all, buf, (size_t)n);
    close(fd);
    const char *sep = strstr(sbuf_str(&all), "\r\n\r\n");
    assert_non_null(sep);
    sbuf_append(&r.head, all.data, (size_t)(sep - all.data));
    sbuf_append(&r.body, sep + 4, all.len - (size_t)(sep + 4 - all.data));
    sscanf(sbuf_str(&all), "HTTP/1.1 %d", &r.status);
    sbuf_free(&all);
    return r;
}

/* ---- bodies ---- */

typedef struct {
    const char *body;
    const char *expect; /* compact JSON, or NULL for an error */
} body_case;

static const body_case body_cases[] = {
    {"", "{}"},
    {"  \n\t", "{}"},
    {"null", "{}"},
    {"{\"a\": 1}", "{\"a\":1}"},
    {"\"{\\\"name\\\": \\\"x\\\"}\"", "{\"name\":\"x\"}"}, /* double-encoded */
    {"\"null\"", "{}"},
    {"[1,2]", NULL},
    {"1", NULL},
    {"\"[1]\"", NULL},
    {"\"not json\"", NULL},
    {"{", NULL},
    {"{\"a\":1}{", NULL},
    {"{\"a\":\"\\u0000\"}", NULL},
    {"{\"a\":\"\xff\"}", NULL},
};

static void test_body_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof body_cases / sizeof body_cases[0]; i++) {
        const body_case *c = &body_cases[i];
        json_t *out = NULL;
        cerr e;
        cerr_clear(&e);
        int rc = http_args_from_body(c->body, strlen(c->body), &out, &e);
        if (c->expect == NULL) {
            if (rc != -1)
                fail_msg("case %zu accepted", i);
            assert_int_equal(e.code, CERR_INVALID_PARAMETER_VALUE);
            assert_null(out);
        } else {
            if (rc != 0)
                fail_msg("case %zu refused: %s", i, e.msg);
            char *s = json_dumps(out, JSON_COMPACT);
            assert_string_equal(s, c->expect);
            free(s);
            json_decref(out);
        }
    }
}

static void test_json_string(void **state)
{
    (void)state;
    json_t *j = http_json_string("ok \xff\xc0\xafz \xe2\x82");
    assert_string_equal(json_string_value(j), "ok \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDz \xEF\xBF\xBD\xEF\xBF\xBD");
    json_decref(j);
    j = http_json_string("caf\xc3\xa9");
    assert_string_equal(json_string_value(j), "caf\xc3\xa9");
    json_decref(j);
}

/* ---- query strings, parsed by MHD with our unescape callback ---- */

static enum MHD_Result echo_args(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *data,
                                 size_t *size, void **req_cls)
{
    (void)cls, (void)url, (void)method, (void)version, (void)data, (void)size;
    if (*req_cls == NULL) {
        *req_cls = c;
        return MHD_YES;
    }
    json_t *args;
    size_t n = http_args_from_query(c, &args);
    json_object_set_new(args, "#", json_integer((json_int_t)n));
    return http_send_json(c, 200, args);
}

typedef struct {
    const char *query;
    const char *expect;
} query_case;

static const query_case query_cases[] = {
    {"", "{\"#\":0}"},
    {"?a=1", "{\"a\":\"1\",\"#\":1}"},
    {"?a=1&a=2&a=3", "{\"a\":[\"1\",\"2\",\"3\"],\"#\":3}"},
    {"?ids%5B%5D=x", "{\"ids\":[\"x\"],\"#\":1}"},
    {"?ids[]=x&ids[]=y", "{\"ids\":[\"x\",\"y\"],\"#\":2}"},
    {"?ids[0]=x&ids[1]=y", "{\"ids\":[\"x\",\"y\"],\"#\":2}"},
    {"?f=metrics.a+%3E+1", "{\"f\":\"metrics.a > 1\",\"#\":1}"},
    {"?f=%27a%26b%27", "{\"f\":\"'a&b'\",\"#\":1}"},
    {"?flag", "{\"flag\":\"\",\"#\":1}"},
    {"?nul=a%00b", "{\"nul\":\"a%00b\",\"#\":1}"},
    {"?u=%C3%A9", "{\"u\":\"\xc3\xa9\",\"#\":1}"},
    {"?bad=%ff", "{\"bad\":\"\xEF\xBF\xBD\",\"#\":1}"},
    {"?a[x]=1", "{\"a[x]\":\"1\",\"#\":1}"},
    {"?[]=1", "{\"[]\":\"1\",\"#\":1}"},
};

static void test_query_table(void **state)
{
    (void)state;
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, echo_args, NULL,
        MHD_OPTION_UNESCAPE_CALLBACK, http_unescape, NULL, MHD_OPTION_END);
    assert_non_null(d);
    unsigned port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
    for (size_t i = 0; i < sizeof query_cases / sizeof query_cases[0]; i++) {
        char target[256];
        snprintf(target, sizeof target, "/q%s", query_cases[i].query);
        reply r = request(port, "GET", target, NULL, NULL, 0);
        assert_int_equal(r.status, 200);
        if (strcmp(sbuf_str(&r.body), query_cases[i].expect) != 0)
            fail_msg("case %zu '%s': got %s", i, query_cases[i].query, sbuf_str(&r.body));
        reply_free(&r);
    }
    MHD_stop_daemon(d);
}

/* ---- the server, on routes that never reach the store ---- */

typedef struct {
    char dir[PATH_MAX];
    char root[PATH_MAX + 8];
    http_server *srv;
    artifacts_store *art;
    unsigned port;
} server_fixture;

static int server_setup(void **state)
{
    server_fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/cairn-test-http-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->root, sizeof f->root, "%s/root", f->dir);
    assert_int_equal(mkdir(f->root, 0755), 0);
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/secret", f->dir);
    FILE *s = fopen(p, "w");
    fputs("SECRET", s);
    fclose(s);
    snprintf(p, sizeof p, "%s/root/up", f->dir);
    assert_int_equal(symlink("..", p), 0);
    snprintf(p, sizeof p, "%s/root/in", f->dir);
    assert_int_equal(symlink("a", p), 0);
    cerr e;
    assert_int_equal(artifacts_store_open(f->root, &f->art, &e), 0);
    http_config cfg = {.host = "127.0.0.1", .port = 0, .workers = 2, .api = {.artifacts = f->art}};
    assert_int_equal(http_server_start(&cfg, &f->srv, &e), 0);
    f->port = http_server_port(f->srv);
    assert_true(f->port > 0);
    *state = f;
    return 0;
}

static int server_teardown(void **state)
{
    server_fixture *f = *state;
    http_server_stop(f->srv);
    artifacts_store_free(f->art);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

typedef struct {
    const char *method;
    const char *target;
    const char *headers;
    const char *body; /* NULL: none */
    int status;
    const char *body_has; /* substring of the reply body */
} route_case;

#define ART "/api/2.0/mlflow-artifacts/artifacts"
#define JSON_CT "Content-Type: application/json\r\n"

static const route_case route_cases[] = {
    {"GET", "/health", NULL, NULL, 200, "OK"},
    {"HEAD", "/health", NULL, NULL, 200, ""},
    {"POST", "/health", NULL, NULL, 405, "\"BAD_REQUEST\""},
    {"GET", "/", NULL, NULL, 404, "ENDPOINT_NOT_FOUND"},
    {"GET", "/api/2.0/mlflow/nope", NULL, NULL, 404, "ENDPOINT_NOT_FOUND"},
    {"GET", "/api/2.0/mlflow/runs/create", NULL, NULL, 405, "not allowed"},
    {"PUT", "/ajax-api/2.0/mlflow/runs/create", NULL, "{}", 405, "not allowed"},
    {"POST", "/api/2.0/mlflow/runs/create", NULL, "{}", 400, "Content-Type header is missing"},
    {"POST", "/api/2.0/mlflow/runs/create", "Content-Type: text/plain\r\n", "{}", 400,
     "must be one of ['application/json']"},
    {"POST", "/api/2.0/mlflow/runs/create", "Content-Type: application/json\r\nContent-Length: 99999999\r\n",
     NULL, 413, "exceeds the limit"},
    /* the proxy */
    {"PUT", ART "/a/b/c.txt", NULL, "hello", 200, "{}"},
    {"GET", ART "/a/b/c.txt", NULL, NULL, 200, "hello"},
    {"GET", "/ajax-api/2.0/mlflow-artifacts/artifacts/a/b/c.txt", NULL, NULL, 200, "hello"},
    {"GET", ART "?path=a", NULL, NULL, 200, "{\"files\":[{\"path\":\"b\",\"is_dir\":true}]}"},
    {"GET", ART "?path=a/b", NULL, NULL, 200,
     "{\"files\":[{\"path\":\"c.txt\",\"is_dir\":false,\"file_size\":5}]}"},
    {"GET", ART "?path=missing", NULL, NULL, 200, "{}"},
    {"GET", ART "/a/missing", NULL, NULL, 404, "RESOURCE_DOES_NOT_EXIST"},
    {"GET", ART "/a", NULL, NULL, 400, "is a directory"},
    {"POST", ART "/a/b/c.txt", JSON_CT, "{}", 405, "not allowed"},
    {"PUT", ART "/a", NULL, "x", 400, "a directory exists"},
    {"PUT", ART "/a/", NULL, "x", 400, "Invalid path"},
    /* hostile paths: every one refused, nothing outside the root touched */
    {"PUT", ART "/../secret", NULL, "pwned", 400, "Invalid path"},
    {"PUT", ART "/a/../../secret", NULL, "pwned", 400, "Invalid path"},
    {"PUT", ART "/%2e%2e/secret", NULL, "pwned", 400, "Invalid path"},
    {"PUT", ART "/%252e%252e/secret", NULL, "pwned", 400, "Invalid path"},
    {"PUT", ART "//tmp/x", NULL, "pwned", 400, "Invalid path"},
    {"PUT", ART "/%2ftmp%2fx", NULL, "pwned", 400, "Invalid path"},
    {"PUT", ART "/x%00.txt", NULL, "pwned", 400, "Invalid path"},
    {"PUT", ART "/up/secret", NULL, "pwned", 400, "Invalid path"},
    {"GET", ART "/up/secret", NULL, NULL, 400, "Invalid path"},
    {"GET", ART "/../secret", NULL, NULL, 400, "Invalid path"},
    {"GET", ART "?path=..", NULL, NULL, 400, "Invalid path"},
    {"GET", ART "?path=up", NULL, NULL, 400, "Invalid path"},
    {"GET", ART "?path=%2Ftmp", NULL, NULL, 400, "Invalid path"},
    {"DELETE", ART "/up", NULL, NULL, 400, "Invalid path"}, /* a link that leaves the root */
    {"PUT", ART "/in", NULL, "via link", 400, "a directory exists"}, /* in -> a: a folder */
    {"PUT", ART "/in/new.txt", NULL, "via link", 200, "{}"},
    {"GET", ART "/a/new.txt", NULL, NULL, 200, "via link"},
    {"DELETE", ART "/in", NULL, NULL, 200, "{}"}, /* removes the link, not its target */
    {"GET", ART "/a/new.txt", NULL, NULL, 200, "via link"},
    {"DELETE", ART "/..", NULL, NULL, 400, "Invalid path"},
    {"DELETE", ART "/.", NULL, NULL, 400, "Invalid path"},
    {"DELETE", ART "/a", NULL, NULL, 200, "{}"},
    {"DELETE", ART "/a", NULL, NULL, 200, "{}"},
    {"GET", ART, NULL, NULL, 200, "{}"},
};

static void test_routes_table(void **state)
{
    server_fixture *f = *state;
    for (size_t i = 0; i < sizeof route_cases / sizeof route_cases[0]; i++) {
        const route_case *c = &route_cases[i];
        reply r = request(f->port, c->method, c->target, c->headers, c->body,
                          c->body ? strlen(c->body) : 0);
        if (r.status != c->status || strstr(sbuf_str(&r.body), c->body_has) == NULL)
            fail_msg("case %zu %s %s: got %d %s", i, c->method, c->target, r.status,
                     sbuf_str(&r.body));
        reply_free(&r);
    }
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/secret", f->dir);
    FILE *s = fopen(p, "r");
    char buf[16] = {0};
    assert_non_null(fgets(buf, sizeof buf, s));
    fclose(s);
    assert_string_equal(buf, "SECRET");
}

static void test_download_headers(void **state)
{
    server_fixture *f = *state;
    reply r = request(f->port, "PUT", ART "/m/MLmodel", NULL, "flavors: {}\n", 12);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    r = request(f->port, "GET", ART "/m/MLmodel", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(sbuf_str(&r.head), "Content-Type: text/plain"));
    assert_non_null(strstr(sbuf_str(&r.head), "Content-Disposition: attachment; filename=\"MLmodel\""));
    assert_non_null(strstr(sbuf_str(&r.head), "X-Content-Type-Options: nosniff"));
    reply_free(&r);
}

/* HTTPS refused before anything listens: half a pair, a missing file. The
 * good pairs and the mismatches are in tests/api/test_tls.py (openssl
 * makes them at test time). */
static void test_tls_refused(void **state)
{
    (void)state;
    http_server *s = NULL;
    cerr e;
    http_config cfg = {.host = "127.0.0.1", .workers = 1, .tls_cert = "/nonexistent/cert.pem"};
    assert_int_equal(http_server_start(&cfg, &s, &e), -1);
    assert_null(s);
    assert_int_equal(e.code, CERR_INVALID_PARAMETER_VALUE);
    assert_non_null(strstr(e.msg, "both a certificate and a key"));
    cfg.tls_key = "/nonexistent/key.pem";
    assert_int_equal(http_server_start(&cfg, &s, &e), -1);
    assert_null(s);
    assert_non_null(strstr(e.msg, "/nonexistent/cert.pem"));
    cfg.tls_cert = "/dev/null"; /* not a regular file */
    assert_int_equal(http_server_start(&cfg, &s, &e), -1);
    assert_non_null(strstr(e.msg, "not a regular file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_table),
        cmocka_unit_test(test_json_string),
        cmocka_unit_test(test_query_table),
        cmocka_unit_test(test_tls_refused),
        cmocka_unit_test_setup_teardown(test_routes_table, server_setup, server_teardown),
        cmocka_unit_test_setup_teardown(test_download_headers, server_setup, server_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
