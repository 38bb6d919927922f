"""Retries with back-off: a log-batch answered 503 (or 429) is sent again
until it is accepted; a 400 is not retried and its MLflow error reaches the
caller. Checked against a small scripted HTTP server."""
import http.server
import json
import threading

import pytest

from conftest import cli


class Scripted(http.server.BaseHTTPRequestHandler):
    answers = []      # (status, body) for successive log-batch requests
    bodies = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        Scripted.bodies.append((self.path, body))
        status, reply = Scripted.answers.pop(0) if Scripted.answers else (200, {})
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def scripted():
    Scripted.bodies = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()
    t.join()


def test_retried_until_accepted(env, scripted):
    busy = {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"}
    Scripted.answers = [(503, busy), (429, {"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"}),
                        (200, {})]
    e = dict(env, MLFLOW_TRACKING_URI=scripted, MLFLOW_RUN_ID="r" * 32)
    cli(["log", "metric", "loss", "0.5", "--step", "3"], e, check=0)
    assert [p for p, _ in Scripted.bodies] == ["/api/2.0/mlflow/runs/log-batch"] * 3
    body = Scripted.bodies[-1][1]
    assert body["run_id"] == "r" * 32
    assert body["metrics"][0]["key"] == "loss" and body["metrics"][0]["value"] == 0.5
    assert body["metrics"][0]["step"] == 3 and body["params"] == [] and body["tags"] == []


def test_client_error_not_retried(env, scripted):
    Scripted.answers = [(400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "bad key"})]
    e = dict(env, MLFLOW_TRACKING_URI=scripted, MLFLOW_RUN_ID="r" * 32)
    p = cli(["log", "param", "k", "v"], e)
    assert p.returncode == 1 and p.stderr == "cairn: INVALID_PARAMETER_VALUE: bad key\n"
    assert len(Scripted.bodies) == 1
