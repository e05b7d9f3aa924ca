#!/bin/sh
# Live start and end lines (issue 17), in a private network namespace: on
# stderr, whatever -o is and wherever stdout goes, tcpdump's "listening on
# lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes" at the
# start and "N packets captured / received by filter / dropped by kernel /
# dropped by interface" at the end, with the loopback double count
# explained; -q removes them.  Needs root, unshare and ip (else skip, 77).
cd "$(dirname "$0")/../.." || exit 2
CORSCOPE=${CORSCOPE:-$PWD/corscope}
if [ "${1:-}" != --inside ]; then
    [ "$(id -u)" = 0 ] || { echo "skip: live_lines needs root"; exit 77; }
    for tool in unshare ip; do
        command -v "$tool" >/dev/null 2>&1 || { echo "skip: live_lines needs $tool"; exit 77; }
    done
    unshare --net true 2>/dev/null || { echo "skip: live_lines: unshare --net fails here"; exit 77; }
    for tool in curl python3; do
        command -v "$tool" >/dev/null 2>&1 || { echo "FAIL: $tool is missing"; exit 1; }
    done
    [ -x "$CORSCOPE" ] || { echo "FAIL: $CORSCOPE not built"; exit 1; }
    exec timeout 90 unshare --net sh "$0" --inside
fi

ip link set lo up || { echo "FAIL: ip link set lo up"; exit 1; }
T=$(mktemp -d) || exit 1
chmod 755 "$T"
PORT=8091
fail=0
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    for p in $pids; do wait "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
wait_for() {
    n=$(($1 * 10)); shift
    while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done
    return 1
}
stop() {
    kill -INT "$1"
    n=50
    while kill -0 "$1" 2>/dev/null && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
    if kill -0 "$1" 2>/dev/null; then kill -9 "$1"; wait "$1"; return 124; fi
    wait "$1"
}

python3 tests/live/cors_server.py "$PORT" >"$T/server.out" 2>"$T/server.err" &
pids="$pids $!"
wait_for 5 grep -q ready "$T/server.out" || { cat "$T/server.err"; echo "FAIL: server did not start"; exit 1; }

START='^listening on lo, link-type EN10MB \(Ethernet\), snapshot length 262144 bytes$'
# run NAME OUTPUT-ARGS...: a capture with stdout as given by the caller (in
# $T/NAME.out), three requests, SIGINT.
run() {
    name=$1; shift
    "$CORSCOPE" -i lo -Z root "$@" tcp port "$PORT" >"$T/$name.out" 2>"$T/$name.err" &
    cs=$!
    wait_for 5 grep -q . "$T/$name.err" || sleep 1
    for p in /noacao /ok /noacao; do
        curl -s -o /dev/null --max-time 5 -H 'Origin: http://app.example' "http://127.0.0.1:$PORT$p"
    done
    sleep 0.5
    stop "$cs"
}

for o in json text; do
    run "$o" -o "$o"
    first=$(head -n 1 "$T/$o.err")
    if echo "$first" | grep -Eq "$START"; then ok "-o $o: start line '$first'"; else bad "-o $o: start line '$first'"; fi
    cap=$(sed -n 's/^\([0-9]*\) packets\{0,1\} captured$/\1/p' "$T/$o.err")
    recv=$(sed -n 's/^\([0-9]*\) packets\{0,1\} received by filter$/\1/p' "$T/$o.err")
    kdrop=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel$/\1/p' "$T/$o.err")
    idrop=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by interface$/\1/p' "$T/$o.err")
    if [ -n "$cap" ] && [ "$cap" -gt 0 ] && [ -n "$recv" ] && [ -n "$kdrop" ] && [ -n "$idrop" ]; then
        ok "-o $o: end lines: $cap captured, $recv received by filter, $kdrop/$idrop dropped"
    else
        bad "-o $o: end lines missing: $(cat "$T/$o.err")"
    fi
    # Linux counts each loopback packet twice (sent, received); said so
    if [ -n "$recv" ] && [ -n "$cap" ] && [ "$recv" -gt "$cap" ]; then
        grep -q '^(on a loopback interface the kernel counts each packet twice' "$T/$o.err" &&
            ok "-o $o: $recv received vs $cap captured explained" || bad "-o $o: double count not explained"
    fi
done
if grep -q 'received (loopback: the kernel counts each packet twice' "$T/text.out"; then
    ok "text summary explains the loopback count"
else
    bad "text summary: $(grep Capture: "$T/text.out")"
fi
# the same numbers in the JSON summary as on stderr
python3 - "$T/json.out" "$T/json.err" <<'PY' || fail=1
import json, re, sys
summary = [json.loads(l) for l in open(sys.argv[1]) if l.strip()][-1]
err = open(sys.argv[2]).read()
recv = int(re.search(r"^(\d+) packets? received by filter$", err, re.M).group(1))
cap = int(re.search(r"^(\d+) packets? captured$", err, re.M).group(1))
flat = json.dumps(summary)
ok = str(recv) in flat and str(cap) in flat
print(("ok: " if ok else "FAIL: ") + "JSON summary holds %d captured and %d received" % (cap, recv))
sys.exit(0 if ok else 1)
PY

# stdout to /dev/null: the lines are still on stderr
"$CORSCOPE" -i lo -Z root -o json tcp port "$PORT" >/dev/null 2>"$T/null.err" &
cs=$!
wait_for 5 grep -q . "$T/null.err"
stop "$cs"
grep -Eq "$START" "$T/null.err" && grep -q 'packets captured$\|packet captured$' "$T/null.err" &&
    ok "> /dev/null: start and end lines on stderr" || bad "> /dev/null: $(cat "$T/null.err")"

# -q: none of them
run quiet -q -o text
if [ -s "$T/quiet.err" ]; then bad "-q: stderr '$(cat "$T/quiet.err")'"; else ok "-q: nothing on stderr"; fi
grep -q '^Summary' "$T/quiet.out" && ok "-q: the output is still there" || bad "-q: no summary"

exit $fail
