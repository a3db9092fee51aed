#!/usr/bin/env bash
# condor-pools.sh: the two personal HTCondor pools apfctl's tests and benchmarks run against.
#
#   bash scripts/condor-pools.sh up      # find/unpack HTCondor, start a factory pool and a CE pool
#   bash scripts/condor-pools.sh down    # stop both, each by its master's recorded PID
#   bash scripts/condor-pools.sh env     # print the pools' settings (the file tests read)
#
# Which HTCondor, first found wins:
#   1. APFCTL_HTCONDOR: a release folder (with sbin/condor_master) or a release tarball;
#   2. condor_master on PATH (a site's own installation; its release folder is used);
#   3. the tarball in ../shared/htcondor/ beside the repository (or beside its parent, for a
#      git worktree; read-only is fine).
# A tarball is unpacked once into $APFCTL_CONDOR_DIR/release/. Pools are started with the
# release's bin/htcondor-start-pool.sh, or ../shared/htcondor/start-pool.sh for a release
# without it. As root, missing runtime libraries are installed with apt first.
#
# Environment: APFCTL_CONDOR_DIR (default /tmp/apfctl-condor: release, pools, a 1777 work
# folder), APFCTL_CONDOR_PORTS ("FACTORY CE" collector ports; default: two free ports),
# APFCTL_CONDOR_USER (the account owning jobs when run as root; default htcuser).
#
# Both pools use NO_DNS and the domain apfctl.test, so the CE pool's schedd is
# 127-0-0-1.apfctl.test and the factory reaches it with
# grid_resource = condor 127-0-0-1.apfctl.test 127-0-0-1.apfctl.test:<CE port>.
# Settings go to $APFCTL_CONDOR_DIR/pools.env (sourceable; tests read it via APFCTL_CONDOR_POOLS).
set -euo pipefail

usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; }
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd -P)
REPO=$(cd "$HERE/.." && pwd -P)
DIR=${APFCTL_CONDOR_DIR:-/tmp/apfctl-condor}
ENV_FILE=$DIR/pools.env
POOL_USER=${APFCTL_CONDOR_USER:-htcuser}
SHARED=$REPO/../shared/htcondor   # a clone's neighbour; a worktree's is one level up
[ -d "$SHARED" ] || [ ! -d "$REPO/../../shared/htcondor" ] || SHARED=$(cd "$REPO/../../shared/htcondor" && pwd -P)
LIBS="libscitokens0 libvomsapi1v5 libmunge2 libcurl4 libsqlite3-0 libpcre2-8-0 libuuid1 libexpat1
      libsystemd0 libdbus-1-3 libkrb5-3 libgssapi-krb5-2 libgomp1 libx11-6 libxss1"

say() { echo "condor-pools: $*" >&2; }
die() { say "$*"; exit 1; }

