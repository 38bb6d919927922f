/* load.h - cairn_load, the benchmark load generator: a minimal blocking
 * HTTP/1.1 client (load_http.c) and the workloads of bench/run.sh (load.c). */
#ifndef CAIRN_LOAD_H
#define CAIRN_LOAD_H

#include <stddef.h>

typedef struct load_conn {
    int fd;
    char in[65536]; /* read buffer: headers must fit */
    size_t pos, len;
    char *body;     /* the last response's body, NUL-terminated */
    size_t body_len, body_cap;
} load_conn;

/* Connect to 127.0.0.1:port; exits on failure (a benchmark has no use for
 * a half-working client). */
void load_conn_open(load_conn *c, int port);
void load_conn_close(load_conn *c);
/* Send one request and read the whole response into c->body; returns the
 * HTTP status. */
int load_request(load_conn *c, const char *method, const char *path, const char *body,
                 size_t len);

#endif
