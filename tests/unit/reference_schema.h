/* reference_schema.h - MLflow 2.9.2's own SQLite DDL for the unit tests that
 * compare against it (test_schema.c, test_search.c). Read from
 * tests/data/mlflow-2.9.2-sqlite.sql (tests run from the repository root),
 * or from $CAIRN_REF_DIR/mlflow-2.9.2-sqlite.sql or $CAIRN_REF_DIR/sqlite.sql.
 * A missing file fails the calling test: it is never skipped. Include after
 * <cmocka.h>, once per test binary. */
#ifndef CAIRN_TEST_REFERENCE_SCHEMA_H
#define CAIRN_TEST_REFERENCE_SCHEMA_H

#include <stdio.h>
#include <stdlib.h>

#include "util/sbuf.h"

static char *reference_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    sbuf b = SBUF_INIT;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        sbuf_append(&b, buf, n);
    fclose(f);
    return sbuf_detach(&b);
}

/* The DDL as a heap string (free it). */
static char *reference_schema_sql(void)
{
    char *sql = reference_read_file("tests/data/mlflow-2.9.2-sqlite.sql");
    const char *dir = getenv("CAIRN_REF_DIR");
    static const char *const names[] = {"mlflow-2.9.2-sqlite.sql", "sqlite.sql"};
    for (size_t i = 0; sql == NULL && dir != NULL && i < 2; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        sql = reference_read_file(path);
    }
    if (sql == NULL)
        fail_msg("cannot read tests/data/mlflow-2.9.2-sqlite.sql (run from the repo root or "
                 "set CAIRN_REF_DIR)");
    return sql;
}

#endif
