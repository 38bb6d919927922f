#!/usr/bin/env bash
# client.sh - `make bench-client`: builds the server and libcairn, starts a
# server on 127.0.0.1 (a free port, a temporary SQLite database), runs
# bench/client_bench.c (1,000,000 metric points through libcairn) and prints
# the client's CPU and wall time. Stops the server by PID. Figures go in
# docs/BENCHMARKS.md ("libcairn: logging CPU cost").
set -euo pipefail
cd "$(dirname "$0")/.."
make -j2 build/cairn build/bench/client_bench >/dev/null
tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
build/cairn server --host 127.0.0.1 --port "$port" --backend-store-uri "sqlite:///$tmp/mlflow.db" \
    --artifacts-destination "$tmp/art" 2>"$tmp/server.log" &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
    sleep 0.1
done
MLFLOW_TRACKING_URI="http://127.0.0.1:$port" build/bench/client_bench "${1:-1000000}"
