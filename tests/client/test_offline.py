"""The offline spool: with the server stopped every call (CLI, Python) is
journaled; `cairn sync` delivers each item exactly once when the server is
back, keeps what it cannot send, and survives a replay of the whole journal
(progress lost) without creating anything twice."""
import json
import os
import shutil
import textwrap

from conftest import cli, cli_json, run_python


def journal_lines(spool):
    path = os.path.join(spool, "journal.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.endswith("\n")]


def runs_of(server, exp):
    return server.api("POST", "runs/search", {"experiment_ids": [exp], "run_view_type": "ALL"}).get("runs", [])


def offline_env(server, tmp_path):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "CAIRN_"))}
    e["MLFLOW_TRACKING_URI"] = server.url
    e["CAIRN_SPOOL_DIR"] = str(tmp_path / "spool")
    return e


def test_server_down_then_sync_exactly_once(fresh_server, tmp_path):
    srv = fresh_server
    env = offline_env(srv, tmp_path)
    spool = env["CAIRN_SPOOL_DIR"]
    exp = cli(["experiments", "create", "offline"], env, check=0).stdout.strip()
    srv.stop()

    # A shell script's calls while the server is down.
    p = cli(["runs", "create", "-x", exp, "--name", "from-shell"], env, check=0)
    run = p.stdout.strip()
    assert run.startswith("local-")
    assert p.stderr == f"cairn: cannot reach {srv.url}; the new run spooled to {spool} (replay with 'cairn sync')\n"
    env_run = dict(env, MLFLOW_RUN_ID=run)
    p = cli(["log", "param", "alpha", "0.5"], env_run, check=0)
    assert "the value spooled to" in p.stderr
    for step in range(5):
        cli(["log", "metric", "loss", str(1.0 / (step + 1)), "--step", str(step)], env_run, check=0)
    cli(["log", "tag", "where", "compute-node"], env_run, check=0)
    (tmp_path / "out.txt").write_text("result")
    cli(["artifacts", "upload", str(tmp_path / "out.txt")], env_run, check=0)
    cli(["runs", "end", "--status", "FINISHED"], env_run, check=0)

    # The Python binding, same spool.
    code = textwrap.dedent(f"""
        import cairn
        cairn.init_tracking()
        with cairn.start_run(experiment_id={exp!r}, run_name="from-python") as run:
            cairn.log_param("lr", 0.01)
            for i in range(1500):
                cairn.log_metric("acc", i / 1500, step=i)
            cairn.set_tag("node", "n1")
        assert cairn.is_offline()
        print(run.info.run_id)
    """)
    p = run_python(code, env)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().startswith("local-")

    records = journal_lines(spool)
    ops = [r["op"] for r in records]
    assert ops.count("run_create") == 2 and ops.count("run_update") == 2 and ops.count("artifact") == 1
    assert len({r["id"] for r in records}) == len(records)

    # Server still down: sync keeps everything and says why.
    p = cli(["sync", spool], env)
    assert p.returncode == 1 and f"cannot reach {srv.url}" in p.stderr
    assert len(journal_lines(spool)) == len(records)

    srv.start()
    saved = str(tmp_path / "spool-copy")
    shutil.copytree(spool, saved)
    out = cli_json(["sync", spool], env)
    assert out["sent"] == len(records) and out["kept"] == 0 and out["runs_created"] == 2
    check_delivered(srv, exp)

    # Again: nothing is sent twice.
    out = cli_json(["sync", spool], env)
    assert out["sent"] == 0 and out["kept"] == 0
    check_delivered(srv, exp)

    # Replay the original journal with all progress lost (a sync killed right
    # after sending): runs are found by their local-id tag, nothing doubles.
    out = cli_json(["sync", saved], env)
    assert out["kept"] == 0 and out["runs_created"] == 2
    check_delivered(srv, exp)


