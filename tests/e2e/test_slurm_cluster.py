"""The single-node test cluster does what the Slurm backend (issue 5) relies on.

Black-box facts about Slurm 22.05 as scripts/slurm.sh configures it, checked
through its client commands only: sbatch, squeue, scontrol, scancel and
`sacct -c -P` (the jobcomp file: there is no slurmdbd).

Slurm's smallest time limit is one minute and slurmctld looks for jobs over
their limit every 30 s, so a TIMEOUT takes 60 to 90 s. That job is submitted
once, first (the `time_limit_job` fixture), and checked by the last test,
while the others run.
"""

import os
import pwd
import re
import time

import pytest

from conftest import UNPRIVILEGED_USER, unprivileged_uid

# Bound for the time-limit job: its 1 minute, slurmctld's 30 s check period,
# KillWait (2 s) and room for a busy machine.
TIMEOUT_BOUND = 180


@pytest.fixture(scope="session")
def time_limit_job(slurm, tmp_path_factory):
    """A job over its 1-minute limit, submitted at the start of the session.
    It traps SIGTERM to show that Slurm warns before it kills (KillWait)."""
    d = str(tmp_path_factory.mktemp("timeout"))
    out = os.path.join(d, "out.txt")
    jobid = slurm.sbatch(
        "#!/bin/sh\n"
        "trap 'echo got SIGTERM; exit 0' TERM\n"
        "echo started\n"
        "sleep 600 &\n"
        "wait\n",
        "--time=1", "-o", out, cwd=d)
    return jobid, out, time.monotonic()


@pytest.fixture(autouse=True)
def _start_time_limit_job_first(time_limit_job):
    """Every test depends on it, so it is submitted before the first test."""


def stepd_line(jobid, why):
    """The line slurmstepd writes to a job's stderr when it is ended, with its
    time replaced by TIME."""
    host = os.uname().nodename.split(".")[0]
    return f"slurmstepd-{host}: error: *** JOB {jobid} ON {host} CANCELLED AT TIME{why} ***"


