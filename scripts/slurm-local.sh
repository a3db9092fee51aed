#!/usr/bin/env bash
# slurm-local.sh: apfctl's own single-node Slurm on localhost, for its tests and benchmarks.
#
# Installs munge + Slurm 22.05 (and, for accounting, slurmdbd + MariaDB) from Debian 12
# packages and starts the daemons directly (no systemd), idempotently: a second run only
# starts what is not running, so `make test` calls it before every session (~0.3 s when up).
#
#   sudo bash scripts/slurm-local.sh                   # with accounting: sacct works (default)
#   sudo bash scripts/slurm-local.sh --no-accounting   # job-completion log only (no MariaDB)
#   sudo bash scripts/slurm-local-stop.sh [--purge]    # stop what this script started
#
# Environment: SLURM_LOCAL_ACCOUNTING=1|0, SLURM_LOCAL_CPUS (default: the larger of nproc and
# 8; pilots mostly sleep, so the node advertises more CPUs than it has), SLURM_LOCAL_CLUSTER
# (default apflocal).
#
# Accounting is on by default although jobcomp-only starts faster (0.5 s instead of ~2 s;
# no 190 MB of MariaDB): with it both of apfctl's history sources, sacct and the
# job-completion log, are real and testable on one cluster.
#
# Refuses to touch an /etc/slurm/slurm.conf it did not write. Daemons it starts are listed
# in /run/apfctl-slurm-local/started, and slurm-local-stop.sh stops only those.
set -euo pipefail

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }

ACCOUNTING=${SLURM_LOCAL_ACCOUNTING:-1}
while [ $# -gt 0 ]; do
    case $1 in
        --accounting) ACCOUNTING=1 ;;
        --no-accounting) ACCOUNTING=0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "slurm-local.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
if [ "$(id -u)" != 0 ]; then
    echo "slurm-local.sh: run as root (it installs packages and starts daemons)" >&2
    exit 1
fi

NCPU=$(nproc)
CPUS=${SLURM_LOCAL_CPUS:-$(( NCPU > 8 ? NCPU : 8 ))}
CLUSTER=${SLURM_LOCAL_CLUSTER:-apflocal}
MEM_MB=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
ETC=/etc/slurm
LOGS=/var/log/slurm
SPOOL=/var/lib/slurm
MARK="# written by apfctl scripts/slurm-local.sh"
RUNSTATE=/run/apfctl-slurm-local
DB=slurm_acct_db
DB_USER=slurm
DB_PASS=apfctl-local-only   # MariaDB listens on 127.0.0.1 only; a throwaway test password

START=$(date +%s%N)
say() { printf '[slurm-local %5.1fs] %s\n' "$(( ($(date +%s%N) - START) / 1000000 ))e-3" "$*"; }

# --- process helpers ---------------------------------------------------------------------
# pid_alive PIDFILE NAME: the PID in PIDFILE runs as NAME (zombies, which this sandbox's
# PID 1 reaps late, do not count)
pid_alive() {
    local pid
    [ -s "$1" ] || return 1
    pid=$(tr -cd '0-9' <"$1")
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] \
        && ! grep -qs '^State:[[:space:]]*Z' "/proc/$pid/status"
}

