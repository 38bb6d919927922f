"""Black-box tests of the client commands of `cairn`: output (tables and
--json), exit codes (0 ok, 1 failure, 2 usage) and messages on stderr."""
import json
import os

import pytest

from conftest import cli, cli_json

NOUNS = {
    "experiments": ["list", "create", "get", "rename", "delete", "restore"],
    "runs": ["list", "search", "get", "create", "end", "delete", "restore"],
    "log": ["param", "metric", "tag"],
    "artifacts": ["list", "upload", "download"],
    "import": ["mlruns"],
    "jobs": ["list", "get", "cancel", "logs"],
    "users": ["create", "list", "delete", "passwd", "grant", "revoke"],
}


def test_top_level_help_lists_every_command(env):
    p = cli(["--help"], env, check=0)
    for noun in list(NOUNS) + ["sync", "server", "submit", "run", "login", "logout"]:
        assert noun in p.stdout
    assert cli([], env).returncode == 2


@pytest.mark.parametrize("noun", sorted(NOUNS))
def test_noun_help(env, noun):
    p = cli([noun, "--help"], env, check=0)
    for verb in NOUNS[noun]:
        assert verb in p.stdout
    bad = cli([noun, "frobnicate"], env)
    assert bad.returncode == 2 and "unknown command" in bad.stderr


@pytest.mark.parametrize("noun,verb", [(n, v) for n in sorted(NOUNS) for v in NOUNS[n]]
                         + [("sync", None), ("run", None), ("submit", None), ("login", None),
                            ("logout", None)])
def test_verb_help_and_unknown_flag(env, noun, verb):
    args = [noun] + ([verb] if verb else [])
    p = cli(args + ["--help"], env, check=0)
    assert p.stdout.startswith(f"usage: cairn {' '.join(args)}")
    bad = cli(args + ["--no-such-flag"], env)
    assert bad.returncode == 2
    assert "unknown option '--no-such-flag'" in bad.stderr
    assert "--help" in bad.stderr


def test_experiments_commands(env):
    exp = cli(["experiments", "create", "cli-exp"], env, check=0).stdout.strip()
    assert exp.isdigit()
    table = cli(["experiments", "list"], env, check=0).stdout.splitlines()
    assert table[0].split() == ["ID", "NAME", "STAGE", "ARTIFACT", "LOCATION"]
    assert any(line.split()[:2] == [exp, "cli-exp"] for line in table[1:])
    got = cli_json(["experiments", "get", exp], env)
    assert got["experiment"]["name"] == "cli-exp"
    assert cli_json(["experiments", "get", "--name", "cli-exp"], env)["experiment"]["experiment_id"] == exp
    assert "name:              cli-exp" in cli(["experiments", "get", exp], env, check=0).stdout
    cli(["experiments", "rename", exp, "cli-exp-2"], env, check=0)
    assert cli_json(["experiments", "get", exp], env)["experiment"]["name"] == "cli-exp-2"
    cli(["experiments", "delete", exp], env, check=0)
    deleted = cli_json(["experiments", "list", "--view", "deleted"], env)["experiments"]
    assert [e["experiment_id"] for e in deleted] == [exp]
    active = cli_json(["experiments", "list"], env)["experiments"]
    assert exp not in [e["experiment_id"] for e in active]
    cli(["experiments", "restore", exp], env, check=0)
    assert cli_json(["experiments", "get", exp], env)["experiment"]["lifecycle_stage"] == "active"
    # created twice: the server's error code and message, exit 1
    p = cli(["experiments", "create", "cli-exp-2"], env)
    assert p.returncode == 1 and "RESOURCE_ALREADY_EXISTS" in p.stderr
    p = cli(["experiments", "get", "999999"], env)
    assert p.returncode == 1 and p.stderr.startswith("cairn: RESOURCE_DOES_NOT_EXIST:")
    assert cli(["experiments", "get"], env).returncode == 2
    assert cli(["experiments", "list", "--view", "some"], env).returncode == 2
    assert cli(["experiments", "rename", exp], env).returncode == 2


