#!/bin/sh
# bench/run.sh: corscope side by side with the read floor and its peers, on
# one generated capture of the reference shape (7,150 keep-alive connections,
# ~300 MB, ~140k transactions, 0.1 % reorder/retransmit/loss), plus two
# memory checks (a 1M-connection SYN flood, endless out-of-order streams).
#
#   make bench                    (or: bench/run.sh)
#   BENCH_RUNS=5                  rounds, each running every tool once; medians shown
#   BENCH_SIZE_MB=300             size of the main capture
#   BENCH_DATA=bench/data         where generated captures are cached (git-ignored)
#   BENCH_INSTALL=1               apt-get install missing peers first
#   CORSCOPE=./corscope           the binary under test
#
# Peers that are not installed are skipped, never fatal.  tshark is slow and
# runs once.  Not part of `make check`.
set -eu

cd "$(dirname "$0")/.."
RUNS=${BENCH_RUNS:-5}
SIZE_MB=${BENCH_SIZE_MB:-300}
DATA=${BENCH_DATA:-bench/data}
CS=${CORSCOPE:-./corscope}
GEN=tools/gen-pcap.py
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

mkdir -p "$DATA"
[ -x "$CS" ] || { echo "bench: $CS not built (run make)" >&2; exit 1; }

if [ "${BENCH_INSTALL:-0}" = 1 ] && command -v apt-get >/dev/null 2>&1; then
    missing=""
    command -v tcpdump >/dev/null 2>&1 || missing="$missing tcpdump"
    command -v tshark >/dev/null 2>&1 || missing="$missing tshark"
    command -v httpry >/dev/null 2>&1 || missing="$missing httpry"
    command -v ndpiReader >/dev/null 2>&1 || missing="$missing libndpi-bin"
    if [ -n "$missing" ]; then
        echo "bench: installing$missing"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null 2>&1 ||
            echo "bench: apt-get failed; missing peers are skipped" >&2
    fi
fi

# --- captures (generated once, reused) -------------------------------------
MAIN="$DATA/bench-${SIZE_MB}mb-7150c-s1.pcap"
FLOOD="$DATA/synflood-1m.pcap"
OOO="$DATA/ooo-endless.pcap"
if [ ! -s "$MAIN" ]; then
    echo "bench: generating $MAIN"
    python3 "$GEN" bench --size-mb "$SIZE_MB" --connections 7150 --seed 1 "$MAIN.tmp"
    mv "$MAIN.tmp" "$MAIN"
fi
if [ ! -s "$FLOOD" ]; then
    echo "bench: generating $FLOOD"
    python3 "$GEN" bench --syn-flood 1000000 --seed 1 "$FLOOD.tmp"
    mv "$FLOOD.tmp" "$FLOOD"
fi
if [ ! -s "$OOO" ]; then
    # gen-pcap.py has no CLI switch for this; its Python API does it: 64
    # never-ACKed, never-closed uploads, interleaved, each 100-segment piece
    # missing its first segment, so nearly every byte arrives out of order and
    # the per-flow and total hold caps are hit again and again (64 MB).
    echo "bench: generating $OOO"
    python3 - "$GEN" "$OOO.tmp" <<'EOF'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("genpcap", sys.argv[1])
g = importlib.util.module_from_spec(spec); spec.loader.exec_module(g)
cap = g.Capture(sys.argv[2], seed=1)
conns = [cap.connection(("192.0.2.%d" % (10 + i), 41000 + i), ("198.51.100.20", 80))
         for i in range(64)]
for i, c in enumerate(conns):
    c.open()
    c.request(b"POST /upload/%d HTTP/1.1\r\nHost: api.example\r\n"
              b"Origin: http://app.example:8080\r\nContent-Length: 1000000000\r\n\r\n" % i)
piece = b"x" * (100 * 1460)
for _ in range(7):
    for c in conns:
        c.request(piece, lose={0}, ack=False)
cap.finish()
EOF
    mv "$OOO.tmp" "$OOO"
fi

# --- measuring ---------------------------------------------------------------
# measure OUTFILE CMD...: appends "wall_s peak_rss_kb cpu_s" for one run
# (cpu = user + system, all threads: corscope runs its report on a second
# thread for files, so wall and CPU time differ).  Wall time comes from a
# monotonic clock in python3, to the millisecond (GNU time's %e has 10 ms
# steps, 7% of the read floor); peak RSS and CPU from GNU time when it is
# there (a child forked from python would count python's pages in its
# peak RSS), else from wait4.
measure() {
    out=$1; shift
    python3 - "$TMP/one" "$@" >>"$out" 2>"$TMP/err" <<'EOF' || {
import os, shutil, subprocess, sys, time
res, cmd = sys.argv[1], sys.argv[2:]
gnu_time = shutil.which("time", path="/usr/bin")
if gnu_time:
    cmd = [gnu_time, "-f", "%M %U %S", "-o", res] + cmd
t = time.monotonic()
p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, ru = os.wait4(p.pid, 0)
wall = time.monotonic() - t
if status:
    sys.exit("bench: %r failed" % cmd)
if gnu_time:
    rss, user, system = open(res).read().split()[-3:]
    print("%.3f %s %.3f" % (wall, rss, float(user) + float(system)))
else:
    print("%.3f %d %.3f" % (wall, ru.ru_maxrss, ru.ru_utime + ru.ru_stime))
EOF
        echo "bench: '$*' failed" >&2; return 1; }
}

