#!/bin/sh
# Issue 12 items 4 and 6: a capture whose Host, URI, Origin and echoed
# response headers carry C0, raw C1 (0x9B is CSI on 8-bit terminals), UTF-8
# C1, bidi and separator controls and invalid UTF-8
# (tests/hostile/escape.py).  The text output, with colour forced on and
# off, with one browser and both, must be valid UTF-8 holding no control
# from the wire; the JSON output must give the exact wire bytes back.
cd "$(dirname "$0")/../.." || exit 2
BIN=${BIN:-./corscope}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
python3 tests/hostile/escape.py gen "$T/escape.pcap" || { echo "FAIL generator"; exit 1; }

for color in never always; do
    for browser in firefox both; do
        c=0; [ $color = always ] && c=1
        if ! $BIN -r "$T/escape.pcap" -o text --all --color=$color -b $browser >"$T/out" 2>"$T/err"; then
            echo "FAIL text --color=$color -b $browser: exit status"; cat "$T/err"; fail=1; continue
        fi
        if python3 tests/hostile/escape.py text "$T/out" $c; then
            echo "ok   text --color=$color -b $browser"
        else
            echo "FAIL text --color=$color -b $browser"; fail=1
        fi
    done
done

if $BIN -r "$T/escape.pcap" -o json --all -b both >"$T/out" 2>"$T/err" &&
   python3 tests/hostile/escape.py json "$T/out"; then
    echo "ok   json"
else
    echo "FAIL json"; cat "$T/err"; fail=1
fi
exit $fail
