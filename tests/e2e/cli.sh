#!/bin/sh
# The command line as a user meets it: output format (text by default), colours,
# --browser, --fail-on-blocked, -c, BPF filters with Wireshark frame
# numbers, several -r files, --version/--help.
cd "$(dirname "$0")/../.." || exit 2
BIN=./corscope
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }

$BIN --version | grep -Eq '^corscope [0-9]+\.[0-9]+' && ok "--version" || bad "--version"
$BIN --help | grep -q -- '--fail-on-blocked' && ok "--help lists options" || bad "--help"

# Text by default also when stdout is not a terminal; -o json for JSON lines.
$BIN -r pcaps/demo.pcap >"$T/default"
head -n 1 "$T/default" | grep -q '^flow ' && ok "text when stdout is not a terminal" || bad "default format: $(head -c 80 "$T/default")"
$BIN -r pcaps/demo.pcap -o json | head -c 1 | grep -q '{' && ok "-o json" || bad "-o json"
$BIN -r pcaps/demo.pcap -o text | grep -q '^Summary' && ok "-o text" || bad "-o text"

# Colour: never by default into a pipe, always on request, NO_COLOR respected for auto.
esc=$(printf '\033')
$BIN -r pcaps/demo.pcap -o text | grep -q "$esc" && bad "no colour into a pipe" || ok "no colour into a pipe"
$BIN -r pcaps/demo.pcap -o text --color=always | grep -q "$esc\[" && ok "--color=always" || bad "--color=always"
NO_COLOR=1 $BIN -r pcaps/demo.pcap -o text --color=auto | grep -q "$esc" && bad "NO_COLOR" || ok "NO_COLOR"

# --fail-on-blocked: 3 when something is blocked, 0 when not.
$BIN -r pcaps/demo.pcap -o json --fail-on-blocked >/dev/null; rc=$?
[ $rc -eq 3 ] && ok "--fail-on-blocked exits 3" || bad "--fail-on-blocked exit $rc"
$BIN -r pcaps/linktypes-raw.pcap -o json --fail-on-blocked >/dev/null; rc=$?
[ $rc -eq 0 ] && ok "--fail-on-blocked exits 0 when nothing is blocked" || bad "--fail-on-blocked clean exit $rc"

# --browser: the Authorization-under-* preflight warns in Firefox only; the
# one-line ACAO list blocks in both but for different reasons.
python3 - "$BIN" <<'PY' || fail=1
import json, subprocess, sys
b = sys.argv[1]
def events(*args):
    out = subprocess.run([b, "-r", "pcaps/cors-success.pcap", "-o", "json", *args],
                         capture_output=True, text=True).stdout.splitlines()
    return {(e["sport"], e["method"], e["uri"]): e for e in map(json.loads, out) if e["type"] == "http"}
both, ff, ch = events(), events("--browser", "firefox"), events("--browser", "chrome")
k = (42008, "OPTIONS", "/v1/private")
errs = []
if ff[k]["verdict"] != "warning": errs.append(f"firefox verdict {ff[k]['verdict']}")
if ch[k]["verdict"] != "allowed": errs.append(f"chrome verdict {ch[k]['verdict']}")
if both[k]["verdict"] != "warning": errs.append(f"both verdict {both[k]['verdict']}")
k = (42009, "GET", "/v1/shared")
if ff[k]["reason"] != "CORSAllowOriginNotMatchingOrigin" or ff[k]["chrome"] is not None:
    errs.append(f"firefox view {ff[k]['reason']} {ff[k]['chrome']}")
if ch[k]["chrome"] != "MultipleAllowOriginValues": errs.append(f"chrome error {ch[k]['chrome']}")
if not ("firefox" in both[k] and "chromium" in both[k]): errs.append("both: no per-browser objects")
if "firefox" in ff[k]: errs.append("firefox-only output carries per-browser objects")
print("FAIL --browser: " + "; ".join(errs) if errs else "ok   --browser firefox|chrome|both")
sys.exit(1 if errs else 0)
PY

# -c: stop after N packets.
n=$($BIN -r pcaps/demo.pcap -o json -c 10 | tail -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["packets"])')
[ "$n" = 10 ] && ok "-c 10 reads 10 packets" || bad "-c: read $n packets"

