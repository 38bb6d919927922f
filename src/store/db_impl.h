/* db_impl.h - what the two engines share behind db.h: the base of their
 * connection and statement structs (which db.c dispatches on) and the store
 * object itself. Only db.c, store.c and the engines include it. */
#ifndef CAIRN_DB_IMPL_H
#define CAIRN_DB_IMPL_H

#include "db.h"

/* First member of sqlite_conn and pg_conn. */
struct db_conn {
    db_kind kind;
};

/* First member of sqlite_cached and pg_stmt (the cache entries). */
struct db_stmt {
    db_kind kind;
    db_conn *conn;
};

typedef struct sqlite_store sqlite_store;
typedef struct pg_store pg_store;

struct store {
    db_kind kind;
    char *artifact_root; /* default artifact root, as given */
    sqlite_store *sq;    /* kind == DB_SQLITE */
    pg_store *pg;        /* kind == DB_POSTGRES */
};

#endif
