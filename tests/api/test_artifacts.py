"""Artifact proxy (/api/2.0/mlflow-artifacts/artifacts) and artifacts/list.

Reference (MLflow 2.9.2): handlers._upload_artifact (PUT raw body, streamed),
_download_artifact (attachment headers), _list_artifacts_mlflow_artifacts
(GET ?path=, basenames), _delete_artifact_mlflow_artifacts, _list_artifacts
(root_uri + run-relative paths), mlflow/utils/uri.validate_path_is_safe
(decodes repeatedly, refuses "..", absolute paths: 400 "Invalid path").

Beyond MLflow (Cairn's own rule from ARCHITECTURE.md: every request path is
resolved under its root and refused if it escapes): NUL bytes and symlinks
that lead outside the artifacts root are refused with a 4xx JSON error, and
nothing outside the root is read or written.
"""

import hashlib
import os
import random
import shutil
import tempfile
import urllib.parse

import pytest
import requests

from conftest import (S3_BASE, local_artifacts_only, ARTIFACTS_PREFIXES, assert_client_error_json, assert_error,
                      raw_request, unique)

MiB = 1024 * 1024


def art_url(base, path, prefix=ARTIFACTS_PREFIXES[0]):
    return f"{base}{prefix}/artifacts/{urllib.parse.quote(path)}"


def put(base, path, data, prefix=ARTIFACTS_PREFIXES[0], **kw):
    return requests.put(art_url(base, path, prefix), data=data, timeout=300, **kw)


def get(base, path, prefix=ARTIFACTS_PREFIXES[0], **kw):
    return requests.get(art_url(base, path, prefix), timeout=300, **kw)


def list_dir(base, path=None, prefix=ARTIFACTS_PREFIXES[0]):
    params = {} if path is None else {"path": path}
    r = requests.get(f"{base}{prefix}/artifacts", params=params, timeout=60)
    assert r.status_code == 200, r.text
    return r.json().get("files", [])


def delete(base, path, prefix=ARTIFACTS_PREFIXES[0]):
    return requests.delete(art_url(base, path, prefix), timeout=60)


@pytest.fixture(params=ARTIFACTS_PREFIXES, ids=["api", "ajax"])
def aprefix(request):
    return request.param


def test_upload_download_round_trip(server, aprefix):
    data = bytes(range(256)) * 400 + os.urandom(12345)
    path = f"{unique('rt')}/blob.bin"
    r = put(server.url, path, data, aprefix)
    assert r.status_code == 200, r.text
    assert r.json() == {}
    r = get(server.url, path, aprefix)
    assert r.status_code == 200
    assert r.content == data
    assert "attachment" in r.headers.get("Content-Disposition", "")
    assert r.headers.get("X-Content-Type-Options") == "nosniff"
    # Stored byte-exact where --artifacts-destination says.
    if not S3_BASE:
        with open(os.path.join(server.artifacts_root, path), "rb") as f:
            assert f.read() == data


def test_nested_dirs_and_listing(server):
    top = unique("nest")
    files = {f"{top}/a/b/c/deep.txt": b"deep", f"{top}/a/one.txt": b"1",
             f"{top}/a/two.txt": b"22", f"{top}/root.txt": b"333"}
    for p, d in files.items():
        assert put(server.url, p, d).status_code == 200
    for p, d in files.items():
        assert get(server.url, p).content == d
    listing = {f["path"]: f for f in list_dir(server.url, f"{top}/a")}
    assert set(listing) == {"b", "one.txt", "two.txt"}
    assert listing["b"]["is_dir"] is True
    assert listing["one.txt"]["is_dir"] is False and listing["one.txt"]["file_size"] == 1
    assert listing["two.txt"]["file_size"] == 2
    deep = list_dir(server.url, f"{top}/a/b/c")
    assert deep == [{"path": "deep.txt", "is_dir": False, "file_size": 4}]
    top_listing = {f["path"] for f in list_dir(server.url, top)}
    assert top_listing == {"a", "root.txt"}
    assert top in {f["path"] for f in list_dir(server.url)}


def test_list_nonexistent_dir_is_empty(server):
    assert list_dir(server.url, unique("nothing-here")) == []


