#!/bin/sh
# apfctl-wrapper: the generic pilot wrapper of apfctl (POSIX sh; no Python needed on the node).
#
# Usage: apfctl-wrapper.sh [OPTIONS] [--] PAYLOAD [ARGS...]
#
# In order: report "running" to apfmon, write the node profile (JSON), run the validation
# checks and the drop-in checks (one result line each), run PAYLOAD (a command, a file, or
# an http(s) URL fetched first) in a fresh work folder with TERM, INT and USR1 forwarded to
# it, report "exiting" with its exit code to apfmon, clean the work folder, and exit with
# the payload's exit code. A failed check stops the pilot with its own exit code (below).
#
# Options (each also settable by the environment variable in brackets; options win):
#   --min-disk-mb N            free disk in the work folder, MB       [APFCTL_WRAPPER_MIN_DISK_MB, 1000]
#   --min-memory-mb N          available memory, MB                   [APFCTL_WRAPPER_MIN_MEMORY_MB, 500]
#   --require-commands LIST    commands that must exist; "a|b" = either [APFCTL_WRAPPER_COMMANDS]
#   --cvmfs LIST               CVMFS repositories that must be mounted [APFCTL_WRAPPER_CVMFS]
#   --cvmfs-root DIR           where repositories are mounted         [APFCTL_WRAPPER_CVMFS_ROOT, /cvmfs]
#   --min-credential-lifetime S  seconds left on $X509_USER_PROXY or
#                              $BEARER_TOKEN_FILE                     [APFCTL_WRAPPER_MIN_CREDENTIAL_LIFETIME]
#   --check-wms URL            the WMS must answer over HTTP          [APFCTL_WRAPPER_CHECK_WMS]
#   --checks-dir DIR           drop-in check scripts, run by name     [APFCTL_WRAPPER_CHECKS_DIR]
#   --check-url URL#sha256=HEX a drop-in check fetched and verified;
#                              repeatable, run after the folder's     [APFCTL_WRAPPER_CHECK_URLS]
#   --check-timeout S          longest run of one drop-in check       [APFCTL_WRAPPER_CHECK_TIMEOUT, 300]
#   --workdir-base DIR         where the work folder is made          [APFCTL_WRAPPER_WORKDIR_BASE]
#   --keep-workdir             do not delete the work folder          [APFCTL_WRAPPER_KEEP_WORKDIR=1]
#   --apfmon-timeout S         longest wait for one apfmon call       [APFCTL_WRAPPER_APFMON_TIMEOUT, 5]
#   --walltime-limit S         the slot's wall time limit, if known   [APFCTL_WRAPPER_WALLTIME_LIMIT]
#   APF's --wrappervo, --wrapperwmsqueue, --wrapperbatchqueue, --wrappergrid,
#   --wrappertarballurl (comma list: first that downloads is unpacked into the work folder),
#   --wrapperserverurl, --wrapperloglevel and APF's other --wrapper* options are accepted.
#   Without PAYLOAD, --wrappertarballurl runs the tarball's wrapper.py as APF's wrapper did.
#
# Result line of every check:  apfctl-check: name=N status=ok|warn|fail metric=M detail=TEXT
# Exit codes of the wrapper itself (a payload's own code is passed through unchanged):
#   80 bad usage   81 disk   82 memory   83 commands   84 cvmfs   85 credential   86 wms
#   87 drop-in check failed  88 drop-in fetch or checksum failed  89 payload not found or
#   not fetched  90 work folder could not be made  128+N killed by signal N before the payload ran
#
# Drop-in checks: every file of the folder (C-locale name order), then every URL in the
# order given. A check is run with sh unless executable; exit 0 = ok, 10 = warn, other =
# fail (also when it outlives --check-timeout); its last line of output is the detail.
# It sees APFCTL_WORKDIR and APFCTL_NODE_PROFILE.

WRAPPER_VERSION=1

# --- logging and results ----------------------------------------------------------------
now_epoch() {
    # POSIX awk: srand() returns the previous seed, which srand() set to the time of day.
    awk 'BEGIN { srand(); print srand() }'
}

log() {
    printf '[apfctl-wrapper %s] %s\n' "$(date -u '+%Y-%m-%dT%H:%M:%SZ')" "$*"
}

