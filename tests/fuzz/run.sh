#!/bin/sh
# Builds the libFuzzer targets with clang and runs each for SECONDS (default
# 60), one after the other, on seeds made from pcaps/*.pcap and the Zeek
# traces plus the committed corpus-min/ and regress/ inputs.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]      (TARGET: decode stream http cors pcapfile tls h2 handover stored)
#
# Crashes land in build/fuzz/crashes/<target>/; copy the ones you fixed to
# tests/fuzz/regress/<target>/ so that `make check` replays them.  Not part
# of `make check` (needs clang and libclang-rt).  Exits 1 when a target found
# a crash, leak or UB.
cd "$(dirname "$0")/../.." || exit 2
SECONDS_EACH=${1:-60}
[ $# -gt 0 ] && shift
TARGETS=${*:-decode stream http cors pcapfile tls h2 handover stored}
CLANG=${CLANG:-clang}
OUT=${FUZZ_OUT:-build/fuzz}
PKG_CFLAGS=$(pkg-config --cflags libpcap libndpi glib-2.0 libcrypto libnghttp2 2>/dev/null)
PKG_LIBS=$(pkg-config --libs glib-2.0 libcrypto libnghttp2 2>/dev/null)
PKG_LIBS_NDPI=$(pkg-config --libs libndpi 2>/dev/null)   # the handover target links the pipeline

if ! command -v "$CLANG" >/dev/null 2>&1; then
    echo "run.sh: $CLANG not found (apt-get install clang libclang-rt-14-dev)" >&2
    exit 2
fi
mkdir -p "$OUT"

. tests/fuzz/sources.sh

if [ ! -d "$OUT/seeds" ]; then
    python3 tests/fuzz/make_seeds.py "$OUT/seeds.tmp" pcaps tests/zeek/traces &&
        mv "$OUT/seeds.tmp" "$OUT/seeds"
fi

status=0
for t in $TARGETS; do
    bin=$OUT/fuzz_$t
    # shellcheck disable=SC2046
    if ! $CLANG -g -O1 -std=c11 -D_GNU_SOURCE -fno-omit-frame-pointer \
            -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
            $PKG_CFLAGS $(fuzz_includes) -o "$bin" "tests/fuzz/fuzz_$t.c" $(fuzz_sources "$t") $PKG_LIBS $PKG_LIBS_NDPI; then
        echo "run.sh: building fuzz_$t failed" >&2
        exit 2
    fi
    corpus=$OUT/corpus/$t
    crashes=$OUT/crashes/$t
    mkdir -p "$corpus" "$crashes"
    dirs="$corpus"
    for d in "$OUT/seeds/$t" "tests/fuzz/corpus-min/$t" "tests/fuzz/regress/$t"; do
        [ -d "$d" ] && dirs="$dirs $d"
    done
    dict=
    [ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
    echo "== fuzz_$t: ${SECONDS_EACH}s"
    # shellcheck disable=SC2086
    if ! "$bin" -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=2048 \
            -timeout=10 -print_final_stats=1 \
            -artifact_prefix="$crashes/" $dict $dirs 2>&1 | tee "$OUT/fuzz_$t.log" |
            grep -E '^(#[0-9]+.*(DONE|pulse)|==[0-9]+==ERROR|SUMMARY|stat::|artifact_prefix|Test unit written)'; then
        :
    fi
    if grep -qE '==[0-9]+==ERROR|runtime error|Test unit written|deadly signal' "$OUT/fuzz_$t.log"; then
        echo "run.sh: fuzz_$t found a problem, see $OUT/fuzz_$t.log and $crashes/" >&2
        status=1
    fi
done
exit $status
