#!/bin/sh
# bench/same-output.sh: runs a corscope binary over every capture in the tree
# (pcaps/, tests/, each golden line with its arguments) and optionally over
# bench captures, JSON and text, a few option sets each, and writes the
# outputs to a directory; run it for two binaries and diff the directories to
# show that a change (a speed-up) left the output byte-identical.
#
#   bench/same-output.sh BINARY OUTDIR [EXTRA_CAPTURE...]
#   diff -r OUT_BEFORE OUT_AFTER && echo identical
set -u
cd "$(dirname "$0")/.." || exit 2
[ $# -ge 2 ] || { echo "usage: $0 BINARY OUTDIR [EXTRA_CAPTURE...]" >&2; exit 2; }
BIN=$1 OUT=$2
shift 2
LC_ALL=C.UTF-8; export LC_ALL
mkdir -p "$OUT"
# run NAME ARGS...: stdout and exit code of one run
run() {
    name=$1; shift
    "$BIN" --color=never --sensor same "$@" >"$OUT/$name" 2>/dev/null
    echo "exit $?" >>"$OUT/$name"
}
# the extra (bench) captures are large: their outputs' checksums only
for p in "$@"; do
    n=$(echo "$p" | tr '/' '_')
    for a in "-o json" "-o text" "-o json --preflight-window 1" "-o text --all"; do
        # shellcheck disable=SC2086
        sum=$("$BIN" --color=never --sensor same -r "$p" $a 2>/dev/null | md5sum)
        echo "$sum $a" >>"$OUT/$n.md5"
    done
done
caps=$(find pcaps tests -name '*.pcap' -o -name '*.pcapng' | sort)
for p in $caps; do
    n=$(echo "$p" | tr '/' '_')
    k=""
    [ -f "${p%.*}.keys" ] && k="--keylog ${p%.*}.keys"
    for fmt in json text; do
        # shellcheck disable=SC2086
        run "$n.$fmt" -r "$p" $k -o $fmt
        # shellcheck disable=SC2086
        run "$n.all.$fmt" -r "$p" $k -o $fmt --all
    done
    # held preflights decided by a short window, one browser's view
    # shellcheck disable=SC2086
    run "$n.w1.json" -r "$p" $k -o json --preflight-window 1
    # shellcheck disable=SC2086
    run "$n.ff.text" -r "$p" $k -o text --browser firefox --preflight-window 1
    # shellcheck disable=SC2086
    run "$n.cr.json" -r "$p" $k -o json --browser chrome
done
# the golden lines, with their arguments
grep -v '^[[:space:]]*#' tests/TESTLIST | grep -v '^[[:space:]]*$' |
    while read -r name pcap json txt args; do
        # shellcheck disable=SC2086
        run "golden-$name.json" -r "$pcap" -o json $args
        # shellcheck disable=SC2086
        run "golden-$name.text" -r "$pcap" -o text $args
    done
echo "same-output: $(ls "$OUT" | wc -l) outputs in $OUT"
