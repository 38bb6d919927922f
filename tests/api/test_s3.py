"""The server with its artifacts on S3 (a real Swift with s3api, started by
scripts/swift.sh): run only when CAIRN_TEST_S3 names a bucket there.

- a wrong secret and a missing bucket stop the server at start-up with a
  clear message (never a 400 to the first client, never the secret shown);
- S3 dying in the middle of an upload through the proxy gives the client an
  error, and no partial object becomes visible;
- a run in an experiment whose artifact_location is s3://... lists and
  stores its artifacts there, job output included.
"""

import os
import signal
import socket
import subprocess
import threading
import time

import pytest
import requests

from conftest import CAIRN_BIN, S3_BASE, Server

pytestmark = pytest.mark.skipif(S3_BASE is None, reason="needs CAIRN_TEST_S3 (scripts/swift.sh)")

M = "/api/2.0/mlflow/"
ART = "/api/2.0/mlflow-artifacts/artifacts/"


def _start_fails(tmp_path, dest, **env):
    e = dict(os.environ, **env)
    p = subprocess.run([CAIRN_BIN, "server", "--port", "0", "--backend-store-uri",
                        f"sqlite:///{tmp_path}/m.db", "--artifacts-destination", dest],
                       capture_output=True, text=True, timeout=120, env=e, cwd=tmp_path)
    assert p.returncode != 0, p.stderr
    return p.stderr


def test_a_wrong_secret_stops_the_server_at_start_up(tmp_path):
    err = _start_fails(tmp_path, S3_BASE, AWS_SECRET_ACCESS_KEY="not-the-secret")
    assert "artifacts destination" in err and "credentials" in err, err
    assert "SignatureDoesNotMatch" in err or "InvalidAccessKeyId" in err, err
    assert "not-the-secret" not in err


def test_a_missing_bucket_stops_the_server_at_start_up(tmp_path):
    err = _start_fails(tmp_path, "s3://no-such-bucket-cairn/x")
    assert "no-such-bucket-cairn" in err and "does not exist" in err, err


def _swift_proxy_pid():
    with open(os.path.join(os.environ["CAIRN_SWIFT_DIR"], "run", "proxy.pid")) as f:
        return int(f.read().strip())


def _restart_swift_proxy():
    d = os.environ["CAIRN_SWIFT_DIR"]
    subprocess.run(["bash", "-c",
                    f"setsid swift-proxy-server '{d}/etc/proxy-server.conf' -v "
                    f">>'{d}/log/proxy.log' 2>&1 </dev/null & echo $! >'{d}/run/proxy.pid'"],
                   check=True)
    url = os.environ["MLFLOW_S3_ENDPOINT_URL"]
    for _ in range(300):
        try:
            if requests.get(url + "/healthcheck", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError("the Swift proxy did not come back")


@pytest.mark.skipif("CAIRN_SWIFT_DIR" not in os.environ, reason="needs scripts/swift.sh's folder")
def test_s3_dying_mid_upload_fails_the_upload_and_leaves_nothing(server_factory):
    srv = server_factory()
    path = f"dying/{os.getpid()}-{time.monotonic_ns()}/big.bin"
    sent = [0]
    killed = threading.Event()

    def body():
        block = os.urandom(1 << 20)
        for i in range(200):  # 200 MiB, far more than is sent before the kill
            if i == 40:
                os.kill(_swift_proxy_pid(), signal.SIGKILL)
                killed.set()
            sent[0] += len(block)
            yield block

    try:
        r = requests.put(srv.url + ART + path, data=body(), timeout=300)
        status = r.status_code
        error = r.json() if status != 200 else None
    except requests.ConnectionError:
        status, error = None, None  # the server may close the connection instead
    finally:
        if killed.is_set():
            _restart_swift_proxy()
    assert killed.is_set()
    assert status != 200, "an upload S3 never completed was acknowledged"
    if error is not None:
        assert status >= 500 and error["error_code"] in ("INTERNAL_ERROR", "TEMPORARILY_UNAVAILABLE")
    # Nothing under the name, whole or partial.
    r = requests.get(srv.url + ART + path, timeout=60)
    assert r.status_code == 404, r.status_code
    parent = path.rsplit("/", 1)[0]
    r = requests.get(srv.url + ART[:-1], params={"path": parent}, timeout=60)
    assert r.json().get("files", []) == []
    # And the server still serves uploads once S3 is back.
    assert requests.put(srv.url + ART + parent + "/after.txt", data=b"ok",
                        timeout=60).status_code == 200


def test_an_s3_artifact_location_holds_the_runs_artifacts(server):
    loc = f"{S3_BASE.rstrip('/')}/explicit-{os.getpid()}-{time.monotonic_ns()}"
    r = requests.post(server.url + M + "experiments/create",
                      json={"name": f"s3-{time.monotonic_ns()}", "artifact_location": loc},
                      timeout=60)
    assert r.status_code == 200, r.text
    exp = r.json()["experiment_id"]
    run = requests.post(server.url + M + "runs/create", json={"experiment_id": exp},
                        timeout=60).json()["run"]["info"]
    assert run["artifact_uri"] == f"{loc}/{run['run_id']}/artifacts"
    r = requests.get(server.url + M + "artifacts/list", params={"run_id": run["run_id"]},
                     timeout=60)
    assert r.status_code == 200 and r.json()["root_uri"] == run["artifact_uri"], r.text
    assert r.json().get("files", []) == []
