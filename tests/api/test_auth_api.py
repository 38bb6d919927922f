"""MLflow's basic-auth REST API and Cairn's login endpoints over HTTP (issue 11).

The server runs with `--auth` and MLflow's own config file
(MLFLOW_AUTH_CONFIG_PATH -> basic_auth.ini): its admin is created at first
start. Requests are the ones the stock client sends: MLflow's
AuthServiceClient (mlflow/server/auth/client.py: methods, JSON bodies, query
args), ml-task-manager's OAuth2 password form, mantik's token API
(mantik.utils.mantik_api.client: {"username", "password"} and
{"username", "refresh_token"}).

Skipped while `cairn server --help` does not mention --auth (the switch is
wired in cli/server.c separately from these handlers).
"""

import os
import shutil
import subprocess
import tempfile

import pytest
import requests

from conftest import CAIRN_BIN, HTTP_TIMEOUT, Server, assert_error, unique

# These start their own servers and credentials (or, for the toy policy, need
# auth off): the suite's authenticated run (CAIRN_TEST_AUTH=1) leaves them out.
pytestmark_auth = pytest.mark.skipif(__import__("conftest").AUTH_ON,
                                     reason="runs its own auth setup; CAIRN_TEST_AUTH=1 run")

ADMIN = "admin"
ADMIN_PW = "Adm1n!passw0rd"
GOOD_PW = "G00d!Password"
MLFLOW = "/api/2.0/mlflow"


def _server_has_auth():
    try:
        r = subprocess.run([CAIRN_BIN, "server", "--help"], capture_output=True, text=True,
                           timeout=30)
    except OSError:
        return False
    return "--auth" in (r.stdout + r.stderr)


pytestmark = [pytestmark_auth,
              pytest.mark.skipif(not _server_has_auth(),
                                 reason="cairn server has no --auth yet (cli/server.c)")]


@pytest.fixture(scope="module")
def auth_server():
    tmp = tempfile.mkdtemp(prefix="cairn-auth-")
    ini = os.path.join(tmp, "basic_auth.ini")
    with open(ini, "w") as f:
        f.write("[mlflow]\ndefault_permission = READ\n"
                f"database_uri = sqlite:///{tmp}/basic_auth.db\n"
                f"admin_username = {ADMIN}\nadmin_password = {ADMIN_PW}\n")
    srv = Server(tmp)
    srv.env = dict(os.environ, MLFLOW_AUTH_CONFIG_PATH=ini)
    srv.extra_args = ["--auth"]
    srv.start()
    yield srv
    problems = srv.stop()
    assert not problems, "\n".join(problems)
    shutil.rmtree(tmp, ignore_errors=True)


class As:
    """Requests as one user (HTTP Basic, as MLFLOW_TRACKING_USERNAME does),
    or with a Bearer token, or with nothing."""

    def __init__(self, srv, user=None, password=None, token=None):
        self.base = srv.url
        self.s = requests.Session()
        if user is not None:
            self.s.auth = (user, password)
        if token is not None:
            self.s.headers["Authorization"] = f"Bearer {token}"

    def call(self, method, path, json=None, params=None, data=None):
        url = f"{self.base}{MLFLOW}/{path}"
        return self.s.request(method, url, json=json, params=params, data=data,
                              timeout=HTTP_TIMEOUT)

    def ok(self, method, path, json=None, params=None):
        r = self.call(method, path, json=json, params=params)
        assert r.status_code == 200, f"{method} {path}: {r.status_code} {r.text[:2000]}"
        return r.json()


@pytest.fixture
def admin(auth_server):
    return As(auth_server, ADMIN, ADMIN_PW)


def make_user(admin, auth_server, name=None, change_password=True):
    """A user the admin created, who then chose their own password (so the
    must-change flag is cleared). Returns (name, password, As)."""
    name = name or unique("u")
    admin.ok("POST", "users/create", {"username": name, "password": GOOD_PW})
    pw = GOOD_PW
    if change_password:
        pw = "Own!Passw0rd"
        me = As(auth_server, name, GOOD_PW)
        me.ok("PATCH", "users/update-password", {"username": name, "password": pw})
    return name, pw, As(auth_server, name, pw)


