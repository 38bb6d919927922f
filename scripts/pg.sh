#!/usr/bin/env bash
# pg.sh - a throw-away PostgreSQL 15 server for the tests.
# Usage:
#   eval "$(scripts/pg.sh start)"   initdb in a fresh temporary directory and start the
#                                   server on a unix socket in it and on 127.0.0.1:<free port>;
#                                   prints `export CAIRN_PG_DIR=... CAIRN_TEST_PG=<URI>`
#   scripts/pg.sh stop DIR          stop that server (pg_ctl, by its PID file) and remove DIR
# initdb refuses to run as root, so the cluster is owned by the `postgres`
# user when we are root. fsync is off: the data is thrown away anyway.
set -euo pipefail

PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$PGBIN/initdb" ] || { echo "pg.sh: no PostgreSQL server found (run scripts/deps.sh test)" >&2; exit 1; }

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

SERVICE_NAME=pg.sh
# shellcheck source=scripts/service_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/service_lib.sh"

case "${1:-}" in
start)
    dir=$(mktemp -d /tmp/cairn-pg.XXXXXX)
    mkdir "$dir/sock"
    chmod 755 "$dir"
    if [ "$(id -u)" = 0 ]; then chown -R postgres: "$dir"; fi
    as_owner "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
        --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; exit 1; }
    # A port can be taken between choosing and binding: try a few.
    for _ in 1 2 3 4 5; do
        port=$(free_port)
        if as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 30 \
            -o "-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" \
            start >/dev/null 2>&1; then
            echo "export CAIRN_PG_DIR=$dir"
            echo "export CAIRN_TEST_PG=postgresql://postgres@127.0.0.1:$port/postgres"
            echo "export CAIRN_TEST_PG_SOCKET=$dir/sock"
            exit 0
        fi
    done
    cat "$dir/log" >&2 || true
    rm -rf "$dir"
    echo "pg.sh: the server did not start" >&2
    exit 1
    ;;
stop)
    dir=${2:?usage: pg.sh stop DIR}
    case "$dir" in /tmp/cairn-pg.*) ;; *) echo "pg.sh: not a pg.sh directory: $dir" >&2; exit 1 ;; esac
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || {
            # pg_ctl failed: stop the postmaster by the PID it wrote.
            pid=$(head -1 "$dir/data/postmaster.pid" 2>/dev/null || true)
            [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
        }
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start | stop DIR" >&2
    exit 2
    ;;
esac
