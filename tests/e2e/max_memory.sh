#!/bin/sh
# --max-memory: 800 connections each pipelining 20 requests with 2 KB of
# headers that are never answered.  Without a budget every waiting request
# is held to the end of the capture (~43 MB peak); with the default budget
# the least recently active connections are dropped, counted in
# caps_hit.memory, and the peak stays bounded.
cd "$(dirname "$0")/../.." || exit 2
BIN=./corscope
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
python3 tests/hostile/pipeline_flood.py "$T/flood.pcap" || { echo "FAIL generator"; exit 1; }
bound=1
case ${BUILD:-build/rel} in *san*) bound=0; echo "sanitizer build: peak RSS reported, not bounded" ;; esac
fail=0
check() { # name max_rss_kib min_evictions args...
    name=$1 max=$2 min=$3; shift 3
    set -- $(python3 tests/hostile/gen.py measure "$T/out" "$T/err" $BIN -o json -r "$T/flood.pcap" "$@")
    rc=$1 rss=$2
    ev=$(tail -n 1 "$T/out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["caps_hit"]["memory"])' 2>/dev/null)
    n=$(grep -c '"end":"evicted"' "$T/out")
    if [ "$rc" != 0 ] || [ -z "$ev" ] || [ "$ev" -lt "$min" ] || { [ $bound = 1 ] && [ "$rss" -gt "$max" ]; }; then
        echo "FAIL $name: exit $rc, peak ${rss} KiB (max $max), memory evictions '$ev' (min $min)"; fail=1
    else
        echo "ok   $name: peak ${rss} KiB, $ev connections dropped for memory, $n requests reported as evicted"
    fi
}
check "default budget" 36864 1
check "--max-memory 8 MB" 24576 100 --max-memory 8000000
exit $fail
