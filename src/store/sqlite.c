/* sqlite.c - the SQLite store's life cycle: open and close, the pool of read
 * connections, and the writer thread that group-commits write closures.
 *
 * Why one writer: SQLite allows one writing transaction at a time anyway;
 * several writer connections only contend for the lock ("database is locked")
 * and pay one fsync each. A single writer thread that takes everything queued
 * and commits it together pays one fsync per batch, and under load the batch
 * grows by itself while the previous commit is being synced. */
#include "sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <string.h>

#include "../util/misc.h"

/* ---- readers ---- */

sqlite_conn *sqlite_read_begin(sqlite_store *st, cerr *e)
{
    sqlite_conn *c = NULL;
    pthread_mutex_lock(&st->plock);
    while (st->pfree == NULL && st->nreaders >= SQLITE_READERS_MAX)
        pthread_cond_wait(&st->pcond, &st->plock);
    if (st->pfree) {
        c = st->pfree;
        st->pfree = c->next;
    } else {
        st->nreaders++; /* reserve the slot, open outside the lock */
    }
    pthread_mutex_unlock(&st->plock);

    if (c == NULL && sqlite_conn_open(st->path, true, &c, e) < 0) {
        pthread_mutex_lock(&st->plock);
        st->nreaders--;
        pthread_cond_signal(&st->pcond);
        pthread_mutex_unlock(&st->plock);
        return NULL;
    }
    /* One snapshot for the whole read, so a run and its children agree. */
    if (sqlite_exec(c, "BEGIN", e) < 0) {
        sqlite_read_end(st, c);
        return NULL;
    }
    return c;
}

void sqlite_read_end(sqlite_store *st, sqlite_conn *c)
{
    if (c == NULL)
        return;
    sqlite_conn_reset_all(c);
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    pthread_mutex_lock(&st->plock);
    c->next = st->pfree;
    st->pfree = c;
    pthread_cond_signal(&st->pcond);
    pthread_mutex_unlock(&st->plock);
}

/* ---- writer ---- */

/* Fail every job of a batch that had succeeded: its transaction is gone. */
static void sqlite_batch_lost(sqlite_job *from, sqlite_job *to, const cerr *why)
{
    for (sqlite_job *j = from; j != to; j = j->next) {
        if (j->rc == 0) {
            j->rc = -1;
            j->err = *why;
        }
    }
}

static void sqlite_job_run(sqlite_conn *c, sqlite_job *j)
{
    cerr_clear(&j->err);
    j->rc = -1;
    if (sqlite_exec(c, "SAVEPOINT job", &j->err) < 0)
        return;
    j->rc = j->fn(&c->base, j->ctx, &j->err);
    sqlite_conn_reset_all(c);
    if (sqlite3_get_autocommit(c->db))
        return; /* an I/O error rolled back the whole transaction */
    if (j->rc != 0)
        sqlite3_exec(c->db, "ROLLBACK TO job", NULL, NULL, NULL);
    sqlite3_exec(c->db, "RELEASE job", NULL, NULL, NULL);
}

/* Run a batch of jobs in as few transactions as possible: normally one. */
static void sqlite_batch_run(sqlite_conn *c, sqlite_job *batch)
{
    sqlite_job *txn_first = batch;
    cerr err;
    bool in_txn = false;
    for (sqlite_job *j = batch; j; j = j->next) {
        if (!in_txn) {
            if (sqlite_exec(c, "BEGIN IMMEDIATE", &err) < 0) {
                /* Locked by another process past busy_timeout, or worse:
                 * the rest of the batch would only wait as long again. */
                for (; j; j = j->next) {
                    j->rc = -1;
                    j->err = err;
                }
                break;
            }
            in_txn = true;
            txn_first = j;
        }
        sqlite_job_run(c, j);
        if (sqlite3_get_autocommit(c->db)) {
            cerr_set(&err, CERR_INTERNAL_ERROR, "SQLite transaction rolled back: %s",
                     sqlite3_errmsg(c->db));
            sqlite_batch_lost(txn_first, j->next, &err);
            in_txn = false;
        }
    }
    if (in_txn && sqlite_exec(c, "COMMIT", &err) < 0) {
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        sqlite_batch_lost(txn_first, NULL, &err);
    }
}

static void *sqlite_writer_main(void *arg)
{
    sqlite_store *st = arg;
    for (;;) {
        pthread_mutex_lock(&st->qlock);
        while (st->qhead == NULL && !st->stopping)
            pthread_cond_wait(&st->qcond, &st->qlock);
        if (st->qhead == NULL) { /* stopping, and nothing left to do */
            pthread_mutex_unlock(&st->qlock);
            return NULL;
        }
        /* Take up to SQLITE_BATCH_MAX jobs off the queue. */
        sqlite_job *batch = st->qhead, *last = batch;
        for (int n = 1; n < SQLITE_BATCH_MAX && last->next; n++)
            last = last->next;
        st->qhead = last->next;
        if (st->qhead == NULL)
            st->qtail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&st->qlock);

        sqlite_batch_run(st->wconn, batch);

        /* Wake each waiter alone: a broadcast would wake them all on one
         * lock, hundreds at a time under load. */
        for (sqlite_job *j = batch, *next; j; j = next) {
            next = j->next; /* j lives on its waiter's stack: read first */
            if (j->callback) {
                j->callback(j->callback_arg, j->rc, &j->err);
                free(j);
            } else {
                sem_post(&j->done);
            }
        }
        sqlite_ckpt_tail(st); /* after the answers: nobody waits on it yet */
    }
}