debug() {
    if [ "$LOGLEVEL" = debug ]; then log "$@"; fi
}

result() {
    # result NAME STATUS METRIC DETAIL
    printf 'apfctl-check: name=%s status=%s metric=%s detail=%s\n' "$1" "$2" "$3" "$4"
}

json_string() {
    # A JSON string literal: backslashes and quotes escaped, control characters dropped.
    printf '"%s"' "$(printf '%s' "$1" | tr -d '\000-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
}

json_string_or_null() {
    if [ -n "$1" ]; then json_string "$1"; else printf 'null'; fi
}

json_number_or_null() {
    case "$1" in
        ''|*[!0-9.]*) printf 'null' ;;
        *) printf '%s' "$1" ;;
    esac
}

is_uint() {
    case "$1" in
        ''|*[!0-9]*) return 1 ;;
        *) return 0 ;;
    esac
}

# --- apfmon --------------------------------------------------------------------------------
apfmon() {
    # apfmon STATE [RC]: POST the pilot's state; bounded by APFMON_TIMEOUT, never fails.
    if [ -z "${APFMON:-}" ] || [ -z "${APFFID:-}" ] || [ -z "${APFCID:-}" ]; then
        return 0
    fi
    apfmon_url="${APFMON%/}/jobs/${APFFID}:${APFCID}"
    apfmon_data="state=$1"
    if [ -n "${2:-}" ]; then apfmon_data="$apfmon_data&rc=$2"; fi
    if ! is_uint "$APFMON_TIMEOUT" || [ "$APFMON_TIMEOUT" -eq 0 ]; then APFMON_TIMEOUT=5; fi
    connect=$APFMON_TIMEOUT
    if [ "$connect" -gt 3 ]; then connect=3; fi
    if command -v curl >/dev/null 2>&1; then
        if curl -ksS -o /dev/null --connect-timeout "$connect" --max-time "$APFMON_TIMEOUT" \
                -d "$apfmon_data" "$apfmon_url" 2>&1; then
            log "apfmon: $1 sent to $apfmon_url"
        else
            log "apfmon: $1 not sent to $apfmon_url (ignored)"
        fi
    elif command -v wget >/dev/null 2>&1; then
        if wget -q -O /dev/null --no-check-certificate --tries=1 --timeout="$APFMON_TIMEOUT" \
                --post-data="$apfmon_data" "$apfmon_url" 2>&1; then
            log "apfmon: $1 sent to $apfmon_url"
        else
            log "apfmon: $1 not sent to $apfmon_url (ignored)"
        fi
    else
        log "apfmon: neither curl nor wget found; $1 not sent"
    fi
    return 0
}

# --- the end ---------------------------------------------------------------------------------
cleanup_workdir() {
    if [ -n "$WORKDIR" ] && [ -d "$WORKDIR" ]; then
        cd "$START_DIR" 2>/dev/null || cd / || return 0
        if [ "$KEEP_WORKDIR" = 1 ]; then
            log "work folder kept: $WORKDIR"
        else
            rm -rf "$WORKDIR"
            log "work folder removed: $WORKDIR"
        fi
    fi
    WORKDIR=
}

finish() {
    # finish RC: report to apfmon, clean up, exit RC. Runs once.
    trap '' TERM INT USR1
    apfmon exiting "$1"
    cleanup_workdir
    log "exit code $1"
    exit "$1"
}

fail_check() {
    # fail_check CODE NAME METRIC DETAIL: a failed check stops the pilot with CODE.
    result "$2" fail "$3" "$4"
    log "check $2 failed: $4; stopping with exit code $1"
    finish "$1"
}

usage_error() {
    log "usage: $*"
    result usage fail 0 "$*"
    finish 80
}

# shellcheck disable=SC2317 # called from the traps only
on_signal() {
    # on_signal NAME NUMBER: forward to the payload, or stop if it has not started.
    if [ -n "$PAYLOAD_PID" ]; then
        log "received SIG$1; forwarding to the payload (pid $PAYLOAD_PID)"
        SIGNALLED=1
        kill -s "$1" "$PAYLOAD_PID" 2>/dev/null
    else
        log "received SIG$1 before the payload started"
        finish $((128 + $2))
    fi
}

