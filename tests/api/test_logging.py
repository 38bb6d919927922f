"""Logging: log-metric, log-parameter, log-batch, set-tag, delete-tag, log-inputs.

Reference (MLflow 2.9.2): handlers.py (_log_metric, _log_param, _log_batch,
_set_tag, _delete_tag, _log_inputs, _validate_param_against_schema),
validation.py (_validate_metric, _validate_param, _validate_tag,
_validate_batch_log_limits, _validate_param_keys_unique, path_not_unique,
MAX_* limits: key 250, param value 6000, tag value 5000 (8000 only from 2.17),
batch 1000 metrics / 100 params / 100 tags / 1000 total), sqlalchemy_store.py
(log_param "Changing param values is not allowed", sanitize_metric_value,
delete_tag, log_inputs).
"""

import json
import math
import threading

import pytest

from conftest import assert_error, metrics_dict, params_dict, tags_dict

MAX_FLOAT = 1.7976931348623157e308


@pytest.fixture
def run_id(client):
    return client.create_run()["info"]["run_id"]


# --------------------------------------------------------------------------
# log-metric
# --------------------------------------------------------------------------

def test_log_metric(client, run_id):
    assert client.ok_post("runs/log-metric", {"run_id": run_id, "key": "loss", "value": 0.25,
                                              "timestamp": 1000, "step": 3}) == {}
    m = metrics_dict(client.get_run(run_id))["loss"]
    assert m["value"] == 0.25 and m["timestamp"] == 1000 and m["step"] == 3


def test_log_metric_step_defaults_to_zero(client, run_id):
    client.ok_post("runs/log-metric", {"run_id": run_id, "key": "m", "value": 1,
                                       "timestamp": 5})
    assert metrics_dict(client.get_run(run_id))["m"].get("step", 0) == 0


def test_log_metric_run_uuid_alias(client, run_id):
    client.ok_post("runs/log-metric", {"run_uuid": run_id, "key": "m", "value": 2,
                                       "timestamp": 5})
    assert metrics_dict(client.get_run(run_id))["m"]["value"] == 2


def test_latest_metric_is_max_step_then_timestamp(client, run_id):
    # _update_latest_metrics_if_necessary compares (step, timestamp, value).
    for value, ts, step in [(1.0, 100, 5), (2.0, 999, 4), (3.0, 50, 5), (0.5, 100, 5)]:
        client.ok_post("runs/log-metric", {"run_id": run_id, "key": "m", "value": value,
                                           "timestamp": ts, "step": step})
    m = metrics_dict(client.get_run(run_id))["m"]
    assert (m["step"], m["timestamp"], m["value"]) == (5, 100, 1.0)


@pytest.mark.parametrize("value,check", [
    ("NaN", lambda v: math.isnan(float(v))),
    ("Infinity", lambda v: float(v) >= MAX_FLOAT),
    ("-Infinity", lambda v: float(v) <= -MAX_FLOAT),
    ("1.5", lambda v: float(v) == 1.5),
    (-0.0, lambda v: float(v) == 0.0),
    (1e300, lambda v: float(v) == 1e300),
    (-42, lambda v: float(v) == -42.0),
], ids=["nan", "inf", "-inf", "numeric-string", "negzero", "huge", "negint"])
def test_log_metric_special_values(client, run_id, value, check):
    # Protobuf's JSON parser accepts "NaN"/"Infinity"/"-Infinity" and numeric
    # strings for doubles. The SQL store keeps NaN (is_nan) and clamps +-inf to
    # +-DBL_MAX (sanitize_metric_value), so +-Infinity may come back either way.
    client.ok_post("runs/log-metric", {"run_id": run_id, "key": "s", "value": value,
                                       "timestamp": 1, "step": 0})
    got = metrics_dict(client.get_run(run_id))["s"]["value"]
    assert check(got), got
    hist = client.history(run_id, "s")
    assert len(hist) == 1 and check(hist[0]["value"])


