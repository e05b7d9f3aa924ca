#!/bin/sh
# Where corscope writes: -w never overwrites a file being read (by any name)
# nor follows a symlink another user planted in a sticky directory; a full
# disk or a file size limit leaves whole lines and one line on stderr saying
# how far the output got (exit 2); SIGTERM while -r waits for a FIFO's
# writer stops cleanly with the summary (exit 0), SIGUSR1 does not stop it.
cd "$(dirname "$0")/../.." || exit 2
BIN=${CORSCOPE:-$PWD/corscope}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }

# ---- -w naming an input: refused before anything is truncated ------------
# Capped in time and size: before the fix, -w onto the second input fed the
# run its own output, without end.
capped() { (ulimit -f 20000 && exec timeout 20 "$BIN" "$@"); }
cp pcaps/demo.pcap "$T/in.pcap"
want=$(md5sum <pcaps/demo.pcap)
ln -s in.pcap "$T/sym.pcap"
ln "$T/in.pcap" "$T/hard.pcap"
# check_refused WHAT: the last run exited 1 with one line and left in.pcap whole
check_refused() {
    if [ "$rc" = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -q 'refusing to overwrite' "$T/err" &&
        [ ! -s "$T/out" ] && [ "$(md5sum <"$T/in.pcap")" = "$want" ]; then
        ok "$1: exit 1: $(cat "$T/err")"
    else
        bad "$1: exit $rc, $(wc -c <"$T/in.pcap") bytes left of the input, stderr: $(cat "$T/err")"
        cp pcaps/demo.pcap "$T/in.pcap"     # same inode: the hard link stays
    fi
}
capped -r "$T/in.pcap" -w "$T/in.pcap" -o json >"$T/out" 2>"$T/err"; rc=$?
check_refused "-r X -w X"
capped -r "$T/in.pcap" -w "$T/sym.pcap" -o json >"$T/out" 2>"$T/err"; rc=$?
check_refused "-w a symlink to the input"
capped -r "$T/in.pcap" -w "$T/hard.pcap" -o json >"$T/out" 2>"$T/err"; rc=$?
check_refused "-w a hard link to the input"
capped -r pcaps/demo.pcap -r "$T/in.pcap" -w "$T/in.pcap" -o json >"$T/out" 2>"$T/err"; rc=$?
check_refused "-w the second of two inputs"
capped -r - -w "$T/in.pcap" -o json <"$T/in.pcap" >"$T/out" 2>"$T/err"; rc=$?
check_refused "-r - (stdin redirected from the -w file)"

# An ordinary -w over a longer old file: rewritten whole, and readable.
head -c 100000 /dev/zero >"$T/old.pcap"
"$BIN" -r pcaps/demo.pcap -w "$T/old.pcap" -o json >/dev/null 2>"$T/err"; rc=$?
"$BIN" -r pcaps/demo.pcap -w "$T/new.pcap" -o json >/dev/null 2>>"$T/err"
if [ "$rc" = 0 ] && cmp -s "$T/old.pcap" "$T/new.pcap" &&
    "$BIN" -r "$T/old.pcap" -o json | tail -n 1 | grep -q '"packets":[1-9]'; then
    ok "-w over an existing longer file: truncated and rewritten ($(wc -c <"$T/new.pcap") bytes)"
else
    bad "-w over an existing file: exit $rc, $(wc -c <"$T/old.pcap") bytes, $(cat "$T/err")"
fi

# ---- -w through a symlink planted in a sticky world-writable directory ----
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
    mkdir "$T/sticky" && chmod 1777 "$T/sticky"
    echo precious >"$T/victim"
    ln -s "$T/victim" "$T/sticky/planted" && chown -h nobody "$T/sticky/planted"
    "$BIN" -r pcaps/demo.pcap -w "$T/sticky/planted" -o json >"$T/out" 2>"$T/err"; rc=$?
    if [ "$rc" = 2 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -q symlink "$T/err" &&
        [ "$(cat "$T/victim")" = precious ]; then
        ok "-w a symlink another user planted in a sticky dir: exit 2: $(cat "$T/err")"
    else
        bad "-w planted symlink: exit $rc, victim now $(wc -c <"$T/victim") bytes, stderr: $(cat "$T/err")"
    fi
    # our own symlink there is followed
    ln -s "$T/mine.pcap" "$T/sticky/mine"
    "$BIN" -r pcaps/demo.pcap -w "$T/sticky/mine" -o json >/dev/null 2>"$T/err"; rc=$?
    if [ "$rc" = 0 ] && cmp -s "$T/mine.pcap" "$T/new.pcap"; then
        ok "-w our own symlink in a sticky dir: followed"
    else
        bad "-w own symlink: exit $rc, $(cat "$T/err")"
    fi
else
    echo "skip: the planted-symlink case needs root and a user nobody"
fi

# ---- a full disk, a file size limit ----------------------------------------
"$BIN" -r pcaps/demo.pcap -o json --all >/dev/full 2>"$T/err"; rc=$?
if [ "$rc" = 2 ] && [ "$(wc -l <"$T/err")" = 1 ] &&
    grep -Eq '^corscope: writing output: No space left on device after 0 events \(0 bytes\)$' "$T/err"; then
    ok "/dev/full: exit 2: $(cat "$T/err")"
else
    bad "/dev/full: exit $rc, stderr: $(cat "$T/err")"
fi
# ulimit -f counts 512- or 1024-byte blocks depending on the shell: 4 of
# either cuts the JSON (16 KB) and the text (6 KB) output short.
for fmt in json text; do
    (ulimit -f 4 && exec "$BIN" -r pcaps/demo.pcap -o $fmt --all) >"$T/small.$fmt" 2>"$T/err.$fmt"
    echo $? >"$T/rc.$fmt"
done
"$BIN" -r pcaps/demo.pcap -o json --all >"$T/full.json"
if python3 - "$T" <<'PY'; then ok "file size limit: whole lines and how far it got"; else fail=1; fi
import json, re, sys
t = sys.argv[1]
errs = []
for fmt, unit in (("json", "events"), ("text", "lines")):
    rc = open(f"{t}/rc.{fmt}").read().strip()
    err = open(f"{t}/err.{fmt}").read()
    data = open(f"{t}/small.{fmt}", "rb").read()
    m = re.fullmatch(r"corscope: writing output: File too large after (\d+) %s \((\d+) bytes\)\n" % unit, err)
    if rc != "2" or not m:
        errs.append(f"{fmt}: exit {rc}, stderr {err!r}")
        continue
    n, size = int(m.group(1)), int(m.group(2))
    if not data or not data.endswith(b"\n"):
        errs.append(f"{fmt}: the file ends in part of a line ({len(data)} bytes)")
    lines = data.count(b"\n")
    if size != len(data) or n != lines:
        errs.append(f"{fmt}: stderr says {n} {unit}, {size} bytes; the file has {lines}, {len(data)}")
    if fmt == "json":
        full = open(f"{t}/full.json", "rb").read()
        if not full.startswith(data) or len(data) >= len(full):
            errs.append("json: not a proper prefix of the whole output")
        for line in data.splitlines():
            try:
                json.loads(line)
            except ValueError:
                errs.append(f"json: a line does not parse: {line[:60]!r}")
    print(f"  {fmt}: {n} {unit}, {size} bytes written, then: {err.strip()}")
if errs:
    print("FAIL file size limit: " + "; ".join(errs))
sys.exit(1 if errs else 0)
PY

# ---- signals while -r waits on a FIFO --------------------------------------
# wait_blocked PID: until it sleeps in the kernel (open or read of the FIFO)
wait_blocked() {
    n=50
    while [ "$n" -gt 0 ]; do
        case "$(cat "/proc/$1/wchan" 2>/dev/null)" in
            *partner*|*pipe*|*fifo*) sleep 0.1; return 0 ;;
        esac
        sleep 0.1; n=$((n - 1))
    done
    return 0        # no wchan here: it has had 5 s to block
}
# end_within PID SECONDS: its exit status, or 124 (killed) if it did not end
end_within() {
    n=$(($2 * 10))
    while kill -0 "$1" 2>/dev/null && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
    if kill -0 "$1" 2>/dev/null; then kill -9 "$1"; wait "$1"; return 124; fi
    wait "$1"
}
check_stopped() { # what
    if [ "$rc" = 0 ] && [ ! -s "$T/fifo.err" ] && [ "$(wc -l <"$T/fifo.json")" = 1 ] &&
        grep -q '"type":"summary",.*"packets":0,' "$T/fifo.json"; then
        ok "$1: exit 0 and the summary"
    else
        bad "$1: exit $rc, stderr: $(cat "$T/fifo.err"), stdout: $(head -c 200 "$T/fifo.json")"
    fi
}
mkfifo "$T/fifo"
"$BIN" -r "$T/fifo" -o json >"$T/fifo.json" 2>"$T/fifo.err" &
pid=$!
wait_blocked "$pid"
kill -TERM "$pid"
end_within "$pid" 5; rc=$?
check_stopped "SIGTERM while opening a FIFO with no writer"

# a writer that opened the FIFO and sends nothing
mkfifo "$T/fifo2"
exec 3<>"$T/fifo2"
"$BIN" -r "$T/fifo2" -o json >"$T/fifo.json" 2>"$T/fifo.err" &
pid=$!
wait_blocked "$pid"
kill -TERM "$pid"
end_within "$pid" 5; rc=$?
exec 3>&-
check_stopped "SIGTERM while a FIFO's writer sends nothing"

# SIGUSR1 while waiting prints statistics and the wait goes on.
mkfifo "$T/fifo3"
"$BIN" -r "$T/fifo3" -o json >"$T/fifo.json" 2>"$T/fifo.err" &
pid=$!
wait_blocked "$pid"
kill -USR1 "$pid"
sleep 0.3
cat pcaps/demo.pcap >"$T/fifo3" &
feeder=$!
end_within "$pid" 10; rc=$?
kill "$feeder" 2>/dev/null; wait "$feeder" 2>/dev/null
if [ "$rc" = 0 ] && grep -q '"type":"http"' "$T/fifo.json"; then
    ok "SIGUSR1 while opening a FIFO: the run goes on and reads it"
else
    bad "SIGUSR1 while opening a FIFO: exit $rc, stderr: $(cat "$T/fifo.err")"
fi
exit $fail
