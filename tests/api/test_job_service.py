"""The job service (docs/JOBS.md) on the local backend: projects submitted
over HTTP to a real `cairn server`, run as local process groups, followed to
the end, with their runs, outputs and states checked through the tracking
API; cancel, logs (followed), a server killed and restarted mid-job, and the
submission APIs of mantik and ml-task-manager. Bad input (hostile archives,
shell metacharacters in parameters, unknown entry points, malformed configs,
oversize uploads) is refused with MLflow's error format and creates nothing.
The same life cycle on Slurm is tests/e2e/test_jobs_slurm.py."""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
import requests

from jobs_util import (JOBS, Server, api_conftest, artifact, case_cancel, case_exit_3,
                       case_finishes, case_hostile_parameter, case_restart, count_runs, get_job,
                       get_run, mlproject, run_params, run_tags, submit, tar_gz, wait_end,
                       wait_job, zip_bytes)

BACKENDS = ["local"]


@pytest.fixture(scope="module")
def srv():
    """One server for the module, its monitor polling every 200 ms."""
    os.environ["CAIRN_JOBS_POLL_MS"] = "200"
    tmp = tempfile.mkdtemp(prefix="cairn-jobs-")
    s = Server(tmp).start()
    yield s
    problems = s.stop()
    assert not problems, "\n".join(problems)
    shutil.rmtree(tmp, ignore_errors=True)


