"""`cairn login` / `cairn logout` / `cairn users` against a `cairn server
--auth` started here (issue 11, "The client side"): tokens stored per
tracking URI in $HOME/.cairn/tokens.json (0600 in a 0700 folder, no
password), used by every command, libcairn and the Python binding when no
MLFLOW_TRACKING_* credentials are set, refreshed before expiry and after a
401, revoked at logout. The server has no knob for short-lived tokens, so
the tests forge the stored expiry (or the access token) to force a refresh.
Passwords go in on stdin only, never in argv."""
import base64
import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

from conftest import CAIRN_BIN, Server, cli, cli_json, run_python

ADMIN = "admin"
ADMIN_PW = "Adm1n!passw0rd"
USER_PW = "G00d!Password"
USER_PW2 = "Own!Passw0rd9"


def _server_has_auth():
    r = subprocess.run([CAIRN_BIN, "server", "--help"], capture_output=True, text=True, timeout=30)
    return "--auth" in r.stdout + r.stderr


pytestmark = pytest.mark.skipif(not _server_has_auth(), reason="cairn server has no --auth")


@pytest.fixture(scope="module")
def auth_server():
    tmp = tempfile.mkdtemp(prefix="cairn-login-")
    srv = Server(tmp)
    srv.env = dict(os.environ, CAIRN_AUTH_ADMIN_PASSWORD=ADMIN_PW)
    srv.extra_args = ["--auth"]
    srv.start()
    yield srv
    problems = srv.stop()
    assert not problems, "\n".join(problems)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def aenv(auth_server, tmp_path):
    """No MLFLOW_/CAIRN_ variables but the URI and a private spool; HOME is
    a fresh folder, so tokens.json starts absent."""
    e = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "CAIRN_"))}
    e["MLFLOW_TRACKING_URI"] = auth_server.url
    e["CAIRN_SPOOL_DIR"] = str(tmp_path / "spool")
    e["HOME"] = str(tmp_path / "home")
    os.makedirs(e["HOME"])
    return e


def tokens_path(env):
    return os.path.join(env["HOME"], ".cairn", "tokens.json")


def tokens(env):
    with open(tokens_path(env)) as f:
        return json.load(f)


def forge(env, url, **fields):
    t = tokens(env)
    t[url].update(fields)
    with open(tokens_path(env), "w") as f:
        json.dump(t, f)


def login(env, user=ADMIN, pw=ADMIN_PW, check=0):
    return cli(["login", "-u", user], env, check=check, input=pw + "\n")


