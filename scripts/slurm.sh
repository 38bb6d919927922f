#!/usr/bin/env bash
# slurm.sh - a throw-away single-node Slurm cluster (munged, slurmctld, slurmd)
# for the tests. Nothing is installed here (scripts/deps.sh test does that) and
# nothing goes to /etc: everything lives in one temporary directory.
# Usage:
#   eval "$(scripts/slurm.sh start)"  make a fresh directory, start munged on a
#                                     socket in it, slurmctld and slurmd on
#                                     127.0.0.1:<free ports>, and wait until the
#                                     node is idle; prints
#                                     `export SLURM_CONF=DIR/slurm.conf CAIRN_SLURM_DIR=DIR`
#   scripts/slurm.sh stop DIR         cancel what is left, stop slurmd, slurmctld
#                                     and munged by their PID files, remove DIR
# Needs root: slurmd runs each job as the user who submitted it. Jobs can be
# submitted by root or by any local user; the e2e suite checks `nobody`
# (runuser -u nobody -- sbatch ..., from a directory nobody can write to).
# The daemons run as: munged as `munge`, slurmctld as `slurm`, slurmd as root.
#
# Layout of DIR:
#   slurm.conf                  the cluster's only configuration file
#   munge/  (munge, 0755)       munge.key, munge.socket, munged.{pid,log,seed}
#   ctld/   (slurm, 0755)       slurmctld.{pid,log}, jobcomp.txt; state/ (0700)
#   d/      (root, 0755)        slurmd.{pid,log}, spool/
#   ports                       "SLURMCTLD_PORT SLURMD_PORT"
set -euo pipefail

START_TIMEOUT=${CAIRN_SLURM_START_TIMEOUT:-30}   # seconds until the node must be idle

SERVICE_NAME=slurm.sh
# shellcheck source=scripts/service_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/service_lib.sh"

write_conf() {   # write_conf DIR NODE CTLD_PORT SLURMD_PORT
    local dir=$1 node=$2
    cat >"$dir/slurm.conf" <<EOF
# Written by scripts/slurm.sh for a throw-away test cluster.
ClusterName=cairntest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$3
SlurmdPort=$4
SlurmUser=slurm
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/ctld/state
SlurmctldPidFile=$dir/ctld/slurmctld.pid
SlurmctldLogFile=$dir/ctld/slurmctld.log
SlurmdSpoolDir=$dir/d/spool
SlurmdPidFile=$dir/d/slurmd.pid
SlurmdLogFile=$dir/d/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups: processes are tracked through /proc, tasks are not bound.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# Schedule a batch job when it is submitted, not up to 3 s later (the default
# batch_sched_delay): the tests wait for many short jobs.
SchedulerParameters=batch_sched_delay=0
# No slurmdbd: the final state of every job goes to a text file that
# sacct -c -P reads.
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/ctld/jobcomp.txt
# Finished jobs stay visible to squeue/scontrol for 10 minutes.
MinJobAge=600
# SIGTERM, then SIGKILL 2 s later (cancel, time limit).
KillWait=2
ReturnToService=2
# No mail from a test cluster (the default program is not installed).
MailProg=/bin/true
# The node advertises 8 CPUs whatever the machine has, so that a few sleeping
# test jobs run side by side; config_overrides keeps slurmd from draining it.
SlurmdParameters=config_overrides
NodeName=$node NodeAddr=127.0.0.1 NodeHostname=$node CPUs=8 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    chmod 644 "$dir/slurm.conf"
}