def test_names_with_spaces_and_unicode(server):
    top = unique("uni")
    path = f"{top}/dir with space/ünï 名前 (1) & $x;.txt"
    assert put(server.url, path, b"u").status_code == 200
    assert get(server.url, path).content == b"u"
    assert [f["path"] for f in list_dir(server.url, f"{top}/dir with space")] == \
        ["ünï 名前 (1) & $x;.txt"]


def test_overwrite(server):
    path = f"{unique('ow')}/f.txt"
    put(server.url, path, b"first version")
    put(server.url, path, b"2nd")
    assert get(server.url, path).content == b"2nd"


def test_empty_file(server):
    top = unique("empty")
    assert put(server.url, f"{top}/e", b"").status_code == 200
    r = get(server.url, f"{top}/e")
    assert r.status_code == 200 and r.content == b""
    assert list_dir(server.url, top) == [{"path": "e", "is_dir": False, "file_size": 0}]


def test_chunked_upload(server):
    chunks = [os.urandom(64 * 1024 + i) for i in range(80)]
    path = f"{unique('chunked')}/c.bin"
    r = put(server.url, path, iter(chunks))  # generator body: Transfer-Encoding: chunked
    assert r.status_code == 200, r.text
    assert get(server.url, path).content == b"".join(chunks)


def test_delete_dir(server):
    top = unique("del")
    put(server.url, f"{top}/d/x.txt", b"x")
    put(server.url, f"{top}/keep.txt", b"k")
    r = delete(server.url, f"{top}/d")
    assert r.status_code == 200, r.text
    assert {f["path"] for f in list_dir(server.url, top)} == {"keep.txt"}
    if not S3_BASE:
        assert not os.path.exists(os.path.join(server.artifacts_root, top, "d"))


def test_delete_file(server):
    top = unique("delf")
    put(server.url, f"{top}/x.txt", b"x")
    r = delete(server.url, f"{top}/x.txt")
    assert r.status_code == 200, r.text
    assert list_dir(server.url, top) == []


def test_delete_nonexistent_is_ok(server):
    # LocalArtifactRepository.delete_artifacts is a no-op for missing paths.
    assert delete(server.url, f"{unique('ghost')}/x").status_code == 200


def test_download_nonexistent(server):
    # MLflow 2.9.2 answers 500 (an OSError escapes); a clean 4xx JSON is required here.
    r = get(server.url, f"{unique('missing')}/nope.txt")
    body = assert_client_error_json(r)
    assert r.status_code == 404 and body["error_code"] == "RESOURCE_DOES_NOT_EXIST"


# --------------------------------------------------------------------------
# artifacts/list for runs
# --------------------------------------------------------------------------

def test_run_artifacts_list(server, client):
    exp_id = client.create_experiment()
    run = client.create_run(exp_id)
    rid = run["info"]["run_id"]
    root = run["info"]["artifact_uri"]
    assert root == f"mlflow-artifacts:/{exp_id}/{rid}/artifacts"
    base = f"{exp_id}/{rid}/artifacts"
    put(server.url, f"{base}/model.pkl", b"12345")
    put(server.url, f"{base}/plots/loss.png", b"png")
    put(server.url, f"{base}/plots/sub/acc.png", b"acc!")

    r = client.ok_get("artifacts/list", {"run_id": rid})
    assert r["root_uri"] == root
    files = {f["path"]: f for f in r["files"]}
    assert set(files) == {"model.pkl", "plots"}
    assert files["model.pkl"] == {"path": "model.pkl", "is_dir": False, "file_size": 5}
    assert files["plots"]["is_dir"] is True

    r = client.ok_get("artifacts/list", {"run_id": rid, "path": "plots"})
    files = {f["path"]: f for f in r["files"]}
    assert set(files) == {"plots/loss.png", "plots/sub"}
    assert files["plots/loss.png"]["file_size"] == 3
    assert files["plots/sub"]["is_dir"] is True

    r = client.ok_get("artifacts/list", {"run_id": rid, "path": "plots/sub"})
    assert r["files"] == [{"path": "plots/sub/acc.png", "is_dir": False, "file_size": 4}]