def test_log_metric_negative_step_allowed(client, run_id):
    client.ok_post("runs/log-metric", {"run_id": run_id, "key": "m", "value": 1,
                                       "timestamp": 1, "step": -7})
    assert client.history(run_id, "m")[0]["step"] == -7


@pytest.mark.parametrize("patch,fragment", [
    ({"run_id": None}, "run_id"),
    ({"key": None}, "key"),
    ({"key": ""}, "key"),
    ({"value": None}, "value"),
    ({"timestamp": None}, "timestamp"),
    ({"value": "abc"}, "value"),
    ({"timestamp": "yesterday"}, "timestamp"),
    ({"step": "two"}, "step"),
    ({"run_id": 123}, "run_id"),
    ({"key": 5}, "key"),
], ids=["no-run", "no-key", "empty-key", "no-value", "no-ts", "value-str",
        "ts-str", "step-str", "run-int", "key-int"])
def test_log_metric_invalid_request(client, run_id, patch, fragment):
    body = {"run_id": run_id, "key": "m", "value": 1.0, "timestamp": 1, "step": 0}
    for k, v in patch.items():
        if v is None:
            body.pop(k)
        else:
            body[k] = v
    r = client.post("runs/log-metric", body)
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", fragment)


def test_log_metric_negative_timestamp(client, run_id):
    r = client.post("runs/log-metric", {"run_id": run_id, "key": "m", "value": 1,
                                        "timestamp": -1})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "timestamp")


BAD_NAMES = ["bad!name", "semi;colon", "a/../b", "../up", "/abs", "..", ".", "a//b", "./a",
             "a/", "q'uote", "back\\slash", "tab\tname", "dollar$"]


@pytest.mark.parametrize("key", BAD_NAMES)
def test_log_metric_invalid_name(client, run_id, key):
    r = client.post("runs/log-metric", {"run_id": run_id, "key": key, "value": 1,
                                        "timestamp": 1})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "metric name")


GOOD_NAMES = ["a/b", "a.b", "a-b c", "under_score", "UPPER", "123", "ключ", "名前", "x" * 250,
              "a/b/c.d-e f"]


@pytest.mark.parametrize("key", GOOD_NAMES, ids=lambda k: k[:20])
def test_log_metric_valid_names(client, run_id, key):
    client.ok_post("runs/log-metric", {"run_id": run_id, "key": key, "value": 1,
                                       "timestamp": 1})
    assert key in metrics_dict(client.get_run(run_id))


def test_log_metric_key_too_long(client, run_id):
    r = client.post("runs/log-metric", {"run_id": run_id, "key": "k" * 251, "value": 1,
                                        "timestamp": 1})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "250")


def test_log_metric_unknown_run(client):
    r = client.post("runs/log-metric", {"run_id": "a" * 32, "key": "m", "value": 1,
                                        "timestamp": 1})
    assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST")


def test_log_same_metric_twice_is_idempotent(client, run_id):
    body = {"run_id": run_id, "key": "dup", "value": 1.0, "timestamp": 7, "step": 1}
    client.ok_post("runs/log-metric", body)
    client.ok_post("runs/log-metric", body)
    assert len(client.history(run_id, "dup")) == 1


# --------------------------------------------------------------------------
# log-parameter
# --------------------------------------------------------------------------

def test_log_param(client, run_id):
    assert client.ok_post("runs/log-parameter", {"run_id": run_id, "key": "lr",
                                                 "value": "0.01"}) == {}
    assert params_dict(client.get_run(run_id))["lr"] == "0.01"


def test_log_param_same_value_twice_ok(client, run_id):
    client.ok_post("runs/log-parameter", {"run_id": run_id, "key": "p", "value": "v"})
    client.ok_post("runs/log-parameter", {"run_id": run_id, "key": "p", "value": "v"})
    assert params_dict(client.get_run(run_id)) == {"p": "v"}


