#!/bin/sh
# Replays every committed fuzz input (tests/fuzz/regress/<target>/: crashers
# that were fixed; tests/fuzz/corpus-min/<target>/: a small minimized corpus)
# through the fuzz targets, built with gcc (no libFuzzer) under the CFLAGS of
# this `make check` (so `make SANITIZE=address,undefined check` replays them
# under ASan/UBSan) and linked with this build's objects of the sources
# tests/fuzz/sources.sh names for the target (the list `make fuzz` uses).
cd "$(dirname "$0")/../.." || exit 2
BUILD=${BUILD:-build/rel}
CC=${CC:-gcc}
CFLAGS=${CS_CFLAGS:--O2 -g -std=c11 -Wall -Wextra -D_GNU_SOURCE}
LDFLAGS=${CS_LDFLAGS:-}
OUT=$BUILD/fuzz-replay
mkdir -p "$OUT"
PKG_CFLAGS=$(pkg-config --cflags libpcap libndpi glib-2.0 libcrypto libnghttp2 2>/dev/null)
PKG_LIBS=$(pkg-config --libs libpcap libndpi glib-2.0 libcrypto libnghttp2 2>/dev/null)
. tests/fuzz/sources.sh
fail=0
for t in decode stream http cors pcapfile tls h2 handover stored; do
    objs=
    for src in $(fuzz_sources "$t"); do
        obj=${src#src/}                 # src/net/decode.c -> $BUILD/net/decode.o
        objs="$objs $BUILD/${obj%.c}.o"
    done
    # shellcheck disable=SC2086
    if ! $CC $CFLAGS $PKG_CFLAGS $(fuzz_includes) -o "$OUT/replay_$t" \
            tests/fuzz/replay.c "tests/fuzz/fuzz_$t.c" $objs \
            $LDFLAGS $PKG_LIBS; then
        echo "FAIL building replay_$t"; fail=1; continue
    fi
    set --
    for d in "tests/fuzz/regress/$t" "tests/fuzz/corpus-min/$t"; do
        [ -d "$d" ] || continue
        for f in "$d"/*; do [ -f "$f" ] && set -- "$@" "$f"; done
    done
    if [ $# -eq 0 ]; then echo "ok   $t: no inputs"; continue; fi
    if "$OUT/replay_$t" "$@" >"$OUT/$t.log" 2>&1; then
        echo "ok   $t: $# inputs"
    else
        echo "FAIL $t: $(grep '^replay:' "$OUT/$t.log" | tail -n 1)"
        tail -n 25 "$OUT/$t.log"
        fail=1
    fi
done
exit $fail
