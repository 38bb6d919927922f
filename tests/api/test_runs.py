"""Runs: create / get / update / delete / restore, run names, artifact URIs.

Reference: mlflow/server/handlers.py (_create_run, _get_run, _update_run,
_delete_run, _restore_run) and sqlalchemy_store.py (create_run, _get_run,
update_run_info, delete_run, restore_run, _check_run_is_active), MLflow 2.9.2.
"""

import re

import pytest

from conftest import assert_error, now_ms, tags_dict, unique

RUN_ID_RE = re.compile(r"^[a-zA-Z0-9][\w\-]{0,255}$")


def test_create_run_shape(client):
    exp_id = client.create_experiment()
    t0 = now_ms()
    run = client.create_run(exp_id, start_time=t0, run_name="first",
                            tags=[{"key": "t1", "value": "v1"}], user_id="alice")
    info = run["info"]
    assert RUN_ID_RE.match(info["run_id"])
    assert info["run_uuid"] == info["run_id"]
    assert info["experiment_id"] == exp_id
    assert info["run_name"] == "first"
    assert info["status"] == "RUNNING"
    assert info["start_time"] == t0
    assert "end_time" not in info or info["end_time"] in (None, 0)
    assert info["lifecycle_stage"] == "active"
    assert info["user_id"] == "alice"
    assert info["artifact_uri"] == f"mlflow-artifacts:/{exp_id}/{info['run_id']}/artifacts"
    tags = tags_dict(run)
    assert tags["t1"] == "v1"
    assert tags["mlflow.runName"] == "first"


def test_create_run_default_experiment(client):
    run = client.create_run("0")
    assert run["info"]["experiment_id"] == "0"
    assert run["info"]["artifact_uri"] == f"mlflow-artifacts:/0/{run['info']['run_id']}/artifacts"


def test_run_ids_unique(client):
    exp_id = client.create_experiment()
    ids = {client.create_run(exp_id)["info"]["run_id"] for _ in range(20)}
    assert len(ids) == 20


def test_get_run_round_trip(client):
    exp_id = client.create_experiment()
    created = client.create_run(exp_id, run_name="rt")
    got = client.get_run(created["info"]["run_id"])
    assert got["info"] == created["info"]
    assert tags_dict(got) == tags_dict(created)


def test_get_run_accepts_run_uuid_alias(client):
    rid = client.create_run()["info"]["run_id"]
    r = client.ok_get("runs/get", {"run_uuid": rid})
    assert r["run"]["info"]["run_id"] == rid


def test_run_name_from_tag(client):
    run = client.create_run(tags=[{"key": "mlflow.runName", "value": "from-tag"}])
    assert run["info"]["run_name"] == "from-tag"
    assert client.get_run(run["info"]["run_id"])["info"]["run_name"] == "from-tag"


def test_run_name_and_same_tag(client):
    run = client.create_run(run_name="same", tags=[{"key": "mlflow.runName", "value": "same"}])
    assert run["info"]["run_name"] == "same"
    assert [t["key"] for t in run["data"]["tags"]].count("mlflow.runName") == 1


def test_run_name_conflicting_with_tag_is_400(client):
    r = client.post("runs/create", {"experiment_id": "0", "start_time": now_ms(),
                                    "run_name": "a",
                                    "tags": [{"key": "mlflow.runName", "value": "b"}]})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "mlflow.runName")


def test_run_name_generated_when_absent(client):
    run = client.create_run()
    name = run["info"]["run_name"]
    assert isinstance(name, str) and name
    assert tags_dict(run)["mlflow.runName"] == name


def test_create_run_unknown_experiment(client):
    r = client.post("runs/create", {"experiment_id": "987654321", "start_time": now_ms()})
    assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST", "987654321")


@pytest.mark.parametrize("body,fragment", [
    ({"experiment_id": "0", "start_time": "abc"}, "start_time"),
    ({"experiment_id": "0", "start_time": 1, "run_name": 5}, "run_name"),
    ({"experiment_id": "0", "start_time": 1, "tags": "x"}, "tags"),
], ids=["start_time-str", "run_name-int", "tags-str"])
def test_create_run_wrong_types(client, body, fragment):
    r = client.post("runs/create", body)
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", fragment)


def test_get_run_missing_param(client):
    assert_error(client.get("runs/get"), 400, "INVALID_PARAMETER_VALUE", "run_id")


@pytest.mark.parametrize("run_id", ["0123456789abcdef0123456789abcdef", "bad!id", "x" * 300])
def test_get_run_nonexistent(client, run_id):
    # The SQL store does not pattern-check run ids on get: not found is 404.
    r = client.get("runs/get", {"run_id": run_id})
    assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST")


