"""Retries with back-off: a log-batch answered 503 (or 429) is sent again
until it is accepted; a 400 is not retried and its MLflow error reaches the
caller. Checked against a small scripted HTTP server."""
import json

import pytest

from conftest import FakeHandler, cli, fake_server


class Scripted(FakeHandler):
    answers = []      # (status, body) for successive log-batch requests
    bodies = []

    def answer(self, body):
        Scripted.bodies.append((self.path, json.loads(body)))
        return Scripted.answers.pop(0) if Scripted.answers else (200, {})


@pytest.fixture
def scripted():
    Scripted.bodies = []
    with fake_server(Scripted) as url:
        yield url


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
