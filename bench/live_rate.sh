#!/bin/sh
# bench/live_rate.sh: the live zero-drop rate.  Replays a capture with
# tcpreplay at fixed packet rates into one end of a veth pair inside a
# network namespace made for the run, captures on the other end with
# tcpdump -w /dev/null (its own defaults) and with corscope (its default
# ring, and each --workers count asked for), and prints per tool and rate
# what was sent, what the tool says it received, and what it says the
# kernel dropped, with the rate tcpreplay reached ("reached": it cannot go
# past what one core can send; above that every rate is the same test).
# The zero-drop rate of a tool is the highest rate below
# the first one at which its kernel ring dropped packets.  Needs root, unshare, ip and tcpreplay.
#
#   make bench-live               (or: bench/live_rate.sh [CAPTURE])
#   LIVE_RATES="50000 100000"     packets per second to try (default below)
#   LIVE_PACKETS=200000           packets replayed per run (from the start)
#   LIVE_WORKERS="1 2"            corscope --workers counts (1: no option given)
#   LIVE_ROUNDS=1                 runs per tool and rate (the worst is shown)
#   CORSCOPE=./corscope           the binary under test
#
# CAPTURE defaults to the CORS-heavy bench capture (make bench makes it).
# Packets the veth pair itself drops before any capture socket sees them
# (its backlog) show as sent - received with no kernel drop: the same for
# every tool.  Not in make check: a benchmark, minutes long.
set -eu
cd "$(dirname "$0")/.."
CS=$(realpath "${CORSCOPE:-./corscope}")
CAP=${1:-bench/data/wire-http1-cors-80mb-7150c-s1.pcap}
RATES=${LIVE_RATES:-50000 100000 150000 200000 300000}
PACKETS=${LIVE_PACKETS:-200000}
WORKERS=${LIVE_WORKERS:-1}
ROUNDS=${LIVE_ROUNDS:-1}

if [ "${1:-}" != --inside ]; then
    [ "$(id -u)" = 0 ] || { echo "live_rate: needs root" >&2; exit 1; }
    for tool in unshare ip tcpreplay tcpdump; do
        command -v "$tool" >/dev/null 2>&1 || { echo "live_rate: $tool is not installed" >&2; exit 1; }
    done
    [ -x "$CS" ] || { echo "live_rate: $CS not built (run make)" >&2; exit 1; }
    [ -s "$CAP" ] || { echo "live_rate: no capture $CAP (make bench generates it)" >&2; exit 1; }
    export CORSCOPE="$CS" LIVE_CAP=$(realpath "$CAP")
    exec unshare --net sh "$0" --inside
fi
CAP=$LIVE_CAP

ip link set lo up
ip link add cs0 type veth peer name cs1
ip link set cs0 mtu 9000
ip link set cs1 mtu 9000
ip link set cs0 up
ip link set cs1 up
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# run NAME COMMAND...: the capture tool on cs1, the replay into cs0, then
# SIGINT; prints "sent received dropped" from the replay's and the tool's
# own counts (tcpdump's end lines, which corscope prints too)
run() {
    name=$1; rate=$2; shift 2
    "$@" >/dev/null 2>"$T/err" &
    pid=$!
    n=100
    until grep -q 'listening on' "$T/err" 2>/dev/null; do
        n=$((n - 1))
        [ "$n" -gt 0 ] && kill -0 "$pid" 2>/dev/null || { echo "live_rate: $name did not start:" >&2; cat "$T/err" >&2; exit 1; }
        sleep 0.1
    done
    tcpreplay -i cs0 --pps="$rate" --limit="$PACKETS" "$CAP" >"$T/replay" 2>&1 || true
    sleep 1
    kill -INT "$pid"
    wait "$pid" || true
    sent=$(sed -n 's/^Actual: \([0-9]*\) packets.*/\1/p' "$T/replay" | head -1)
    got=$(sed -n 's/^\([0-9]*\) packets\{0,1\} received by filter.*/\1/p' "$T/err" | head -1)
    dropped=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel.*/\1/p' "$T/err" | head -1)
    reached=$(sed -n 's/^Rated: .*, \([0-9]*\)\.[0-9]* pps.*/\1/p' "$T/replay" | head -1)
    echo "${sent:-?} ${got:-?} ${dropped:-?} ${reached:-?}"
}

tools="tcpdump"
for w in $WORKERS; do tools="$tools corscope-w$w"; done
echo "live_rate: $(basename "$CAP"), $PACKETS packets per run, veth pair in a namespace, $(nproc) cores"
printf '%-14s %9s %9s %9s %9s %9s %8s\n' tool "rate pps" "reached" sent received dropped "lost %"
for tool in $tools; do
    zero=none dropping=no
    for rate in $RATES; do
        worst=""
        r=0
        while [ "$r" -lt "$ROUNDS" ]; do
            case $tool in
            tcpdump) set -- tcpdump -i cs1 -w /dev/null ;;
            corscope-w1) set -- "$CORSCOPE" -i cs1 -Z root -o json ;;
            corscope-w*) set -- "$CORSCOPE" -i cs1 -Z root -o json --workers "${tool#corscope-w}" ;;
            esac
            res=$(run "$tool" "$rate" "$@")
            # the worst round: the most packets missing
            if [ -z "$worst" ] || [ "$(echo "$res" | awk '{print $1 - $2 + $3}')" -gt \
                "$(echo "$worst" | awk '{print $1 - $2 + $3}')" ]; then
                worst=$res
            fi
            r=$((r + 1))
        done
        set -- $worst
        lost=$(awk -v s="$1" -v g="$2" -v d="$3" 'BEGIN { m = s - g + d; if (m < 0) m = 0; printf "%.2f", s ? 100 * m / s : 0 }')
        printf '%-14s %9s %9s %9s %9s %9s %8s\n' "$tool" "$rate" "$4" "$1" "$2" "$3" "$lost"
        if [ "$3" = 0 ] && [ "$dropping" = no ]; then zero=$rate; else dropping=yes; fi
    done
    echo "$tool: zero-drop (kernel) rate: $zero pps"
done
