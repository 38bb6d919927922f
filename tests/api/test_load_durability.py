"""Under load and in trouble: 64 clients at once, a SIGKILL in the middle of
them, a full disk, a read-only database.

What users depend on (shared/reference/mlflow.md: "database is locked" under
parallel jobs, servers that die on bad disks): every request gets an answer,
an acknowledged write is never lost, and a write that cannot be made is an
MLflow error, not a crash.
"""

import os
import shutil
import subprocess
import tempfile
import threading

import pytest

from conftest import CAIRN_BIN, Client, metrics_dict, sqlite_only


def run_threads(n, fn):
    errors = []

    def wrap(i):
        try:
            fn(i)
        except Exception as ex:  # reported below, with the client's number
            errors.append(f"client {i}: {ex!r}")

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_64_clients_logging_at_once_get_no_error(server_factory):
    srv = server_factory()
    c = Client(srv.url)
    shared = c.create_run()["info"]["run_id"]
    own = {}
    bad = []

    def client(i):
        cc = Client(srv.url)
        run = cc.create_run()["info"]["run_id"]
        own[i] = run
        for step in range(15):
            for run_id, key in ((run, "solo"), (shared, f"c{i}")):
                r = cc.post("runs/log-metric", {"run_id": run_id, "key": key, "value": step,
                                                "timestamp": step, "step": step})
                if r.status_code != 200 or "locked" in r.text:
                    bad.append((i, r.status_code, r.text[:200]))
        for b in range(3):
            r = cc.post("runs/log-batch", {"run_id": run, "metrics": [
                {"key": "batch", "value": k, "timestamp": 1, "step": b * 20 + k}
                for k in range(20)], "params": [{"key": f"p{b}", "value": str(i)}],
                "tags": [{"key": "t", "value": str(b)}]})
            if r.status_code != 200:
                bad.append((i, r.status_code, r.text[:200]))

    errors = run_threads(64, client)
    assert not errors and not bad, (errors[:5], bad[:5])
    for i, run in own.items():
        got = c.get_run(run)
        assert metrics_dict(got)["solo"]["step"] == 14
        assert len(c.history(run, "solo")) == 15 and len(c.history(run, "batch")) == 60
        assert {p["key"]: p["value"] for p in got["data"]["params"]} == \
            {f"p{b}": str(i) for b in range(3)}
    assert len(own) == 64
    for i in range(64):
        assert [h["step"] for h in c.history(shared, f"c{i}")] == list(range(15))


def test_sigkill_under_load_loses_no_acknowledged_metric(server_factory):
    srv = server_factory()
    c = Client(srv.url)
    run = c.create_run()["info"]["run_id"]
    nclients, per_batch = 32, 10
    acked = [[] for _ in range(nclients)]   # batch numbers acknowledged
    stop = threading.Event()

    def client(i):
        cc = Client(srv.url)
        b = 0
        while not stop.is_set():
            body = {"run_id": run, "metrics": [
                {"key": f"k{i}", "value": b, "timestamp": b, "step": b * per_batch + j}
                for j in range(per_batch)]}
            try:
                r = cc.post("runs/log-batch", body)
            except Exception:
                return  # the server is gone: this batch was never acknowledged
            if r.status_code == 200:
                acked[i].append(b)
            b += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(nclients)]
    for t in threads:
        t.start()
    while min(len(a) for a in acked) < 20 and all(t.is_alive() for t in threads):
        stop.wait(0.05)
    srv.kill()
    stop.set()
    for t in threads:
        t.join()
    total = sum(len(a) for a in acked)
    assert min(len(a) for a in acked) >= 20

    srv2 = server_factory(tmpdir=srv.tmpdir)
    c2 = Client(srv2.url)
    found = 0
    for i in range(nclients):
        steps = {h["step"] for h in c2.history(run, f"k{i}")}
        for b in acked[i]:
            batch = {b * per_batch + j for j in range(per_batch)}
            assert batch <= steps, f"client {i} batch {b}: acknowledged, not all stored"
            found += 1
        # A batch is atomic: whatever survived came in whole batches.
        by_batch = {}
        for s in steps:
            by_batch.setdefault(s // per_batch, set()).add(s)
        assert all(len(v) == per_batch for v in by_batch.values()), f"client {i}: partial batch"
    assert found == total


# ---- disks that fail ----

def mount_tmpfs(size_kb):
    """A private, small filesystem; skips when this machine cannot mount
    (the test command runs as root on Debian, where it can)."""
    path = tempfile.mkdtemp(prefix="cairn-tmpfs-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        os.rmdir(path)
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    return path


def unmount(path):
    subprocess.run(["umount", "-l", path], check=False)
    shutil.rmtree(path, ignore_errors=True)


def fill(path, leave_kb):
    st = os.statvfs(path)
    free = st.f_bavail * st.f_frsize
    filler = os.path.join(path, "filler")
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, free - leave_kb * 1024))
    return filler


