"""Shared fixtures and helpers for Cairn's black-box API tests.

The tests drive the real `cairn server` binary over HTTP and check it against
MLflow 2.9.2's tracking REST API (mlflow/server/handlers.py,
mlflow/store/tracking/sqlalchemy_store.py, mlflow/utils/validation.py,
mlflow/utils/search_utils.py). Run them with:

    /usr/bin/python3 -m pytest tests/api

Environment:
    CAIRN_BIN       server binary (default: <repo>/build/cairn)
    CAIRN_SKIP_BIG  set to 1 to skip the 2 GiB artifact streaming test
    CAIRN_TEST_S3   an S3 URI (s3://bucket, see scripts/swift.sh): every server
                    keeps its artifacts there, below a prefix of its own, with
                    the AWS_* and MLFLOW_S3_ENDPOINT_URL variables of the
                    environment. Tests that look at the destination's files on
                    disk are skipped with `local_artifacts_only`.
    CAIRN_TEST_PG   a PostgreSQL URI (postgresql://user@host:port/db, see
                    scripts/pg.sh): run every server on PostgreSQL instead of
                    SQLite, each new data directory with a database of its own
                    (CREATE DATABASE through psql); a server restarted over the
                    same directory gets the same database. Tests that only make
                    sense on SQLite are skipped with `sqlite_only`.

Every server a test starts is stopped by PID with SIGTERM; its exit status must
be 0 and its stderr must hold no AddressSanitizer / UBSan report.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import pytest
import requests

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CAIRN_BIN = os.environ.get("CAIRN_BIN", os.path.join(REPO_ROOT, "build", "cairn"))

# Generous: the server may run under AddressSanitizer on a loaded machine.
# These are liveness bounds for fixtures, never assertions about speed.
STARTUP_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 60.0
HTTP_TIMEOUT = 120.0

SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "WARNING: ThreadSanitizer",
)

API_PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")
ARTIFACTS_PREFIXES = ("/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts")

PG_BASE = os.environ.get("CAIRN_TEST_PG") or None
# CAIRN_TEST_AUTH=1: every server runs with --auth, its first admin having
# AUTH_ADMIN_PASSWORD, and every request of the suite carries the admin's
# credentials (requests reads them from the netrc file NETRC names; the raw
# helpers add the header): the whole suite through an authenticated client.
AUTH_ON = os.environ.get("CAIRN_TEST_AUTH") == "1"
AUTH_ADMIN_PASSWORD = "Suite-adm1n!"
AUTH_HEADER = "Basic " + __import__("base64").b64encode(
    f"admin:{AUTH_ADMIN_PASSWORD}".encode()).decode()
if AUTH_ON:
    _netrc = os.path.join(tempfile.gettempdir(), f"cairn-test-netrc-{os.getpid()}")
    with open(_netrc, "w") as _f:
        _f.write(f"machine 127.0.0.1 login admin password {AUTH_ADMIN_PASSWORD}\n")
    os.chmod(_netrc, 0o600)
    os.environ["NETRC"] = _netrc
S3_BASE = os.environ.get("CAIRN_TEST_S3") or None

sqlite_only = pytest.mark.skipif(
    PG_BASE is not None, reason="SQLite-specific (a .db file, its schema or its journal)")
postgres_only = pytest.mark.skipif(PG_BASE is None, reason="needs CAIRN_TEST_PG")
local_artifacts_only = pytest.mark.skipif(
    S3_BASE is not None, reason="looks at the artifacts destination's files on disk")


def pg_uri(dbname, base=None):
    """The URI of database dbname on the server of base (CAIRN_TEST_PG)."""
    base = base or PG_BASE
    head, _, tail = base.partition("?")
    head = head.rsplit("/", 1)[0]
    return f"{head}/{dbname}" + (f"?{tail}" if tail else "")


def psql(sql, dbname="postgres", check=True):
    """Run SQL through psql on the test server; returns stdout (unaligned,
    tuples only, fields separated by '|')."""
    r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                        "-d", pg_uri(dbname), "-c", sql],
                       capture_output=True, text=True, timeout=120)
    if check and r.returncode != 0:
        raise AssertionError(f"psql failed: {r.stderr}")
    return r.stdout


def pg_new_database():
    name = "cairn_" + uuid.uuid4().hex[:16]
    psql(f"CREATE DATABASE {name}")
    return name


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sanitizer_report(text):
    """Return the sanitizer marker found in text, or None."""
    for marker in SANITIZER_MARKERS:
        if marker in text:
            return marker
    return None


class Server:
    """One `cairn server` process over a data directory (tmpdir)."""

    def __init__(self, tmpdir):
        self.tmpdir = tmpdir
        self.db_path = os.path.join(tmpdir, "mlflow.db")
        self.artifacts_root = os.path.join(tmpdir, "mlartifacts")
        if S3_BASE:
            # A prefix per data directory, found again on a restart.
            self.artifacts_root = f"{S3_BASE.rstrip('/')}/{os.path.basename(tmpdir)}"
        self.proc = None
        self.port = None
        self.stderr_paths = []
        self.killed = False
        self.pg_database = None
        self.prefix = []  # a command the server runs under (e.g. unshare)
        self.env = None  # the server's environment (None: the tests')
        self.extra_args = []  # more options for `cairn server` (e.g. --auth)
        if PG_BASE:
            # One database per data directory, found again on a restart.
            marker = os.path.join(tmpdir, "pg-database")
            if os.path.exists(marker):
                with open(marker) as f:
                    self.pg_database = f.read().strip()
            else:
                self.pg_database = pg_new_database()
                with open(marker, "w") as f:
                    f.write(self.pg_database)

    @property
    def store_uri(self):
        if getattr(self, "uri_override", None):
            return self.uri_override
        if self.pg_database:
            return pg_uri(self.pg_database)
        return f"sqlite:///{self.db_path}"

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self):
        return self.proc.pid

    def start(self):
        if not os.path.exists(CAIRN_BIN):
            pytest.fail(f"server binary not found: {CAIRN_BIN} (build it with `make`)")
        last_err = None
        for _attempt in range(3):
            self.port = _free_port()
            n = len(self.stderr_paths)
            err_path = os.path.join(self.tmpdir, f"server-stderr-{n}.log")
            out_path = os.path.join(self.tmpdir, f"server-stdout-{n}.log")
            self.stderr_paths.append(err_path)
            self.killed = False
            with open(err_path, "wb") as err, open(out_path, "wb") as out:
                self.proc = subprocess.Popen(
                    self.prefix + [
                        CAIRN_BIN,
                        "server",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(self.port),
                        "--backend-store-uri",
                        self.store_uri,
                        "--artifacts-destination",
                        self.artifacts_root,
                    ] + self.extra_args + (["--auth"] if AUTH_ON else []),
                    stdout=out,
                    stderr=err,
                    stdin=subprocess.DEVNULL,
                    cwd=self.tmpdir,
                    env=dict(self.env or os.environ,
                             CAIRN_AUTH_ADMIN_PASSWORD=AUTH_ADMIN_PASSWORD) if AUTH_ON else self.env,
                )
            if self._wait_listening():
                return self
            last_err = self.stderr_text(-1)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        pytest.fail(f"cairn server did not start listening; stderr:\n{last_err}")

    def _wait_listening(self):
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1.0):
                    pass
                r = requests.get(self.url + "/health", timeout=HTTP_TIMEOUT)
                if r.status_code == 200:
                    return True
            except (OSError, requests.RequestException):
                pass
            time.sleep(0.1)
        return False

    def stderr_text(self, idx=None):
        paths = self.stderr_paths if idx is None else [self.stderr_paths[idx]]
        out = []
        for p in paths:
            try:
                with open(p, "r", errors="replace") as f:
                    out.append(f.read())
            except OSError:
                pass
        return "\n".join(out)

    def vm_hwm_kb(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise AssertionError("VmHWM not found")

    def kill(self):
        """SIGKILL: simulates a crash. No clean-exit check for this process."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=SHUTDOWN_TIMEOUT)
        self.killed = True

    def stop(self):
        """SIGTERM by PID, wait, then check clean exit and sanitizer output.
        Returns a list of problems (empty when clean)."""
        problems = []
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=SHUTDOWN_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                problems.append(f"server pid {self.proc.pid} ignored SIGTERM")
            if self.proc.returncode != 0 and not self.killed:
                problems.append(
                    f"server pid {self.proc.pid} exited with status {self.proc.returncode}"
                )
        text = self.stderr_text()
        marker = sanitizer_report(text)
        if marker:
            problems.append(f"sanitizer reported {marker!r}; stderr:\n{text[-20000:]}")
        return problems


