#!/bin/sh
# Runs every test of `make check`: the CUnit programs, the golden pcaps, the
# end-to-end scripts.  Prints one line per test program and, last,
# "check: N passed, M failed, K skipped".  A test that cannot run here (an
# optional tool or privilege missing) exits 77, as automake's tests do, and
# is counted as skipped, with its reason, never as passed.
SKIP=77
BUILD=${BUILD:-build/rel}
cd "$(dirname "$0")/.." || exit 2
mkdir -p tests/out
passed=0
failed=0
skipped=0
failed_names=""
skipped_names=""

run() { # name command...
    name=$1; shift
    log="tests/out/$(echo "$name" | tr '/ ' '__').log"
    start=$(date +%s)
    "$@" >"$log" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1)); status=ok
    elif [ "$rc" -eq "$SKIP" ]; then
        skipped=$((skipped + 1)); status=SKIP; skipped_names="$skipped_names $name"
    else
        failed=$((failed + 1)); status=FAIL; failed_names="$failed_names $name"
    fi
    printf '%-40s %s (%ss)\n' "$name" "$status" "$(( $(date +%s) - start ))"
    if [ "$status" = SKIP ]; then grep -i '^skip' "$log" | head -n 3 | sed 's/^/    | /'; fi
    if [ "$status" = FAIL ]; then tail -n 30 "$log" | sed 's/^/    | /'; fi
}

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    run "unit/$(basename "$t")" "$t"
done
run "golden" tests/golden.sh
for t in tests/e2e/*.sh; do
    [ -f "$t" ] || continue
    run "e2e/$(basename "$t" .sh)" sh "$t"
done

[ -n "$skipped_names" ] && echo "skipped:$skipped_names"
[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "check: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
