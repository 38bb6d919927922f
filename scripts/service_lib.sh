# service_lib.sh - what the throw-away service scripts (pg.sh, slurm.sh,
# swift.sh) share: a free port, telling a live process from a zombie, and
# stopping processes by the PIDs they wrote. Sourced, never run; the script
# that sources it sets SERVICE_NAME (for messages) first.

die() { echo "${SERVICE_NAME:-service}: $*" >&2; exit 1; }

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

alive() {   # alive PID: the process exists and is not a zombie (its parent,
            # init here, may reap it late)
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

pid_of() {   # pid_of FILE: the PID in FILE if that process is alive
    local pid
    pid=$(head -1 "$1" 2>/dev/null | tr -dc 0-9) || true
    [ -n "$pid" ] && alive "$pid" && echo "$pid"
    return 0
}

stop_pids() {   # stop_pids FILE...: SIGTERM the processes in the PID files, SIGKILL after 10 s
    local f pid pids=() i
    for f in "$@"; do
        pid=$(pid_of "$f")
        [ -n "$pid" ] || continue
        kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
    done
    for i in $(seq 100); do
        [ ${#pids[@]} -gt 0 ] || return 0
        local left=()
        for pid in "${pids[@]}"; do alive "$pid" && left+=("$pid"); done
        pids=("${left[@]+"${left[@]}"}")
        [ ${#pids[@]} -gt 0 ] || return 0
        sleep 0.1
    done
    echo "${SERVICE_NAME:-service}: PID ${pids[*]} ignored SIGTERM for 10 s, killing" >&2
    kill -KILL "${pids[@]}" 2>/dev/null || true
}

log_tails() {   # log_tails FILE...: the end of each log that exists, for a failure message
    local f
    for f in "$@"; do
        [ -f "$f" ] || continue
        echo "--- $f (last 20 lines)" >&2
        tail -20 "$f" >&2
    done
}
