"""HTTPS: `cairn server --tls-cert FILE --tls-key FILE` (or CAIRN_TLS_CERT /
CAIRN_TLS_KEY) serves the whole API over TLS 1.2 or 1.3 only, and refuses to
start on a bad pair with a message that names the file and never its
contents.

The certificates are made here, at test time, by a throw-away CA
(tests/tls_util.py); clients verify against that CA, never with verification
off. TLS 1.0 and 1.1 are forced with Python's ssl module; whether the local
OpenSSL can still offer them is checked first against a Python server that
accepts them, and the test is skipped (saying so) when it cannot.
"""
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import warnings

import pytest
import requests

from conftest import CAIRN_BIN, HTTP_TIMEOUT, STARTUP_TIMEOUT, Client, Server, sanitizer_report, unique

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tls_util import assert_no_key, make_certs  # noqa: E402

# These start their own servers and credentials (or, for the toy policy, need
# auth off): the suite's authenticated run (CAIRN_TEST_AUTH=1) leaves them out.
pytestmark_auth = pytest.mark.skipif(__import__("conftest").AUTH_ON,
                                     reason="runs its own auth setup; CAIRN_TEST_AUTH=1 run")


class TlsServer(Server):
    """A Server with HTTPS, its pair given through CAIRN_TLS_CERT / CAIRN_TLS_KEY."""

    def __init__(self, tmpdir, certs):
        super().__init__(tmpdir)
        self.certs = certs
        # Local jobs inherit the server's environment, the CA variable too.
        self.env = dict(os.environ, CAIRN_TLS_CERT=certs["cert"], CAIRN_TLS_KEY=certs["key"],
                        CAIRN_LOG_LEVEL="debug", MLFLOW_TRACKING_SERVER_CERT_PATH=certs["ca"])

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    def _wait_listening(self):
        import time
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                r = requests.get(self.url + "/health", timeout=HTTP_TIMEOUT, verify=self.certs["ca"])
                if r.status_code == 200:
                    return True
            except (OSError, requests.RequestException):
                pass
            time.sleep(0.1)
        return False


@pytest.fixture(scope="module")
def certs():
    folder = tempfile.mkdtemp(prefix="cairn-tls-")
    yield make_certs(folder)
    subprocess.run(["rm", "-rf", folder], check=False)


@pytest.fixture(scope="module")
def tls_server(certs):
    tmp = tempfile.mkdtemp(prefix="cairn-api-tls-")
    srv = TlsServer(tmp, certs).start()
    yield srv
    problems = srv.stop()
    assert_no_key(srv.stderr_text(), certs["key"])
    assert not problems, "\n".join(problems)
    subprocess.run(["rm", "-rf", tmp], check=False)


def tls_client(srv):
    c = Client(srv.url)
    c.s.verify = srv.certs["ca"]
    # Else requests lets REQUESTS_CA_BUNDLE from the environment beat the
    # session's own verify.
    c.s.trust_env = False
    return c


# ---- serving ----

def test_health_over_https(tls_server):
    r = requests.get(tls_server.url + "/health", verify=tls_server.certs["ca"], timeout=HTTP_TIMEOUT)
    assert r.status_code == 200 and r.text.strip() == "OK"
    # The host name in the certificate works too.
    r = requests.get(f"https://localhost:{tls_server.port}/health", verify=tls_server.certs["ca"],
                     timeout=HTTP_TIMEOUT)
    assert r.status_code == 200


def test_startup_line_says_https(tls_server):
    assert f"listening on https://127.0.0.1:{tls_server.port}" in tls_server.stderr_text()


def test_mlflow_api_over_https(tls_server, tmp_path):
    c = tls_client(tls_server)
    exp = c.create_experiment(unique("tls"))
    run = c.create_run(exp)
    rid = run["info"]["run_id"]
    # A queued run write (answered by the store's writer) and a pooled POST.
    c.ok_post("runs/log-batch", {"run_id": rid,
                                 "metrics": [{"key": "m", "value": 0.5, "timestamp": 1, "step": 0}],
                                 "params": [{"key": "p", "value": "v"}]})
    c.ok_post("runs/log-metric", {"run_id": rid, "key": "m", "value": 0.25, "timestamp": 2, "step": 1})
    got = c.ok_get("runs/get", {"run_id": rid})["run"]
    assert {m["key"]: m["value"] for m in got["data"]["metrics"]} == {"m": 0.25}
    assert got["data"]["params"] == [{"key": "p", "value": "v"}]
    hist = c.ok_get("metrics/get-history", {"run_id": rid, "metric_key": "m"})["metrics"]
    assert [m["value"] for m in hist] == [0.5, 0.25]
    found = c.ok_post("runs/search", {"experiment_ids": [exp]})["runs"]
    assert [r["info"]["run_id"] for r in found] == [rid]