@pytest.fixture(scope="session")
def server():
    """One server for the whole session (shared database)."""
    tmp = tempfile.mkdtemp(prefix="cairn-api-")
    srv = Server(tmp).start()
    yield srv
    problems = srv.stop()
    assert not problems, "\n".join(problems)
    shutil.rmtree(tmp, ignore_errors=True)  # kept for inspection when a check failed


@pytest.fixture
def server_factory():
    """Start fresh servers (own database), or restart one over the same data.

    factory() -> new Server over a new tmpdir
    factory(tmpdir=srv.tmpdir) -> new process over an existing data directory
    """
    started = []

    def make(tmpdir=None):
        tmpdir = tmpdir or tempfile.mkdtemp(prefix="cairn-api-f-")
        srv = Server(tmpdir).start()
        started.append(srv)
        return srv

    yield make
    problems = []
    for srv in started:
        problems.extend(srv.stop())
    assert not problems, "\n".join(problems)
    for tmpdir in {srv.tmpdir for srv in started}:
        shutil.rmtree(tmpdir, ignore_errors=True)


class Client:
    """Thin JSON client for one API prefix."""

    def __init__(self, base_url, prefix="/api/2.0/mlflow"):
        self.base = base_url
        self.prefix = prefix
        self.s = requests.Session()

    def url(self, endpoint):
        return f"{self.base}{self.prefix}/{endpoint}"

    def post(self, endpoint, body=None, **kw):
        return self.s.post(self.url(endpoint), json=body if body is not None else {},
                           timeout=HTTP_TIMEOUT, **kw)

    def post_raw(self, endpoint, data, headers=None):
        return self.s.post(self.url(endpoint), data=data, headers=headers or {},
                           timeout=HTTP_TIMEOUT)

    def get(self, endpoint, params=None, **kw):
        return self.s.get(self.url(endpoint), params=params, timeout=HTTP_TIMEOUT, **kw)

    # Success helpers: assert 200 and return the decoded JSON.
    def ok_post(self, endpoint, body=None):
        r = self.post(endpoint, body)
        assert r.status_code == 200, f"{endpoint}: {r.status_code} {r.text[:2000]}"
        return r.json()

    def ok_get(self, endpoint, params=None):
        r = self.get(endpoint, params)
        assert r.status_code == 200, f"{endpoint}: {r.status_code} {r.text[:2000]}"
        return r.json()

    # Domain helpers.
    def create_experiment(self, name=None, **extra):
        name = name or unique("exp")
        body = {"name": name}
        body.update(extra)
        return self.ok_post("experiments/create", body)["experiment_id"]

    def get_experiment(self, exp_id):
        return self.ok_get("experiments/get", {"experiment_id": exp_id})["experiment"]

    def create_run(self, exp_id="0", start_time=None, **extra):
        body = {"experiment_id": exp_id,
                "start_time": start_time if start_time is not None else now_ms()}
        body.update(extra)
        return self.ok_post("runs/create", body)["run"]

    def get_run(self, run_id):
        return self.ok_get("runs/get", {"run_id": run_id})["run"]

    def log_batch(self, run_id, metrics=(), params=(), tags=()):
        return self.ok_post("runs/log-batch", {"run_id": run_id, "metrics": list(metrics),
                                               "params": list(params), "tags": list(tags)})

    def search_runs(self, exp_ids, filter=None, order_by=None, max_results=None,
                    view=None, page_token=None):
        body = {"experiment_ids": list(exp_ids)}
        if filter is not None:
            body["filter"] = filter
        if order_by is not None:
            body["order_by"] = list(order_by)
        if max_results is not None:
            body["max_results"] = max_results
        if view is not None:
            body["run_view_type"] = view
        if page_token is not None:
            body["page_token"] = page_token
        return self.ok_post("runs/search", body)

    def history(self, run_id, key, **extra):
        params = {"run_id": run_id, "metric_key": key}
        params.update(extra)
        return self.ok_get("metrics/get-history", params).get("metrics", [])


