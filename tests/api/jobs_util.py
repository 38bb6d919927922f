"""Helpers for the job-service tests (tests/api/test_jobs.py on the local
backend, tests/e2e/test_jobs_slurm.py on Slurm): the API suite's Server
class (loaded from tests/api/conftest.py, so both suites start servers the
same way), projects written on the fly, archives, and waiting for a job to
reach a state."""

import importlib.util
import io
import json
import os
import random
import tarfile
import time
import zipfile

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

_spec = importlib.util.spec_from_file_location("cairn_api_conftest",
                                               os.path.join(HERE, "conftest.py"))
api_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(api_conftest)
Server = api_conftest.Server
CAIRN_BIN = api_conftest.CAIRN_BIN

# Liveness bounds for waiting, never assertions about speed.
JOB_TIMEOUT = 240
TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL",
            "PREEMPTED", "BOOT_FAIL", "DEADLINE", "LOST"}

JOBS = "/api/2.0/cairn/jobs/"
MLFLOW = "/api/2.0/mlflow/"


def write_project(root, files):
    """Create a project directory from {relative path: text}."""
    os.makedirs(root, exist_ok=True)
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    return root


def tar_gz(files):
    """A tar.gz (bytes) of {name: text or bytes}."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in files.items():
            data = data.encode() if isinstance(data, str) else data
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zip_bytes(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def mlproject(command, params=None, entry="main", name="t"):
    """MLproject text with one entry point."""
    lines = [f"name: {name}", "entry_points:", f"  {entry}:"]
    if params:
        lines.append("    parameters:")
        for k, v in params.items():
            lines.append(f"      {k}: {v}")
    lines.append(f"    command: {json.dumps(command)}")
    return "\n".join(lines) + "\n"


def submit(url, project_bytes, name="project.tar.gz", config=None, **fields):
    """POST jobs/submit; returns the response."""
    files = {"project": (name, project_bytes, "application/octet-stream")}
    if config is not None:
        files["backend_config"] = ("config.json", json.dumps(config), "application/json")
    data = []
    for k, v in fields.items():
        for item in (v if isinstance(v, list) else [v]):
            data.append((k, item))
    return requests.post(url + JOBS + "submit", files=files, data=data, timeout=120)


def get_job(url, job_id):
    r = requests.get(url + JOBS + "get", params={"job_id": job_id}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()["job"]


def wait_job(url, job_id, states, timeout=JOB_TIMEOUT):
    """Poll jobs/get until the job's state is in states; returns the job."""
    deadline = time.monotonic() + timeout
    while True:
        job = get_job(url, job_id)
        if job["state"] in states:
            return job
        if job["state"] in TERMINAL:
            raise AssertionError(f"job ended {job['state']} ({job['reason']}), wanted {states}")
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} is {job['state']} after {timeout} s, not {states}")
        time.sleep(0.2)


def wait_end(url, job_id, timeout=JOB_TIMEOUT):
    return wait_job(url, job_id, TERMINAL, timeout)