# A BPF filter keeps Wireshark's frame numbers; two files number on.
full=$($BIN -r pcaps/demo.pcap -o json | grep '"sport":51202' | head -n 1 | sed 's/.*"frame_req":\([0-9]*\).*/\1/')
filt=$($BIN -r pcaps/demo.pcap -o json tcp port 51202 | grep '"type":"http"' | head -n 1 | sed 's/.*"frame_req":\([0-9]*\).*/\1/')
[ -n "$full" ] && [ "$full" = "$filt" ] && ok "filter keeps frame numbers ($full)" || bad "filter numbering: $full vs $filt"
pk=$($BIN -r pcaps/linktypes-raw.pcap -o json | tail -n 1 | sed 's/.*"packets":\([0-9]*\).*/\1/')
two=$($BIN -r pcaps/linktypes-raw.pcap -r pcaps/linktypes-raw.pcap -o json --all | grep '"type":"http"' | tail -n 1 | sed 's/.*"frame_req":\([0-9]*\).*/\1/')
one=$($BIN -r pcaps/linktypes-raw.pcap -o json --all | grep '"type":"http"' | tail -n 1 | sed 's/.*"frame_req":\([0-9]*\).*/\1/')
[ "$two" = $((one + pk)) ] && ok "frame numbers continue across -r files" || bad "two files: $two, want $((one + pk))"
# The reader of the output goes away (`| head`): corscope stops reading,
# even an endless input, and exits 0 without a message.  The input repeats
# demo.pcap's connections forever, each round from other addresses and
# later, so the output never dries up.
cat >"$T/endless.py" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
out = sys.stdout.buffer
out.write(data[:24])
recs, off = [], 24
while off + 16 <= len(data):
    sec, frac, incl, orig = struct.unpack("<IIII", data[off:off + 16])
    recs.append((sec, frac, orig, bytearray(data[off + 16:off + 16 + incl])))
    off += 16 + incl
try:
    for r in range(1, 1 << 20):
        for sec, frac, orig, fr in recs:
            if fr[12:14] == b"\x08\x00":          # IPv4: other addresses each round
                fr[14 + 13] = r & 0xff
                fr[14 + 17] = r & 0xff
                fr[14 + 14] = (r >> 8) & 0xff
                fr[14 + 18] = (r >> 8) & 0xff
            out.write(struct.pack("<IIII", sec + 1000 * r, frac, len(fr), orig) + fr)
except BrokenPipeError:
    pass
PY
python3 "$T/endless.py" pcaps/demo.pcap 2>/dev/null |
    { timeout 30 $BIN -r - -o json 2>"$T/err"; echo $? >"$T/rc"; } | head -n 1 >"$T/first"
grep -q '"type":"http"' "$T/first" && [ "$(cat "$T/rc")" = 0 ] && [ ! -s "$T/err" ] &&
    ok "stops when the output's reader is gone (| head, endless input)" ||
    bad "| head on an endless input: exit $(cat "$T/rc") $(head -c 300 "$T/err")"

# --preflight-window: cors-success's PUT /v1/items/42 follows its preflight
# 16 ms later.  The default window waits for it (omit, allowed); a 5 ms
# window closes first: the preflight is decided from the absence (include,
# blocked), and the late PUT is still linked to it.
pf() { $BIN -r pcaps/cors-success.pcap -o json "$@" 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    e = json.loads(l)
    if e.get("method") == "OPTIONS" and e.get("uri") == "/v1/items/42":
        print(e.get("verdict"), e.get("credentials"), e.get("credentials_from"), e.get("reason"))'; }
[ "$(pf)" = "allowed omit actual-request-followed None" ] &&
    ok "--preflight-window default: the actual request 16 ms later decides the mode" ||
    bad "--preflight-window default: $(pf)"
[ "$(pf --preflight-window 5)" = "blocked include no-actual-request CORSMissingAllowCredentials" ] &&
    ok "--preflight-window 5: decided from the absence of the actual request" ||
    bad "--preflight-window 5: $(pf --preflight-window 5)"
$BIN -r pcaps/cors-success.pcap --preflight-window 0 >/dev/null 2>&1
[ $? = 1 ] && ok "--preflight-window 0: usage error (exit 1)" || bad "--preflight-window 0 accepted"
exit $fail