# poll SECONDS WHAT CMD...: run CMD every 0.2 s until it succeeds
poll() {
    local tries=$(( $1 * 5 )) what=$2
    shift 2
    while [ "$tries" -gt 0 ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
        tries=$(( tries - 1 ))
    done
    echo "slurm-local.sh: gave up waiting for $what" >&2
    return 1
}

exited() { [ ! -d "/proc/$1" ] || grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"; }

# stop_pid PIDFILE NAME: TERM the daemon and wait until it is gone
stop_pid() {
    local pid
    pid_alive "$1" "$2" || return 0
    pid=$(tr -cd '0-9' <"$1")
    kill "$pid"
    poll 30 "$2 (pid $pid) to exit" exited "$pid"
}

remember() { mkdir -p "$RUNSTATE"; grep -qsx "$1" "$RUNSTATE/started" || echo "$1" >>"$RUNSTATE/started"; }

# start_daemon PIDFILE NAME CMD...: start CMD (it daemonizes) and wait for its PID file
start_daemon() {
    local pidfile=$1 name=$2
    shift 2
    "$@"
    poll 15 "$name to write $pidfile" pid_alive "$pidfile" "$name"
    remember "$name"
    say "started $name (pid $(cat "$pidfile"))"
}

# install_file PATH MODE < CONTENT: replace PATH only when CONTENT differs; returns 0 if it did
install_file() {
    local tmp
    tmp=$(mktemp)
    cat >"$tmp"
    if [ -f "$1" ] && cmp -s "$tmp" "$1"; then
        rm -f "$tmp"
        return 1
    fi
    install -m "$2" "$tmp" "$1"
    rm -f "$tmp"
    say "wrote $1"
}

# --- 1. configuration ------------------------------------------------------------------------
mkdir -p "$ETC" "$LOGS" "$SPOOL/ctld" "$SPOOL/d"
if [ -f "$ETC/slurm.conf" ] && ! grep -qxF "$MARK" "$ETC/slurm.conf"; then
    echo "slurm-local.sh: $ETC/slurm.conf exists and was not written by this script; not touching it" >&2
    exit 1
fi

if [ "$ACCOUNTING" = 1 ]; then
    STORAGE="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
AccountingStoreFlags=job_comment"
else
    STORAGE="AccountingStorageType=accounting_storage/none"
fi

CONF_CHANGED=0
install_file "$ETC/slurm.conf" 0644 <<EOF && CONF_CHANGED=1
$MARK
# One node on localhost. No cgroups (proctrack/linuxproc, task/none): works in containers.
ClusterName=$CLUSTER
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
$STORAGE
JobCompType=jobcomp/filetxt
JobCompLoc=$LOGS/jobcomp.log
SchedulerType=sched/backfill
# schedule right after submission instead of batching for a few seconds
SchedulerParameters=batch_sched_delay=0,sched_min_interval=100000
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# the node may advertise more CPUs than the machine has (see SLURM_LOCAL_CPUS)
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=5
MinJobAge=300
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SPOOL/d
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF

DBD_CHANGED=0
if [ "$ACCOUNTING" = 1 ]; then
    install_file "$ETC/slurmdbd.conf" 0600 <<EOF && DBD_CHANGED=1
$MARK
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=root
LogFile=$LOGS/slurmdbd.log
PidFile=/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=$DB_USER
StoragePass=$DB_PASS
StorageLoc=$DB
EOF
fi

# --- 2. packages -----------------------------------------------------------------------------
WANT=(munge slurm-client slurmctld slurmd)
[ "$ACCOUNTING" = 1 ] && WANT+=(slurmdbd mariadb-server)
MISSING=()
for pkg in "${WANT[@]}"; do
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" = installed ] || MISSING+=("$pkg")
done
if [ ${#MISSING[@]} -gt 0 ]; then
    say "installing ${MISSING[*]}"
    apt-cache show slurmctld >/dev/null 2>&1 || apt-get update -qq
    # no init system: keep the packages' scripts from starting services themselves
    POLICY=/usr/sbin/policy-rc.d
    OWN_POLICY=0
    if [ ! -e $POLICY ]; then
        printf '#!/bin/sh\nexit 101\n' >$POLICY && chmod 0755 $POLICY && OWN_POLICY=1
    fi
    set +e
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${MISSING[@]}" \
        >"$LOGS/apt-install.log" 2>&1
    RC=$?
    set -e
    [ $OWN_POLICY = 1 ] && rm -f $POLICY
    if [ $RC != 0 ]; then
        tail -20 "$LOGS/apt-install.log" >&2
        echo "slurm-local.sh: apt-get install failed (log: $LOGS/apt-install.log)" >&2
        exit 1
    fi
    say "installed"
fi

# --- 3. munge ----------------------------------------------------------------------------------
if [ ! -s /etc/munge/munge.key ]; then
    mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
fi
install -d -o munge -g munge -m 0755 /run/munge
munge_works() { munge -n | unmunge; }
if ! pid_alive /run/munge/munged.pid munged; then
    start_daemon /run/munge/munged.pid munged runuser -u munge -- /usr/sbin/munged
fi
poll 10 "munge to work" munge_works

# --- 4. accounting: MariaDB and slurmdbd ---------------------------------------------------------
if [ "$ACCOUNTING" = 1 ]; then
    install -d -o mysql -g mysql -m 0755 /run/mysqld
    if [ ! -d /var/lib/mysql/mysql ]; then
        mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
    fi
    if ! mariadb-admin ping >/dev/null 2>&1; then
        nohup /usr/sbin/mariadbd --user=mysql --bind-address=127.0.0.1 \
            --pid-file=/run/mysqld/mysqld.pid >"$LOGS/mariadb.log" 2>&1 </dev/null &
        poll 60 "MariaDB to answer" mariadb-admin ping
        poll 15 "MariaDB's PID file" pid_alive /run/mysqld/mysqld.pid mariadbd
        remember mariadbd
        say "started mariadbd (pid $(cat /run/mysqld/mysqld.pid))"
    fi
    mariadb -e "CREATE DATABASE IF NOT EXISTS $DB;
        CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
        ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
        GRANT ALL ON $DB.* TO '$DB_USER'@'localhost';"
    [ "$DBD_CHANGED" = 1 ] && stop_pid /run/slurmdbd.pid slurmdbd
    if ! pid_alive /run/slurmdbd.pid slurmdbd; then
        start_daemon /run/slurmdbd.pid slurmdbd /usr/sbin/slurmdbd
        poll 30 "slurmdbd to listen on 6819" bash -c 'exec 3<>/dev/tcp/127.0.0.1/6819'
    fi
fi

# --- 5. slurmctld and slurmd ----------------------------------------------------------------------
# a changed slurm.conf (e.g. accounting toggled) needs restarts; `scontrol reconfigure` is not enough
if [ "$CONF_CHANGED" = 1 ]; then
    stop_pid /run/slurmd.pid slurmd
    stop_pid /run/slurmctld.pid slurmctld
fi
CTLD_LOG_START=$(stat -c %s "$LOGS/slurmctld.log" 2>/dev/null || echo 0)
CTLD_NEW=0
if ! pid_alive /run/slurmctld.pid slurmctld; then
    start_daemon /run/slurmctld.pid slurmctld /usr/sbin/slurmctld
    CTLD_NEW=1
fi
controller_up() { [[ $(scontrol ping 2>/dev/null) == *" is UP"* ]]; }
poll 30 "slurmctld to answer" controller_up
if ! pid_alive /run/slurmd.pid slurmd; then
    start_daemon /run/slurmd.pid slurmd /usr/sbin/slurmd -N localhost
fi

node_usable() { [[ $(sinfo -h -n localhost -o %T 2>/dev/null) =~ ^(idle|mixed|allocated|completing)$ ]]; }
if ! poll 20 "node localhost to become usable" node_usable; then
    # e.g. "down" after an unclean stop: resume it once
    scontrol update NodeName=localhost State=RESUME || true
    poll 20 "node localhost after RESUME" node_usable
fi
if [ "$CTLD_NEW" = 1 ]; then
    # jobs submitted before the controller's first scheduling pass (~3 s) wait for it
    first_pass() { [[ $(tail -c +"$(( CTLD_LOG_START + 1 ))" "$LOGS/slurmctld.log") == *SchedulerParameters=* ]]; }
    poll 15 "slurmctld's first scheduling pass" first_pass || true
fi
if [ "$ACCOUNTING" = 1 ]; then
    registered() { [ "$(sacctmgr -n -P show cluster format=cluster 2>/dev/null)" = "$CLUSTER" ]; }
    poll 30 "cluster $CLUSTER to register with slurmdbd" registered
fi

say "ready: cluster $CLUSTER, partition debug, $CPUS CPUs, accounting=$ACCOUNTING, $(sinfo -V)"
