"""Logging from Fortran (include/cairn.f90) and C++ (include/cairn.h) with
the programs in examples/, built against build/libcairn.a and run against
the real server."""
import os
import shutil
import subprocess

import pytest

import conftest

LIBS = subprocess.run(["pkg-config", "--libs", "libcurl", "jansson"], capture_output=True,
                      text=True).stdout.split() + ["-lpthread", "-lm"]


def build_dir():
    return os.path.dirname(conftest.CAIRN_LIBRARY)


def run(args, **kw):
    p = subprocess.run(args, capture_output=True, text=True, timeout=600, **kw)
    assert p.returncode == 0, f"{args}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return p


def history(server, run_id, key):
    return server.api("GET", f"metrics/get-history?run_id={run_id}&metric_key={key}")["metrics"]


@pytest.mark.skipif(shutil.which("gfortran") is None, reason="gfortran is not installed")
def test_fortran(server, env, tmp_path):
    run(["gfortran", "-std=f2008", "-Wall", "-Werror", "-c", os.path.join(conftest.REPO, "include", "cairn.f90"),
         "-o", str(tmp_path / "cairn.o")], cwd=tmp_path)
    run(["gfortran", "-std=f2008", "-Wall", os.path.join(conftest.REPO, "examples", "train.f90"),
         str(tmp_path / "cairn.o"), os.path.join(build_dir(), "libcairn.a")] + LIBS +
        ["-o", str(tmp_path / "train")], cwd=tmp_path)
    run_id = run([str(tmp_path / "train")], env=env).stdout.strip()
    r = server.api("GET", f"runs/get?run_id={run_id}")["run"]
    assert r["info"]["status"] == "FINISHED" and r["info"]["run_name"] == "heat-solver"
    assert {"key": "grid", "value": "512x512"} in r["data"]["params"]
    assert {"key": "lang", "value": "fortran"} in r["data"]["tags"]
    values = [m["value"] for m in history(server, run_id, "residual")]
    assert len(values) == 100 and values[0] == 1.0 and values[-1] == 0.01


@pytest.mark.skipif(shutil.which("g++") is None, reason="g++ is not installed")
def test_cpp(server, env, tmp_path):
    run(["g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-I", os.path.join(conftest.REPO, "include"),
         os.path.join(conftest.REPO, "examples", "train.cpp"), os.path.join(build_dir(), "libcairn.a")] + LIBS +
        ["-o", str(tmp_path / "train")])
    run_id = run([str(tmp_path / "train")], env=env).stdout.strip()
    assert server.api("GET", f"runs/get?run_id={run_id}")["run"]["info"]["status"] == "FINISHED"
    for t in range(4):
        assert len(history(server, run_id, f"worker_{t}")) == 250