def get_run(url, run_id):
    r = requests.get(url + MLFLOW + "runs/get", params={"run_id": run_id}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()["run"]


def run_tags(run):
    return {t["key"]: t["value"] for t in run["data"].get("tags", [])}


def run_params(run):
    return {p["key"]: p["value"] for p in run["data"].get("params", [])}


def run_metrics(run):
    return {m["key"]: m["value"] for m in run["data"].get("metrics", [])}


def artifact(url, run, path):
    """The bytes of a run's artifact through the mlflow-artifacts proxy."""
    uri = run["info"]["artifact_uri"]
    assert uri.startswith("mlflow-artifacts:/"), uri
    base = uri[len("mlflow-artifacts:/"):].lstrip("/")
    r = requests.get(f"{url}/api/2.0/mlflow-artifacts/artifacts/{base}/{path}", timeout=60)
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    return r.content


def count_runs(url):
    r = requests.post(url + MLFLOW + "runs/search",
                      json={"experiment_ids": ["0"], "max_results": 1000}, timeout=60)
    assert r.status_code == 200, r.text
    return len(r.json().get("runs", []))


# ---- the job life cycle, the same on every backend (test_job_service.py
# runs them on local, tests/e2e/test_jobs_slurm.py on Slurm) ----

def config(backend, **extra):
    return dict({"Backend": backend}, **extra)


def case_finishes(srv, backend):
    """A project finishes with its params, tags and output (also through jobs/logs)."""
    proj = tar_gz({"MLproject": mlproject(
        "echo alpha={alpha} rounds={rounds}; echo to-stderr >&2",
        {"alpha": "{type: float, default: 0.5}", "rounds": "{type: int, default: 3}"})})
    r = submit(srv.url, proj, config=config(backend), param=["alpha=0.25"],
               experiment_name=f"e2e-{backend}", run_name="first")
    assert r.status_code == 200, r.text
    job = r.json()["job"]
    assert job["state"] in ("PENDING", "RUNNING") and job["run_id"] and job["backend_job_id"]
    run = get_run(srv.url, job["run_id"])
    assert run["info"]["status"] in ("SCHEDULED", "RUNNING", "FINISHED")
    job = wait_end(srv.url, job["job_id"])
    assert (job["state"], job["run_status"], job["exit_code"]) == ("COMPLETED", "FINISHED", 0)
    run = get_run(srv.url, job["run_id"])
    assert run["info"]["status"] == "FINISHED" and run["info"]["end_time"] > 0
    assert run["info"]["run_name"] == "first"
    assert run_params(run) == {"alpha": "0.25", "rounds": "3"}
    tags = run_tags(run)
    assert tags["mlflow.source.type"] == "PROJECT"
    assert tags["mlflow.project.entryPoint"] == "main"
    assert tags["mlflow.project.backend"] == backend
    assert tags["cairn.job.id"] == job["job_id"]
    out = artifact(srv.url, run, "cairn/output.log").decode()
    assert "alpha=0.25 rounds=3" in out and "to-stderr" in out
    # The job's logs through the API are the same bytes.
    r = requests.get(srv.url + JOBS + "logs", params={"job_id": job["job_id"]}, timeout=60)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    assert r.text == out


def case_exit_3(srv, backend):
    """Exit 3 ends FAILED with cairn.job.exit_code 3 and its output stored."""
    proj = tar_gz({"MLproject": mlproject("echo about to fail; exit 3")})
    r = submit(srv.url, proj, config=config(backend))
    assert r.status_code == 200, r.text
    job = wait_end(srv.url, r.json()["job"]["job_id"])
    assert (job["state"], job["run_status"], job["exit_code"]) == ("FAILED", "FAILED", 3)
    run = get_run(srv.url, job["run_id"])
    assert run["info"]["status"] == "FAILED"
    assert run_tags(run)["cairn.job.exit_code"] == "3"
    assert "about to fail" in artifact(srv.url, run, "cairn/output.log").decode()


def case_cancel(srv, backend, gone):
    """Cancel ends CANCELLED, the run KILLED; gone(job, nap) checks the job
    left its backend (a job runs `sleep NAP`, a command line no other test
    runs); cancelling again answers the job as it is."""
    nap = random.randint(600, 999)
    proj = tar_gz({"MLproject": mlproject(f"echo running; sleep {nap} & wait")})
    r = submit(srv.url, proj, config=config(backend))
    assert r.status_code == 200, r.text
    job = wait_job(srv.url, r.json()["job"]["job_id"], {"RUNNING"})
    r = requests.post(srv.url + JOBS + "cancel", json={"job_id": job["job_id"]}, timeout=60)
    assert r.status_code == 200, r.text
    job = wait_end(srv.url, job["job_id"])
    assert (job["state"], job["run_status"]) == ("CANCELLED", "KILLED")
    assert get_run(srv.url, job["run_id"])["info"]["status"] == "KILLED"
    gone(job, nap)
    # Cancelling again answers the job as it is.
    r = requests.post(srv.url + JOBS + "cancel", json={"job_id": job["job_id"]}, timeout=60)
    assert r.status_code == 200 and r.json()["job"]["state"] == "CANCELLED"


def case_restart(backend, tmp_path):
    """SIGKILL the server while a job runs, start another on the same data:
    the job keeps running and the new server follows it to the end."""
    s = Server(str(tmp_path)).start()
    try:
        proj = tar_gz({"MLproject": mlproject("echo before; sleep 6; echo after")})
        r = submit(s.url, proj, config=config(backend))
        assert r.status_code == 200, r.text
        job = wait_job(s.url, r.json()["job"]["job_id"], {"RUNNING"})
        s.kill()
        s.start()
        job = wait_end(s.url, job["job_id"])
        assert (job["state"], job["run_status"]) == ("COMPLETED", "FINISHED")
        run = get_run(s.url, job["run_id"])
        assert run["info"]["status"] == "FINISHED"
        out = artifact(s.url, run, "cairn/output.log").decode()
        assert "before" in out and "after" in out
    finally:
        problems = s.stop()
    assert not problems, "\n".join(problems)


def case_hostile_parameter(srv, backend, tmp_path):
    """`'; rm -rf CANARY #` reaches the job as one literal value."""
    canary = tmp_path / "canary"
    canary.write_text("still here")
    hostile = f"'; rm -rf {canary} #"
    proj = tar_gz({"MLproject": mlproject("printf '%s' {p} > got.txt; cat got.txt",
                                          {"p": "{type: string}"})})
    r = submit(srv.url, proj, config=config(backend), parameters=json.dumps({"p": hostile}))
    assert r.status_code == 200, r.text
    job = wait_end(srv.url, r.json()["job"]["job_id"])
    assert job["state"] == "COMPLETED", job
    run = get_run(srv.url, job["run_id"])
    assert run_params(run)["p"] == hostile
    assert artifact(srv.url, run, "cairn/output.log").decode() == hostile
    assert canary.read_text() == "still here"