# ---- users ----

def test_create_get_user_shapes(admin):
    name = unique("u")
    body = admin.ok("POST", "users/create", {"username": name, "password": GOOD_PW})
    user = body["user"]
    assert set(user) == {"id", "username", "is_admin", "experiment_permissions",
                         "registered_model_permissions"}
    assert user["username"] == name and user["is_admin"] is False
    assert isinstance(user["id"], int)
    got = admin.ok("GET", "users/get", params={"username": name})["user"]
    assert got == user
    assert GOOD_PW not in str(got)


def test_create_user_errors(admin):
    name = unique("u")
    admin.ok("POST", "users/create", {"username": name, "password": GOOD_PW})
    assert_error(admin.call("POST", "users/create", {"username": name, "password": GOOD_PW}),
                 400, "RESOURCE_ALREADY_EXISTS", f"User (username={name}) already exists.")
    assert_error(admin.call("POST", "users/create", {"username": "", "password": GOOD_PW}),
                 400, "INVALID_PARAMETER_VALUE", "Username and password cannot be empty.")
    assert_error(admin.call("POST", "users/create", {"password": GOOD_PW}), 400,
                 "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'username'")
    assert_error(admin.call("GET", "users/get", params={"username": unique("nobody")}), 404,
                 "RESOURCE_DOES_NOT_EXIST", "not found")


@pytest.mark.parametrize("password,missing", [
    ("Sh0rt!", "8"), ("nouppercase1!", "upper-case"), ("NOLOWERCASE1!", "lower-case"),
    ("NoDigits!!", "digit"), ("NoSpecial123", "special")])
def test_password_policy(admin, password, missing):
    r = admin.call("POST", "users/create", {"username": unique("u"), "password": password})
    body = assert_error(r, 400, "INVALID_PARAMETER_VALUE", missing)
    assert password not in body["message"]


def test_update_password_admin_delete(admin, auth_server):
    name, pw, me = make_user(admin, auth_server)
    assert me.ok("GET", "users/get", params={"username": name})["user"]["username"] == name
    assert_error(me.call("PATCH", "users/update-password", {"username": name, "password": "weak"}),
                 400, "INVALID_PARAMETER_VALUE")
    assert admin.ok("PATCH", "users/update-admin", {"username": name, "is_admin": True}) == {}
    assert admin.ok("GET", "users/get", params={"username": name})["user"]["is_admin"] is True
    admin.ok("PATCH", "users/update-admin", {"username": name, "is_admin": False})
    assert admin.ok("DELETE", "users/delete", {"username": name}) == {}
    assert_error(admin.call("GET", "users/get", params={"username": name}), 404,
                 "RESOURCE_DOES_NOT_EXIST")
    # The deleted user's credentials no longer work.
    assert me.call("GET", "experiments/search", params={"max_results": 1}).status_code == 401


def test_users_routes_refuse_others(admin, auth_server):
    a, _, me = make_user(admin, auth_server)
    b, _, _ = make_user(admin, auth_server)
    assert_error(me.call("POST", "users/create", {"username": unique("u"), "password": GOOD_PW}),
                 403, "PERMISSION_DENIED")
    assert_error(me.call("GET", "users/get", params={"username": b}), 403, "PERMISSION_DENIED")
    assert_error(me.call("PATCH", "users/update-admin", {"username": a, "is_admin": True}), 403,
                 "PERMISSION_DENIED")
    assert_error(me.call("DELETE", "users/delete", {"username": b}), 403, "PERMISSION_DENIED")
    r = As(auth_server).call("GET", "users/get", params={"username": a})
    assert r.status_code == 401
    assert r.headers.get("WWW-Authenticate") == 'Basic realm="mlflow"'


