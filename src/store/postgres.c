/* postgres.c - the PostgreSQL store's life cycle: open and close, the pool
 * of connections, and the transactions around write closures and reads.
 *
 * Why no writer thread here: PostgreSQL takes concurrent writers itself
 * (row locks, MVCC) and groups their commits' WAL flushes (group commit in
 * the server), and several cairn processes may write to one database at
 * once, so a process-local queue would order nothing. Each write closure
 * runs in its own transaction; a transaction that loses a race (a
 * serialization failure, a deadlock, or a unique violation against a row a
 * concurrent writer just committed) is rolled back and the closure run
 * again, when its own checks see the other writer's row and answer as
 * MLflow does (e.g. RESOURCE_ALREADY_EXISTS with MLflow's message). */
#include "postgres.h"

#include <stdlib.h>
#include <string.h>

/* ---- pool ---- */

static pg_conn *pg_pool_get(pg_store *st, cerr *e)
{
    pg_conn *c = NULL;
    pthread_mutex_lock(&st->lock);
    while (st->free == NULL && st->nconns >= PG_POOL_MAX)
        pthread_cond_wait(&st->cond, &st->lock);
    if (st->free) {
        c = st->free;
        st->free = c->next;
    } else {
        st->nconns++; /* reserve the slot, connect outside the lock */
    }
    pthread_mutex_unlock(&st->lock);
    if (c == NULL && pg_conn_open(st->conninfo, &c, e) < 0) {
        pthread_mutex_lock(&st->lock);
        st->nconns--;
        pthread_cond_signal(&st->cond);
        pthread_mutex_unlock(&st->lock);
        return NULL;
    }
    c->sqlstate[0] = '\0';
    return c;
}

/* Back to the pool, or closed when it is broken or still in a transaction
 * (which only a lost connection leaves behind). */
static void pg_pool_put(pg_store *st, pg_conn *c)
{
    pg_conn_reset_all(c);
    bool keep = PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) == PQTRANS_IDLE;
    if (!keep)
        pg_conn_close(c);
    pthread_mutex_lock(&st->lock);
    if (keep) {
        c->next = st->free;
        st->free = c;
    } else {
        st->nconns--;
    }
    pthread_cond_signal(&st->cond);
    pthread_mutex_unlock(&st->lock);
}

static void pg_rollback(pg_conn *c)
{
    if (PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        PQclear(PQexec(c->pg, "ROLLBACK"));
}

/* A pooled connection inside `begin`. libpq only learns that a connection
 * died (server restarted, backend terminated, network cut) when it is next
 * used, so a pooled one may fail at BEGIN; nothing has run yet then, and a
 * fresh connection is tried before giving up. */
static pg_conn *pg_begin(pg_store *st, const char *begin, cerr *e)
{
    for (int attempt = 1;; attempt++) {
        pg_conn *c = pg_pool_get(st, e);
        if (c == NULL)
            return NULL;
        if (pg_exec(c, begin, e) == 0)
            return c;
        bool lost = PQstatus(c->pg) != CONNECTION_OK;
        pg_rollback(c);
        pg_pool_put(st, c); /* closes it when broken */
        if (!lost || attempt > PG_POOL_MAX)
            return NULL;
    }
}

/* ---- reads ---- */

pg_conn *pg_read_begin(pg_store *st, cerr *e)
{
    /* One snapshot for the whole read, so a run and its children agree. */
    return pg_begin(st, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", e);
}

void pg_read_end(pg_store *st, pg_conn *c)
{
    if (c == NULL)
        return;
    pg_conn_reset_all(c);
    pg_rollback(c); /* read only: nothing to commit */
    pg_pool_put(st, c);
}

/* ---- writes ---- */

static bool pg_retryable(const char *state)
{
    return strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
           strcmp(state, "23505") == 0;
}

static int pg_commit(pg_conn *c, cerr *e)
{
    PGresult *res = PQexec(c->pg, "COMMIT");
    int rc = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = pg_fail(c, res, "commit", e);
    else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) /* "ROLLBACK": it had failed */
        rc = cerr_set(e, CERR_INTERNAL_ERROR, "PostgreSQL transaction was rolled back");
    PQclear(res);
    return rc;
}

int pg_write(pg_store *st, db_write_fn fn, void *ctx, cerr *e)
{
    for (int attempt = 1;; attempt++) {
        pg_conn *c = pg_begin(st, "BEGIN", e);
        if (c == NULL)
            return -1;
        int rc = fn(&c->base, ctx, e);
        pg_conn_reset_all(c);
        if (rc == 0)
            rc = pg_commit(c, e);
        else
            pg_rollback(c);
        bool again = rc < 0 && attempt < PG_WRITE_ATTEMPTS && pg_retryable(c->sqlstate);
        pg_pool_put(st, c);
        if (!again)
            return rc;
    }
}

/* ---- open / close ---- */

int pg_store_open(const char *conninfo, const char *default_artifact_root, pg_store **out, cerr *e)
{
    *out = NULL;
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &why);
    if (opts == NULL) {
        cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "invalid PostgreSQL URI: %s",
                 why ? why : "out of memory");
        PQfreemem(why);
        return -1;
    }
    PQconninfoFree(opts);
    pg_store *st = calloc(1, sizeof *st);
    if (st == NULL)
        abort();
    st->conninfo = strdup(conninfo);
    if (st->conninfo == NULL)
        abort();
    pthread_mutex_init(&st->lock, NULL);
    pthread_cond_init(&st->cond, NULL);
    pg_conn *c = pg_pool_get(st, e);
    if (c == NULL) {
        pg_store_close(st);
        return -1;
    }
    int rc = pg_schema_init(c, default_artifact_root, e);
    pg_rollback(c);
    pg_pool_put(st, c);
    if (rc < 0) {
        pg_store_close(st);
        return -1;
    }
    *out = st;
    return 0;
}

void pg_store_close(pg_store *st)
{
    if (st == NULL)
        return;
    for (pg_conn *c = st->free, *next; c; c = next) {
        next = c->next;
        pg_conn_close(c);
    }
    pthread_mutex_destroy(&st->lock);
    pthread_cond_destroy(&st->cond);
    free(st->conninfo);
    free(st);
}