start() {
    [ "$(id -u)" = 0 ] || die "needs root (slurmd runs jobs as their submitting users); try sudo"
    local b
    for b in munged slurmctld slurmd sbatch sinfo; do
        command -v "$b" >/dev/null || die "$b not found (run scripts/deps.sh test)"
    done
    getent passwd munge >/dev/null || die "no user munge (is the munge package installed?)"
    getent passwd slurm >/dev/null || die "no user slurm (is the slurmctld package installed?)"

    local dir node
    dir=$(mktemp -d /tmp/cairn-slurm.XXXXXX)
    chmod 755 "$dir"
    node=$(hostname -s)
    mkdir -p "$dir/munge" "$dir/ctld/state" "$dir/d/spool"
    chmod 755 "$dir/munge" "$dir/ctld" "$dir/d"
    chmod 700 "$dir/ctld/state"
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    chmod 400 "$dir/munge/munge.key"
    chown -R munge:munge "$dir/munge"
    chown -R slurm:slurm "$dir/ctld"

    # munged forks into the background and writes its PID file once ready.
    if ! runuser -u munge -- munged --socket="$dir/munge/munge.socket" \
        --key-file="$dir/munge/munge.key" --pid-file="$dir/munge/munged.pid" \
        --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" \
        >"$dir/munge/start.out" 2>&1; then
        cat "$dir/munge/start.out" >&2
        log_tails "$dir"/munge/munged.log "$dir"/ctld/slurmctld.log "$dir"/d/slurmd.log
        stop "$dir"
        die "munged did not start"
    fi

    # A port can be taken between choosing and binding: try a few pairs.
    local attempt ctld_port d_port i state=""
    for attempt in 1 2 3; do
        ctld_port=$(free_port)
        d_port=$(free_port)
        [ "$ctld_port" != "$d_port" ] || continue
        echo "$ctld_port $d_port" >"$dir/ports"
        write_conf "$dir" "$node" "$ctld_port" "$d_port"
        # Both daemons fork into the background; -i ignores any saved state.
        slurmctld -f "$dir/slurm.conf" -i >"$dir/ctld/start.out" 2>&1 || true
        slurmd -f "$dir/slurm.conf" -N "$node" >"$dir/d/start.out" 2>&1 || true
        # Bounded wait for the node to register and become idle.
        for i in $(seq $((START_TIMEOUT * 10))); do
            state=$(SLURM_CONF="$dir/slurm.conf" sinfo -h -n "$node" -o %T 2>/dev/null || true)
            case "$state" in idle) break 2 ;; esac
            # A daemon that died (a port taken, a bad setting) will not come back.
            if [ "$i" -gt 10 ] && { [ -z "$(pid_of "$dir/ctld/slurmctld.pid")" ] ||
                                  [ -z "$(pid_of "$dir/d/slurmd.pid")" ]; }; then
                break
            fi
            sleep 0.1
        done
        if grep -qs 'Address already in use' "$dir/ctld/slurmctld.log" "$dir/d/slurmd.log"; then
            stop_pids "$dir/d/slurmd.pid" "$dir/ctld/slurmctld.pid"
            mv "$dir/ctld/slurmctld.log" "$dir/ctld/slurmctld.log.$attempt" 2>/dev/null || true
            mv "$dir/d/slurmd.log" "$dir/d/slurmd.log.$attempt" 2>/dev/null || true
            continue
        fi
        break
    done
    if [ "$state" != idle ]; then
        echo "slurm.sh: the node $node is '${state:-unknown}', not idle, after ${START_TIMEOUT} s" >&2
        cat "$dir/ctld/start.out" "$dir/d/start.out" >&2 2>/dev/null || true
        log_tails "$dir"/munge/munged.log "$dir"/ctld/slurmctld.log "$dir"/d/slurmd.log
        stop "$dir"
        exit 1
    fi
    echo "export SLURM_CONF=$dir/slurm.conf CAIRN_SLURM_DIR=$dir"
}

stop() {
    local dir=${1:?usage: slurm.sh stop DIR}
    case "$dir" in /tmp/cairn-slurm.*) ;; *) die "not a slurm.sh directory: $dir" ;; esac
    [ -d "$dir" ] || return 0
    # Jobs first: a job's slurmstepd outlives slurmd, so cancel every job while
    # the daemons are up and wait (bounded) until slurmd has no step left.
    if [ -n "$(pid_of "$dir/ctld/slurmctld.pid")" ] && [ -n "$(pid_of "$dir/d/slurmd.pid")" ]; then
        local ids i
        ids=$(SLURM_CONF="$dir/slurm.conf" squeue -h -o %A -t PD,R,CG,S 2>/dev/null || true)
        if [ -n "$ids" ]; then
            # shellcheck disable=SC2086
            SLURM_CONF="$dir/slurm.conf" scancel $ids 2>/dev/null || true
        fi
        for i in $(seq 150); do
            ids=$(SLURM_CONF="$dir/slurm.conf" squeue -h -o %A -t PD,R,CG,S 2>/dev/null || true)
            [ -z "$ids" ] && [ -z "$(SLURM_CONF="$dir/slurm.conf" scontrol listpids 2>/dev/null |
                                     tail -n +2)" ] && break
            sleep 0.1
        done
        [ -z "$ids" ] || echo "slurm.sh: jobs still active at stop: $ids" >&2
    fi
    # Each takes 1-2 s to exit on SIGTERM: stop them together.
    stop_pids "$dir/d/slurmd.pid" "$dir/ctld/slurmctld.pid" "$dir/munge/munged.pid"
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
