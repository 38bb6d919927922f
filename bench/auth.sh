#!/usr/bin/env bash
# auth.sh - the cost of users and permissions on the hottest path: POST
# runs/log-metric from 64 connections (wrk) against the same build started
# twice on fresh SQLite databases, without auth and with --auth (every
# request carrying HTTP Basic credentials of a non-admin user with EDIT on
# the experiment, as MLflow's client sends them), alternating rounds so a
# drift of the machine hits both. Goal (issue 11): with auth at least 80%
# of without. The credential cache (api/auth.c) is what makes it possible:
# one argon2id verify costs ~25 ms.
#   bash bench/auth.sh [seconds per load] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
ROUNDS=${2:-3}
command -v wrk >/dev/null || { echo "auth.sh: wrk is missing (bench/run.sh installs it)"; exit 1; }
make -j"$(nproc)" all >/dev/null
tmp=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
BIN=$PWD/build/cairn
ADMIN_PW='Bench-adm1n!'
USER_PW='Bench-us3r!'

post() { curl -sf -X POST -H 'Content-Type: application/json' "$@"; }

# measure off|on: one wrk round; prints req/s.
measure() {
    local mode=$1 port db url args=() auth=""
    port=$((20000 + RANDOM % 20000))
    db="$tmp/db-$mode-$RANDOM"
    mkdir "$db"
    [ "$mode" = on ] && args=(--auth --auth-key "$db/key")
    (cd "$db" && CAIRN_AUTH_ADMIN_PASSWORD=$ADMIN_PW exec "$BIN" server \
        --port "$port" --backend-store-uri "sqlite:///$db/mlflow.db" \
        --artifacts-destination "$db/art" "${args[@]}" 2>"$db/server.log") &
    pid=$!
    url="http://127.0.0.1:$port"
    for _ in $(seq 100); do curl -sf "$url/health" >/dev/null && break; sleep 0.1; done
    local a=() u=()
    if [ "$mode" = on ]; then
        a=(-u "admin:$ADMIN_PW")
        post "${a[@]}" "$url/api/2.0/mlflow/users/create" \
            -d "{\"username\":\"bench\",\"password\":\"$USER_PW\"}" >/dev/null
        # An admin-made user must change the password first: do it.
        curl -sf -X PATCH -H 'Content-Type: application/json' -u "bench:$USER_PW" \
            "$url/api/2.0/mlflow/users/update-password" \
            -d "{\"username\":\"bench\",\"password\":\"$USER_PW\"}" >/dev/null
        u=(-u "bench:$USER_PW")
        auth="Basic $(printf '%s' "bench:$USER_PW" | base64 -w0)"
    fi
    post "${a[@]}" "$url/api/2.0/mlflow/experiments/create" -d '{"name":"bench"}' >/dev/null
    if [ "$mode" = on ]; then
        post "${a[@]}" "$url/api/2.0/mlflow/experiments/permissions/create" \
            -d '{"experiment_id":"1","username":"bench","permission":"EDIT"}' >/dev/null
    fi
    RUN_ID=$(post "${u[@]}" "$url/api/2.0/mlflow/runs/create" -d '{"experiment_id":"1"}' |
        sed 's/.*"run_id":"\([0-9a-f]*\)".*/\1/')
    RUN_ID=$RUN_ID AUTH=$auth wrk -t2 -c64 -d"${DUR}s" -s bench/wrk/log_metric.lua "$url" 2>&1 |
        awk '/Requests\/sec/ {printf "%.0f\n", $2} /Non-2xx/ {print "non-2xx " $NF > "/dev/stderr"}'
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=""
}

median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

echo "== auth on the fast path: POST runs/log-metric, 64 connections, ${DUR}s, $ROUNDS rounds"
for i in $(seq "$ROUNDS"); do
    order="off on"  # ABBA, with a sync before each run: see bench/door.sh
    [ $((i % 2)) -eq 0 ] && order="on off"
    for mode in $order; do
        sync
        r=$(measure "$mode")
        printf '  round %d auth %-3s %7s req/s\n' "$i" "$mode" "$r"
        echo "$r" >>"$tmp/$mode"
    done
done
off=$(median <"$tmp/off") on=$(median <"$tmp/on")
awk -v a="$on" -v b="$off" 'BEGIN {printf "with auth %.0f req/s, without %.0f req/s: %.0f%%   (goal >= 80%%)\n", a, b, 100*a/b}'
