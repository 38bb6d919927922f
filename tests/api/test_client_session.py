"""A whole tracking session, request for request as the stock `mlflow` 2.9.2
client sends it (mlflow/store/tracking/rest_store.py and
mlflow/store/artifact/http_artifact_repo.py), since the package itself cannot
be installed here. Each step checks what the client reads from the answer.

The session: set_experiment -> start_run (with the context tags the fluent API
adds) -> log_param / log_metric / set_tag / log_batch / log_input ->
log_artifact (with the multipart-upload probe and its fallback) ->
end_run -> search_runs paged -> get_metric_history -> list and download
artifacts.
"""

import hashlib
import json
import posixpath

import requests

from conftest import unique

HEADERS = {"User-Agent": "mlflow-python-client/2.9.2"}


class RestStore:
    """What mlflow.utils.rest_utils.call_endpoint does: JSON body for POST,
    query string for GET, MlflowException from the error body otherwise."""

    def __init__(self, base):
        self.base = base
        self.s = requests.Session()

    def call(self, method, endpoint, body):
        url = f"{self.base}/api/2.0/mlflow/{endpoint}"
        if method == "GET":
            r = self.s.get(url, params=body, headers=HEADERS)
        else:
            r = self.s.post(url, data=json.dumps(body),
                            headers={**HEADERS, "Content-Type": "application/json"})
        return r.status_code, r.json()

    def ok(self, method, endpoint, body):
        status, js = self.call(method, endpoint, body)
        assert status == 200, (endpoint, status, js)
        return js


