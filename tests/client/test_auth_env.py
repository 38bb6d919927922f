"""Credentials from the environment, as MLflow's client reads them: a bearer
token, or HTTP Basic from username and password. Checked against a tiny
recording HTTP server (Cairn's server has no auth yet)."""
import base64
import http.server
import json
import threading

import pytest

from conftest import cli


class Recorder(http.server.BaseHTTPRequestHandler):
    seen = []

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Recorder.seen.append((self.path, self.headers.get("Authorization")))
        body = json.dumps({"experiments": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    Recorder.seen = []
    srv = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()
    t.join()


def test_bearer_token(env, recorder):
    e = dict(env, MLFLOW_TRACKING_URI=recorder, MLFLOW_TRACKING_TOKEN="tok-123",
             MLFLOW_TRACKING_USERNAME="ignored", MLFLOW_TRACKING_PASSWORD="ignored")
    cli(["experiments", "list"], e, check=0)
    assert Recorder.seen == [("/api/2.0/mlflow/experiments/search", "Bearer tok-123")]


def test_basic_auth(env, recorder):
    e = dict(env, MLFLOW_TRACKING_URI=recorder + "/", MLFLOW_TRACKING_USERNAME="alice",
             MLFLOW_TRACKING_PASSWORD="s3cret")
    cli(["experiments", "list"], e, check=0)
    expected = "Basic " + base64.b64encode(b"alice:s3cret").decode()
    assert Recorder.seen == [("/api/2.0/mlflow/experiments/search", expected)]


def test_no_credentials(env, recorder):
    cli(["experiments", "list", "--tracking-uri", recorder], env, check=0)
    assert Recorder.seen == [("/api/2.0/mlflow/experiments/search", None)]
