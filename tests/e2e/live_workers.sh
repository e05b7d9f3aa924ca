#!/bin/sh
# Live --workers 2 end to end (-i), in a private network namespace: a real
# HTTP server (tests/live/cors_server.py) on 127.0.0.1, curl clients from
# eight loopback addresses (so the IP pairs shard over both workers),
# corscope -i lo --workers 2 (two capture sockets in one PACKET_FANOUT group
# sharded by the kernel with corscope's cBPF hash) beside tcpdump -w on the
# same interface.  corscope -r on tcpdump's file must see the same
# transactions, judged the same.  Then SIGTERM: exit 0 with the end lines.
# Also: -w and --keylog with --workers > 1 live are refused (exit 1).
#
# Needs root and unshare(1)/ip(8); without them it prints "skip:" and exits
# 77 (counted as skipped).  Nothing outside its namespace is touched.
cd "$(dirname "$0")/../.." || exit 2
CORSCOPE=${CORSCOPE:-$PWD/corscope}

if [ "${1:-}" != --inside ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "skip: live --workers test needs root (running as uid $(id -u))"
        exit 77
    fi
    for tool in unshare ip; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "skip: live --workers test needs $tool (not installed)"
            exit 77
        fi
    done
    if ! unshare --net true 2>/dev/null; then
        echo "skip: live --workers test: unshare --net fails here (no namespace support)"
        exit 77
    fi
    for tool in curl python3 tcpdump; do
        command -v "$tool" >/dev/null 2>&1 || { echo "FAIL: $tool is missing"; exit 1; }
    done
    [ -x "$CORSCOPE" ] || { echo "FAIL: $CORSCOPE not built"; exit 1; }
    exec timeout 90 unshare --net sh "$0" --inside
fi

# ---- inside the namespace -------------------------------------------------
ip link set lo up || { echo "FAIL: ip link set lo up"; exit 1; }
T=$(mktemp -d) || exit 1
chmod 755 "$T"
PORT=8080
URL=http://127.0.0.1:$PORT
fail=0
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    for p in $pids; do wait "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
wait_for() {
    n=$(($1 * 10)); shift
    while [ "$n" -gt 0 ]; do
        "$@" && return 0
        sleep 0.1
        n=$((n - 1))
    done
    return 1
}

# refused: -w and --keylog with several live workers
"$CORSCOPE" -i lo --workers 2 -w "$T/x.pcap" >/dev/null 2>"$T/r1.err"; rc=$?
[ "$rc" = 1 ] && [ "$(wc -l <"$T/r1.err")" = 1 ] && ok "-i --workers 2 -w: refused, one line, exit 1" ||
    bad "-i --workers 2 -w: exit $rc, $(cat "$T/r1.err")"
: >"$T/k.keys"
"$CORSCOPE" -i lo --workers 2 --keylog "$T/k.keys" >/dev/null 2>"$T/r2.err"; rc=$?
[ "$rc" = 1 ] && [ "$(wc -l <"$T/r2.err")" = 1 ] && ok "-i --workers 2 --keylog: refused, one line, exit 1" ||
    bad "-i --workers 2 --keylog: exit $rc, $(cat "$T/r2.err")"

# the clients' address pairs fall on both workers (shard.c's hash, mod 2)
python3 - <<'PY' || bad "the test's clients all shard to one worker"
def mix(h):
    h ^= h >> 16; h = (h * 0x7feb352d) & 0xffffffff
    h ^= h >> 15; h = (h * 0x846ca68b) & 0xffffffff
    return h ^ (h >> 16)
w = {mix((0x7f000001 + 0x7f000000 + i) & 0xffffffff) % 2 for i in range(2, 10)}
raise SystemExit(0 if w == {0, 1} else 1)
PY
python3 tests/live/cors_server.py "$PORT" >"$T/server.out" 2>"$T/server.err" &
pids="$pids $!"
wait_for 5 grep -q ready "$T/server.out" || { cat "$T/server.err"; echo "FAIL: server did not start"; exit 1; }

tcpdump -i lo -w "$T/ref.pcap" -U -s 0 tcp port "$PORT" 2>"$T/tcpdump.err" &
TD=$!
pids="$pids $TD"
"$CORSCOPE" -i lo -o json --workers 2 -Z root tcp port "$PORT" >"$T/live.json" 2>"$T/live.err" &
CS=$!
pids="$pids $CS"
# both running: tcpdump says "listening", corscope its start line
wait_for 5 grep -q listening "$T/tcpdump.err" || bad "tcpdump did not start"
wait_for 5 grep -q . "$T/live.err" || bad "corscope did not start"
threads_ge() { [ "$(ls /proc/"$CS"/task 2>/dev/null | wc -l)" -ge "$1" ]; }
wait_for 5 threads_ge 3 && ok "corscope runs $(ls /proc/"$CS"/task | wc -l) threads (main + 2 workers)" ||
    bad "only $(ls /proc/"$CS"/task | wc -l) threads"

for i in 2 3 4 5 6 7 8 9; do
    C="--interface 127.0.0.$i"
    curl -s -o /dev/null --max-time 5 $C -H 'Origin: http://app.example' "$URL/ok?c=$i"
    curl -s -o /dev/null --max-time 5 $C -H 'Origin: http://app.example' "$URL/noacao?c=$i"
    curl -s -o /dev/null --max-time 5 $C -H 'Origin: http://app.example' -X OPTIONS \
        -H 'Access-Control-Request-Method: PUT' "$URL/preflight?c=$i"
    curl -s -o /dev/null --max-time 5 $C -H 'Origin: http://app.example' -X PUT -d x "$URL/preflight?c=$i"
done
sleep 1.5 # the last preflight's window, and the kernel's buffers
# SIGUSR1: one statistics line, both workers' counters and both sockets'
kill -USR1 "$CS"
if wait_for 3 grep -q 'received.*dropped by the kernel' "$T/live.err" && kill -0 "$CS" 2>/dev/null; then
    line=$(grep -m1 'received' "$T/live.err")
    case $line in
    *" 32 requests, 32 responses, "*) ok "SIGUSR1: $line" ;;
    *) bad "SIGUSR1: want 32 requests and 32 responses: $line" ;;
    esac