def test_log_param_change_value_rejected(client, run_id):
    client.ok_post("runs/log-parameter", {"run_id": run_id, "key": "p", "value": "v1"})
    r = client.post("runs/log-parameter", {"run_id": run_id, "key": "p", "value": "v2"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "Changing param values is not allowed")
    assert params_dict(client.get_run(run_id))["p"] == "v1"


def test_log_param_value_limits(client, run_id):
    client.ok_post("runs/log-parameter", {"run_id": run_id, "key": "big", "value": "v" * 6000})
    assert params_dict(client.get_run(run_id))["big"] == "v" * 6000
    r = client.post("runs/log-parameter", {"run_id": run_id, "key": "big2",
                                           "value": "v" * 6001})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "6000")


def test_log_param_value_limit_counts_characters_not_bytes(client, run_id):
    # len() of a Python str: 6000 multi-byte characters are within the limit.
    client.ok_post("runs/log-parameter", {"run_id": run_id, "key": "u", "value": "é" * 6000})
    assert params_dict(client.get_run(run_id))["u"] == "é" * 6000


def test_log_param_key_limit(client, run_id):
    client.ok_post("runs/log-parameter", {"run_id": run_id, "key": "k" * 250, "value": "v"})
    r = client.post("runs/log-parameter", {"run_id": run_id, "key": "k" * 251, "value": "v"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "250")


@pytest.mark.parametrize("key", BAD_NAMES)
def test_log_param_invalid_name(client, run_id, key):
    r = client.post("runs/log-parameter", {"run_id": run_id, "key": key, "value": "v"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "parameter name")


@pytest.mark.parametrize("body,fragment", [
    ({"key": "p", "value": "v"}, "run_id"),
    ({"run_id": "RID", "value": "v"}, "key"),
    ({"run_id": "RID", "key": "", "value": "v"}, "key"),
    ({"run_id": "RID", "key": "p", "value": 5}, "value"),
    ({"run_id": "RID", "key": 5, "value": "v"}, "key"),
])
def test_log_param_invalid_request(client, run_id, body, fragment):
    body = {k: (run_id if v == "RID" else v) for k, v in body.items()}
    assert_error(client.post("runs/log-parameter", body), 400, "INVALID_PARAMETER_VALUE",
                 fragment)


def test_log_param_unknown_run(client):
    r = client.post("runs/log-parameter", {"run_id": "b" * 32, "key": "p", "value": "v"})
    assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST")


def test_param_unicode_and_shell_round_trip(client, run_id):
    value = "ünï 名 🚀 $(rm -rf /); `id` && echo 'x' \"y\" \\ \n\t|<>*?%s%n\x01"
    client.ok_post("runs/log-parameter", {"run_id": run_id, "key": "ключ", "value": value})
    assert params_dict(client.get_run(run_id))["ключ"] == value


# --------------------------------------------------------------------------
# set-tag / delete-tag
# --------------------------------------------------------------------------

def test_set_tag_overwrites(client, run_id):
    assert client.ok_post("runs/set-tag", {"run_id": run_id, "key": "t", "value": "1"}) == {}
    client.ok_post("runs/set-tag", {"run_id": run_id, "key": "t", "value": "2"})
    run = client.get_run(run_id)
    assert tags_dict(run)["t"] == "2"
    assert [t["key"] for t in run["data"]["tags"]].count("t") == 1


def test_set_tag_run_name_updates_run_name(client, run_id):
    client.ok_post("runs/set-tag", {"run_id": run_id, "key": "mlflow.runName",
                                    "value": "renamed"})
    assert client.get_run(run_id)["info"]["run_name"] == "renamed"


def test_set_tag_value_limits(client, run_id):
    # MLflow 2.9.2: MAX_TAG_VAL_LENGTH = 5000 (raised to 8000 only in 2.17).
    client.ok_post("runs/set-tag", {"run_id": run_id, "key": "t", "value": "v" * 5000})
    assert tags_dict(client.get_run(run_id))["t"] == "v" * 5000
    r = client.post("runs/set-tag", {"run_id": run_id, "key": "t2", "value": "v" * 5001})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "5000")
    r = client.post("runs/set-tag", {"run_id": run_id, "key": "k" * 251, "value": "v"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "250")


@pytest.mark.parametrize("key", BAD_NAMES)
def test_set_tag_invalid_name(client, run_id, key):
    r = client.post("runs/set-tag", {"run_id": run_id, "key": key, "value": "v"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "tag name")


@pytest.mark.parametrize("body,fragment", [
    ({"key": "t", "value": "v"}, "run_id"),
    ({"run_id": "RID", "value": "v"}, "key"),
    ({"run_id": "RID", "key": "t", "value": 1}, "value"),
])
def test_set_tag_invalid_request(client, run_id, body, fragment):
    body = {k: (run_id if v == "RID" else v) for k, v in body.items()}
    assert_error(client.post("runs/set-tag", body), 400, "INVALID_PARAMETER_VALUE", fragment)


def test_set_tag_unknown_run(client):
    r = client.post("runs/set-tag", {"run_id": "c" * 32, "key": "t", "value": "v"})
    assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST")


def test_delete_tag(client, run_id):
    client.ok_post("runs/set-tag", {"run_id": run_id, "key": "gone", "value": "v"})
    assert client.ok_post("runs/delete-tag", {"run_id": run_id, "key": "gone"}) == {}
    assert "gone" not in tags_dict(client.get_run(run_id))


def test_delete_tag_missing_tag_is_404(client, run_id):
    r = client.post("runs/delete-tag", {"run_id": run_id, "key": "never-set"})
    assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST", "never-set")


def test_delete_tag_unknown_run(client):
    r = client.post("runs/delete-tag", {"run_id": "d" * 32, "key": "t"})
    assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST")


def test_delete_tag_deleted_run(client, run_id):
    client.ok_post("runs/set-tag", {"run_id": run_id, "key": "t", "value": "v"})
    client.ok_post("runs/delete", {"run_id": run_id})
    r = client.post("runs/delete-tag", {"run_id": run_id, "key": "t"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "active")


@pytest.mark.parametrize("body,fragment", [
    ({"key": "t"}, "run_id"),
    ({"run_id": "RID"}, "key"),
    ({"run_id": "RID", "key": ""}, "key"),
])
def test_delete_tag_invalid_request(client, run_id, body, fragment):
    body = {k: (run_id if v == "RID" else v) for k, v in body.items()}
    assert_error(client.post("runs/delete-tag", body), 400, "INVALID_PARAMETER_VALUE", fragment)


# --------------------------------------------------------------------------
# log-batch
# --------------------------------------------------------------------------

def m(key, value=1.0, ts=1, step=0):
    return {"key": key, "value": value, "timestamp": ts, "step": step}


def kv(key, value="v"):
    return {"key": key, "value": value}


def test_log_batch_all_kinds(client, run_id):
    assert client.log_batch(run_id,
                            metrics=[m("a", 1.0, 10, 0), m("a", 2.0, 20, 1), m("b", 3.0)],
                            params=[kv("p1", "x"), kv("p2", "y")],
                            tags=[kv("t1", "z")]) == {}
    run = client.get_run(run_id)
    assert params_dict(run) == {"p1": "x", "p2": "y"}
    assert tags_dict(run)["t1"] == "z"
    ms = metrics_dict(run)
    assert ms["a"]["value"] == 2.0 and ms["b"]["value"] == 3.0
    assert sorted(x["value"] for x in client.history(run_id, "a")) == [1.0, 2.0]


def test_log_batch_empty_is_ok(client, run_id):
    assert client.ok_post("runs/log-batch", {"run_id": run_id}) == {}


def test_log_batch_at_limits(client, run_id):
    client.log_batch(run_id, metrics=[m(f"m{i}", i) for i in range(900)],
                     params=[kv(f"p{i}") for i in range(50)],
                     tags=[kv(f"t{i}") for i in range(50)])
    run = client.get_run(run_id)
    assert len(metrics_dict(run)) == 900
    assert len(params_dict(run)) == 50


def test_log_batch_max_params_and_tags(client, run_id):
    client.log_batch(run_id, params=[kv(f"p{i}") for i in range(100)],
                     tags=[kv(f"t{i}") for i in range(100)])
    run = client.get_run(run_id)
    assert len(params_dict(run)) == 100
    assert len([k for k in tags_dict(run) if k.startswith("t")]) == 100


def test_log_batch_1000_metrics(client, run_id):
    client.log_batch(run_id, metrics=[m("same", i, i, i) for i in range(1000)])
    assert len(client.history(run_id, "same")) == 1000


@pytest.mark.parametrize("counts,fragment", [
    ((1001, 0, 0), "1000 metrics"),
    ((0, 101, 0), "100 params"),
    ((0, 0, 101), "100 tags"),
    ((900, 100, 1), "1000 metrics, params, and tags"),
], ids=["metrics", "params", "tags", "total"])
def test_log_batch_over_limits(client, run_id, counts, fragment):
    nm, np_, nt = counts
    r = client.post("runs/log-batch", {
        "run_id": run_id,
        "metrics": [m(f"m{i}") for i in range(nm)],
        "params": [kv(f"p{i}") for i in range(np_)],
        "tags": [kv(f"t{i}") for i in range(nt)],
    })
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", fragment)
    # Nothing was written.
    run = client.get_run(run_id)
    assert not params_dict(run) and not metrics_dict(run)


def test_log_batch_over_1mb_of_valid_entities_is_accepted(client, run_id):
    # handlers._log_batch calls _validate_batch_log_api_req(_get_request_json()):
    # in 2.9.2 that is len() of the *parsed* dict, so a >1 MB request made of
    # valid entities (100 params x 6000 chars + 100 tags x 5000 chars) passes;
    # the MLflow client sends such batches (it splits by count only).
    params = [kv(f"p{i}", "v" * 6000) for i in range(100)]
    tags = [kv(f"t{i}", "w" * 5000) for i in range(100)]
    body = {"run_id": run_id, "params": params, "tags": tags}
    assert len(json.dumps(body)) > 1_000_000
    client.ok_post("runs/log-batch", body)
    assert len(params_dict(client.get_run(run_id))) == 100


def test_log_batch_duplicate_param_keys(client, run_id):
    r = client.post("runs/log-batch", {"run_id": run_id,
                                       "params": [kv("p", "1"), kv("p", "2")]})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "Duplicate parameter keys")


def test_log_batch_duplicate_param_keys_same_value_also_rejected(client, run_id):
    r = client.post("runs/log-batch", {"run_id": run_id,
                                       "params": [kv("p", "1"), kv("p", "1")]})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "Duplicate parameter keys")


def test_log_batch_changing_param_rejected(client, run_id):
    client.log_batch(run_id, params=[kv("p", "1")])
    client.log_batch(run_id, params=[kv("p", "1")])  # same value: fine
    r = client.post("runs/log-batch", {"run_id": run_id, "params": [kv("p", "2")]})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "Changing param values is not allowed")
    assert params_dict(client.get_run(run_id))["p"] == "1"


def test_log_batch_duplicate_tags_last_wins(client, run_id):
    client.log_batch(run_id, tags=[kv("t", "1"), kv("t", "2")])
    assert tags_dict(client.get_run(run_id))["t"] == "2"


def test_log_batch_nan_and_infinity_as_strings(client, run_id):
    client.log_batch(run_id, metrics=[m("nan", "NaN"), m("inf", "Infinity"),
                                      m("ninf", "-Infinity")])
    ms = metrics_dict(client.get_run(run_id))
    assert math.isnan(float(ms["nan"]["value"]))
    assert float(ms["inf"]["value"]) >= MAX_FLOAT
    assert float(ms["ninf"]["value"]) <= -MAX_FLOAT


@pytest.mark.parametrize("body,fragment", [
    ({"metrics": [m("ok", 1, -5)]}, "timestamp"),
    ({"metrics": [m("bad!key")]}, "metric name"),
    ({"metrics": [m("a/../b")]}, "metric name"),
    ({"metrics": [m("k" * 251)]}, "250"),
    ({"params": [kv("bad!key")]}, "parameter name"),
    ({"params": [kv("k" * 251)]}, "250"),
    ({"params": [kv("p", "v" * 6001)]}, "6000"),
    ({"tags": [kv("bad!key")]}, "tag name"),
    ({"tags": [kv("t", "v" * 5001)]}, "5000"),
    # 2.9.2 names the list ("Invalid value [...] for parameter 'metrics'");
    # newer MLflow names the field ("metrics[0].key"): accept either.
    ({"metrics": [{"value": 1, "timestamp": 1}]}, ("metrics", "key")),
    ({"metrics": [{"key": "m", "timestamp": 1}]}, ("metrics", "value")),
    ({"metrics": [{"key": "m", "value": 1}]}, ("metrics", "timestamp")),
    ({"params": [{"value": "v"}]}, ("params", "key")),
    ({"tags": [{"value": "v"}]}, ("tags", "key")),
    ({"metrics": "notalist"}, "metrics"),
    ({"params": {"k": "v"}}, "params"),
    ({"tags": 5}, "tags"),
], ids=["neg-ts", "bad-metric", "path-metric", "long-metric", "bad-param", "long-param-key",
        "long-param-val", "bad-tag", "long-tag-val", "metric-nokey", "metric-novalue",
        "metric-nots", "param-nokey", "tag-nokey", "metrics-str", "params-obj", "tags-int"])
def test_log_batch_invalid(client, run_id, body, fragment):
    r = client.post("runs/log-batch", dict(body, run_id=run_id))
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", fragment)
    assert not metrics_dict(client.get_run(run_id))


def test_log_batch_non_numeric_metric_value(client, run_id):
    r = client.post("runs/log-batch", {"run_id": run_id, "metrics": [m("x", "abc")]})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE")
    assert "x" not in metrics_dict(client.get_run(run_id))


@pytest.mark.parametrize("body,fragment", [
    ({}, "run_id"),
    ({"run_id": ""}, "run_id"),
    ({"run_id": 42}, "run_id"),
])
def test_log_batch_missing_run_id(client, body, fragment):
    assert_error(client.post("runs/log-batch", body), 400, "INVALID_PARAMETER_VALUE", fragment)


def test_log_batch_invalid_run_id_pattern(client):
    # sqlalchemy_store.log_batch calls _validate_run_id first.
    r = client.post("runs/log-batch", {"run_id": "bad!id", "metrics": [m("a")]})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "Invalid run ID")


