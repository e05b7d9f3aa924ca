#!/bin/sh
# What a new user meets in the first minutes (issue 17), everything that
# can be checked without a terminal (tests/e2e/terminal.sh does the rest):
# text wherever stdout goes, JSON only with -o json; no colour, no progress
# line and no wrapping off a terminal; flows in order of first packet and
# the "Not shown" count; verdicts that depend on credentials said in words;
# reason keys with their phrases; the legend of the kinds shown; ASCII
# quotes outside a UTF-8 locale; "did you mean -r"; -q.
cd "$(dirname "$0")/../.." || exit 2
BIN=./corscope
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }
export LC_ALL=C.UTF-8
esc=$(printf '\033')

# ---- text wherever stdout goes ----------------------------------------------
$BIN -r pcaps/demo.pcap >"$T/file" 2>"$T/file.err"
$BIN -r pcaps/demo.pcap 2>/dev/null | cat >"$T/pipe"
if head -n 1 "$T/file" | grep -q '^flow [0-9]' && grep -q '^Summary$' "$T/file" && cmp -s "$T/file" "$T/pipe"; then
    ok "text into a file and into a pipe, the same bytes"
else
    bad "default output is not text: $(head -c 100 "$T/file")"
fi
$BIN -r pcaps/demo.pcap | head -n 2 >"$T/head"
[ "$(wc -l <"$T/head")" -eq 2 ] && ok "| head -n 2" || bad "| head"
$BIN -r pcaps/demo.pcap -o json >"$T/json"
if python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/json" 2>/dev/null; then
    ok "-o json: JSON lines"
else
    bad "-o json is not JSON lines"
fi
grep -q "$esc" "$T/file" && bad "colour into a file" || ok "no colour into a file"
[ -s "$T/file.err" ] && bad "stderr not empty off a terminal: $(head -c 200 "$T/file.err")" || ok "nothing on stderr (no progress line) off a terminal"

# ---- no wrapping off a terminal ---------------------------------------------
longest=$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$T/file")
[ "$longest" -gt 200 ] && ok "message lines whole in a file ($longest columns)" || bad "lines wrapped in a file (longest $longest)"

# ---- flows in order of first packet; Not shown --------------------------------
for p in pcaps/demo.pcap pcaps/ugly-tcp.pcap pcaps/cors-success.pcap tests/browser/pcaps/firefox.pcap; do
    [ -f "$p" ] || continue
    $BIN -r "$p" --all >"$T/order" 2>/dev/null
    ids=$(awk '$1 == "flow" { print $2 }' "$T/order")
    starts=$(awk '$1 == "flow" { print $(NF-1), $NF }' "$T/order")
    if [ "$ids" = "$(echo "$ids" | sort -n)" ] && [ "$starts" = "$(echo "$starts" | sort)" ] && [ -n "$ids" ]; then
        ok "$p: $(echo "$ids" | wc -l) flows in order of first packet"
    else
        bad "$p: flows out of order: $(echo $ids)"
    fi
done
n=$(sed -n 's/^  Not shown: \([0-9]*\) connections\{0,1\} without cross-origin requests; --all shows them$/\1/p' "$T/file")
shown=$(grep -c '^flow ' "$T/file")
$BIN -r pcaps/demo.pcap --all >"$T/all"
shown_all=$(grep -c '^flow ' "$T/all")
if [ -n "$n" ] && [ "$n" -gt 0 ] && [ $((shown + n)) -eq "$shown_all" ]; then
    ok "Not shown: $n connection(s); --all shows $shown_all = $shown + $n"
else
    bad "Not shown line '$n', $shown flows shown, $shown_all with --all"
fi
grep -q '^  Not shown' "$T/all" && bad "--all still says Not shown" || ok "--all: no Not shown line"

# ---- words ----------------------------------------------------------------
grep -q 'with credentials: CORS' "$T/file" && bad "a bare reason key after the verdict" || ok "no '[with credentials: KEY]'"
grep -q 'allowed; would be blocked if sent with credentials (Access-Control-Allow-Origin is `\*`)' "$T/file" &&
    ok "allowed; would be blocked if sent with credentials (ACAO is *)" || bad "credentials sentence missing"