def test_runs_and_log_commands(env, experiment):
    run = cli(["runs", "create", "-x", experiment, "--name", "r1"], env, check=0).stdout.strip()
    assert len(run) == 32
    env = dict(env, MLFLOW_RUN_ID=run)
    cli(["log", "param", "alpha", "0.5"], env, check=0)
    cli(["log", "metric", "rmse", "0.9", "--step", "0"], env, check=0)
    cli(["log", "metric", "rmse", "-0.25", "--step", "1", "--timestamp", "1700000000000"], env, check=0)
    cli(["log", "tag", "team", "hpc"], env, check=0)
    data = cli_json(["runs", "get"], env)["run"]["data"]
    assert {"key": "alpha", "value": "0.5"} in data["params"]
    assert {"key": "team", "value": "hpc"} in data["tags"]
    assert [m["value"] for m in data["metrics"] if m["key"] == "rmse"] == [-0.25]
    shown = cli(["runs", "get", run], env, check=0).stdout
    assert f"run_id:          {run}" in shown and "param    alpha = 0.5" in shown

    run2 = cli(["runs", "create", "-x", experiment, "--name", "r2"], env, check=0).stdout.strip()
    cli(["log", "metric", "rmse", "0.5", "--run-id", run2], env, check=0)
    cli(["runs", "end", run2, "--status", "FAILED"], env, check=0)
    cli(["runs", "end"], env, check=0)

    table = cli(["runs", "list", "-x", experiment], env, check=0).stdout.splitlines()
    assert table[0].split()[:3] == ["RUN", "ID", "NAME"]
    assert len(table) == 3
    found = cli_json(["runs", "search", "-x", experiment, "--filter", "metrics.rmse < 0", "--order-by",
                      "metrics.rmse ASC"], env)["runs"]
    assert [r["info"]["run_id"] for r in found] == [run]
    ordered = cli_json(["runs", "search", "-x", experiment, "--order-by", "metrics.rmse DESC"], env)["runs"]
    assert [r["info"]["run_id"] for r in ordered] == [run2, run]
    assert {r["info"]["status"] for r in ordered} == {"FINISHED", "FAILED"}
    assert len(cli_json(["runs", "search", "-x", experiment, "--max-results", "1"], env)["runs"]) == 1
    p = cli(["runs", "search", "-x", experiment, "--filter", "metrics.rmse <"], env)
    assert p.returncode == 1 and "INVALID_PARAMETER_VALUE" in p.stderr

    cli(["runs", "delete", run2], env, check=0)
    assert len(cli_json(["runs", "list", "-x", experiment], env)["runs"]) == 1
    assert len(cli_json(["runs", "list", "-x", experiment, "--view", "deleted"], env)["runs"]) == 1
    cli(["runs", "restore", run2], env, check=0)
    assert len(cli_json(["runs", "list", "-x", experiment, "--view", "all"], env)["runs"]) == 2


def test_runs_create_by_experiment_name(env):
    run = cli_json(["runs", "create", "--experiment-name", "by-name"], env)["run_id"]
    exp = cli_json(["experiments", "get", "--name", "by-name"], env)["experiment"]["experiment_id"]
    assert cli_json(["runs", "get", run], env)["run"]["info"]["experiment_id"] == exp


def test_log_bad_input(env, experiment):
    run = cli(["runs", "create", "-x", experiment], env, check=0).stdout.strip()
    p = cli(["log", "metric", "loss", "abc", "--run-id", run], env)
    assert p.returncode == 2 and "'abc' is not a number" in p.stderr
    p = cli(["log", "metric", "loss", "1", "--step", "x", "--run-id", run], env)
    assert p.returncode == 2 and "not an integer" in p.stderr
    p = cli(["log", "param", "alpha", "1"], env)          # no run id anywhere
    assert p.returncode == 2 and "missing run id" in p.stderr and "MLFLOW_RUN_ID" in p.stderr
    p = cli(["log", "param", "alpha"], env)
    assert p.returncode == 2 and "missing argument" in p.stderr
    p = cli(["runs", "end", run, "--status", "DONE"], env)
    assert p.returncode == 2 and "invalid run status" in p.stderr
    p = cli(["log", "param", "alpha", "1", "--run-id", "0" * 32], env)
    assert p.returncode == 1 and "RESOURCE_DOES_NOT_EXIST" in p.stderr
    p = cli(["runs", "get", "nope"], env)
    assert p.returncode == 1 and "RESOURCE_DOES_NOT_EXIST" in p.stderr