def test_log_batch_unknown_run(client):
    r = client.post("runs/log-batch", {"run_id": "e" * 32, "metrics": [m("a")]})
    assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST")


def test_log_batch_unicode_and_shell_round_trip(client, run_id):
    nasty = "ünï 名 🚀 $(rm -rf /); `id` && 'x' \"y\" \\ |<>*?"
    client.log_batch(run_id, params=[kv("ключ", nasty)], tags=[kv("名前", nasty)],
                     metrics=[m("метрика", 1.5)])
    run = client.get_run(run_id)
    assert params_dict(run)["ключ"] == nasty
    assert tags_dict(run)["名前"] == nasty
    assert metrics_dict(run)["метрика"]["value"] == 1.5


# --------------------------------------------------------------------------
# log-inputs
# --------------------------------------------------------------------------

def dataset(name="ds", digest="abc123", context=None, **extra):
    d = {"name": name, "digest": digest, "source_type": "local",
         "source": json.dumps({"uri": "/data/x.csv"}),
         "schema": json.dumps({"mlflow_colspec": []}), "profile": json.dumps({"rows": 10})}
    d.update(extra)
    tags = [] if context is None else [{"key": "mlflow.data.context", "value": context}]
    return {"tags": tags, "dataset": d}


def test_log_inputs_appear_in_get_run(client, run_id):
    assert client.ok_post("runs/log-inputs", {"run_id": run_id, "datasets": [
        dataset("train", "d1", "training"), dataset("eval", "d2", "eval")]}) == {}
    inputs = client.get_run(run_id)["inputs"]["dataset_inputs"]
    by_name = {i["dataset"]["name"]: i for i in inputs}
    assert set(by_name) == {"train", "eval"}
    tr = by_name["train"]
    assert tr["dataset"]["digest"] == "d1"
    assert tr["dataset"]["source_type"] == "local"
    assert json.loads(tr["dataset"]["source"]) == {"uri": "/data/x.csv"}
    assert json.loads(tr["dataset"]["profile"]) == {"rows": 10}
    assert {t["key"]: t["value"] for t in tr["tags"]} == {"mlflow.data.context": "training"}


