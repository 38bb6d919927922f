"""`cairn import mlruns DIR` on a file store written by hand in the layout
MLflow 2.9's FileStore uses (meta.yaml files, params/, metrics/ with
"timestamp value step" lines, tags/, artifacts/, nested keys as folders,
.trash/, an empty inputs/ folder, a models/ registry folder)."""
import json
import os

from conftest import cli, cli_json

RUN_A = "a" * 32
RUN_B = "b" * 32
RUN_C = "c" * 32
RUN_D = "d" * 32


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def exp_meta(root, exp_id, name, stage="active"):
    return (f"artifact_location: file://{root}/{exp_id}\n"
            "creation_time: 1700000000000\n"
            f"experiment_id: '{exp_id}'\n"
            "last_update_time: 1700000000000\n"
            f"lifecycle_stage: {stage}\n"
            f"name: {name}\n")


def run_meta(root, exp_id, run_id, name, status, stage="active", end="1700000100000"):
    return (f"artifact_uri: file://{root}/{exp_id}/{run_id}/artifacts\n"
            f"end_time: {end}\n"
            "entry_point_name: ''\n"
            f"experiment_id: '{exp_id}'\n"
            f"lifecycle_stage: {stage}\n"
            f"run_id: {run_id}\n"
            f"run_name: {name}\n"
            f"run_uuid: {run_id}\n"
            "source_name: ''\n"
            "source_type: 4\n"
            "source_version: ''\n"
            "start_time: 1700000000000\n"
            f"status: {status}\n"
            "tags: []\n"
            "user_id: alice\n")


def make_store(root, exp_name):
    write(f"{root}/0/meta.yaml", exp_meta(root, "0", "Default"))
    r = f"{root}/0/{RUN_D}"
    write(f"{r}/meta.yaml", run_meta(root, "0", RUN_D, "in-default", 3))
    write(f"{r}/params/p", "1")
    write(f"{root}/7/meta.yaml", exp_meta(root, "7", exp_name))
    write(f"{root}/7/tags/owner", "team-hpc")
    r = f"{root}/7/{RUN_A}"
    write(f"{r}/meta.yaml", run_meta(root, "7", RUN_A, "ridge", 3))
    write(f"{r}/params/alpha", "0.5")
    write(f"{r}/params/solver", "saga")
    write(f"{r}/metrics/rmse", "1700000001000 0.9 0\n1700000002000 0.8 1\n1700000003000 0.71 2\n")
    write(f"{r}/metrics/loss/train", "1700000001000 2.5 0\n1700000002000 nan 1\n")
    write(f"{r}/tags/mlflow.runName", "ridge")
    write(f"{r}/tags/mlflow.user", "alice")
    write(f"{r}/tags/mlflow.source.name", "train.py")
    write(f"{r}/artifacts/model.pkl", "pickle-bytes")
    write(f"{r}/artifacts/plots/loss.csv", "1,2,3\n")
    os.makedirs(f"{r}/inputs")
    r = f"{root}/7/{RUN_B}"
    write(f"{r}/meta.yaml", run_meta(root, "7", RUN_B, "lasso", 4, stage="deleted"))
    write(f"{r}/metrics/rmse", "1700000001000 1.5 0\n")
    r = f"{root}/7/{RUN_C}"
    write(f"{r}/meta.yaml", run_meta(root, "7", RUN_C, "running", 1, end=""))
    write(f"{r}/params/many", "x" * 300)
    write(f"{root}/.trash/3/meta.yaml", exp_meta(root, "3", "gone", "deleted"))
    write(f"{root}/models/my-model/meta.yaml", "name: my-model\n")


def imported_runs(server, exp_id):
    runs = server.api("POST", "runs/search", {"experiment_ids": [exp_id], "run_view_type": "ALL"})["runs"]
    by = {}
    for run in runs:
        tags = {t["key"]: t["value"] for t in run["data"].get("tags", [])}
        by[tags["cairn.import.run_id"]] = run
    assert len(by) == len(runs), "a run was imported twice"
    return by


