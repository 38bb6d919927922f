/* logs.c - GET /api/2.0/cairn/jobs/logs: a job's output as text/plain,
 * from a byte offset, streamed; with follow=true the answer stays open
 * while the job runs and ends once the job has ended and its output is
 * all sent (like `kubectl logs -f` or `tail -f` that knows when to stop).
 * While there is nothing new the stream says API_STREAM_WAIT, so a
 * follower holds a connection but no thread. */
#include "api.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/jsonx.h"
#include "jobs_int.h"

#define API_LOGS_CHUNK (64u * 1024)

typedef struct api_logs_stream {
    api_stream base;
    job_service *jobs;
    char *job_id;
    char *path;
    int fd;          /* -1 until the file exists */
    int64_t offset;
    bool follow;
    bool ended;      /* seen ended: one last read, then the end */
} api_logs_stream;

static int api_logs_read(api_logs_stream *s, sbuf *out, cerr *e)
{
    if (s->fd < 0) {
        s->fd = open(s->path, O_RDONLY | O_CLOEXEC);
        if (s->fd < 0)
            return errno == ENOENT ? 0 : cerr_set(e, CERR_INTERNAL_ERROR, "%s", strerror(errno));
    }
    char buf[API_LOGS_CHUNK];
    ssize_t n;
    do
        n = pread(s->fd, buf, sizeof buf, s->offset);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return cerr_set(e, CERR_INTERNAL_ERROR, "reading the job's output: %s", strerror(errno));
    sbuf_append(out, buf, (size_t)n);
    s->offset += n;
    return (int)(n > 0);
}

static int api_logs_next(api_stream *base, sbuf *out, cerr *e)
{
    api_logs_stream *s = (api_logs_stream *)base;
    int n = api_logs_read(s, out, e);
    if (n != 0)
        return n;
    if (!s->follow || s->ended)
        return 0;
    /* Nothing new: has the job ended? Then read once more (what it wrote
     * last may have arrived after our read) before the end. */
    char *path = NULL;
    bool ended = false;
    if (job_service_output(s->jobs, s->job_id, &path, &ended, e) < 0)
        return -1;
    free(path);
    if (!ended)
        return API_STREAM_WAIT;
    s->ended = true;
    return api_logs_read(s, out, e) < 0 ? -1 : 1;
}

static void api_logs_free(api_stream *base)
{
    api_logs_stream *s = (api_logs_stream *)base;
    if (s->fd >= 0)
        close(s->fd);
    free(s->job_id);
    free(s->path);
    free(s);
}

int api_jobs_logs(const api_ctx *ctx, const api_request *req, api_result *res, cerr *e)
{
    const char *id;
    int64_t offset = 0;
    bool has_offset, follow, ended;
    char *path = NULL;
    if (api_jobs_service(ctx, e) < 0 || jsonx_string_required(req->args, "job_id", &id, e) < 0 ||
        jsonx_int64(req->args, "offset", &offset, &has_offset, e) < 0 ||
        api_bool_arg(req->args, "follow", &follow, e) < 0)
        return -1;
    if (offset < 0)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Invalid value %lld for parameter 'offset' supplied", (long long)offset);
    if (job_service_output(ctx->jobs, id, &path, &ended, e) < 0)
        return -1;
    api_logs_stream *s = calloc(1, sizeof *s);
    if (s == NULL)
        abort();
    *s = (api_logs_stream){{api_logs_next, api_logs_free}, ctx->jobs, strdup(id), path, -1,
                           offset, follow, false};
    res->stream = &s->base;
    res->content_type = "text/plain; charset=utf-8";
    return 0;
}