@sqlite_only
def test_full_disk_is_an_error_not_a_crash_and_recovers(server_factory):
    mnt = mount_tmpfs(16 * 1024)
    try:
        data = os.path.join(mnt, "data")
        os.mkdir(data)
        srv = server_factory(tmpdir=data)
        c = Client(srv.url)
        run = c.create_run()["info"]["run_id"]
        filler = fill(mnt, 64)
        acked, failure = [], None
        for b in range(2000):
            r = c.post("runs/log-batch", {"run_id": run, "metrics": [
                {"key": "m", "value": 0.5, "timestamp": b, "step": b * 100 + j}
                for j in range(100)]})
            if r.status_code == 200:
                acked.append(b)
                continue
            failure = r
            break
        assert failure is not None, "64 kB of free space never ran out"
        body = failure.json()
        assert failure.status_code in (500, 503)
        assert body["error_code"] in ("INTERNAL_ERROR", "TEMPORARILY_UNAVAILABLE")
        assert "full" in body["message"].lower(), body
        # Still serving: reads work, and so do writes once there is room.
        assert srv.proc.poll() is None
        assert c.get_run(run)["info"]["run_id"] == run
        os.unlink(filler)
        c.log_batch(run, metrics=[{"key": "after", "value": 1, "timestamp": 1, "step": 1}])
        steps = {h["step"] for h in c.history(run, "m")}
        assert all({b * 100 + j for j in range(100)} <= steps for b in acked)
        problems = srv.stop()
        assert not problems, problems
    finally:
        unmount(mnt)


@sqlite_only
def test_read_only_database_is_refused_with_a_clear_error(server_factory):
    srv = server_factory()
    Client(srv.url).create_experiment("kept")
    assert not srv.stop()
    ro = tempfile.mkdtemp(prefix="cairn-ro-")
    try:
        if subprocess.run(["mount", "--bind", srv.tmpdir, ro]).returncode != 0:
            pytest.skip("cannot bind-mount here")
        subprocess.run(["mount", "-o", "remount,ro,bind", ro], check=True)
        before = open(os.path.join(ro, "mlflow.db"), "rb").read()
        r = subprocess.run([CAIRN_BIN, "server", "--port", "0", "--backend-store-uri",
                            f"sqlite:///{ro}/mlflow.db", "--artifacts-destination",
                            os.path.join(srv.tmpdir, "a2")],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 1
        assert "read-only" in r.stderr and f"{ro}/mlflow.db" in r.stderr, r.stderr
        assert "AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr
        assert open(os.path.join(ro, "mlflow.db"), "rb").read() == before
    finally:
        subprocess.run(["umount", ro], check=False)
        os.rmdir(ro)


def test_sigterm_under_load_exits_cleanly_and_keeps_acknowledged(server_factory):
    # Writes in flight when SIGTERM comes (queued to the store, or on the
    # handler pool) are finished or refused, never half-done: the server
    # exits 0 and every acknowledged batch is there after a restart.
    srv = server_factory()
    c = Client(srv.url)
    run = c.create_run()["info"]["run_id"]
    nclients = 16
    acked = [[] for _ in range(nclients)]
    stop = threading.Event()

    def client(i):
        cc = Client(srv.url)
        b = 0
        while not stop.is_set():
            body = {"run_id": run, "metrics": [
                {"key": f"k{i}", "value": 1, "timestamp": 1, "step": b * 5 + j} for j in range(5)]}
            try:
                r = cc.post("runs/log-batch" if b % 2 else "runs/log-metric",
                            body if b % 2 else {"run_id": run, "key": f"k{i}", "value": 1,
                                                "timestamp": 1, "step": b * 5})
            except Exception:
                return
            if r.status_code == 200:
                acked[i].append(b)
            b += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(nclients)]
    for t in threads:
        t.start()
    while min(len(a) for a in acked) < 10 and all(t.is_alive() for t in threads):
        stop.wait(0.05)
    problems = srv.stop()  # SIGTERM, and checks exit status 0 and sanitizer output
    stop.set()
    for t in threads:
        t.join()
    assert not problems, problems
    srv2 = server_factory(tmpdir=srv.tmpdir)
    c2 = Client(srv2.url)
    for i in range(nclients):
        steps = {h["step"] for h in c2.history(run, f"k{i}")}
        for b in acked[i]:
            want = {b * 5 + j for j in range(5)} if b % 2 else {b * 5}
            assert want <= steps, f"client {i} write {b}: acknowledged, then lost"