/* Append j to the queue; false when the store is closing. */
static bool sqlite_enqueue(sqlite_store *st, sqlite_job *j)
{
    pthread_mutex_lock(&st->qlock);
    if (st->stopping) {
        pthread_mutex_unlock(&st->qlock);
        return false;
    }
    if (st->qtail)
        st->qtail->next = j;
    else
        st->qhead = j;
    st->qtail = j;
    pthread_cond_signal(&st->qcond);
    pthread_mutex_unlock(&st->qlock);
    return true;
}

int sqlite_write_async(sqlite_store *st, db_write_fn fn, void *ctx, db_done_fn done, void *arg,
                       cerr *e)
{
    sqlite_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        abort();
    *j = (sqlite_job){.fn = fn, .ctx = ctx, .callback = done, .callback_arg = arg};
    if (sqlite_enqueue(st, j))
        return 0;
    free(j);
    return cerr_set(e, CERR_TEMPORARILY_UNAVAILABLE, "the store is closing");
}

int sqlite_write(sqlite_store *st, db_write_fn fn, void *ctx, cerr *e)
{
    sqlite_job job = {.fn = fn, .ctx = ctx};
    sem_init(&job.done, 0, 0);
    if (!sqlite_enqueue(st, &job)) {
        sem_destroy(&job.done);
        return cerr_set(e, CERR_TEMPORARILY_UNAVAILABLE, "the store is closing");
    }
    while (sem_wait(&job.done) < 0) /* EINTR */
        ;
    sem_destroy(&job.done);
    if (job.rc != 0 && e)
        *e = job.err;
    return job.rc;
}

/* ---- open / close ---- */

/* Process-wide, before the first connection: SQLite's allocation
 * statistics take a global mutex on every malloc and free, which every
 * connection's thread then contends for; nothing here reads them. */
static void sqlite_configure(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static sqlite_store *sqlite_store_alloc(const char *path)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sqlite_configure);
    sqlite_store *st = calloc(1, sizeof *st);
    if (st == NULL)
        abort();
    st->path = strdup(path);
    if (st->path == NULL)
        abort();
    pthread_mutex_init(&st->qlock, NULL);
    pthread_cond_init(&st->qcond, NULL);
    pthread_mutex_init(&st->plock, NULL);
    pthread_cond_init(&st->pcond, NULL);
    return st;
}

/* A database on a read-only file system (or a read-only file) opens, but
 * nothing can be written, not even the WAL: say so plainly, instead of
 * SQLite's "unable to open database file". */
static void sqlite_readonly_explain(const char *path, cerr *e)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    struct statvfs fs;
    bool ro_fs = statvfs(dir, &fs) == 0 && (fs.f_flag & ST_RDONLY);
    bool ro_file = access(path, F_OK) == 0 && access(path, W_OK) != 0;
    if (!ro_fs && !ro_file)
        return;
    char why[sizeof e->msg];
    snprintf(why, sizeof why, "%s", e->msg);
    cerr_set(e, CERR_INVALID_STATE,
             "the database %s is on a read-only %s; Cairn writes to it and beside it "
             "(its WAL), so it needs both writable (%s)",
             path, ro_fs ? "file system" : "file", why);
}

int sqlite_store_open(const char *path, const char *default_artifact_root, sqlite_store **out,
                      cerr *e)
{
    *out = NULL;
    sqlite_store *st = sqlite_store_alloc(path);
    if (sqlite_conn_open(path, false, &st->wconn, e) < 0)
        goto fail;
    if (sqlite_schema_init(st->wconn, default_artifact_root, e) < 0)
        goto fail;
    if (sqlite_ckpt_start(st, e) < 0)
        goto fail;
    if (pthread_create(&st->writer, NULL, sqlite_writer_main, st) != 0) {
        cerr_set(e, CERR_INTERNAL_ERROR, "cannot start the store's writer thread");
        goto fail;
    }
    st->writer_started = true;
    *out = st;
    return 0;
fail:
    sqlite_readonly_explain(path, e);
    sqlite_store_close(st);
    return -1;
}

void sqlite_store_close(sqlite_store *st)
{
    if (st == NULL)
        return;
    if (st->writer_started) {
        pthread_mutex_lock(&st->qlock);
        st->stopping = true;
        pthread_cond_signal(&st->qcond);
        pthread_mutex_unlock(&st->qlock);
        pthread_join(st->writer, NULL);
    }
    sqlite_ckpt_stop(st);
    /* Readers first: the last connection to close checkpoints the WAL. */
    for (sqlite_conn *c = st->pfree, *next; c; c = next) {
        next = c->next;
        sqlite_conn_close(c);
    }
    sqlite_conn_close(st->wconn);
    pthread_mutex_destroy(&st->qlock);
    pthread_cond_destroy(&st->qcond);
    pthread_mutex_destroy(&st->plock);
    pthread_cond_destroy(&st->pcond);
    free(st->path);
    free(st);
}
