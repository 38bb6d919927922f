/* spool.c - the offline spool: an append-only journal of JSON lines in a
 * spool directory, written when the server cannot be reached, and its
 * exactly-once replay (cairn sync). Layout of DIR (docs/CLIENT.md):
 *   journal.jsonl  one record per line, each {"id": <32 hex>, "op": ..., ...}
 *   done.log       ids of the records already delivered, one per line
 *   ids.map        "<local id> <server id>" per line: runs and experiments
 *                  created offline, and the ids the server gave them
 *   artifacts/     copies of files logged offline, named by record id
 *   lock           flock()ed by writers and by sync
 * Each append is one write() of a whole line followed by fsync, under the
 * lock, so a killed process loses at most the record being written. Sync
 * records progress durably after each record (map line, then done line); a
 * run is created with the tag cairn.local_run_id and looked up by it first,
 * so even a sync killed between the create and the map line creates nothing
 * twice. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

int cl_is_local_run(const char *run_id)
{
    return run_id != NULL && strncmp(run_id, "local-", 6) == 0;
}

static int cl_mkdirs(const char *dir)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0777) < 0 && errno != EEXIST)
            return cl_fail(CAIRN_EIO, "cannot create %s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0777) < 0 && errno != EEXIST)
        return cl_fail(CAIRN_EIO, "cannot create %s: %s", tmp, strerror(errno));
    return CAIRN_OK;
}

int cl_spool_lock(const char *dir)
{
    if (cl_mkdirs(dir) < 0)
        return -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0 || flock(fd, LOCK_EX) < 0) {
        cl_fail(CAIRN_EIO, "cannot lock %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

void cl_spool_unlock(int fd)
{
    flock(fd, LOCK_UN);
    close(fd);
}

/* Appends text (a whole line) to dir/name and fsyncs; caller holds the lock. */
int cl_spool_append_line(const char *dir, const char *name, const char *text, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
        return cl_fail(CAIRN_EIO, "cannot open %s: %s", path, strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = errno;
            close(fd);
            return cl_fail(CAIRN_EIO, "cannot write %s: %s", path, strerror(e));
        }
        off += (size_t)n;
    }
    if (fsync(fd) < 0) {
        int e = errno;
        close(fd);
        return cl_fail(CAIRN_EIO, "cannot fsync %s: %s", path, strerror(e));
    }
    close(fd);
    return CAIRN_OK;
}

static int cl_journal_write(cairn_client *c, const char *line, size_t len)
{
    int fd = cl_spool_lock(c->spool_dir);
    if (fd < 0)
        return cairn_error_last()->code;
    int r = cl_spool_append_line(c->spool_dir, "journal.jsonl", line, len);
    cl_spool_unlock(fd);
    return r;
}

int cl_spool_append(cairn_client *c, const char *op, json_t *fields)
{
    char id[33];
    cl_uuid_hex(id);
    json_t *rec = json_pack("{s:s, s:s, s:I}", "id", id, "op", op, "time", (json_int_t)cl_now_ms());
    if (rec == NULL)
        return cl_oom();
    json_object_update(rec, fields);
    char *text = json_dumps(rec, JSON_COMPACT);
    json_decref(rec);
    if (text == NULL)
        return cl_oom();
    size_t len = strlen(text);
    char *line = realloc(text, len + 2);
    if (line == NULL) {
        free(text);
        return cl_oom();
    }
    line[len] = '\n';
    line[len + 1] = '\0';
    int r = cl_journal_write(c, line, len + 1);
    free(line);
    return r;
}

int cl_spool_batch(cairn_client *c, const char *body, size_t len)
{
    char id[33];
    cl_uuid_hex(id);
    cl_buf line = {0};
    int r = cl_buf_printf(&line, "{\"id\":\"%s\",\"op\":\"log_batch\",\"time\":%lld,\"req\":", id,
                          (long long)cl_now_ms());
    r |= cl_buf_add(&line, body, len);
    r |= cl_buf_puts(&line, "}\n");
    if (r == CAIRN_OK)
        r = cl_journal_write(c, line.data, line.len);
    else
        r = cl_oom();
    cl_buf_free(&line);
    return r;
}

/* Copies src to the spool's artifacts/ folder under the record id. */
int cl_spool_copy(cairn_client *c, const char *src, const char *id, char **rel_out)
{
    char dir[4096], dst[4200];
    snprintf(dir, sizeof dir, "%s/artifacts", c->spool_dir);
    if (cl_mkdirs(dir) < 0)
        return cairn_error_last()->code;
    snprintf(dst, sizeof dst, "%s/%s", dir, id);
    FILE *in = fopen(src, "rb");
    if (in == NULL)
        return cl_fail(CAIRN_EIO, "cannot open %s: %s", src, strerror(errno));
    FILE *out = fopen(dst, "wb");
    if (out == NULL) {
        fclose(in);
        return cl_fail(CAIRN_EIO, "cannot create %s: %s", dst, strerror(errno));
    }
    char buf[65536];
    size_t n;
    int ok = 1;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            ok = 0;
    ok = ok && !ferror(in) && fflush(out) == 0 && fsync(fileno(out)) == 0;
    fclose(in);
    if (fclose(out) != 0 || !ok)
        return cl_fail(CAIRN_EIO, "cannot copy %s to %s", src, dst);
    cl_buf rel = {0};
    if (cl_buf_printf(&rel, "artifacts/%s", id) < 0)
        return CAIRN_ENOMEM;
    *rel_out = cl_buf_take(&rel);
    return CAIRN_OK;
}
