"""Helpers for the job-service tests (tests/api/test_jobs.py on the local
backend, tests/e2e/test_jobs_slurm.py on Slurm): the API suite's Server
class (loaded from tests/api/conftest.py, so both suites start servers the
same way), projects written on the fly, archives, and waiting for a job to
reach a state."""

import importlib.util
import io
import json
import os
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