def test_log_inputs_dedup(client, run_id):
    client.ok_post("runs/log-inputs", {"run_id": run_id, "datasets": [dataset("x", "d")]})
    client.ok_post("runs/log-inputs", {"run_id": run_id, "datasets": [dataset("x", "d"),
                                                                      dataset("x", "d")]})
    inputs = client.get_run(run_id)["inputs"]["dataset_inputs"]
    assert len(inputs) == 1


def test_log_inputs_empty_list_ok(client, run_id):
    client.ok_post("runs/log-inputs", {"run_id": run_id, "datasets": []})


@pytest.mark.parametrize("body,fragment", [
    ({"datasets": []}, "run_id"),
    ({"run_id": "RID"}, "datasets"),
    ({"run_id": "RID", "datasets": "x"}, "datasets"),
])
def test_log_inputs_invalid_request(client, run_id, body, fragment):
    body = {k: (run_id if v == "RID" else v) for k, v in body.items()}
    assert_error(client.post("runs/log-inputs", body), 400, "INVALID_PARAMETER_VALUE", fragment)


@pytest.mark.parametrize("ds", [
    dataset(digest="d" * 37),
    dataset(name="n" * 501),
], ids=["digest-37", "name-501"])
def test_log_inputs_limits(client, run_id, ds):
    r = client.post("runs/log-inputs", {"run_id": run_id, "datasets": [ds]})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE")