def unique(prefix="x"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def now_ms():
    return int(time.time() * 1000)


def assert_error(resp, status, error_code=None, *fragments):
    """MLflow error shape: HTTP status + JSON {"error_code", "message"}."""
    assert resp.status_code == status, (
        f"expected HTTP {status}, got {resp.status_code}: {resp.text[:2000]}")
    try:
        body = resp.json()
    except ValueError:
        raise AssertionError(f"error body is not JSON: {resp.text[:2000]!r}")
    assert isinstance(body, dict), body
    assert "error_code" in body and "message" in body, body
    assert isinstance(body["message"], str)
    if error_code is not None:
        if isinstance(error_code, (tuple, set, list)):
            assert body["error_code"] in error_code, body
        else:
            assert body["error_code"] == error_code, body
    for frag in fragments:
        alts = frag if isinstance(frag, tuple) else (frag,)
        assert any(a.lower() in body["message"].lower() for a in alts), (
            f"{frag!r} not in message {body['message']!r}")
    return body


def assert_client_error_json(resp):
    """Any 4xx with an MLflow-shaped JSON body."""
    assert 400 <= resp.status_code < 500, (
        f"expected a 4xx, got {resp.status_code}: {resp.text[:2000]}")
    body = resp.json()
    assert isinstance(body, dict) and "error_code" in body and "message" in body, body
    return body


def tags_dict(entity):
    """{key: value} from a run's data.tags or an experiment's tags."""
    data = entity.get("data", entity)
    return {t["key"]: t.get("value", "") for t in data.get("tags", [])}


def params_dict(run):
    return {p["key"]: p.get("value", "") for p in run.get("data", {}).get("params", [])}


def metrics_dict(run):
    return {m["key"]: m for m in run.get("data", {}).get("metrics", [])}


def raw_request(base_url, method, raw_path, body=None, headers=None):
    """Send a request with the path exactly as given (no dot-segment
    normalisation, which requests/urllib3 would apply). Returns
    (status, headers, body_bytes)."""
    host, port = base_url.replace("http://", "").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=HTTP_TIMEOUT)
    try:
        conn.putrequest(method, raw_path, skip_accept_encoding=True)
        hdrs = dict(headers or {})
        if AUTH_ON:
            hdrs.setdefault("Authorization", AUTH_HEADER)
        if body is not None:
            hdrs.setdefault("Content-Length", str(len(body)))
        elif method in ("PUT", "POST"):
            hdrs.setdefault("Content-Length", "0")
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders()
        if body is not None:
            conn.send(body)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, dict(resp.getheaders()), data
    finally:
        conn.close()


@pytest.fixture(scope="session")
def base_url(server):
    return server.url


@pytest.fixture
def api(server):
    """Client on /api/2.0/mlflow (the one the Python client uses)."""
    return Client(server.url, API_PREFIXES[0])


@pytest.fixture(params=API_PREFIXES, ids=["api", "ajax"])
def client(request, server):
    """Client parametrized over both /api/2.0 and /ajax-api/2.0."""
    return Client(server.url, request.param)


def pytest_collection_modifyitems(config, items):
    del config
    for item in items:
        if "big" in item.keywords and os.environ.get("CAIRN_SKIP_BIG") == "1":
            item.add_marker(pytest.mark.skip(reason="CAIRN_SKIP_BIG=1"))


def pytest_configure(config):
    config.addinivalue_line("markers", "big: large-data test (skip with CAIRN_SKIP_BIG=1)")


# Exported for test modules.
__all__ = [
    "Client", "Server", "assert_error", "assert_client_error_json", "unique", "now_ms",
    "tags_dict", "params_dict", "metrics_dict", "raw_request", "json", "re",
    "sqlite_only", "postgres_only", "PG_BASE", "pg_uri", "psql", "pg_new_database",
]
