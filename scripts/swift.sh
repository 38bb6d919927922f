#!/usr/bin/env bash
# swift.sh - a throw-away OpenStack Swift with the S3 API (s3api) for the
# tests of the S3 artifact store. Swift is used rather than a lighter S3 fake
# because it really verifies SigV4 signatures (a wrong secret is a 403
# SignatureDoesNotMatch), enforces multipart rules and sends S3's errors.
# Nothing is installed here (scripts/deps.sh test does that) and nothing goes
# to /etc: everything lives in one temporary directory, except that Swift
# always reads its hash-path settings and storage policies from
# /etc/swift/swift.conf, which the `swift` package installs.
# Usage:
#   eval "$(scripts/swift.sh start)"  make a fresh directory, build one-replica
#                                     rings, start the account, container,
#                                     object and proxy servers on
#                                     127.0.0.1:<free ports>, wait until S3
#                                     answers and create the bucket cairn-test;
#                                     prints `export CAIRN_SWIFT_DIR=DIR
#                                     MLFLOW_S3_ENDPOINT_URL=... AWS_...`
#   scripts/swift.sh stop DIR         stop every server it started (by PID)
#                                     and remove DIR
# The servers start as root and drop to the `swift` user themselves.
#
# Layout of DIR (owned by swift):
#   etc/        *.conf, *.builder, *.ring.gz
#   srv/d1/     the one "disk" of the account, container and object servers
#   run/        NAME.pid (the PID as started; workers = 0, so no children)
#   log/        NAME.log (the servers' console output, -v)
#   ports       "PROXY ACCOUNT CONTAINER OBJECT"
set -euo pipefail

START_TIMEOUT=${CAIRN_SWIFT_START_TIMEOUT:-60}   # seconds until S3 must answer
BUCKET=cairn-test
S3_USER=test:tester
S3_KEY=testing
REGION=us-east-1
SERVERS=(account container object proxy)

SERVICE_NAME=swift.sh
# shellcheck source=scripts/service_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/service_lib.sh"

# write_server_conf DIR NAME PORT: the account, container or object server.
write_server_conf() {
    local dir=$1 name=$2 port=$3
    cat >"$dir/etc/$name-server.conf" <<EOF
# Written by scripts/swift.sh for a throw-away test Swift.
[DEFAULT]
devices = $dir/srv
mount_check = false
bind_ip = 127.0.0.1
bind_port = $port
workers = 0
user = swift
swift_dir = $dir/etc
log_name = $name
log_level = WARNING

[pipeline:main]
pipeline = $name-server

[app:$name-server]
use = egg:swift#$name
EOF
}

write_proxy_conf() {   # write_proxy_conf DIR PORT
    local dir=$1 port=$2
    cat >"$dir/etc/proxy-server.conf" <<EOF
# Written by scripts/swift.sh for a throw-away test Swift.
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $port
workers = 0
user = swift
swift_dir = $dir/etc
log_name = proxy
log_level = WARNING

# s3api before tempauth (it turns the SigV4 header into a tempauth check);
# cache is required by s3api and tempauth even without memcached; slo and
# dlo carry S3 multipart uploads.
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:s3api]
use = egg:swift#s3api
location = $REGION
s3_acl = false

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = $S3_KEY .admin

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
EOF
}

make_rings() {   # make_rings DIR ACCOUNT_PORT CONTAINER_PORT OBJECT_PORT
    local dir=$1 kind port
    local -A ports=([account]=$2 [container]=$3 [object]=$4)
    for kind in account container object; do
        port=${ports[$kind]}
        # 2^8 partitions, 1 replica, min 1 hour between moves (irrelevant here)
        swift-ring-builder "$dir/etc/$kind.builder" create 8 1 1 >/dev/null
        swift-ring-builder "$dir/etc/$kind.builder" add "r1z1-127.0.0.1:$port/d1" 1 >/dev/null
        swift-ring-builder "$dir/etc/$kind.builder" rebalance >/dev/null 2>&1 || true
        [ -s "$dir/etc/$kind.ring.gz" ] || die "could not build the $kind ring"
    done
}

start_server() {   # start_server DIR NAME
    local dir=$1 name=$2
    # setsid: the server must not belong to the caller's process group (a
    # test runner's Ctrl-C) and must outlive this script.
    setsid "swift-$name-server" "$dir/etc/$name-server.conf" -v \
        >"$dir/log/$name.log" 2>&1 </dev/null &
    echo $! >"$dir/run/$name.pid"
}

# proxy_answers URL: the proxy's healthcheck says OK (the other servers may
# still be loading: make_bucket retries).
proxy_answers() {
    curl -s -o /dev/null -m 2 -w '%{http_code}' "$1/healthcheck" 2>/dev/null | grep -q '^200$'
}

