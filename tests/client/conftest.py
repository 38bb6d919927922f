"""Fixtures for the client suites (CLI, Python binding, offline spool,
mlruns import, large artifacts). They drive the real `cairn` binary and
libcairn against a real `cairn server` started here on 127.0.0.1 and a free
port, stopped by PID. Run with:

    /usr/bin/python3 -m pytest tests/client

Environment: CAIRN_BIN (default <repo>/build/cairn), CAIRN_LIBRARY (default
<repo>/build/libcairn.so), CAIRN_SKIP_BIG=1 skips the 200 MB round trip.
"""
import contextlib
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CAIRN_BIN = os.environ.get("CAIRN_BIN", os.path.join(REPO, "build", "cairn"))
CAIRN_LIBRARY = os.environ.get("CAIRN_LIBRARY", os.path.join(REPO, "build", "libcairn.so"))
STARTUP_TIMEOUT = 30.0     # liveness bound for fixtures, never a speed assertion
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


class FakeHandler(http.server.BaseHTTPRequestHandler):
    """Base of the tests' scripted HTTP peers: answer() says what to send."""

    def answer(self, body):
        raise NotImplementedError

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status, reply = self.answer(raw)
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def fake_server(handler):
    """Serve handler on 127.0.0.1 (a free port) in a thread; yields its URL."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
        t.join()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `cairn server` over a data folder; start() may be called again
    after stop() (same port and data: the "server back" case)."""

    def __init__(self, tmpdir):
        self.tmpdir = tmpdir
        self.port = free_port()
        self.proc = None
        self.logs = []
        self.env = None          # the server's environment (None: the tests')
        self.extra_args = []     # more options for `cairn server` (e.g. --auth)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        log = os.path.join(self.tmpdir, f"server-{len(self.logs)}.log")
        self.logs.append(log)
        with open(log, "wb") as err:
            self.proc = subprocess.Popen(
                [CAIRN_BIN, "server", "--host", "127.0.0.1", "--port", str(self.port),
                 "--backend-store-uri", f"sqlite:///{self.tmpdir}/mlflow.db",
                 "--artifacts-destination", f"{self.tmpdir}/mlartifacts"] + self.extra_args,
                stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL, cwd=self.tmpdir,
                env=self.env)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=5) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        pytest.fail(f"cairn server did not start; log:\n{open(log).read()}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=60)
        problems = []
        if self.proc is not None and self.proc.returncode != 0:
            problems.append(f"server exited with {self.proc.returncode}")
        for log in self.logs:
            text = open(log, errors="replace").read()
            if any(m in text for m in SANITIZER_MARKERS):
                problems.append(text[-5000:])
        return problems

    def api(self, method, path, body=None):
        """A raw REST call (to check what the client did, independently of it)."""
        url = f"{self.url}/api/2.0/mlflow/{path}"
        data = None
        headers = {}
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read() or b"{}")


@pytest.fixture(scope="session")
def server():
    tmp = tempfile.mkdtemp(prefix="cairn-client-")
    srv = Server(tmp).start()
    yield srv
    problems = srv.stop()
    assert not problems, "\n".join(problems)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def fresh_server(tmp_path):
    srv = Server(str(tmp_path)).start()
    yield srv
    problems = srv.stop()
    assert not problems, "\n".join(problems)


@pytest.fixture
def env(server, tmp_path):
    """Environment for a CLI call against the session server, with a private spool."""
    e = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "CAIRN_"))}
    e["MLFLOW_TRACKING_URI"] = server.url
    e["CAIRN_SPOOL_DIR"] = str(tmp_path / "spool")
    return e


def cli(args, env, check=None, **kw):
    """Runs build/cairn; check=0 asserts exit 0. Returns the CompletedProcess."""
    p = subprocess.run([CAIRN_BIN] + list(args), env=env, capture_output=True, text=True, timeout=600, **kw)
    if check is not None:
        assert p.returncode == check, f"exit {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return p


def cli_json(args, env):
    p = cli(list(args) + ["--json"], env, check=0)
    return json.loads(p.stdout)


@pytest.fixture
def experiment(server, env, request):
    name = f"{request.node.name}-{time.monotonic_ns()}"
    return cli(["experiments", "create", name], env, check=0).stdout.strip()


def python_env(env):
    e = dict(env)
    e["PYTHONPATH"] = os.path.join(REPO, "python")
    e["CAIRN_LIBRARY"] = CAIRN_LIBRARY
    return e


def run_python(code, env):
    return subprocess.run([sys.executable, "-c", code], env=python_env(env), capture_output=True, text=True,
                          timeout=600)
