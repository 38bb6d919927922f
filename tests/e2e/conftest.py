"""Shared fixtures for the end-to-end suites that need a real Slurm cluster.

The cluster is the single-node one scripts/slurm.sh starts (munged, slurmctld
and slurmd on 127.0.0.1, all state in /tmp/cairn-slurm.XXXXXX). Run with:

    /usr/bin/python3 -m pytest tests/e2e

Environment:
    SLURM_CONF        the cluster's slurm.conf (from `eval "$(scripts/slurm.sh start)"`).
                      Unset: the suite starts a cluster itself with scripts/slurm.sh
                      and stops it at the end (needs root).
    CAIRN_SLURM_DIR   that cluster's directory (logs in ctld/ and d/, the jobcomp file
                      in ctld/jobcomp.txt).

Nothing here is skipped: if no cluster can be reached or started, every test fails
with the reason.
"""

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SLURM_SH = os.path.join(REPO_ROOT, "scripts", "slurm.sh")

# The unprivileged user the suite submits as (exists on every Debian system).
UNPRIVILEGED_USER = "nobody"

# Liveness bounds, not assertions about speed: the machine may be busy.
CMD_TIMEOUT = 60
FINAL_TIMEOUT = 60


class Slurm:
    """Runs Slurm's client commands against one cluster."""

    def __init__(self, conf, cluster_dir):
        self.conf = conf
        self.dir = cluster_dir
        self.env = dict(os.environ, SLURM_CONF=conf)
        self.jobcomp = self._conf_value("JobCompLoc")

    def _conf_value(self, key):
        with open(self.conf) as f:
            for line in f:
                k, sep, v = line.strip().partition("=")
                if sep and k == key:
                    return v
        return None

    def run(self, *args, user=None, cwd=None, env=None, check=True):
        """Run a Slurm command (as user, through runuser, when given)."""
        cmd = list(args)
        if user is not None:
            cmd = ["runuser", "-u", user, "--"] + cmd
        r = subprocess.run(cmd, cwd=cwd, env=env or self.env, capture_output=True,
                           text=True, timeout=CMD_TIMEOUT)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout}{r.stderr}")
        return r

    def sbatch(self, script, *opts, user=None, cwd=None, env=None):
        """Submit a batch script (text) with `sbatch --parsable`; returns the job id."""
        fd, path = tempfile.mkstemp(prefix="job-", suffix=".sh", dir=cwd)
        with os.fdopen(fd, "w") as f:
            f.write(script)
        os.chmod(path, 0o755)
        r = self.run("sbatch", "--parsable", *opts, path, user=user, cwd=cwd, env=env)
        out = r.stdout.strip()
        # "Outputs only the job id number and the cluster name if present"
        jobid = out.split(";")[0]
        assert jobid.isdigit(), f"sbatch --parsable printed {out!r}"
        return jobid

    def squeue_state(self, jobid):
        """The job's state as squeue shows it (all states), or '' if unknown."""
        r = self.run("squeue", "-h", "-t", "all", "-j", jobid, "-o", "%T", check=False)
        return r.stdout.strip()

    def active(self, jobid):
        """True while plain squeue (pending, running, completing ...) lists the job."""
        r = self.run("squeue", "-h", "-o", "%i")
        return jobid in r.stdout.split()

    def wait_state(self, jobid, states, timeout=FINAL_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            st = self.squeue_state(jobid)
            if st in states:
                return st
            if time.monotonic() > deadline:
                raise AssertionError(f"job {jobid} is {st!r} after {timeout} s, not one of {states}")
            time.sleep(0.2)

    def completion(self):
        """{jobid: (State, ExitCode)} from the jobcomp file through `sacct -c -P`."""
        r = self.run("sacct", "-c", "-P", "-n", "-o", "JobID,State,ExitCode")
        recs = {}
        for line in r.stdout.splitlines():
            parts = line.split("|")
            if len(parts) == 3:
                recs[parts[0]] = (parts[1], parts[2])
        return recs

    def wait_final(self, jobid, timeout=FINAL_TIMEOUT):
        """Wait until the job's completion record exists; returns (State, ExitCode)."""
        deadline = time.monotonic() + timeout
        while True:
            rec = self.completion().get(jobid)
            if rec:
                return rec
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"job {jobid} has no completion record after {timeout} s "
                    f"(squeue: {self.squeue_state(jobid)!r})")
            time.sleep(0.2)

    def jobcomp_records(self):
        """The raw jobcomp file: one dict per finished job (Key=Value fields)."""
        recs = []
        with open(self.jobcomp) as f:
            for line in f:
                if not line.endswith("\n"):
                    break  # being written
                rec = {}
                for field in line.split():
                    k, sep, v = field.partition("=")
                    if sep:
                        rec[k] = v
                if rec:
                    recs.append(rec)
        return recs

    def scontrol_job(self, jobid):
        """`scontrol show job -o` as a dict (finished jobs stay for MinJobAge)."""
        r = self.run("scontrol", "-o", "show", "job", jobid)
        return dict(f.partition("=")[::2] for f in r.stdout.split() if "=" in f)

    def log_tails(self):
        out = []
        for rel in ("ctld/slurmctld.log", "d/slurmd.log"):
            p = os.path.join(self.dir or "", rel)
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    out.append(f"--- {p}\n" + "".join(f.readlines()[-15:]))
        return "\n".join(out)