# --- fetching --------------------------------------------------------------------------------
fetch() {
    # fetch URL FILE: download with a time limit; curl or wget.
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --connect-timeout 20 --max-time 300 -o "$2" "$1"
    elif command -v wget >/dev/null 2>&1; then
        wget -q --tries=2 --timeout=60 -O "$2" "$1"
    else
        log "neither curl nor wget found to fetch $1"
        return 1
    fi
}

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | awk '{ print $1 }'
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | awk '{ print $1 }'
    elif command -v openssl >/dev/null 2>&1; then
        openssl dgst -sha256 "$1" | awk '{ print $NF }'
    else
        return 1
    fi
}

# --- node profile ------------------------------------------------------------------------------
meminfo_mb() {
    # meminfo_mb FIELD: a /proc/meminfo field in MB, empty when unknown.
    if [ -r /proc/meminfo ]; then
        awk -v f="$1:" '$1 == f { printf "%d", $2 / 1024 }' /proc/meminfo
    fi
}

free_disk_mb() {
    df -Pk "$1" 2>/dev/null | awk 'NR == 2 { printf "%d", $4 / 1024 }'
}

cpu_count() {
    n=$(getconf _NPROCESSORS_ONLN 2>/dev/null)
    if ! is_uint "$n" && [ -r /proc/cpuinfo ]; then
        n=$(grep -c '^processor' /proc/cpuinfo)
    fi
    printf '%s' "$n"
}

batch_job() {
    # Sets BATCH_SYSTEM and BATCH_JOB_ID from the batch system's environment.
    BATCH_SYSTEM=
    BATCH_JOB_ID=
    if [ -n "${_CONDOR_JOB_AD:-}" ] && [ -r "$_CONDOR_JOB_AD" ]; then
        BATCH_SYSTEM=htcondor
        BATCH_JOB_ID=$(sed -n 's/^GlobalJobId *= *"\(.*\)"$/\1/p' "$_CONDOR_JOB_AD" | head -n 1)
    elif [ -n "${_CONDOR_SCRATCH_DIR:-}" ]; then
        BATCH_SYSTEM=htcondor
    elif [ -n "${SLURM_JOB_ID:-}" ]; then
        BATCH_SYSTEM=slurm
        BATCH_JOB_ID=$SLURM_JOB_ID
    elif [ -n "${PBS_JOBID:-}" ]; then
        BATCH_SYSTEM=pbs
        BATCH_JOB_ID=$PBS_JOBID
    elif [ -n "${LSB_JOBID:-}" ]; then
        BATCH_SYSTEM=lsf
        BATCH_JOB_ID=$LSB_JOBID
    fi
}

walltime_limit() {
    # Seconds of wall time the slot allows, when the environment says so.
    if is_uint "$WALLTIME_LIMIT"; then
        printf '%s' "$WALLTIME_LIMIT"
    elif is_uint "${SLURM_JOB_END_TIME:-}"; then
        printf '%s' $((SLURM_JOB_END_TIME - $(now_epoch)))
    elif is_uint "${PBS_WALLTIME:-}"; then
        printf '%s' "$PBS_WALLTIME"
    elif [ -n "${_CONDOR_JOB_AD:-}" ] && [ -r "$_CONDOR_JOB_AD" ]; then
        # HTCondor-CE pilots carry maxWallTime in minutes.
        minutes=$(sed -n 's/^maxWallTime *= *\([0-9][0-9]*\)$/\1/p' "$_CONDOR_JOB_AD" | head -n 1)
        if is_uint "$minutes"; then printf '%s' $((minutes * 60)); fi
    fi
}