def test_admin_reset_means_change_at_first_sign_in(admin, auth_server):
    """What Cairn expects of the door: a user whose password someone else
    set may change it (and read themself), nothing else, until they do."""
    name = unique("u")
    admin.ok("POST", "users/create", {"username": name, "password": GOOD_PW})
    me = As(auth_server, name, GOOD_PW)
    assert_error(me.call("GET", "experiments/search", params={"max_results": 1}), 403,
                 "PERMISSION_DENIED")
    me.ok("PATCH", "users/update-password", {"username": name, "password": "Own!Passw0rd"})
    me = As(auth_server, name, "Own!Passw0rd")
    me.ok("GET", "experiments/search", params={"max_results": 1})


# ---- permissions ----

def test_experiment_permissions(admin, auth_server):
    name, _, _ = make_user(admin, auth_server)
    exp = admin.ok("POST", "experiments/create", {"name": unique("e")})["experiment_id"]
    body = admin.ok("POST", "experiments/permissions/create",
                    {"experiment_id": exp, "username": name, "permission": "READ"})
    ep = body["experiment_permission"]
    assert set(ep) == {"experiment_id", "user_id", "permission"}
    assert ep["experiment_id"] == exp and ep["permission"] == "READ"
    assert_error(admin.call("POST", "experiments/permissions/create",
                            {"experiment_id": exp, "username": name, "permission": "READ"}),
                 400, "RESOURCE_ALREADY_EXISTS",
                 f"Experiment permission (experiment_id={exp}, username={name}) already exists.")
    assert admin.ok("PATCH", "experiments/permissions/update",
                    {"experiment_id": exp, "username": name, "permission": "EDIT"}) == {}
    got = admin.ok("GET", "experiments/permissions/get",
                   params={"experiment_id": exp, "username": name})
    assert got["experiment_permission"]["permission"] == "EDIT"
    assert_error(admin.call("PATCH", "experiments/permissions/update",
                            {"experiment_id": exp, "username": name, "permission": "OWNER"}),
                 400, "INVALID_PARAMETER_VALUE", "Invalid permission 'OWNER'")
    assert admin.ok("DELETE", "experiments/permissions/delete",
                    {"experiment_id": exp, "username": name}) == {}
    assert_error(admin.call("GET", "experiments/permissions/get",
                            params={"experiment_id": exp, "username": name}),
                 404, "RESOURCE_DOES_NOT_EXIST",
                 f"Experiment permission with experiment_id={exp} and username={name} not found")
    assert_error(admin.call("POST", "experiments/permissions/create",
                            {"experiment_id": exp, "username": unique("nobody"),
                             "permission": "READ"}), 404, "RESOURCE_DOES_NOT_EXIST")


def test_experiment_permissions_need_manage(admin, auth_server):
    name, _, me = make_user(admin, auth_server)
    exp = admin.ok("POST", "experiments/create", {"name": unique("e")})["experiment_id"]
    assert_error(me.call("POST", "experiments/permissions/create",
                         {"experiment_id": exp, "username": name, "permission": "MANAGE"}),
                 403, "PERMISSION_DENIED")


def test_registered_model_permissions(admin, auth_server):
    name, _, _ = make_user(admin, auth_server)
    model = unique("m")
    body = admin.ok("POST", "registered-models/permissions/create",
                    {"name": model, "username": name, "permission": "MANAGE"})
    rmp = body["registered_model_permission"]
    assert set(rmp) == {"name", "user_id", "permission"}
    assert rmp["name"] == model and rmp["permission"] == "MANAGE"
    assert_error(admin.call("POST", "registered-models/permissions/create",
                            {"name": model, "username": name, "permission": "READ"}),
                 400, "RESOURCE_ALREADY_EXISTS",
                 f"Registered model permission (name={model}, username={name}) already exists.")
    admin.ok("PATCH", "registered-models/permissions/update",
             {"name": model, "username": name, "permission": "NO_PERMISSIONS"})
    got = admin.ok("GET", "registered-models/permissions/get",
                   params={"name": model, "username": name})
    assert got["registered_model_permission"]["permission"] == "NO_PERMISSIONS"
    assert_error(admin.call("POST", "registered-models/permissions/create",
                            {"name": unique("m"), "username": name, "permission": "ALL"}),
                 400, "INVALID_PARAMETER_VALUE", "Invalid permission 'ALL'")
    assert admin.ok("DELETE", "registered-models/permissions/delete",
                    {"name": model, "username": name}) == {}
    assert_error(admin.call("DELETE", "registered-models/permissions/delete",
                            {"name": model, "username": name}), 404, "RESOURCE_DOES_NOT_EXIST",
                 f"Registered model permission with name={model} and username={name} not found")


