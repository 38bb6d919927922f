"""runs/search and experiments/search: filters, order_by, view types,
max_results, pagination.

Reference (MLflow 2.9.2): mlflow/utils/search_utils.py (SearchUtils,
SearchExperimentsUtils: comparators per entity, quoting, AND only,
parse_start_offset_from_page_token), sqlalchemy_store.py (_search_runs,
_get_orderby_clauses: NULLs last, tie-break start_time DESC then run_uuid;
_search_experiments, _get_search_experiments_order_by_clauses; SQLite runs with
PRAGMA case_sensitive_like = true so LIKE is case-sensitive, ILIKE is not),
handlers.py (_search_runs: max_results <= 50000).
"""

import base64
import json

import pytest

from conftest import Client, assert_error, unique


def names(resp):
    return [r["info"]["run_name"] for r in resp.get("runs", [])]


@pytest.fixture(scope="module")
def world(server):
    """Experiment with four active runs and one deleted run."""
    c = Client(server.url)
    exp = c.create_experiment(unique("search"))
    spec = [
        # name, start, user, status, end, metrics, params, tags
        ("alpha", 1000, "alice", "FINISHED", 5000, {"acc": 0.9, "loss": 0.1, "val/acc 1": 3},
         {"model": "LogReg", "lr": "0.1"}, {"team": "Red", "env": "prod"}),
        ("beta", 2000, "bob", None, None, {"acc": 0.5, "loss": 0.5},
         {"model": "logreg", "lr": "0.01"}, {"team": "red"}),
        ("gamma", 3000, "alice", "FAILED", 6000, {"acc": 0.7},
         {"model": "SVM"}, {"team": "Blue", "my key": "spaced", "dash-key": "d"}),
        ("delta", 3000, "carol", "KILLED", 7000, {}, {}, {}),
        ("eps", 4000, "dave", None, None, {"acc": 1.0}, {"model": "LogReg"}, {"team": "Red"}),
    ]
    ids = {}
    for name, start, user, status, end, metrics, params, tags in spec:
        run = c.create_run(exp, start_time=start, run_name=name, user_id=user)
        rid = run["info"]["run_id"]
        ids[name] = rid
        c.log_batch(rid,
                    metrics=[{"key": k, "value": v, "timestamp": start, "step": 0}
                             for k, v in metrics.items()],
                    params=[{"key": k, "value": v} for k, v in params.items()],
                    tags=[{"key": k, "value": v} for k, v in tags.items()])
        if status:
            c.ok_post("runs/update", {"run_id": rid, "status": status, "end_time": end})
    ds = lambda n, d, ctx: {"tags": [{"key": "mlflow.data.context", "value": ctx}],  # noqa: E731
                            "dataset": {"name": n, "digest": d, "source_type": "local",
                                        "source": "{}"}}
    c.ok_post("runs/log-inputs", {"run_id": ids["alpha"], "datasets": [ds("train-ds", "d1",
                                                                          "training")]})
    c.ok_post("runs/log-inputs", {"run_id": ids["beta"], "datasets": [ds("eval-ds", "d2",
                                                                         "eval")]})
    c.ok_post("runs/delete", {"run_id": ids["eps"]})
    return {"exp": exp, "ids": ids, "client": c}


