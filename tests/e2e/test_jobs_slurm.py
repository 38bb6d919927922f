"""The job service end to end on the real single-node Slurm cluster:
projects submitted over HTTP to a real `cairn server`, run by sbatch,
followed through squeue/sacct to the end, with their runs, outputs and
states checked through the tracking API: finished, exit 3, cancelled (and
gone from Slurm), over the time limit, a server killed mid-job, shell
metacharacters in a parameter. The same on the local backend, and the bad
input cases, are tests/api/test_jobs.py.

The Slurm time-limit job takes 60-90 s (Slurm's smallest limit is a minute
and it checks limits every 30 s): it is submitted first by a module fixture
and checked by the last test."""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api"))
from jobs_util import (CAIRN_BIN, REPO_ROOT, Server, artifact, case_cancel,  # noqa: E402
                       case_exit_3, case_finishes, case_hostile_parameter, case_restart, config,
                       get_run, mlproject, run_metrics, run_params, run_tags, submit, tar_gz,
                       wait_end)

BACKENDS = ["slurm"]


@pytest.fixture(scope="module")
def srv(slurm):
    """One server for the module; its jobs see the test cluster (SLURM_CONF),
    and Debian's python3 first in PATH (the one with python3-sklearn, as the
    suites themselves use), whatever interpreter the caller's PATH prefers."""
    os.environ["SLURM_CONF"] = slurm.conf
    os.environ["PATH"] = "/usr/bin:/bin:" + os.environ.get("PATH", "")
    os.environ["CAIRN_JOBS_POLL_MS"] = "200"
    tmp = tempfile.mkdtemp(prefix="cairn-jobs-")
    s = Server(tmp).start()
    yield s
    problems = s.stop()
    assert not problems, "\n".join(problems)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def timeout_job(srv):
    """A Slurm job over its 1-minute limit, submitted before everything else."""
    proj = tar_gz({"MLproject": mlproject("echo started; sleep 300")})
    r = submit(srv.url, proj, config={"Backend": "slurm", "Resources": {"Runtime": "1m"}})
    assert r.status_code == 200, r.text
    return r.json()["job"]


def test_timeout_job_is_submitted_first(timeout_job):
    assert timeout_job["backend"] == "slurm"
    assert timeout_job["state"] in ("PENDING", "RUNNING")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_project_finishes_with_its_params_and_output(srv, backend):
    case_finishes(srv, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_exit_3_ends_failed_with_its_output_stored(srv, backend):
    case_exit_3(srv, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cancel_ends_killed_and_the_job_is_gone(srv, backend, slurm):
    case_cancel(srv, backend, lambda job, nap: gone_from_slurm(slurm, job))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_server_restart_loses_no_job(backend, tmp_path):
    case_restart(backend, tmp_path)


@pytest.mark.parametrize("backend", BACKENDS)
def test_shell_metacharacters_in_a_parameter_arrive_literally(srv, backend, tmp_path):
    case_hostile_parameter(srv, backend, tmp_path)


def gone_from_slurm(slurm, job):
    assert not slurm.active(job["backend_job_id"])
    assert slurm.wait_final(job["backend_job_id"])[0].startswith("CANCELLED")


# ---- last: the time-limit job submitted first ----

def test_zz_a_job_over_its_time_limit_ends_failed_with_reason_timeout(srv, timeout_job):
    job = wait_end(srv.url, timeout_job["job_id"], timeout=300)
    assert (job["state"], job["run_status"]) == ("TIMEOUT", "FAILED")
    run = get_run(srv.url, job["run_id"])
    assert run["info"]["status"] == "FAILED"
    assert run_tags(run)["cairn.job.reason"] == "TIMEOUT"
    assert "started" in artifact(srv.url, run, "cairn/output.log").decode()


@pytest.mark.parametrize("backend", ["slurm", "local"])
def test_readme_wine_quality_through_cairn_submit(srv, backend):
    """The README's walkthrough: `cairn submit examples/wine-quality --backend
    slurm ... --follow`, then `cairn runs get`: the run FINISHED with the
    example's params, metrics and pickled model; the same on the local
    backend (here rather than in tests/api because the job imports the
    Python binding, which cannot load the ASan build's libcairn)."""
    env = dict(os.environ, MLFLOW_TRACKING_URI=srv.url)
    r = subprocess.run([CAIRN_BIN, "submit", os.path.join(REPO_ROOT, "examples", "wine-quality"),
                        "--backend", backend, "-P", "alpha=0.3", "-P", "l1_ratio=0.2",
                        "--experiment-name", "wine", "--run-name", "first-slurm", "--follow"],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "rmse" in r.stdout
    run_id = re.search(r"\(run ([0-9a-f]{32})\)", r.stderr).group(1)
    shown = subprocess.run([CAIRN_BIN, "runs", "get", run_id], capture_output=True, text=True,
                           env=env, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"status:\s+FINISHED", shown.stdout), shown.stdout
    run = get_run(srv.url, run_id)
    assert run_params(run)["alpha"] == "0.3" and run_params(run)["l1_ratio"] == "0.2"
    metrics = run_metrics(run)
    assert set(metrics) >= {"rmse", "mae", "r2"} and 0 < metrics["rmse"] < 2
    tags = run_tags(run)
    assert tags["mlflow.project.backend"] == backend and tags["mlflow.runName"] == "first-slurm"
    assert len(artifact(srv.url, run, "model/model.pkl")) > 100


def test_a_slurm_job_whose_submission_was_cut_short_is_found_by_name(tmp_path):
    """A server killed after sbatch but before it recorded the Slurm job id:
    the restarted server finds the job by its name (cairn-<job_id>) and its
    run by the cairn.job.id tag, and follows it to the end."""
    s = Server(str(tmp_path)).start()
    try:
        r = submit(s.url, tar_gz({"MLproject": mlproject("sleep 2; echo found")}),
                   config=config("slurm"))
        assert r.status_code == 200, r.text
        job = r.json()["job"]
        s.kill()
        db = sqlite3.connect(s.db_path)
        db.execute("UPDATE cairn_jobs SET run_id = '', backend_job_id = '' WHERE job_id = ?",
                   (job["job_id"],))
        db.commit()
        db.close()
        s.start()
        got = wait_end(s.url, job["job_id"])
        assert (got["state"], got["run_status"]) == ("COMPLETED", "FINISHED"), got
        assert (got["run_id"], got["backend_job_id"]) == (job["run_id"], job["backend_job_id"])
        run = get_run(s.url, job["run_id"])
        assert run["info"]["status"] == "FINISHED"
        assert "found" in artifact(s.url, run, "cairn/output.log").decode()
    finally:
        problems = s.stop()
    assert not problems, "\n".join(problems)