def test_run_artifacts_list_empty(client):
    rid = client.create_run()["info"]["run_id"]
    r = client.ok_get("artifacts/list", {"run_id": rid})
    assert r.get("files", []) == []
    assert r["root_uri"].endswith(f"/{rid}/artifacts")


def test_run_artifacts_list_errors(client):
    rid = client.create_run()["info"]["run_id"]
    assert_error(client.get("artifacts/list"), 400, "INVALID_PARAMETER_VALUE", "run_id")
    assert_error(client.get("artifacts/list", {"run_id": "9" * 32}), 404,
                 "RESOURCE_DOES_NOT_EXIST")
    for bad in ["../", "..", "a/../../b", "/etc", "%2e%2e"]:
        r = client.get("artifacts/list", {"run_id": rid, "path": bad})
        assert_error(r, 400, "INVALID_PARAMETER_VALUE", "Invalid path")


# --------------------------------------------------------------------------
# Hostile paths
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trap(server):
    """A secret outside the artifacts root, and symlinks inside it that point out."""
    tag = unique("trap")
    secret_path = os.path.join(server.tmpdir, f"secret-{tag}.txt")
    secret = f"TOP-SECRET-{tag}".encode()
    with open(secret_path, "wb") as f:
        f.write(secret)
    outside = os.path.join(server.tmpdir, f"outside-{tag}")
    os.makedirs(outside)
    with open(os.path.join(outside, "inner.txt"), "wb") as f:
        f.write(secret)
    if not S3_BASE:  # an object store has no links: the paths are still tried
        os.makedirs(server.artifacts_root, exist_ok=True)
        os.symlink(outside, os.path.join(server.artifacts_root, f"dirlink-{tag}"))
        os.symlink(secret_path, os.path.join(server.artifacts_root, f"filelink-{tag}"))
    return {"tag": tag, "secret": secret, "secret_name": os.path.basename(secret_path),
            "secret_path": secret_path, "outside": outside, "tmpdir": server.tmpdir}


P = "/api/2.0/mlflow-artifacts/artifacts"


def _enc(s):
    return urllib.parse.quote(s, safe="")


def _hostile_reads(t):
    s = t["secret_name"]
    return [
        # (raw path, exact MLflow status or None for "any 4xx JSON")
        (f"{P}/../{s}", None),
        (f"{P}/x/../../{s}", None),
        (f"{P}/%2e%2e/{s}", 400),
        (f"{P}/%2E%2E%2F{s}", 400),
        (f"{P}/a/%2e%2e/%2e%2e/{s}", 400),
        (f"{P}/%252e%252e/{s}", 400),
        (f"{P}/{_enc(os.path.join(t['tmpdir'], s))}", 400),
        (f"{P}/{_enc('/etc/passwd')}", 400),
        (f"{P}/{s}%00.txt", None),
        (f"{P}/dirlink-{t['tag']}/inner.txt", None),
        (f"{P}/filelink-{t['tag']}", None),
        (f"{P}?path=..", 400),
        (f"{P}?path=../", 400),
        (f"{P}?path=a/../..", 400),
        (f"{P}?path=%2Fetc", 400),
        (f"{P}?path=%2e%2e", 400),
        (f"{P}?path=dirlink-{t['tag']}", None),
        (f"{P}?path=x%00y", None),
    ]


def test_hostile_reads_refused(server, trap):
    for raw, status in _hostile_reads(trap):
        if S3_BASE and "link-" in raw:
            continue  # no links were made: an ordinary missing name
        code, headers, body = raw_request(server.url, "GET", raw)
        assert trap["secret"] not in body, f"secret leaked via {raw}"
        assert b"root:" not in body, f"/etc/passwd leaked via {raw}"
        assert 400 <= code < 500, f"{raw}: HTTP {code} {body[:300]!r}"
        fake = requests.Response()
        fake.status_code, fake._content = code, body
        err = assert_client_error_json(fake)
        if status is not None:
            assert code == status, f"{raw}: HTTP {code}"
            assert err["error_code"] == "INVALID_PARAMETER_VALUE", (raw, err)


