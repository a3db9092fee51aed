#!/bin/sh
# apfctl demo pilot: stands in for a real pilot (wrapper) on the embedded demo's Local queues.
# It says who it is, works (sleeps) a few seconds and exits; a share of pilots fail.
# How long and whether it fails follow from its pilot id ($APFCID), so a pilot's fate is
# reproducible; with no id (run by hand) the process id is used.
#
# usage: demo-pilot.sh [--queue NAME] [--resource-type TYPE] [--sleep SECONDS|MIN-MAX] [--fail-rate PERCENT]
#   --queue      the WMS queue it would pull work from (default $FACTORYQUEUE)
#   --resource-type  the jobs it would ask for, as Pilot 3's option (default $APFCTL_RESOURCE_TYPE)
#   --sleep      seconds of "work", or a range to pick from (default 3-6)
#   --fail-rate  percentage of pilots that exit 1 (default 20)
set -u

min=3
max=6
fail=20
queue=${FACTORYQUEUE:-unknown}
rtype=${APFCTL_RESOURCE_TYPE:-}

usage() {
    echo "demo-pilot: $1 (usage: demo-pilot.sh [--queue NAME] [--resource-type TYPE] [--sleep SECONDS|MIN-MAX]" \
        "[--fail-rate PERCENT])" >&2
    exit 2
}

is_number() {
    case "$1" in
        ''|*[!0-9]*) return 1 ;;
        *) return 0 ;;
    esac
}

while [ $# -gt 0 ]; do
    case "$1" in
        --sleep)
            [ $# -ge 2 ] || usage "--sleep needs a value"
            min=${2%-*}
            max=${2#*-}
            shift 2 ;;
        --queue)
            [ $# -ge 2 ] || usage "--queue needs a value"
            queue=$2
            shift 2 ;;
        --resource-type)
            [ $# -ge 2 ] || usage "--resource-type needs a value"
            rtype=$2
            shift 2 ;;
        --fail-rate)
            [ $# -ge 2 ] || usage "--fail-rate needs a value"
            fail=$2
            shift 2 ;;
        *) usage "unknown argument '$1'" ;;
    esac
done
if ! { is_number "$min" && is_number "$max" && [ "$min" -le "$max" ]; }; then
    usage "--sleep wants SECONDS or MIN-MAX"
fi
if ! { is_number "$fail" && [ "$fail" -le 100 ]; }; then
    usage "--fail-rate wants a percentage from 0 to 100"
fi

id=${APFCID:-$$}
hash=$(printf '%s' "$id" | cksum | cut -d ' ' -f 1)
seconds=$((min + hash % (max - min + 1)))
roll=$(((hash / 7) % 100))

echo "demo pilot $id: queue $queue, factory ${APFFID:-unknown}, cycle ${APFCTL_CYCLE:-unknown}"
if [ -n "$rtype" ]; then
    echo "demo pilot $id: resource type $rtype, ${APFCTL_CORES:-?} cores, ${APFCTL_MEMORY:-?} MB"
fi
echo "demo pilot $id: working for ${seconds}s"
sleep "$seconds"
if [ "$roll" -lt "$fail" ]; then
    echo "demo pilot $id: failed (simulated, --fail-rate $fail)" >&2
    exit 1
fi
echo "demo pilot $id: done"
