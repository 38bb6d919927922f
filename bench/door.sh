#!/usr/bin/env bash
# door.sh - the cost of the one door: the run-write fast path of this tree
# beside the same path in an earlier commit (default a86cb40, the last
# commit before every request went through api/; http/ then parsed and
# queued run writes itself). Both servers are built here, started in turn
# on fresh SQLite databases in the same folder, and driven by the same
# loads, alternating A B B A ... so that a drift of the machine, and what one
# run leaves the next, hit both:
#   POST runs/log-metric, 64 connections (wrk)
#   log-batch ingest, 4 clients (build/bench/cairn_load ingest)
# Prints each round and the median of each side, and HEAD / BASE.
#   bash bench/door.sh [seconds per load] [rounds] [base commit]
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
ROUNDS=${2:-3}
BASE=${3:-${CAIRN_BENCH_BASE:-a86cb40}}
command -v wrk >/dev/null || { echo "door.sh: wrk is missing (bench/run.sh installs it)"; exit 1; }
make -j"$(nproc)" all benches >/dev/null

tmp=$(mktemp -d)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# The base commit's server, built from its own tree in tmp.
mkdir "$tmp/base"
git archive "$BASE" | tar -x -C "$tmp/base"
make -C "$tmp/base" -j"$(nproc)" build/cairn >/dev/null 2>&1 || {
    echo "door.sh: cannot build $BASE"; exit 1; }
declare -A BIN=([head]="$PWD/build/cairn" [base]="$tmp/base/build/cairn")
LOAD=build/bench/cairn_load

# measure SIDE: one round of both loads; prints "metric_rps ingest_per_s".
measure() {
    local side=$1 port db
    port=$((20000 + RANDOM % 20000))
    db="$tmp/db-$side-$RANDOM"
    mkdir "$db"
    "${BIN[$side]}" server --port "$port" --backend-store-uri "sqlite:///$db/mlflow.db" \
        --artifacts-destination "$db/art" 2>"$db/server.log" &
    pid=$!
    local url="http://127.0.0.1:$port"
    for _ in $(seq 100); do curl -sf "$url/health" >/dev/null && break; sleep 0.1; done
    curl -sf -X POST "$url/api/2.0/mlflow/experiments/create" -H 'Content-Type: application/json' \
        -d '{"name":"bench"}' >/dev/null
    RUN_ID=$(curl -sf -X POST "$url/api/2.0/mlflow/runs/create" \
        -H 'Content-Type: application/json' -d '{"experiment_id":"1"}' |
        sed 's/.*"run_id":"\([0-9a-f]*\)".*/\1/')
    export RUN_ID EXP_ID=1
    local rps ingest
    rps=$(wrk -t2 -c64 -d"${DUR}s" -s bench/wrk/log_metric.lua "$url" 2>&1 |
        awk '/Requests\/sec/ {printf "%.0f", $2}')
    ingest=$($LOAD "$port" ingest 4 "$DUR" | grep -o '[0-9,]* metrics/s' | tr -d ', metrics/')
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=""
    rm -rf "$db"
    echo "$rps $ingest"
}

median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

echo "== the one door: run writes, this tree (HEAD $(git rev-parse --short HEAD)) beside $BASE"
echo "   ${DUR}s per load, $ROUNDS rounds, alternating"
: >"$tmp/head" && : >"$tmp/base.txt"
for i in $(seq "$ROUNDS"); do
    # ABBA: the side that runs second in a round runs first in the next, so
    # what one run leaves behind (the disk's writeback of the database just
    # deleted) weighs on both alike; sync before each run for the same reason.
    order="base head"
    [ $((i % 2)) -eq 0 ] && order="head base"
    for side in $order; do
        sync
        read -r rps ingest < <(measure "$side")
        printf '  round %d %-4s  log-metric 64 conns %7s req/s   log-batch ingest %9s metrics/s\n' \
            "$i" "$side" "$rps" "$ingest"
        echo "$rps $ingest" >>"$tmp/$side.rounds"
    done
done
for side in base head; do
    m=$(awk '{print $1}' "$tmp/$side.rounds" | median)
    g=$(awk '{print $2}' "$tmp/$side.rounds" | median)
    eval "${side}_m=$m ${side}_g=$g"
done
printf 'median base %-10s log-metric 64 conns %7.0f req/s   ingest %9.0f metrics/s\n' "$BASE" "$base_m" "$base_g"
printf 'median head %-10s log-metric 64 conns %7.0f req/s   ingest %9.0f metrics/s\n' \
    "$(git rev-parse --short HEAD)" "$head_m" "$head_g"
awk -v a="$head_m" -v b="$base_m" -v c="$head_g" -v d="$base_g" \
    'BEGIN {printf "head / base: log-metric %.1f%%, ingest %.1f%%   (goal: within 5%%)\n", 100*a/b, 100*c/d}'
