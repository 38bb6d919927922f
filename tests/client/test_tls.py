"""libcairn over https:// (the CLI and the Python binding), against a `cairn
server --tls-cert/--tls-key` whose certificate comes from a CA made at test
time (tests/tls_util.py).

The certificate is always verified: against MLFLOW_TRACKING_SERVER_CERT_PATH
or CAIRN_CA_CERT (which wins), not at all with MLFLOW_TRACKING_INSECURE_TLS=true.
Without the CA the call fails with libcurl's reason, and nothing goes to the
offline spool: a certificate that fails verification is not an absent server.
"""
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request

import pytest

from conftest import CAIRN_BIN, SANITIZER_MARKERS, STARTUP_TIMEOUT, cli, free_port, run_python

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tls_util import assert_no_key, make_certs  # noqa: E402


class TlsServer:
    def __init__(self, tmpdir, certs):
        self.tmpdir = tmpdir
        self.certs = certs
        self.port = free_port()
        self.log = os.path.join(tmpdir, "server.log")
        self.proc = None

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    def start(self):
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(
                [CAIRN_BIN, "server", "--host", "127.0.0.1", "--port", str(self.port),
                 "--backend-store-uri", f"sqlite:///{self.tmpdir}/mlflow.db",
                 "--artifacts-destination", f"{self.tmpdir}/mlartifacts",
                 "--tls-cert", self.certs["cert"], "--tls-key", self.certs["key"]],
                stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL, cwd=self.tmpdir)
        ctx = ssl.create_default_context(cafile=self.certs["ca"])
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=5, context=ctx) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        pytest.fail(f"cairn server (TLS) did not start; log:\n{open(self.log).read()}")

    def stop(self):
        problems = []
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=60)
        if self.proc is not None and self.proc.returncode != 0:
            problems.append(f"server exited with {self.proc.returncode}")
        text = open(self.log, errors="replace").read()
        if any(m in text for m in SANITIZER_MARKERS):
            problems.append(text[-5000:])
        assert_no_key(text, self.certs["key"])
        return problems

    def api(self, path):
        ctx = ssl.create_default_context(cafile=self.certs["ca"])
        with urllib.request.urlopen(f"{self.url}/api/2.0/mlflow/{path}", timeout=60, context=ctx) as r:
            return json.loads(r.read())


@pytest.fixture(scope="module")
def tls_server():
    tmp = tempfile.mkdtemp(prefix="cairn-client-tls-")
    certs = make_certs(os.path.join(tmp, "certs"))
    srv = TlsServer(tmp, certs).start()
    yield srv
    problems = srv.stop()
    assert not problems, "\n".join(problems)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def tenv(tls_server, tmp_path):
    """A CLI environment aimed at the TLS server, with no CA and a private spool."""
    e = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "CAIRN_"))}
    e["MLFLOW_TRACKING_URI"] = tls_server.url
    e["CAIRN_SPOOL_DIR"] = str(tmp_path / "spool")
    return e


def spooled(env):
    d = env["CAIRN_SPOOL_DIR"]
    return [os.path.join(r, f) for r, _, fs in os.walk(d) for f in fs
            if os.path.getsize(os.path.join(r, f)) > 0] if os.path.isdir(d) else []


def experiment_names(srv):
    return {e["name"] for e in srv.api("experiments/search?max_results=1000")["experiments"]}


def test_cert_path_variable(tls_server, tenv):
    tenv["MLFLOW_TRACKING_SERVER_CERT_PATH"] = tls_server.certs["ca"]
    name = f"tls-mlflow-var-{time.monotonic_ns()}"
    cli(["experiments", "create", name], tenv, check=0)
    rid = cli(["runs", "create", "--experiment-name", name], tenv, check=0).stdout.strip()
    tenv["MLFLOW_RUN_ID"] = rid
    cli(["log", "metric", "loss", "0.5", "--step", "1"], tenv, check=0)
    cli(["runs", "end"], tenv, check=0)
    run = tls_server.api(f"runs/get?run_id={rid}")["run"]
    assert run["info"]["status"] == "FINISHED"
    assert [m["value"] for m in run["data"]["metrics"]] == [0.5]
    assert name in cli(["experiments", "list"], tenv, check=0).stdout
    assert not spooled(tenv)