keys=$(sed -n '/^  Blocked or warned, by reason:$/,/^  [A-Z]/p' "$T/file" | grep -c '^ *[0-9][0-9]*  CORS')
phrased=$(sed -n '/^  Blocked or warned, by reason:$/,/^  [A-Z]/p' "$T/file" | grep -c '^ *[0-9][0-9]*  CORS[A-Za-z0-9]*: [a-zA-Z`]')
[ "$keys" -gt 0 ] && [ "$keys" -eq "$phrased" ] && ok "$keys reason keys, each with its phrase" || bad "reasons: $keys keys, $phrased phrased"
for p in pcaps/cors-firefox-reasons.pcap pcaps/demo.pcap; do
    $BIN -r "$p" >"$T/r" 2>/dev/null
    bare=$(grep -E '^ +[0-9]+  CORS[A-Za-z0-9]+$' "$T/r")
    [ -z "$bare" ] && ok "$p: no reason key without a phrase" || bad "$p: $bare"
done

# ---- legend: the kinds that appeared, once each -------------------------------
for opt in "" --all; do
    $BIN -r pcaps/demo.pcap $opt >"$T/l"
    used=$(awk '$1 ~ /^\+[0-9.]+s$/ { for (i = 1; i <= NF; i++) if ($i ~ /^(simple|preflight|actual|no-cors|same-origin)$/) { print $i; break } }' "$T/l" | sort -u)
    legend=$(sed -n '/^Kinds$/,$p' "$T/l" | awk 'NR > 1 { print $1 }' | sort)
    if [ -n "$used" ] && [ "$used" = "$legend" ]; then
        ok "legend${opt:+ ($opt)}: $(echo $legend)"
    else
        bad "legend${opt:+ ($opt)}: kinds used '$(echo $used)', legend '$(echo $legend)'"
    fi
done

# ---- curly quotes only in a UTF-8 locale --------------------------------------
LC_ALL=C $BIN -r pcaps/demo.pcap >"$T/c"
if ! grep -q "$(printf '\342\200\230')" "$T/c" && grep -q "header 'Access-Control-Allow-Origin' missing" "$T/c" &&
    grep -q "$(printf '\342\200\230')" "$T/file"; then
    ok "LC_ALL=C: ASCII quotes; C.UTF-8: curly quotes"
else
    bad "quotes by locale"
fi
LANG= LC_ALL= LC_CTYPE= $BIN -r pcaps/demo.pcap | grep -q "$(printf '\342\200\230')" && bad "no locale: curly quotes" || ok "no locale set: ASCII quotes"

# ---- a file name where the filter goes ----------------------------------------
$BIN pcaps/demo.pcap >"$T/dm.out" 2>"$T/dm.err"; rc=$?
if [ $rc -eq 1 ] && [ "$(cat "$T/dm.err")" = "corscope: did you mean -r pcaps/demo.pcap?" ] && [ ! -s "$T/dm.out" ]; then
    ok "corscope FILE: one line, did you mean -r, exit 1"
else
    bad "corscope FILE: exit $rc, '$(cat "$T/dm.err")'"
fi
$BIN -r pcaps/demo.pcap pcaps/cors-success.pcap >/dev/null 2>"$T/dm2.err"; rc=$?
[ $rc -eq 1 ] && grep -qx "corscope: did you mean -r pcaps/cors-success.pcap?" "$T/dm2.err" && ok "second file as filter: did you mean" || bad "second file: exit $rc $(cat "$T/dm2.err")"
$BIN -r pcaps/demo.pcap tcp port 80 >/dev/null 2>&1 && ok "a real filter still works" || bad "filter tcp port 80"

# ---- -q ----------------------------------------------------------------------
: >"$T/empty.keys"
SSLKEYLOGFILE="$T/empty.keys" $BIN -r pcaps/demo.pcap >/dev/null 2>"$T/chatty"
SSLKEYLOGFILE="$T/empty.keys" $BIN -q -r pcaps/demo.pcap >"$T/quiet" 2>"$T/quiet.err"
if [ -s "$T/chatty" ] && [ ! -s "$T/quiet.err" ] && cmp -s "$T/quiet" "$T/file"; then
    ok "-q: the key log line gone, the output the same"
else
    bad "-q: stderr '$(cat "$T/quiet.err")', without -q '$(cat "$T/chatty")'"
fi
$BIN -q --quiet -r pcaps/nosuch.pcap 2>"$T/qerr"; rc=$?
[ $rc -eq 2 ] && [ -s "$T/qerr" ] && ok "-q keeps errors" || bad "-q hid an error (exit $rc)"

exit $fail