def _hostile_writes(t):
    n = f"escape-{t['tag']}.txt"
    return [
        (f"{P}/../{n}", os.path.join(t["tmpdir"], n)),
        (f"{P}/x/../../{n}", os.path.join(t["tmpdir"], n)),
        (f"{P}/%2e%2e/{n}", os.path.join(t["tmpdir"], n)),
        (f"{P}/%2E%2E%2F{n}", os.path.join(t["tmpdir"], n)),
        (f"{P}/%252e%252e/{n}", os.path.join(t["tmpdir"], n)),
        (f"{P}/{_enc(os.path.join(t['tmpdir'], n))}", os.path.join(t["tmpdir"], n)),
        (f"{P}/{n}%00.txt", None),
        (f"{P}/dirlink-{t['tag']}/{n}", os.path.join(t["outside"], n)),
    ]


def test_hostile_writes_refused(server, trap):
    payload = b"PWNED-" + trap["tag"].encode()
    for raw, outside_target in _hostile_writes(trap):
        if S3_BASE and "link-" in raw:
            continue  # no links were made: an ordinary new key
        code, _h, body = raw_request(server.url, "PUT", raw, body=payload,
                                     headers={"Content-Type": "application/octet-stream"})
        assert 400 <= code < 500, f"PUT {raw}: HTTP {code} {body[:300]!r}"
        fake = requests.Response()
        fake.status_code, fake._content = code, body
        assert_client_error_json(fake)
        if outside_target:
            assert not os.path.exists(outside_target), f"PUT {raw} wrote {outside_target}"
    # The file behind the symlink is untouched.
    with open(trap["secret_path"], "rb") as f:
        assert f.read() == trap["secret"]
    assert os.listdir(trap["outside"]) == ["inner.txt"]


def test_hostile_deletes_refused(server, trap):
    s = trap["secret_name"]
    for raw in [f"{P}/../{s}", f"{P}/%2e%2e/{s}", f"{P}/{_enc(trap['secret_path'])}",
                f"{P}/dirlink-{trap['tag']}/inner.txt", f"{P}/%2e%2e"]:
        if S3_BASE and "link-" in raw:
            continue  # no links were made: an ordinary missing name
        code, _h, body = raw_request(server.url, "DELETE", raw)
        assert 400 <= code < 500, f"DELETE {raw}: HTTP {code} {body[:300]!r}"
        assert os.path.exists(trap["secret_path"]), f"DELETE {raw} removed the secret"
        assert os.path.exists(os.path.join(trap["outside"], "inner.txt")), \
            f"DELETE {raw} removed a file outside the root"
    if not S3_BASE:
        assert os.path.isdir(server.artifacts_root)


@local_artifacts_only
def test_symlink_itself_write_and_delete_refused(server, trap):
    # The request path names a symlink inside the root whose target is outside:
    # it resolves outside the root, so it is refused (ARCHITECTURE.md: "Every
    # path that comes from a request is resolved under its root and refused if
    # it escapes"). Whatever the answer, nothing outside may change.
    tag = unique("link2")
    outside = os.path.join(server.tmpdir, f"outside-{tag}")
    os.makedirs(outside)
    target = os.path.join(outside, "target.txt")
    with open(target, "wb") as f:
        f.write(b"ORIGINAL")
    os.symlink(target, os.path.join(server.artifacts_root, f"flink-{tag}"))
    os.symlink(outside, os.path.join(server.artifacts_root, f"dlink-{tag}"))
    results = []
    for method, raw, body in [("PUT", f"{P}/flink-{tag}", b"PWNED"),
                              ("DELETE", f"{P}/flink-{tag}", None),
                              ("DELETE", f"{P}/dlink-{tag}", None)]:
        code, _h, resp = raw_request(server.url, method, raw, body=body)
        results.append((method, raw, code, resp[:200]))
        with open(target, "rb") as f:
            assert f.read() == b"ORIGINAL", f"{method} {raw} changed a file outside the root"
        assert os.listdir(outside) == ["target.txt"]
    refused = [r for r in results if 400 <= r[2] < 500]
    assert refused == results, f"not refused: {[r for r in results if r not in refused]}"


# --------------------------------------------------------------------------
# Large streamed file: memory stays bounded
# --------------------------------------------------------------------------

_BLOCK = random.Random(1234).randbytes(MiB)


def _page(p):
    return p.to_bytes(8, "little") * 2 + _BLOCK[16:]


