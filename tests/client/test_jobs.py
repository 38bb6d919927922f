"""`cairn submit` and `cairn jobs` against a scripted peer (docs/JOBS.md):
the exact requests the CLI makes (multipart fields, the uploaded project
unpacked and compared with the directory, the MLFLOW_* environment that is
sent and the one that is not), its output formats, errors from the server
(exit 1 with the server's message) and bad usage (exit 2, nothing sent).
The real job service is tested end to end by its own suite."""
import email
import email.policy
import io
import json
import os
import subprocess
import tarfile
import urllib.parse

import pytest

from conftest import FakeHandler, cli, fake_server

JOB_ID = "a" * 32
RUN_ID = "b" * 32


def job(state="PENDING", run_status="SCHEDULED", **kw):
    j = {"job_id": JOB_ID, "run_id": RUN_ID, "experiment_id": "4", "run_name": "r1", "backend": "local",
         "backend_job_id": "", "state": state, "run_status": run_status, "reason": "", "exit_code": -1,
         "entry_point": "main", "command": "python train.py", "user_id": "alice",
         "submit_time": 1700000000000, "start_time": 0, "end_time": 0, "source": "cairn"}
    j.update(kw)
    return j


class Peer(FakeHandler):
    """Records every request; answers from `script`, a list of
    (method, path prefix, status, body) consumed in order per path, the
    last one for a path repeating. A str body is sent as text/plain."""
    script = []
    seen = []

    def _reply(self, method, raw):
        Peer.seen.append({"method": method, "path": self.path, "headers": dict(self.headers), "body": raw})
        path = urllib.parse.urlsplit(self.path).path
        match = [s for s in Peer.script if s[0] == method and path.startswith(s[1])]
        status, body = (404, {"error_code": "ENDPOINT_NOT_FOUND", "message": "no such endpoint"})
        if match:
            status, body = match[0][2], match[0][3]
            if len(match) > 1:
                Peer.script.remove(match[0])
        cut = isinstance(body, tuple)          # ("cut", text): the connection drops after text
        if cut:
            body = body[1]
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
        self.send_header("Content-Length", str(len(data) + (1000 if cut else 0)))
        self.end_headers()
        self.wfile.write(data)
        if cut:
            self.wfile.flush()
            self.close_connection = True

    def do_POST(self):
        self._reply("POST", self.rfile.read(int(self.headers.get("Content-Length", 0))))

    def do_GET(self):
        self._reply("GET", b"")


@pytest.fixture
def peer(tmp_path):
    Peer.script, Peer.seen = [], []
    with fake_server(Peer) as url:
        e = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "CAIRN_", "GIT_"))}
        e["MLFLOW_TRACKING_URI"] = url
        e["CAIRN_SPOOL_DIR"] = str(tmp_path / "spool")
        e["TMPDIR"] = str(tmp_path)
        yield e


def fields(req):
    """The multipart form of a recorded request: name -> [(filename, bytes)]."""
    ctype = req["headers"]["Content-Type"]
    assert ctype.startswith("multipart/form-data; boundary=")
    msg = email.message_from_bytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + req["body"],
                                   policy=email.policy.HTTP)
    out = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        out.setdefault(name, []).append((part.get_filename(), part.get_payload(decode=True)))
    return out


def text(f, name):
    assert len(f[name]) == 1 and f[name][0][0] is None, f[name]
    return f[name][0][1].decode()


def make_project(root):
    os.makedirs(root / "src" / "deep")
    os.makedirs(root / "empty")
    (root / "MLproject").write_text("name: t\nentry_points:\n  train:\n    command: python src/train.py\n")
    (root / "src" / "train.py").write_text("print('hi')\n")
    (root / "src" / "deep" / "data.bin").write_bytes(bytes(range(256)) * 300)
    os.chmod(root / "src" / "train.py", 0o755)
    os.symlink("src/train.py", root / "run.py")
    return root


def git(root, *args):
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", *args], check=True,
                   capture_output=True)


