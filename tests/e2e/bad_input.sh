#!/bin/sh
# Bad input and bad flags: the right exit status and exactly one clear line
# on stderr; a damaged capture still reports what was read before the damage.
cd "$(dirname "$0")/../.." || exit 2
BIN=./corscope
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
expect() { # name want_status want_stderr_regex command...
    name=$1 want=$2 pat=$3; shift 3
    "$@" >"$T/out" 2>"$T/err"; rc=$?
    lines=$(wc -l <"$T/err")
    if [ "$rc" != "$want" ]; then echo "FAIL $name: exit $rc, want $want; stderr: $(cat "$T/err")"; fail=1; return; fi
    if [ "$lines" != 1 ]; then echo "FAIL $name: $lines stderr lines, want 1: $(cat "$T/err")"; fail=1; return; fi
    if ! grep -Eq "$pat" "$T/err"; then echo "FAIL $name: stderr '$(cat "$T/err")' does not match /$pat/"; fail=1; return; fi
    echo "ok   $name: $(cat "$T/err")"
}

expect "missing file" 2 "nosuch.pcap" $BIN -r "$T/nosuch.pcap"
head -c 4000 /dev/urandom >"$T/garbage.bin"
expect "garbage file" 2 "garbage.bin" $BIN -r "$T/garbage.bin"
: >"$T/empty.pcap"
expect "empty file" 2 "empty.pcap" $BIN -r "$T/empty.pcap"
expect "no input" 1 "no input" $BIN
expect "bad flag" 1 "." $BIN --no-such-flag -r pcaps/demo.pcap
expect "bad format" 1 "format" $BIN -o xml -r pcaps/demo.pcap
expect "bad browser" 1 "browser" $BIN --browser opera -r pcaps/demo.pcap
expect "bad number" 1 "max-flows" $BIN --max-flows lots -r pcaps/demo.pcap
expect "bad filter" 2 "filter|expression|syntax" $BIN -r pcaps/demo.pcap "tcp port nonsense"

# Unknown link type: a valid pcap header with linktype 147 (USER0).
printf '\324\303\262\241\002\000\004\000\000\000\000\000\000\000\000\000\377\377\000\000\223\000\000\000' >"$T/user0.pcap"
expect "unknown link type" 2 "link.?type" $BIN -r "$T/user0.pcap"

# Truncated in the middle of a record: what came before is still reported.
src=pcaps/demo.pcap
size=$(wc -c <"$src")
head -c $((size - 37)) "$src" >"$T/trunc.pcap"
expect "truncated capture" 2 "trunc" $BIN -r "$T/trunc.pcap" -o json --all
if ! tail -n 1 "$T/out" | grep -q '"type":"summary"'; then
    echo "FAIL truncated capture: no summary"; fail=1
fi
n=$(grep -c '"type":"http"' "$T/out")
if [ "$n" -lt 1 ]; then echo "FAIL truncated capture: no transactions reported before the damage"; fail=1; fi
echo "truncated capture: $n transactions reported before the damage"
exit $fail
