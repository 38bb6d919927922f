"""The PostgreSQL store, against a real PostgreSQL 15 (CAIRN_TEST_PG, started by
scripts/pg.sh; skipped without it).

The rest of tests/api runs on PostgreSQL too when CAIRN_TEST_PG is set; this
file holds what only PostgreSQL has: MLflow's PostgreSQL schema exactly as
MLflow 2.9.2 leaves it (compared with pg_dump's output against the reference
dump), refusal of a foreign alembic revision without touching the database,
several `cairn server` processes on one database (writes through one read
through the other, races on one experiment name or one param), acknowledged
writes surviving SIGKILL, and the URI forms MLflow accepts.
"""

import os
import re
import shutil
import subprocess
import tempfile
import threading

import pytest

from conftest import (CAIRN_BIN, Client, PG_BASE, Server, assert_error, now_ms, params_dict,
                      pg_new_database, pg_uri, postgres_only, psql, unique)

pytestmark = postgres_only

REFERENCE = os.environ.get(
    "CAIRN_PG_REFERENCE",
    os.path.join(os.path.dirname(__file__), "..", "data", "mlflow-2.9.2-postgres.sql"))
REVISION = "acf3f17fdcc7"


def dump_statements(text):
    """pg_dump text -> its statements, without comments, psql meta-commands
    (\\restrict carries a random key) and session SETs."""
    lines = [ln for ln in text.splitlines()
             if ln.strip() and not ln.startswith("--") and not ln.startswith("\\")]
    stmts = [re.sub(r"\s+", " ", s).strip() for s in "\n".join(lines).split(";\n")]
    return [s.rstrip(";") for s in stmts
            if s and not s.startswith("SET ") and not s.startswith("SELECT pg_catalog.set_config")]


