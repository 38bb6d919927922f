/* sqlite_schema.c - MLflow 2.9.2's SQLite schema, created in an empty
 * database or verified in an existing one.
 *
 * The DDL below is MLflow's own, as alembic leaves it after migrating an
 * empty database to revision acf3f17fdcc7 (tests/data/mlflow-2.9.2-sqlite.sql,
 * which tests/unit/test_schema.c compares table by table). Keeping it
 * byte-for-byte MLflow's, odd "IF NOT EXISTS" and all, is what lets Cairn and
 * MLflow serve the same file. Cairn's own future tables will be named
 * cairn_* and created here too. */
#include "sqlite.h"
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/misc.h"

const char sqlite_schema_sql[] =
    "CREATE TABLE experiments (\n"
    "    experiment_id INTEGER NOT NULL,\n"
    "    name VARCHAR(256) NOT NULL,\n"
    "    artifact_location VARCHAR(256),\n"
    "    lifecycle_stage VARCHAR(32), creation_time BIGINT, last_update_time BIGINT,\n"
    "    CONSTRAINT experiment_pk PRIMARY KEY (experiment_id),\n"
    "    CONSTRAINT experiments_lifecycle_stage CHECK (lifecycle_stage IN ('active', 'deleted')),\n"
    "    UNIQUE (name)\n"
    ");\n"
    "CREATE TABLE alembic_version (\n"
    "    version_num VARCHAR(32) NOT NULL,\n"
    "    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n"
    ");\n"
    "CREATE TABLE experiment_tags (\n"
    "    \"key\" VARCHAR(250) NOT NULL,\n"
    "    value VARCHAR(5000),\n"
    "    experiment_id INTEGER NOT NULL,\n"
    "    CONSTRAINT experiment_tag_pk PRIMARY KEY (\"key\", experiment_id),\n"
    "    FOREIGN KEY(experiment_id) REFERENCES experiments (experiment_id)\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS \"tags\" (\n"
    "    \"key\" VARCHAR(250) NOT NULL,\n"
    "    value VARCHAR(5000),\n"
    "    run_uuid VARCHAR(32) NOT NULL,\n"
    "    CONSTRAINT tag_pk PRIMARY KEY (\"key\", run_uuid),\n"
    "    FOREIGN KEY(run_uuid) REFERENCES runs (run_uuid)\n"
    ");\n"
    "CREATE TABLE registered_models (\n"
    "    name VARCHAR(256) NOT NULL,\n"
    "    creation_time BIGINT,\n"
    "    last_updated_time BIGINT,\n"
    "    description VARCHAR(5000),\n"
    "    CONSTRAINT registered_model_pk PRIMARY KEY (name),\n"
    "    UNIQUE (name)\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS \"runs\" (\n"
    "    run_uuid VARCHAR(32) NOT NULL,\n"
    "    name VARCHAR(250),\n"
    "    source_type VARCHAR(20),\n"
    "    source_name VARCHAR(500),\n"
    "    entry_point_name VARCHAR(50),\n"
    "    user_id VARCHAR(256),\n"
    "    status VARCHAR(9),\n"
    "    start_time BIGINT,\n"
    "    end_time BIGINT,\n"
    "    source_version VARCHAR(50),\n"
    "    lifecycle_stage VARCHAR(20),\n"
    "    artifact_uri VARCHAR(200),\n"
    "    experiment_id INTEGER, deleted_time BIGINT,\n"
    "    CONSTRAINT run_pk PRIMARY KEY (run_uuid),\n"
    "    CONSTRAINT runs_lifecycle_stage CHECK (lifecycle_stage IN ('active', 'deleted')),\n"
    "    CONSTRAINT source_type CHECK (source_type IN ('NOTEBOOK', 'JOB', 'LOCAL', 'UNKNOWN', 'PROJECT')),\n"
    "    CHECK (status IN ('SCHEDULED', 'FAILED', 'FINISHED', 'RUNNING', 'KILLED')),\n"
    "    FOREIGN KEY(experiment_id) REFERENCES experiments (experiment_id)\n"
    ");\n"
    "CREATE TABLE registered_model_tags (\n"
    "    \"key\" VARCHAR(250) NOT NULL,\n"
    "    value VARCHAR(5000),\n"
    "    name VARCHAR(256) NOT NULL,\n"
    "    CONSTRAINT registered_model_tag_pk PRIMARY KEY (\"key\", name),\n"
    "    FOREIGN KEY(name) REFERENCES registered_models (name) ON UPDATE cascade\n"
    ");\n"
    "CREATE TABLE model_version_tags (\n"
    "    \"key\" VARCHAR(250) NOT NULL,\n"
    "    value VARCHAR(5000),\n"
    "    name VARCHAR(256) NOT NULL,\n"
    "    version INTEGER NOT NULL,\n"
    "    CONSTRAINT model_version_tag_pk PRIMARY KEY (\"key\", name, version),\n"
    "    FOREIGN KEY(name, version) REFERENCES model_versions (name, version) ON UPDATE cascade\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS \"model_versions\" (\n"
    "    name VARCHAR(256) NOT NULL,\n"
    "    version INTEGER NOT NULL,\n"
    "    creation_time BIGINT,\n"
    "    last_updated_time BIGINT,\n"
    "    description VARCHAR(5000),\n"
    "    user_id VARCHAR(256),\n"
    "    current_stage VARCHAR(20),\n"
    "    source VARCHAR(500),\n"
    "    run_id VARCHAR(32),\n"
    "    status VARCHAR(20),\n"
    "    status_message VARCHAR(500),\n"
    "    run_link VARCHAR(500), storage_location VARCHAR(500),\n"
    "    CONSTRAINT model_version_pk PRIMARY KEY (name, version),\n"
    "    FOREIGN KEY(name) REFERENCES registered_models (name) ON UPDATE CASCADE\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS \"latest_metrics\" (\n"
    "    \"key\" VARCHAR(250) NOT NULL,\n"
    "    value FLOAT NOT NULL,\n"
    "    timestamp BIGINT,\n"
    "    step BIGINT NOT NULL,\n"
    "    is_nan BOOLEAN NOT NULL,\n"
    "    run_uuid VARCHAR(32) NOT NULL,\n"
    "    CONSTRAINT latest_metric_pk PRIMARY KEY (\"key\", run_uuid),\n"
    "    CHECK (is_nan IN (0, 1)),\n"
    "    FOREIGN KEY(run_uuid) REFERENCES runs (run_uuid)\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS \"metrics\" (\n"
    "    \"key\" VARCHAR(250) NOT NULL,\n"
    "    value FLOAT NOT NULL,\n"
    "    timestamp BIGINT NOT NULL,\n"
    "    run_uuid VARCHAR(32) NOT NULL,\n"
    "    step BIGINT DEFAULT '0' NOT NULL,\n"
    "    is_nan BOOLEAN DEFAULT '0' NOT NULL,\n"
    "    CONSTRAINT metric_pk PRIMARY KEY (\"key\", timestamp, step, run_uuid, value, is_nan),\n"
    "    CHECK (is_nan IN (0, 1)),\n"
    "    FOREIGN KEY(run_uuid) REFERENCES runs (run_uuid)\n"
    ");\n"
    "CREATE INDEX index_metrics_run_uuid ON metrics (run_uuid);\n"
    "CREATE INDEX index_latest_metrics_run_uuid ON latest_metrics (run_uuid);\n"
    "CREATE INDEX index_tags_run_uuid ON tags (run_uuid);\n"
    "CREATE TABLE registered_model_aliases (\n"
    "    alias VARCHAR(256) NOT NULL,\n"
    "    version INTEGER NOT NULL,\n"
    "    name VARCHAR(256) NOT NULL,\n"
    "    CONSTRAINT registered_model_alias_pk PRIMARY KEY (name, alias),\n"
    "    CONSTRAINT registered_model_alias_name_fkey FOREIGN KEY(name) REFERENCES registered_models (name) ON DELETE cascade ON UPDATE cascade\n"
    ");\n"
    "CREATE TABLE datasets (\n"
    "    dataset_uuid VARCHAR(36) NOT NULL,\n"
    "    experiment_id INTEGER NOT NULL,\n"
    "    name VARCHAR(500) NOT NULL,\n"
    "    digest VARCHAR(36) NOT NULL,\n"
    "    dataset_source_type VARCHAR(36) NOT NULL,\n"
    "    dataset_source TEXT NOT NULL,\n"
    "    dataset_schema TEXT,\n"
    "    dataset_profile TEXT,\n"
    "    CONSTRAINT dataset_pk PRIMARY KEY (experiment_id, name, digest),\n"
    "    FOREIGN KEY(experiment_id) REFERENCES experiments (experiment_id)\n"
    ");\n"
    "CREATE INDEX index_datasets_dataset_uuid ON datasets (dataset_uuid);\n"
    "CREATE INDEX index_datasets_experiment_id_dataset_source_type ON datasets (experiment_id, dataset_source_type);\n"
    "CREATE TABLE inputs (\n"
    "    input_uuid VARCHAR(36) NOT NULL,\n"
    "    source_type VARCHAR(36) NOT NULL,\n"
    "    source_id VARCHAR(36) NOT NULL,\n"
    "    destination_type VARCHAR(36) NOT NULL,\n"
    "    destination_id VARCHAR(36) NOT NULL,\n"
    "    CONSTRAINT inputs_pk PRIMARY KEY (source_type, source_id, destination_type, destination_id)\n"
    ");\n"
    "CREATE INDEX index_inputs_destination_type_destination_id_source_type ON inputs (destination_type, destination_id, source_type);\n"
    "CREATE INDEX index_inputs_input_uuid ON inputs (input_uuid);\n"
    "CREATE TABLE input_tags (\n"
    "    input_uuid VARCHAR(36) NOT NULL,\n"
    "    name VARCHAR(255) NOT NULL,\n"
    "    value VARCHAR(500) NOT NULL,\n"
    "    CONSTRAINT input_tags_pk PRIMARY KEY (input_uuid, name)\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS \"params\" (\n"
    "    \"key\" VARCHAR(250) NOT NULL,\n"
    "    value VARCHAR(8000) NOT NULL,\n"
    "    run_uuid VARCHAR(32) NOT NULL,\n"
    "    CONSTRAINT param_pk PRIMARY KEY (\"key\", run_uuid),\n"
    "    FOREIGN KEY(run_uuid) REFERENCES runs (run_uuid)\n"
    ");\n"
    "CREATE INDEX index_params_run_uuid ON params (run_uuid);\n";

static const store_schema_sql sqlite_schema_texts = {
    sqlite_schema_sql,
    "SELECT count(*) FROM sqlite_master",
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'",
    "alembic_version",
};

int sqlite_schema_init(sqlite_conn *c, const char *artifact_root, cerr *e)
{
    /* IMMEDIATE: two processes opening one empty file must not both create. */
    if (sqlite_exec(c, "BEGIN IMMEDIATE", e) < 0)
        return -1;
    int rc = store_schema_prepare(&c->base, &sqlite_schema_texts, artifact_root, e);
    sqlite_conn_reset_all(c);
    if (rc < 0) {
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    if (sqlite_exec(c, "COMMIT", e) < 0)
        return -1;
    /* WAL is a property of the file: readers then never block the writer.
     * Switched only once the schema is known good, so a database we refuse
     * is left exactly as it was. */
    return sqlite_exec(c, "PRAGMA journal_mode = WAL", e);
}
