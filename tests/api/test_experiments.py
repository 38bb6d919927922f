"""Experiments: create / get / get-by-name / update / delete / restore /
set-experiment-tag (search is in test_search.py).

Reference: mlflow/server/handlers.py (_create_experiment, _get_experiment, ...),
mlflow/store/tracking/sqlalchemy_store.py (create_experiment, _get_experiment,
delete/restore/rename_experiment, set_experiment_tag), MLflow 2.9.2.
"""

import pytest

from conftest import PG_BASE, assert_error, tags_dict, unique


def test_health(server):
    import requests
    r = requests.get(server.url + "/health", timeout=30)
    assert r.status_code == 200
    assert r.text.strip() == "OK"


def test_default_experiment_exists(client):
    exp = client.get_experiment("0")
    assert exp["experiment_id"] == "0"
    assert exp["name"] == "Default"
    assert exp["lifecycle_stage"] == "active"
    # --artifacts-destination with no --default-artifact-root: proxied root.
    assert exp["artifact_location"] == "mlflow-artifacts:/0"


def test_default_experiment_by_name(client):
    exp = client.ok_get("experiments/get-by-name", {"experiment_name": "Default"})["experiment"]
    assert exp["experiment_id"] == "0"


def test_create_and_get(client):
    name = unique("exp")
    exp_id = client.create_experiment(name)
    assert isinstance(exp_id, str) and exp_id.isdigit()
    exp = client.get_experiment(exp_id)
    assert exp["name"] == name
    assert exp["experiment_id"] == exp_id
    assert exp["lifecycle_stage"] == "active"
    assert exp["artifact_location"] == f"mlflow-artifacts:/{exp_id}"
    assert isinstance(exp["creation_time"], int) and exp["creation_time"] > 0
    assert isinstance(exp["last_update_time"], int)
    by_name = client.ok_get("experiments/get-by-name", {"experiment_name": name})["experiment"]
    assert by_name["experiment_id"] == exp_id


def test_create_with_tags(client):
    exp_id = client.create_experiment(tags=[{"key": "team", "value": "hpc"},
                                            {"key": "empty", "value": ""}])
    tags = tags_dict(client.get_experiment(exp_id))
    assert tags["team"] == "hpc"
    assert tags.get("empty", "") == ""


def test_create_with_artifact_location(client):
    exp_id = client.create_experiment(artifact_location="s3://bucket/some/prefix")
    assert client.get_experiment(exp_id)["artifact_location"] == "s3://bucket/some/prefix"


def test_create_ids_are_distinct(client):
    ids = {client.create_experiment() for _ in range(5)}
    assert len(ids) == 5


def test_create_duplicate_name_is_400_resource_already_exists(client):
    name = unique("dup")
    client.create_experiment(name)
    r = client.post("experiments/create", {"name": name})
    assert_error(r, 400, "RESOURCE_ALREADY_EXISTS", "already exists")


def test_create_duplicate_of_deleted_experiment_name(client):
    # The name stays taken by the deleted experiment (UNIQUE(name) in the schema).
    name = unique("dupdel")
    exp_id = client.create_experiment(name)
    client.ok_post("experiments/delete", {"experiment_id": exp_id})
    r = client.post("experiments/create", {"name": name})
    assert_error(r, 400, "RESOURCE_ALREADY_EXISTS")


@pytest.mark.parametrize("body,fragment", [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": None}, "name"),
    ({"name": 123}, "name"),
    ({"name": ["a"]}, "name"),
    ({"name": unique("t"), "tags": "notalist"}, "tags"),
    ({"name": unique("t"), "artifact_location": 5}, "artifact_location"),
], ids=["missing", "empty", "null", "int", "list", "tags-not-list", "artloc-int"])
def test_create_invalid(client, body, fragment):
    r = client.post("experiments/create", body)
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", fragment)


@pytest.mark.parametrize("name", [
    "with space", "slash/inside", "dots.and-dashes_", "a/../b",
    "ünïcødé 名前 🚀", "; rm -rf / && echo $(whoami) `id` | cat > /tmp/x < y 'q' \"dq\" \\ *?",
    "%2e%2e%2f", "tab\tnewline\n", "x" * 500,
], ids=["space", "slash", "punct", "dotdot", "unicode", "shell", "pct", "ctrl", "len500"])
def test_experiment_names_round_trip(client, name):
    # Experiment names have no character rule in MLflow (only non-empty,
    # string; _validate_experiment_name).
    name = (name + unique(""))[-500:]
    if PG_BASE and len(name) > 256:
        # experiments.name is VARCHAR(256): SQLite ignores the length,
        # PostgreSQL enforces it (MLflow itself fails there with a 500).
        r = client.post("experiments/create", {"name": name})
        assert_error(r, 400, "INVALID_PARAMETER_VALUE", "too long")
        return
    exp_id = client.create_experiment(name)
    assert client.get_experiment(exp_id)["name"] == name
    got = client.ok_get("experiments/get-by-name", {"experiment_name": name})["experiment"]
    assert got["experiment_id"] == exp_id


