/* postgres_schema.c - MLflow 2.9.2's PostgreSQL schema, created in an empty
 * database or verified in an existing one.
 *
 * The DDL below is pg_dump's schema of a database MLflow 2.9.2 created
 * (alembic head acf3f17fdcc7; tests/data/mlflow-2.9.2-postgres.sql)
 * without its session SETs: tables, the experiment id sequence, constraints
 * with MLflow's names, indexes and foreign keys. The CHECK constraints are
 * written as SQLAlchemy sent them (`col IN (...)`): PostgreSQL stores that as
 * the `= ANY (ARRAY[...])` form the dump shows, while re-running the dump's
 * text would store a differently cast expression.
 * tests/api/test_postgres.py compares what it leaves in the catalog with
 * that file. Keeping it MLflow's own is what lets MLflow and Cairn serve one
 * database. */
#include "postgres.h"

#include <stdio.h>
#include <string.h>

#include "store_int.h"

const char pg_schema_sql[] =
    "CREATE TABLE public.alembic_version (\n"
    "    version_num character varying(32) NOT NULL\n"
    ");\n"
    "\n"
    "CREATE TABLE public.datasets (\n"
    "    dataset_uuid character varying(36) NOT NULL,\n"
    "    experiment_id integer NOT NULL,\n"
    "    name character varying(500) NOT NULL,\n"
    "    digest character varying(36) NOT NULL,\n"
    "    dataset_source_type character varying(36) NOT NULL,\n"
    "    dataset_source text NOT NULL,\n"
    "    dataset_schema text,\n"
    "    dataset_profile text\n"
    ");\n"
    "\n"
    "CREATE TABLE public.experiment_tags (\n"
    "    key character varying(250) NOT NULL,\n"
    "    value character varying(5000),\n"
    "    experiment_id integer NOT NULL\n"
    ");\n"
    "\n"
    "CREATE TABLE public.experiments (\n"
    "    experiment_id integer NOT NULL,\n"
    "    name character varying(256) NOT NULL,\n"
    "    artifact_location character varying(256),\n"
    "    lifecycle_stage character varying(32),\n"
    "    creation_time bigint,\n"
    "    last_update_time bigint,\n"
    "    CONSTRAINT experiments_lifecycle_stage CHECK (lifecycle_stage IN ('active', 'deleted'))\n"
    ");\n"
    "\n"
    "CREATE SEQUENCE public.experiments_experiment_id_seq\n"
    "    AS integer\n"
    "    START WITH 1\n"
    "    INCREMENT BY 1\n"
    "    NO MINVALUE\n"
    "    NO MAXVALUE\n"
    "    CACHE 1;\n"
    "\n"
    "ALTER SEQUENCE public.experiments_experiment_id_seq OWNED BY public.experiments.experiment_id;\n"
    "\n"
    "CREATE TABLE public.input_tags (\n"
    "    input_uuid character varying(36) NOT NULL,\n"
    "    name character varying(255) NOT NULL,\n"
    "    value character varying(500) NOT NULL\n"
    ");\n"
    "\n"
    "CREATE TABLE public.inputs (\n"
    "    input_uuid character varying(36) NOT NULL,\n"
    "    source_type character varying(36) NOT NULL,\n"
    "    source_id character varying(36) NOT NULL,\n"
    "    destination_type character varying(36) NOT NULL,\n"
    "    destination_id character varying(36) NOT NULL\n"
    ");\n"
    "\n"
    "CREATE TABLE public.latest_metrics (\n"
    "    key character varying(250) NOT NULL,\n"
    "    value double precision NOT NULL,\n"
    "    \"timestamp\" bigint,\n"
    "    step bigint NOT NULL,\n"
    "    is_nan boolean NOT NULL,\n"
    "    run_uuid character varying(32) NOT NULL\n"
    ");\n"
    "\n"
    "CREATE TABLE public.metrics (\n"
    "    key character varying(250) NOT NULL,\n"
    "    value double precision NOT NULL,\n"
    "    \"timestamp\" bigint NOT NULL,\n"
    "    run_uuid character varying(32) NOT NULL,\n"
    "    step bigint DEFAULT '0'::bigint NOT NULL,\n"
    "    is_nan boolean DEFAULT false NOT NULL\n"
    ");\n"
    "\n"
    "CREATE TABLE public.model_version_tags (\n"
    "    key character varying(250) NOT NULL,\n"
    "    value character varying(5000),\n"
    "    name character varying(256) NOT NULL,\n"
    "    version integer NOT NULL\n"
    ");\n"
    "\n"
    "CREATE TABLE public.model_versions (\n"
    "    name character varying(256) NOT NULL,\n"
    "    version integer NOT NULL,\n"
    "    creation_time bigint,\n"
    "    last_updated_time bigint,\n"
    "    description character varying(5000),\n"
    "    user_id character varying(256),\n"
    "    current_stage character varying(20),\n"
    "    source character varying(500),\n"
    "    run_id character varying(32),\n"
    "    status character varying(20),\n"
    "    status_message character varying(500),\n"
    "    run_link character varying(500),\n"
    "    storage_location character varying(500)\n"
    ");\n"
    "\n"
    "CREATE TABLE public.params (\n"
    "    key character varying(250) NOT NULL,\n"
    "    value character varying(8000) NOT NULL,\n"
    "    run_uuid character varying(32) NOT NULL\n"
    ");\n"
    "\n"
    "CREATE TABLE public.registered_model_aliases (\n"
    "    alias character varying(256) NOT NULL,\n"
    "    version integer NOT NULL,\n"
    "    name character varying(256) NOT NULL\n"
    ");\n"
    "\n"
    "CREATE TABLE public.registered_model_tags (\n"
    "    key character varying(250) NOT NULL,\n"
    "    value character varying(5000),\n"
    "    name character varying(256) NOT NULL\n"
    ");\n"
    "\n"
    "CREATE TABLE public.registered_models (\n"
    "    name character varying(256) NOT NULL,\n"
    "    creation_time bigint,\n"
    "    last_updated_time bigint,\n"
    "    description character varying(5000)\n"
    ");\n"
    "\n"
    "CREATE TABLE public.runs (\n"
    "    run_uuid character varying(32) NOT NULL,\n"
    "    name character varying(250),\n"
    "    source_type character varying(20),\n"
    "    source_name character varying(500),\n"
    "    entry_point_name character varying(50),\n"
    "    user_id character varying(256),\n"
    "    status character varying(9),\n"
    "    start_time bigint,\n"
    "    end_time bigint,\n"
    "    source_version character varying(50),\n"
    "    lifecycle_stage character varying(20),\n"
    "    artifact_uri character varying(200),\n"
    "    experiment_id integer,\n"
    "    deleted_time bigint,\n"
    "    CONSTRAINT runs_lifecycle_stage CHECK (lifecycle_stage IN ('active', 'deleted')),\n"
    "    CONSTRAINT runs_status_check CHECK (status IN ('SCHEDULED', 'FAILED', 'FINISHED', 'RUNNING', 'KILLED')),\n"
    "    CONSTRAINT source_type CHECK (source_type IN ('NOTEBOOK', 'JOB', 'LOCAL', 'UNKNOWN', 'PROJECT'))\n"
    ");\n"
    "\n"
    "CREATE TABLE public.tags (\n"
    "    key character varying(250) NOT NULL,\n"
    "    value character varying(5000),\n"
    "    run_uuid character varying(32) NOT NULL\n"
    ");\n"
    "\n"
    "ALTER TABLE ONLY public.experiments ALTER COLUMN experiment_id SET DEFAULT nextval('public.experiments_experiment_id_seq'::regclass);\n"
    "\n"
    "ALTER TABLE ONLY public.alembic_version\n"
    "    ADD CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num);\n"
    "\n"
    "ALTER TABLE ONLY public.datasets\n"
    "    ADD CONSTRAINT dataset_pk PRIMARY KEY (experiment_id, name, digest);\n"
    "\n"
    "ALTER TABLE ONLY public.experiments\n"
    "    ADD CONSTRAINT experiment_pk PRIMARY KEY (experiment_id);\n"
    "\n"
    "ALTER TABLE ONLY public.experiment_tags\n"
    "    ADD CONSTRAINT experiment_tag_pk PRIMARY KEY (key, experiment_id);\n"
    "\n"
    "ALTER TABLE ONLY public.experiments\n"
    "    ADD CONSTRAINT experiments_name_key UNIQUE (name);\n"
    "\n"
    "ALTER TABLE ONLY public.input_tags\n"
    "    ADD CONSTRAINT input_tags_pk PRIMARY KEY (input_uuid, name);\n"
    "\n"
    "ALTER TABLE ONLY public.inputs\n"
    "    ADD CONSTRAINT inputs_pk PRIMARY KEY (source_type, source_id, destination_type, destination_id);\n"
    "\n"
    "ALTER TABLE ONLY public.latest_metrics\n"
    "    ADD CONSTRAINT latest_metric_pk PRIMARY KEY (key, run_uuid);\n"
    "\n"
    "ALTER TABLE ONLY public.metrics\n"
    "    ADD CONSTRAINT metric_pk PRIMARY KEY (key, \"timestamp\", step, run_uuid, value, is_nan);\n"
    "\n"
    "ALTER TABLE ONLY public.model_versions\n"
    "    ADD CONSTRAINT model_version_pk PRIMARY KEY (name, version);\n"
    "\n"
    "ALTER TABLE ONLY public.model_version_tags\n"
    "    ADD CONSTRAINT model_version_tag_pk PRIMARY KEY (key, name, version);\n"
    "\n"
    "ALTER TABLE ONLY public.params\n"
    "    ADD CONSTRAINT param_pk PRIMARY KEY (key, run_uuid);\n"
    "\n"
    "ALTER TABLE ONLY public.registered_model_aliases\n"
    "    ADD CONSTRAINT registered_model_alias_pk PRIMARY KEY (name, alias);\n"
    "\n"
    "ALTER TABLE ONLY public.registered_models\n"
    "    ADD CONSTRAINT registered_model_pk PRIMARY KEY (name);\n"
    "\n"
    "ALTER TABLE ONLY public.registered_model_tags\n"
    "    ADD CONSTRAINT registered_model_tag_pk PRIMARY KEY (key, name);\n"
    "\n"
    "ALTER TABLE ONLY public.runs\n"
    "    ADD CONSTRAINT run_pk PRIMARY KEY (run_uuid);\n"
    "\n"
    "ALTER TABLE ONLY public.tags\n"
    "    ADD CONSTRAINT tag_pk PRIMARY KEY (key, run_uuid);\n"
    "\n"
    "CREATE INDEX index_datasets_dataset_uuid ON public.datasets USING btree (dataset_uuid);\n"
    "\n"
    "CREATE INDEX index_datasets_experiment_id_dataset_source_type ON public.datasets USING btree (experiment_id, dataset_source_type);\n"
    "\n"
    "CREATE INDEX index_inputs_destination_type_destination_id_source_type ON public.inputs USING btree (destination_type, destination_id, source_type);\n"
    "\n"
    "CREATE INDEX index_inputs_input_uuid ON public.inputs USING btree (input_uuid);\n"
    "\n"
    "CREATE INDEX index_latest_metrics_run_uuid ON public.latest_metrics USING btree (run_uuid);\n"
    "\n"
    "CREATE INDEX index_metrics_run_uuid ON public.metrics USING btree (run_uuid);\n"
    "\n"
    "CREATE INDEX index_params_run_uuid ON public.params USING btree (run_uuid);\n"
    "\n"
    "CREATE INDEX index_tags_run_uuid ON public.tags USING btree (run_uuid);\n"
    "\n"
    "ALTER TABLE ONLY public.datasets\n"
    "    ADD CONSTRAINT datasets_experiment_id_fkey FOREIGN KEY (experiment_id) REFERENCES public.experiments(experiment_id);\n"
    "\n"
    "ALTER TABLE ONLY public.experiment_tags\n"
    "    ADD CONSTRAINT experiment_tags_experiment_id_fkey FOREIGN KEY (experiment_id) REFERENCES public.experiments(experiment_id);\n"
    "\n"
    "ALTER TABLE ONLY public.latest_metrics\n"
    "    ADD CONSTRAINT latest_metrics_run_uuid_fkey FOREIGN KEY (run_uuid) REFERENCES public.runs(run_uuid);\n"
    "\n"
    "ALTER TABLE ONLY public.metrics\n"
    "    ADD CONSTRAINT metrics_run_uuid_fkey FOREIGN KEY (run_uuid) REFERENCES public.runs(run_uuid);\n"
    "\n"
    "ALTER TABLE ONLY public.model_version_tags\n"
    "    ADD CONSTRAINT model_version_tags_name_version_fkey FOREIGN KEY (name, version) REFERENCES public.model_versions(name, version) ON UPDATE CASCADE;\n"
    "\n"
    "ALTER TABLE ONLY public.model_versions\n"
    "    ADD CONSTRAINT model_versions_name_fkey FOREIGN KEY (name) REFERENCES public.registered_models(name) ON UPDATE CASCADE;\n"
    "\n"
    "ALTER TABLE ONLY public.params\n"
    "    ADD CONSTRAINT params_run_uuid_fkey FOREIGN KEY (run_uuid) REFERENCES public.runs(run_uuid);\n"
    "\n"
    "ALTER TABLE ONLY public.registered_model_aliases\n"
    "    ADD CONSTRAINT registered_model_alias_name_fkey FOREIGN KEY (name) REFERENCES public.registered_models(name) ON UPDATE CASCADE ON DELETE CASCADE;\n"
    "\n"
    "ALTER TABLE ONLY public.registered_model_tags\n"
    "    ADD CONSTRAINT registered_model_tags_name_fkey FOREIGN KEY (name) REFERENCES public.registered_models(name) ON UPDATE CASCADE;\n"
    "\n"
    "ALTER TABLE ONLY public.runs\n"
    "    ADD CONSTRAINT runs_experiment_id_fkey FOREIGN KEY (experiment_id) REFERENCES public.experiments(experiment_id);\n"
    "\n"
    "ALTER TABLE ONLY public.tags\n"
    "    ADD CONSTRAINT tags_run_uuid_fkey FOREIGN KEY (run_uuid) REFERENCES public.runs(run_uuid);\n";

