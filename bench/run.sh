#!/usr/bin/env bash
# run.sh - `make bench`: every figure of docs/BENCHMARKS.md, one line each,
# with the limit each one chases measured in the same run, and MLflow
# 2.9.2's figure (measured on this kind of 2-core machine, see issue 3) in
# brackets where there is one.
#
# Starts build/cairn on a fresh SQLite database in a temporary folder (put
# TMPDIR on the disk you care about: fsync is the point), drives it with wrk
# (Debian package) and build/bench/cairn_load, and stops it.
#   bash bench/run.sh [seconds per wrk scenario]     (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
command -v wrk >/dev/null || { sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo;
  $sudo apt-get install -y wrk >/dev/null 2>&1 || { $sudo apt-get update -q >/dev/null; $sudo apt-get install -y wrk >/dev/null; }; }
bash scripts/deps.sh test >/dev/null
make -j"$(nproc)" all benches >/dev/null

tmp=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
LOAD=build/bench/cairn_load

echo "cairn $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, $(uname -r), ${DUR}s per wrk scenario, database in $tmp"
echo
echo "== limits: the same work without the server"
build/bench/sqlite_bare "$tmp" 5
sync  # the bare loop's writeback must not slow the fsyncs measured next

port=$((20000 + RANDOM % 20000))
build/cairn server --port "$port" --backend-store-uri "sqlite:///$tmp/mlflow.db" \
    --artifacts-destination "$tmp/art" 2>"$tmp/server.log" &
pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done
rss() { awk -v f="$1" '$1 == f":" {print $2, $3}' "/proc/$pid/status"; }
echo "server RSS idle: $(rss VmRSS)   [MLflow 470 MB]"

wrk_line() {
    local name=$1 conns=$2 mlflow=$3; shift 3
    local out rps p99 errs
    out=$(wrk -t2 -c"$conns" -d"${DUR}s" --latency "$@" 2>&1)
    rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    errs=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    printf '%-44s %7s req/s  p99 %8s  non-2xx %s   [%s]\n' "$name, $conns conns" "$rps" "$p99" "${errs:-0}" "$mlflow"
}
wrk_line "GET /health (the HTTP limit)" 8 "-" "$base/health"

api() { curl -sf -X POST "$base/api/2.0/mlflow/$1" -H 'Content-Type: application/json' -d "$2"; }
api experiments/create '{"name":"bench"}' >/dev/null
RUN_ID=$(api runs/create '{"experiment_id":"1"}' | sed 's/.*"run_id":"\([0-9a-f]*\)".*/\1/')
export RUN_ID EXP_ID=1

echo
echo "== request rates (wrk)"
wrk_line "POST runs/log-metric" 8 "MLflow 200 req/s, p99 660 ms" -s bench/wrk/log_metric.lua "$base"
wrk_line "POST runs/log-metric" 64 "-" -s bench/wrk/log_metric.lua "$base"
wrk_line "GET experiments/get-by-name" 8 "MLflow 330 req/s" \
    "$base/api/2.0/mlflow/experiments/get-by-name?experiment_name=bench"
wrk_line "GET runs/get" 8 "-" "$base/api/2.0/mlflow/runs/get?run_id=$RUN_ID"

echo
echo "== workloads (build/bench/cairn_load)"
echo "$($LOAD "$port" ingest 4 "$DUR")   [MLflow 10,400 metrics/s]"
echo "$($LOAD "$port" runs 10000 16 runs10k)   [MLflow 220 s]"
echo "$($LOAD "$port" search runs10k 100 50)   [MLflow 1.2 s]"
echo "$($LOAD "$port" search runs10k 1000 20)   [MLflow 2.3 s]"
echo "$($LOAD "$port" history 100000 20)   [MLflow 7.2 s]"
echo "$($LOAD "$port" interval 100000 20)"
echo "server RSS now: $(rss VmRSS), peak so far: $(rss VmHWM)   [MLflow 710 MB after these loads]"

echo
echo "== artifact proxy"
mb=${ARTIFACT_MB:-1024}
art="$base/api/2.0/mlflow-artifacts/artifacts/bench/blob.bin"
up=$(head -c "${mb}M" /dev/zero | curl -sf -T - -o /dev/null -w '%{time_total}' "$art")
down=$(curl -sf -o /dev/null -w '%{time_total}' "$art")
echo "PUT $mb MiB: $up s, GET: $down s, server peak RSS: $(rss VmHWM)"

echo
bash bench/door.sh "$DUR" 3

echo
bash bench/auth.sh "$DUR" 3
