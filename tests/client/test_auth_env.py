"""Credentials from the environment, as MLflow's client reads them: a bearer
token, or HTTP Basic from username and password. Checked against a tiny
recording HTTP server (Cairn's server has no auth yet)."""
import base64

import pytest

from conftest import FakeHandler, cli, fake_server


class Recorder(FakeHandler):
    seen = []

    def answer(self, body):
        Recorder.seen.append((self.path, self.headers.get("Authorization")))
        return 200, {"experiments": []}


@pytest.fixture
def recorder():
    Recorder.seen = []
    with fake_server(Recorder) as url:
        yield url


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