FILTERS = [
    # metrics: > >= < <= = !=
    ("metrics.acc > 0.6", {"alpha", "gamma"}),
    ("metrics.acc >= 0.7", {"alpha", "gamma"}),
    ("metrics.acc < 0.7", {"beta"}),
    ("metrics.acc <= 0.7", {"beta", "gamma"}),
    ("metrics.acc = 0.5", {"beta"}),
    ("metrics.acc != 0.5", {"alpha", "gamma"}),
    ("metric.acc > 0.6", {"alpha", "gamma"}),
    ("metrics.loss < 1", {"alpha", "beta"}),
    ("metrics.`val/acc 1` = 3", {"alpha"}),
    ('metrics."val/acc 1" >= 3', {"alpha"}),
    ("metrics.acc > 0.6 and metrics.loss < 0.2", {"alpha"}),
    ("metrics.acc > 0.6 AND metrics.loss < 0.2", {"alpha"}),
    ("metrics.nosuch > 0", set()),
    # params: = != LIKE ILIKE
    ("params.model = 'LogReg'", {"alpha"}),
    ("params.model != 'LogReg'", {"beta", "gamma"}),
    ("params.model LIKE 'Log%'", {"alpha"}),
    ("params.model LIKE '%Reg'", {"alpha"}),
    ("params.model LIKE 'log%'", {"beta"}),
    ("params.model ILIKE 'LOG%'", {"alpha", "beta"}),
    ("params.model LIKE '_VM'", {"gamma"}),
    ("param.lr = '0.1'", {"alpha"}),
    ("parameters.lr = '0.01'", {"beta"}),
    ("parameter.lr != '0.01'", {"alpha"}),
    ("params.model = 'x'' OR ''1''=''1'", set()),
    # tags: = != LIKE ILIKE
    ("tags.team = 'red'", {"beta"}),
    ("tags.team != 'Blue'", {"alpha", "beta"}),
    ("tags.team LIKE 'R%'", {"alpha"}),
    ("tags.team ILIKE 'red'", {"alpha", "beta"}),
    ("tag.env = 'prod'", {"alpha"}),
    ("tags.`my key` = 'spaced'", {"gamma"}),
    ('tags."dash-key" = \'d\'', {"gamma"}),
    ("tags.mlflow.runName = 'alpha'", {"alpha"}),
    # string attributes: = != LIKE ILIKE, IN / NOT IN for run_id
    ("attributes.run_name = 'alpha'", {"alpha"}),
    ("attributes.run_name != 'alpha'", {"beta", "gamma", "delta"}),
    ("attributes.run_name LIKE 'g%'", {"gamma"}),
    ("attributes.run_name ILIKE 'ALP%'", {"alpha"}),
    ("attributes.run_name LIKE 'ALP%'", set()),
    ("run.run_name = 'beta'", {"beta"}),
    ("attr.run_name = 'beta'", {"beta"}),
    ("attribute.run_name = 'beta'", {"beta"}),
    ("attributes.status = 'FINISHED'", {"alpha"}),
    ("attributes.status != 'RUNNING'", {"alpha", "gamma", "delta"}),
    ("attributes.status LIKE 'F%'", {"alpha", "gamma"}),
    ("attributes.user_id = 'alice'", {"alpha", "gamma"}),
    ("attributes.user_id ILIKE 'BOB'", {"beta"}),
    # numeric attributes
    ("attributes.start_time > 2000", {"gamma", "delta"}),
    ("attributes.start_time >= 2000", {"beta", "gamma", "delta"}),
    ("attributes.start_time < 2000", {"alpha"}),
    ("attributes.start_time <= 1000", {"alpha"}),
    ("attributes.start_time = 3000", {"gamma", "delta"}),
    ("attributes.start_time != 3000", {"alpha", "beta"}),
    ("attributes.end_time = 5000", {"alpha"}),
    ("attributes.end_time > 5500", {"gamma", "delta"}),
    ("attributes.created >= 3000", {"gamma", "delta"}),
    # datasets
    ("datasets.name = 'train-ds'", {"alpha"}),
    ("dataset.name != 'train-ds'", {"beta"}),
    ("datasets.digest = 'd2'", {"beta"}),
    ("datasets.context = 'training'", {"alpha"}),
    ("datasets.name LIKE '%-ds'", {"alpha", "beta"}),
    ("datasets.name IN ('train-ds', 'eval-ds')", {"alpha", "beta"}),
    # combinations across entities
    ("params.model ILIKE 'log%' and tags.team = 'Red'", {"alpha"}),
    ("metrics.acc > 0 and params.model != 'SVM' and attributes.user_id = 'bob'", {"beta"}),
]


