"""Durability: acknowledged writes survive SIGKILL; restarts keep data and do
not duplicate the default experiment.

Reference: ARCHITECTURE.md ("The SQLite store must not lose an acknowledged
write when the process is killed"); MLflow 2.9.2 SqlAlchemyStore.__init__
creates experiment 0 "Default" only when no experiment exists.
"""

import threading

from conftest import Client, metrics_dict, params_dict, tags_dict, unique


def test_fresh_database_has_only_default(server_factory):
    srv = server_factory()
    c = Client(srv.url)
    resp = c.ok_post("experiments/search", {"max_results": 1000, "view_type": "ALL"})
    exps = resp["experiments"]
    assert [(e["experiment_id"], e["name"]) for e in exps] == [("0", "Default")]
    assert exps[0]["artifact_location"] == "mlflow-artifacts:/0"


def test_acknowledged_writes_survive_sigkill(server_factory):
    srv = server_factory()
    c = Client(srv.url)
    exp_id = c.create_experiment(unique("crash"))
    run_id = c.create_run(exp_id, run_name="crashy")["info"]["run_id"]
    c.log_batch(run_id,
                metrics=[{"key": "loss", "value": 1.0 / (i + 1), "timestamp": 1000 + i,
                          "step": i} for i in range(500)],
                params=[{"key": f"p{i}", "value": f"v{i}"} for i in range(50)],
                tags=[{"key": f"t{i}", "value": f"w{i}"} for i in range(50)])
    # A stream of single acknowledged writes right before the crash.
    for i in range(50):
        c.ok_post("runs/log-metric", {"run_id": run_id, "key": "single", "value": i,
                                      "timestamp": i, "step": i})
    c.ok_post("runs/set-tag", {"run_id": run_id, "key": "last", "value": "before-kill"})
    c.ok_post("runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": 4242})
    c.ok_post("experiments/set-experiment-tag", {"experiment_id": exp_id, "key": "e",
                                                 "value": "x"})

    srv.kill()
    srv2 = server_factory(tmpdir=srv.tmpdir)
    c2 = Client(srv2.url)
    run = c2.get_run(run_id)
    assert run["info"]["run_name"] == "crashy"
    assert run["info"]["status"] == "FINISHED" and run["info"]["end_time"] == 4242
    assert params_dict(run) == {f"p{i}": f"v{i}" for i in range(50)}
    tags = tags_dict(run)
    assert all(tags[f"t{i}"] == f"w{i}" for i in range(50))
    assert tags["last"] == "before-kill"
    assert metrics_dict(run)["loss"]["step"] == 499
    assert sorted(h["step"] for h in c2.history(run_id, "loss")) == list(range(500))
    assert sorted(h["step"] for h in c2.history(run_id, "single")) == list(range(50))
    assert tags_dict(c2.get_experiment(exp_id))["e"] == "x"


def test_sigkill_during_concurrent_logging_keeps_acknowledged(server_factory):
    import threading
    srv = server_factory()
    c = Client(srv.url)
    run_id = c.create_run()["info"]["run_id"]
    acked = [[] for _ in range(4)]
    stop = threading.Event()

    def worker(t):
        cc = Client(srv.url)
        i = 0
        while not stop.is_set() and i < 100000:
            try:
                r = cc.post("runs/log-metric", {"run_id": run_id, "key": f"k{t}", "value": i,
                                                "timestamp": i, "step": i})
            except Exception:
                return
            if r.status_code == 200:
                acked[t].append(i)
            i += 1

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    # Let each worker get a good number of acknowledged writes in.
    while min(len(a) for a in acked) < 50 and all(th.is_alive() for th in threads):
        stop.wait(0.05)
    srv.kill()
    stop.set()
    for th in threads:
        th.join()
    assert min(len(a) for a in acked) >= 50
    srv2 = server_factory(tmpdir=srv.tmpdir)
    c2 = Client(srv2.url)
    for t in range(4):
        stored = {h["step"] for h in c2.history(run_id, f"k{t}")}
        missing = set(acked[t]) - stored
        assert not missing, f"k{t}: {len(missing)} acknowledged metrics lost"


def test_clean_restart_keeps_data_and_single_default(server_factory):
    srv = server_factory()
    c = Client(srv.url)
    name = unique("keep")
    exp_id = c.create_experiment(name)
    problems = srv.stop()
    assert not problems, problems
    srv2 = server_factory(tmpdir=srv.tmpdir)
    c2 = Client(srv2.url)
    assert c2.get_experiment(exp_id)["name"] == name
    exps = c2.ok_post("experiments/search", {"max_results": 1000, "view_type": "ALL"})
    defaults = [e for e in exps["experiments"] if e["name"] == "Default"]
    assert [e["experiment_id"] for e in defaults] == ["0"]
    # New ids keep growing after a restart.
    new_id = c2.create_experiment()
    assert int(new_id) > int(exp_id)


def test_two_servers_share_one_database(server_factory):
    # Like `mlflow server --workers N` (N gunicorn processes on one SQLite
    # file): writes through either process land, and both read them all.
    first = server_factory()
    second = server_factory(tmpdir=first.tmpdir)
    a, b = Client(first.url), Client(second.url)
    exp_id = a.create_experiment(unique("shared"))
    run_id = b.create_run(exp_id)["info"]["run_id"]
    errors = []

    def logger(url, key):
        client = Client(url)  # one session per thread
        try:
            for i in range(100):
                client.ok_post("runs/log-metric", {"run_id": run_id, "key": key, "value": i,
                                                   "timestamp": i, "step": i})
        except AssertionError as e:  # pragma: no cover - reported below
            errors.append(str(e))

    threads = [threading.Thread(target=logger, args=(first.url if t % 2 else second.url, f"k{t}"))
               for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for c in (a, b):
        for t in range(6):
            hist = c.ok_get("metrics/get-history", {"run_id": run_id, "metric_key": f"k{t}"})
            assert [m["step"] for m in hist["metrics"]] == list(range(100))
