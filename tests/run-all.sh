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

# A test that hangs fails by name instead of stalling the whole run (CI
# would only say it timed out): after TEST_TIMEOUT seconds the watchdog
# appends to the test's log what its processes are doing (the process
# tree, each corscope's threads' stacks when gdb is there), then kills
# them.  The sanitizer builds are the slowest: the longest test takes
# ~80 s there.  The test runs in the foreground, the watchdog beside it:
# an asynchronous command of a script ignores SIGINT, and tests stop
# tcpdump and servers with it.
TEST_TIMEOUT=${TEST_TIMEOUT:-900}
# No test needs the DNS; should a tool still look a name up, a resolver
# that never answers costs it a second, not glibc's 5 s times 2 tries
# (tcpdump without -n on a capture of 600 addresses once took most of an
# hour that way).
export RES_OPTIONS="timeout:1 attempts:1"

descendants() { # pid: its descendants, children before their own
    for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        echo "$c"
        descendants "$c"
    done
}

watchdog() { # log; runs as a child of this shell, beside the test
    read -r self _ </proc/self/stat
    n=0
    while [ "$n" -lt "$TEST_TIMEOUT" ]; do
        sleep 1
        n=$((n + 1))
    done
    pids=
    for c in $(ps -o pid= --ppid $$); do
        [ "$c" = "$self" ] || pids="$pids $c $(descendants "$c")"
    done
    [ -n "$pids" ] || return 0
    trap '' TERM # it finishes, KILL included, before the next test starts
    {
        echo "run-all: timed out after $TEST_TIMEOUT s; its processes:"
        ps -o pid,ppid,etime,stat,wchan:24,args -p "$(echo $pids | tr ' ' ,)"
        for p in $pids; do
            case "$(cat "/proc/$p/comm" 2>/dev/null)" in corscope*) ;; *) continue ;; esac
            command -v gdb >/dev/null 2>&1 || break
            echo "run-all: threads of corscope $p:"
            timeout 60 gdb -p "$p" -batch -ex 'thread apply all bt' 2>&1 | grep -E '^(Thread|#)'
        done
    } >>"$1" 2>&1
    kill -TERM $pids 2>/dev/null
    sleep 5
    kill -KILL $pids 2>/dev/null
}

run() { # name command...
    name=$1; shift
    log="tests/out/$(echo "$name" | tr '/ ' '__').log"
    start=$(date +%s)
    : >"$log"
    watchdog "$log" &
    dog=$!
    "$@" >>"$log" 2>&1
    rc=$?
    kill "$dog" 2>/dev/null
    wait "$dog" 2>/dev/null
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1)); status=ok
    elif [ "$rc" -eq "$SKIP" ]; then
        skipped=$((skipped + 1)); status=SKIP; skipped_names="$skipped_names $name"
    else
        failed=$((failed + 1)); status=FAIL; failed_names="$failed_names $name"
    fi
    printf '%-40s %s (%ss)\n' "$name" "$status" "$(( $(date +%s) - start ))"
    if [ "$status" = SKIP ]; then grep -i '^skip' "$log" | head -n 3 | sed 's/^/    | /'; fi
    if [ "$status" = FAIL ]; then
        at=$(grep -n -m1 '^run-all: timed out' "$log" | cut -d: -f1)
        if [ -n "$at" ]; then # where it stood, then the stacks
            sed -n "$((at > 20 ? at - 20 : 1)),\$p" "$log" | head -n 220 | sed 's/^/    | /'
        else
            tail -n 30 "$log" | sed 's/^/    | /'
        fi
    fi
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