install_libraries() {
    [ "$(id -u)" = 0 ] && command -v dpkg-query >/dev/null || return 0
    local missing=() lib
    for lib in $LIBS; do
        dpkg-query -W -f='${Status}' "$lib" 2>/dev/null | grep -q 'install ok installed' || missing+=("$lib")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing runtime libraries: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

unpack() {   # unpack TARBALL into $DIR/release once; prints the release folder
    local tarball=$1 top
    top=$(tar -tzf "$tarball" | head -1 | cut -d/ -f1)
    if [ ! -x "$DIR/release/$top/sbin/condor_master" ]; then
        mkdir -p "$DIR/release"
        chmod 0755 "$DIR" "$DIR/release"
        tar -xzf "$tarball" -C "$DIR/release"
    fi
    echo "$DIR/release/$top"
}

find_release() {   # prints the release folder
    local given=${APFCTL_HTCONDOR:-} master tarball
    if [ -n "$given" ]; then
        if [ -f "$given" ]; then unpack "$given"; return; fi
        [ -x "$given/sbin/condor_master" ] || die "APFCTL_HTCONDOR=$given: no sbin/condor_master there, nor a tarball"
        (cd "$given" && pwd -P); return
    fi
    if master=$(command -v condor_master 2>/dev/null); then
        (cd "$(dirname "$(readlink -f "$master")")/.." && pwd -P); return
    fi
    tarball=$(find "$SHARED" -maxdepth 1 -name 'htcondor-*.tar.gz' 2>/dev/null | sort | head -1 || true)
    [ -n "$tarball" ] || die "no HTCondor: set APFCTL_HTCONDOR, put condor_master on PATH, or provide $SHARED/htcondor-*.tar.gz"
    unpack "$tarball"
}

start_script() {   # the start-pool script for RELEASE ($1); prints its path
    if [ -x "$1/bin/htcondor-start-pool.sh" ]; then echo "$1/bin/htcondor-start-pool.sh"
    elif [ -x "$SHARED/start-pool.sh" ]; then echo "$SHARED/start-pool.sh"
    else die "no htcondor-start-pool.sh in $1/bin nor in $SHARED"
    fi
}

stop_script() {
    if [ -x "$1/bin/htcondor-stop-pool.sh" ]; then echo "$1/bin/htcondor-stop-pool.sh"
    else echo "$SHARED/stop-pool.sh"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

running() { [ -s "$1/run/master.pid" ] && kill -0 "$(cat "$1/run/master.pid")" 2>/dev/null; }

start_pool() {   # start_pool NAME PORT CPUS
    local pool=$DIR/$1 script
    script=$(start_script "$RELEASE")
    if running "$pool"; then say "$1 pool already running ($pool)"; return; fi
    rm -rf "$pool"
    mkdir -p "$pool/config.d"
    cat > "$pool/config.d/50-apfctl.conf" <<CONF
# condor-pools.sh: two pools on one host, reachable by schedd name without DNS.
NO_DNS = True
DEFAULT_DOMAIN_NAME = apfctl.test
CONF
    # the blahp's Slurm commands (CondorBatch); harmless where there is no Slurm
    local sbatch
    if sbatch=$(command -v sbatch 2>/dev/null); then
        echo "SLURM_BINPATH = $(dirname "$sbatch")" >> "$pool/config.d/50-apfctl.conf"
    fi
    HTCONDOR_POOL_PORT=$2 HTCONDOR_POOL_CPUS=$3 HTCONDOR_POOL_USER=$POOL_USER \
        HTCONDOR_RELEASE_DIR=$RELEASE bash "$script" "$pool" >&2
}

up() {
    install_libraries
    mkdir -p "$DIR"
    chmod 0755 "$DIR"
    RELEASE=$(find_release)
    local ports factory_port ce_port
    if [ -f "$ENV_FILE" ] && running "$DIR/factory" && running "$DIR/ce"; then
        say "pools already up ($ENV_FILE)"; cat "$ENV_FILE"; return
    fi
    read -r factory_port ce_port <<<"${APFCTL_CONDOR_PORTS:-$(free_port) $(free_port)}"
    if [ -z "$ce_port" ] || [ "$factory_port" = "$ce_port" ]; then
        die "APFCTL_CONDOR_PORTS needs two different ports"
    fi
    mkdir -p "$DIR/work"
    chmod 1777 "$DIR/work"   # jobs run as the pool's user: the folders they write must be writable
    if [ "$(id -u)" = 0 ] && ! id "$POOL_USER" >/dev/null 2>&1; then   # once, before both start scripts
        useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin "$POOL_USER"
    fi
    local factory_pid ce_pid failed=0
    start_pool factory "$factory_port" 4 & factory_pid=$!   # both at once: ~2 s, not ~4 s
    start_pool ce "$ce_port" 2 & ce_pid=$!
    wait "$factory_pid" || failed=1
    wait "$ce_pid" || failed=1
    if [ "$failed" = 1 ]; then
        down >/dev/null 2>&1 || true
        die "a pool did not start (logs in $DIR/factory/log/ and $DIR/ce/log/)"
    fi
    ports="$factory_port $ce_port"
    cat > "$ENV_FILE" <<ENV
# condor-pools.sh up: the factory pool and the CE pool (source me, or point APFCTL_CONDOR_POOLS here)
APFCTL_CONDOR_RELEASE=$RELEASE
APFCTL_CONDOR_FACTORY_CONFIG=$DIR/factory/condor_config
APFCTL_CONDOR_FACTORY_COLLECTOR=127.0.0.1:$factory_port
APFCTL_CONDOR_CE_CONFIG=$DIR/ce/condor_config
APFCTL_CONDOR_CE_COLLECTOR=127-0-0-1.apfctl.test:$ce_port
APFCTL_CONDOR_CE_PORT=$ce_port
APFCTL_CONDOR_CE_SCHEDD=127-0-0-1.apfctl.test
APFCTL_CONDOR_WORK=$DIR/work
APFCTL_CONDOR_PORTS="$ports"
ENV
    chmod 0644 "$ENV_FILE"
    say "pools up: factory 127.0.0.1:$factory_port, CE 127.0.0.1:$ce_port; settings in $ENV_FILE"
}

stop_pool() {   # stop_pool NAME: by the master's recorded PID (the release's stop script)
    local release
    release=$(sed -n 's/^RELEASE_DIR *= *//p' "$DIR/$1/condor_config" 2>/dev/null | head -1)
    bash "$(stop_script "${release:-/nonexistent}")" "$DIR/$1" 30 >&2
}

down() {
    local name status=0 pids=()
    for name in ce factory; do   # both at once
        [ -d "$DIR/$name" ] || continue
        stop_pool "$name" & pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || status=1
    done
    rm -f "$ENV_FILE"
    return $status
}

case ${1:-} in
    up) up ;;
    down) down ;;
    env) if [ -f "$ENV_FILE" ]; then cat "$ENV_FILE"; else die "no pools up ($ENV_FILE missing)"; fi ;;
    -h|--help) usage ;;
    *) usage >&2; exit 2 ;;
esac
