"""Sharing a database with MLflow 2.9.2, in both directions.

An MLflow-written database: the schema is executed from MLflow's own dump
(tests/data/mlflow-2.9.2-sqlite.sql) and filled with rows the way MLflow's
SqlAlchemyStore writes them (NaN metrics as value 0 with is_nan=1, run names
in runs.name and the mlflow.runName tag, absolute artifact locations); Cairn
must serve it in place. A Cairn-written database must hold rows MLflow's
models read back: the same encodings, intact keys, the alembic revision.
"""

import os
import sqlite3
import subprocess
import tempfile

from conftest import CAIRN_BIN, REPO_ROOT, Client, sqlite_only

# Every test here builds or reads a SQLite file; the PostgreSQL equivalents
# (schema, foreign revision) are in test_postgres.py.
pytestmark = sqlite_only

SCHEMA = os.path.join(REPO_ROOT, "tests", "data", "mlflow-2.9.2-sqlite.sql")
REVISION = "acf3f17fdcc7"
RUN = "9f2c5a0e1b7d4c3a8e6f0a1b2c3d4e5f"


def mlflow_database(path, revision=REVISION):
    db = sqlite3.connect(path)
    with open(SCHEMA) as f:
        db.executescript(f.read())
    db.execute("INSERT INTO alembic_version VALUES (?)", (revision,))
    db.executemany("INSERT INTO experiments VALUES (?, ?, ?, ?, ?, ?)", [
        (0, "Default", "/srv/mlruns/0", "active", 1600000000000, 1600000000000),
        (1, "legacy", "/srv/mlruns/1", "active", 1600000000001, 1600000000001)])
    db.execute("INSERT INTO experiment_tags VALUES ('team', 'vision', 1)")
    db.execute("INSERT INTO runs VALUES (?, 'old-run', 'LOCAL', 'train.py', '', 'bob', "
               "'FINISHED', 1600000001000, 1600000009000, '', 'active', ?, 1, NULL)",
               (RUN, f"/srv/mlruns/1/{RUN}/artifacts"))
    db.executemany("INSERT INTO tags VALUES (?, ?, ?)",
                   [("mlflow.runName", "old-run", RUN), ("mlflow.user", "bob", RUN)])
    db.execute("INSERT INTO params VALUES ('lr', '0.01', ?)", (RUN,))
    db.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)", [
        ("loss", 0.9, 1600000002000, RUN, 0, 0),
        ("loss", 0.5, 1600000003000, RUN, 1, 0),
        ("loss", 0.0, 1600000004000, RUN, 2, 1)])  # NaN, as MLflow stores it
    db.execute("INSERT INTO latest_metrics VALUES ('loss', 0.0, 1600000004000, 2, 1, ?)", (RUN,))
    db.commit()
    db.close()


def test_mlflow_written_database_is_served_in_place(server_factory):
    tmp = tempfile.mkdtemp(prefix="cairn-api-f-")
    mlflow_database(os.path.join(tmp, "mlflow.db"))
    srv = server_factory(tmpdir=tmp)
    c = Client(srv.url)

    exp = c.ok_get("experiments/get", {"experiment_id": "1"})["experiment"]
    assert exp["name"] == "legacy" and exp["artifact_location"] == "/srv/mlruns/1"
    assert exp["tags"] == [{"key": "team", "value": "vision"}]
    run = c.ok_get("runs/get", {"run_id": RUN})["run"]
    assert run["info"]["run_name"] == "old-run" and run["info"]["user_id"] == "bob"
    assert run["info"]["status"] == "FINISHED" and run["info"]["end_time"] == 1600000009000
    assert run["data"]["metrics"] == [{"key": "loss", "value": "NaN",
                                       "timestamp": 1600000004000, "step": 2}]
    hist = c.ok_get("metrics/get-history", {"run_id": RUN, "metric_key": "loss"})["metrics"]
    assert [m["value"] for m in hist] == [0.9, 0.5, "NaN"]
    found = c.ok_post("runs/search", {"experiment_ids": ["1"],
                                      "filter": "params.lr = '0.01' and tags.`mlflow.user` = 'bob'"})
    assert [r["info"]["run_id"] for r in found["runs"]] == [RUN]

    # Cairn carries on where MLflow left off: next id, same encodings.
    assert c.ok_post("experiments/create", {"name": "new"})["experiment_id"] == "2"
    c.ok_post("runs/log-metric", {"run_id": RUN, "key": "loss", "value": 0.25,
                                  "timestamp": 1600000005000, "step": 3})
    run = c.ok_get("runs/get", {"run_id": RUN})["run"]
    assert run["data"]["metrics"][0]["value"] == 0.25


def test_unknown_revision_is_refused_with_a_clear_message():
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "old.db")
        mlflow_database(db, revision="0584bdc529eb")  # an older MLflow head
        with open(db, "rb") as f:
            before = f.read()
        p = subprocess.run([CAIRN_BIN, "server", "--port", "0", "--backend-store-uri",
                            f"sqlite:///{db}", "--artifacts-destination",
                            os.path.join(tmp, "a")],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode != 0
        assert "0584bdc529eb" in p.stderr and REVISION in p.stderr
        with open(db, "rb") as f:
            assert f.read() == before, "a refused database must not be modified"


def test_cairn_written_database_reads_like_mlflow(server_factory):
    srv = server_factory()
    c = Client(srv.url)
    exp = c.ok_post("experiments/create", {"name": "shared",
                                           "tags": [{"key": "k", "value": "v"}]})["experiment_id"]
    run = c.ok_post("runs/create", {"experiment_id": exp, "run_name": "r1",
                                    "start_time": 5})["run"]["info"]["run_id"]
    c.ok_post("runs/log-batch", {"run_id": run, "metrics": [
        {"key": "m", "value": "NaN", "timestamp": 1, "step": 0},
        {"key": "m", "value": "Infinity", "timestamp": 2, "step": 1},
        {"key": "m", "value": 3.5, "timestamp": 3, "step": 2}],
        "params": [{"key": "p", "value": "1"}]})
    c.ok_post("runs/update", {"run_id": run, "status": "FAILED", "end_time": 9})
    c.ok_post("runs/delete", {"run_id": run})
    srv.stop()

    db = sqlite3.connect(srv.db_path)
    assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(REVISION,)]
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute("SELECT name, lifecycle_stage, status, source_type, user_id, end_time, "
                      "deleted_time IS NOT NULL, experiment_id FROM runs WHERE run_uuid = ?",
                      (run,)).fetchone() == ("r1", "deleted", "FAILED", "UNKNOWN", "", 9, 1,
                                             int(exp))
    assert db.execute("SELECT step, value, is_nan FROM metrics WHERE run_uuid = ? ORDER BY step",
                      (run,)).fetchall() == [(0, 0.0, 1), (1, 1.7976931348623157e308, 0),
                                             (2, 3.5, 0)]
    assert db.execute("SELECT step, value, is_nan FROM latest_metrics WHERE run_uuid = ?",
                      (run,)).fetchall() == [(2, 3.5, 0)]
    assert db.execute("SELECT value FROM tags WHERE run_uuid = ? AND key = 'mlflow.runName'",
                      (run,)).fetchall() == [("r1",)]
    assert db.execute("SELECT key, value FROM experiment_tags WHERE experiment_id = ?",
                      (int(exp),)).fetchall() == [("k", "v")]
    db.close()