def test_get_missing_id_param(client):
    r = client.get("experiments/get")
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "experiment_id")


def test_get_nonexistent(client):
    r = client.get("experiments/get", {"experiment_id": "987654321"})
    assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST", "987654321")


def test_get_by_name_nonexistent(client):
    name = unique("nope")
    r = client.get("experiments/get-by-name", {"experiment_name": name})
    assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST", name)


def test_get_by_name_missing_param(client):
    r = client.get("experiments/get-by-name")
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "experiment_name")


def test_get_by_name_is_exact_not_pattern(client):
    name = unique("exact")
    client.create_experiment(name)
    r = client.get("experiments/get-by-name", {"experiment_name": name[:-3] + "%"})
    assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST")


def test_get_works_on_deleted_experiment(client):
    exp_id = client.create_experiment()
    client.ok_post("experiments/delete", {"experiment_id": exp_id})
    exp = client.get_experiment(exp_id)
    assert exp["lifecycle_stage"] == "deleted"
    by_name = client.ok_get("experiments/get-by-name", {"experiment_name": exp["name"]})
    assert by_name["experiment"]["lifecycle_stage"] == "deleted"


def test_rename(client):
    exp_id = client.create_experiment()
    new = unique("renamed")
    assert client.ok_post("experiments/update", {"experiment_id": exp_id, "new_name": new}) == {}
    exp = client.get_experiment(exp_id)
    assert exp["name"] == new
    client.ok_get("experiments/get-by-name", {"experiment_name": new})


def test_rename_to_existing_name_is_400(client):
    a = unique("a")
    client.create_experiment(a)
    b_id = client.create_experiment()
    r = client.post("experiments/update", {"experiment_id": b_id, "new_name": a})
    # sqlalchemy_store: IntegrityError -> MlflowException(BAD_REQUEST) (400).
    assert_error(r, 400, ("BAD_REQUEST", "RESOURCE_ALREADY_EXISTS", "INVALID_PARAMETER_VALUE"))


def test_rename_deleted_is_invalid_state(client):
    exp_id = client.create_experiment()
    client.ok_post("experiments/delete", {"experiment_id": exp_id})
    r = client.post("experiments/update", {"experiment_id": exp_id, "new_name": unique("n")})
    assert_error(r, 500, "INVALID_STATE", "non-active")


@pytest.mark.parametrize("body,fragment", [
    ({"new_name": "x"}, "experiment_id"),
    ({"experiment_id": "0"}, "new_name"),
    ({"experiment_id": "0", "new_name": ""}, "new_name"),
    ({"experiment_id": "0", "new_name": 7}, "new_name"),
])
def test_update_invalid(client, body, fragment):
    assert_error(client.post("experiments/update", body), 400, "INVALID_PARAMETER_VALUE", fragment)


def test_rename_nonexistent(client):
    r = client.post("experiments/update", {"experiment_id": "987654321", "new_name": unique()})
    assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST")


def test_delete_and_restore(client):
    exp_id = client.create_experiment()
    before = client.get_experiment(exp_id)["last_update_time"]
    assert client.ok_post("experiments/delete", {"experiment_id": exp_id}) == {}
    exp = client.get_experiment(exp_id)
    assert exp["lifecycle_stage"] == "deleted"
    assert exp["last_update_time"] >= before
    assert client.ok_post("experiments/restore", {"experiment_id": exp_id}) == {}
    assert client.get_experiment(exp_id)["lifecycle_stage"] == "active"


def test_delete_twice_is_404(client):
    # delete_experiment looks the experiment up with ViewType.ACTIVE_ONLY.
    exp_id = client.create_experiment()
    client.ok_post("experiments/delete", {"experiment_id": exp_id})
    r = client.post("experiments/delete", {"experiment_id": exp_id})
    assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST", exp_id)


def test_restore_active_is_404(client):
    # restore_experiment looks the experiment up with ViewType.DELETED_ONLY.
    exp_id = client.create_experiment()
    r = client.post("experiments/restore", {"experiment_id": exp_id})
    assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST", exp_id)


@pytest.mark.parametrize("endpoint", ["experiments/delete", "experiments/restore"])
def test_delete_restore_nonexistent(client, endpoint):
    assert_error(client.post(endpoint, {"experiment_id": "987654321"}), 404,
                 "RESOURCE_DOES_NOT_EXIST")


@pytest.mark.parametrize("endpoint", ["experiments/delete", "experiments/restore"])
@pytest.mark.parametrize("body", [{}, {"experiment_id": ""}], ids=["missing", "empty"])
def test_delete_restore_invalid(client, endpoint, body):
    assert_error(client.post(endpoint, body), 400, "INVALID_PARAMETER_VALUE", "experiment_id")