@pytest.mark.parametrize("flt,expected", FILTERS, ids=[f for f, _ in FILTERS])
def test_search_filter(world, flt, expected):
    resp = world["client"].search_runs([world["exp"]], filter=flt)
    assert set(names(resp)) == expected


def test_search_run_id_in_and_not_in(world):
    c, ids = world["client"], world["ids"]
    f = f"attributes.run_id IN ('{ids['alpha']}', '{ids['gamma']}')"
    assert set(names(c.search_runs([world["exp"]], filter=f))) == {"alpha", "gamma"}
    f = f"attributes.run_id NOT IN ('{ids['alpha']}')"
    assert set(names(c.search_runs([world["exp"]], filter=f))) == {"beta", "gamma", "delta"}
    f = f"attributes.run_id = '{ids['beta']}'"
    assert names(c.search_runs([world["exp"]], filter=f)) == ["beta"]


BAD_FILTERS = [
    "metrics.acc > 0.5 OR metrics.acc < 0.2",
    "metrics.acc LIKE '0.5'",
    "metrics.acc > 'abc'",
    "params.model > 'a'",
    "tags.team < 'x'",
    "attributes.user_id IN ('alice')",
    "attributes.start_time LIKE '1%'",
    "attributes.start_time > 'abc'",
    "params.model = LogReg",
    "foo.bar = 'x'",
    "attributes.nonexistent = 'x'",
    "datasets.foo = 'x'",
    "metrics.acc >",
    "params.model = 'a'; DROP TABLE runs",
]


@pytest.mark.parametrize("flt", BAD_FILTERS)
def test_search_bad_filter(world, flt):
    r = world["client"].post("runs/search", {"experiment_ids": [world["exp"]], "filter": flt})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE")
    # Still intact afterwards.
    assert len(world["client"].search_runs([world["exp"]])["runs"]) == 4


def test_view_types(world):
    c, exp = world["client"], world["exp"]
    assert set(names(c.search_runs([exp]))) == {"alpha", "beta", "gamma", "delta"}
    assert set(names(c.search_runs([exp], view="ACTIVE_ONLY"))) == {"alpha", "beta", "gamma",
                                                                    "delta"}
    assert set(names(c.search_runs([exp], view="DELETED_ONLY"))) == {"eps"}
    assert set(names(c.search_runs([exp], view="ALL"))) == {"alpha", "beta", "gamma", "delta",
                                                            "eps"}
    assert set(names(c.search_runs([exp], filter="params.model = 'LogReg'", view="ALL"))) == \
        {"alpha", "eps"}


def _tie(world, *names_):
    # Runs with equal start_time are ordered by run_id ascending.
    return [n for n in sorted(names_, key=lambda n: world["ids"][n])]


def test_default_order_start_time_desc_then_run_id(world):
    got = names(world["client"].search_runs([world["exp"]]))
    assert got == _tie(world, "gamma", "delta") + ["beta", "alpha"]


@pytest.mark.parametrize("order_by,expected", [
    (["metrics.acc DESC"], ["alpha", "gamma", "beta", "delta"]),
    (["metrics.acc ASC"], ["beta", "gamma", "alpha", "delta"]),   # NULLs last
    (["metrics.acc"], ["beta", "gamma", "alpha", "delta"]),
    (["params.model ASC"], ["alpha", "gamma", "beta", "delta"]),  # 'LogReg' < 'SVM' < 'logreg'
    (["params.model DESC"], ["beta", "gamma", "alpha", "delta"]),
    (["tags.team DESC"], ["beta", "alpha", "gamma", "delta"]),
    (["attributes.run_name ASC"], ["alpha", "beta", "delta", "gamma"]),
    (["attributes.run_name DESC"], ["gamma", "delta", "beta", "alpha"]),
    (["attributes.user_id ASC", "metrics.acc DESC"], ["alpha", "gamma", "beta", "delta"]),
    (["attributes.end_time DESC"], None),
    (["attributes.start_time ASC"], None),
    (["attributes.start_time DESC"], None),
])
def test_order_by(world, order_by, expected):
    if expected is None:
        if order_by == ["attributes.start_time ASC"]:
            expected = ["alpha", "beta"] + _tie(world, "gamma", "delta")
        elif order_by == ["attributes.start_time DESC"]:
            expected = _tie(world, "gamma", "delta") + ["beta", "alpha"]
        else:  # end_time DESC: 7000 delta, 6000 gamma, 5000 alpha, NULL beta last
            expected = ["delta", "gamma", "alpha", "beta"]
    got = names(world["client"].search_runs([world["exp"]], order_by=order_by))
    assert got == expected