def pg_dump(dbname):
    r = subprocess.run(["pg_dump", "--schema-only", "--no-owner", "--no-privileges",
                        "-d", pg_uri(dbname)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def start_refused(uri, tmp):
    return subprocess.run([CAIRN_BIN, "server", "--port", "0", "--backend-store-uri", uri,
                           "--artifacts-destination", os.path.join(tmp, "a")],
                          capture_output=True, text=True, timeout=60)


# Cairn's own tables (store_jobs.c, store_auth.c: jobs, users, permissions,
# refresh tokens) and indexes, nothing else.
CAIRN_OBJECTS = [
    'CREATE TABLE public.cairn_experiment_permissions ( id bigint NOT NULL, experiment_id '
    'character varying(255) NOT NULL, user_id bigint NOT NULL, permission character '
    'varying(255) NOT NULL )',
    'CREATE SEQUENCE public.cairn_experiment_permissions_id_seq START WITH 1 INCREMENT BY 1 '
    'NO MINVALUE NO MAXVALUE CACHE 1',
    'ALTER SEQUENCE public.cairn_experiment_permissions_id_seq OWNED BY '
    'public.cairn_experiment_permissions.id',
    'CREATE TABLE public.cairn_jobs ( job_id character varying(32) NOT NULL, experiment_id '
    "character varying(32) NOT NULL, run_id character varying(32) DEFAULT ''::character "
    "varying NOT NULL, run_name character varying(250) DEFAULT ''::character varying NOT "
    'NULL, backend character varying(16) NOT NULL, backend_job_id character varying(64) '
    "DEFAULT ''::character varying NOT NULL, state character varying(20) NOT NULL, run_status"
    " character varying(20) NOT NULL, reason text DEFAULT ''::text NOT NULL, exit_code "
    "integer DEFAULT '-1'::integer NOT NULL, entry_point text DEFAULT ''::text NOT NULL, "
    "command text DEFAULT ''::text NOT NULL, user_id character varying(256) DEFAULT "
    "''::character varying NOT NULL, source character varying(32) DEFAULT 'cairn'::character "
    'varying NOT NULL, workdir text NOT NULL, submit_time bigint NOT NULL, start_time bigint '
    'DEFAULT 0 NOT NULL, end_time bigint DEFAULT 0 NOT NULL, host character varying(256) '
    "DEFAULT ''::character varying NOT NULL )",
    'CREATE TABLE public.cairn_refresh_tokens ( sha256 character(64) NOT NULL, user_id bigint'
    ' NOT NULL, created_time bigint NOT NULL, expires bigint NOT NULL, revoked boolean '
    'DEFAULT false NOT NULL )',
    'CREATE TABLE public.cairn_registered_model_permissions ( id bigint NOT NULL, name '
    'character varying(255) NOT NULL, user_id bigint NOT NULL, permission character '
    'varying(255) NOT NULL )',
    'CREATE SEQUENCE public.cairn_registered_model_permissions_id_seq START WITH 1 INCREMENT '
    'BY 1 NO MINVALUE NO MAXVALUE CACHE 1',
    'ALTER SEQUENCE public.cairn_registered_model_permissions_id_seq OWNED BY '
    'public.cairn_registered_model_permissions.id',
    'CREATE TABLE public.cairn_users ( id bigint NOT NULL, username character varying(255) '
    'NOT NULL, password_hash character varying(255) NOT NULL, is_admin boolean DEFAULT false '
    'NOT NULL, must_change_password boolean DEFAULT false NOT NULL, created_time bigint NOT '
    'NULL )',
    'CREATE SEQUENCE public.cairn_users_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO '
    'MAXVALUE CACHE 1',
    'ALTER SEQUENCE public.cairn_users_id_seq OWNED BY public.cairn_users.id',
    'ALTER TABLE ONLY public.cairn_experiment_permissions ALTER COLUMN id SET DEFAULT '
    "nextval('public.cairn_experiment_permissions_id_seq'::regclass)",
    'ALTER TABLE ONLY public.cairn_registered_model_permissions ALTER COLUMN id SET DEFAULT '
    "nextval('public.cairn_registered_model_permissions_id_seq'::regclass)",
    'ALTER TABLE ONLY public.cairn_users ALTER COLUMN id SET DEFAULT '
    "nextval('public.cairn_users_id_seq'::regclass)",
    'ALTER TABLE ONLY public.cairn_experiment_permissions ADD CONSTRAINT '
    'cairn_experiment_permissions_experiment_id_user_id_key UNIQUE (experiment_id, user_id)',
    'ALTER TABLE ONLY public.cairn_experiment_permissions ADD CONSTRAINT '
    'cairn_experiment_permissions_pkey PRIMARY KEY (id)',
    'ALTER TABLE ONLY public.cairn_jobs ADD CONSTRAINT cairn_jobs_pkey PRIMARY KEY (job_id)',
    'ALTER TABLE ONLY public.cairn_refresh_tokens ADD CONSTRAINT cairn_refresh_tokens_pkey '
    'PRIMARY KEY (sha256)',
    'ALTER TABLE ONLY public.cairn_registered_model_permissions ADD CONSTRAINT '
    'cairn_registered_model_permissions_name_user_id_key UNIQUE (name, user_id)',
    'ALTER TABLE ONLY public.cairn_registered_model_permissions ADD CONSTRAINT '
    'cairn_registered_model_permissions_pkey PRIMARY KEY (id)',
    'ALTER TABLE ONLY public.cairn_users ADD CONSTRAINT cairn_users_pkey PRIMARY KEY (id)',
    'ALTER TABLE ONLY public.cairn_users ADD CONSTRAINT cairn_users_username_key UNIQUE '
    '(username)',
    'CREATE INDEX cairn_experiment_permissions_user ON public.cairn_experiment_permissions '
    'USING btree (user_id)',
    'CREATE INDEX cairn_jobs_state ON public.cairn_jobs USING btree (state)',
    'CREATE INDEX cairn_jobs_submit ON public.cairn_jobs USING btree (submit_time, job_id)',
    'CREATE INDEX cairn_latest_metrics_value ON public.latest_metrics USING btree (key, '
    'value, is_nan, run_uuid)',
    'CREATE INDEX cairn_metrics_history ON public.metrics USING btree (run_uuid, key, step, '
    '"timestamp", value, is_nan)',
    'CREATE INDEX cairn_refresh_tokens_user ON public.cairn_refresh_tokens USING btree '
    '(user_id)',
    'CREATE INDEX cairn_registered_model_permissions_user ON '
    'public.cairn_registered_model_permissions USING btree (user_id)',
    'CREATE INDEX cairn_runs_experiment ON public.runs USING btree (experiment_id, '
    'lifecycle_stage)',
    'ALTER TABLE ONLY public.cairn_experiment_permissions ADD CONSTRAINT '
    'cairn_experiment_permissions_user_id_fkey FOREIGN KEY (user_id) REFERENCES '
    'public.cairn_users(id) ON DELETE CASCADE',
    'ALTER TABLE ONLY public.cairn_refresh_tokens ADD CONSTRAINT '
    'cairn_refresh_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES '
    'public.cairn_users(id) ON DELETE CASCADE',
    'ALTER TABLE ONLY public.cairn_registered_model_permissions ADD CONSTRAINT '
    'cairn_registered_model_permissions_user_id_fkey FOREIGN KEY (user_id) REFERENCES '
    'public.cairn_users(id) ON DELETE CASCADE',
]


def test_schema_is_mlflows(server_factory):
    srv = server_factory()
    with open(REFERENCE) as f:
        want = dump_statements(f.read())
    got = dump_statements(pg_dump(srv.pg_database))
    # MLflow's schema exactly, plus Cairn's own (cairn_*) objects only.
    ours = [s for s in got if "cairn_" in s]
    assert ours == CAIRN_OBJECTS
    assert [s for s in got if "cairn_" not in s] == want
    assert psql("SELECT version_num FROM alembic_version", srv.pg_database).split() == [REVISION]
    # Experiment 0 with an explicit id; new ids come from the sequence.
    assert psql("SELECT experiment_id, name FROM experiments", srv.pg_database).strip() == "0|Default"
    c = Client(srv.url)
    assert c.create_experiment() == "1"
    assert c.create_experiment() == "2"
    assert psql("SELECT last_value FROM experiments_experiment_id_seq",
                srv.pg_database).strip() == "2"


def test_columns_types_and_nullability_match_reference(server_factory):
    # The same check from the catalog, independent of pg_dump's formatting.
    srv = server_factory()
    with open(REFERENCE) as f:
        ref = f.read()
    want = set()
    for table, body in re.findall(r"CREATE TABLE public\.(\w+) \((.*?)\n\);", ref, re.S):
        for line in body.splitlines():
            m = re.match(r'\s+"?(\w+)"? ([a-z ]+?(?:\(\d+\))?)( DEFAULT \S+)?( NOT NULL)?,?$', line)
            if m:
                want.add((table, m.group(1), m.group(2), "NO" if m.group(4) else "YES"))
    got = set()
    out = psql("SELECT table_name, column_name, data_type, character_maximum_length, is_nullable "
               "FROM information_schema.columns WHERE table_schema = 'public' "
               "AND table_name NOT LIKE 'cairn\\_%'", srv.pg_database)
    for row in out.splitlines():
        table, col, typ, length, nullable = row.split("|")
        got.add((table, col, f"{typ}({length})" if length else typ, nullable))
    assert len(want) > 80
    assert got == want


def test_foreign_revision_is_refused_and_left_untouched():
    tmp = tempfile.mkdtemp(prefix="cairn-pg-")
    try:
        db = pg_new_database()
        with open(REFERENCE) as f:
            ddl = "\n".join(ln for ln in f.read().splitlines() if not ln.startswith("\\"))
        r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", pg_uri(db)],
                           input=ddl, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        psql("INSERT INTO public.alembic_version VALUES ('0584bdc529eb')", db)
        before = pg_dump(db)
        p = start_refused(pg_uri(db), tmp)
        assert p.returncode != 0
        assert "0584bdc529eb" in p.stderr and REVISION in p.stderr
        # (pg_dump's \restrict line carries a new random key each time.)
        assert dump_statements(pg_dump(db)) == dump_statements(before)
        assert psql("SELECT count(*) FROM public.experiments", db).strip() == "0"
        assert psql("SELECT version_num FROM public.alembic_version", db).strip() == "0584bdc529eb"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_non_mlflow_database_is_refused():
    tmp = tempfile.mkdtemp(prefix="cairn-pg-")
    try:
        db = pg_new_database()
        psql("CREATE TABLE someone_elses (x int)", db)
        p = start_refused(pg_uri(db), tmp)
        assert p.returncode != 0
        assert "alembic_version" in p.stderr
        assert psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", db).strip() == "1"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_unreachable_server_is_a_clear_error():
    tmp = tempfile.mkdtemp(prefix="cairn-pg-")
    try:
        p = start_refused("postgresql://nobody@127.0.0.1:1/none", tmp)
        assert p.returncode != 0
        assert "cannot connect to PostgreSQL" in p.stderr
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.parametrize("form", ["psycopg2", "socket", "postgres"])
def test_uri_forms(form):
    db = pg_new_database()
    if form == "psycopg2":
        uri = pg_uri(db).replace("postgresql://", "postgresql+psycopg2://", 1)
    elif form == "postgres":
        uri = pg_uri(db).replace("postgresql://", "postgres://", 1)
    else:
        sock = os.environ.get("CAIRN_TEST_PG_SOCKET")
        if not sock:
            pytest.skip("CAIRN_TEST_PG_SOCKET not set")
        port = re.search(r":(\d+)/", PG_BASE).group(1)
        uri = f"postgresql://postgres@/{db}?host={sock}&port={port}"
    tmp = tempfile.mkdtemp(prefix="cairn-api-f-")
    srv = Server(tmp)
    srv.uri_override = uri  # not the database Server made for tmp
    srv.start()
    try:
        c = Client(srv.url)
        exp = c.create_experiment(unique("form"))
        assert psql(f"SELECT name FROM experiments WHERE experiment_id = {int(exp)}",
                    db).strip().startswith("form-")
    finally:
        problems = srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    assert not problems, problems


def test_duplicate_name_is_resource_already_exists(server_factory):
    c = Client(server_factory().url)
    name = unique("dup")
    c.create_experiment(name)
    r = c.post("experiments/create", {"name": name})
    assert_error(r, 400, "RESOURCE_ALREADY_EXISTS", "already exists")


def test_two_servers_see_each_others_writes(server_factory):
    first = server_factory()
    second = server_factory(tmpdir=first.tmpdir)
    assert first.pg_database == second.pg_database
    a, b = Client(first.url), Client(second.url)
    exp = a.create_experiment(unique("shared"), tags=[{"key": "k", "value": "v"}])
    assert b.get_experiment(exp)["tags"] == [{"key": "k", "value": "v"}]
    run = b.create_run(exp, run_name="r")["info"]["run_id"]
    a.log_batch(run, metrics=[{"key": "m", "value": 1.5, "timestamp": 1, "step": 0}],
                params=[{"key": "p", "value": "1"}])
    got = b.get_run(run)
    assert params_dict(got) == {"p": "1"}
    assert got["data"]["metrics"][0]["value"] == 1.5
    b.ok_post("runs/update", {"run_id": run, "status": "FINISHED", "end_time": now_ms()})
    assert a.get_run(run)["info"]["status"] == "FINISHED"
    a.ok_post("experiments/delete", {"experiment_id": exp})
    assert b.get_run(run)["info"]["lifecycle_stage"] == "deleted"
    found = b.search_runs([exp], view="ALL")["runs"]
    assert [r["info"]["run_id"] for r in found] == [run]


def race(targets, n_per_target):
    """Call each fn in targets n_per_target times, all threads released at
    once; returns the responses."""
    barrier = threading.Barrier(len(targets) * n_per_target)
    out, lock = [], threading.Lock()

    def go(fn):
        barrier.wait()
        r = fn()
        with lock:
            out.append(r)

    threads = [threading.Thread(target=go, args=(fn,)) for fn in targets
               for _ in range(n_per_target)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_racing_experiment_name_creates_exactly_one(server_factory):
    first = server_factory()
    second = server_factory(tmpdir=first.tmpdir)
    for _round in range(5):
        name = unique("race")
        targets = [lambda u=srv.url: Client(u).post("experiments/create", {"name": name})
                   for srv in (first, second)]
        responses = race(targets, 4)
        ok = [r for r in responses if r.status_code == 200]
        assert len(ok) == 1, [r.text for r in responses]
        for r in responses:
            if r.status_code != 200:
                assert_error(r, 400, "RESOURCE_ALREADY_EXISTS", "already exists")
        exp_id = ok[0].json()["experiment_id"]
        for srv in (first, second):
            got = Client(srv.url).ok_get("experiments/get-by-name", {"experiment_name": name})
            assert got["experiment"]["experiment_id"] == exp_id
        assert psql(f"SELECT count(*) FROM experiments WHERE name = '{name}'",
                    first.pg_database).strip() == "1"


def test_racing_param_values_keep_exactly_one(server_factory):
    first = server_factory()
    second = server_factory(tmpdir=first.tmpdir)
    run = Client(first.url).create_run("0")["info"]["run_id"]
    targets = [lambda u=srv.url, v=str(i): Client(u).post(
        "runs/log-parameter", {"run_id": run, "key": "lr", "value": v})
        for i, srv in enumerate((first, second, first, second))]
    responses = race(targets, 2)
    kept = params_dict(Client(second.url).get_run(run))["lr"]
    for r in responses:
        if r.status_code != 200:
            assert_error(r, 400, "INVALID_PARAMETER_VALUE", "Changing param values")
    # The same value twice is accepted; a different one is refused.
    assert any(r.status_code == 200 for r in responses)
    assert sum(r.status_code == 200 for r in responses) == 2
    assert kept in {"0", "1", "2", "3"}


def test_racing_metrics_on_one_run_all_land(server_factory):
    first = server_factory()
    second = server_factory(tmpdir=first.tmpdir)
    run = Client(first.url).create_run("0")["info"]["run_id"]
    targets = [lambda u=srv.url, k=k: [Client(u).ok_post(
        "runs/log-metric", {"run_id": run, "key": "loss", "value": float(k * 100 + s),
                            "timestamp": k * 100 + s, "step": k * 100 + s})
        for s in range(25)] for k, srv in enumerate((first, second))]
    race(targets, 1)
    for srv in (first, second):
        hist = Client(srv.url).history(run, "loss")
        assert [m["step"] for m in hist] == list(range(25)) + list(range(100, 125))
        latest = Client(srv.url).get_run(run)["data"]["metrics"]
        assert latest == [{"key": "loss", "value": 124.0, "timestamp": 124, "step": 124}]


def test_sigkill_loses_no_acknowledged_write(server_factory):
    first = server_factory()
    second = server_factory(tmpdir=first.tmpdir)
    run = Client(first.url).create_run("0")["info"]["run_id"]
    acked, stop = [], threading.Event()

    def logger():
        c = Client(first.url)
        i = 0
        while not stop.is_set():
            try:
                r = c.post("runs/log-metric", {"run_id": run, "key": "k", "value": i,
                                               "timestamp": i, "step": i})
            except Exception:  # the server died under us
                return
            if r.status_code == 200:
                acked.append(i)
            i += 1

    t = threading.Thread(target=logger)
    t.start()
    while len(acked) < 50:
        if not t.is_alive():
            break
        threading.Event().wait(0.01)
    first.kill()
    stop.set()
    t.join()
    assert len(acked) >= 50
    steps = {m["step"] for m in Client(second.url).history(run, "k")}
    assert set(acked) <= steps


def test_connections_killed_by_the_server_are_replaced(server_factory):
    # After a PostgreSQL restart or an administrator's pg_terminate_backend,
    # every pooled connection is dead; the next requests must not fail.
    srv = server_factory()
    c = Client(srv.url)
    exp = c.create_experiment(unique("before"))
    run = c.create_run(exp)["info"]["run_id"]
    for _ in range(3):
        killed = psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                      f"WHERE datname = '{srv.pg_database}' AND pid <> pg_backend_pid()")
        assert int(killed) >= 1
        c.log_batch(run, params=[{"key": unique("p"), "value": "v"}])
        assert c.get_run(run)["info"]["experiment_id"] == exp
        assert c.search_runs([exp])["runs"][0]["info"]["run_id"] == run
