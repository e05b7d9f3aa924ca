#!/bin/sh
# Tunnels and link types (issue 16 section 3): for every capture in
# tests/decode/ (written by tests/decode/make_tunnels.py, checked here to be
# exactly what it writes), corscope must see the same HTTP requests and
# responses as tshark, and the frames that carry no IP must be skipped, not
# read as errors.  These captures are not goldens: only this script reads them.
cd "$(dirname "$0")/../.." || exit 2
BIN=${BIN:-./corscope}
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

command -v tshark >/dev/null 2>&1 || { echo "tshark missing (scripts/install-deps.sh test)"; exit 1; }

python3 tests/decode/make_tunnels.py "$tmp/gen" || exit 1
n=0
for f in tests/decode/*.pcap; do
    name=$(basename "$f")
    n=$((n + 1))
    if ! cmp -s "$f" "$tmp/gen/$name"; then
        echo "FAIL $name: differs from what make_tunnels.py writes"; fail=1
    fi
    # One line per request ("REQ method uri") and per response ("RESP code").
    tshark -r "$f" -Y http -T fields -e http.request.method -e http.request.uri \
        -e http.response.code 2>/dev/null |
        awk -F '\t' '$1 != "" { print "REQ " $1 " " $2 } $3 != "" { print "RESP " $3 }' |
        sort >"$tmp/tshark"
    "$BIN" -r "$f" -o json --all >"$tmp/json" 2>"$tmp/err" || { echo "FAIL $name: corscope exit"; cat "$tmp/err"; fail=1; }
    python3 - "$tmp/json" >"$tmp/ours" <<'EOF' || fail=1
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["type"] == "http":
        if o["method"] is not None:
            print("REQ %s %s" % (o["method"], o["uri"]))
        if o["status"] is not None:
            print("RESP %d" % o["status"])
    elif o["type"] == "summary":
        # every frame is either a TCP segment or a counted skip, never an error
        if o["malformed_packets"] or o["truncated_packets"]:
            sys.exit("errors in summary: %s" % line)
EOF
    sort -o "$tmp/ours" "$tmp/ours"
    if [ ! -s "$tmp/tshark" ] || [ "$(wc -l <"$tmp/tshark")" -lt 4 ]; then
        echo "FAIL $name: tshark saw too little HTTP"; cat "$tmp/tshark"; fail=1
    elif ! diff "$tmp/tshark" "$tmp/ours" >"$tmp/diff"; then
        echo "FAIL $name: corscope and tshark differ (< tshark, > corscope)"; cat "$tmp/diff"; fail=1
    else
        echo "ok $name: $(wc -l <"$tmp/ours") messages as tshark"
    fi
done
[ "$n" -ge 12 ] || { echo "FAIL: only $n captures in tests/decode"; fail=1; }
[ "$(ls "$tmp/gen" | wc -l)" -eq "$n" ] || { echo "FAIL: make_tunnels.py writes captures not committed"; fail=1; }
exit $fail