# ---- tokens ----

def _post(srv, path, **kw):
    return requests.post(srv.url + path, timeout=HTTP_TIMEOUT, **kw)


def test_cairn_tokens(auth_server):
    r = _post(auth_server, "/api/2.0/cairn/auth/token",
              json={"username": ADMIN, "password": ADMIN_PW})
    assert r.status_code == 200, r.text
    t = r.json()
    assert set(t) == {"access_token", "refresh_token", "token_type", "expires_in", "expires_at"}
    assert t["token_type"] == "bearer" and 0 < t["expires_in"] <= 3600
    bearer = As(auth_server, token=t["access_token"])
    bearer.ok("GET", "experiments/search", params={"max_results": 1})

    r = _post(auth_server, "/api/2.0/cairn/auth/refresh",
              json={"refresh_token": t["refresh_token"]})
    assert r.status_code == 200, r.text
    t2 = r.json()
    assert t2["refresh_token"] != t["refresh_token"]
    As(auth_server, token=t2["access_token"]).ok("GET", "experiments/search",
                                                 params={"max_results": 1})
    assert_error(_post(auth_server, "/api/2.0/cairn/auth/refresh",
                       json={"refresh_token": t["refresh_token"]}), 401, "UNAUTHENTICATED")

    r = _post(auth_server, "/api/2.0/cairn/auth/revoke",
              json={"refresh_token": t2["refresh_token"]})
    assert r.status_code == 200 and r.json() == {}
    assert_error(_post(auth_server, "/api/2.0/cairn/auth/refresh",
                       json={"refresh_token": t2["refresh_token"]}), 401, "UNAUTHENTICATED")


def test_cairn_token_wrong_password(auth_server):
    r = _post(auth_server, "/api/2.0/cairn/auth/token",
              json={"username": ADMIN, "password": "Wr0ng!password"})
    body = assert_error(r, 401, "UNAUTHENTICATED")
    assert "Wr0ng!password" not in r.text and "Wr0ng" not in body["message"]
    assert r.headers.get("WWW-Authenticate")
    r = _post(auth_server, "/api/2.0/cairn/auth/token",
              json={"username": unique("nobody"), "password": "Wr0ng!password"})
    assert_error(r, 401, "UNAUTHENTICATED")


def test_ml_task_manager_login_form(auth_server):
    r = _post(auth_server, "/auth/login", data={"username": ADMIN, "password": ADMIN_PW})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "token_type"} and body["token_type"] == "bearer"
    As(auth_server, token=body["access_token"]).ok("GET", "experiments/search",
                                                   params={"max_results": 1})
    r = _post(auth_server, "/auth/login", data={"username": ADMIN, "password": "Wr0ng!pass"})
    assert r.status_code == 401


def test_mantik_tokens(auth_server):
    r = _post(auth_server, "/mantik-api/mantik/tokens/create",
              json={"username": ADMIN, "password": ADMIN_PW})
    assert r.status_code == 200, r.text
    t = r.json()
    assert set(t) == {"AccessToken", "RefreshToken", "ExpiresAt"}
    import datetime
    assert datetime.datetime.fromisoformat(t["ExpiresAt"]).tzinfo is not None
    As(auth_server, token=t["AccessToken"]).ok("GET", "experiments/search",
                                               params={"max_results": 1})
    refresh = {"username": ADMIN, "refresh_token": t["RefreshToken"]}
    r = _post(auth_server, "/mantik-api/mantik/tokens/refresh", json=refresh)
    assert r.status_code == 200, r.text
    assert set(r.json()) >= {"AccessToken", "ExpiresAt"}
    # mantik keeps its first refresh token; the second refresh must tell it
    # to sign in again, in the words its client looks for.
    r = _post(auth_server, "/mantik-api/mantik/tokens/refresh", json=refresh)
    assert r.status_code == 401 and "Refresh token is invalid" in r.text
