/* load_http.c - the load generator's HTTP/1.1 client: one keep-alive
 * connection per client thread, blocking, no pipelining, Content-Length and
 * chunked bodies. Small on purpose: it must cost less CPU than the server it
 * drives, since both share the same cores. */
#include "load.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static void load_die(const char *what)
{
    fprintf(stderr, "cairn_load: %s: %s\n", what, errno ? strerror(errno) : "protocol error");
    exit(1);
}

void load_conn_open(load_conn *c, int port)
{
    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0)
        load_die("connect");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void load_conn_close(load_conn *c)
{
    close(c->fd);
    free(c->body);
}

static void load_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            load_die("write");
        p += w;
        n -= (size_t)w;
    }
}

/* Make at least one more byte available in c->in. */
static void load_fill(load_conn *c)
{
    if (c->pos > 0) {
        memmove(c->in, c->in + c->pos, c->len - c->pos);
        c->len -= c->pos;
        c->pos = 0;
    }
    if (c->len == sizeof c->in)
        load_die("response header too long");
    ssize_t r;
    do
        r = read(c->fd, c->in + c->len, sizeof c->in - c->len);
    while (r < 0 && errno == EINTR);
    if (r <= 0) {
        if (r == 0)
            errno = ECONNRESET;
        load_die("read");
    }
    c->len += (size_t)r;
}

/* The next CRLF-terminated line (without it), NUL-terminated in place. */
static char *load_line(load_conn *c)
{
    for (;;) {
        char *start = c->in + c->pos;
        char *nl = memchr(start, '\n', c->len - c->pos);
        if (nl) {
            *nl = '\0';
            if (nl > start && nl[-1] == '\r')
                nl[-1] = '\0';
            c->pos = (size_t)(nl - c->in) + 1;
            return start;
        }
        load_fill(c);
    }
}

static void load_body_add(load_conn *c, size_t n)
{
    if (c->body_len + n + 1 > c->body_cap) {
        c->body_cap = (c->body_len + n + 1) * 2;
        c->body = realloc(c->body, c->body_cap);
        if (c->body == NULL)
            abort();
    }
    while (n > 0) {
        if (c->pos == c->len)
            load_fill(c);
        size_t take = c->len - c->pos < n ? c->len - c->pos : n;
        memcpy(c->body + c->body_len, c->in + c->pos, take);
        c->body_len += take;
        c->pos += take;
        n -= take;
    }
    c->body[c->body_len] = '\0';
}

static int load_response(load_conn *c)
{
    char *status_line = load_line(c);
    int status = 0;
    if (sscanf(status_line, "HTTP/1.%*d %d", &status) != 1)
        load_die("status line");
    long long clen = -1;
    int chunked = 0;
    for (char *h; *(h = load_line(c)) != '\0';) {
        if (strncasecmp(h, "Content-Length:", 15) == 0)
            clen = atoll(h + 15);
        else if (strncasecmp(h, "Transfer-Encoding:", 18) == 0 && strstr(h, "chunked"))
            chunked = 1;
    }
    c->body_len = 0;
    load_body_add(c, 0);
    if (!chunked) {
        load_body_add(c, clen > 0 ? (size_t)clen : 0);
        return status;
    }
    for (;;) {
        size_t n = strtoul(load_line(c), NULL, 16);
        if (n == 0)
            break;
        load_body_add(c, n);
        load_line(c); /* the CRLF after the chunk */
    }
    while (*load_line(c) != '\0') /* trailers */
        ;
    return status;
}

int load_request(load_conn *c, const char *method, const char *path, const char *body,
                 size_t len)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     method, path, len);
    if (n < 0 || (size_t)n >= sizeof head)
        load_die("request line too long");
    load_write_all(c->fd, head, (size_t)n);
    if (len > 0)
        load_write_all(c->fd, body, len);
    return load_response(c);
}