def test_experiment_id_as_json_number_is_accepted(client):
    # proto_json_utils._stringify_all_experiment_ids turns experiment_id
    # numbers into strings before protobuf parsing (old-client compatibility).
    exp_id = client.create_experiment()
    client.ok_post("experiments/delete", {"experiment_id": int(exp_id)})
    assert client.get_experiment(exp_id)["lifecycle_stage"] == "deleted"
    client.ok_post("experiments/restore", {"experiment_id": int(exp_id)})
    run = client.create_run(int(exp_id))
    assert run["info"]["experiment_id"] == exp_id


def test_delete_experiment_cascades_to_runs_and_restore_brings_them_back(client):
    exp_id = client.create_experiment()
    runs = [client.create_run(exp_id)["info"]["run_id"] for _ in range(3)]
    client.ok_post("experiments/delete", {"experiment_id": exp_id})
    for rid in runs:
        assert client.get_run(rid)["info"]["lifecycle_stage"] == "deleted"
    active = client.search_runs([exp_id]).get("runs", [])
    assert active == []
    deleted = client.search_runs([exp_id], view="DELETED_ONLY").get("runs", [])
    assert {r["info"]["run_id"] for r in deleted} == set(runs)
    client.ok_post("experiments/restore", {"experiment_id": exp_id})
    for rid in runs:
        assert client.get_run(rid)["info"]["lifecycle_stage"] == "active"


def test_create_run_in_deleted_experiment_is_rejected(client):
    exp_id = client.create_experiment()
    client.ok_post("experiments/delete", {"experiment_id": exp_id})
    r = client.post("runs/create", {"experiment_id": exp_id, "start_time": 1})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "active")


def test_set_experiment_tag(client):
    exp_id = client.create_experiment()
    assert client.ok_post("experiments/set-experiment-tag",
                          {"experiment_id": exp_id, "key": "k", "value": "v1"}) == {}
    client.ok_post("experiments/set-experiment-tag", {"experiment_id": exp_id, "key": "k",
                                                      "value": "v2"})
    client.ok_post("experiments/set-experiment-tag", {"experiment_id": exp_id, "key": "other",
                                                      "value": "x"})
    tags = tags_dict(client.get_experiment(exp_id))
    assert tags["k"] == "v2"  # overwritten, not duplicated
    assert tags["other"] == "x"
    assert [t["key"] for t in client.get_experiment(exp_id)["tags"]].count("k") == 1


def test_set_experiment_tag_value_limits(client):
    # MAX_EXPERIMENT_TAG_VAL_LENGTH = 5000, MAX_EXPERIMENT_TAG_KEY_LENGTH = 250.
    exp_id = client.create_experiment()
    client.ok_post("experiments/set-experiment-tag",
                   {"experiment_id": exp_id, "key": "k" * 250, "value": "v" * 5000})
    assert tags_dict(client.get_experiment(exp_id))["k" * 250] == "v" * 5000
    r = client.post("experiments/set-experiment-tag",
                    {"experiment_id": exp_id, "key": "big", "value": "v" * 5001})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "5000")
    r = client.post("experiments/set-experiment-tag",
                    {"experiment_id": exp_id, "key": "k" * 251, "value": "v"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "250")


@pytest.mark.parametrize("key", ["bad!key", "a/../b", "/abs", "..", "a//b", "./a", "x$y"])
def test_set_experiment_tag_invalid_key(client, key):
    exp_id = client.create_experiment()
    r = client.post("experiments/set-experiment-tag",
                    {"experiment_id": exp_id, "key": key, "value": "v"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "tag name")


@pytest.mark.parametrize("body,fragment", [
    ({"key": "k", "value": "v"}, "experiment_id"),
    ({"experiment_id": "0", "value": "v"}, "key"),
    ({"experiment_id": "0", "key": ""}, "key"),
    ({"experiment_id": "0", "key": "k", "value": 5}, "value"),
])
def test_set_experiment_tag_missing(client, body, fragment):
    r = client.post("experiments/set-experiment-tag", body)
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", fragment)


def test_set_experiment_tag_nonexistent(client):
    r = client.post("experiments/set-experiment-tag",
                    {"experiment_id": "987654321", "key": "k", "value": "v"})
    assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST")


def test_set_experiment_tag_on_deleted_experiment(client):
    exp_id = client.create_experiment()
    client.ok_post("experiments/delete", {"experiment_id": exp_id})
    r = client.post("experiments/set-experiment-tag",
                    {"experiment_id": exp_id, "key": "k", "value": "v"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "active")


def test_experiment_tag_unicode_and_shell_round_trip(client):
    exp_id = client.create_experiment()
    value = "ünï 名 🚀 $(rm -rf /); `id` && echo 'x' \"y\" \\ \n\t|<>"
    client.ok_post("experiments/set-experiment-tag",
                   {"experiment_id": exp_id, "key": "ключ", "value": value})
    assert tags_dict(client.get_experiment(exp_id))["ключ"] == value
