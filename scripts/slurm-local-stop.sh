#!/usr/bin/env bash
# slurm-local-stop.sh: stop the daemons that scripts/slurm-local.sh started, and only those.
#
#   sudo bash scripts/slurm-local-stop.sh           # stop; keep job ids and the accounting DB
#   sudo bash scripts/slurm-local-stop.sh --purge   # also forget Slurm's state, logs and DB
#
# slurm-local.sh lists each daemon it starts in /run/apfctl-slurm-local/started; a daemon it
# found running (a site's own MariaDB, say) is not listed and is left alone. Each daemon is
# stopped by the PID in its PID file, checked against its name, in the order slurmd,
# slurmctld, slurmdbd, mariadbd, munged. Jobs still queued are cancelled first, so that no
# job step outlives its slurmd; leftover slurmstepd are ended only when slurmd was ours.
set -uo pipefail

PURGE=0
case ${1:-} in
    "") ;;
    --purge) PURGE=1 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "slurm-local-stop.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
esac
if [ "$(id -u)" != 0 ]; then
    echo "slurm-local-stop.sh: run as root" >&2
    exit 1
fi

RUNSTATE=/run/apfctl-slurm-local
STARTED=$RUNSTATE/started
ETC=/etc/slurm
MARK="# written by apfctl scripts/slurm-local.sh"

ours() { grep -qsx "$1" "$STARTED"; }

# live_pid PIDFILE NAME: print the PID if it runs as NAME (and is not a zombie)
live_pid() {
    local pid
    [ -s "$1" ] || return 1
    pid=$(tr -cd '0-9' <"$1")
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] \
        && ! grep -qs '^State:[[:space:]]*Z' "/proc/$pid/status" && echo "$pid"
}

gone() { [ ! -d "/proc/$1" ] || grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"; }

# stop NAME PIDFILE: TERM, wait up to 30 s, then KILL
stop() {
    local name=$1 pidfile=$2 pid i
    if ! ours "$name"; then
        echo "$name: not started by slurm-local.sh, left alone"
        return 0
    fi
    if ! pid=$(live_pid "$pidfile" "$name"); then
        echo "$name: not running"
    else
        kill -TERM "$pid"
        for (( i = 0; i < 300; i++ )); do
            gone "$pid" && break
            sleep 0.1
        done
        if gone "$pid"; then
            echo "$name: stopped (pid $pid)"
        else
            echo "$name: still running after 30 s; killing pid $pid"
            kill -KILL "$pid" 2>/dev/null
        fi
        rm -f "$pidfile"
    fi
    sed -i "/^$name\$/d" "$STARTED"
}

if ours slurmctld && live_pid /run/slurmctld.pid slurmctld >/dev/null; then
    jobs=$(squeue -h -o %i 2>/dev/null | tr '\n' ' ')
    if [ -n "${jobs// /}" ]; then
        echo "cancelling jobs: $jobs"
        # shellcheck disable=SC2086  # one id per word
        scancel $jobs 2>/dev/null
        for (( i = 0; i < 50; i++ )); do
            [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
            sleep 0.2
        done
    fi
fi

# job steps of our slurmd that outlive it; a site's own slurmd and its steps are left alone
# (checked before stop, which forgets that slurmd was ours)
OUR_SLURMD=0
ours slurmd && OUR_SLURMD=1
stop slurmd /run/slurmd.pid
if [ "$OUR_SLURMD" = 1 ]; then
    for pid in $(pgrep -x slurmstepd 2>/dev/null); do
        gone "$pid" || { echo "slurmstepd: ending leftover pid $pid"; kill -TERM "$pid" 2>/dev/null; }
    done
fi
stop slurmctld /run/slurmctld.pid
stop slurmdbd /run/slurmdbd.pid

if [ "$PURGE" = 1 ] && ours mariadbd && mariadb-admin ping >/dev/null 2>&1; then
    mariadb -e "DROP DATABASE IF EXISTS slurm_acct_db;" && echo "dropped slurm_acct_db"
fi
stop mariadbd /run/mysqld/mysqld.pid
stop munged /run/munge/munged.pid

if [ "$PURGE" = 1 ]; then
    if grep -qsxF "$MARK" "$ETC/slurm.conf"; then
        rm -rf /var/lib/slurm/ctld /var/lib/slurm/d
        rm -f /var/log/slurm/*.log
        echo "purged Slurm's state and logs (job ids start again at 1)"
    else
        echo "not purging: $ETC/slurm.conf was not written by slurm-local.sh"
    fi
fi