def test_log_inputs_unknown_run(client):
    r = client.post("runs/log-inputs", {"run_id": "f" * 32, "datasets": [dataset()]})
    assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST")


def test_log_inputs_deleted_run(client, run_id):
    client.ok_post("runs/delete", {"run_id": run_id})
    r = client.post("runs/log-inputs", {"run_id": run_id, "datasets": [dataset()]})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "active")


# --------------------------------------------------------------------------
# Concurrency
# --------------------------------------------------------------------------

def test_concurrent_metric_logging_all_land(api):
    run_id = api.create_run()["info"]["run_id"]
    n_threads, per_thread = 8, 40
    errors = []
    barrier = threading.Barrier(n_threads)

    def worker(t):
        from conftest import Client
        c = Client(api.base, api.prefix)
        barrier.wait()
        for i in range(per_thread):
            step = t * per_thread + i
            r = c.post("runs/log-metric", {"run_id": run_id, "key": "conc", "value": step,
                                           "timestamp": 1000 + step, "step": step})
            if r.status_code != 200:
                errors.append((r.status_code, r.text[:300]))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    hist = api.history(run_id, "conc")
    assert sorted(h["step"] for h in hist) == list(range(n_threads * per_thread))
    latest = metrics_dict(api.get_run(run_id))["conc"]
    assert latest["step"] == n_threads * per_thread - 1


def test_concurrent_batches_and_params_all_land(api):
    run_id = api.create_run()["info"]["run_id"]
    errors = []

    def worker(t):
        from conftest import Client
        c = Client(api.base, api.prefix)
        for i in range(10):
            r = c.post("runs/log-batch", {"run_id": run_id,
                                          "metrics": [m(f"k{t}", i, i, i)],
                                          "params": [kv(f"p{t}_{i}", str(i))],
                                          "tags": [kv(f"t{t}", str(i))]})
            if r.status_code != 200:
                errors.append((r.status_code, r.text[:300]))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    run = api.get_run(run_id)
    assert len(params_dict(run)) == 80
    for t in range(8):
        assert len(api.history(run_id, f"k{t}")) == 10
        assert tags_dict(run)[f"t{t}"] in {str(i) for i in range(10)}