write_profile() {
    os=
    if [ -r /etc/os-release ]; then
        os=$(sed -n 's/^PRETTY_NAME=//p' /etc/os-release | tr -d '"')
    fi
    cpu_model=
    if [ -r /proc/cpuinfo ]; then
        cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
    fi
    load=
    if [ -r /proc/loadavg ]; then
        load=$(awk '{ printf "[%s, %s, %s]", $1, $2, $3 }' /proc/loadavg)
    fi
    batch_job
    {
        printf '{'
        printf '"wrapper_version": %s, ' "$WRAPPER_VERSION"
        printf '"time": %s, ' "$(json_string "$(date -u '+%Y-%m-%dT%H:%M:%SZ')")"
        printf '"host": %s, ' "$(json_string "$(uname -n)")"
        printf '"user": %s, ' "$(json_string "$(id -un 2>/dev/null)")"
        printf '"os": %s, ' "$(json_string "$os")"
        printf '"kernel": %s, ' "$(json_string "$(uname -sr)")"
        printf '"arch": %s, ' "$(json_string "$(uname -m)")"
        printf '"cpu_model": %s, ' "$(json_string "$cpu_model")"
        printf '"cpus": %s, ' "$(json_number_or_null "$(cpu_count)")"
        printf '"memory_mb": %s, ' "$(json_number_or_null "$(meminfo_mb MemTotal)")"
        printf '"memory_available_mb": %s, ' "$(json_number_or_null "$(meminfo_mb MemAvailable)")"
        printf '"workdir": %s, ' "$(json_string "$WORKDIR")"
        printf '"disk_free_mb": %s, ' "$(json_number_or_null "$(free_disk_mb "$WORKDIR")")"
        printf '"load": %s, ' "${load:-null}"
        printf '"batch_system": %s, ' "$(json_string_or_null "$BATCH_SYSTEM")"
        printf '"batch_job_id": %s, ' "$(json_string_or_null "$BATCH_JOB_ID")"
        printf '"walltime_limit": %s, ' "$(json_number_or_null "$(walltime_limit)")"
        printf '"vo": %s, ' "$(json_string_or_null "$WRAPPER_VO")"
        printf '"wmsqueue": %s, ' "$(json_string_or_null "$WRAPPER_WMSQUEUE")"
        printf '"batchqueue": %s, ' "$(json_string_or_null "$WRAPPER_BATCHQUEUE")"
        printf '"grid": %s, ' "$(json_string_or_null "$WRAPPER_GRID")"
        printf '"factory": %s, ' "$(json_string_or_null "${APFFID:-}")"
        printf '"pilot": %s' "$(json_string_or_null "${APFCID:-}")"
        printf '}\n'
    } > "$PROFILE"
    log "node profile: $(cat "$PROFILE")"
}

# --- validation checks -------------------------------------------------------------------------
check_disk() {
    free=$(free_disk_mb "$WORKDIR")
    if ! is_uint "$free"; then
        result disk warn unknown "could not read free disk of $WORKDIR"
    elif [ "$free" -lt "$MIN_DISK_MB" ]; then
        fail_check 81 disk "${free}MB" "free disk in $WORKDIR is $free MB, below the minimum $MIN_DISK_MB MB"
    else
        result disk ok "${free}MB" "free disk in $WORKDIR is $free MB (minimum $MIN_DISK_MB MB)"
    fi
}

check_memory() {
    avail=$(meminfo_mb MemAvailable)
    if ! is_uint "$avail"; then avail=$(meminfo_mb MemFree); fi
    if ! is_uint "$avail"; then
        result memory warn unknown "could not read available memory"
    elif [ "$avail" -lt "$MIN_MEMORY_MB" ]; then
        fail_check 82 memory "${avail}MB" "available memory is $avail MB, below the minimum $MIN_MEMORY_MB MB"
    else
        result memory ok "${avail}MB" "available memory is $avail MB (minimum $MIN_MEMORY_MB MB)"
    fi
}

check_commands() {
    missing=
    for wanted in $(printf '%s' "$COMMANDS" | tr ',' ' '); do
        found=
        for alternative in $(printf '%s' "$wanted" | tr '|' ' '); do
            if command -v "$alternative" >/dev/null 2>&1; then found=1; break; fi
        done
        if [ -z "$found" ]; then missing="$missing $wanted"; fi
    done
    if [ -n "$missing" ]; then
        fail_check 83 commands "$(printf '%s' "$missing" | wc -w | tr -d ' ')" "missing commands:$missing"
    fi
    result commands ok 0 "all present: $(printf '%s' "$COMMANDS" | tr ',' ' ')"
}

