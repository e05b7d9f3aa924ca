#!/bin/sh
# Runs every test of `make check`: the CUnit programs, the golden pcaps, the
# end-to-end scripts.  Prints one line per test program and, last,
# "check: N passed, M failed".
BUILD=${BUILD:-build/rel}
cd "$(dirname "$0")/.." || exit 2
mkdir -p tests/out
passed=0
failed=0
failed_names=""

run() { # name command...
    name=$1; shift
    log="tests/out/$(echo "$name" | tr '/ ' '__').log"
    start=$(date +%s)
    if "$@" >"$log" 2>&1; then
        passed=$((passed + 1)); status=ok
    else
        failed=$((failed + 1)); status=FAIL; failed_names="$failed_names $name"
    fi
    printf '%-40s %s (%ss)\n' "$name" "$status" "$(( $(date +%s) - start ))"
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

[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
