#!/bin/sh
# Golden tests: for each pcaps/**/NAME.pcap[ng] with tests/expected/NAME.json
# and NAME.txt (text timeline, no colour), run corscope and diff.  tests/expected/NAME.args, when
# present, holds extra arguments.  UPDATE=1 rewrites the expected files.
cd "$(dirname "$0")/.." || exit 2
BIN=./corscope
fail=0; n=0
for p in $(find pcaps -name '*.pcap' -o -name '*.pcapng' | sort); do
    name=$(basename "$p"); name=${name%.pcapng}; name=${name%.pcap}
    args=""
    [ -f "tests/expected/$name.args" ] && args=$(cat "tests/expected/$name.args")
    for fmt in json text; do
        ext=$fmt; [ "$fmt" = text ] && ext=txt
        exp="tests/expected/$name.$ext"
        [ -f "$exp" ] || [ -n "$UPDATE" ] || continue
        out="tests/out/golden-$name.$ext"
        # shellcheck disable=SC2086
        $BIN -r "$p" -o $fmt --color=never $args >"$out" 2>"$out.err"
        rc=$?
        if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then
            echo "FAIL $p ($fmt): exit $rc: $(head -c 300 "$out.err")"; fail=1; continue
        fi
        if [ -n "$UPDATE" ]; then cp "$out" "$exp"; continue; fi
        n=$((n + 1))
        if ! diff -u "$exp" "$out" >"$out.diff"; then
            echo "FAIL $p ($fmt):"; head -n 40 "$out.diff"; fail=1
        fi
    done
done
echo "golden: $n comparisons"
[ $n -gt 0 ] || [ -n "$UPDATE" ] || { echo "golden: nothing compared"; exit 1; }
exit $fail