make_bucket() {   # make_bucket DIR URL: PUT /cairn-test, signed (curl --aws-sigv4)
    # The key id has a ':', which --user would split on: a netrc file keeps
    # the login whole.
    local code
    code=$(curl -s -o "$1/log/make_bucket.out" -m 10 -w '%{http_code}' -X PUT \
        --aws-sigv4 "aws:amz:$REGION:s3" --netrc-file "$1/etc/netrc" \
        -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
        "$2/$BUCKET")
    [ "$code" = 200 ]
}

start() {
    [ "$(id -u)" = 0 ] || die "needs root (the servers drop to the swift user); try sudo"
    local b
    for b in swift-ring-builder swift-proxy-server swift-account-server swift-container-server \
             swift-object-server curl; do
        command -v "$b" >/dev/null || die "$b not found (run scripts/deps.sh test)"
    done
    getent passwd swift >/dev/null || die "no user swift (is the swift package installed?)"
    [ -r /etc/swift/swift.conf ] || die "/etc/swift/swift.conf missing (is the swift package installed?)"

    local dir
    dir=$(mktemp -d /tmp/cairn-swift.XXXXXX)
    chmod 755 "$dir"
    mkdir -p "$dir/etc" "$dir/srv/d1" "$dir/run" "$dir/log"

    local attempt pp ap cp op url="" i ok=""
    for attempt in 1 2 3; do
        pp=$(free_port); ap=$(free_port); cp=$(free_port); op=$(free_port)
        [ "$(printf '%s\n' "$pp" "$ap" "$cp" "$op" | sort -u | wc -l)" = 4 ] || continue
        echo "$pp $ap $cp $op" >"$dir/ports"
        rm -f "$dir"/etc/*.builder "$dir"/etc/*.ring.gz
        rm -rf "$dir/etc/backups"
        make_rings "$dir" "$ap" "$cp" "$op"
        write_server_conf "$dir" account "$ap"
        write_server_conf "$dir" container "$cp"
        write_server_conf "$dir" object "$op"
        write_proxy_conf "$dir" "$pp"
        chown -R swift:swift "$dir"
        for b in "${SERVERS[@]}"; do start_server "$dir" "$b"; done
        url="http://127.0.0.1:$pp"
        for i in $(seq $((START_TIMEOUT * 10))); do
            if proxy_answers "$url"; then ok=1; break; fi
            # A server that died (a port taken, a bad setting) will not come back.
            local dead=""
            for b in "${SERVERS[@]}"; do [ -n "$(pid_of "$dir/run/$b.pid")" ] || dead=$b; done
            [ -z "$dead" ] || break
            sleep 0.1
        done
        [ -n "$ok" ] && break
        stop_pids "$dir"/run/*.pid
        if grep -qs 'Address already in use' "$dir"/log/*.log; then
            for b in "${SERVERS[@]}"; do mv "$dir/log/$b.log" "$dir/log/$b.log.$attempt" 2>/dev/null || true; done
            continue
        fi
        break
    done
    if [ -z "$ok" ]; then
        log_tails "$dir"/log/*.log
        stop "$dir"
        die "S3 did not answer at ${url:-?} within ${START_TIMEOUT} s"
    fi
    # The first requests after start can meet a server still loading its
    # ring: retry the bucket briefly.
    printf 'machine 127.0.0.1 login %s password %s\n' "$S3_USER" "$S3_KEY" >"$dir/etc/netrc"
    for i in $(seq 50); do
        make_bucket "$dir" "$url" && break
        [ "$i" -lt 50 ] || { cat "$dir/log/make_bucket.out" >&2; log_tails "$dir"/log/*.log; stop "$dir"; die "could not create bucket $BUCKET"; }
        sleep 0.2
    done
    echo "export CAIRN_SWIFT_DIR=$dir MLFLOW_S3_ENDPOINT_URL=$url AWS_ACCESS_KEY_ID=$S3_USER" \
         "AWS_SECRET_ACCESS_KEY=$S3_KEY AWS_DEFAULT_REGION=$REGION"
}

stop() {
    local dir=${1:?usage: swift.sh stop DIR}
    case "$dir" in /tmp/cairn-swift.*) ;; *) die "not a swift.sh directory: $dir" ;; esac
    [ -d "$dir" ] || return 0
    local files=() b
    for b in "${SERVERS[@]}"; do files+=("$dir/run/$b.pid"); done
    stop_pids "${files[@]}"
    rm -rf "$dir"
}

case "${1:-}" in
start) start ;;
stop) stop "${2:-}" ;;
*)
    echo "usage: $0 start | stop DIR" >&2
    exit 2
    ;;
esac