def raw(srv, method, path, body=None, user=ADMIN, pw=ADMIN_PW):
    """A REST call with HTTP Basic (independent of libcairn); (status, json)."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if user is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()
    req = urllib.request.Request(srv.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def refresh_works(srv, refresh_token):
    st, _ = raw(srv, "POST", "/api/2.0/cairn/auth/refresh", {"refresh_token": refresh_token}, user=None)
    return st == 200


def test_login_then_commands_work_without_variables(auth_server, aenv):
    p = cli(["experiments", "list"], aenv)
    assert p.returncode == 1 and "UNAUTHENTICATED" in p.stderr and "cairn login" in p.stderr
    out = login(aenv)
    assert "Logged in to" in out.stdout and ADMIN_PW not in out.stdout + out.stderr
    names = [e["name"] for e in cli_json(["experiments", "list"], aenv)["experiments"]]
    assert "Default" in names


def test_tokens_file_mode_and_no_password(auth_server, aenv):
    login(aenv)
    path = tokens_path(aenv)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    text = open(path).read()
    assert ADMIN_PW not in text
    entry = json.loads(text)[auth_server.url]
    assert entry["username"] == ADMIN and entry["expires_at"] > time.time()
    assert set(entry) >= {"access_token", "refresh_token", "expires_at"}
    # no temp files left behind
    assert sorted(os.listdir(os.path.dirname(path))) == ["tokens.json", "tokens.json.lock"]


def test_wrong_password_exit_1_and_no_file(auth_server, aenv):
    p = login(aenv, pw="Wr0ng!password", check=1)
    assert "wrong username or password" in p.stderr
    assert "Wr0ng!password" not in p.stderr + p.stdout
    assert not os.path.exists(tokens_path(aenv))


def test_expiring_access_token_is_refreshed(auth_server, aenv):
    login(aenv)
    old = tokens(aenv)[auth_server.url]
    forge(aenv, auth_server.url, expires_at=int(time.time()) + 10)   # within the minute
    cli(["experiments", "list"], aenv, check=0)
    new = tokens(aenv)[auth_server.url]
    assert new["refresh_token"] != old["refresh_token"]
    assert new["expires_at"] > time.time() + 60
    assert not refresh_works(auth_server, old["refresh_token"])      # spent by the client
    assert stat.S_IMODE(os.stat(tokens_path(aenv)).st_mode) == 0o600


def test_refused_access_token_refreshes_once_and_retries(auth_server, aenv):
    login(aenv)
    old = tokens(aenv)[auth_server.url]
    forge(aenv, auth_server.url, access_token=old["access_token"][:-4] + "AAAA")   # tampered
    cli(["experiments", "list"], aenv, check=0)
    assert tokens(aenv)[auth_server.url]["refresh_token"] != old["refresh_token"]


def test_spent_login_says_login_again(auth_server, aenv):
    login(aenv)
    t = tokens(aenv)[auth_server.url]
    assert refresh_works(auth_server, t["refresh_token"])   # spent behind the client's back
    forge(aenv, auth_server.url, expires_at=0)
    # the access token still works until it expires: a failed refresh is not fatal
    cli(["experiments", "list"], aenv, check=0)
    forge(aenv, auth_server.url, access_token=t["access_token"][:-4] + "AAAA")
    p = cli(["experiments", "list"], aenv)
    assert p.returncode == 1 and "cairn login" in p.stderr and "refused" in p.stderr


def test_logout_revokes(auth_server, aenv):
    login(aenv)
    old = tokens(aenv)[auth_server.url]
    p = cli(["logout"], aenv, check=0)
    assert "Logged out" in p.stdout
    assert auth_server.url not in tokens(aenv)
    assert not refresh_works(auth_server, old["refresh_token"])
    assert cli(["experiments", "list"], aenv).returncode == 1
    assert "Not logged in" in cli(["logout"], aenv, check=0).stdout


def test_explicit_variables_win(auth_server, aenv):
    login(aenv)
    bad = dict(aenv, MLFLOW_TRACKING_USERNAME=ADMIN, MLFLOW_TRACKING_PASSWORD="Wr0ng!password")
    assert cli(["experiments", "list"], bad).returncode == 1
    assert cli(["experiments", "list"], dict(aenv, MLFLOW_TRACKING_TOKEN="nope")).returncode == 1


def test_unauthenticated_is_not_spooled(auth_server, aenv):
    p = cli(["runs", "create", "-x", "0"], aenv)
    assert p.returncode == 1 and "UNAUTHENTICATED" in p.stderr
    login(aenv)
    run = cli(["runs", "create", "-x", "0"], aenv, check=0).stdout.strip()
    cli(["logout"], aenv, check=0)
    p = cli(["log", "metric", "m", "1", "--run-id", run], aenv)
    assert p.returncode == 1 and "UNAUTHENTICATED" in p.stderr and "spool" not in p.stderr
    spool = aenv["CAIRN_SPOOL_DIR"]
    assert not os.path.exists(os.path.join(spool, "journal.jsonl")) or \
        os.path.getsize(os.path.join(spool, "journal.jsonl")) == 0


def test_python_binding_uses_stored_token(auth_server, aenv):
    login(aenv)
    forge(aenv, auth_server.url, expires_at=int(time.time()) + 5)    # and refreshes it
    before = tokens(aenv)[auth_server.url]["refresh_token"]
    p = run_python("""
import json, cairn
cairn.init_tracking()
with cairn.start_run(run_name="py-login") as run:
    cairn.log_metric("loss", 0.25, step=1)
