"""metrics/get-history.

Reference (MLflow 2.9.2): handlers._get_metric_history (run_id and metric_key
required; GET query string), sqlalchemy_store.get_metric_history. 2.9.2 returns
the whole history (no paging in the handler); newer versions page with
max_results/page_token and order by (timestamp, step, value). The tests accept
either: if a next_page_token comes back it must lead through the rest of the
history without duplicates or gaps.
"""

import math

import pytest

from conftest import assert_error


@pytest.fixture
def run_id(client):
    return client.create_run()["info"]["run_id"]


def _entries(hist):
    return [(h["step"], h["timestamp"], h["value"]) for h in hist]


def test_history_shape(client, run_id):
    client.ok_post("runs/log-metric", {"run_id": run_id, "key": "loss", "value": 0.5,
                                       "timestamp": 111, "step": 2})
    hist = client.history(run_id, "loss")
    assert hist == [{"key": "loss", "value": 0.5, "timestamp": 111, "step": 2}]


def test_history_in_logged_order(client, run_id):
    for i in range(50):
        client.ok_post("runs/log-metric", {"run_id": run_id, "key": "m", "value": i * 0.5,
                                           "timestamp": 1000 + i, "step": i})
    hist = client.history(run_id, "m")
    assert _entries(hist) == [(i, 1000 + i, i * 0.5) for i in range(50)]
    assert all(h["key"] == "m" for h in hist)


def test_history_logged_out_of_order_is_complete(client, run_id):
    order = [5, 1, 9, 3, 7, 0, 8, 2, 6, 4]
    for i in order:
        client.ok_post("runs/log-metric", {"run_id": run_id, "key": "m", "value": float(i),
                                           "timestamp": 10 * i, "step": i})
    hist = client.history(run_id, "m")
    assert sorted(_entries(hist)) == [(i, 10 * i, float(i)) for i in range(10)]


def test_history_same_step_different_values(client, run_id):
    client.log_batch(run_id, metrics=[{"key": "m", "value": v, "timestamp": 5, "step": 1}
                                      for v in (3.0, 1.0, 2.0)])
    assert sorted(h["value"] for h in client.history(run_id, "m")) == [1.0, 2.0, 3.0]


def test_history_only_requested_key_and_run(client, run_id):
    other = client.create_run()["info"]["run_id"]
    client.log_batch(run_id, metrics=[{"key": "a", "value": 1, "timestamp": 1, "step": 0},
                                      {"key": "b", "value": 2, "timestamp": 1, "step": 0}])
    client.log_batch(other, metrics=[{"key": "a", "value": 3, "timestamp": 1, "step": 0}])
    assert [h["value"] for h in client.history(run_id, "a")] == [1]
    assert [h["value"] for h in client.history(other, "a")] == [3]


def test_history_nan_value(client, run_id):
    client.ok_post("runs/log-metric", {"run_id": run_id, "key": "n", "value": "NaN",
                                       "timestamp": 1, "step": 0})
    hist = client.history(run_id, "n")
    assert len(hist) == 1 and math.isnan(float(hist[0]["value"]))


def test_history_unknown_key_is_empty(client, run_id):
    assert client.history(run_id, "never-logged") == []


def test_history_key_with_special_chars(client, run_id):
    key = "val/acc top-1 ü"
    client.ok_post("runs/log-metric", {"run_id": run_id, "key": key, "value": 1,
                                       "timestamp": 1, "step": 0})
    assert client.history(run_id, key)[0]["key"] == key


def test_history_run_uuid_alias(client, run_id):
    client.ok_post("runs/log-metric", {"run_id": run_id, "key": "m", "value": 1,
                                       "timestamp": 1, "step": 0})
    r = client.ok_get("metrics/get-history", {"run_uuid": run_id, "metric_key": "m"})
    assert len(r["metrics"]) == 1


@pytest.mark.parametrize("params,fragment", [
    ({"metric_key": "m"}, "run_id"),
    ({"run_id": "RID"}, "metric_key"),
    ({}, "run_id"),
])
def test_history_missing_params(client, run_id, params, fragment):
    params = {k: (run_id if v == "RID" else v) for k, v in params.items()}
    r = client.get("metrics/get-history", params)
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", fragment)


def test_history_post_not_allowed(client, run_id):
    r = client.post("metrics/get-history", {"run_id": run_id, "metric_key": "m"})
    assert r.status_code == 405


@pytest.mark.parametrize("page_size", [1, 3, 10, 25])
def test_history_pagination_consistent(client, run_id, page_size):
    n = 25
    client.log_batch(run_id, metrics=[{"key": "p", "value": float(i), "timestamp": 100 + i,
                                       "step": i} for i in range(n)])
    seen, token, rounds = [], None, 0
    while True:
        params = {"run_id": run_id, "metric_key": "p", "max_results": page_size}
        if token:
            params["page_token"] = token
        r = client.ok_get("metrics/get-history", params)
        seen.extend(_entries(r.get("metrics", [])))
        token = r.get("next_page_token")
        rounds += 1
        if not token:
            break
        assert rounds <= n + 1, "history pagination does not terminate"
    assert len(seen) == len(set(seen)) == n
    assert sorted(seen) == [(i, 100 + i, float(i)) for i in range(n)]


def test_history_large(client, run_id):
    n = 5000
    for start in range(0, n, 1000):
        client.log_batch(run_id, metrics=[{"key": "big", "value": float(i), "timestamp": i,
                                           "step": i} for i in range(start, start + 1000)])
    hist = client.history(run_id, "big")
    assert sorted(h["step"] for h in hist) == list(range(n))


def test_history_unknown_run_is_empty(client):
    # 2.9.2's SQL store filters metrics by run_uuid without looking the run up.
    r = client.get("metrics/get-history", {"run_id": "0" * 32, "metric_key": "m"})
    assert r.status_code == 200, r.text
    assert r.json().get("metrics", []) == []
