"""Request-level errors: unknown endpoints, wrong methods, content types,
malformed / non-object / empty / oversize bodies, and the missing-parameter
error of every endpoint under both /api/2.0 and /ajax-api/2.0.

Reference (MLflow 2.9.2): handlers._get_request_json (Content-Type must be
application/json, mlflow/server/validation._validate_content_type),
_get_request_message (unparseable JSON is treated as {}), the per-handler
schemas (_assert_required -> "Missing value for required parameter 'x'"),
mlflow/exceptions.py (INVALID_PARAMETER_VALUE -> 400).
"""

import json

import pytest
import requests

from conftest import API_PREFIXES, assert_client_error_json, assert_error, raw_request


@pytest.mark.parametrize("prefix", API_PREFIXES + ("/api/2.0/mlflow-artifacts",))
def test_unknown_endpoint_is_404_json(server, prefix):
    for method in ("GET", "POST"):
        r = requests.request(method, f"{server.url}{prefix}/no/such/endpoint", json={},
                             timeout=60)
        assert r.status_code == 404, r.text
        body = r.json()
        assert body.get("error_code") in ("ENDPOINT_NOT_FOUND", "NOT_FOUND",
                                          "RESOURCE_DOES_NOT_EXIST"), body
        assert isinstance(body.get("message"), str)


def test_unknown_top_level_path_is_404(server):
    r = requests.get(f"{server.url}/api/2.0/nothing-here", timeout=60)
    assert r.status_code == 404


@pytest.mark.parametrize("prefix", API_PREFIXES)
@pytest.mark.parametrize("method,endpoint", [
    ("GET", "experiments/create"),
    ("GET", "runs/log-batch"),
    ("GET", "runs/search"),
    ("POST", "runs/get"),
    ("POST", "experiments/get"),
    ("POST", "metrics/get-history"),
    ("POST", "artifacts/list"),
    ("DELETE", "experiments/search"),
    ("PUT", "runs/create"),
])
def test_wrong_method_is_405(server, prefix, method, endpoint):
    r = requests.request(method, f"{server.url}{prefix}/{endpoint}", json={}, timeout=60)
    assert r.status_code == 405, r.text


def test_experiments_search_allows_get_and_post(api):
    assert api.get("experiments/search", {"max_results": 5}).status_code == 200
    assert api.post("experiments/search", {"max_results": 5}).status_code == 200


def test_post_without_content_type(api):
    r = api.post_raw("experiments/create", data=b'{"name": "nocontenttype"}')
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "Content-Type")