@pytest.mark.parametrize("order_by", [["foo.bar"], ["attributes.nope"],
                                      ["metrics.acc SIDEWAYS"]])
def test_bad_order_by(world, order_by):
    r = world["client"].post("runs/search", {"experiment_ids": [world["exp"]],
                                             "order_by": order_by})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize("max_results,status", [
    # MLflow 2.9.2's _search_runs only checks "> 50000" (the "< 1" check of
    # _validate_max_results_param arrived in 2.14): 0 yields an empty page.
    (1, 200), (50000, 200), (50001, 400), (0, 200), ("abc", 400),
])
def test_search_runs_max_results(world, max_results, status):
    r = world["client"].post("runs/search", {"experiment_ids": [world["exp"]],
                                             "max_results": max_results})
    if status == 200:
        assert r.status_code == 200, r.text
        assert len(r.json().get("runs", [])) == min(4, max_results)
    else:
        assert_error(r, 400, "INVALID_PARAMETER_VALUE", "max_results")


@pytest.mark.parametrize("body,fragment", [
    ({"experiment_ids": [], "filter": 5}, "filter"),
    ({"experiment_ids": ["0"], "order_by": "metrics.acc"}, "order_by"),
    ({"experiment_ids": ["0"], "order_by": [1]}, "order_by"),
])
def test_search_runs_wrong_types(client, body, fragment):
    assert_error(client.post("runs/search", body), 400, "INVALID_PARAMETER_VALUE", fragment)


def test_search_runs_multiple_experiments(world):
    c = world["client"]
    other = c.create_experiment()
    c.create_run(other, run_name="other-run")
    got = set(names(c.search_runs([world["exp"], other])))
    assert got == {"alpha", "beta", "gamma", "delta", "other-run"}


def test_search_runs_unknown_experiment_is_empty(world):
    resp = world["client"].search_runs(["987654321"])
    assert resp.get("runs", []) == []
    assert not resp.get("next_page_token")


def test_search_runs_returns_full_run(world):
    resp = world["client"].search_runs([world["exp"]], filter="attributes.run_name = 'alpha'")
    run = resp["runs"][0]
    assert {p["key"]: p["value"] for p in run["data"]["params"]} == {"model": "LogReg",
                                                                    "lr": "0.1"}
    assert {m["key"] for m in run["data"]["metrics"]} == {"acc", "loss", "val/acc 1"}
    assert run["inputs"]["dataset_inputs"][0]["dataset"]["name"] == "train-ds"