def check_delivered(srv, exp):
    runs = {r["info"]["run_name"]: r for r in runs_of(srv, exp)}
    assert sorted(runs) == ["from-python", "from-shell"]
    shell, pyrun = runs["from-shell"], runs["from-python"]
    assert shell["info"]["status"] == "FINISHED" and pyrun["info"]["status"] == "FINISHED"
    assert {"key": "alpha", "value": "0.5"} in shell["data"]["params"]
    assert {"key": "where", "value": "compute-node"} in shell["data"]["tags"]
    assert {"key": "lr", "value": "0.01"} in pyrun["data"]["params"]
    sid, pid = shell["info"]["run_id"], pyrun["info"]["run_id"]
    loss = srv.api("GET", f"metrics/get-history?run_id={sid}&metric_key=loss")["metrics"]
    assert sorted(m["step"] for m in loss) == [0, 1, 2, 3, 4]
    acc = srv.api("GET", f"metrics/get-history?run_id={pid}&metric_key=acc")["metrics"]
    assert len(acc) == 1500 and len({m["step"] for m in acc}) == 1500
    files = srv.api("GET", f"artifacts/list?run_id={sid}")["files"]
    assert [f["path"] for f in files] == ["out.txt"]


def test_forced_offline_and_kept_records(server, tmp_path):
    env = offline_env(server, tmp_path)
    env["CAIRN_OFFLINE"] = "1"
    spool = env["CAIRN_SPOOL_DIR"]
    exp = server.api("POST", "experiments/create", {"name": "forced-offline"})["experiment_id"]
    run = server.api("POST", "runs/create", {"experiment_id": exp})["run"]["info"]["run_id"]
    p = cli(["log", "param", "k", "v", "--run-id", run], env, check=0)
    assert p.stderr.startswith("cairn: offline (CAIRN_OFFLINE); the value spooled to")
    cli(["log", "param", "k", "v", "--run-id", "0" * 32], env, check=0)   # a run the server lacks
    assert server.api("GET", f"runs/get?run_id={run}")["run"]["data"].get("params") is None
    p = cli(["experiments", "list"], env)
    assert p.returncode == 1 and "offline" in p.stderr
    # A torn last line (a process killed mid-write) is not a record.
    with open(os.path.join(spool, "journal.jsonl"), "a") as f:
        f.write('{"id":"torn","op":"log_')
    del env["CAIRN_OFFLINE"]
    p = cli(["sync", spool, "--json"], env)
    assert p.returncode == 1 and "RESOURCE_DOES_NOT_EXIST" in p.stderr and "kept" in p.stderr
    out = json.loads(p.stdout)
    assert out["sent"] == 1 and out["kept"] == 1
    assert server.api("GET", f"runs/get?run_id={run}")["run"]["data"]["params"] == [{"key": "k", "value": "v"}]
    p = cli(["sync", spool, "--json"], env)
    out = json.loads(p.stdout)
    assert p.returncode == 1 and out["sent"] == 0 and out["skipped"] == 1 and out["kept"] == 1


def test_sync_missing_spool_dir(server, tmp_path):
    env = offline_env(server, tmp_path)
    p = cli(["sync", str(tmp_path / "none")], env)
    assert p.returncode == 1 and "no spool directory" in p.stderr


def test_server_lost_mid_run(fresh_server, tmp_path):
    """A run created online whose server goes away: its logs are retried,
    then spooled under the server's run id, and delivered by sync."""
    srv = fresh_server
    env = offline_env(srv, tmp_path)
    spool = env["CAIRN_SPOOL_DIR"]
    exp = cli(["experiments", "create", "mid-run"], env, check=0).stdout.strip()
    run = cli(["runs", "create", "-x", exp], env, check=0).stdout.strip()
    env = dict(env, MLFLOW_RUN_ID=run)
    cli(["log", "metric", "loss", "1.0", "--step", "0"], env, check=0)
    srv.stop()
    p = cli(["log", "metric", "loss", "0.5", "--step", "1"], env, check=0)
    assert p.stderr == f"cairn: cannot reach {srv.url}; the value spooled to {spool} (replay with 'cairn sync')\n"
    cli(["runs", "end"], env, check=0)
    assert [r["op"] for r in journal_lines(spool)] == ["log_batch", "run_update"]
    assert journal_lines(spool)[0]["req"]["run_id"] == run
    srv.start()
    out = cli_json(["sync", spool], env)
    assert out["sent"] == 2 and out["runs_created"] == 0
    loss = srv.api("GET", f"metrics/get-history?run_id={run}&metric_key=loss")["metrics"]
    assert sorted((m["step"], m["value"]) for m in loss) == [(0, 1.0), (1, 0.5)]
    assert srv.api("GET", f"runs/get?run_id={run}")["run"]["info"]["status"] == "FINISHED"