check_cvmfs() {
    missing=
    limit=
    # a hung mount must not hold the pilot until its wall time runs out
    if command -v timeout >/dev/null 2>&1; then limit="timeout 60"; fi
    for repo in $(printf '%s' "$CVMFS" | tr ',' ' '); do
        # Listing the folder makes autofs mount it; an empty folder (or no answer) is not mounted.
        # shellcheck disable=SC2086  # $limit is empty or two words
        if [ -z "$($limit ls -A "$CVMFS_ROOT/$repo" 2>/dev/null)" ]; then missing="$missing $repo"; fi
    done
    if [ -n "$missing" ]; then
        fail_check 84 cvmfs "$(printf '%s' "$missing" | wc -w | tr -d ' ')" "not mounted under $CVMFS_ROOT:$missing"
    fi
    result cvmfs ok 0 "mounted under $CVMFS_ROOT: $(printf '%s' "$CVMFS" | tr ',' ' ')"
}

proxy_lifetime() {
    # Seconds left on the proxy certificate $1; empty when it cannot be read.
    if command -v openssl >/dev/null 2>&1; then
        end=$(openssl x509 -noout -enddate -in "$1" 2>/dev/null | sed -n 's/^notAfter=//p')
        if [ -n "$end" ]; then
            end_epoch=$(date -u -d "$end" +%s 2>/dev/null)
            if is_uint "$end_epoch"; then
                printf '%s' $((end_epoch - $(now_epoch)))
                return 0
            fi
        fi
    fi
    if command -v voms-proxy-info >/dev/null 2>&1; then
        voms-proxy-info -file "$1" -timeleft 2>/dev/null
    fi
}

token_lifetime() {
    # Seconds left on the JWT in file $1 (its "exp" claim); empty when it cannot be read.
    payload=$(tr -d ' \n\r\t' < "$1" | cut -d . -f 2 | tr '_-' '/+')
    case $((${#payload} % 4)) in
        2) payload="$payload==" ;;
        3) payload="$payload=" ;;
    esac
    # shellcheck disable=SC2020 # one newline for each of the three characters
    exp=$(printf '%s' "$payload" | base64 -d 2>/dev/null | tr ',{}' '\n\n\n' |
          sed -n 's/^[[:space:]]*"exp"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p' | head -n 1)
    if is_uint "$exp"; then printf '%s' $((exp - $(now_epoch))); fi
}

check_credential() {
    kind=
    left=
    if [ -n "${BEARER_TOKEN_FILE:-}" ]; then
        kind="token $BEARER_TOKEN_FILE"
        if [ -r "$BEARER_TOKEN_FILE" ]; then left=$(token_lifetime "$BEARER_TOKEN_FILE"); fi
    elif [ -n "${X509_USER_PROXY:-}" ]; then
        kind="proxy $X509_USER_PROXY"
        if [ -r "$X509_USER_PROXY" ]; then left=$(proxy_lifetime "$X509_USER_PROXY"); fi
    else
        result credential warn unknown "no X509_USER_PROXY or BEARER_TOKEN_FILE in the environment"
        return 0
    fi
    case "$left" in
        ''|*[!0-9-]*) fail_check 85 credential unknown "cannot read the lifetime of the $kind" ;;
    esac
    if [ "$left" -lt "$MIN_CREDENTIAL_LIFETIME" ]; then
        fail_check 85 credential "${left}s" "$kind has $left s left, below the minimum $MIN_CREDENTIAL_LIFETIME s"
    fi
    result credential ok "${left}s" "$kind has $left s left (minimum $MIN_CREDENTIAL_LIFETIME s)"
}

check_wms() {
    if command -v curl >/dev/null 2>&1; then
        curl -sS -o /dev/null --connect-timeout 10 --max-time 20 "$CHECK_WMS" 2>&1
    elif command -v wget >/dev/null 2>&1; then
        wget -q -O /dev/null --tries=1 --timeout=20 "$CHECK_WMS" 2>&1
    else
        false
    fi
    code=$?
    if [ "$code" -ne 0 ]; then
        fail_check 86 wms "$code" "the WMS at $CHECK_WMS did not answer"
    fi
    result wms ok 0 "the WMS at $CHECK_WMS answered"
}