@pytest.fixture(scope="session")
def slurm():
    """The cluster: the one in SLURM_CONF, or one started here for the session."""
    started = None
    conf = os.environ.get("SLURM_CONF")
    cluster_dir = os.environ.get("CAIRN_SLURM_DIR")
    if not conf:
        r = subprocess.run(["bash", SLURM_SH, "start"], capture_output=True, text=True,
                           timeout=120)
        if r.returncode != 0:
            pytest.fail(f"SLURM_CONF is not set and scripts/slurm.sh start failed:\n{r.stderr}",
                        pytrace=False)
        for word in r.stdout.split():
            k, _, v = word.partition("=")
            if k == "SLURM_CONF":
                conf = v
            elif k == "CAIRN_SLURM_DIR":
                cluster_dir = started = v
    if not os.path.exists(conf):
        pytest.fail(f"SLURM_CONF={conf} does not exist", pytrace=False)
    s = Slurm(conf, cluster_dir)
    r = s.run("sinfo", "-h", "-o", "%n %T", check=False)
    if r.returncode != 0 or "idle" not in r.stdout and "alloc" not in r.stdout \
            and "mix" not in r.stdout:
        pytest.fail(f"the Slurm cluster is not usable: sinfo exited {r.returncode}: "
                    f"{r.stdout}{r.stderr}\n{s.log_tails()}", pytrace=False)
    try:
        yield s
    finally:
        if started:
            subprocess.run(["bash", SLURM_SH, "stop", started], timeout=120)


@pytest.fixture
def jobdir(slurm):
    """A working directory for one test's jobs that the unprivileged user can
    write to too; jobs a test leaves active are cancelled at its end."""
    d = tempfile.mkdtemp(prefix="cairn-e2e-")
    os.chmod(d, 0o777)
    before = set(slurm.run("squeue", "-h", "-o", "%i").stdout.split())
    try:
        yield d
    finally:
        left = set(slurm.run("squeue", "-h", "-o", "%i").stdout.split()) - before
        if left:
            slurm.run("scancel", *sorted(left), check=False)
        shutil.rmtree(d, ignore_errors=True)


def unprivileged_uid():
    return pwd.getpwnam(UNPRIVILEGED_USER).pw_uid


# ---- a `cairn server` for the suites that track jobs (test_run.py, ...) ----
# The API suite's Server class (tests/api/conftest.py, through jobs_util):
# the same start, and the same checks at the end (clean exit on SIGTERM, no
# sanitizer report), plus two small request helpers.

sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "api"))
from jobs_util import CAIRN_BIN, Server  # noqa: E402


class CairnServer(Server):
    """One `cairn server` on 127.0.0.1 and a free port, over SQLite (or
    CAIRN_TEST_PG) and a local artifact folder in its own directory."""

    def get(self, path):
        """GET a path of the server; the body as bytes (HTTPError on 4xx/5xx)."""
        with urllib.request.urlopen(self.url + path, timeout=CMD_TIMEOUT) as r:
            return r.read()

    def api(self, method, endpoint, body=None):
        """A call of MLflow's REST API (/api/2.0/mlflow/<endpoint>); the JSON answer."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}/api/2.0/mlflow/{endpoint}", data=data,
                                     method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
        with urllib.request.urlopen(req, timeout=CMD_TIMEOUT) as r:
            return json.loads(r.read() or b"{}")


@pytest.fixture(scope="module")
def cairn_server(tmp_path_factory):
    """A fresh `cairn server` for one test module, stopped by PID and checked."""
    srv = CairnServer(str(tmp_path_factory.mktemp("cairn-server"))).start()
    try:
        yield srv
    finally:
        problems = srv.stop()
    assert not problems, "\n".join(problems)
