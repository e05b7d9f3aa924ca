#!/bin/sh
# --workers N with capture files: the output of 2 and 3 workers is byte for
# byte that of one (-o json and -o text), on every capture under pcaps/ (with
# its key log where a .keys sits beside it), a selection of the Zeek traces
# (timeouts, reassembly, retransmissions, SYN-only), and two generated
# captures with hundreds of clients whose IP pairs spread over the workers
# (the browser mix with 0.1 % loss and reordering, and the CORS-heavy
# workload).  Also: --workers auto, and bad values refused with one line.
cd "$(dirname "$0")/../.." || exit 2
CORSCOPE=${CORSCOPE:-$PWD/corscope}
[ -x "$CORSCOPE" ] || { echo "FAIL: $CORSCOPE not built"; exit 1; }
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
fail=0
checked=0

# end_within PID SECONDS: its exit status, or 124 (killed) if it did not end
end_within() {
    n=$(($2 * 10))
    while kill -0 "$1" 2>/dev/null && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
    if kill -0 "$1" 2>/dev/null; then kill -9 "$1"; wait "$1"; return 124; fi
    wait "$1"
}

# same CAPTURE [KEYS]: 2 and 3 workers against 1, both formats
same() {
    cap=$1
    set --
    [ -n "${2:-}" ] && set -- --keylog "$2"
    for fmt in json text; do
        "$CORSCOPE" -q -o "$fmt" "$@" -r "$cap" >"$T/one" 2>"$T/one.err"
        rc1=$?
        for n in 2 3; do
            "$CORSCOPE" -q -o "$fmt" --workers "$n" "$@" -r "$cap" >"$T/n" 2>"$T/n.err"
            rcn=$?
            if [ "$rc1" != "$rcn" ] || ! cmp -s "$T/one" "$T/n" || ! cmp -s "$T/one.err" "$T/n.err"; then
                echo "FAIL: $cap -o $fmt --workers $n differs from one worker (exit $rc1 / $rcn)"
                diff "$T/one" "$T/n" | head -n 10
                fail=1
            fi
        done
        checked=$((checked + 1))
    done
}

for cap in pcaps/*.pcap; do
    keys=${cap%.pcap}.keys
    [ -f "$keys" ] || keys=
    same "$cap" "$keys"
done
for t in tcp/timeout-with-pings.pcap tcp/retransmit-timeout.pcapng tcp/reassembly.pcap \
    tcp/syn.pcap tcp/syn-then-rst.pcap tcp/missing-syn.pcap tcp/ssh-dups.pcap \
    tcp/handshake-reorder.pcap http/post.pcap http/byteranges.pcap http/get-to-ssh-server.pcap \
    misc/mixed-vlan-mpls.pcap; do
    same "tests/zeek/traces/$t"
done
python3 tools/gen-pcap.py bench --size-mb 4 --connections 600 --seed 5 "$T/browser.pcap" >/dev/null ||
    { echo "FAIL: gen-pcap"; exit 1; }
same "$T/browser.pcap"
python3 tools/benchwire.py --workload cors --size-mb 3 --connections 500 --seed 7 "$T/cors.pcap" >/dev/null ||
    { echo "FAIL: benchwire"; exit 1; }
same "$T/cors.pcap"
# a small --max-flows: split between the workers, each hit counted
"$CORSCOPE" -q -o json --workers 2 --max-flows 40 -r "$T/browser.pcap" >"$T/lim" 2>&1 ||
    { echo "FAIL: --max-flows 40 --workers 2: exit $?"; fail=1; }
echo "ok: $checked runs of 2 and 3 workers equal one worker byte for byte"

# SIGUSR1 while the workers run: the statistics line adds up their counters,
# each as of the last batch (1,024 frames) it ran.  The capture comes through
# a FIFO kept open, so the run is still going when the signal arrives.
total=$(tcpdump -n -r "$T/browser.pcap" 2>/dev/null | wc -l) # -n: no DNS lookup per address
mkfifo "$T/fifo"
(cat "$T/browser.pcap"; sleep 4) >"$T/fifo" &
feeder=$!
"$CORSCOPE" -q -o json --workers 2 -r "$T/fifo" >/dev/null 2>"$T/usr1.err" &
cs=$!
# no signal before corscope has its handler, which it sets before opening
# the FIFO: SIGUSR1's default action would end it, and the feeder would
# then wait for a reader forever
n=0
while [ "$n" -lt 100 ] && ! ls -l "/proc/$cs/fd" 2>/dev/null | grep -q "$T/fifo"; do
    sleep 0.1
    n=$((n + 1))
done
n=0
while [ "$n" -lt 50 ] && ! grep -q packets "$T/usr1.err"; do
    sleep 0.3
    kill -USR1 "$cs" 2>/dev/null
    n=$((n + 1))
done
end_within "$cs" 30
rc=$?
pkill -P "$feeder" 2>/dev/null # a cat still opening the FIFO, or the sleep
kill "$feeder" 2>/dev/null
wait "$feeder"
line=$(grep -m1 packets "$T/usr1.err")
pk=$(echo "$line" | sed -n 's/^corscope: \([0-9]*\) packets, \([0-9]*\) flows.*requests.*responses$/\1/p')
if [ "$rc" = 0 ] && [ -n "$pk" ] && [ "$pk" -le "$total" ] && [ "$pk" -gt $((total - 1024 * 4)) ]; then
    echo "ok: SIGUSR1 with --workers 2: '$line' ($total packets in the capture)"
else
    echo "FAIL: SIGUSR1 with --workers 2: exit $rc, '$line', $total packets in the capture"
    cat "$T/usr1.err"
    fail=1
fi

"$CORSCOPE" -q -o json --workers auto -r pcaps/demo.pcap >"$T/auto" 2>&1 &&
    "$CORSCOPE" -q -o json -r pcaps/demo.pcap >"$T/one" 2>&1 && cmp -s "$T/auto" "$T/one" &&
    echo "ok: --workers auto ($(getconf _NPROCESSORS_ONLN) CPUs) equals one worker" ||
    { echo "FAIL: --workers auto"; fail=1; }
for bad in 0 -1 99999 x "" 2x; do
    "$CORSCOPE" --workers "$bad" -r pcaps/demo.pcap >"$T/out" 2>"$T/err"
    rc=$?
    if [ "$rc" = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] && [ ! -s "$T/out" ]; then
        echo "ok: --workers '$bad' refused: $(cat "$T/err")"
    else
        echo "FAIL: --workers '$bad': exit $rc, $(cat "$T/err")"
        fail=1
    fi
done
exit "$fail"
