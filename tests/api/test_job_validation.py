"""MLflow's input rules hold for a job as for any other writer: every
submission API (jobs/submit, mantik's compute-backend/submit, ml-task-
manager's new_task) refuses an experiment name, a run name, a tag or a
parameter that MLflow's own endpoints refuse, with exactly their status,
error code and message, and leaves no experiment, run, job or job
directory behind."""

import json
import os
import shutil
import tempfile

import pytest
import requests

from jobs_util import JOBS, MLFLOW, Server, mlproject, submit, tar_gz, zip_bytes


@pytest.fixture(scope="module")
def srv():
    tmp = tempfile.mkdtemp(prefix="cairn-jobval-")
    s = Server(tmp).start()
    yield s
    problems = s.stop()
    assert not problems, "\n".join(problems)
    shutil.rmtree(tmp, ignore_errors=True)


def snapshot(srv):
    """What a refused submission must not change: experiments, runs, jobs,
    job directories."""
    r = requests.post(srv.url + MLFLOW + "experiments/search",
                      json={"max_results": 1000, "view_type": "ALL"}, timeout=60)
    assert r.status_code == 200, r.text
    exps = sorted(e["experiment_id"] for e in r.json().get("experiments", []))
    r = requests.post(srv.url + MLFLOW + "runs/search",
                      json={"experiment_ids": exps, "max_results": 1000, "run_view_type": "ALL"},
                      timeout=60)
    assert r.status_code == 200, r.text
    runs = sorted(x["info"]["run_id"] for x in r.json().get("runs", []))
    r = requests.get(srv.url + JOBS + "list", params={"max_results": 1000}, timeout=60)
    assert r.status_code == 200, r.text
    jobs = sorted(j["job_id"] for j in r.json().get("jobs", []))
    jobs_dir = os.path.join(srv.tmpdir, "cairn-jobs")
    dirs = sorted(os.listdir(jobs_dir)) if os.path.isdir(jobs_dir) else []
    return exps, runs, jobs, dirs


def mlflow_answer(srv, endpoint, body):
    """What MLflow's own endpoint answers: (status, error_code, message)."""
    r = requests.post(srv.url + MLFLOW + endpoint, json=body, timeout=60)
    return r.status_code, r.json().get("error_code"), r.json().get("message")


def answer(resp):
    return resp.status_code, resp.json().get("error_code"), resp.json().get("message")


