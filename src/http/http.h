/* http.h - the HTTP server: libmicrohttpd in front of api/ and artifacts/.
 *
 * Serves GET /health, MLflow's REST API under /api/2.0/mlflow/ and
 * /ajax-api/2.0/mlflow/ (dispatched through api_route_find), and the
 * mlflow-artifacts proxy under /api/2.0/mlflow-artifacts/artifacts (and its
 * /ajax-api/ twin), which streams uploads and downloads to and from the
 * artifacts destination with constant memory. The server runs its own
 * threads (a pool of `workers` polling threads); http_server_start returns
 * as soon as it listens. With a certificate and key in http_config it
 * serves HTTPS only (libmicrohttpd over GnuTLS, see tls.c). */
#ifndef CAIRN_HTTP_H
#define CAIRN_HTTP_H

#include "../api/api.h"
#include "../util/err.h"

/* Largest JSON request body accepted (bytes); larger ones get 413 without
 * being buffered. MLflow's biggest legitimate request, log-batch, is
 * limited to 1 MB by MLflow itself. */
#define CAIRN_MAX_JSON_BODY (16u * 1024 * 1024)

/* Per-connection memory for the request line, headers and read buffer;
 * it bounds the size of a GET URL (about 60 KB) and the chunk size of
 * uploads. Measured (docs/CONFIGURATION.md): 256 KiB cost 140 MB of RSS at
 * 512 idle keep-alive connections and served fewer requests/s than 64 KiB,
 * with no upload speed to show for it (the fsync dominates). */
#define CAIRN_HTTP_CONN_MEMORY (64u * 1024)

/* Connections served at once; more wait in the kernel's accept queue. With
 * CAIRN_HTTP_CONN_MEMORY this bounds connection memory to 128 MiB, so a
 * client holding many idle connections cannot exhaust the server. */
#define CAIRN_HTTP_MAX_CONNECTIONS 2048

/* A connection idle this long (seconds) is closed. */
#define CAIRN_HTTP_IDLE_TIMEOUT 300

typedef struct http_config {
    const char *host;    /* numeric address or name, e.g. "127.0.0.1", "::" */
    unsigned port;       /* 0 picks a free port: see http_server_port */
    unsigned workers;    /* polling threads, >= 1 */
    /* HTTPS: both paths (PEM files), or both NULL for plain HTTP. Read once
     * by http_server_start; the key's text is wiped once MHD has it. TLS 1.2
     * and 1.3 only; plain HTTP on a TLS port fails the handshake. */
    const char *tls_cert;
    const char *tls_key;
    api_ctx api;         /* shared by every request; must outlive the server */
} http_config;

typedef struct http_server http_server;

int http_server_start(const http_config *cfg, http_server **out, cerr *e);
/* The port actually bound. */
unsigned http_server_port(const http_server *s);
/* Stops accepting, finishes the threads, frees s. */
void http_server_stop(http_server *s);

#endif