class PatternFile:
    """A read-only file-like object of `size` deterministic bytes, generated on
    the fly (never held in memory). len() lets requests send Content-Length."""

    def __init__(self, size):
        self.size, self.pos, self.page_no, self.page = size, 0, -1, b""

    def __len__(self):
        return self.size - self.pos

    def read(self, n=-1):
        if n is None or n < 0:
            n = self.size - self.pos
        n = min(n, self.size - self.pos)
        out = []
        while n > 0:
            p, off = divmod(self.pos, MiB)
            if p != self.page_no:
                self.page_no, self.page = p, _page(p)
            take = min(n, MiB - off)
            out.append(self.page[off:off + take])
            self.pos += take
            n -= take
        return b"".join(out)


def _pattern_sha256(size):
    h = hashlib.sha256()
    full, rest = divmod(size, MiB)
    for p in range(full):
        h.update(_page(p))
    if rest:
        h.update(_page(full)[:rest])
    return h.hexdigest()


@pytest.mark.big
def test_large_file_streams_with_bounded_memory(server_factory):
    size = 2 * 1024 * MiB  # 2 GiB
    free = shutil.disk_usage(tempfile.gettempdir()).free
    if free < 3 * size:
        pytest.skip(f"needs {3 * size >> 30} GiB free under {tempfile.gettempdir()}, "
                    f"has {free >> 20} MiB")
    srv = server_factory()
    expected = _pattern_sha256(size)
    path = f"{unique('big')}/two-gib.bin"
    hwm_before = srv.vm_hwm_kb()

    r = requests.put(art_url(srv.url, path), data=PatternFile(size), timeout=600)
    assert r.status_code == 200, r.text
    if not S3_BASE:
        assert os.path.getsize(os.path.join(srv.artifacts_root, path)) == size

    h, n = hashlib.sha256(), 0
    with requests.get(art_url(srv.url, path), stream=True, timeout=600) as r:
        assert r.status_code == 200
        for chunk in r.iter_content(chunk_size=MiB):
            h.update(chunk)
            n += len(chunk)
    assert n == size
    assert h.hexdigest() == expected

    listing = list_dir(srv.url, path.split("/")[0])
    assert listing == [{"path": "two-gib.bin", "is_dir": False, "file_size": size}]

    hwm_after = srv.vm_hwm_kb()
    grew_mb = (hwm_after - hwm_before) / 1024
    assert grew_mb < 200, f"server peak RSS grew by {grew_mb:.0f} MB for a 2 GiB transfer"
    if S3_BASE:  # the proxy to S3 holds at most two parts and a read buffer
        assert hwm_after < 100 * 1024, f"server peak RSS {hwm_after >> 10} MB with S3"
    assert delete(srv.url, path.split("/")[0]).status_code == 200


def test_ranged_download(server):
    # Flask's send_file (MLflow's download) answers a single byte range with
    # 206 and Content-Range; a resumed download relies on it.
    data = bytes(range(256)) * 40 + b"end"
    path = f"{unique('range')}/r.bin"
    assert put(server.url, path, data).status_code == 200
    url = art_url(server.url, path)
    for rng, lo, hi in [("bytes=0-9", 0, 9), ("bytes=100-", 100, len(data) - 1),
                        ("bytes=-3", len(data) - 3, len(data) - 1),
                        ("bytes=5000-999999", 5000, len(data) - 1)]:
        r = requests.get(url, headers={"Range": rng}, timeout=60)
        assert r.status_code == 206, (rng, r.status_code)
        assert r.content == data[lo:hi + 1], rng
        assert r.headers["Content-Range"] == f"bytes {lo}-{hi}/{len(data)}"
    r = requests.get(url, headers={"Range": "bytes=99999-"}, timeout=60)
    assert r.status_code == 416
    assert r.headers["Content-Range"] == f"bytes */{len(data)}"
    # The whole object, asked for or not understood, is a plain 200.
    for rng in ["bytes=0-", "bytes=1-2,4-5", "items=0-1"]:
        r = requests.get(url, headers={"Range": rng}, timeout=60)
        assert r.status_code == 200 and r.content == data, rng
    assert requests.get(url, timeout=60).headers["Accept-Ranges"] == "bytes"
