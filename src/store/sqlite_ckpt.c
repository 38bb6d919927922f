/* sqlite_ckpt.c - the checkpointer: a thread that copies the WAL back into
 * the database file, off the writer's path.
 *
 * SQLite's automatic checkpoint runs inside the commit that crosses the
 * threshold, so one request in every thousand pages would wait for the
 * whole copy and the database file's fsync, and every request queued behind
 * it with it. Here the writer's commit only notes the WAL's size (the WAL
 * hook); past SQLITE_CKPT_PAGES it wakes this thread, which checkpoints
 * PASSIVE on its own connection: it copies what no reader still needs and
 * never blocks the writer or a reader.
 *
 * A checkpoint that runs beside the writer never quite catches up (frames
 * keep coming), and SQLite rewinds the WAL only after one that did, so the
 * WAL would grow without end. Hence the tail: once this thread has copied
 * the bulk, the writer, between two batches, checkpoints the few frames
 * added since (sqlite_ckpt_tail), and its next transaction rewinds the WAL. */
#include "sqlite.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "../util/misc.h"

static int sqlite_ckpt_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    sqlite_store *st = arg;
    if (pages >= SQLITE_CKPT_PAGES) {
        pthread_mutex_lock(&st->ckpt_lock);
        st->ckpt_wanted = true;
        pthread_cond_signal(&st->ckpt_cond);
        pthread_mutex_unlock(&st->ckpt_lock);
    }
    return SQLITE_OK;
}

static void *sqlite_ckpt_main(void *arg)
{
    sqlite_store *st = arg;
    pthread_mutex_lock(&st->ckpt_lock);
    for (;;) {
        while (!st->ckpt_wanted && !st->ckpt_stop)
            pthread_cond_wait(&st->ckpt_cond, &st->ckpt_lock);
        if (st->ckpt_stop)
            break;
        st->ckpt_wanted = false;
        pthread_mutex_unlock(&st->ckpt_lock);
        int log = 0, done = 0;
        int rc = sqlite3_wal_checkpoint_v2(st->cconn->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log,
                                           &done);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            log_msg(LOG_WARN, "WAL checkpoint failed: %s", sqlite3_errmsg(st->cconn->db));
        atomic_store(&st->ckpt_tail, true);
        pthread_mutex_lock(&st->ckpt_lock);
    }
    pthread_mutex_unlock(&st->ckpt_lock);
    return NULL;
}

int sqlite_ckpt_start(sqlite_store *st, cerr *e)
{
    if (sqlite_conn_open(st->path, false, &st->cconn, e) < 0)
        return -1;
    pthread_mutex_init(&st->ckpt_lock, NULL);
    pthread_cond_init(&st->ckpt_cond, NULL);
    if (pthread_create(&st->ckpt, NULL, sqlite_ckpt_main, st) != 0) {
        sqlite_conn_close(st->cconn);
        st->cconn = NULL;
        return cerr_set(e, CERR_INTERNAL_ERROR, "cannot start the store's checkpoint thread");
    }
    st->ckpt_started = true;
    /* Replaces SQLite's automatic checkpoint, which is a WAL hook too. */
    sqlite3_wal_hook(st->wconn->db, sqlite_ckpt_hook, st);
    return 0;
}

void sqlite_ckpt_tail(sqlite_store *st)
{
    if (!atomic_exchange(&st->ckpt_tail, false))
        return;
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(st->wconn->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    /* BUSY: the thread has started the next round; it will ask again. */
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        log_msg(LOG_WARN, "WAL checkpoint failed: %s", sqlite3_errmsg(st->wconn->db));
    else if (rc == SQLITE_BUSY)
        atomic_store(&st->ckpt_tail, true);
}

void sqlite_ckpt_stop(sqlite_store *st)
{
    if (!st->ckpt_started)
        return;
    pthread_mutex_lock(&st->ckpt_lock);
    st->ckpt_stop = true;
    pthread_cond_signal(&st->ckpt_cond);
    pthread_mutex_unlock(&st->ckpt_lock);
    pthread_join(st->ckpt, NULL);
    sqlite_conn_close(st->cconn);
    st->cconn = NULL;
    pthread_mutex_destroy(&st->ckpt_lock);
    pthread_cond_destroy(&st->ckpt_cond);
    st->ckpt_started = false;
}
