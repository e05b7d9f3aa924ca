#!/bin/sh
# The table sizes of limits.h have command-line overrides: for each option,
# a bundled capture run with a small value fills the table and the summary's
# counter of what was left out goes above 0, while the same capture with the
# default value leaves it at 0; values out of range are refused (one line on
# stderr, exit status 1).
cd "$(dirname "$0")/../.." || exit 2
BIN=${BIN:-./corscope}
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# summary_key FILE KEY: the summary's value of KEY ("caps_hit.reason_table").
summary_key() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
s = None
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o.get("type") == "summary":
        s = o
if s is None:
    sys.exit("no summary line")
for k in sys.argv[2].split("."):
    s = s[k]
print(s)
EOF
}

# check OPTION SMALL CAPTURE KEY: KEY is 0 by default and > 0 with OPTION=SMALL.
check() {
    opt=$1 small=$2 cap=$3 key=$4
    if ! "$BIN" -r "$cap" -o json --sensor x >"$tmp/def.json" 2>"$tmp/err"; then
        echo "FAIL $opt: default run of $cap failed: $(cat "$tmp/err")"; fail=1; return
    fi
    if ! "$BIN" -r "$cap" -o json --sensor x "$opt" "$small" >"$tmp/small.json" 2>"$tmp/err"; then
        echo "FAIL $opt $small: run of $cap failed: $(cat "$tmp/err")"; fail=1; return
    fi
    d=$(summary_key "$tmp/def.json" "$key") || { echo "FAIL $opt: no $key"; fail=1; return; }
    s=$(summary_key "$tmp/small.json" "$key") || { echo "FAIL $opt: no $key"; fail=1; return; }
    if [ "$d" != 0 ]; then
        echo "FAIL $opt: $key is $d with the default on $cap (expected 0)"; fail=1
    elif [ "$s" -le 0 ] 2>/dev/null; then
        echo "FAIL $opt $small: $key is $s on $cap (expected > 0)"; fail=1
    else
        echo "ok   $opt $small: $key 0 -> $s ($cap)"
    fi
}

check --max-protocols 0 pcaps/tls-sni.pcap caps_hit.protocol_table
check --max-reasons 1 pcaps/cors-firefox-reasons.pcap caps_hit.reason_table
check --max-endpoints 1 pcaps/cors-firefox-reasons.pcap caps_hit.endpoint_table
check --max-pending-preflights 1 pcaps/cors-firefox-reasons.pcap caps_hit.pending_preflights
check --max-preflight-cache 1 pcaps/cors-success.pcap caps_hit.preflight_cache
# A frame with tunnels nested deeper than --max-tunnel-depth is not decoded:
# counted in non_tcp_packets (GRE carrying VXLAN is two tunnels deep).
check --max-tunnel-depth 1 tests/decode/gre-vxlan.pcap non_tcp_packets

# The reason table holds what fits, in order: with 1 reason, exactly 1 named.
"$BIN" -r pcaps/cors-firefox-reasons.pcap -o json --sensor x --max-reasons 1 >"$tmp/r1.json" 2>/dev/null
n=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o.get("type") == "summary":
        print(len(o["cors"]["reasons"]))' "$tmp/r1.json")
if [ "$n" = 1 ]; then echo "ok   --max-reasons 1: 1 reason listed"; else
    echo "FAIL --max-reasons 1: $n reasons listed"; fail=1; fi

# Values out of range: one line on stderr, exit status 1, no output.
for bad in "--max-protocols 129" "--max-reasons 257" "--max-reasons -1" "--max-endpoints 16777217" \
    "--max-endpoints x" "--max-pending-preflights 0" "--max-pending-preflights 8193" \
    "--max-preflight-cache 0" "--max-preflight-cache 4097" "--max-tunnel-depth 33" \
    "--max-tunnel-depth 2x" "--max-protocols="; do
    # shellcheck disable=SC2086
    "$BIN" -r pcaps/demo.pcap -o json $bad >"$tmp/out" 2>"$tmp/err"
    rc=$?
    lines=$(wc -l <"$tmp/err")
    if [ "$rc" -ne 1 ] || [ "$lines" -ne 1 ] || [ -s "$tmp/out" ]; then
        echo "FAIL $bad: exit $rc, $lines stderr lines, stdout $(wc -c <"$tmp/out") bytes"; cat "$tmp/err"; fail=1
    else
        echo "ok   $bad refused: $(cat "$tmp/err")"
    fi
done
exit $fail
