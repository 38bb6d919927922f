#!/usr/bin/env python3
"""bench/jobs.py - how long a submission takes, from the request to the job
RUNNING, on the local backend and on the single-node Slurm cluster.

For each backend, N tiny projects (`sleep 3`) are submitted one after the
other to a fresh `cairn server` (monitor at its default period, and once
more at 200 ms); for each one it prints nothing, and at the end:
  submit  the multipart POST jobs/submit answered (the run exists, the
          backend has the job: archive unpacked, run created, sbatch done)
  running the job reported RUNNING by jobs/get (polled every 20 ms): what a
          user of `cairn jobs get` or the UI sees
as median, 90th percentile and maximum in ms.

    SLURM_CONF=... /usr/bin/python3 bench/jobs.py [N]   (default 10)
Without SLURM_CONF it starts a cluster with scripts/slurm.sh (root) and
stops it after."""

import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.environ.get("CAIRN_BIN", os.path.join(ROOT, "build", "cairn"))
JOBS = "/api/2.0/cairn/jobs/"


def project():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        data = b"name: bench\nentry_points:\n  main:\n    command: sleep 3\n"
        info = tarfile.TarInfo("MLproject")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def start_server(tmp, poll_ms):
    env = dict(os.environ)
    if poll_ms:
        env["CAIRN_JOBS_POLL_MS"] = str(poll_ms)
    port = 20000 + os.getpid() % 20000
    proc = subprocess.Popen([BIN, "server", "--port", str(port), "--backend-store-uri",
                             f"sqlite:///{tmp}/mlflow.db", "--artifacts-destination",
                             f"{tmp}/art", "--jobs-dir", f"{tmp}/jobs"],
                            stderr=open(f"{tmp}/server.log", "wb"), env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise SystemExit("server did not start: " + open(f"{tmp}/server.log").read())


def one(url, backend, proj):
    t0 = time.monotonic()
    r = requests.post(url + JOBS + "submit", files={"project": ("p.tar.gz", proj)},
                      data={"backend": backend}, timeout=120)
    t1 = time.monotonic()
    r.raise_for_status()
    job_id = r.json()["job"]["job_id"]
    while True:
        state = requests.get(url + JOBS + "get", params={"job_id": job_id},
                             timeout=60).json()["job"]["state"]
        if state != "PENDING":
            break
        time.sleep(0.02)
    t2 = time.monotonic()
    if state != "RUNNING":
        raise SystemExit(f"job {job_id} went {state}, not RUNNING")
    return (t1 - t0) * 1000, (t2 - t0) * 1000, job_id


def line(name, xs):
    xs = sorted(xs)
    p90 = xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]
    return f"{name} median {statistics.median(xs):7.0f} ms  p90 {p90:7.0f} ms  max {xs[-1]:7.0f} ms"


def wait_ended(url, ids):
    for job_id in ids:
        for _ in range(600):
            st = requests.get(url + JOBS + "get", params={"job_id": job_id}, timeout=60)
            if st.json()["job"]["state"] not in ("PENDING", "RUNNING"):
                break
            time.sleep(0.1)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    started = None
    if not os.environ.get("SLURM_CONF"):
        out = subprocess.run(["bash", os.path.join(ROOT, "scripts", "slurm.sh"), "start"],
                             capture_output=True, text=True, check=True).stdout
        for word in out.split():
            k, _, v = word.partition("=")
            if k in ("SLURM_CONF", "CAIRN_SLURM_DIR"):
                os.environ[k] = v
        started = os.environ["CAIRN_SLURM_DIR"]
    proj = project()
    print(f"cairn {subprocess.run(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()}, "
          f"{os.cpu_count()} cores, {n} submissions per line, project `sleep 3`")
    try:
        for poll_ms in (0, 200):
            tmp = tempfile.mkdtemp(prefix="cairn-bench-jobs-")
            proc, url = start_server(tmp, poll_ms)
            try:
                for backend in ("local", "slurm"):
                    subs, runs, ids = [], [], []
                    for _ in range(n):
                        s, r, j = one(url, backend, proj)
                        subs.append(s)
                        runs.append(r)
                        ids.append(j)
                    label = f"{backend:5} monitor {'1000 (default)' if not poll_ms else poll_ms} ms:"
                    print(f"{label:32} {line('submit', subs)}")
                    print(f"{'':32} {line('RUNNING', runs)}")
                    wait_ended(url, ids)
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=60)
                shutil.rmtree(tmp, ignore_errors=True)
    finally:
        if started:
            subprocess.run(["bash", os.path.join(ROOT, "scripts", "slurm.sh"), "stop", started])


if __name__ == "__main__":
    main()