def process_group_gone(job, nap):
    pid = int(job["backend_job_id"].split(":")[0])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
        time.sleep(0.1)
    r = subprocess.run(["pgrep", "-f", f"sleep {nap}"], capture_output=True, text=True)
    assert r.stdout.strip() == "", "the job's process group outlived its cancel"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_project_finishes_with_its_params_and_output(srv, backend):
    case_finishes(srv, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_exit_3_ends_failed_with_its_output_stored(srv, backend):
    case_exit_3(srv, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cancel_ends_killed_and_the_job_is_gone(srv, backend):
    case_cancel(srv, backend, process_group_gone)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_server_restart_loses_no_job(backend, tmp_path):
    case_restart(backend, tmp_path)


@pytest.mark.parametrize("backend", BACKENDS)
def test_shell_metacharacters_in_a_parameter_arrive_literally(srv, backend, tmp_path):
    case_hostile_parameter(srv, backend, tmp_path)


def test_logs_follow_streams_until_the_job_ends(srv):
    proj = tar_gz({"MLproject": mlproject("for i in 1 2 3 4 5; do echo line $i; sleep 0.3; done")})
    r = submit(srv.url, proj)
    assert r.status_code == 200, r.text
    job_id = r.json()["job"]["job_id"]
    with requests.get(srv.url + JOBS + "logs", params={"job_id": job_id, "follow": "true"},
                      stream=True, timeout=120) as resp:
        assert resp.status_code == 200
        text = b"".join(resp.iter_content(None)).decode()
    assert text == "".join(f"line {i}\n" for i in range(1, 6))
    assert get_job(srv.url, job_id)["state"] == "COMPLETED"
    # From an offset.
    r = requests.get(srv.url + JOBS + "logs", params={"job_id": job_id, "offset": 7}, timeout=60)
    assert r.text == text[7:]


def test_list_and_get(srv):
    r = requests.get(srv.url + JOBS + "list", params={"max_results": 2}, timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["jobs"]) == 2 and body["next_page_token"]
    assert body["jobs"][0]["submit_time"] >= body["jobs"][1]["submit_time"]
    assert "workdir" not in body["jobs"][0]
    r = requests.get(srv.url + JOBS + "list", params={"page_token": body["next_page_token"]},
                     timeout=60)
    assert r.status_code == 200 and body["jobs"][0] not in r.json()["jobs"]
    r = requests.get(srv.url + JOBS + "get", params={"job_id": "0" * 32}, timeout=60)
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    r = requests.get(srv.url + JOBS + "list", params={"max_results": 0}, timeout=60)
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"


# ---- bad input: a clear MLflow error, no run, nothing written outside ----

def assert_refused(resp, *fragments, status=400):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE", body
    for f in fragments:
        assert f in body["message"], body["message"]


def test_unknown_entry_point_is_refused_without_a_run(srv):
    before = count_runs(srv.url)
    proj = tar_gz({"MLproject": mlproject("echo hi")})
    assert_refused(submit(srv.url, proj, entry_point="nope"), "nope")
    assert count_runs(srv.url) == before


def test_bad_parameter_type_is_refused(srv):
    proj = tar_gz({"MLproject": mlproject("echo {n}", {"n": "{type: int}"})})
    assert_refused(submit(srv.url, proj, param=["n=three"]), "n")


def test_malformed_config_is_refused(srv):
    before = count_runs(srv.url)
    proj = tar_gz({"MLproject": mlproject("echo hi")})
    files = {"project": ("p.tar.gz", proj), "backend_config": ("c.json", "{\"Backend\": ")}
    assert_refused(requests.post(srv.url + JOBS + "submit", files=files, timeout=60))
    assert_refused(submit(srv.url, proj, config={"Resourcez": {}}), "Resources")
    assert count_runs(srv.url) == before


@pytest.mark.parametrize("name,data", [
    ("dotdot", {"../escape.txt": "x", "MLproject": "name: t\n"}),
    ("absolute", {"/tmp/cairn-escape-abs.txt": "x"}),
])
def test_hostile_archive_is_refused_and_writes_nothing_outside(srv, name, data):
    before = count_runs(srv.url)
    resp = submit(srv.url, tar_gz(data))
    assert_refused(resp, "archive member")
    assert count_runs(srv.url) == before
    assert not os.path.exists("/tmp/cairn-escape-abs.txt")
    jobs_dir = os.path.join(srv.tmpdir, "cairn-jobs")
    assert not os.path.exists(os.path.join(jobs_dir, "escape.txt"))


def test_garbage_instead_of_an_archive_is_refused(srv):
    assert_refused(submit(srv.url, b"this is not an archive"))


def test_submit_without_a_project_or_as_json_is_refused(srv):
    r = requests.post(srv.url + JOBS + "submit", files={"x": ("a", b"b")}, timeout=60)
    assert_refused(r, "project")
    r = requests.post(srv.url + JOBS + "submit", json={"project": "x"}, timeout=60)
    assert_refused(r, "multipart")


def test_an_upload_over_100_mib_is_413_before_its_body_is_read(srv):
    """Refused on its headers: the client never has to send the 101 MiB."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=60) as sock:
        auth = f"Authorization: {api_conftest.AUTH_HEADER}\r\n" if api_conftest.AUTH_ON else ""
        sock.sendall((f"POST {JOBS}submit HTTP/1.1\r\nHost: x\r\n{auth}"
                      "Content-Type: multipart/form-data; boundary=b\r\n"
                      f"Content-Length: {101 * 1024 * 1024}\r\n\r\n").encode())
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), reply[:300]
    assert json.loads(body[body.index(b"{"):body.rindex(b"}") + 1])["error_code"] == \
        "INVALID_PARAMETER_VALUE"


# ---- the submission APIs Cairn replaces ----

def test_mantik_compute_backend_submit(srv):
    cfg = {"Backend": "local", "Environment": {"GREETING": "hello"},
           "Resources": {"Queue": "debug", "Runtime": "1h"}}
    proj = zip_bytes({"MLproject": mlproject("echo $GREETING {lr}", {"lr": "{type: float}"}),
                      "compute-backend-config.json": json.dumps(cfg)})
    r = requests.post(srv.url + "/compute-backend/submit/0",
                      files={"mlproject_zip": ("p.zip", proj)},
                      data={"run_name": "mantik", "entry_point": "main",
                            "mlflow_parameters": json.dumps({"lr": 0.1}),
                            "compute_backend_config": "compute-backend-config.json",
                            "unicore_user": "u", "unicore_password": "p"}, timeout=60)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["experiment_id"] == 0 and body["run_id"] and body["unicore_job_id"]
    job = wait_end(srv.url, body["unicore_job_id"])
    assert job["state"] == "COMPLETED" and job["source"] == "compute-backend"
    run = get_run(srv.url, body["run_id"])
    assert run["info"]["run_name"] == "mantik" and run_params(run) == {"lr": "0.1"}
    assert artifact(srv.url, run, "cairn/output.log").decode() == "hello 0.1\n"


def test_ml_task_manager_new_task(srv):
    cfg = {"experiment_name": "tasks", "command": "train.py", "runner_location": "local",
           "model_params": {"epochs": 2}}
    files = [("files", ("config.json", json.dumps(cfg), "application/json")),
             ("files", ("train.py", "import sys\nprint('args', sys.argv[1:])\n", "text/x-python"))]
    r = requests.post(srv.url + "/new_task", files=files, timeout=60)
    assert r.status_code == 200, r.text
    task = r.json()
    job = wait_end(srv.url, task["job_id"])
    assert job["state"] == "COMPLETED", job
    run = get_run(srv.url, task["run_id"])
    assert "args ['--epochs', '2']" in artifact(srv.url, run, "cairn/output.log").decode()
    r = requests.get(srv.url + f"/task/{task['task_id']}", timeout=60)
    assert r.status_code == 200 and r.json()["status"] == "COMPLETED"
    r = requests.get(srv.url + "/tasks", timeout=60)
    assert task["task_id"] in [t["task_id"] for t in r.json()["tasks"]]
    r = requests.get(srv.url + f"/job_status/{task['job_id']}", timeout=60)
    assert r.status_code == 200 and r.json()["status"] == "COMPLETED"


@api_conftest.postgres_only
def test_servers_sharing_a_database_follow_local_jobs_only_on_their_machine(tmp_path):
    """Two servers on one PostgreSQL database, the second in its own UTS
    namespace under another host name: the first server's local job is
    followed by the first server only (the second cannot see its process
    and must not call it LOST), and the second refuses to cancel it."""
    os.makedirs(tmp_path / "a")
    os.makedirs(tmp_path / "b")
    a = Server(str(tmp_path / "a")).start()
    b = Server(str(tmp_path / "b"))
    b.uri_override = a.store_uri
    b.prefix = ["unshare", "--uts", "sh", "-c", 'hostname cairn-other-host && exec "$@"', "sh"]
    b.start()
    try:
        proj = tar_gz({"MLproject": mlproject("sleep 3; echo done")})
        r = submit(a.url, proj)
        assert r.status_code == 200, r.text
        job = r.json()["job"]
        assert job["host"] == socket.gethostname()
        job = wait_job(b.url, job["job_id"], {"RUNNING"})
        r = requests.post(b.url + JOBS + "cancel", json={"job_id": job["job_id"]}, timeout=60)
        assert r.status_code == 400 and r.json()["error_code"] == "BAD_REQUEST", r.text
        assert "cairn-other-host" in r.json()["message"]
        job = wait_end(b.url, job["job_id"])
        assert job["state"] == "COMPLETED", job
    finally:
        problems = a.stop() + b.stop()
    assert not problems, "\n".join(problems)


def forget_submission(srv, job_id):
    """What a server killed inside a submission leaves: the job recorded,
    the run created, but neither the run id nor the backend id recorded."""
    stmt = f"UPDATE cairn_jobs SET run_id = '', backend_job_id = '' WHERE job_id = '{job_id}'"
    if srv.pg_database:
        api_conftest.psql(stmt, srv.pg_database)
    else:
        import sqlite3
        db = sqlite3.connect(srv.db_path)
        db.execute(stmt)
        db.commit()
        db.close()


def test_a_local_job_lost_in_its_submission_is_lost_and_its_run_failed(tmp_path):
    """The local backend cannot find a job by name: a restarted server marks
    the job LOST and finds its run (by the cairn.job.id tag) to fail it."""
    s = Server(str(tmp_path)).start()
    try:
        r = submit(s.url, tar_gz({"MLproject": mlproject("sleep 1")}))
        assert r.status_code == 200, r.text
        job = r.json()["job"]
        s.kill()
        forget_submission(s, job["job_id"])
        s.start()
        got = wait_end(s.url, job["job_id"])
        assert (got["state"], got["run_status"]) == ("LOST", "FAILED")
        assert got["run_id"] == job["run_id"]
        run = get_run(s.url, job["run_id"])
        assert run["info"]["status"] == "FAILED"
        assert "being submitted" in run_tags(run)["cairn.job.reason"]
    finally:
        problems = s.stop()
    assert not problems, "\n".join(problems)


# ---- malformed forms: MLflow's error body, never a crash ----

def raw_form(srv, body, content_type="multipart/form-data; boundary=XyZ"):
    return requests.post(srv.url + JOBS + "submit", data=body,
                         headers={"Content-Type": content_type}, timeout=60)


@pytest.mark.parametrize("body,content_type", [
    (b"--XyZ\r\nContent-Disposition: form-data; name=\"project\"; filename=\"p.tgz\"\r\n\r\nabc",
     "multipart/form-data; boundary=XyZ"),                      # cut short, no closing boundary
    (b"garbage without any boundary", "multipart/form-data; boundary=XyZ"),
    (b"--XyZ--\r\n", "multipart/form-data"),                     # no boundary parameter
    (b"project=abc", "text/plain"),                              # not a form at all
])
def test_malformed_multipart_bodies_are_refused(srv, body, content_type):
    r = raw_form(srv, body, content_type)
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE", r.text
    assert requests.get(srv.url + "/health", timeout=60).status_code == 200


def test_form_limits_fields_files_and_field_size(srv):
    proj = ("project", ("p.tar.gz", tar_gz({"MLproject": mlproject("true")})))
    many_fields = [("param", f"k{i}=v") for i in range(1100)]
    r = requests.post(srv.url + JOBS + "submit", files=[proj], data=many_fields, timeout=60)
    assert r.status_code == 400 and "too many form fields" in r.json()["message"], r.text
    r = requests.post(srv.url + JOBS + "submit", files=[proj],
                      data={"run_name": "x" * (1024 * 1024 + 1)}, timeout=60)
    assert r.status_code == 400 and "too long" in r.json()["message"], r.text
    files = [proj] + [(f"f{i}", (f"f{i}.txt", b"x")) for i in range(16)]
    r = requests.post(srv.url + JOBS + "submit", files=files, timeout=60)
    assert r.status_code == 400 and "too many files" in r.json()["message"], r.text
    # No upload is ever left behind: each is unlinked as soon as it exists.
    tmp = os.environ.get("TMPDIR") or "/tmp"
    assert [f for f in os.listdir(tmp) if f.startswith("cairn-upload-")] == []


def test_parameters_must_be_a_json_object_of_scalars(srv):
    proj = tar_gz({"MLproject": mlproject("echo {a}", {"a": "{type: string}"})})
    for bad in ("[1, 2]", "{\"a\": [1]}", "{\"a\": null}", "not json"):
        r = submit(srv.url, proj, parameters=bad)
        assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE", r.text
    r = submit(srv.url, proj, param=["no-equals-sign"])
    assert r.status_code == 400 and "key=value" in r.json()["message"], r.text
