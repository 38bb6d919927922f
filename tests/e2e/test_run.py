"""`cairn run DIR` end to end: a real `cairn server`, the real `cairn` binary,
and real backends (a local process group, and the single-node Slurm cluster
of conftest.py).

Each case runs on both backends: the wine-quality example finishes with its
params, metrics, model and output; a command that exits 3 ends FAILED with
exit code 3 and its output kept; SIGINT to `cairn run` cancels the job (run
KILLED, exit 130, nothing of the job left); a hostile parameter reaches the
job literally. A bad entry point or backend config fails with a clear message
and creates no run. The Slurm time limit case (TIMEOUT after 60-90 s) is
started first and checked last.
"""

import json
import os
import pickle
import re
import signal
import subprocess
import sys
import time
import urllib.error

import pytest

from conftest import CAIRN_BIN, REPO_ROOT

WINE = os.path.join(REPO_ROOT, "examples", "wine-quality")
# Liveness bounds, never assertions about speed: the machine may be busy.
RUN_BOUND = 300
WAIT_BOUND = 120
TIMEOUT_BOUND = 240
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


# ---- helpers ----

def job_env(server, jobs_dir, slurm=None):
    """The environment of `cairn run`: the server, a jobs directory, and the
    python3 running the tests (with numpy and scikit-learn) first on PATH."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MLFLOW_") and k not in ("PYTHONPATH", "CAIRN_LIBRARY")}
    env["MLFLOW_TRACKING_URI"] = server.url
    env["CAIRN_JOBS_DIR"] = jobs_dir
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "/usr/bin:/bin")
    if slurm is not None:
        env["SLURM_CONF"] = slurm.conf
    return env


def run_cmd(project, backend, *args, json_out=True):
    cmd = [CAIRN_BIN, "run", project, "--backend", backend.name, *args]
    return cmd + ["--json"] if json_out else cmd


def cairn_run(ctx, backend, project, *args, json_out=True):
    r = subprocess.run(run_cmd(project, backend, *args, json_out=json_out),
                       env=job_env(ctx.server, ctx.jobs, backend.slurm),
                       capture_output=True, text=True, timeout=RUN_BOUND)
    assert not any(m in r.stderr for m in SANITIZER_MARKERS), r.stderr
    return r


def summary(r):
    assert r.stdout.strip(), f"no JSON summary; stderr:\n{r.stderr}"
    return json.loads(r.stdout)


def get_run(server, run_id):
    return server.api("GET", f"runs/get?run_id={run_id}")["run"]


def kv(run, kind):
    return {x["key"]: x["value"] for x in run["data"].get(kind, [])}


def artifact(server, run, path):
    info = run["info"]
    return server.get(f"/api/2.0/mlflow-artifacts/artifacts/{info['experiment_id']}/"
                      f"{info['run_id']}/artifacts/{path}")


def all_runs(server):
    exps = server.api("POST", "experiments/search", {"max_results": 1000, "view_type": "ALL"})
    ids = [e["experiment_id"] for e in exps.get("experiments", [])]
    runs = server.api("POST", "runs/search", {"experiment_ids": ids, "max_results": 1000,
                                              "run_view_type": "ALL"})
    return runs.get("runs", [])


def make_project(tmp_path, mlproject):
    d = tmp_path / "project"
    d.mkdir()
    (d / "MLproject").write_text(mlproject)
    return str(d)


def wait_for_file(path, proc):
    deadline = time.monotonic() + WAIT_BOUND
    while not os.path.exists(path):
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"cairn run exited {proc.returncode} before {path} appeared:\n{out}{err}")
        assert time.monotonic() < deadline, f"{path} did not appear within {WAIT_BOUND} s"
        time.sleep(0.2)


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


class Ctx:
    def __init__(self, server, jobs):
        self.server = server
        self.jobs = jobs


class Backend:
    def __init__(self, name, slurm):
        self.name = name
        self.slurm = slurm


@pytest.fixture(scope="module")
def ctx(cairn_server, tmp_path_factory):
    return Ctx(cairn_server, str(tmp_path_factory.mktemp("jobs")))


@pytest.fixture(params=["local", "slurm"])
def backend(request, slurm):
    return Backend(request.param, slurm if request.param == "slurm" else None)


# ---- the time limit: started before every other test, checked last ----

@pytest.fixture(scope="module")
def timeout_run(ctx, slurm, tmp_path_factory):
    d = tmp_path_factory.mktemp("timeout")
    (d / "project").mkdir()
    (d / "project" / "MLproject").write_text(
        "entry_points:\n  main:\n    command: \"echo sleeping; sleep 300\"\n")
    cfg = d / "slurm.yaml"
    cfg.write_text("Backend: slurm\nResources:\n  Runtime: 1m\n")
    be = Backend("slurm", slurm)
    proc = subprocess.Popen(run_cmd(str(d / "project"), be, "--backend-config", str(cfg)),
                            env=job_env(ctx.server, ctx.jobs, slurm), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    yield proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=WAIT_BOUND)


@pytest.fixture(autouse=True)
def _start_timeout_run_first(timeout_run):
    """Every test depends on it, so it starts before the first test."""


# ---- the cases ----

def git_head():
    r = subprocess.run(["git", "-C", WINE, "rev-parse", "HEAD"], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def test_wine_example_finishes(ctx, backend):
    r = cairn_run(ctx, backend, WINE, "-P", "alpha=0.3", "--experiment-name", f"wine-{backend.name}",
                  "--run-name", "wine")
    assert r.returncode == 0, r.stderr
    s = summary(r)
    assert s["state"] == "COMPLETED" and s["run_status"] == "FINISHED"
    run = get_run(ctx.server, s["run_id"])
    assert run["info"]["status"] == "FINISHED"
    assert run["info"]["run_name"] == "wine"
    exp = ctx.server.api("GET", f"experiments/get-by-name?experiment_name=wine-{backend.name}")
    assert run["info"]["experiment_id"] == exp["experiment"]["experiment_id"]
    assert run["info"]["end_time"] > 0
    assert kv(run, "params") == {"alpha": "0.3", "l1_ratio": "0.1", "data_file": "wine-quality.csv"}
    metrics = kv(run, "metrics")
    assert set(metrics) == {"rmse", "mae", "r2"}
    assert 0 < metrics["mae"] <= metrics["rmse"] < 2
    tags = kv(run, "tags")
    assert tags["mlflow.source.type"] == "PROJECT"
    assert tags["mlflow.source.name"] == os.path.realpath(WINE)
    assert tags["mlflow.project.entryPoint"] == "main"
    assert tags["mlflow.project.backend"] == backend.name
    assert tags["mlflow.runName"] == "wine"
    assert tags["cairn.job.state"] == "COMPLETED"
    assert tags["cairn.job.exit_code"] == "0"
    assert "cairn.job.reason" not in tags
    assert tags["cairn.job.backend_id"] == s["backend_job_id"]
    if git_head():
        assert tags["mlflow.source.git.commit"] == git_head()
    model = pickle.loads(artifact(ctx.server, run, "model/model.pkl"))
    assert len(model.predict([[7.4, 0.7, 0, 1.9, 0.076, 11, 34, 0.9978, 3.51, 0.56, 9.4]])) == 1
    output = artifact(ctx.server, run, "cairn/output.log").decode()
    assert "rmse:" in output and "logged through" in output
    assert "rmse:" in r.stderr  # --json: the job's output goes to stderr


def test_exit_3_fails_with_its_output(ctx, backend, tmp_path):
    project = make_project(tmp_path, "entry_points:\n  main:\n    command: "
                                     "\"echo to-stdout; echo to-stderr >&2; exit 3\"\n")
    exp_id = ctx.server.api("POST", "experiments/create", {"name": f"exit3-{backend.name}"})["experiment_id"]
    r = cairn_run(ctx, backend, project, "--experiment-id", exp_id, json_out=False)
    assert r.returncode == 1, r.stderr
    assert "to-stdout\n" in r.stdout and "to-stderr\n" in r.stdout  # the output, as it appears
    run_id = re.search(r"cairn: run ([0-9a-f]{32}) FAILED", r.stderr).group(1)
    run = get_run(ctx.server, run_id)
    assert run["info"]["status"] == "FAILED"
    assert run["info"]["experiment_id"] == exp_id
    tags = kv(run, "tags")
    assert tags["cairn.job.exit_code"] == "3"
    assert tags["cairn.job.state"] == "FAILED"
    assert tags["cairn.job.reason"]
    output = artifact(ctx.server, run, "cairn/output.log").decode()
    assert "to-stdout\n" in output and "to-stderr\n" in output


def test_sigint_cancels_the_job(ctx, backend, tmp_path):
    project = make_project(tmp_path, "entry_points:\n  main:\n    command: "
                                     "\"ps -o pgid= $$ > pgid.tmp && mv pgid.tmp pgid; sleep 300\"\n")
    proc = subprocess.Popen(run_cmd(project, backend), env=job_env(ctx.server, ctx.jobs, backend.slurm),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_file(os.path.join(project, "pgid"), proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=RUN_BOUND)
    assert proc.returncode == 130, err
    s = json.loads(out)
    assert s["state"] == "CANCELLED" and s["run_status"] == "KILLED"
    run = get_run(ctx.server, s["run_id"])
    assert run["info"]["status"] == "KILLED"
    assert kv(run, "tags")["cairn.job.state"] == "CANCELLED"
    # Gone from squeue once slurmctld is done COMPLETING (the completion record
    # can come first); locally once init has reaped the group's last zombie.
    if backend.slurm is not None:
        gone = lambda: not backend.slurm.active(s["backend_job_id"])  # noqa: E731
    else:
        pgid = int(open(os.path.join(project, "pgid")).read())
        gone = lambda: not group_alive(pgid)  # noqa: E731
    deadline = time.monotonic() + WAIT_BOUND
    while not gone():
        assert time.monotonic() < deadline, f"job {s['backend_job_id']} still there"
        time.sleep(0.2)


def test_hostile_parameter_arrives_literally(ctx, backend, tmp_path):
    hostile = "'; rm -rf / #"
    project = make_project(tmp_path, "entry_points:\n  main:\n    parameters:\n      note: string\n"
                                     "    command: \"printf '%s' {note} > note.txt; env > env.txt\"\n")
    r = cairn_run(ctx, backend, project, "-P", f"note={hostile}")
    assert r.returncode == 0, r.stderr
    s = summary(r)
    assert open(os.path.join(project, "note.txt")).read() == hostile
    run = get_run(ctx.server, s["run_id"])
    assert kv(run, "params") == {"note": hostile}
    env = dict(line.split("=", 1) for line in open(os.path.join(project, "env.txt")).read().splitlines()
               if "=" in line)
    assert env["MLFLOW_RUN_ID"] == s["run_id"]
    assert env["MLFLOW_TRACKING_URI"] == ctx.server.url
    assert env["MLFLOW_EXPERIMENT_ID"] == run["info"]["experiment_id"]
    assert os.path.join(REPO_ROOT, "python") in env["PYTHONPATH"].split(":")
    if os.path.realpath(CAIRN_BIN) == os.path.join(REPO_ROOT, "build", "cairn"):
        assert env["CAIRN_LIBRARY"] == os.path.join(REPO_ROOT, "build", "libcairn.so")


def test_backend_flag_overrides_the_config(ctx, tmp_path):
    project = make_project(tmp_path, "entry_points:\n  main:\n    command: \"echo greeting=$GREETING\"\n")
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("Backend: slurm\nEnvironment: {GREETING: hello}\n")
    r = cairn_run(ctx, Backend("local", None), project, "--backend-config", str(cfg))
    assert r.returncode == 0, r.stderr
    s = summary(r)
    assert s["backend"] == "local" and ":" in s["backend_job_id"]  # PID:STARTTIME
    run = get_run(ctx.server, s["run_id"])
    assert kv(run, "tags")["mlflow.project.backend"] == "local"
    assert "greeting=hello" in artifact(ctx.server, run, "cairn/output.log").decode()


def test_unknown_entry_point_creates_no_run(ctx, tmp_path):
    be = Backend("local", None)
    before = len(all_runs(ctx.server))
    r = cairn_run(ctx, be, WINE, "-e", "nope", "--experiment-name", "never-made")
    assert r.returncode == 1
    assert "entry point 'nope' not found" in r.stderr, r.stderr
    r = cairn_run(ctx, be, WINE, "-P", "alpha=much")
    assert r.returncode == 1
    assert "alpha" in r.stderr, r.stderr
    assert len(all_runs(ctx.server)) == before
    with pytest.raises(urllib.error.HTTPError):
        ctx.server.api("GET", "experiments/get-by-name?experiment_name=never-made")


@pytest.mark.parametrize("text,message", [
    ('{"Backend": "slurm", "Resources": {"Runtme": "1h"}}', "did you mean 'Runtime'"),
    ('{"Backend": "slurm", ', "cfg.json"),
    ("Backend: [slurm\n", "cfg.yaml"),
])
def test_malformed_backend_config_creates_no_run(ctx, tmp_path, text, message):
    path = tmp_path / ("cfg.yaml" if text.startswith("Backend:") else "cfg.json")
    path.write_text(text)
    before = len(all_runs(ctx.server))
    r = cairn_run(ctx, Backend("local", None), WINE, "--backend-config", str(path))
    assert r.returncode == 1
    assert message in r.stderr, r.stderr
    assert len(all_runs(ctx.server)) == before


def test_slurm_time_limit_ends_failed_timeout(ctx, timeout_run):
    """Last: the job started first has been over its 1 minute limit."""
    out, err = timeout_run.communicate(timeout=TIMEOUT_BOUND)
    assert timeout_run.returncode == 1, err
    s = json.loads(out)
    assert s["state"] == "TIMEOUT" and s["run_status"] == "FAILED"
    run = get_run(ctx.server, s["run_id"])
    assert run["info"]["status"] == "FAILED"
    tags = kv(run, "tags")
    assert tags["cairn.job.state"] == "TIMEOUT"
    assert tags["cairn.job.reason"].startswith("TIMEOUT")
    assert "sleeping" in artifact(ctx.server, run, "cairn/output.log").decode()
