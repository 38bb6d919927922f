"""A 200 MB artifact streamed up and down through the CLI, verified by
sha256; and the progress bar that a terminal gets."""
import hashlib
import os
import pty
import subprocess

import pytest

from conftest import CAIRN_BIN, cli, cli_json

SIZE = 200 * 1024 * 1024


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@pytest.mark.skipif(os.environ.get("CAIRN_SKIP_BIG") == "1", reason="CAIRN_SKIP_BIG=1")
def test_200mb_round_trip(env, experiment, tmp_path):
    src = tmp_path / "big.bin"
    with open(src, "wb") as f:
        block = os.urandom(1 << 20)
        for i in range(SIZE >> 20):
            f.write(bytes([i & 255]) + block[1:])
    run = cli(["runs", "create", "-x", experiment], env, check=0).stdout.strip()
    cli(["artifacts", "upload", str(src), "--run-id", run, "--path", "data/big.bin"], env, check=0)
    files = cli_json(["artifacts", "list", "data", "--run-id", run], env)["files"]
    assert files == [{"path": "data/big.bin", "is_dir": False, "file_size": SIZE}]
    back = tmp_path / "back.bin"
    cli(["artifacts", "download", "data/big.bin", "--run-id", run, "-o", str(back)], env, check=0)
    assert os.path.getsize(back) == SIZE
    assert sha256(back) == sha256(src)


def test_progress_bar_on_a_terminal(env, experiment, tmp_path):
    src = tmp_path / "f.bin"
    src.write_bytes(os.urandom(3_000_000))
    run = cli(["runs", "create", "-x", experiment], env, check=0).stdout.strip()
    master, slave = pty.openpty()
    p = subprocess.Popen([CAIRN_BIN, "artifacts", "upload", str(src), "--run-id", run], env=env,
                         stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert p.wait(timeout=120) == 0
    text = out.decode(errors="replace")
    assert "f.bin [" in text and "100%" in text and "3.0/3.0 MB" in text
    # Not a terminal: no bar.
    p = cli(["artifacts", "upload", str(src), "--run-id", run, "--path", "g.bin"], env, check=0)
    assert "%" not in p.stderr
