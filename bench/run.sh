#!/usr/bin/env bash
# run.sh - HTTP benchmarks of the tracking server with wrk (Debian package).
# Starts build/cairn on a temporary SQLite database, seeds it, and prints
# requests/s and latency for: GET runs/get, POST log-metric (one write per
# request), POST log-batch (100 metrics per request), POST runs/search over
# SEED_RUNS runs. Usage: bash bench/run.sh [seconds per scenario]
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
SEED_RUNS=${SEED_RUNS:-2000}
command -v wrk >/dev/null || { sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo;
  $sudo apt-get install -y wrk >/dev/null 2>&1 || { $sudo apt-get update -q >/dev/null; $sudo apt-get install -y wrk >/dev/null; }; }
bash scripts/deps.sh test
make -j"$(nproc)" all benches >/dev/null
echo "== store (no HTTP): build/bench/store_bench"
build/bench/store_bench
echo

tmp=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
build/cairn server --port "$port" --backend-store-uri "sqlite:///$tmp/mlflow.db" \
    --artifacts-destination "$tmp/art" --workers "${WORKERS:-4}" 2>"$tmp/server.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done

api() { curl -sf -X POST "$base/api/2.0/mlflow/$1" -H 'Content-Type: application/json' -d "$2"; }
EXP_ID=$(api experiments/create '{"name":"bench"}' | /usr/bin/python3 -c 'import sys,json;print(json.load(sys.stdin)["experiment_id"])')
RUN_ID=$(api runs/create "{\"experiment_id\":\"$EXP_ID\"}" | /usr/bin/python3 -c 'import sys,json;print(json.load(sys.stdin)["run"]["info"]["run_id"])')
export EXP_ID RUN_ID

echo "seeding $SEED_RUNS runs ..." >&2
/usr/bin/python3 - "$base" "$EXP_ID" "$SEED_RUNS" <<'PY'
import json, random, sys, urllib.request
base, exp, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def post(path, body):
    req = urllib.request.Request(base + "/api/2.0/mlflow/" + path, json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))
rnd = random.Random(1)
for i in range(n):
    run = post("runs/create", {"experiment_id": exp, "start_time": i})["run"]["info"]["run_id"]
    post("runs/log-batch", {"run_id": run,
         "params": [{"key": "lr", "value": rnd.choice(["0.1", "0.01", "0.001"])}],
         "metrics": [{"key": "acc", "value": rnd.random(), "timestamp": i, "step": 0},
                     {"key": "loss", "value": rnd.random(), "timestamp": i, "step": 0}],
         "tags": [{"key": "team", "value": rnd.choice(["a", "b"])}]})
PY

scenario() {
    local name=$1; shift
    local out
    out=$(wrk -t2 -c"${CONNS:-16}" -d"${DUR}s" --latency "$@" 2>&1)
    local rps p50 p99
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1=="50%" {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    local errs
    errs=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    printf '%-28s %10s req/s   p50 %8s   p99 %8s   non-2xx %s\n' "$name" "$rps" "$p50" "$p99" "${errs:-0}"
}

echo "cairn $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, ${DUR}s per scenario, ${CONNS:-16} connections, ${WORKERS:-4} workers"
scenario "GET runs/get" "$base/api/2.0/mlflow/runs/get?run_id=$RUN_ID"
scenario "POST runs/log-metric" -s bench/wrk/log_metric.lua "$base"
scenario "POST runs/log-batch (100)" -s bench/wrk/log_batch.lua "$base"
scenario "POST runs/search ($SEED_RUNS runs)" -s bench/wrk/search.lua "$base"
rss=$(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status)
echo "server peak RSS after the HTTP scenarios: $rss"

# Artifact proxy: stream ARTIFACT_MB through PUT and GET (curl reads /dev/zero
# and writes /dev/null, so the disk under $tmp and the server are what count).
mb=${ARTIFACT_MB:-1024}
art="$base/api/2.0/mlflow-artifacts/artifacts/bench/blob.bin"
up=$(head -c "${mb}M" /dev/zero | curl -sf -T - -o /dev/null -w '%{time_total}' "$art")
down=$(curl -sf -o /dev/null -w '%{time_total} %{size_download}' "$art")
rss=$(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status)
printf 'artifact PUT %d MiB: %s s   GET: %s s (%s bytes)   server peak RSS now: %s\n' \
    "$mb" "$up" "${down% *}" "${down#* }" "$rss"