def test_cairn_ca_cert_and_which_wins(tls_server, tenv, tmp_path):
    tenv["CAIRN_CA_CERT"] = tls_server.certs["ca"]
    cli(["experiments", "list"], tenv, check=0)
    # CAIRN_CA_CERT wins over MLflow's variable (here a CA that did not sign).
    tenv["MLFLOW_TRACKING_SERVER_CERT_PATH"] = tls_server.certs["other_ca"]
    cli(["experiments", "list"], tenv, check=0)
    # And it is really used: the wrong CA there fails.
    tenv["CAIRN_CA_CERT"] = tls_server.certs["other_ca"]
    tenv["MLFLOW_TRACKING_SERVER_CERT_PATH"] = tls_server.certs["ca"]
    p = cli(["experiments", "list"], tenv)
    assert p.returncode == 1 and "certificate" in p.stderr


def test_artifacts_over_https(tls_server, tenv, tmp_path):
    tenv["CAIRN_CA_CERT"] = tls_server.certs["ca"]
    rid = cli(["runs", "create"], tenv, check=0).stdout.strip()
    tenv["MLFLOW_RUN_ID"] = rid
    src = tmp_path / "model.bin"
    src.write_bytes(os.urandom(1024 * 1024 + 3))
    cli(["artifacts", "upload", str(src)], tenv, check=0)
    out = tmp_path / "back.bin"
    cli(["artifacts", "download", "model.bin", "-o", str(out)], tenv, check=0)
    assert out.read_bytes() == src.read_bytes()


def test_no_ca_fails_loudly_and_never_spools(tls_server, tenv):
    name = f"tls-no-ca-{time.monotonic_ns()}"
    for args in (["experiments", "list"], ["experiments", "create", name],
                 ["runs", "create", "--experiment-name", name]):
        p = cli(args, tenv)
        assert p.returncode == 1, f"{args}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
        assert "TLS" in p.stderr and "certificate" in p.stderr, p.stderr
        assert tls_server.url in p.stderr
        assert "local-" not in p.stdout, "a run was created offline"
    assert not spooled(tenv), f"spooled: {spooled(tenv)}"
    assert name not in experiment_names(tls_server)


def test_no_ca_queued_logging_fails_loudly(tls_server, tenv):
    """A metric (sent by the batching thread) against an unverifiable server:
    an error at exit, not a spooled batch."""
    good = dict(tenv, CAIRN_CA_CERT=tls_server.certs["ca"])
    rid = cli(["runs", "create"], good, check=0).stdout.strip()
    tenv["MLFLOW_RUN_ID"] = rid
    p = cli(["log", "metric", "loss", "1.5"], tenv)
    assert p.returncode == 1 and "certificate" in p.stderr, p.stderr
    assert not spooled(tenv)
    assert tls_server.api(f"runs/get?run_id={rid}")["run"]["data"].get("metrics", []) == []


def test_missing_ca_file_is_a_tls_error(tls_server, tenv, tmp_path):
    tenv["CAIRN_CA_CERT"] = str(tmp_path / "missing-ca.pem")
    p = cli(["runs", "create"], tenv)
    assert p.returncode == 1 and "missing-ca.pem" in p.stderr, p.stderr
    assert not spooled(tenv)


def test_insecure_tls_skips_verification(tls_server, tenv):
    tenv["MLFLOW_TRACKING_INSECURE_TLS"] = "true"
    cli(["experiments", "list"], tenv, check=0)
    # It wins over a CA that would fail, as MLflow's client has it.
    tenv["CAIRN_CA_CERT"] = tls_server.certs["other_ca"]
    cli(["runs", "create"], tenv, check=0)


def test_plain_http_to_the_tls_port_fails(tls_server, tenv):
    tenv["MLFLOW_TRACKING_URI"] = f"http://127.0.0.1:{tls_server.port}"
    p = cli(["experiments", "list"], tenv)
    assert p.returncode == 1


PY = """
import json, cairn
cairn.init_tracking()
out = {}
try:
    cairn.set_experiment("py-tls")
    with cairn.start_run() as run:
        cairn.log_metric("acc", 0.9)
    out["status"] = cairn.get_run(run.info.run_id)["info"]["status"]
except cairn.CairnError as e:
    out["err"] = [e.code, str(e)]
out["offline"] = cairn.is_offline()
print(json.dumps(out))
"""


def _py(env):
    p = run_python(textwrap.dedent(PY), env)
    assert p.returncode == 0, f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_python_binding(tls_server, tenv):
    out = _py(dict(tenv, MLFLOW_TRACKING_SERVER_CERT_PATH=tls_server.certs["ca"]))
    assert out == {"status": "FINISHED", "offline": False}
    out = _py(tenv)
    assert out["err"][0] == "ETLS" and "certificate" in out["err"][1], out
    assert out["offline"] is False
    assert not spooled(tenv)