def read(path):
    """The file's text, times as in "CANCELLED AT 2026-11-22T10:17:25" replaced by TIME."""
    with open(path) as f:
        return re.sub(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\b", "TIME", f.read())


def so_far(path):
    """What a running job has written yet: slurmstepd creates the output file
    a moment after the job turns RUNNING, so a missing file is empty."""
    try:
        return read(path)
    except FileNotFoundError:
        return ""


def test_node_named_after_the_host_is_idle(slurm):
    host = os.uname().nodename.split(".")[0]
    r = slurm.run("sinfo", "-h", "-N", "-o", "%N %P %T")
    nodes = [line.split() for line in r.stdout.splitlines()]
    assert [n[0] for n in nodes] == [host], r.stdout
    assert nodes[0][1] == "debug*"
    assert nodes[0][2] in ("idle", "mixed", "allocated"), r.stdout


def test_sbatch_parsable_prints_the_job_id(slurm, jobdir):
    a = slurm.sbatch("#!/bin/sh\ntrue\n", cwd=jobdir)
    b = slurm.sbatch("#!/bin/sh\ntrue\n", cwd=jobdir)
    assert int(b) > int(a)
    assert slurm.wait_final(a) == ("COMPLETED", "0:0")
    assert slurm.wait_final(b) == ("COMPLETED", "0:0")


def test_squeue_shows_pending_then_running(slurm, jobdir):
    jobid = slurm.sbatch("#!/bin/sh\nsleep 60\n", cwd=jobdir)
    # Right after submission the job is known to squeue, pending or already running.
    assert slurm.squeue_state(jobid) in ("PENDING", "RUNNING")
    assert slurm.active(jobid)
    slurm.wait_state(jobid, ("RUNNING",))
    info = slurm.scontrol_job(jobid)
    assert info["JobState"] == "RUNNING"
    assert info["NodeList"] == os.uname().nodename.split(".")[0]
    slurm.run("scancel", jobid)
    assert slurm.wait_final(jobid)[0] == "CANCELLED"


def test_held_job_is_pending_with_a_reason(slurm, jobdir):
    jobid = slurm.sbatch("#!/bin/sh\ntrue\n", "--hold", cwd=jobdir)
    r = slurm.run("squeue", "-h", "-j", jobid, "-o", "%T %r")
    assert r.stdout.split() == ["PENDING", "JobHeldUser"]
    slurm.run("scancel", jobid)
    # A job cancelled before it ran gets a completion record too.
    assert slurm.wait_final(jobid)[0] == "CANCELLED"
    assert not slurm.active(jobid)


def test_exit_3_is_failed_3_0_with_stdout_and_stderr_in_the_output_file(slurm, jobdir):
    out = os.path.join(jobdir, "out-%j.txt")
    jobid = slurm.sbatch(
        "#!/bin/sh\necho to stdout\necho to stderr >&2\necho again to stdout\nexit 3\n",
        "-o", out, cwd=jobdir)
    assert slurm.wait_final(jobid) == ("FAILED", "3:0")
    # Finished jobs stay in slurmctld (MinJobAge=600) with the same state,
    # once COMPLETING is over (that can end after the completion record).
    slurm.wait_state(jobid, ("FAILED",))
    info = slurm.scontrol_job(jobid)
    assert info["JobState"] == "FAILED"
    assert info["ExitCode"] == "3:0"
    assert slurm.squeue_state(jobid) == "FAILED"
    assert not slurm.active(jobid)
    # -o without -e: one file, both streams, in order; %j is the job id.
    assert read(out.replace("%j", jobid)) == "to stdout\nto stderr\nagain to stdout\n"


def test_exit_0_is_completed(slurm, jobdir):
    out = os.path.join(jobdir, "out.txt")
    jobid = slurm.sbatch("#!/bin/sh\necho done\n", "-o", out, cwd=jobdir)
    assert slurm.wait_final(jobid) == ("COMPLETED", "0:0")
    assert read(out) == "done\n"


def test_scancel_of_a_running_job_is_cancelled(slurm, jobdir):
    out = os.path.join(jobdir, "out.txt")
    jobid = slurm.sbatch(
        "#!/bin/sh\ntrap 'echo got SIGTERM; exit 1' TERM\necho running\nsleep 600 &\nwait\n",
        "-o", out, cwd=jobdir)
    slurm.wait_state(jobid, ("RUNNING",))
    deadline = time.monotonic() + 30
    while "running" not in so_far(out) and time.monotonic() < deadline:
        time.sleep(0.1)
    slurm.run("scancel", jobid)
    state, _ = slurm.wait_final(jobid)
    assert state == "CANCELLED"
    # The completion record can come before slurmctld's COMPLETING is over.
    slurm.wait_state(jobid, ("CANCELLED",))
    # The state is what tells a cancel: ExitCode is whatever the batch shell
    # ended with (here its trap's exit 1; a shell killed by the signal shows
    # 0:15 in scontrol, 0:0 in the jobcomp file).
    info = slurm.scontrol_job(jobid)
    assert info["JobState"] == "CANCELLED"
    assert info["ExitCode"] == "1:0"
    assert not slurm.active(jobid)
    # slurmstepd writes why into the job's stderr, and the batch shell gets
    # SIGTERM before SIGKILL (KillWait gives it time to react).
    lines = read(out).splitlines()
    assert lines[0] == "running" and "got SIGTERM" in lines, lines
    assert stepd_line(jobid, "") in lines, lines


def test_export_passes_variables_to_the_job(slurm, jobdir):
    out = os.path.join(jobdir, "out.txt")
    awkward = "spaces and, commas; 'quotes' \"double\" $dollar"
    env = dict(slurm.env, CAIRN_E2E_INHERITED=awkward)
    script = ("#!/bin/sh\n"
              "printf 'A=%s\\n' \"$CAIRN_E2E_A\"\n"
              "printf 'INHERITED=%s\\n' \"$CAIRN_E2E_INHERITED\"\n"
              "printf 'JOBID=%s\\n' \"$SLURM_JOB_ID\"\n")
    # ALL plus a named value: the caller's whole environment (any value, as
    # is) and the extra variable.
    jobid = slurm.sbatch(script, "--export=ALL,CAIRN_E2E_A=plain-value", "-o", out,
                         cwd=jobdir, env=env)
    assert slurm.wait_final(jobid) == ("COMPLETED", "0:0")
    assert read(out) == f"A=plain-value\nINHERITED={awkward}\nJOBID={jobid}\n"
    # NONE plus a named value: only that variable from the caller.
    jobid = slurm.sbatch(script, "--export=NONE,CAIRN_E2E_A=only-this", "-o", out,
                         cwd=jobdir, env=env)
    assert slurm.wait_final(jobid) == ("COMPLETED", "0:0")
    assert read(out) == f"A=only-this\nINHERITED=\nJOBID={jobid}\n"


def test_job_array(slurm, jobdir):
    pattern = os.path.join(jobdir, "out-%A_%a.txt")
    jobid = slurm.sbatch(
        "#!/bin/sh\necho \"task $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_JOB_ID\"\n"
        "[ \"$SLURM_ARRAY_TASK_ID\" != 2 ] || exit 5\n",
        "--array=0-3%2", "-o", pattern, cwd=jobdir)
    # While tasks are waiting, squeue folds them into one line like 7_[2-3%2].
    deadline = time.monotonic() + 60
    while True:
        recs = [r for r in slurm.jobcomp_records() if r.get("ArrayJobId") == jobid]
        if len(recs) == 4 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    # In the jobcomp file each task is a job of its own (its own JobId) with
    # ArrayJobId and ArrayTaskId; `sacct -c` shows the plain JobIds.
    by_task = {int(r["ArrayTaskId"]): r for r in recs}
    assert sorted(by_task) == [0, 1, 2, 3], recs
    for task, rec in by_task.items():
        expect = ("FAILED", "5:0") if task == 2 else ("COMPLETED", "0:0")
        assert (rec["JobState"], rec["ExitCode"]) == expect, rec
        assert slurm.completion()[rec["JobId"]] == expect
        assert read(pattern.replace("%A", jobid).replace("%a", str(task))) == \
            f"task {task} of {jobid}\n"


def test_unprivileged_user_submits_and_cancels_its_own_jobs(slurm, jobdir):
    user = UNPRIVILEGED_USER
    out = os.path.join(jobdir, "out.txt")
    jobid = slurm.sbatch("#!/bin/sh\nid -un\npwd\n", "-o", out, user=user, cwd=jobdir)
    assert slurm.wait_final(jobid) == ("COMPLETED", "0:0")
    assert read(out) == f"{user}\n{jobdir}\n"
    assert os.stat(out).st_uid == unprivileged_uid()
    assert slurm.scontrol_job(jobid)["UserId"].startswith(f"{user}(")
    # The user's own job: squeue and scancel work for it.
    jobid = slurm.sbatch("#!/bin/sh\nsleep 600\n", user=user, cwd=jobdir)
    r = slurm.run("squeue", "-h", "-j", jobid, "-o", "%u", user=user)
    assert r.stdout.strip() == user
    slurm.run("scancel", jobid, user=user)
    assert slurm.wait_final(jobid)[0] == "CANCELLED"
    # Someone else's job: scancel refuses.
    other = slurm.sbatch("#!/bin/sh\nsleep 600\n", cwd=jobdir)
    r = slurm.run("scancel", other, user=user, check=False)
    assert r.returncode != 0
    assert "Access/permission denied" in r.stderr
    assert slurm.active(other)
    slurm.run("scancel", other)
    assert slurm.wait_final(other)[0] == "CANCELLED"


def test_sbatch_rejects_an_unknown_partition(slurm, jobdir):
    with pytest.raises(AssertionError, match="invalid partition"):
        slurm.sbatch("#!/bin/sh\ntrue\n", "-p", "no-such-partition", cwd=jobdir)


def test_sbatch_wait_returns_the_exit_code(slurm, jobdir):
    path = os.path.join(jobdir, "job.sh")
    with open(path, "w") as f:
        f.write("#!/bin/sh\nexit 4\n")
    r = slurm.run("sbatch", "--wait", "--parsable", "-o", "/dev/null", path, cwd=jobdir,
                  check=False)
    assert r.returncode == 4
    assert slurm.wait_final(r.stdout.strip().split(";")[0]) == ("FAILED", "4:0")


def test_zz_time_limit_ends_timeout(slurm, time_limit_job):
    """Last on purpose: the job has been running since the session started."""
    jobid, out, submitted = time_limit_job
    assert slurm.scontrol_job(jobid)["TimeLimit"] == "00:01:00"
    left = TIMEOUT_BOUND - (time.monotonic() - submitted)
    state, code = slurm.wait_final(jobid, timeout=max(left, 1))
    assert state == "TIMEOUT"
    slurm.wait_state(jobid, ("TIMEOUT",))
    lines = read(out).splitlines()
    assert lines[0] == "started" and "got SIGTERM" in lines, lines
    assert stepd_line(jobid, " DUE TO TIME LIMIT") in lines, lines
    assert code in ("0:0", "0:15"), code
