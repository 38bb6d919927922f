"""The README's "Logging from C, from a shell script and from Python"
examples, run as written against the real server: the C program built
against an installed libcairn (make install PREFIX=..., pkg-config), the
shell script with the installed `cairn`, the Python with the binding."""
import os
import re
import subprocess
import sys

import conftest
from conftest import python_env

SECTION = "## Logging from C, from a shell script and from Python"


def blocks():
    text = open(os.path.join(conftest.REPO, "README.md")).read()
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    found = dict(re.findall(r"```(\w+)\n(.*?)```", text[start:end], re.S))
    assert sorted(found) == ["c", "python", "sh"]
    return found


def run(args, **kw):
    p = subprocess.run(args, capture_output=True, text=True, timeout=600, **kw)
    assert p.returncode == 0, f"{args}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return p


def test_readme_examples(server, env, tmp_path):
    code = blocks()
    prefix = tmp_path / "prefix"
    build = os.path.dirname(conftest.CAIRN_LIBRARY)
    run(["make", "-s", "install", f"PREFIX={prefix}", f"BUILD={build}"], cwd=conftest.REPO)
    pc = run(["pkg-config", "--cflags", "--libs", "cairn"],
             env=dict(env, PKG_CONFIG_PATH=str(prefix / "lib" / "pkgconfig"))).stdout.split()
    (tmp_path / "train.c").write_text(code["c"])
    run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", str(tmp_path / "train.c")] + pc +
        ["-o", str(tmp_path / "train")])
    (tmp_path / "model.pkl").write_bytes(b"model")
    e = dict(env, LD_LIBRARY_PATH=str(prefix / "lib"), PATH=f"{prefix / 'bin'}:{env['PATH']}")
    run([str(tmp_path / "train")], env=e, cwd=tmp_path)

    script = code["sh"].replace("http://127.0.0.1:5000", server.url)
    p = run(["bash", "-euo", "pipefail", "-c", script], env=e, cwd=tmp_path)
    assert "param    alpha = 0.5" in p.stdout and "status:          FINISHED" in p.stdout

    p = run([sys.executable, "-c", code["python"]], env=python_env(env), cwd=tmp_path)
    assert p.stdout.strip() == "3 runs below 0.8"

    exp = server.api("GET", "experiments/get-by-name?experiment_name=wine")["experiment"]["experiment_id"]
    runs = server.api("POST", "runs/search", {"experiment_ids": [exp]})["runs"]
    assert sorted(r["info"]["run_name"] for r in runs) == ["ridge-c", "ridge-py", "ridge-sh"]
    assert all(r["info"]["status"] == "FINISHED" for r in runs)
    c_run = [r for r in runs if r["info"]["run_name"] == "ridge-c"][0]["info"]["run_id"]
    hist = server.api("GET", f"metrics/get-history?run_id={c_run}&metric_key=rmse")["metrics"]
    assert len(hist) == 1000