print(json.dumps(run.info.run_id))
""", aenv)
    assert p.returncode == 0, p.stderr
    run_id = json.loads(p.stdout.strip().splitlines()[-1])
    st, got = raw(auth_server, "GET", f"/api/2.0/mlflow/runs/get?run_id={run_id}")
    assert st == 200 and got["run"]["data"]["metrics"][0]["value"] == 0.25
    assert tokens(aenv)[auth_server.url]["refresh_token"] != before


def test_users_round_trip(auth_server, aenv, tmp_path):
    login(aenv)
    name = f"bob{time.monotonic_ns()}"
    p = cli(["users", "create", name], aenv, check=0, input=USER_PW + "\n")
    assert name in p.stdout and USER_PW not in p.stdout + p.stderr
    got = cli_json(["users", "list", name, ADMIN], aenv)["users"]
    assert [u["username"] for u in got] == [name, ADMIN] and got[1]["is_admin"] is True
    assert cli(["users", "list"], aenv).returncode == 2
    exp = cli(["experiments", "create", f"perm-{name}"], aenv, check=0).stdout.strip()
    cli(["users", "grant", name, exp, "edit"], aenv, check=0)
    cli(["users", "grant", name, exp, "READ"], aenv, check=0)         # update, not a second create
    perms = cli_json(["users", "list", name], aenv)["users"][0]["experiment_permissions"]
    assert [(p["experiment_id"], p["permission"]) for p in perms] == [(exp, "READ")]
    assert f"{exp}:READ" in cli(["users", "list", name], aenv, check=0).stdout
    assert cli(["users", "grant", name, exp, "ALL"], aenv).returncode == 2
    cli(["users", "revoke", name, exp], aenv, check=0)
    assert cli_json(["users", "list", name], aenv)["users"][0]["experiment_permissions"] == []
    # the user changes the admin's password at first sign-in, with their own login
    benv = dict(aenv, HOME=str(tmp_path / "bobhome"))
    os.makedirs(benv["HOME"])
    login(benv, name, USER_PW)
    cli(["users", "passwd", name], benv, check=0, input=USER_PW2 + "\n")
    assert raw(auth_server, "GET", f"/api/2.0/mlflow/users/get?username={name}", user=name, pw=USER_PW2)[0] == 200
    assert login(benv, name, USER_PW, check=1).returncode == 1
    # a user who is not an admin cannot create users
    p = cli(["users", "create", name + "x"], benv, input=USER_PW + "\n")
    assert p.returncode == 1 and "PERMISSION_DENIED" in p.stderr
    cli(["users", "delete", name], aenv, check=0)
    p = cli(["users", "list", name], aenv)
    assert p.returncode == 1 and "RESOURCE_DOES_NOT_EXIST" in p.stderr


def test_weak_password_refused(auth_server, aenv):
    login(aenv)
    p = cli(["users", "create", "weak"], aenv, input="short\n")
    assert p.returncode == 1 and "short" not in p.stderr


def test_no_password_on_stdin(auth_server, aenv):
    p = cli(["login", "-u", ADMIN], aenv, input="")
    assert p.returncode == 1 and "no password" in p.stderr


def test_password_never_in_argv(auth_server, aenv):
    """`cairn login` waits on stdin: its command line has no password, and
    there is no option that takes one."""
    proc = subprocess.Popen([CAIRN_BIN, "login", "-u", ADMIN], env=aenv, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(0.3)
        with open(f"/proc/{proc.pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
        assert argv[1:4] == [b"login", b"-u", ADMIN.encode()]
        out, err = proc.communicate(ADMIN_PW.encode() + b"\n", timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert cli(["login", "--password", "x"], aenv).returncode == 2
    helptext = cli(["login", "--help"], aenv, check=0).stdout
    assert "--password" not in helptext


def test_concurrent_refresh_spends_the_refresh_token_once(auth_server, aenv):
    """Eight processes find the same expiring token at once: one refreshes
    (file lock), the others take the new pair from the file instead of
    spending the old refresh token again; all succeed."""
    login(aenv)
    old = tokens(aenv)[auth_server.url]
    forge(aenv, auth_server.url, expires_at=int(time.time()) + 5)
    procs = [subprocess.Popen([CAIRN_BIN, "experiments", "list", "--json"], env=aenv, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(8)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    new = tokens(aenv)[auth_server.url]
    assert new["refresh_token"] != old["refresh_token"] and refresh_works(auth_server, new["refresh_token"])