@pytest.mark.parametrize("status", ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"])
def test_update_status(client, status):
    rid = client.create_run()["info"]["run_id"]
    end = now_ms() + 5
    r = client.ok_post("runs/update", {"run_id": rid, "status": status, "end_time": end})
    assert r["run_info"]["status"] == status
    assert r["run_info"]["end_time"] == end
    assert r["run_info"]["run_id"] == rid
    info = client.get_run(rid)["info"]
    assert info["status"] == status and info["end_time"] == end


def test_update_partial_keeps_other_fields(client):
    rid = client.create_run(run_name="keep")["info"]["run_id"]
    client.ok_post("runs/update", {"run_id": rid, "status": "FINISHED"})
    info = client.get_run(rid)["info"]
    assert info["status"] == "FINISHED"
    assert info["run_name"] == "keep"
    client.ok_post("runs/update", {"run_id": rid, "end_time": 12345})
    info = client.get_run(rid)["info"]
    assert info["status"] == "FINISHED" and info["end_time"] == 12345


def test_update_run_name_updates_tag(client):
    rid = client.create_run(run_name="old")["info"]["run_id"]
    r = client.ok_post("runs/update", {"run_id": rid, "run_name": "new"})
    assert r["run_info"]["run_name"] == "new"
    run = client.get_run(rid)
    assert run["info"]["run_name"] == "new"
    assert tags_dict(run)["mlflow.runName"] == "new"


def test_update_accepts_run_uuid(client):
    rid = client.create_run()["info"]["run_id"]
    client.ok_post("runs/update", {"run_uuid": rid, "status": "KILLED"})
    assert client.get_run(rid)["info"]["status"] == "KILLED"


@pytest.mark.parametrize("body,fragment", [
    ({"status": "FINISHED"}, "run_id"),
    ({"run_id": ""}, "run_id"),
    ({"run_id": 12}, "run_id"),
], ids=["missing", "empty", "int"])
def test_update_invalid(client, body, fragment):
    assert_error(client.post("runs/update", body), 400, "INVALID_PARAMETER_VALUE", fragment)


def test_update_end_time_wrong_type(client):
    rid = client.create_run()["info"]["run_id"]
    r = client.post("runs/update", {"run_id": rid, "end_time": "soon"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "end_time")


def test_update_nonexistent(client):
    r = client.post("runs/update", {"run_id": "f" * 32, "status": "FINISHED"})
    assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST")


def test_update_deleted_run_rejected(client):
    rid = client.create_run()["info"]["run_id"]
    client.ok_post("runs/delete", {"run_id": rid})
    r = client.post("runs/update", {"run_id": rid, "status": "FINISHED"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "active")


def test_delete_and_restore_run(client):
    exp_id = client.create_experiment()
    rid = client.create_run(exp_id)["info"]["run_id"]
    assert client.ok_post("runs/delete", {"run_id": rid}) == {}
    assert client.get_run(rid)["info"]["lifecycle_stage"] == "deleted"
    assert client.search_runs([exp_id]).get("runs", []) == []
    assert client.ok_post("runs/restore", {"run_id": rid}) == {}
    assert client.get_run(rid)["info"]["lifecycle_stage"] == "active"
    assert [r["info"]["run_id"] for r in client.search_runs([exp_id])["runs"]] == [rid]


def test_delete_twice_and_restore_twice_are_ok(client):
    # delete_run / restore_run do not check the current lifecycle stage.
    rid = client.create_run()["info"]["run_id"]
    client.ok_post("runs/delete", {"run_id": rid})
    client.ok_post("runs/delete", {"run_id": rid})
    client.ok_post("runs/restore", {"run_id": rid})
    client.ok_post("runs/restore", {"run_id": rid})
    assert client.get_run(rid)["info"]["lifecycle_stage"] == "active"


@pytest.mark.parametrize("endpoint", ["runs/delete", "runs/restore"])
def test_delete_restore_nonexistent(client, endpoint):
    assert_error(client.post(endpoint, {"run_id": "e" * 32}), 404, "RESOURCE_DOES_NOT_EXIST")


@pytest.mark.parametrize("endpoint", ["runs/delete", "runs/restore"])
@pytest.mark.parametrize("body", [{}, {"run_id": ""}, {"run_id": 5}], ids=["missing", "empty", "int"])
def test_delete_restore_invalid(client, endpoint, body):
    assert_error(client.post(endpoint, body), 400, "INVALID_PARAMETER_VALUE", "run_id")


@pytest.mark.parametrize("endpoint,body", [
    ("runs/log-metric", {"key": "m", "value": 1.0, "timestamp": 1}),
    ("runs/log-parameter", {"key": "p", "value": "v"}),
    ("runs/set-tag", {"key": "t", "value": "v"}),
    ("runs/log-batch", {"metrics": [{"key": "m", "value": 1, "timestamp": 1}]}),
])
def test_writes_to_deleted_run_rejected(client, endpoint, body):
    rid = client.create_run()["info"]["run_id"]
    client.ok_post("runs/delete", {"run_id": rid})
    r = client.post(endpoint, dict(body, run_id=rid))
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "active")


def test_run_name_unicode_and_shell_round_trip(client):
    name = "ünï 名前 🚀 $(id); `rm -rf /` && 'q' \"dq\" | > < \\ " + unique("")
    rid = client.create_run(run_name=name)["info"]["run_id"]
    run = client.get_run(rid)
    assert run["info"]["run_name"] == name
    assert tags_dict(run)["mlflow.runName"] == name


def test_int64_fields_are_json_numbers(client):
    # MLflow's message_to_json emits int64 fields as JSON numbers, not strings.
    t = 1700000000123
    rid = client.create_run(start_time=t)["info"]["run_id"]
    client.ok_post("runs/log-metric", {"run_id": rid, "key": "m", "value": 1.5,
                                       "timestamp": t, "step": 9007199254740993})
    run = client.get_run(rid)
    assert run["info"]["start_time"] == t and isinstance(run["info"]["start_time"], int)
    m = run["data"]["metrics"][0]
    assert isinstance(m["timestamp"], int) and m["timestamp"] == t
    assert m["step"] == 9007199254740993