def tree(root, skip_git=True):
    """{relative path: (kind, mode, content or link target)} of a directory."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if skip_git:
            dirnames[:] = [d for d in dirnames if d != ".git"]
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if os.path.islink(p):
                out[rel] = ("link", None, os.readlink(p))
            elif os.path.isdir(p):
                out[rel] = ("dir", st.st_mode & 0o777, None)
            else:
                out[rel] = ("file", st.st_mode & 0o777, open(p, "rb").read())
    return out


def tar_tree(data, dest):
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as t:
        for m in t.getmembers():
            assert not m.name.startswith(("/", "..")) and ".git" not in m.name.split("/")
            assert m.isfile() or m.isdir() or m.issym(), m.name
        t.extractall(dest, filter="tar") if hasattr(tarfile, "data_filter") else t.extractall(dest)
    return tree(dest)


def test_submit_sends_the_project_and_settings(peer, tmp_path):
    proj = make_project(tmp_path / "proj")
    git(proj, "init", "-q")
    git(proj, "add", "-A")
    git(proj, "commit", "-q", "-m", "first")
    head = subprocess.run(["git", "-C", str(proj), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    cfg = tmp_path / "backend.yaml"
    cfg.write_text("Backend: slurm\nResources:\n  Queue: debug\n")
    Peer.script = [("POST", "/api/2.0/cairn/jobs/submit", 200, {"job": job()})]
    e = dict(peer, MLFLOW_TRACKING_TOKEN="s3cret", MLFLOW_TRACKING_INSECURE_TLS="false",
             MLFLOW_TRACKING_USERNAME="u", MLFLOW_TRACKING_PASSWORD="pw-7d1e0c-hunter2", MLFLOW_RUN_ID="c" * 32,
             MLFLOW_EXPERIMENT_ID="9", MLFLOW_S3_ENDPOINT_URL="http://s3:9000",
             MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING="true", MLFLOW_AZURE_STORAGE_ACCESS_KEY="k",
             MLFLOW_GATEWAY_AUTH="x", MLFLOW_OPENAI_SECRET_SCOPE="y")
    p = cli(["submit", str(proj), "-e", "train", "-P", "alpha=0.5", "-P", "n=-3", "--experiment-name", "wine",
             "--run-name", "r1", "--backend", "slurm", "--backend-config", str(cfg)], e, check=0)
    assert p.stdout == f"job_id: {JOB_ID}\nrun_id: {RUN_ID}\n"
    assert len(Peer.seen) == 1
    req = Peer.seen[0]
    assert req["method"] == "POST" and req["path"] == "/api/2.0/cairn/jobs/submit"
    assert req["headers"]["Authorization"] == "Bearer s3cret"
    f = fields(req)
    assert set(f) == {"project", "backend_config", "backend", "entry_point", "parameters", "experiment_name",
                      "run_name", "source_name", "git_commit", "env"}
    assert text(f, "backend") == "slurm" and text(f, "entry_point") == "train"
    assert json.loads(text(f, "parameters")) == {"alpha": "0.5", "n": "-3"}
    assert text(f, "experiment_name") == "wine" and text(f, "run_name") == "r1"
    assert text(f, "source_name") == os.path.realpath(proj)
    assert text(f, "git_commit") == head
    assert sorted(v.decode() for _, v in f["env"]) == ["MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING=true",
                                                       "MLFLOW_S3_ENDPOINT_URL=http://s3:9000"]
    assert b"s3cret" not in req["body"] and b"MLFLOW_TRACKING" not in req["body"] and b"hunter2" not in req["body"]
    assert f["backend_config"][0][1] == cfg.read_bytes()
    ((name, data),) = f["project"]
    assert name.endswith(".tar.gz")
    assert tar_tree(data, tmp_path / "unpacked") == tree(proj)
    assert "run.py" in tree(proj) and (proj / ".git").is_dir()
    assert not [n for n in os.listdir(tmp_path) if n.startswith("cairn-submit-")]   # the temp archive is gone


def test_submit_defaults_and_json(peer, tmp_path):
    proj = tmp_path / "p"
    proj.mkdir()
    (proj / "train.py").write_text("print(1)\n")
    answer = {"job": job()}
    Peer.script = [("POST", "/api/2.0/cairn/jobs/submit", 200, answer)]
    p = cli(["submit", str(proj), "--json"], dict(peer, MLFLOW_EXPERIMENT_ID="7"), check=0)
    assert json.loads(p.stdout) == answer
    f = fields(Peer.seen[0])
    assert set(f) == {"project", "experiment_id", "source_name"}      # no git, no env, no parameters
    assert text(f, "experiment_id") == "7"
    Peer.script = [("POST", "/api/2.0/cairn/jobs/submit", 200, answer)]
    cli(["submit", str(proj)], dict(peer, MLFLOW_EXPERIMENT_NAME="wine"), check=0)
    assert text(fields(Peer.seen[1]), "experiment_name") == "wine"
    cli(["submit", str(proj), "-x", "3"], dict(peer, MLFLOW_EXPERIMENT_NAME="wine"), check=0)
    f = fields(Peer.seen[2])
    assert text(f, "experiment_id") == "3" and "experiment_name" not in f


def test_submit_refused_by_the_server(peer, tmp_path):
    proj = tmp_path / "p"
    proj.mkdir()
    (proj / "MLproject").write_text("name: x\n")
    Peer.script = [("POST", "/api/2.0/cairn/jobs/submit", 400,
                    {"error_code": "INVALID_PARAMETER_VALUE", "message": "entry point 'nope' not found"})]
    p = cli(["submit", str(proj), "-e", "nope"], peer)
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr == "cairn: INVALID_PARAMETER_VALUE: entry point 'nope' not found\n"
    Peer.script = [("POST", "/api/2.0/cairn/jobs/submit", 413, "too large")]
    p = cli(["submit", str(proj)], peer)
    assert p.returncode == 1 and "HTTP 413" in p.stderr


def test_submit_unreachable_and_local_errors(peer, tmp_path):
    proj = tmp_path / "p"
    proj.mkdir()
    p = cli(["submit", str(proj)], dict(peer, MLFLOW_TRACKING_URI="http://127.0.0.1:1"))
    assert p.returncode == 1 and p.stderr.startswith("cairn: cannot reach http://127.0.0.1:1")
    p = cli(["submit", str(tmp_path / "missing")], peer)
    assert p.returncode == 1
    assert p.stderr == f"cairn: project directory {tmp_path / 'missing'}: No such file or directory\n"
    (tmp_path / "f").write_text("x")
    p = cli(["submit", str(tmp_path / "f")], peer)
    assert p.returncode == 1 and p.stderr.endswith(": not a directory\n")
    p = cli(["submit", str(proj), "--backend-config", str(tmp_path / "nocfg.json")], peer)
    assert p.returncode == 1 and "cannot open backend config" in p.stderr
    assert Peer.seen == []


@pytest.mark.parametrize("args,msg", [
    ([], "missing argument: DIR"),
    (["P", "-P", "alpha"], "parameter 'alpha' is not of the form key=value"),
    (["P", "-P", "=1"], "parameter '=1' is not of the form key=value"),
    (["P", "-P", "a=1", "-P", "a=2"], "parameter 'a' is given more than once"),
    (["P", "-x", "1", "--experiment-name", "n"], "give --experiment-id or --experiment-name, not both"),
    (["P", "--backend", "k8s"], "--backend must be local or slurm, not 'k8s'"),
    (["P", "--follow", "--json"], "--follow prints the job's output; it does not go with --json"),
    (["P", "--frob"], "unknown option '--frob'"),
    (["P", "Q"], "unexpected argument 'Q'"),
    (["P", "-e"], "option '-e' needs a value (NAME)"),
])
def test_submit_bad_usage(peer, tmp_path, args, msg):
    (tmp_path / "P").mkdir()
    p = cli(["submit"] + args, peer, cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    assert p.stderr == f"cairn: {msg}\nRun 'cairn submit --help' for usage.\n"
    assert Peer.seen == []


def test_submit_wait(peer, tmp_path):
    proj = tmp_path / "p"
    proj.mkdir()
    Peer.script = [("POST", "/api/2.0/cairn/jobs/submit", 200, {"job": job()}),
                   ("GET", "/api/2.0/cairn/jobs/get", 200, {"job": job("RUNNING", "RUNNING")}),
                   ("GET", "/api/2.0/cairn/jobs/get", 200, {"job": job("COMPLETED", "FINISHED", exit_code=0)})]
    p = cli(["submit", str(proj), "--wait"], peer, check=0)
    assert p.stdout == f"job_id: {JOB_ID}\nrun_id: {RUN_ID}\n"
    assert p.stderr == f"cairn: job {JOB_ID} ended COMPLETED (run {RUN_ID} FINISHED)\n"
    gets = [r["path"] for r in Peer.seen if r["method"] == "GET"]
    assert gets == [f"/api/2.0/cairn/jobs/get?job_id={JOB_ID}"] * 2
    Peer.seen = []
    ended = job("FAILED", "FAILED", exit_code=3, reason="exit code 3")
    Peer.script = [("POST", "/api/2.0/cairn/jobs/submit", 200, {"job": job()}),
                   ("GET", "/api/2.0/cairn/jobs/get", 200, {"job": ended})]
    p = cli(["submit", str(proj), "--wait", "--json"], peer)
    assert p.returncode == 1 and json.loads(p.stdout) == {"job": ended}


def test_submit_follow(peer, tmp_path):
    proj = tmp_path / "p"
    proj.mkdir()
    out = "epoch 1 loss 0.5\nepoch 2 loss 0.25\n\u00e9t\u00e9\n"
    Peer.script = [("POST", "/api/2.0/cairn/jobs/submit", 200, {"job": job()}),
                   ("GET", "/api/2.0/cairn/jobs/logs", 200, out),
                   ("GET", "/api/2.0/cairn/jobs/get", 200, {"job": job("CANCELLED", "KILLED")})]
    p = cli(["submit", str(proj), "-f"], peer)
    assert p.returncode == 1 and p.stdout == out
    assert p.stderr == (f"cairn: submitted job {JOB_ID} (run {RUN_ID}); its output follows\n"
                        f"cairn: job {JOB_ID} ended CANCELLED (run {RUN_ID} KILLED)\n")
    logs = [r["path"] for r in Peer.seen if "/logs" in r["path"]]
    assert logs == [f"/api/2.0/cairn/jobs/logs?job_id={JOB_ID}&offset=0&follow=true"]


def test_follow_taken_up_again_after_a_break(peer):
    """The stream ends before the job does: followed again from the offset reached."""
    Peer.script = [("GET", "/api/2.0/cairn/jobs/logs", 200, "part one\n"),
                   ("GET", "/api/2.0/cairn/jobs/get", 200, {"job": job("RUNNING", "RUNNING")}),
                   ("GET", "/api/2.0/cairn/jobs/logs", 200, "part two\n"),
                   ("GET", "/api/2.0/cairn/jobs/get", 200, {"job": job("COMPLETED", "FINISHED")})]
    p = cli(["jobs", "logs", JOB_ID, "-f"], peer, check=0)
    assert p.stdout == "part one\npart two\n"
    logs = [r["path"] for r in Peer.seen if "/logs" in r["path"]]
    assert logs == [f"/api/2.0/cairn/jobs/logs?job_id={JOB_ID}&offset=0&follow=true",
                    f"/api/2.0/cairn/jobs/logs?job_id={JOB_ID}&offset=9&follow=true"]


def test_follow_survives_a_dropped_connection(peer):
    Peer.script = [("GET", "/api/2.0/cairn/jobs/logs", 200, ("cut", "half ")),
                   ("GET", "/api/2.0/cairn/jobs/logs", 200, "and the rest\n"),
                   ("GET", "/api/2.0/cairn/jobs/get", 200, {"job": job("COMPLETED", "FINISHED")})]
    p = cli(["jobs", "logs", JOB_ID, "--follow"], peer, check=0)
    assert p.stdout == "half and the rest\n"
    logs = [r["path"] for r in Peer.seen if "/logs" in r["path"]]
    assert logs[-1] == f"/api/2.0/cairn/jobs/logs?job_id={JOB_ID}&offset=5&follow=true"
    # Without --follow a broken transfer is an error at once.
    Peer.seen = []
    Peer.script = [("GET", "/api/2.0/cairn/jobs/logs", 200, ("cut", "half "))]
    p = cli(["jobs", "logs", JOB_ID], peer)
    assert p.returncode == 1 and p.stdout == "half " and "cairn: cannot reach" in p.stderr
    assert len(Peer.seen) == 1


def test_jobs_logs(peer):
    Peer.script = [("GET", "/api/2.0/cairn/jobs/logs", 200, "hello\n")]
    p = cli(["jobs", "logs", JOB_ID, "--offset", "5"], peer, check=0)
    assert p.stdout == "hello\n"
    assert Peer.seen[0]["path"] == f"/api/2.0/cairn/jobs/logs?job_id={JOB_ID}&offset=5"
    Peer.script = [("GET", "/api/2.0/cairn/jobs/logs", 404,
                    {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "job 'x' not found"})]
    p = cli(["jobs", "logs", "x"], peer)
    assert p.returncode == 1 and p.stdout == "" and p.stderr == "cairn: RESOURCE_DOES_NOT_EXIST: job 'x' not found\n"


def test_jobs_list(peer):
    a = job("RUNNING", "RUNNING", backend="slurm", backend_job_id="42")
    b = job("FAILED", "FAILED", job_id="c" * 32, run_id="d" * 32, reason="TIMEOUT", experiment_id="5")
    Peer.script = [("GET", "/api/2.0/cairn/jobs/list", 200, {"jobs": [a], "next_page_token": "T 1"}),
                   ("GET", "/api/2.0/cairn/jobs/list", 200, {"jobs": [b]})]
    p = cli(["jobs", "list", "-x", "4", "--active"], peer, check=0)
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["JOB", "ID", "STATE", "RUN", "STATUS", "BACKEND", "EXPERIMENT", "RUN", "ID",
                                "SUBMITTED", "(UTC)", "REASON"]
    assert lines[1].split() == [JOB_ID, "RUNNING", "RUNNING", "slurm", "4", RUN_ID, "2023-11-14", "22:13:20"]
    assert lines[2].split() == ["c" * 32, "FAILED", "FAILED", "local", "5", "d" * 32, "2023-11-14", "22:13:20",
                                "TIMEOUT"]
    assert [r["path"] for r in Peer.seen] == [
        "/api/2.0/cairn/jobs/list?max_results=1000&active_only=true&experiment_id=4",
        "/api/2.0/cairn/jobs/list?max_results=1000&active_only=true&experiment_id=4&page_token=T%201"]
    Peer.seen = []
    Peer.script = [("GET", "/api/2.0/cairn/jobs/list", 200, {"jobs": [a, b], "next_page_token": "more"})]
    assert json.loads(cli(["jobs", "list", "-n", "2", "--json"], peer, check=0).stdout) == {"jobs": [a, b]}
    assert [r["path"] for r in Peer.seen] == ["/api/2.0/cairn/jobs/list?max_results=2"]


def test_jobs_get_and_cancel(peer):
    j = job("COMPLETED", "FINISHED", exit_code=0, start_time=1700000001000, end_time=1700000061000)
    Peer.script = [("GET", "/api/2.0/cairn/jobs/get", 200, {"job": j})]
    out = cli(["jobs", "get", JOB_ID], peer, check=0).stdout
    assert f"job_id          {JOB_ID}\n" in out and "state           COMPLETED\n" in out
    assert "exit_code       0\n" in out and "end_time        2023-11-14 22:14:21\n" in out
    assert json.loads(cli(["jobs", "get", JOB_ID, "--json"], peer, check=0).stdout) == {"job": j}
    Peer.seen = []
    Peer.script = [("POST", "/api/2.0/cairn/jobs/cancel", 200, {"job": job("RUNNING", "RUNNING")})]
    p = cli(["jobs", "cancel", JOB_ID], peer, check=0)
    assert p.stdout == f"job {JOB_ID}: RUNNING (cancel requested)\n"
    assert json.loads(Peer.seen[0]["body"]) == {"job_id": JOB_ID}
    assert Peer.seen[0]["headers"]["Content-Type"] == "application/json"
    Peer.script = [("GET", "/api/2.0/cairn/jobs/get", 404,
                    {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "job 'nope' not found"})]
    p = cli(["jobs", "get", "nope"], peer)
    assert p.returncode == 1 and p.stderr == "cairn: RESOURCE_DOES_NOT_EXIST: job 'nope' not found\n"


@pytest.mark.parametrize("args", [["jobs"], ["jobs", "frob"], ["jobs", "get"], ["jobs", "cancel"],
                                  ["jobs", "logs"], ["jobs", "get", "a", "b"], ["jobs", "list", "-n", "x"],
                                  ["jobs", "logs", "a", "--offset", "-1"]])
def test_jobs_bad_usage(peer, args):
    p = cli(args, peer)
    assert p.returncode == 2, p.stderr
    assert Peer.seen == []


def test_offline_is_refused(peer):
    p = cli(["jobs", "list"], dict(peer, CAIRN_OFFLINE="1"))
    assert p.returncode == 1 and "offline" in p.stderr
