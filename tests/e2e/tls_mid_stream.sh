#!/bin/sh
# TLS connections already under way when the capture began (corscope
# started after the browser opened them, a rotated file, a connection
# evicted and seen again) cannot be decrypted: their keys are found by the
# ClientHello's random.  With a key log they are counted as TLS picked up
# mid-stream (failed_by "no-handshake"), not handed to nDPI to be named
# "TLS" among the protocols not analyzable.  The capture is Firefox's real
# HTTPS one (pcaps/browser), cut so that it starts in the middle.
cd "$(dirname "$0")/../.." || exit 2
BIN=${BIN:-./corscope}
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cap=pcaps/browser/firefox-https.pcap
keys=pcaps/browser/firefox-https.keys
editcap -r "$cap" "$tmp/cut.pcap" 400-100000 >/dev/null 2>&1 || { echo "FAIL editcap"; exit 1; }

"$BIN" -q -r "$tmp/cut.pcap" --keylog "$keys" -o json >"$tmp/cut.json" 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
"$BIN" -q -r "$cap" --keylog "$keys" -o json >"$tmp/whole.json" 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
python3 - "$tmp/cut.json" "$tmp/whole.json" <<'PY' || fail=1
import json, sys
def summary(path):
    return [json.loads(l) for l in open(path) if '"type":"summary"' in l][-1]
cut, whole = summary(sys.argv[1]), summary(sys.argv[2])
bad = 0
def check(what, got, want):
    global bad
    print(("ok  " if got == want else "FAIL") + " %s: %r%s" % (what, got, "" if got == want else ", want %r" % (want,)))
    bad |= got != want
mid = cut["tls"]["failed_by"].get("no-handshake", 0)
check("cut: connections picked up mid-stream", mid > 0, True)
check("cut: every one counted as a TLS connection",
      cut["tls"]["connections"], cut["tls"]["decrypted"] + cut["tls"]["no_key"] + cut["tls"]["incomplete"] + cut["tls"]["failed"])
check("cut: none named TLS by nDPI", [p for p in cut["not_analyzable"] if p["protocol"] == "TLS" and p["flows"] >= mid], [])
check("whole: none mid-stream", whole["tls"]["failed_by"].get("no-handshake", 0), 0)
sys.exit(bad)
PY
"$BIN" -q -r "$tmp/cut.pcap" --keylog "$keys" --color=never >"$tmp/cut.txt" 2>&1
if grep -q "picked up mid-stream (their handshake was not captured" "$tmp/cut.txt"; then
    echo "ok   text summary says so"
else
    echo "FAIL text summary: no 'picked up mid-stream'"
    fail=1
fi
# Without a key log nothing changes: nDPI names them, as before.
"$BIN" -q -r "$tmp/cut.pcap" -o json 2>/dev/null | python3 -c '
import json, sys
s = [json.loads(l) for l in sys.stdin if "\"type\":\"summary\"" in l][-1]
n = sum(p["flows"] for p in s["not_analyzable"] if p["protocol"] == "TLS")
print(("ok  " if n > 0 else "FAIL") + " without a key log: %d TLS flows named by nDPI" % n)
sys.exit(n == 0)' || fail=1
exit $fail
