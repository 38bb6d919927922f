"""The job backends (src/jobs/backend.h) against the real single-node Slurm
cluster and real local processes, through build/tests/backend_driver, which
calls the same functions the server does.

The TIMEOUT job (Runtime 1 minute) takes 60-90 s: it is submitted first, by a
module-scoped fixture every test depends on, and checked by the last test.
"""

import os
import re
import subprocess
import time
import uuid

import pytest

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CAIRN_BIN = os.environ.get("CAIRN_BIN", os.path.join(REPO_ROOT, "build", "cairn"))
DRIVER = os.path.join(os.path.dirname(CAIRN_BIN), "tests", "backend_driver")

FINAL_TIMEOUT = 60
TIMEOUT_BOUND = 180
HOSTILE = "'; rm -rf / # $(touch pwned) `touch pwned2` \"q\" \\ %s"


class Driver:
    def __init__(self, env):
        if not os.path.exists(DRIVER):
            pytest.fail(f"{DRIVER} not found (make units builds it)", pytrace=False)
        self.env = env

    def run(self, *args, check=True):
        r = subprocess.run([DRIVER, *args], env=self.env, capture_output=True, text=True,
                           timeout=120)
        if check and r.returncode != 0:
            raise AssertionError(f"backend_driver {' '.join(args)} exited {r.returncode}: "
                                 f"{r.stdout}{r.stderr}")
        return r

    def submit(self, workdir, command, config=None, env=(), job_id=None, check=True):
        args = ["submit", "--workdir", workdir, "--job-id", job_id or uuid.uuid4().hex]
        if config is not None:
            path = os.path.join(workdir, "config.json")
            with open(path, "w") as f:
                f.write(config)
            args += ["--config", path]
        for kv in env:
            args += ["--env", kv]
        r = self.run(*args, command, check=check)
        return r.stdout.strip() if r.returncode == 0 else r

    def poll(self, kind, jobid, workdir):
        state, code, reason = self.run("poll", kind, jobid, workdir).stdout.rstrip("\n").split("\t")
        return state, int(code), reason

    def wait(self, kind, jobid, workdir, until, timeout=FINAL_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            st = self.poll(kind, jobid, workdir)
            if until(st):
                return st
            if time.monotonic() > deadline:
                raise AssertionError(f"job {jobid} is {st} after {timeout} s")
            time.sleep(0.2)

    def wait_final(self, kind, jobid, workdir, timeout=FINAL_TIMEOUT):
        return self.wait(kind, jobid, workdir, lambda st: st[0] not in ("PENDING", "RUNNING"),
                         timeout)


@pytest.fixture(scope="module")
def driver(slurm):
    return Driver(slurm.env)


def slurm_config(**resources):
    import json
    return json.dumps({"Backend": "slurm", "Resources": resources})


def output(workdir):
    try:
        with open(os.path.join(workdir, "output.log")) as f:
            return f.read()
    except FileNotFoundError:
        return ""


@pytest.fixture(scope="module")
def time_limit_job(slurm, driver, tmp_path_factory):
    d = str(tmp_path_factory.mktemp("backend-timeout"))
    jobid = driver.submit(d, "echo started; sleep 300", slurm_config(Runtime="1m"))
    return jobid, d, time.monotonic()


@pytest.fixture(autouse=True)
def _time_limit_job_first(time_limit_job):
    """Every test depends on it, so it is submitted before the first one."""


def test_slurm_submit_runs_to_completed(slurm, driver, jobdir):
    job_id = uuid.uuid4().hex
    jobid = driver.submit(jobdir, 'echo "hello $CAIRN_E2E_X from $(pwd)"; sleep 2',
                          slurm_config(Runtime="5m", CPUsPerNode=2), env=["CAIRN_E2E_X=spec"],
                          job_id=job_id)
    assert jobid.isdigit()
    assert driver.poll("slurm", jobid, jobdir)[0] in ("PENDING", "RUNNING")
    assert driver.wait("slurm", jobid, jobdir, lambda st: st[0] != "PENDING")[0] in (
        "RUNNING", "COMPLETED")
    info = slurm.scontrol_job(jobid)
    assert info["JobName"] == f"cairn-{job_id}"
    assert info["TimeLimit"] == "00:05:00"
    assert info["NumCPUs"] == "2"
    assert info["WorkDir"] == os.path.join(jobdir, "project")
    assert driver.wait_final("slurm", jobid, jobdir) == ("COMPLETED", 0, "")
    assert output(jobdir) == f"hello spec from {jobdir}/project\n"
    with open(os.path.join(jobdir, "job.sbatch")) as f:
        assert f"#SBATCH --job-name=cairn-{job_id}\n" in f.read()


def test_slurm_exit_3_is_failed_with_the_output(slurm, driver, jobdir):
    jobid = driver.submit(jobdir, "echo out; echo err >&2; echo again; exit 3",
                          '{"Backend": "slurm", "PostRunCommands": ["echo post"]}')
    assert driver.wait_final("slurm", jobid, jobdir) == ("FAILED", 3, "exit code 3")
    assert output(jobdir) == "out\nerr\nagain\npost\n"


def test_slurm_hostile_values_arrive_literally(slurm, driver, jobdir):
    import json
    cfg = json.dumps({"Backend": "slurm", "Environment": {"CFG": HOSTILE},
                      "PreRunCommands": ["export PRE=set-by-pre"]})
    quoted = "'" + HOSTILE.replace("'", "'\"'\"'") + "'"
    jobid = driver.submit(jobdir, f"printf '[%s]\\n' \"$CFG\" \"$SPEC\" \"$PRE\" {quoted}", cfg,
                          env=[f"SPEC={HOSTILE}"])
    assert driver.wait_final("slurm", jobid, jobdir) == ("COMPLETED", 0, "")
    assert output(jobdir) == f"[{HOSTILE}]\n[{HOSTILE}]\n[set-by-pre]\n[{HOSTILE}]\n"
    project = os.path.join(jobdir, "project")
    assert not os.path.exists(os.path.join(project, "pwned"))
    assert not os.path.exists(os.path.join(project, "pwned2"))


def test_slurm_cancel(slurm, driver, jobdir):
    jobid = driver.submit(jobdir, "echo running; sleep 300", slurm_config())
    driver.wait("slurm", jobid, jobdir, lambda st: st[0] == "RUNNING")
    deadline = time.monotonic() + 30
    while "running" not in output(jobdir) and time.monotonic() < deadline:
        time.sleep(0.1)
    driver.run("cancel", "slurm", jobid, jobdir)
    state, _, reason = driver.wait_final("slurm", jobid, jobdir)
    assert (state, reason) == ("CANCELLED", "CANCELLED")
    # The completion record can come while slurmctld still says COMPLETING.
    deadline = time.monotonic() + FINAL_TIMEOUT
    while slurm.active(jobid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not slurm.active(jobid)
    # Cancelling a finished job is no error.
    driver.run("cancel", "slurm", jobid, jobdir)
    assert output(jobdir).startswith("running\n")


def test_slurm_bad_partition_is_a_clear_error(slurm, driver, jobdir):
    r = driver.submit(jobdir, "true", slurm_config(Queue="no-such-partition"), check=False)
    assert r.returncode == 1
    assert r.stderr.startswith("INVALID_PARAMETER_VALUE: sbatch "), r.stderr
    assert "invalid partition specified: no-such-partition" in r.stderr, r.stderr


def test_slurm_accounting_records(slurm, driver, jobdir):
    """The path taken once slurmctld has forgotten a job: sacct (here -c,
    the jobcomp file, as the cluster has no slurmdbd)."""
    jobid = driver.submit(jobdir, "exit 5", slurm_config())
    assert driver.wait_final("slurm", jobid, jobdir) == ("FAILED", 5, "exit code 5")
    deadline = time.monotonic() + FINAL_TIMEOUT
    while (r := driver.run("sacct", jobid).stdout) == "NONE\n" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert r == "FAILED\t5\texit code 5\n"
    assert driver.run("sacct", "999999").stdout == "NONE\n"
    state, code, reason = driver.poll("slurm", "999999", jobdir)
    assert (state, code) == ("LOST", -1)
    assert "999999" in reason


def test_local_job_outlives_the_driver(driver, jobdir):
    """Each driver call is a new process: submit exits, poll and cancel find
    the job from its id and directory alone."""
    jobid = driver.submit(jobdir, "echo one; sleep 1; echo two >&2; exit 4",
                          '{"PostRunCommands": ["echo post"]}')
    assert re.fullmatch(r"\d+:\d+", jobid)
    assert driver.poll("local", jobid, jobdir)[0] == "RUNNING"
    assert driver.wait_final("local", jobid, jobdir) == ("FAILED", 4, "exit code 4")
    assert output(jobdir) == "one\ntwo\npost\n"


def test_local_cancel(driver, jobdir):
    jobid = driver.submit(jobdir, "echo started; sleep 300")
    driver.wait("local", jobid, jobdir, lambda st: "started" in output(jobdir))
    driver.run("cancel", "local", jobid, jobdir)
    assert driver.wait_final("local", jobid, jobdir) == ("CANCELLED", 143, "CANCELLED")
    driver.run("cancel", "local", jobid, jobdir)


def test_zz_runtime_ends_timeout(slurm, driver, time_limit_job):
    """Last on purpose: the job has been running since the module started."""
    jobid, d, submitted = time_limit_job
    assert slurm.scontrol_job(jobid)["TimeLimit"] == "00:01:00"
    left = TIMEOUT_BOUND - (time.monotonic() - submitted)
    state, _, reason = driver.wait_final("slurm", jobid, d, timeout=max(left, 1))
    assert (state, reason) == ("TIMEOUT", "TIMEOUT")
    text = output(d)
    assert text.startswith("started\n") and "DUE TO TIME LIMIT" in text, text
