"""Metric history at length: metrics/get-history streamed in pages (same
answer as MLflow's, constant server memory), and get-history-bulk-interval
(MLflow 2.11) checked against MLflow's own sampling rule, re-implemented
here as the oracle."""

import bisect
import random

import pytest

from conftest import Client, assert_error, now_ms


def log_steps(c, run_id, key, points):
    """points: (step, timestamp, value) tuples, logged 1000 per batch."""
    for i in range(0, len(points), 1000):
        c.log_batch(run_id, metrics=[{"key": key, "value": v, "timestamp": t, "step": s}
                                     for s, t, v in points[i:i + 1000]])


def expected_order(points):
    return sorted(points, key=lambda p: (p[0], p[1], p[2]))


def test_long_history_streams_in_order_and_matches_paged_reads(api):
    run = api.create_run()["info"]["run_id"]
    rnd = random.Random(7)
    # More than several pages, logged out of order, with ties on step.
    pts = [(s // 2, 1000 + rnd.randrange(100000), rnd.random()) for s in range(30000)]
    pts = list({(s, t): (s, t, v) for s, t, v in pts}.values())
    rnd.shuffle(pts)
    log_steps(api, run, "loss", pts)
    r = api.get("metrics/get-history", {"run_id": run, "metric_key": "loss"})
    assert r.status_code == 200
    assert r.headers.get("Transfer-Encoding") == "chunked"
    got = [(m["step"], m["timestamp"], m["value"]) for m in r.json()["metrics"]]
    assert got == expected_order(pts)
    assert all(m["key"] == "loss" for m in r.json()["metrics"])
    # The paged form (what max_results asks for) gives the same sequence.
    paged, token = [], None
    while True:
        extra = {"max_results": 7000}
        if token:
            extra["page_token"] = token
        body = api.ok_get("metrics/get-history",
                          dict(run_id=run, metric_key="loss", **extra))
        paged += [(m["step"], m["timestamp"], m["value"]) for m in body.get("metrics", [])]
        token = body.get("next_page_token")
        if not token:
            break
    assert paged == got


def test_streamed_history_keeps_special_values_and_other_keys_apart(api):
    run = api.create_run()["info"]["run_id"]
    n = 9000  # crosses page boundaries
    pts = [{"key": "m", "value": v, "timestamp": 5, "step": s}
           for s, v in enumerate(["NaN", "Infinity", "-Infinity", 0.0, -2.5] * (n // 5))]
    for i in range(0, len(pts), 1000):
        api.log_batch(run, metrics=pts[i:i + 1000])
    api.log_batch(run, metrics=[{"key": "other", "value": 1, "timestamp": 1, "step": 1}])
    hist = api.history(run, "m")
    assert len(hist) == n
    vals = [m["value"] for m in hist[:5]]
    assert vals[0] == "NaN"
    assert vals[1] > 1e308 and vals[2] < -1e308  # stored as MLflow stores +-inf
    assert vals[3:] == [0.0, -2.5]
    assert [m["step"] for m in hist] == list(range(n))
    assert api.history(run, "other") == [{"key": "other", "value": 1.0, "timestamp": 1,
                                          "step": 1}]


def test_empty_history_is_an_empty_object(api):
    run = api.create_run()["info"]["run_id"]
    r = api.get("metrics/get-history", {"run_id": run, "metric_key": "never"})
    assert r.status_code == 200 and r.json() == {}


def test_negative_and_huge_steps_stream_in_order(api):
    run = api.create_run()["info"]["run_id"]
    steps = [-(2 ** 63), -5, 0, 3, 2 ** 63 - 1]
    log_steps(api, run, "x", [(s, 1, float(i)) for i, s in enumerate(reversed(steps))])
    assert [m["step"] for m in api.history(run, "x")] == steps


@pytest.mark.big
def test_history_memory_does_not_grow_with_its_length(server_factory):
    srv = server_factory()
    c = Client(srv.url)
    run = c.create_run()["info"]["run_id"]
    log_steps(c, run, "loss", [(s, 1700000000000 + s, 1.0 / (s + 1)) for s in range(200000)])
    before = srv.vm_hwm_kb()
    r = c.get("metrics/get-history", {"run_id": run, "metric_key": "loss"}, stream=True)
    size = sum(len(chunk) for chunk in r.iter_content(65536))
    assert r.status_code == 200 and size > 15_000_000
    # A 15 MB answer held in memory (and its 200,000 JSON objects) would
    # show; a page at a time is a few hundred kB.
    assert srv.vm_hwm_kb() - before < 8 * 1024


# ---- get-history-bulk-interval ----

def mlflow_interval(histories, start=None, end=None, max_results=2500):
    """MLflow 2.11's handler: histories is {run_id: [(step, ts, value)]}."""
    runs_steps = [[p[0] for p in h] for h in histories.values()]
    mins_maxes = {x for steps in runs_steps if steps for x in (min(steps), max(steps))}
    all_steps = sorted({x for steps in runs_steps for x in steps})
    if start is None:
        start, end = 0, (all_steps[-1] if all_steps else 0)
    mins_maxes = {x for x in mins_maxes if start <= x <= end}
    lo, hi = bisect.bisect_left(all_steps, start), bisect.bisect_right(all_steps, end)
    if hi - lo <= max_results:
        sampled = set(all_steps[lo:hi])
    else:
        num = hi - lo
        sampled = {all_steps[lo + (i * num) // max_results] for i in range(max_results)
                   if lo + (i * num) // max_results < hi}
        sampled.add(all_steps[hi - 1])
    steps = sampled | mins_maxes
    out = []
    for run_id, h in histories.items():
        out += [(run_id, s, t, v) for s, t, v in expected_order(h) if s in steps]
    return out


def interval(c, run_ids, key, **extra):
    params = {"run_ids": run_ids, "metric_key": key}
    params.update(extra)
    body = c.ok_get("metrics/get-history-bulk-interval", params)
    return [(m["run_id"], m["step"], m["timestamp"], m["value"]) for m in body.get("metrics", [])]


@pytest.mark.parametrize("max_results,rng", [(10, None), (7, (100, 900)), (2500, None),
                                             (1, None), (3, (0, 0))])
def test_bulk_interval_samples_like_mlflow(client, max_results, rng):
    rnd = random.Random(max_results)
    hist = {}
    for n in (1000, 300, 0):
        run = client.create_run()["info"]["run_id"]
        steps = sorted(rnd.sample(range(-50, 3000), n))
        pts = [(s, 100 + s, rnd.random()) for s in steps]
        log_steps(client, run, "acc", pts)
        hist[run] = pts
    extra = {"max_results": max_results}
    if rng:
        extra.update(start_step=rng[0], end_step=rng[1])
    got = interval(client, list(hist), "acc", **extra)
    want = mlflow_interval(hist, *(rng or (None, None)), max_results=max_results)
    assert got == want
    assert len({s for _, s, _, _ in got}) <= max_results + 2 * len(hist) + 1


def test_bulk_interval_default_is_2500_points_and_keeps_run_order(api):
    a = api.create_run()["info"]["run_id"]
    b = api.create_run()["info"]["run_id"]
    log_steps(api, a, "l", [(s, s, 1.0) for s in range(6000)])
    log_steps(api, b, "l", [(s, s, 2.0) for s in range(0, 6000, 3)])
    got = interval(api, [b, a], "l")
    assert got == mlflow_interval({b: [(s, s, 2.0) for s in range(0, 6000, 3)],
                                   a: [(s, s, 1.0) for s in range(6000)]})
    assert [r for r, *_ in got] == sorted([r for r, *_ in got], key=[b, a].index)


def test_bulk_interval_of_nothing_is_empty(api):
    run = api.create_run()["info"]["run_id"]
    assert api.ok_get("metrics/get-history-bulk-interval",
                      {"run_ids": [run], "metric_key": "none"}) == {}


@pytest.mark.parametrize("params,fragment", [
    ({"metric_key": "m"}, "run_ids"),
    ({"run_ids": ["r"]}, "metric_key"),
    ({"run_ids": ["r"] * 101, "metric_key": "m"}, "at most 100 run_ids"),
    ({"run_ids": ["r"], "metric_key": "m", "max_results": 0}, "between 1 and 2500"),
    ({"run_ids": ["r"], "metric_key": "m", "max_results": 2501}, "between 1 and 2500"),
    ({"run_ids": ["r"], "metric_key": "m", "start_step": 1}, "both must be specified"),
    ({"run_ids": ["r"], "metric_key": "m", "start_step": 5, "end_step": 1},
     "end_step must be greater"),
    ({"run_ids": ["r"], "metric_key": "m", "start_step": "x", "end_step": 1}, "start_step"),
])
def test_bulk_interval_bad_requests(api, params, fragment):
    r = api.get("metrics/get-history-bulk-interval", params)
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", fragment)