@pytest.fixture(scope="module")
def run_id(srv):
    """A run to ask log-parameter and set-tag what they refuse."""
    r = requests.post(srv.url + MLFLOW + "runs/create", json={"experiment_id": "0"}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()["run"]["info"]["run_id"]


def refused_like(srv, resp, expected, before):
    assert expected[0] == 400 and expected[1] == "INVALID_PARAMETER_VALUE", expected
    assert answer(resp) == expected
    assert snapshot(srv) == before


LONG_EXPERIMENT = "e" * 600
LONG_PARAM = "v" * 6001
LONG_TAG = "t" * 5001
PROJECT = tar_gz({"MLproject": mlproject("echo {p}", {"p": "{type: string, default: x}"})})


# ---- jobs/submit ----

def test_submit_experiment_name_over_500_is_refused_as_experiments_create(srv, run_id):
    expected = mlflow_answer(srv, "experiments/create", {"name": LONG_EXPERIMENT})
    before = snapshot(srv)
    refused_like(srv, submit(srv.url, PROJECT, experiment_name=LONG_EXPERIMENT), expected,
                 before)


def test_submit_param_over_6000_is_refused_as_log_parameter(srv, run_id):
    expected = mlflow_answer(srv, "runs/log-parameter",
                             {"run_id": run_id, "key": "p", "value": LONG_PARAM})
    before = snapshot(srv)
    refused_like(srv, submit(srv.url, PROJECT, param=[f"p={LONG_PARAM}"],
                             experiment_name="made-only-when-accepted"), expected, before)
    r = submit(srv.url, PROJECT, parameters=json.dumps({"p": LONG_PARAM}))
    refused_like(srv, r, expected, before)


def test_submit_a_default_over_6000_in_the_mlproject_is_refused(srv, run_id):
    expected = mlflow_answer(srv, "runs/log-parameter",
                             {"run_id": run_id, "key": "p", "value": LONG_PARAM})
    proj = tar_gz({"MLproject": mlproject("echo {p}",
                                          {"p": "{type: string, default: %s}" % LONG_PARAM})})
    before = snapshot(srv)
    refused_like(srv, submit(srv.url, proj), expected, before)


@pytest.mark.parametrize("field,tag", [
    ("run_name", "mlflow.runName"),
    ("source_name", "mlflow.source.name"),
    ("user", "mlflow.user"),
    ("git_commit", "mlflow.source.git.commit"),
])
def test_submit_tag_over_5000_is_refused_as_set_tag(srv, run_id, field, tag):
    expected = mlflow_answer(srv, "runs/set-tag", {"run_id": run_id, "key": tag,
                                                   "value": LONG_TAG})
    before = snapshot(srv)
    refused_like(srv, submit(srv.url, PROJECT, **{field: LONG_TAG}), expected, before)


def test_submit_param_with_a_bad_name_is_refused(srv):
    """The MLproject parser's rule for names is narrower than MLflow's (a name
    becomes a command-line option), so its message is the parser's."""
    before = snapshot(srv)
    r = submit(srv.url, PROJECT, param=["../up=1"])
    assert (r.status_code, r.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), r.text
    assert "../up" in r.json()["message"]
    assert snapshot(srv) == before


def test_submit_within_the_limits_is_accepted(srv):
    """At the limits: a param value of 6000, a run name of 250 (MLflow's
    runs.name column); the experiment name at 256, the width of MLflow's
    experiments.name column, which PostgreSQL enforces below the 500 the
    rules allow (experiments/create answers the same there)."""
    before = snapshot(srv)
    name = "n" * 256
    r = submit(srv.url, PROJECT, experiment_name=name, param=["p=" + "v" * 6000],
               run_name="r" * 250)
    assert r.status_code == 200, r.text
    assert snapshot(srv) != before


# ---- mantik: /compute-backend/submit/{experiment_id} ----

def mantik(srv, **data):
    proj = zip_bytes({"MLproject": mlproject("echo {p}", {"p": "{type: string, default: x}"}),
                      "compute-backend-config.json": json.dumps({"Backend": "local"})})
    return requests.post(srv.url + "/compute-backend/submit/0",
                         files={"mlproject_zip": ("p.zip", proj)}, data=data, timeout=60)


def test_mantik_param_over_6000_is_refused_as_log_parameter(srv, run_id):
    expected = mlflow_answer(srv, "runs/log-parameter",
                             {"run_id": run_id, "key": "p", "value": LONG_PARAM})
    before = snapshot(srv)
    refused_like(srv, mantik(srv, mlflow_parameters=json.dumps({"p": LONG_PARAM})), expected,
                 before)


def test_mantik_run_name_over_5000_is_refused_as_set_tag(srv, run_id):
    expected = mlflow_answer(srv, "runs/set-tag", {"run_id": run_id, "key": "mlflow.runName",
                                                   "value": LONG_TAG})
    before = snapshot(srv)
    refused_like(srv, mantik(srv, run_name=LONG_TAG), expected, before)


# ---- ml-task-manager: /new_task ----

def new_task(srv, cfg):
    cfg = dict({"command": "train.py", "runner_location": "local"}, **cfg)
    files = [("files", ("config.json", json.dumps(cfg), "application/json")),
             ("files", ("train.py", "print('hi')\n", "text/x-python"))]
    return requests.post(srv.url + "/new_task", files=files, timeout=60)


def test_new_task_experiment_name_over_500_is_refused_as_experiments_create(srv):
    expected = mlflow_answer(srv, "experiments/create", {"name": LONG_EXPERIMENT})
    before = snapshot(srv)
    refused_like(srv, new_task(srv, {"experiment_name": LONG_EXPERIMENT}), expected, before)


def test_new_task_param_over_6000_is_refused_as_log_parameter(srv, run_id):
    expected = mlflow_answer(srv, "runs/log-parameter",
                             {"run_id": run_id, "key": "epochs", "value": LONG_PARAM})
    before = snapshot(srv)
    refused_like(srv, new_task(srv, {"experiment_name": "tasks-refused",
                                     "model_params": {"epochs": LONG_PARAM}}), expected, before)