def test_stock_client_session(server, tmp_path):
    store = RestStore(server.url)
    name = unique("wine-quality")

    # mlflow.set_experiment(name): get-by-name, 404 -> create, then get.
    status, js = store.call("GET", "experiments/get-by-name", {"experiment_name": name})
    assert status == 404 and js["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    exp_id = store.ok("POST", "experiments/create", {"name": name})["experiment_id"]
    exp = store.ok("GET", "experiments/get", {"experiment_id": exp_id})["experiment"]
    assert exp["name"] == name and exp["lifecycle_stage"] == "active"

    # mlflow.start_run(run_name=...): CreateRun with the context tags.
    tags = [{"key": "mlflow.user", "value": "alice"},
            {"key": "mlflow.source.name", "value": "train.py"},
            {"key": "mlflow.source.type", "value": "LOCAL"},
            {"key": "mlflow.source.git.commit", "value": "0123abcd"}]
    run = store.ok("POST", "runs/create", {"experiment_id": exp_id, "user_id": "alice",
                                           "start_time": 1700000000000, "tags": tags,
                                           "run_name": "ridge"})["run"]
    run_id = run["info"]["run_id"]
    artifact_uri = run["info"]["artifact_uri"]
    assert artifact_uri == f"mlflow-artifacts:/{exp_id}/{run_id}/artifacts"
    assert run["info"]["status"] == "RUNNING" and run["info"]["user_id"] == "alice"

    # log_param / log_metric / set_tag send both run_uuid and run_id.
    ids = {"run_uuid": run_id, "run_id": run_id}
    store.ok("POST", "runs/log-parameter", {**ids, "key": "alpha", "value": "0.5"})
    for step, rmse in enumerate([0.9, 0.8, 0.71]):
        store.ok("POST", "runs/log-metric", {**ids, "key": "rmse", "value": rmse,
                                             "timestamp": 1700000001000 + step, "step": step})
    store.ok("POST", "runs/log-metric", {**ids, "key": "diverged", "value": "NaN",
                                         "timestamp": 1700000002000, "step": 0})
    store.ok("POST", "runs/set-tag", {**ids, "key": "stage", "value": "dev"})
    store.ok("POST", "runs/log-batch", {"run_id": run_id,
                                        "metrics": [{"key": "r2", "value": 0.31,
                                                     "timestamp": 1700000003000, "step": 0}],
                                        "params": [{"key": "l1_ratio", "value": "0.1"}],
                                        "tags": []})
    store.ok("POST", "runs/log-inputs", {"run_id": run_id, "datasets": [{
        "tags": [{"key": "mlflow.data.context", "value": "training"}],
        "dataset": {"name": "winequality-red", "digest": "1a2b3c4d", "source_type": "local",
                    "source": '{"uri": "winequality-red.csv"}',
                    "schema": '{"mlflow_colspec": []}'}}]})

    # mlflow.log_artifact: with MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD the client
    # first asks for a multipart upload and falls back on this exact answer.
    local = tmp_path / "model.pkl"
    payload = bytes(range(256)) * 4096  # 1 MiB
    local.write_bytes(payload)
    tail = artifact_uri[len("mlflow-artifacts:"):].lstrip("/")
    art_base = f"{server.url}/api/2.0/mlflow-artifacts"
    r = requests.post(f"{art_base}/mpu/create/{tail}",
                      json={"path": str(local), "num_parts": 1}, headers=HEADERS)
    assert r.status_code == 501
    assert r.json()["message"].startswith(
        "Multipart upload is not supported for the current artifact repository")
    with open(local, "rb") as f:
        r = requests.put(f"{art_base}/artifacts/{tail}/model/model.pkl", data=f,
                         headers={**HEADERS, "Content-Type": "application/octet-stream"})
    assert r.status_code == 200, r.text

    # mlflow.end_run(): UpdateRun with the status name and end_time.
    info = store.ok("POST", "runs/update", {**ids, "status": "FINISHED",
                                            "end_time": 1700000009000})["run_info"]
    assert info["status"] == "FINISHED" and info["end_time"] == 1700000009000

    # mlflow.search_runs: pages of max_results, view type by name, until no token.
    seen, token = [], None
    while True:
        body = {"experiment_ids": [exp_id], "filter": "metrics.rmse < 0.8",
                "run_view_type": "ACTIVE_ONLY", "max_results": 1, "order_by": []}
        if token:
            body["page_token"] = token
        page = store.ok("POST", "runs/search", body)
        seen += [r["info"]["run_id"] for r in page.get("runs", [])]
        token = page.get("next_page_token")
        if not token:
            break
    assert seen == [run_id]

    full = store.ok("GET", "runs/get", {"run_id": run_id})["run"]
    data = full["data"]
    assert {p["key"]: p["value"] for p in data["params"]} == {"alpha": "0.5", "l1_ratio": "0.1"}
    metrics = {m["key"]: m["value"] for m in data["metrics"]}
    assert metrics["rmse"] == 0.71 and metrics["r2"] == 0.31 and metrics["diverged"] == "NaN"
    tag_map = {t["key"]: t["value"] for t in data["tags"]}
    assert tag_map["mlflow.runName"] == "ridge" and tag_map["stage"] == "dev"
    assert tag_map["mlflow.user"] == "alice"
    ds = full["inputs"]["dataset_inputs"][0]
    assert ds["dataset"]["name"] == "winequality-red" and ds["tags"][0]["value"] == "training"

    # MlflowClient.get_metric_history
    hist = store.ok("GET", "metrics/get-history", {"run_id": run_id, "metric_key": "rmse"})
    assert [(m["step"], m["value"]) for m in hist["metrics"]] == [(0, 0.9), (1, 0.8), (2, 0.71)]

    # MlflowClient.list_artifacts: tracking API and artifact service agree.
    listing = store.ok("GET", "artifacts/list", {"run_id": run_id})
    assert listing["root_uri"] == artifact_uri
    assert listing["files"] == [{"path": "model", "is_dir": True}]
    listing = store.ok("GET", "artifacts/list", {"run_id": run_id, "path": "model"})
    assert listing["files"] == [{"path": "model/model.pkl", "is_dir": False,
                                 "file_size": len(payload)}]
    r = requests.get(f"{art_base}/artifacts", params={"path": posixpath.join(tail, "model")},
                     headers=HEADERS)
    assert r.json()["files"] == [{"path": "model.pkl", "is_dir": False,
                                  "file_size": len(payload)}]

    # mlflow.artifacts.download_artifacts: streamed GET, byte-exact.
    r = requests.get(f"{art_base}/artifacts/{tail}/model/model.pkl", stream=True,
                     headers=HEADERS)
    assert r.status_code == 200
    got = hashlib.sha256()
    for chunk in r.iter_content(1 << 20):
        got.update(chunk)
    assert got.hexdigest() == hashlib.sha256(payload).hexdigest()