def test_post_with_wrong_content_type(api):
    r = api.post_raw("experiments/create", data=b'{"name": "textplain"}',
                     headers={"Content-Type": "text/plain"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "Content-Type")


def test_post_content_type_with_charset_ok(api):
    from conftest import unique
    r = api.post_raw("experiments/create", data=json.dumps({"name": unique("cs")}).encode(),
                     headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 200, r.text


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("body", [b"{", b'{"name": ', b"not json at all", b"{'name': 'x'}",
                                  b'{"name": "x",}', b"\xff\xfe\x00garbage"],
                         ids=["open", "truncated", "text", "single-quotes", "trailing-comma",
                              "binary"])
def test_malformed_json(api, body):
    # 2.9.2 treats an unparseable body as {} and then reports the missing
    # required field, 400 INVALID_PARAMETER_VALUE. A BAD_REQUEST 400 is as good.
    r = api.post_raw("experiments/create", data=body, headers=JSON)
    assert_error(r, 400, ("INVALID_PARAMETER_VALUE", "BAD_REQUEST"))


@pytest.mark.parametrize("body", [b"[1, 2]", b"5", b"true", b'["name", "x"]'],
                         ids=["array", "number", "bool", "array-str"])
def test_non_object_json(api, body):
    r = api.post_raw("experiments/create", data=body, headers=JSON)
    assert_error(r, 400, ("INVALID_PARAMETER_VALUE", "BAD_REQUEST"))


@pytest.mark.parametrize("body", [b"", b"null", b"{}"], ids=["empty", "null", "empty-object"])
def test_empty_body_reports_missing_field(api, body):
    r = api.post_raw("experiments/create", data=body, headers=JSON)
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "name")


def test_oversize_body_log_batch(api):
    run_id = api.create_run()["info"]["run_id"]
    metric = {"key": "m", "value": 1.0, "timestamp": 1, "step": 0}
    n = 20 * 1024 * 1024 // len(json.dumps(metric)) + 1
    body = json.dumps({"run_id": run_id, "metrics": [metric] * n}).encode()
    assert len(body) > 20 * 1024 * 1024
    try:
        r = api.post_raw("runs/log-batch", data=body, headers=JSON)
    except requests.ConnectionError:
        pytest.fail("server dropped the connection instead of answering a 4xx JSON error")
    assert_client_error_json(r)
    assert api.history(run_id, "m") == []


def test_oversize_garbage_body(api):
    body = b"x" * (20 * 1024 * 1024)
    try:
        r = api.post_raw("experiments/create", data=body, headers=JSON)
    except requests.ConnectionError:
        pytest.fail("server dropped the connection instead of answering a 4xx JSON error")
    assert_client_error_json(r)


def test_error_responses_are_json_content_type(api):
    r = api.get("experiments/get", {"experiment_id": "987654321"})
    assert r.status_code == 404
    assert r.headers.get("Content-Type", "").startswith("application/json")


def test_unknown_fields_are_ignored(api):
    # parse_dict(..., ignore_unknown_fields=True)
    from conftest import unique
    r = api.post("experiments/create", {"name": unique("unk"), "bogus_field": {"a": [1]}})
    assert r.status_code == 200, r.text


def test_double_encoded_json_string_body(api):
    # "Older clients may post their JSON double-encoded as strings" (handlers.py).
    from conftest import unique
    name = unique("dbl")
    body = json.dumps(json.dumps({"name": name})).encode()
    r = api.post_raw("experiments/create", data=body, headers=JSON)
    assert r.status_code == 200, r.text
    api.ok_get("experiments/get-by-name", {"experiment_name": name})


def test_get_with_repeated_and_bracket_query_keys(api):
    # GET query strings: a key given several times, or as key[0]=..., is a list
    # (querystring_parser + the repeated-field fix-up in _get_request_message).
    from conftest import unique
    names = sorted(unique("qk") for _ in range(3))
    for n in names:
        api.create_experiment(n)
    prefix = names[0].split("-")[0]
    r = api.s.get(api.url("experiments/search"), timeout=60,
                  params=[("max_results", "50000"), ("filter", f"name LIKE '{prefix}-%'"),
                          ("order_by[0]", "name DESC")])
    assert r.status_code == 200, r.text
    got = [e["name"] for e in r.json()["experiments"]]
    assert got == sorted(got, reverse=True) and set(names) <= set(got)


# Every endpoint, both prefixes: the missing-required-parameter error.
REQUIRED = [
    ("POST", "experiments/create", {}, "name"),
    ("GET", "experiments/get", None, "experiment_id"),
    ("GET", "experiments/get-by-name", None, "experiment_name"),
    ("POST", "experiments/update", {"new_name": "x"}, "experiment_id"),
    ("POST", "experiments/delete", {}, "experiment_id"),
    ("POST", "experiments/restore", {}, "experiment_id"),
    ("POST", "experiments/set-experiment-tag", {"key": "k", "value": "v"}, "experiment_id"),
    ("GET", "runs/get", None, "run_id"),
    ("POST", "runs/update", {"status": "FINISHED"}, "run_id"),
    ("POST", "runs/delete", {}, "run_id"),
    ("POST", "runs/restore", {}, "run_id"),
    ("POST", "runs/log-metric", {"key": "m", "value": 1, "timestamp": 1}, "run_id"),
    ("POST", "runs/log-parameter", {"key": "p", "value": "v"}, "run_id"),
    ("POST", "runs/log-batch", {"metrics": []}, "run_id"),
    ("POST", "runs/set-tag", {"key": "t", "value": "v"}, "run_id"),
    ("POST", "runs/delete-tag", {"key": "t"}, "run_id"),
    ("POST", "runs/log-inputs", {"datasets": []}, "run_id"),
    ("GET", "metrics/get-history", None, "run_id"),
    ("GET", "artifacts/list", None, "run_id"),
]


@pytest.mark.parametrize("method,endpoint,body,field", REQUIRED,
                         ids=[f"{m} {e}" for m, e, _b, _f in REQUIRED])
def test_missing_required_parameter(client, method, endpoint, body, field):
    r = client.post(endpoint, body) if method == "POST" else client.get(endpoint)
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", f"'{field}'")
    assert "Missing value for required parameter" in r.json()["message"]


def test_server_still_healthy_after_abuse(server):
    # A few raw protocol oddities, then the server must still answer.
    for raw in ["/api/2.0/mlflow/experiments/get?experiment_id=%", "/%%%",
                "/api/2.0/mlflow/runs/get?run_id=" + "a" * 10000]:
        code, _h, _b = raw_request(server.url, "GET", raw)
        assert 400 <= code < 500, (raw, code)
    assert requests.get(server.url + "/health", timeout=60).text.strip() == "OK"