run_dropin() {
    # run_dropin NAME FILE: one drop-in check with the uniform result line.
    dropin_out="$WORKDIR/.apfctl-check.out"
    limit=
    if command -v timeout >/dev/null 2>&1; then limit="timeout $CHECK_TIMEOUT"; fi
    if [ -x "$2" ]; then
        $limit "$2" > "$dropin_out" 2>&1
    else
        $limit sh "$2" > "$dropin_out" 2>&1
    fi
    code=$?
    sed 's/^/    /' "$dropin_out"
    detail=$(awk 'NF { last = $0 } END { print last }' "$dropin_out")
    rm -f "$dropin_out"
    if [ -n "$limit" ] && [ "$code" -eq 124 ]; then detail="no result within $CHECK_TIMEOUT s (stopped)"; fi
    case "$code" in
        0) result "$1" ok "$code" "${detail:-passed}" ;;
        10) result "$1" warn "$code" "${detail:-warning}" ;;
        *) fail_check 87 "$1" "$code" "${detail:-failed with exit code $code}" ;;
    esac
}

run_dropins() {
    if [ -n "$CHECKS_DIR" ]; then
        if [ ! -d "$CHECKS_DIR" ]; then
            fail_check 87 checks-dir 0 "drop-in folder $CHECKS_DIR does not exist"
        fi
        # The glob expands in the C locale's byte order: the stated run order.
        for dropin in "$CHECKS_DIR"/*; do
            if [ -f "$dropin" ]; then run_dropin "$(basename "$dropin")" "$dropin"; fi
        done
    fi
    if [ -n "$CHECK_URLS" ]; then
        mkdir -p "$WORKDIR/.apfctl-checks"
        for entry in $CHECK_URLS; do
            url=${entry%%#*}
            want=
            case "$entry" in
                *'#sha256='*) want=${entry##*#sha256=} ;;
            esac
            name=$(basename "$url")
            file="$WORKDIR/.apfctl-checks/$name"
            if [ -z "$want" ]; then
                fail_check 88 "$name" 0 "$url has no #sha256=<hex> checksum"
            fi
            if ! fetch "$url" "$file"; then
                fail_check 88 "$name" 0 "could not fetch $url"
            fi
            got=$(sha256_of "$file") || fail_check 88 "$name" 0 "no sha256sum, shasum or openssl to verify $url"
            if [ "$got" != "$want" ]; then
                fail_check 88 "$name" 0 "checksum mismatch for $url: sha256 $got, expected $want"
            fi
            chmod +x "$file"
            run_dropin "$name" "$file"
        done
    fi
}

# --- payload -----------------------------------------------------------------------------------
fetch_tarball() {
    for url in $(printf '%s' "$WRAPPER_TARBALLURL" | tr ',' ' '); do
        tarball="$WORKDIR/$(basename "$url")"
        if fetch "$url" "$tarball" && gzip -t "$tarball" 2>/dev/null; then
            if (cd "$WORKDIR" && gzip -dc "$tarball" | tar xf -); then
                rm -f "$tarball"
                log "unpacked $url into the work folder"
                return 0
            fi
        fi
        log "could not fetch or unpack $url"
        rm -f "$tarball"
    done
    return 1
}

resolve_payload() {
    # Sets PAYLOAD to a runnable path or command name, fetching URLs first.
    case "$PAYLOAD" in
        http://*|https://*)
            target="$WORKDIR/$(basename "${PAYLOAD%%\?*}")"
            if ! fetch "$PAYLOAD" "$target"; then
                fail_check 89 payload 0 "could not fetch the payload $PAYLOAD"
            fi
            chmod +x "$target"
            PAYLOAD=$target
            ;;
        /*) ;;
        */*)
            # Relative paths: the tarball's files first, then where the job started.
            if [ -e "$WORKDIR/$PAYLOAD" ]; then
                PAYLOAD="$WORKDIR/$PAYLOAD"
            else
                PAYLOAD="$START_DIR/$PAYLOAD"
            fi
            ;;
    esac
    case "$PAYLOAD" in
        */*)
            if [ ! -f "$PAYLOAD" ]; then fail_check 89 payload 0 "payload $PAYLOAD does not exist"; fi
            if [ ! -x "$PAYLOAD" ]; then fail_check 89 payload 0 "payload $PAYLOAD is not executable"; fi
            ;;
        *)
            if ! command -v "$PAYLOAD" >/dev/null 2>&1; then
                fail_check 89 payload 0 "payload command $PAYLOAD not found"
            fi
            ;;
    esac
}

run_payload() {
    log "running payload: $PAYLOAD $*"
    # Background jobs of a non-interactive shell start with SIGINT ignored; GNU env can
    # restore the default so that a forwarded INT reaches the payload.
    if env --default-signal=INT true >/dev/null 2>&1; then
        env --default-signal=INT "$PAYLOAD" "$@" &
    else
        "$PAYLOAD" "$@" &
    fi
    PAYLOAD_PID=$!
    while :; do
        SIGNALLED=
        wait "$PAYLOAD_PID"
        rc=$?
        # A trapped signal interrupts wait; the payload may still be running.
        if [ -n "$SIGNALLED" ] && kill -0 "$PAYLOAD_PID" 2>/dev/null; then continue; fi
        break
    done
    PAYLOAD_PID=
    log "payload exited with code $rc"
    finish "$rc"
}

# --- options -------------------------------------------------------------------------------------
MIN_DISK_MB=${APFCTL_WRAPPER_MIN_DISK_MB:-1000}
MIN_MEMORY_MB=${APFCTL_WRAPPER_MIN_MEMORY_MB:-500}
COMMANDS=${APFCTL_WRAPPER_COMMANDS:-}
CVMFS=${APFCTL_WRAPPER_CVMFS:-}
CVMFS_ROOT=${APFCTL_WRAPPER_CVMFS_ROOT:-/cvmfs}
MIN_CREDENTIAL_LIFETIME=${APFCTL_WRAPPER_MIN_CREDENTIAL_LIFETIME:-}
CHECK_WMS=${APFCTL_WRAPPER_CHECK_WMS:-}
CHECKS_DIR=${APFCTL_WRAPPER_CHECKS_DIR:-}
CHECK_URLS=${APFCTL_WRAPPER_CHECK_URLS:-}
CHECK_TIMEOUT=${APFCTL_WRAPPER_CHECK_TIMEOUT:-300}
WORKDIR_BASE=${APFCTL_WRAPPER_WORKDIR_BASE:-${_CONDOR_SCRATCH_DIR:-${TMPDIR:-/tmp}}}
KEEP_WORKDIR=${APFCTL_WRAPPER_KEEP_WORKDIR:-0}
APFMON_TIMEOUT=${APFCTL_WRAPPER_APFMON_TIMEOUT:-5}
WALLTIME_LIMIT=${APFCTL_WRAPPER_WALLTIME_LIMIT:-}
WRAPPER_VO=
WRAPPER_WMSQUEUE=
WRAPPER_BATCHQUEUE=
WRAPPER_GRID=
WRAPPER_TARBALLURL=
WRAPPER_SERVERURL=
LOGLEVEL=info
WORKDIR=
PAYLOAD=
PAYLOAD_PID=
SIGNALLED=
START_DIR=$(pwd)
APF_OPTIONS=

trap 'on_signal TERM 15' TERM
trap 'on_signal INT 2' INT
trap 'on_signal USR1 10' USR1

BAD_USAGE=
while [ $# -gt 0 ]; do
    option=$1
    case "$option" in
        --) shift; break ;;
        --*=*) name=${option%%=*}; value=${option#*=}; shift ;;
        --keep-workdir) KEEP_WORKDIR=1; shift; continue ;;
        --*)
            name=$option
            if [ $# -lt 2 ]; then BAD_USAGE="option $name needs a value"; break; fi
            value=$2
            shift 2
            ;;
        *) break ;;
    esac
    case "$name" in
        --min-disk-mb) MIN_DISK_MB=$value ;;
        --min-memory-mb) MIN_MEMORY_MB=$value ;;
        --require-commands) COMMANDS=$value ;;
        --cvmfs) CVMFS=$value ;;
        --cvmfs-root) CVMFS_ROOT=$value ;;
        --min-credential-lifetime) MIN_CREDENTIAL_LIFETIME=$value ;;
        --check-wms) CHECK_WMS=$value ;;
        --checks-dir) CHECKS_DIR=$value ;;
        --check-url) CHECK_URLS="$CHECK_URLS $value" ;;
        --check-timeout) CHECK_TIMEOUT=$value ;;
        --workdir-base) WORKDIR_BASE=$value ;;
        --apfmon-timeout) APFMON_TIMEOUT=$value ;;
        --walltime-limit) WALLTIME_LIMIT=$value ;;
        --wrapper*)
            APF_OPTIONS="$APF_OPTIONS $name=$value"
            case "$name" in
                --wrappervo) WRAPPER_VO=$value ;;
                --wrapperwmsqueue) WRAPPER_WMSQUEUE=$value ;;
                --wrapperbatchqueue) WRAPPER_BATCHQUEUE=$value ;;
                --wrappergrid) WRAPPER_GRID=$value ;;
                --wrappertarballurl) WRAPPER_TARBALLURL=$value ;;
                --wrapperserverurl) WRAPPER_SERVERURL=$value ;;
                --wrapperloglevel) LOGLEVEL=$value ;;
            esac
            ;;
        *) BAD_USAGE="unknown option $name"; break ;;
    esac
done

log "apfctl-wrapper $WRAPPER_VERSION on $(uname -n) as $(id -un 2>/dev/null)"
apfmon running

if [ -n "$BAD_USAGE" ]; then usage_error "$BAD_USAGE"; fi
for number in "$MIN_DISK_MB" "$MIN_MEMORY_MB" "$APFMON_TIMEOUT" "$CHECK_TIMEOUT" ${MIN_CREDENTIAL_LIFETIME:+"$MIN_CREDENTIAL_LIFETIME"}; do
    if ! is_uint "$number"; then usage_error "not a whole number: $number"; fi
done
if [ $# -eq 0 ] && [ -z "$WRAPPER_TARBALLURL" ]; then
    usage_error "no payload given (apfctl-wrapper.sh [OPTIONS] [--] PAYLOAD [ARGS...])"
fi
if [ "$CHECK_WMS" = 1 ] || [ "$CHECK_WMS" = yes ]; then
    [ -n "$WRAPPER_SERVERURL" ] || usage_error "--check-wms 1 needs --wrapperserverurl"
    CHECK_WMS=$WRAPPER_SERVERURL
fi
debug "APF options:$APF_OPTIONS"

# --- work folder, profile, checks, payload ------------------------------------------------------
WORKDIR=$(mktemp -d "$WORKDIR_BASE/apfctl-pilot.XXXXXXXX" 2>/dev/null)
if [ -z "$WORKDIR" ] || [ ! -d "$WORKDIR" ]; then
    WORKDIR=
    fail_check 90 workdir 0 "could not make a work folder in $WORKDIR_BASE"
fi
cd "$WORKDIR" || fail_check 90 workdir 0 "could not enter $WORKDIR"
PROFILE="$WORKDIR/apfctl-node-profile.json"
export APFCTL_WORKDIR="$WORKDIR" APFCTL_NODE_PROFILE="$PROFILE"
log "work folder: $WORKDIR"

write_profile
check_disk
check_memory
if [ -n "$COMMANDS" ]; then check_commands; fi
if [ -n "$CVMFS" ]; then check_cvmfs; fi
if [ -n "$MIN_CREDENTIAL_LIFETIME" ]; then check_credential; fi
if [ -n "$CHECK_WMS" ]; then check_wms; fi
run_dropins

if [ -n "$WRAPPER_TARBALLURL" ]; then
    fetch_tarball || fail_check 89 payload 0 "could not fetch any of $WRAPPER_TARBALLURL"
fi
if [ $# -eq 0 ]; then
    # APF's generic wrapper ran the tarball's wrapper.py with the wrapper options.
    PYTHON=$(command -v python3 || command -v python) || fail_check 89 payload 0 "no python for wrapper.py"
    PAYLOAD_SCRIPT="$WORKDIR/wrapper.py"
    if [ ! -f "$PAYLOAD_SCRIPT" ]; then fail_check 89 payload 0 "the tarball has no wrapper.py"; fi
    PAYLOAD=$PYTHON
    # shellcheck disable=SC2086 # APF_OPTIONS holds --opt=value words without blanks
    run_payload "$PAYLOAD_SCRIPT" $APF_OPTIONS
fi
PAYLOAD=$1
shift
resolve_payload
run_payload "$@"