def test_artifact_proxy_over_https(tls_server):
    """An upload streamed in and a download streamed out (no sendfile under TLS)."""
    data = os.urandom(3 * 1024 * 1024 + 17)
    base = f"{tls_server.url}/api/2.0/mlflow-artifacts/artifacts/{unique('tls')}/blob.bin"
    ca = tls_server.certs["ca"]
    r = requests.put(base, data=data, verify=ca, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    r = requests.get(base, verify=ca, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200 and r.content == data
    r = requests.get(base, headers={"Range": "bytes=10-19"}, verify=ca, timeout=HTTP_TIMEOUT)
    assert r.status_code == 206 and r.content == data[10:20]


def test_plain_http_on_the_tls_port_fails(tls_server):
    with pytest.raises(requests.RequestException):
        r = requests.get(f"http://127.0.0.1:{tls_server.port}/health", timeout=30)
        # Should it ever answer, it must not be the API in clear text.
        assert r.status_code != 200
    # The server is unharmed.
    assert requests.get(tls_server.url + "/health", verify=tls_server.certs["ca"],
                        timeout=HTTP_TIMEOUT).status_code == 200


def test_unknown_ca_is_refused_by_a_verifying_client(tls_server):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(tls_server.url + "/health", verify=tls_server.certs["other_ca"], timeout=30)


def test_jobs_get_an_https_tracking_uri(tls_server):
    """A local job is told https://, and reaches the server with the CA."""
    from jobs_util import JOBS, TERMINAL, mlproject, tar_gz
    ca = tls_server.certs["ca"]
    proj = tar_gz({"MLproject": mlproject(
        'echo uri=$MLFLOW_TRACKING_URI; curl -sS --cacert "$MLFLOW_TRACKING_SERVER_CERT_PATH" '
        '"$MLFLOW_TRACKING_URI/health"')})
    r = requests.post(tls_server.url + JOBS + "submit", verify=ca, timeout=HTTP_TIMEOUT,
                      files={"project": ("p.tar.gz", proj, "application/octet-stream")},
                      data={"backend_config": '{"Backend": "local"}'})
    assert r.status_code == 200, r.text
    job_id = r.json()["job"]["job_id"]
    import time
    deadline = time.monotonic() + 240
    while True:
        job = requests.get(tls_server.url + JOBS + "get", params={"job_id": job_id}, verify=ca,
                           timeout=HTTP_TIMEOUT).json()["job"]
        if job["state"] in TERMINAL or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    out = requests.get(tls_server.url + JOBS + "logs", params={"job_id": job_id}, verify=ca,
                       timeout=HTTP_TIMEOUT).text
    assert job["state"] == "COMPLETED", (job, out)
    assert f"uri=https://127.0.0.1:{tls_server.port}" in out and "OK" in out, out


# ---- protocol versions ----

def _context(version, ca):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = version
        ctx.maximum_version = version
    ctx.load_verify_locations(ca)
    # OpenSSL 3's default security level refuses to offer TLS < 1.2 at all.
    ctx.set_ciphers("DEFAULT@SECLEVEL=0")
    return ctx


def _handshake(port, ctx):
    """The protocol agreed with 127.0.0.1:port, or the SSLError."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        try:
            with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
                return t.version()
        except (ssl.SSLError, ConnectionError) as e:
            return e


def _can_offer(version, certs):
    """Can this machine's OpenSSL negotiate version at all? Asked of a Python
    server that accepts it, so that a refusal by Cairn means Cairn refused."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sctx.minimum_version = version
        sctx.maximum_version = version
    sctx.set_ciphers("DEFAULT@SECLEVEL=0")
    sctx.load_cert_chain(certs["cert"], certs["key"])
    lsock = socket.create_server(("127.0.0.1", 0))
    port = lsock.getsockname()[1]

    def serve():
        try:
            conn, _ = lsock.accept()
            with conn:
                try:
                    with sctx.wrap_socket(conn, server_side=True):
                        pass
                except (ssl.SSLError, OSError):
                    pass
        except OSError:
            pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        got = _handshake(port, _context(version, certs["ca"]))
    finally:
        t.join(timeout=30)
        lsock.close()
    return isinstance(got, str)


@pytest.mark.parametrize("name", ["TLSv1", "TLSv1_1"])
def test_old_tls_versions_refused(tls_server, name):
    version = getattr(ssl.TLSVersion, name)
    if not _can_offer(version, tls_server.certs):
        pytest.skip(f"this machine's OpenSSL ({ssl.OPENSSL_VERSION}) cannot negotiate {name} even "
                    "with a server that accepts it, so Cairn's refusal cannot be told apart")
    got = _handshake(tls_server.port, _context(version, tls_server.certs["ca"]))
    assert not isinstance(got, str), f"{name} was accepted: {got}"


@pytest.mark.parametrize("name,expect", [("TLSv1_2", "TLSv1.2"), ("TLSv1_3", "TLSv1.3")])
def test_tls12_and_tls13_accepted(tls_server, name, expect):
    got = _handshake(tls_server.port, _context(getattr(ssl.TLSVersion, name), tls_server.certs["ca"]))
    assert got == expect


# ---- start-up errors ----

def _start_fails(tmp_path, args, env_extra=None):
    """Runs `cairn server` expecting it to stop at start-up; returns (status, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAIRN_TLS_", "MLFLOW_"))}
    env.update(env_extra or {})
    p = subprocess.run([CAIRN_BIN, "server", "--host", "127.0.0.1", "--port", "0",
                        "--backend-store-uri", f"sqlite:///{tmp_path}/mlflow.db",
                        "--artifacts-destination", f"{tmp_path}/mlartifacts", *args],
                       env=env, capture_output=True, text=True, timeout=STARTUP_TIMEOUT * 2,
                       stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert p.returncode != 0, f"the server started:\n{p.stderr}"
    assert "listening on" not in p.stderr
    assert sanitizer_report(p.stderr) is None, p.stderr
    return p.returncode, p.stderr


def test_key_of_another_certificate_stops_startup(certs, tmp_path):
    rc, err = _start_fails(tmp_path, ["--tls-cert", certs["cert"], "--tls-key", certs["other_key"]])
    assert rc == 1
    assert "does not match" in err and certs["other_key"] in err
    assert_no_key(err, certs["other_key"], certs["key"])


def test_ca_key_for_server_cert_stops_startup(certs, tmp_path):
    rc, err = _start_fails(tmp_path, ["--tls-cert", certs["cert"], "--tls-key", certs["ca_key"]])
    assert "does not match" in err
    assert_no_key(err, certs["ca_key"])


def test_missing_file_stops_startup(certs, tmp_path):
    missing = str(tmp_path / "nope.pem")
    rc, err = _start_fails(tmp_path, ["--tls-cert", missing, "--tls-key", certs["key"]])
    assert rc == 1 and missing in err and "No such file" in err
    rc, err = _start_fails(tmp_path, ["--tls-cert", certs["cert"], "--tls-key", missing])
    assert rc == 1 and missing in err and "No such file" in err
    assert_no_key(err, certs["key"])
    rc, err = _start_fails(tmp_path, ["--tls-cert", certs["cert"], "--tls-key", str(tmp_path)])
    assert rc == 1 and "not a regular file" in err


def test_unreadable_key_stops_startup(certs, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    key = tmp_path / "locked.key"
    key.write_bytes(open(certs["key"], "rb").read())
    key.chmod(0)
    rc, err = _start_fails(tmp_path, ["--tls-cert", certs["cert"], "--tls-key", str(key)])
    assert rc == 1 and "Permission denied" in err
    assert_no_key(err, certs["key"])


def test_swapped_or_garbage_files_stop_startup(certs, tmp_path):
    # The key given as the certificate: it must not be echoed back.
    rc, err = _start_fails(tmp_path, ["--tls-cert", certs["key"], "--tls-key", certs["key"]])
    assert rc == 1 and "no PEM certificate" in err
    assert_no_key(err, certs["key"])
    rc, err = _start_fails(tmp_path, ["--tls-cert", certs["cert"], "--tls-key", certs["cert"]])
    assert rc == 1 and "private key" in err
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"\x00\x01binary")
    rc, err = _start_fails(tmp_path, ["--tls-cert", certs["cert"], "--tls-key", str(garbage)])
    assert rc == 1 and str(garbage) in err


def test_encrypted_key_is_refused_without_prompting(certs, tmp_path):
    enc = tmp_path / "enc.key"
    subprocess.run(["openssl", "pkey", "-in", certs["key"], "-aes256", "-passout", "pass:secret",
                    "-out", str(enc)], check=True, capture_output=True)
    rc, err = _start_fails(tmp_path, ["--tls-cert", certs["cert"], "--tls-key", str(enc)])
    assert rc == 1 and "unencrypted" in err
    assert_no_key(err, str(enc), certs["key"])


@pytest.mark.parametrize("which", ["cert", "key"])
def test_only_one_of_the_pair_stops_startup(certs, tmp_path, which):
    rc, err = _start_fails(tmp_path, [f"--tls-{which}", certs[which]])
    assert rc == 2 and ("--tls-key" in err if which == "cert" else "--tls-cert" in err)
    rc, err = _start_fails(tmp_path, [], {f"CAIRN_TLS_{which.upper()}": certs[which]})
    assert rc == 2
    assert_no_key(err, certs["key"])


def test_flag_wins_over_environment(certs, tmp_path):
    """--tls-key beats CAIRN_TLS_KEY: a bad key in the environment is not read."""
    rc, err = _start_fails(tmp_path, ["--tls-key", certs["other_key"]],
                           {"CAIRN_TLS_CERT": certs["cert"], "CAIRN_TLS_KEY": certs["key"]})
    assert "does not match" in err and certs["other_key"] in err


def test_help_lists_the_options():
    out = subprocess.run([CAIRN_BIN, "server", "--help"], capture_output=True, text=True,
                         timeout=60).stdout
    assert "--tls-cert FILE" in out and "CAIRN_TLS_CERT" in out
    assert "--tls-key FILE" in out and "CAIRN_TLS_KEY" in out

pytestmark = pytestmark_auth