def test_import_mlruns(server, env, tmp_path):
    root = str(tmp_path / "mlruns")
    make_store(root, "imported-wine")
    p = cli(["import", "mlruns", root], env, check=0)
    assert "experiment 'imported-wine' -> " in p.stdout
    assert p.stdout.strip().splitlines()[-1] == "imported 4 run(s) in 2 experiment(s); 0 already imported"
    exp = cli_json(["experiments", "get", "--name", "imported-wine"], env)["experiment"]
    assert {"key": "owner", "value": "team-hpc"} in exp["tags"]
    runs = imported_runs(server, exp["experiment_id"])
    assert sorted(runs) == [RUN_A, RUN_B, RUN_C]

    a = runs[RUN_A]
    assert a["info"]["run_name"] == "ridge" and a["info"]["status"] == "FINISHED"
    assert a["info"]["start_time"] == 1700000000000 and a["info"]["end_time"] == 1700000100000
    assert a["info"]["user_id"] == "alice"
    assert {p["key"]: p["value"] for p in a["data"]["params"]} == {"alpha": "0.5", "solver": "saga"}
    tags = {t["key"]: t["value"] for t in a["data"]["tags"]}
    assert tags["mlflow.source.name"] == "train.py" and tags["cairn.import.complete"] == "true"
    rid = a["info"]["run_id"]
    hist = server.api("GET", f"metrics/get-history?run_id={rid}&metric_key=rmse")["metrics"]
    assert [(m["timestamp"], m["value"], m["step"]) for m in hist] == [
        (1700000001000, 0.9, 0), (1700000002000, 0.8, 1), (1700000003000, 0.71, 2)]
    hist = server.api("GET", f"metrics/get-history?run_id={rid}&metric_key=loss/train")["metrics"]
    assert [m["value"] for m in hist] == [2.5, "NaN"]
    files = server.api("GET", f"artifacts/list?run_id={rid}")["files"]
    assert sorted(f["path"] for f in files) == ["model.pkl", "plots"]
    out = tmp_path / "model.pkl"
    cli(["artifacts", "download", "model.pkl", "--run-id", rid, "-o", str(out)], env, check=0)
    assert out.read_text() == "pickle-bytes"

    assert runs[RUN_B]["info"]["status"] == "FAILED" and runs[RUN_B]["info"]["lifecycle_stage"] == "deleted"
    assert runs[RUN_C]["info"]["status"] == "RUNNING"
    default = imported_runs(server, "0")
    assert default[RUN_D]["info"]["run_name"] == "in-default"

    # Importing again copies nothing twice.
    out = json.loads(cli(["import", "mlruns", root, "--json"], env, check=0).stdout)
    assert out == {"experiments": 2, "runs_imported": 0, "runs_already_imported": 4, "runs_resumed": 0}
    assert sorted(imported_runs(server, exp["experiment_id"])) == [RUN_A, RUN_B, RUN_C]

    # An import cut short (no completion tag) is finished, not duplicated.
    server.api("POST", "runs/delete-tag", {"run_id": rid, "key": "cairn.import.complete"})
    out = json.loads(cli(["import", "mlruns", root, "--json"], env, check=0).stdout)
    assert out["runs_resumed"] == 1 and out["runs_imported"] == 1
    hist = server.api("GET", f"metrics/get-history?run_id={rid}&metric_key=rmse")["metrics"]
    assert len(hist) == 3
    assert sorted(imported_runs(server, exp["experiment_id"])) == [RUN_A, RUN_B, RUN_C]


def test_import_bad_input(env, tmp_path):
    p = cli(["import", "mlruns", str(tmp_path / "missing")], env)
    assert p.returncode == 1 and "cannot read" in p.stderr
    p = cli(["import", "mlruns"], env)
    assert p.returncode == 2
    bad = dict(env, MLFLOW_TRACKING_URI="http://127.0.0.1:9")
    root = str(tmp_path / "mlruns")
    make_store(root, "never")
    p = cli(["import", "mlruns", root], bad)
    assert p.returncode == 1 and "cannot reach http://127.0.0.1:9" in p.stderr
