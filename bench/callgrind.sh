#!/usr/bin/env bash
# callgrind.sh - instructions a server spends on a fixed load of run writes,
# counted by valgrind's callgrind: repeatable whatever else the machine does,
# so two builds can be compared where a throughput figure is too noisy.
# The load: 60 log-batch requests of 1,000 metrics, then 2,000 log-metric
# requests, on one keep-alive connection, to a fresh SQLite database.
#   bash bench/callgrind.sh BIN [BIN2]   (prints the total for each)
set -euo pipefail
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is missing"; exit 1; }
for bin in "$@"; do
    d=$(mktemp -d)
    port=$((30000 + RANDOM % 10000))
    valgrind --tool=callgrind --callgrind-out-file="$d/cg.out" "$bin" server --port "$port" \
        --backend-store-uri "sqlite:///$d/m.db" --artifacts-destination "$d/a" --workers 1 \
        2>"$d/log" &
    pid=$!
    for _ in $(seq 300); do curl -sf "localhost:$port/health" >/dev/null && break; sleep 0.2; done
    curl -sf -X POST -H 'Content-Type: application/json' "localhost:$port/api/2.0/mlflow/experiments/create" \
        -d '{"name":"x"}' >/dev/null
    run=$(curl -sf -X POST -H 'Content-Type: application/json' "localhost:$port/api/2.0/mlflow/runs/create" \
        -d '{"experiment_id":"1"}' | sed 's/.*"run_id":"\([0-9a-f]*\)".*/\1/')
    /usr/bin/python3 - "$port" "$run" <<'PY'
import http.client, json, sys
port, run = int(sys.argv[1]), sys.argv[2]
c = http.client.HTTPConnection("127.0.0.1", port)
def post(path, body):
    c.request("POST", "/api/2.0/mlflow/" + path, json.dumps(body), {"Content-Type": "application/json"})
    r = c.getresponse(); r.read(); assert r.status == 200, r.status
for r in range(60):
    post("runs/log-batch", {"run_id": run, "metrics": [
        {"key": f"k{i % 10}", "value": i * 0.5, "timestamp": 1700000000000 + r * 1000 + i,
         "step": r * 1000 + i} for i in range(1000)]})
for r in range(2000):
    post("runs/log-metric", {"run_id": run, "key": "m", "value": r, "timestamp": 1700000000000 + r, "step": r})
PY
    kill "$pid"
    wait "$pid" || true
    total=$(callgrind_annotate "$d/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ {print $1}')
    echo "$bin: $total instructions"
    rm -rf "$d"
done