# median of column $2 (default 1), max of column 2 of a results file
median() { awk -v c="${2:-1}" '{ print $c }' "$1" | sort -n |
           awk '{ w[NR] = $1 } END { print (NR % 2) ? w[(NR + 1) / 2] : (w[NR / 2] + w[NR / 2 + 1]) / 2 }'; }
maxrss() { awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$1"; }

MB=$(awk -v b="$(wc -c <"$MAIN")" 'BEGIN { printf "%.1f", b / 1e6 }')
ROWS="$TMP/rows"
: >"$ROWS"

# The tools to compare, one "NAME CMD..." line each (paths without spaces).
TOOLS="$TMP/tools"
: >"$TOOLS"
if command -v tcpdump >/dev/null 2>&1; then
    echo "tcpdump-floor tcpdump -r $MAIN -w /dev/null" >>"$TOOLS"
else
    echo "bench: tcpdump not installed: no read floor" >&2
fi
echo "corscope-json $CS -r $MAIN -o json" >>"$TOOLS"
echo "corscope-text $CS -r $MAIN -o text --color=never" >>"$TOOLS"
if command -v httpry >/dev/null 2>&1; then
    echo "httpry httpry -r $MAIN" >>"$TOOLS"
else
    echo "bench: httpry not installed: skipped" >&2
fi
if command -v ndpiReader >/dev/null 2>&1; then
    echo "ndpiReader ndpiReader -i $MAIN" >>"$TOOLS"
else
    echo "bench: ndpiReader not installed: skipped" >&2
fi

# Rounds, each running every tool once: the noise of this shared machine
# then falls on all tools alike, not on whichever ran during a burst.
echo "bench: $MAIN ($MB MB), $RUNS rounds (tshark 1)"
round=0
while [ "$round" -lt "$RUNS" ]; do
    while read -r name cmd; do
        # shellcheck disable=SC2086  # cmd is split into words on purpose
        measure "$TMP/res.$name" $cmd </dev/null || echo failed >"$TMP/failed.$name"
    done <"$TOOLS"
    round=$((round + 1))
done
# tshark is slow: once, after the others.
if command -v tshark >/dev/null 2>&1; then
    # Wireshark before 4.2 has no http.access_control_allow_origin field; there
    # http.response.line (every response header line, ACAO among them) stands in.
    acao=http.access_control_allow_origin
    tshark -G fields 2>/dev/null | grep -q "	$acao	" || acao=http.response.line
    echo "tshark tshark" >>"$TOOLS"
    measure "$TMP/res.tshark" tshark -r "$MAIN" -Y http -T fields -e http.request.method \
        -e http.response.code -e "$acao" || echo failed >"$TMP/failed.tshark"
else
    echo "bench: tshark not installed: skipped" >&2
fi
while read -r name cmd; do
    if [ -e "$TMP/failed.$name" ] || [ ! -s "$TMP/res.$name" ]; then
        echo "$name - - - -" >>"$ROWS"
    else
        echo "$name $(median "$TMP/res.$name") $(maxrss "$TMP/res.$name")" \
             "$(wc -l <"$TMP/res.$name") $(median "$TMP/res.$name" 3)" >>"$ROWS"
    fi
done <"$TOOLS"

# --- the table ---------------------------------------------------------------
awk -v mb="$MB" '
    { name[NR] = $1; wall[NR] = $2; rss[NR] = $3; runs[NR] = $4; cpu[NR] = $5; w[$1] = $2 }
    END {
        floor = w["tcpdump-floor"]; cs = w["corscope-json"]; ts = w["tshark"]
        printf "\n%-15s %5s %9s %8s %9s %10s %10s %13s\n", "tool", "runs", "wall s", "cpu s",
               "MB/s", "peak RSS", "vs floor", "vs corscope"
        for (i = 1; i <= NR; i++) {
            if (wall[i] == "-") { printf "%-15s failed\n", name[i]; continue }
            t = wall[i] > 0 ? wall[i] : 0.005
            vf = floor != "" ? sprintf("%.2f", t / (floor > 0 ? floor : 0.005)) : "-"
            vc = (cs != "" && name[i] !~ /^corscope/) ? sprintf("%.2f", t / (cs > 0 ? cs : 0.005)) : "-"
            printf "%-15s %5d %9.3f %8.3f %9.0f %7.1f MB %10s %13s\n", name[i], runs[i], wall[i],
                   cpu[i], mb / t, rss[i] / 1024, vf, vc
        }
        if (floor != "" && cs != "")
            printf "\ncorscope-json / floor = %.2f (target <= 2.00): %s\n", cs / floor,
                   cs / floor <= 2.0 ? "met" : "NOT met"
        if (ts != "" && ts != "-" && cs != "")
            printf "tshark / corscope-json = %.1f (target >= 80): %s\n", ts / cs,
                   (ts / cs >= 80) ? "met" : "NOT met"
    }' "$ROWS"

# --- memory checks -------------------------------------------------------------
echo
: >"$TMP/mem"
for cap in "$FLOOD" "$OOO"; do
    for fmt in json text; do
        : >"$TMP/m"
        if measure "$TMP/m" "$CS" -r "$cap" -o "$fmt" --color=never; then
            set -- $(cat "$TMP/m")
            awk -v c="$(basename "$cap")" -v f="$fmt" -v w="$1" -v k="$2" 'BEGIN {
                printf "memory: %-22s -o %-4s %6.2f s  peak RSS %6.1f MB (target <= 32 MB): %s\n",
                       c, f, w, k / 1024, k <= 32768 ? "met" : "NOT met" }'
        fi
    done
done