else
    bad "SIGUSR1: no statistics line on stderr, or corscope stopped"; cat "$T/live.err"
fi
kill -TERM "$CS"
n=50
while kill -0 "$CS" 2>/dev/null && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
if kill -0 "$CS" 2>/dev/null; then
    kill -9 "$CS"; bad "SIGTERM: corscope --workers 2 did not stop within 5 s"
fi
wait "$CS"; rc=$?
[ "$rc" = 0 ] && ok "SIGTERM: exit 0" || { bad "SIGTERM: exit $rc"; cat "$T/live.err"; }
grep -q 'packets captured' "$T/live.err" && grep -q 'dropped by kernel' "$T/live.err" &&
    ok "end lines: $(grep 'captured' "$T/live.err")" || { bad "no end lines"; cat "$T/live.err"; }
kill -INT "$TD"; wait "$TD"

"$CORSCOPE" -r "$T/ref.pcap" -o json >"$T/file.json" 2>"$T/file.err" || bad "corscope -r ref.pcap: exit $?"
# the same transactions: (client, method, uri, status, verdict), sorted
python3 - "$T/live.json" "$T/file.json" <<'PY' || fail=1
import json, sys
def txns(path):
    out = []
    for line in open(path):
        e = json.loads(line)
        if e.get("type") == "http":
            out.append((e.get("src"), e.get("method"), e.get("uri"), e.get("status"), e.get("verdict")))
    return sorted(out)
live, ref = txns(sys.argv[1]), txns(sys.argv[2])
if len(ref) < 32:
    print("FAIL: the reference capture has only %d transactions" % len(ref)); sys.exit(1)
if live != ref:
    print("FAIL: live --workers 2 and -r differ")
    for t in sorted(set(live) ^ set(ref)):
        print("  ", "live" if t in live else "file", t)
    sys.exit(1)
print("ok: live --workers 2 and -r on tcpdump's capture: the same %d transactions" % len(ref))
PY
[ "$fail" = 0 ] && echo "live_workers: all passed"
exit "$fail"
