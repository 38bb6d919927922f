/* store_schema.c - what opening a store does to its schema, on either
 * engine: create MLflow 2.9.2's schema in an empty database, or check the
 * alembic revision of an existing one (and refuse anything else), then add
 * Cairn's indexes and experiment 0. The engines supply the texts that
 * differ (their DDL and catalog queries) and the transaction and locking
 * around it, so that a refused database is left exactly as it was. */
#include "store_int.h"

#include <stdio.h>
#include <string.h>

static int store_schema_count(db_conn *c, const char *sql, int64_t *n, cerr *e)
{
    db_stmt *s = db_prep(c, sql, e);
    if (s == NULL)
        return -1;
    int rc = db_row(s, e);
    if (rc < 0)
        return -1;
    *n = rc ? db_int64(s, 0) : 0;
    db_reset(s);
    return 0;
}

static int store_schema_create(db_conn *c, const store_schema_sql *q, cerr *e)
{
    char sql[128];
    if (db_exec(c, q->ddl, e) < 0)
        return -1;
    snprintf(sql, sizeof sql, "INSERT INTO %s (version_num) VALUES (?)", q->alembic_table);
    db_stmt *s = db_prep(c, sql, e);
    if (s == NULL || db_bindf(s, e, "t", STORE_SCHEMA_REVISION) < 0)
        return -1;
    return db_run(s, e);
}

static int store_schema_verify(db_conn *c, const store_schema_sql *q, cerr *e)
{
    int64_t has_alembic;
    if (store_schema_count(c, q->has_alembic, &has_alembic, e) < 0)
        return -1;
    if (!has_alembic)
        return cerr_set(e, CERR_INVALID_STATE,
                        "database is not empty but has no alembic_version table, so it is not "
                        "an MLflow database; Cairn serves MLflow 2.9.2 databases (%s)",
                        STORE_SCHEMA_REVISION);
    char sql[128], found[64] = "(none)";
    snprintf(sql, sizeof sql, "SELECT version_num FROM %s", q->alembic_table);
    db_stmt *s = db_prep(c, sql, e);
    if (s == NULL)
        return -1;
    int rc = db_row(s, e);
    if (rc < 0)
        return -1;
    if (rc == 1)
        snprintf(found, sizeof found, "%s", db_text(s, 0));
    db_reset(s);
    if (strcmp(found, STORE_SCHEMA_REVISION) != 0)
        return cerr_set(e, CERR_INVALID_STATE,
                        "database schema revision %s is not supported; Cairn serves MLflow "
                        "2.9.2 databases (%s)",
                        found, STORE_SCHEMA_REVISION);
    return 0;
}

int store_schema_prepare(db_conn *c, const store_schema_sql *q, const char *artifact_root,
                         cerr *e)
{
    int64_t nobjects;
    int rc = store_schema_count(c, q->count_objects, &nobjects, e);
    if (rc == 0)
        rc = nobjects == 0 ? store_schema_create(c, q, e) : store_schema_verify(c, q, e);
    if (rc == 0)
        rc = store_indexes_create(c, e);
    if (rc == 0)
        rc = store_jobs_schema(c, e);
    if (rc == 0)
        rc = store_auth_schema(c, e);
    if (rc == 0)
        rc = store_default_experiment(c, artifact_root, e);
    return rc;
}
