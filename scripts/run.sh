#!/usr/bin/env bash
# run.sh - install what is missing, build, and start the tracking server on
# its embedded defaults: SQLite (./mlflow.db), local artifacts
# (./mlartifacts), http://127.0.0.1:5000. Extra arguments go to
# `cairn server` (e.g. --port 5001).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh run
make -j"$(nproc)" >/dev/null
exec build/cairn server --host 127.0.0.1 --port 5000 "$@"