# --------------------------------------------------------------------------
# Pagination
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def many(server):
    c = Client(server.url)
    exp = c.create_experiment(unique("pages"))
    ids = []
    for i in range(23):
        # Several runs share a start_time, so ties must be broken stably.
        run = c.create_run(exp, start_time=1000 + (i // 4), run_name=f"r{i:02d}")
        rid = run["info"]["run_id"]
        ids.append(rid)
        c.ok_post("runs/log-metric", {"run_id": rid, "key": "m", "value": i % 5,
                                      "timestamp": 1, "step": 0})
    return {"exp": exp, "ids": ids, "client": c}


def _paginate(c, exp, page_size, **kw):
    seen, token, pages = [], None, 0
    while True:
        resp = c.search_runs([exp], max_results=page_size, page_token=token, **kw)
        page = [r["info"]["run_id"] for r in resp.get("runs", [])]
        assert len(page) <= page_size
        seen.extend(page)
        pages += 1
        token = resp.get("next_page_token")
        if not token:
            return seen, pages
        assert pages < 100, "pagination does not terminate"


@pytest.mark.parametrize("page_size", [1, 5, 7, 23, 24, 1000])
@pytest.mark.parametrize("order_by", [None, ["metrics.m DESC"], ["attributes.run_name ASC"]])
def test_pagination_no_duplicates_no_gaps(many, page_size, order_by):
    c, exp = many["client"], many["exp"]
    full = [r["info"]["run_id"] for r in
            c.search_runs([exp], max_results=1000, order_by=order_by)["runs"]]
    assert sorted(full) == sorted(many["ids"])
    seen, _pages = _paginate(c, exp, page_size, order_by=order_by)
    assert seen == full


def test_pagination_with_filter(many):
    c, exp = many["client"], many["exp"]
    seen, _ = _paginate(c, exp, 2, filter="metrics.m >= 3")
    assert len(seen) == len(set(seen)) == sum(1 for i in range(23) if i % 5 >= 3)


@pytest.mark.parametrize("token", [
    "not-a-token!!",
    base64.b64encode(b"notjson").decode(),
    base64.b64encode(json.dumps({}).encode()).decode(),
    base64.b64encode(json.dumps({"offset": "abc"}).encode()).decode(),
])
def test_bad_page_token(many, token):
    r = many["client"].post("runs/search", {"experiment_ids": [many["exp"]],
                                            "page_token": token})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "page token")


# --------------------------------------------------------------------------
# experiments/search
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def exps(server):
    c = Client(server.url)
    prefix = unique("ES")
    created = []
    for suffix in ["c", "a", "e", "b", "d"]:
        name = f"{prefix}-{suffix}"
        eid = c.create_experiment(name, tags=[{"key": "letter", "value": suffix},
                                              {"key": "grp", "value": "vowel" if suffix in "ae"
                                               else "consonant"}])
        created.append((name, eid))
    deleted_name = f"{prefix}-zdeleted"
    deleted_id = c.create_experiment(deleted_name)
    c.ok_post("experiments/delete", {"experiment_id": deleted_id})
    return {"prefix": prefix, "created": created, "deleted": (deleted_name, deleted_id),
            "client": c}


def _exp_search(c, method="POST", **params):
    if method == "POST":
        return c.ok_post("experiments/search", params)
    return c.ok_get("experiments/search", params)


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize("flt,expected", [
    ("name LIKE '{p}-%'", {"a", "b", "c", "d", "e"}),
    ("name ILIKE '{pl}-%'", {"a", "b", "c", "d", "e"}),
    ("name LIKE '{pl}-%'", set()),
    ("name = '{p}-a'", {"a"}),
    ("attribute.name = '{p}-a'", {"a"}),
    ("name LIKE '{p}-%' AND name != '{p}-a'", {"b", "c", "d", "e"}),
    ("name LIKE '{p}-%' and tags.grp = 'vowel'", {"a", "e"}),
    ("name LIKE '{p}-%' and tags.letter LIKE '%d'", {"d"}),
    ("name LIKE '{p}-%' and tags.letter ILIKE 'B'", {"b"}),
    ("name LIKE '{p}-%' and tags.letter != 'a'", {"b", "c", "d", "e"}),
    ("name LIKE '{p}-%' and creation_time > 0", {"a", "b", "c", "d", "e"}),
    ("name LIKE '{p}-%' and last_update_time < 0", set()),
])
def test_search_experiments_filter(exps, method, flt, expected):
    p = exps["prefix"]
    flt = flt.format(p=p, pl=p.lower() if p.lower() != p else p.swapcase())
    resp = _exp_search(exps["client"], method, filter=flt, max_results=100)
    got = {e["name"].rsplit("-", 1)[1] for e in resp.get("experiments", [])}
    assert got == expected


def test_search_experiments_view_types(exps):
    c, p = exps["client"], exps["prefix"]
    flt = f"name LIKE '{p}-%'"
    active = {e["name"] for e in _exp_search(c, filter=flt, max_results=100)["experiments"]}
    assert exps["deleted"][0] not in active and len(active) == 5
    deleted = _exp_search(c, filter=flt, max_results=100, view_type="DELETED_ONLY")
    assert [e["name"] for e in deleted["experiments"]] == [exps["deleted"][0]]
    assert deleted["experiments"][0]["lifecycle_stage"] == "deleted"
    allv = _exp_search(c, filter=flt, max_results=100, view_type="ALL")["experiments"]
    assert len(allv) == 6


def test_search_experiments_default_experiment(exps):
    resp = _exp_search(exps["client"], filter="name = 'Default'", max_results=10)
    assert [e["experiment_id"] for e in resp["experiments"]] == ["0"]


@pytest.mark.parametrize("order_by,key", [
    (["name ASC"], lambda e: e["name"]),
    (["name"], lambda e: e["name"]),
    (["experiment_id ASC"], lambda e: int(e["experiment_id"])),
])
def test_search_experiments_order_by_ascending(exps, order_by, key):
    flt = f"name LIKE '{exps['prefix']}-%'"
    got = _exp_search(exps["client"], filter=flt, order_by=order_by, max_results=100)
    got = got["experiments"]
    assert got == sorted(got, key=key) and len(got) == 5


@pytest.mark.parametrize("order_by,key", [
    (["name DESC"], lambda e: e["name"]),
    (["experiment_id DESC"], lambda e: int(e["experiment_id"])),
])
def test_search_experiments_order_by_descending(exps, order_by, key):
    flt = f"name LIKE '{exps['prefix']}-%'"
    got = _exp_search(exps["client"], filter=flt, order_by=order_by, max_results=100)
    got = got["experiments"]
    assert got == sorted(got, key=key, reverse=True) and len(got) == 5


def test_search_experiments_default_order(exps):
    # Default: creation_time DESC, then experiment_id ASC.
    flt = f"name LIKE '{exps['prefix']}-%'"
    got = _exp_search(exps["client"], filter=flt, max_results=100)["experiments"]
    assert got == sorted(got, key=lambda e: (-e["creation_time"], int(e["experiment_id"])))


def test_search_experiments_get_repeated_order_by_keys(exps):
    # GET with a repeated query key: order_by=name DESC&order_by=experiment_id ASC.
    # Names were created in the order c, a, e, b, d, so name DESC differs from
    # experiment_id ASC; taking only the last key would give the wrong order.
    c = exps["client"]
    flt = f"name LIKE '{exps['prefix']}-%'"
    r = c.s.get(c.url("experiments/search"), timeout=60,
                params=[("filter", flt), ("max_results", "100"),
                        ("order_by", "name DESC"), ("order_by", "experiment_id ASC")])
    assert r.status_code == 200, r.text
    got = [e["name"].rsplit("-", 1)[1] for e in r.json()["experiments"]]
    assert got == ["e", "d", "c", "b", "a"]


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize("page_size", [1, 2, 4, 5, 6])
def test_search_experiments_pagination(exps, method, page_size):
    c = exps["client"]
    flt = f"name LIKE '{exps['prefix']}-%'"
    seen, token = [], None
    for _ in range(20):
        params = {"filter": flt, "max_results": page_size, "order_by": ["name ASC"]}
        if token:
            params["page_token"] = token
        resp = _exp_search(c, method, **params)
        page = [e["name"] for e in resp.get("experiments", [])]
        assert len(page) <= page_size
        seen.extend(page)
        token = resp.get("next_page_token")
        if not token:
            break
    assert seen == sorted(n for n, _ in exps["created"])


@pytest.mark.parametrize("params", [
    {"max_results": 50001},
    {"max_results": "abc"},
    {"max_results": 10, "filter": "name > 'x'"},
    {"max_results": 10, "filter": "foo = 'x'"},
    {"max_results": 10, "filter": "name = 'a' OR name = 'b'"},
    {"max_results": 10, "filter": "creation_time LIKE '1%'"},
    {"max_results": 10, "order_by": ["foo ASC"]},
    {"max_results": 10, "order_by": ["name SIDEWAYS"]},
    {"max_results": 10, "page_token": "garbage!!"},
])
def test_search_experiments_invalid(exps, params):
    r = exps["client"].post("experiments/search", params)
    assert_error(r, 400, "INVALID_PARAMETER_VALUE")


def test_search_experiments_max_results_limit_ok(exps):
    _exp_search(exps["client"], max_results=50000, filter="name = 'Default'")


# ---- ordered by a metric the filter requires (the store walks that metric's
# values in order and stops at the page's end): same answer as MLflow's rule ----

@pytest.fixture(scope="module")
def ordered(server):
    c = Client(server.url)
    exp = c.create_experiment(unique("ordered"))
    other = c.create_experiment(unique("ordered-other"))
    rnd = __import__("random").Random(5)
    runs = {}
    for i in range(70):
        e = other if i % 10 == 9 else exp
        rid = c.create_run(e, start_time=1000 + rnd.randrange(8))["info"]["run_id"]
        m = rnd.choice([None, "NaN", 0.1, 0.2, 0.2, 0.5, 0.7, 0.7, 0.9, -1.0])
        p = rnd.choice(["x", "y"])
        metrics = [] if m is None else [{"key": "m", "value": m, "timestamp": 1, "step": 0}]
        c.log_batch(rid, metrics=metrics, params=[{"key": "p", "value": p}])
        if i % 13 == 0:
            c.ok_post("runs/delete", {"run_id": rid})
        runs[rid] = {"exp": e, "m": m, "p": p, "start": 1000, "deleted": i % 13 == 0}
    for rid in runs:
        runs[rid]["start"] = c.get_run(rid)["info"]["start_time"]
    return {"c": c, "exp": exp, "runs": runs}


def _oracle(runs, exp, test, p, asc):
    keep = [(rid, r) for rid, r in runs.items()
            if r["exp"] == exp and not r["deleted"] and isinstance(r["m"], float) and test(r["m"])
            and (p is None or r["p"] == p)]
    # MLflow: the metric (NaN and missing last, none here), then start_time
    # DESC, then run_id ASC.
    keep.sort(key=lambda kv: (kv[0]))
    keep.sort(key=lambda kv: -kv[1]["start"])
    keep.sort(key=lambda kv: kv[1]["m"], reverse=not asc)
    return [rid for rid, _ in keep]


@pytest.mark.parametrize("flt,test", [
    ("metrics.m > 0.15", lambda v: v > 0.15),
    ("metrics.m >= 0.2", lambda v: v >= 0.2),
    ("metrics.m < 0.8", lambda v: v < 0.8),
    ("metrics.m <= 0.7", lambda v: v <= 0.7),
    ("metrics.m = 0.7", lambda v: v == 0.7),
])
@pytest.mark.parametrize("p", [None, "x"])
@pytest.mark.parametrize("asc", [False, True])
@pytest.mark.parametrize("page_size", [3, 1000])
def test_order_by_the_filtered_metric_matches_mlflow(ordered, flt, test, p, asc, page_size):
    c, exp, runs = ordered["c"], ordered["exp"], ordered["runs"]
    full_filter = flt + (f" and params.p = '{p}'" if p else "")
    order = ["metrics.m" + ("" if asc else " DESC")]
    seen, _ = _paginate(c, exp, page_size, filter=full_filter, order_by=order)
    assert seen == _oracle(runs, exp, test, p, asc)
