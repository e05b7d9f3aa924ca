#!/bin/sh
# A request still waiting when the capture ends is not a failure: the
# response, if any, came after the capture (a rotated file, `-c`, a live
# capture stopped).  corscope reports it with "end":"capture-ended" and the
# verdict unknown, never CORSDidNotSucceed.  A connection that goes silent
# for longer than --idle-timeout is still "unanswered" and blocked (the
# browser gives up), and the same exchange cut in two files is answered
# when both are read together, as rotated captures are meant to be.
cd "$(dirname "$0")/../.." || exit 2
BIN=${BIN:-./corscope}
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 - "$tmp" <<'PY' || exit 1
import importlib.util, os, sys
spec = importlib.util.spec_from_file_location("genpcap", "tools/gen-pcap.py")
g = importlib.util.module_from_spec(spec)
spec.loader.exec_module(g)
out = sys.argv[1]
req = g.browser_request("firefox", "GET", "/v1/pending")
resp = g.http_response(200, headers=[("Access-Control-Allow-Origin", g.APP_ORIGIN)], body=b"{}")

# 1. the capture ends with the request waiting, its connection open
cap = g.Capture(os.path.join(out, "ends.pcap"), seed=3)
c = cap.connection(("10.0.0.1", 40001), ("198.51.100.20", 80))
c.open()
c.request(req)
cap.finish()

# 2. the same request, then 400 s of silence on that connection (another one
#    goes on, so the clock passes the 300 s idle timeout inside the capture)
cap = g.Capture(os.path.join(out, "idle.pcap"), seed=3)
c = cap.connection(("10.0.0.1", 40002), ("198.51.100.20", 80))
other = cap.connection(("10.0.0.2", 40003), ("198.51.100.20", 80))
c.open()
other.open()
c.request(req)
for _ in range(8):
    cap.pause(50000, 50000)
    other.request(g.browser_request("firefox", "GET", "/v1/other", origin=None))
    other.response(g.http_response(200, body=b"{}"))
cap.finish()

# 3. one exchange, for cutting in two files between request and response
cap = g.Capture(os.path.join(out, "whole.pcap"), seed=3)
c = cap.connection(("10.0.0.1", 40004), ("198.51.100.20", 80))
c.open()
c.request(req)
c.response(resp)
cap.finish()
PY

get() { # FILE KEY: the first http event's value of KEY (python's repr)
    python3 -c '
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("type") == "http" and e.get("uri", "").startswith("/v1/pending"):
        print(e.get(sys.argv[2])); break
else:
    print("no-event")' "$1" "$2"
}
expect() { # WHAT GOT WANT
    if [ "$2" = "$3" ]; then
        echo "ok   $1: $2"
    else
        echo "FAIL $1: got $2, want $3"
        fail=1
    fi
}

"$BIN" -q -r "$tmp/ends.pcap" -o json >"$tmp/ends.json" 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
expect "capture ended: end" "$(get "$tmp/ends.json" end)" capture-ended
expect "capture ended: verdict" "$(get "$tmp/ends.json" verdict)" unknown
expect "capture ended: reason" "$(get "$tmp/ends.json" reason)" None
"$BIN" -q -r "$tmp/ends.pcap" --color=never >"$tmp/ends.txt" 2>&1
grep -q "no response: the capture ended first" "$tmp/ends.txt" || { echo "FAIL text: no 'the capture ended first'"; fail=1; }
grep -q "capture for longer" "$tmp/ends.txt" || { echo "FAIL text: no hint"; fail=1; }
grep -q "CORSDidNotSucceed" "$tmp/ends.txt" && { echo "FAIL text: CORSDidNotSucceed for a capture that ended"; fail=1; }

"$BIN" -q -r "$tmp/idle.pcap" -o json >"$tmp/idle.json" 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
expect "idle timeout: end" "$(get "$tmp/idle.json" end)" unanswered
expect "idle timeout: verdict" "$(get "$tmp/idle.json" verdict)" blocked
expect "idle timeout: reason" "$(get "$tmp/idle.json" reason)" CORSDidNotSucceed

# Cut after the request's frame: the first file alone ends with it waiting;
# both files read together are one capture, and it is answered.
n=$(tcpdump -nn -r "$tmp/whole.pcap" 2>/dev/null | grep -n 'GET /v1/pending' | head -1 | cut -d: -f1)
[ -n "$n" ] || { echo "FAIL no request frame in whole.pcap"; exit 1; }
editcap -r "$tmp/whole.pcap" "$tmp/part1.pcap" "1-$n" >/dev/null 2>&1 &&
    editcap -r "$tmp/whole.pcap" "$tmp/part2.pcap" "$((n + 1))-1000" >/dev/null 2>&1 ||
    { echo "FAIL editcap"; exit 1; }
"$BIN" -q -r "$tmp/part1.pcap" -o json >"$tmp/p1.json" 2>/dev/null
expect "first file alone: end" "$(get "$tmp/p1.json" end)" capture-ended
"$BIN" -q -r "$tmp/part1.pcap" -r "$tmp/part2.pcap" -o json >"$tmp/p12.json" 2>/dev/null
expect "both files: end" "$(get "$tmp/p12.json" end)" answered
expect "both files: verdict" "$(get "$tmp/p12.json" verdict)" allowed

exit $fail
