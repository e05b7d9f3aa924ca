#!/bin/sh
# Golden tests: one per line of tests/TESTLIST (name, capture, expected JSON,
# expected text, extra arguments); runs corscope and diffs with
# tests/expected/.  Errors, besides a difference: a capture under the golden
# capture directories (GOLDEN_DIRS, default pcaps) that no line names, and a
# line whose capture or expected file is missing.  UPDATE=1 rewrites the
# expected files of every line.
cd "$(dirname "$0")/.." || exit 2
# Text goldens hold Firefox's curly quotes: the locale must be UTF-8
# whatever the caller's is (C.UTF-8 is built into glibc).
LC_ALL=C.UTF-8; export LC_ALL
BIN=./corscope
LIST=${TESTLIST:-tests/TESTLIST}
GOLDEN_DIRS=${GOLDEN_DIRS:-pcaps}
EXP=tests/expected
mkdir -p tests/out
fail=0; n=0; cases=0
[ -f "$LIST" ] || { echo "golden: $LIST not found"; exit 1; }

# The lines, without comments and blank lines.
entries=tests/out/golden-entries
grep -v '^[[:space:]]*#' "$LIST" | grep -v '^[[:space:]]*$' >"$entries"

# Every capture must have a line.
# shellcheck disable=SC2086
for p in $(find $GOLDEN_DIRS -name '*.pcap' -o -name '*.pcapng' | sort); do
    if ! awk -v p="$p" '$2 == p { found = 1 } END { exit !found }' "$entries"; then
        echo "ERROR $p: no line in $LIST (add one: name, capture, expected files, arguments)"
        fail=1
    fi
done

while read -r name pcap json txt args; do
    cases=$((cases + 1))
    if [ -z "$txt" ]; then
        echo "ERROR $LIST: line '$name $pcap $json' needs name, capture, expected JSON, expected text"
        fail=1; continue
    fi
    if [ ! -f "$pcap" ]; then
        echo "ERROR $name: capture $pcap not found"; fail=1; continue
    fi
    for fmt in json text; do
        if [ "$fmt" = json ]; then file=$json; else file=$txt; fi
        [ "$file" = - ] && continue
        exp="$EXP/$file"
        if [ ! -f "$exp" ] && [ -z "$UPDATE" ]; then
            echo "ERROR $name: expected file $exp not found"; fail=1; continue
        fi
        out="tests/out/golden-$name.$fmt"
        # shellcheck disable=SC2086
        $BIN -r "$pcap" -o $fmt --color=never --sensor golden $args >"$out" 2>"$out.err"
        rc=$?
        if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then
            echo "FAIL $name ($fmt): exit $rc: $(head -c 300 "$out.err")"; fail=1; continue
        fi
        if [ -n "$UPDATE" ]; then cp "$out" "$exp"; continue; fi
        n=$((n + 1))
        if ! diff -u "$exp" "$out" >"$out.diff"; then
            echo "FAIL $name ($fmt):"; head -n 40 "$out.diff"; fail=1
        fi
    done
done <"$entries"
echo "golden: $cases cases, $n comparisons"
[ $n -gt 0 ] || [ -n "$UPDATE" ] || { echo "golden: nothing compared"; exit 1; }
exit $fail