def test_metric_special_values(env, experiment):
    run = cli(["runs", "create", "-x", experiment], env, check=0).stdout.strip()
    for i, v in enumerate(["nan", "inf", "-inf", "1e-300"]):
        cli(["log", "metric", "odd", v, "--step", str(i), "--run-id", run], env, check=0)
    metrics = cli_json(["runs", "get", run], env)["run"]["data"]["metrics"]
    assert metrics[0]["key"] == "odd" and metrics[0]["value"] == 1e-300


def test_unreachable_server(env):
    bad = dict(env, MLFLOW_TRACKING_URI="http://127.0.0.1:9")
    for args in (["experiments", "list"], ["runs", "get", "abc"], ["artifacts", "list", "--run-id", "abc"],
                 ["experiments", "create", "x"]):
        p = cli(args, bad)
        assert p.returncode == 1, args
        assert p.stderr.startswith("cairn: cannot reach http://127.0.0.1:9: "), p.stderr
    p = cli(["experiments", "list", "--tracking-uri", "ftp://x"], env)
    assert p.returncode == 2 and "unsupported tracking URI" in p.stderr


def test_artifacts_commands(env, experiment, tmp_path):
    run = cli(["runs", "create", "-x", experiment], env, check=0).stdout.strip()
    env = dict(env, MLFLOW_RUN_ID=run)
    src = tmp_path / "model.bin"
    src.write_bytes(os.urandom(300_000))
    tree = tmp_path / "plots"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_text("a")
    (tree / "sub" / "b.txt").write_text("bb")
    cli(["artifacts", "upload", str(src)], env, check=0)
    cli(["artifacts", "upload", str(src), "--path", "models/m.bin"], env, check=0)
    cli(["artifacts", "upload", str(tree)], env, check=0)
    listing = cli_json(["artifacts", "list"], env)
    assert {f["path"]: f["is_dir"] for f in listing["files"]} == {"model.bin": False, "models": True, "plots": True}
    table = cli(["artifacts", "list", "plots"], env, check=0).stdout.splitlines()
    assert table[0].split() == ["PATH", "SIZE"]
    assert sorted(l.split()[0] for l in table[1:]) == ["plots/a.txt", "plots/sub"]
    out = tmp_path / "back.bin"
    cli(["artifacts", "download", "models/m.bin", "-o", str(out)], env, check=0)
    assert out.read_bytes() == src.read_bytes()
    back = tmp_path / "back-tree"
    cli(["artifacts", "download", "plots", "-o", str(back)], env, check=0)
    assert (back / "a.txt").read_text() == "a" and (back / "sub" / "b.txt").read_text() == "bb"
    p = cli(["artifacts", "download", "missing.bin", "-o", str(tmp_path / "x")], env)
    assert p.returncode == 1 and "cairn:" in p.stderr
    assert not (tmp_path / "x").exists()
    p = cli(["artifacts", "upload", str(tmp_path / "nope")], env)
    assert p.returncode == 1 and "nope" in p.stderr


def test_version(env):
    p = cli(["--version"], env, check=0)
    assert p.stdout.startswith("cairn ")


def test_experiment_from_environment(env):
    exp = cli(["experiments", "create", "env-exp"], env, check=0).stdout.strip()
    e = dict(env, MLFLOW_EXPERIMENT_ID=exp)
    run = cli(["runs", "create", "--name", "from-env"], e, check=0).stdout.strip()
    assert cli_json(["runs", "get", run], e)["run"]["info"]["experiment_id"] == exp
    assert [r["info"]["run_id"] for r in cli_json(["runs", "list"], e)["runs"]] == [run]
    e = dict(env, MLFLOW_EXPERIMENT_NAME="env-exp-by-name")
    run = cli(["runs", "create"], e, check=0).stdout.strip()
    by_name = cli_json(["experiments", "get", "--name", "env-exp-by-name"], env)["experiment"]["experiment_id"]
    assert cli_json(["runs", "get", run], e)["run"]["info"]["experiment_id"] == by_name
