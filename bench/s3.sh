#!/usr/bin/env bash
# s3.sh - artifacts through the proxy to S3, beside the same bytes sent
# straight to the same S3 with curl --aws-sigv4 (the limit: what a client
# gets without Cairn in the way). Starts a throw-away Swift with s3api
# (scripts/swift.sh) and build/cairn with --artifacts-destination on it,
# then, for one file of MB MiB (default 512), in turn: a direct PUT and GET,
# a PUT and GET through the proxy; ROUNDS times (default 3), medians shown.
#   bash bench/s3.sh [MB] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
MB=${1:-512}
ROUNDS=${2:-3}
make -j"$(nproc)" all >/dev/null

tmp=$(mktemp -d)
pid="" swiftdir=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ -n "$swiftdir" ] && bash scripts/swift.sh stop "$swiftdir"
    rm -rf "$tmp"
}
trap cleanup EXIT
eval "$(bash scripts/swift.sh start 2>"$tmp/swift.log")" || { cat "$tmp/swift.log"; exit 1; }
swiftdir=$CAIRN_SWIFT_DIR
export MLFLOW_S3_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION

port=$((20000 + RANDOM % 20000))
build/cairn server --port "$port" --backend-store-uri "sqlite:///$tmp/mlflow.db" \
    --artifacts-destination s3://cairn-test/bench 2>"$tmp/server.log" &
pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done

head -c "${MB}M" /dev/urandom >"$tmp/blob"
# The key id holds a ':', which --user would split: a netrc keeps it whole.
host=${MLFLOW_S3_ENDPOINT_URL#http://}
printf 'machine %s login %s password %s\n' "${host%%:*}" "$AWS_ACCESS_KEY_ID" \
    "$AWS_SECRET_ACCESS_KEY" >"$tmp/netrc"
sig=(--aws-sigv4 "aws:amz:$AWS_DEFAULT_REGION:s3" --netrc-file "$tmp/netrc"
     -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
direct="$MLFLOW_S3_ENDPOINT_URL/cairn-test/bench-direct/blob"
proxy="$base/api/2.0/mlflow-artifacts/artifacts/bench-proxy/blob"
multipart="$MLFLOW_S3_ENDPOINT_URL/cairn-test/bench/bench-proxy/blob"
rate() { awk -v mb="$MB" -v t="$1" 'BEGIN {printf "%.0f", mb / t}'; }
median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

echo "== artifacts to S3 (Swift with s3api on loopback): $MB MiB, $ROUNDS rounds"
for i in $(seq "$ROUNDS"); do
    t=$(curl -sf "${sig[@]}" -T "$tmp/blob" -o /dev/null -w '%{time_total}' "$direct")
    echo "$(rate "$t")" >>"$tmp/dput"
    t=$(curl -sf "${sig[@]}" -o "$tmp/back" -w '%{time_total}' "$direct")
    cmp -s "$tmp/blob" "$tmp/back" || { echo "direct GET: bytes differ"; exit 1; }
    echo "$(rate "$t")" >>"$tmp/dget"
    t=$(curl -sf -T "$tmp/blob" -o /dev/null -w '%{time_total}' "$proxy")
    echo "$(rate "$t")" >>"$tmp/pput"
    t=$(curl -sf -o "$tmp/back" -w '%{time_total}' "$proxy")
    cmp -s "$tmp/blob" "$tmp/back" || { echo "proxy GET: bytes differ"; exit 1; }
    echo "$(rate "$t")" >>"$tmp/pget"
    # The object the proxy wrote is a multipart one, which S3 (Swift: a
    # static large object, each segment's MD5 checked as it is read) may
    # serve slower than the single-PUT one: its direct GET is the ceiling.
    t=$(curl -sf "${sig[@]}" -o /dev/null -w '%{time_total}' "$multipart")
    echo "$(rate "$t")" >>"$tmp/mget"
    printf '  round %d: direct PUT %s MB/s GET %s MB/s | proxy PUT %s MB/s GET %s MB/s | direct GET of the proxy'"'"'s multipart object %s MB/s\n' "$i" \
        "$(tail -1 "$tmp/dput")" "$(tail -1 "$tmp/dget")" "$(tail -1 "$tmp/pput")" "$(tail -1 "$tmp/pget")" "$(tail -1 "$tmp/mget")"
done
dp=$(median <"$tmp/dput") dg=$(median <"$tmp/dget") pp=$(median <"$tmp/pput") pg=$(median <"$tmp/pget")
mg=$(median <"$tmp/mget")
echo "upload:   proxy $pp MB/s, direct curl $dp MB/s: $(awk -v a="$pp" -v b="$dp" 'BEGIN {printf "%.0f", 100*a/b}')% of direct   (goal >= 80%)"
echo "download: proxy $pg MB/s, direct curl $dg MB/s: $(awk -v a="$pg" -v b="$dg" 'BEGIN {printf "%.0f", 100*a/b}')% of direct   (goal >= 80%)"
echo "          the same multipart object straight from S3: $mg MB/s (proxy $(awk -v a="$pg" -v b="$mg" 'BEGIN {printf "%.0f", 100*a/b}')% of it)"
echo "server peak RSS: $(awk '$1 == "VmHWM:" {print $2, $3}' "/proc/$pid/status")"
