"""The Python binding (python/cairn, ctypes over build/libcairn.so) against
the real server: the fluent calls, the context manager, errors."""
import json
import os
import textwrap

from conftest import run_python


def py(code, env):
    p = run_python(textwrap.dedent(code), env)
    assert p.returncode == 0, f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return json.loads(p.stdout.strip().splitlines()[-1]) if p.stdout.strip() else None


def test_fluent_run(server, env, tmp_path):
    (tmp_path / "model.txt").write_text("weights")
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "loss.csv").write_text("1,2")
    out = py(f"""
        import json, cairn
        cairn.init_tracking()
        exp = cairn.set_experiment("py-fluent")
        assert cairn.active_run() is None
        with cairn.start_run(run_name="ridge") as run:
            assert cairn.active_run() is run
            cairn.log_param("alpha", 0.5)
            cairn.log_params({{"l1": 1, "solver": "saga"}})
            for step, v in enumerate([0.9, 0.8, 0.71]):
                cairn.log_metric("rmse", v, step=step)
            cairn.log_metrics({{"mae": 0.3, "r2": 0.8}}, step=2)
            cairn.set_tag("team", "hpc")
            cairn.set_tags({{"stage": "dev"}})
            cairn.log_artifact({str(tmp_path / "model.txt")!r})
            cairn.log_artifact({str(tmp_path / "model.txt")!r}, artifact_path="models")
            cairn.log_artifacts({str(tmp_path / "plots")!r}, artifact_path="plots")
        assert cairn.active_run() is None
        r = cairn.get_run(run.info.run_id)
        hist = cairn.get_metric_history(run.info.run_id, "rmse")
        print(json.dumps({{"exp": exp, "run": r, "hist": [m["value"] for m in hist],
                          "status": run.info.status}}))
    """, env)
    run = out["run"]
    assert run["info"]["status"] == "FINISHED" and out["status"] == "FINISHED"
    assert run["info"]["experiment_id"] == out["exp"]
    assert run["info"]["run_name"] == "ridge"
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert params == {"alpha": "0.5", "l1": "1", "solver": "saga"}
    metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
    assert metrics == {"rmse": 0.71, "mae": 0.3, "r2": 0.8}
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert tags["team"] == "hpc" and tags["stage"] == "dev"
    assert out["hist"] == [0.9, 0.8, 0.71]
    files = server.api("GET", f"artifacts/list?run_id={run['info']['run_id']}")["files"]
    assert sorted(f["path"] for f in files) == ["model.txt", "models", "plots"]
    files = server.api("GET", f"artifacts/list?run_id={run['info']['run_id']}&path=models")["files"]
    assert [f["path"] for f in files] == ["models/model.txt"]


def test_exception_marks_run_failed_and_errors_raise(server, env):
    out = py("""
        import json, cairn
        cairn.init_tracking()
        cairn.set_experiment("py-errors")
        run_id = None
        try:
            with cairn.start_run() as run:
                run_id = run.info.run_id
                cairn.log_metric("x", 1)
                raise ValueError("boom")
        except ValueError:
            pass
        status = cairn.get_run(run_id)["info"]["status"]
        try:
            cairn.get_run("0" * 32)
            err = None
        except cairn.CairnError as e:
            err = [e.code, e.error_code, e.http_status]
        try:
            cairn.log_metric("x", "not a number")
            bad = None
        except ValueError as e:
            bad = "ValueError"
        cairn.end_run()
        print(json.dumps({"status": status, "err": err, "bad": bad}))
    """, env)
    assert out["status"] == "FAILED"
    assert out["err"] == ["ENOTFOUND", "RESOURCE_DOES_NOT_EXIST", 404]
    assert out["bad"] == "ValueError"


def test_resume_run_from_env_and_search(server, env):
    first = py("""
        import json, cairn
        cairn.init_tracking()
        cairn.set_experiment("py-resume")
        run = cairn.start_run(run_name="a")
        cairn.end_run()
        print(json.dumps(run.info.run_id))
    """, env)
    env2 = dict(env, MLFLOW_RUN_ID=first)
    out = py("""
        import json, cairn
        cairn.init_tracking()
        cairn.set_experiment("py-resume")
        with cairn.start_run() as run:
            cairn.log_metric("later", 3.5)
        runs = cairn.search_runs(filter_string="metrics.later > 3")
        print(json.dumps({"run": run.info.run_id, "found": [r["info"]["run_id"] for r in runs]}))
    """, env2)
    assert out["run"] == first and out["found"] == [first]


def test_unfinished_run_is_ended_at_exit(server, env):
    run_id = py("""
        import json, cairn
        cairn.init_tracking()
        cairn.set_experiment("py-atexit")
        run = cairn.start_run()
        for i in range(2000):
            cairn.log_metric("m", i, step=i)
        print(json.dumps(run.info.run_id))
    """, env)
    hist = server.api("GET", f"metrics/get-history?run_id={run_id}&metric_key=m")["metrics"]
    assert len(hist) == 2000
    assert server.api("GET", f"runs/get?run_id={run_id}")["run"]["info"]["status"] == "FINISHED"


def test_unreachable_server_raises_with_address(env):
    out = py("""
        import json, cairn
        cairn.init_tracking("http://127.0.0.1:9")
        try:
            cairn.get_run("abc")
        except cairn.CairnError as e:
            print(json.dumps([e.code, str(e)]))
    """, env)
    assert out[0] == "EUNREACHABLE" and out[1].startswith("cannot reach http://127.0.0.1:9")


def test_package_installs_from_repo(tmp_path, env, server):
    """pip installs the package from the repository (offline, no dependencies)."""
    import subprocess
    import sys
    import conftest
    target = tmp_path / "site"
    p = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                        "--no-index", "--target", str(target), os.path.join(conftest.REPO, "python")],
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0 and "No module named pip" in p.stderr:
        import pytest
        pytest.skip("pip is not installed")
    assert p.returncode == 0, p.stderr
    e = dict(env, CAIRN_LIBRARY=conftest.CAIRN_LIBRARY, PYTHONPATH=str(target))
    q = subprocess.run([sys.executable, "-c", "import cairn; cairn.init_tracking(); "
                        "print(cairn.__file__); print(cairn.set_experiment('installed'))"],
                       env=e, capture_output=True, text=True, timeout=120)
    assert q.returncode == 0, q.stderr
    assert q.stdout.startswith(str(target))