/* Serialises schema creation between processes starting at once; the value
 * is arbitrary ("cairn" in ASCII). */
#define PG_SCHEMA_LOCK "464374149742"

static int pg_schema_count(pg_conn *c, const char *sql, int64_t *n, cerr *e)
{
    db_stmt *s = db_prep(&c->base, sql, e);
    if (s == NULL)
        return -1;
    int rc = db_row(s, e);
    if (rc < 0)
        return -1;
    *n = rc ? db_int64(s, 0) : 0;
    db_reset(s);
    return 0;
}

static int pg_schema_create(pg_conn *c, cerr *e)
{
    if (pg_exec(c, pg_schema_sql, e) < 0)
        return -1;
    db_stmt *s = db_prep(&c->base, "INSERT INTO public.alembic_version (version_num) VALUES (?)", e);
    if (s == NULL || db_bindf(s, e, "t", STORE_SCHEMA_REVISION) < 0)
        return -1;
    return db_run(s, e);
}

static int pg_schema_verify(pg_conn *c, cerr *e)
{
    int64_t has_alembic;
    if (pg_schema_count(c,
                        "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = 'public' "
                        "AND tablename = 'alembic_version'",
                        &has_alembic, e) < 0)
        return -1;
    if (!has_alembic)
        return cerr_set(e, CERR_INVALID_STATE,
                        "database is not empty but has no alembic_version table, so it is not "
                        "an MLflow database; Cairn serves MLflow 2.9.2 databases (%s)",
                        STORE_SCHEMA_REVISION);
    db_stmt *s = db_prep(&c->base, "SELECT version_num FROM public.alembic_version", e);
    if (s == NULL)
        return -1;
    char found[64] = "(none)";
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

int pg_schema_init(pg_conn *c, const char *artifact_root, cerr *e)
{
    if (pg_exec(c, "BEGIN", e) < 0)
        return -1;
    /* Two servers starting on one empty database must not both create. */
    int rc = pg_exec(c, "SELECT pg_advisory_xact_lock(" PG_SCHEMA_LOCK ")", e);
    int64_t ntables = 0;
    if (rc == 0)
        rc = pg_schema_count(c,
                             "SELECT count(*) FROM pg_catalog.pg_class k JOIN "
                             "pg_catalog.pg_namespace n ON n.oid = k.relnamespace "
                             "WHERE n.nspname = 'public'",
                             &ntables, e);
    if (rc == 0)
        rc = ntables == 0 ? pg_schema_create(c, e) : pg_schema_verify(c, e);
    if (rc == 0)
        rc = store_indexes_create(&c->base, e);
    if (rc == 0)
        rc = store_default_experiment(&c->base, artifact_root, e);
    pg_conn_reset_all(c);
    if (rc < 0) {
        /* A database we refuse is left exactly as it was. */
        PQclear(PQexec(c->pg, "ROLLBACK"));
        return -1;
    }
    return pg_exec(c, "COMMIT", e);
}
