#!/bin/sh
# bench/run.sh: corscope beside the read floor (`tcpdump -r X -w /dev/null`)
# on every bench capture, in one table, plus four memory checks (a
# 1M-connection SYN flood, endless out-of-order streams, header blocks that
# never end filling --max-memory, h2 in TLS on 20,000 connections with their
# 80,772-line key log).  The captures:
#
#   http1       the reference shape (tools/gen-pcap.py bench: 7,150 keep-alive
#               connections, ~300 MB, ~140k transactions, 0.1 % reorder/
#               retransmit/loss)
#   wire-http1  tools/benchwire.py: the same browser mix on 7,150 connections,
#               BENCH_WIRE_MB of HTTP/1.1 (no loss: a lost TLS segment would
#               end its connection's decryption); the plaintext twin of tls
#   tls         the same exchanges in TLS 1.3 (AES-128-GCM), with its key log
#   h2c         the same exchanges as HTTP/2 with prior knowledge
#   h2-tls      the h2c frames in TLS 1.3, ALPN h2
#   cors        the CORS-heavy workload (every request cross-origin, preflights,
#               15-25 header lines per message, small responses), HTTP/1.1
#
# Per capture: floor seconds, corscope seconds (-o json) and CPU seconds,
# their ratio, corscope MB/s, peak RSS (goal <= 32 MB), and for the TLS ones
# the throughput (MB/s) relative to the plaintext twin (tls / wire-http1,
# h2-tls / h2c), from the medians and round by round.  The speed goal of a
# plaintext capture is its ratio (<= 2.00); that of a TLS capture is its
# throughput against its twin (>= 0.50: decrypting keeps half the plaintext
# throughput), so its own ratio may reach twice its twin's.  tshark (slow, once) and
# the other installed peers (httpry, ndpiReader) run on http1 only.
#
#   make bench                    (or: bench/run.sh)
#   BENCH_RUNS=5                  rounds, each running every command once; medians shown
#   BENCH_SIZE_MB=300             size of the http1 capture
#   BENCH_WIRE_MB=80              HTTP/1.1 bytes of the benchwire captures (~105 MB files)
#   BENCH_CAPTURES="http1 tls"    only these captures (default: all six)
#   BENCH_TSHARK=0                skip tshark (about a minute per 100 MB)
#   BENCH_MEMORY=0                skip the four memory checks
#   BENCH_DATA=bench/data         where generated captures are cached (git-ignored)
#   BENCH_INSTALL=1               apt-get install missing peers first
#   CORSCOPE=./corscope           the binary under test
#   BENCH_BASE=PATH               another corscope run in the same rounds (before/after table)
#   BENCH_WORKERS="1 2"           also run corscope --workers N for each N (the all-cores
#                                 table: MB/s, CPU seconds per MB, scaling over the first N)
#   BENCH_TASKSET=0,1             pin every corscope run to these CPUs (taskset -c)
#   BENCH_HPACK=0                 skip "HPACK alone" (libnghttp2 on the h2c capture's
#                                 header blocks, bench/hpack_decode.c; tshark extracts them once)
#
# Generating the captures takes minutes the first time (TLS and h2 need
# python3-cryptography and python3-hpack); they are cached in BENCH_DATA.
# Peers that are not installed are skipped, never fatal.  Not in `make check`.
set -eu

cd "$(dirname "$0")/.."
RUNS=${BENCH_RUNS:-5}
SIZE_MB=${BENCH_SIZE_MB:-300}
WIRE_MB=${BENCH_WIRE_MB:-80}
CAPTURES=${BENCH_CAPTURES:-http1 wire-http1 tls h2c h2-tls cors}
DATA=${BENCH_DATA:-bench/data}
CS=${CORSCOPE:-./corscope}
BASE=${BENCH_BASE:-}
WORKERS=${BENCH_WORKERS:-}
PIN=""
if [ -n "${BENCH_TASKSET:-}" ]; then
    command -v taskset >/dev/null 2>&1 || { echo "bench: BENCH_TASKSET needs taskset (util-linux)" >&2; exit 1; }
    PIN="taskset -c $BENCH_TASKSET"
fi
GEN=tools/gen-pcap.py
# the generators' crypto and HPACK modules are Debian's packages: the system
# interpreter, not another python3 earlier on PATH
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
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

want() { case " $CAPTURES " in *" $1 "*) return 0 ;; esac; return 1; }

# --- captures (generated once, reused) -------------------------------------
MAIN="$DATA/bench-${SIZE_MB}mb-7150c-s1.pcap"
FLOOD="$DATA/synflood-1m.pcap"
OOO="$DATA/ooo-endless.pcap"
HDRS="$DATA/header-flood.pcap"
KEYED="$DATA/wire-h2-tls-browser-40mb-20000c-s1"
if want http1 && [ ! -s "$MAIN" ]; then
    echo "bench: generating $MAIN"
    "$PY" "$GEN" bench --size-mb "$SIZE_MB" --connections 7150 --seed 1 "$MAIN.tmp"
    mv "$MAIN.tmp" "$MAIN"
fi
# benchwire captures: NAME TRANSPORT WORKLOAD
WIRE="$TMP/wire"
printf '%s\n' "wire-http1 http1 browser" "tls tls browser" "h2c h2c browser" \
    "h2-tls h2-tls browser" "cors http1 cors" >"$WIRE"
while read -r name transport workload; do
    want "$name" || continue
    f="$DATA/wire-$transport-$workload-${WIRE_MB}mb-7150c-s1"
    if [ ! -s "$f.pcap" ]; then
        echo "bench: generating $f.pcap"
        "$PY" tools/benchwire.py "$f.pcap.tmp" --transport "$transport" --workload "$workload" \
            --size-mb "$WIRE_MB" --connections 7150 --seed 1 --keylog "$f.keys"
        mv "$f.pcap.tmp" "$f.pcap"
    fi
done <"$WIRE"
# gen_api OUT: the Python on standard input runs with `g` (tools/gen-pcap.py)
# and `cap`, a Capture writing OUT (seed 1), finished after it.
gen_api() {
    echo "bench: generating $1"
    { printf '%s\n' 'import importlib.util, sys' \
          'spec = importlib.util.spec_from_file_location("genpcap", sys.argv[1])' \
          'g = importlib.util.module_from_spec(spec); spec.loader.exec_module(g)' \
          'cap = g.Capture(sys.argv[2], seed=1)'
      cat
      echo 'cap.finish()'; } | "$PY" - "$GEN" "$1.tmp" && mv "$1.tmp" "$1"
}
if [ "${BENCH_MEMORY:-1}" != 0 ]; then
if [ ! -s "$FLOOD" ]; then
    echo "bench: generating $FLOOD"
    "$PY" "$GEN" bench --syn-flood 1000000 --seed 1 "$FLOOD.tmp"
    mv "$FLOOD.tmp" "$FLOOD"
fi
if [ ! -s "$OOO" ]; then
    # gen-pcap.py has no CLI switch for this; its Python API does it: 64
    # never-ACKed, never-closed uploads, interleaved, each 100-segment piece
    # missing its first segment, so nearly every byte arrives out of order and
    # the per-flow and total hold caps are hit again and again (64 MB).
    gen_api "$OOO" <<'EOF'
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
EOF
fi
if [ ! -s "$KEYED.pcap" ]; then
    # h2 in TLS on 20,000 connections, their key log 80,772 lines: more
    # connections than --max-memory holds, and a key log that grows with them
    echo "bench: generating $KEYED.pcap"
    "$PY" tools/benchwire.py "$KEYED.pcap.tmp" --transport h2-tls --workload browser \
        --size-mb 40 --connections 20000 --seed 1 --keylog "$KEYED.keys"
    mv "$KEYED.pcap.tmp" "$KEYED.pcap"
fi
if [ ! -s "$HDRS" ]; then
    # 1,200 connections each sending a header block that never ends, ~30 KB
    # of it (under --max-header-bytes), interleaved: the traffic state fills
    # --max-memory and the oldest connections are evicted again and again.
    gen_api "$HDRS" <<'EOF'
conns = [cap.connection(("192.0.2.%d" % (10 + i % 200), 41000 + i), ("198.51.100.20", 80))
         for i in range(1200)]
for c in conns:
    c.open()
    c.request(b"GET / HTTP/1.1\r\nHost: api.example\r\n")
line = b"X-Pad: " + b"p" * 1400 + b"\r\n"
for _ in range(22):
    for c in conns:
        c.request(line)
EOF
fi
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

# The captures to measure, one "NAME FILE KEYLOG BASELINE" line each ("-": none).
CAPS="$TMP/caps"
: >"$CAPS"
if want http1; then echo "http1 $MAIN - -" >>"$CAPS"; fi
while read -r name transport workload; do
    want "$name" || continue
    f="$DATA/wire-$transport-$workload-${WIRE_MB}mb-7150c-s1"
    keys=- base=-
    case $transport in
    tls) keys="$f.keys" base=wire-http1 ;;
    h2-tls) keys="$f.keys" base=h2c ;;
    esac
    echo "$name $f.pcap $keys $base" >>"$CAPS"
done <"$WIRE"

# The commands, one "ID CMD..." line each (paths without spaces).
TOOLS="$TMP/tools"
: >"$TOOLS"
floor=1
command -v tcpdump >/dev/null 2>&1 || { floor=0; echo "bench: tcpdump not installed: no read floor" >&2; }
while read -r name file keys base; do
    if [ "$floor" = 1 ]; then echo "floor.$name tcpdump -r $file -w /dev/null" >>"$TOOLS"; fi
    ka=""
    if [ "$keys" != - ]; then ka="--keylog $keys"; fi
    echo "cs.$name $PIN $CS -r $file $ka -o json" >>"$TOOLS"
    if [ -n "$BASE" ]; then echo "base.$name $PIN $BASE -r $file $ka -o json" >>"$TOOLS"; fi
    for w in $WORKERS; do echo "w$w.$name $PIN $CS --workers $w -r $file $ka -o json" >>"$TOOLS"; done
done <"$CAPS"
if want http1; then
    if command -v httpry >/dev/null 2>&1; then echo "peer.httpry httpry -r $MAIN" >>"$TOOLS"; fi
    if command -v ndpiReader >/dev/null 2>&1; then echo "peer.ndpiReader ndpiReader -i $MAIN" >>"$TOOLS"; fi
fi

# Rounds, each running every command once: the noise of this shared machine
# then falls on all of them alike, not on whichever ran during a burst.
echo "bench: $(wc -l <"$CAPS") captures, $RUNS rounds (tshark 1)"
round=0
while [ "$round" -lt "$RUNS" ]; do
    while read -r id cmd; do
        # shellcheck disable=SC2086  # cmd is split into words on purpose
        measure "$TMP/res.$id" $cmd </dev/null || echo failed >"$TMP/failed.$id"
    done <"$TOOLS"
    round=$((round + 1))
done
# -o text (the default output) holds blocks per connection: its peak RSS,
# once per capture after the rounds (the time is not compared).
while read -r name file keys base; do
    ka=""
    if [ "$keys" != - ]; then ka="--keylog $keys"; fi
    echo "txt.$name $PIN $CS -r $file $ka -o text --color=never" >>"$TOOLS"
    # shellcheck disable=SC2086
    measure "$TMP/res.txt.$name" $PIN $CS -r "$file" $ka -o text --color=never </dev/null ||
        echo failed >"$TMP/failed.txt.$name"
done <"$CAPS"
# tshark is slow: once, after the others, on the http1 capture.
if want http1 && [ "${BENCH_TSHARK:-1}" != 0 ]; then
    if command -v tshark >/dev/null 2>&1; then
        # Wireshark before 4.2 has no http.access_control_allow_origin field; there
        # http.response.line (every response header line, ACAO among them) stands in.
        acao=http.access_control_allow_origin
        tshark -G fields 2>/dev/null | grep -q "	$acao	" || acao=http.response.line
        echo "peer.tshark tshark" >>"$TOOLS"
        measure "$TMP/res.peer.tshark" tshark -r "$MAIN" -Y http -T fields -e http.request.method \
            -e http.response.code -e "$acao" || echo failed >"$TMP/failed.peer.tshark"
    else
        echo "bench: tshark not installed: skipped" >&2
    fi
fi

# One row per command: ID wall rss runs cpu (medians; RSS the maximum),
# then one per capture: cap NAME BYTES BASELINE.
ROWS="$TMP/rows"
: >"$ROWS"
while read -r id cmd; do
    if [ -e "$TMP/failed.$id" ] || [ ! -s "$TMP/res.$id" ]; then
        echo "$id - - - -" >>"$ROWS"
    else
        echo "$id $(median "$TMP/res.$id") $(maxrss "$TMP/res.$id")" \
             "$(wc -l <"$TMP/res.$id") $(median "$TMP/res.$id" 3)" >>"$ROWS"
    fi
done <"$TOOLS"
while read -r name file keys base; do
    echo "cap $name $(wc -c <"$file") $base" >>"$ROWS"
done <"$CAPS"

# --- the table ---------------------------------------------------------------
awk '
    function ok(x) { return x != "" && x != "-" }
    $1 == "cap" { n++; cap[n] = $2; bytes[$2] = $3; base[$2] = $4; next }
    { wall[$1] = $2; rss[$1] = $3; runs[$1] = $4; cpu[$1] = $5; if ($1 ~ /^peer\./) peer[++np] = $1 }
    END {
        fmt = "%-11s %6.1f %4s %8s %8s %6s %7s %6s %9s %8s %9s\n"
        printf "\n%-11s %6s %4s %8s %8s %6s %7s %6s %9s %8s %9s\n", "capture", "MB", "runs",
               "floor s", "cs s", "ratio", "cs cpu", "MB/s", "peak RSS", "vs plain", "text RSS"
        miss = ""
        for (i = 1; i <= n; i++) {
            c = cap[i]; mb = bytes[c] / 1e6; f = wall["floor." c]; t = wall["cs." c]
            if (!ok(t)) { printf "%-11s %6.1f corscope failed\n", c, mb; miss = miss " " c " (failed)"; continue }
            tt = t > 0 ? t : 0.0005
            mbs[c] = mb / tt
            ratio = "-"
            if (ok(f)) {
                r = tt / (f > 0 ? f : 0.0005); ratio = sprintf("%.2f", r)
                if (r > 2.0 && base[c] == "-") miss = miss " " c " (ratio)"
            }
            if (rss["cs." c] > 32768) miss = miss " " c " (RSS)"
            trss = ok(rss["txt." c]) ? sprintf("%.1f MB", rss["txt." c] / 1024) : "-"
            if (ok(rss["txt." c]) && rss["txt." c] > 32768) miss = miss " " c " (text RSS)"
            vs = "-"
            if (base[c] != "-" && mbs[base[c]] > 0) {
                vs = sprintf("%.2f", mbs[c] / mbs[base[c]])
                if (mbs[c] / mbs[base[c]] < 0.5) miss = miss " " c " (vs plain)"
            }
            printf fmt, c, mb, runs["cs." c], ok(f) ? sprintf("%.3f", f) : "-", sprintf("%.3f", t),
                   ratio, sprintf("%.3f", cpu["cs." c]), sprintf("%.0f", mb / tt),
                   sprintf("%.1f MB", rss["cs." c] / 1024), vs, trss
        }
        for (j = 1; j <= np; j++) {
            id = peer[j]; p = substr(id, 6) " http1"
            if (!ok(wall[id])) { printf "%-11s failed\n", p; continue }
            x = ok(wall["cs.http1"]) ? sprintf("x%.0f", wall[id] / (wall["cs.http1"] > 0 ? wall["cs.http1"] : 0.0005)) : "-"
            # the goal: at least 80 times faster than tshark
            if (id == "peer.tshark" && ok(wall["cs.http1"]) && wall[id] < 80 * wall["cs.http1"])
                miss = miss " tshark (x80)"
            printf fmt, p, bytes["http1"] / 1e6, runs[id], "-", sprintf("%.3f", wall[id]), "-",
                   sprintf("%.3f", cpu[id]), sprintf("%.0f", bytes["http1"] / 1e6 / (wall[id] > 0 ? wall[id] : 0.0005)),
                   sprintf("%.1f MB", rss[id] / 1024), x " cs", "-"
        }
        printf "\nratio = corscope / read floor, wall time medians (goal <= 2.00 for plaintext); peak RSS: the\n"
        printf "maximum over the runs (goal <= 32 MB; text RSS: one -o text run); vs plain = MB/s over that of the plaintext\n"
        printf "twin (tls / wire-http1, h2-tls / h2c; goal of the TLS captures: >= 0.50); peers: seconds as a multiple of corscope\n"
        printf "(goal: tshark at least x80).\n"
        printf "goals: %s\n", miss == "" ? "all met" : "NOT met:" miss
        if (ok(wall["base." cap[1]]) || ok(wall["base." cap[n]])) {
            printf "\n%-11s %8s %8s %8s %8s %9s %9s\n", "before/after", "base s", "cs s",
                   "base cpu", "cs cpu", "base RSS", "cs RSS"
            for (i = 1; i <= n; i++) {
                c = cap[i]
                if (!ok(wall["base." c]) || !ok(wall["cs." c])) continue
                printf "%-11s %8.3f %8.3f %8.3f %8.3f %6.1f MB %6.1f MB\n", c, wall["base." c],
                       wall["cs." c], cpu["base." c], cpu["cs." c], rss["base." c] / 1024, rss["cs." c] / 1024
            }
        }
    }' "$ROWS"

# --- TLS against its plaintext twin, round by round -----------------------------
# The median ratio above can sit on the 0.50 line while the machine's speed
# drifts between rounds: each round ran both captures one after the other,
# so their ratio round by round shows how often the goal holds.
grep -q ' [^-][^ ]*$' "$CAPS" && echo
while read -r name file keys base; do
    [ "$base" = - ] && continue
    a="$TMP/res.cs.$name" b="$TMP/res.cs.$base"
    [ -s "$a" ] && [ -s "$b" ] && [ ! -e "$TMP/failed.cs.$name" ] && [ ! -e "$TMP/failed.cs.$base" ] || continue
    bn=$(awk -v c="$base" '$1 == "cap" && $2 == c { print $3 }' "$ROWS")
    paste -d ' ' "$a" "$b" | awk -v c="$name" -v p="$base" -v mt="$(wc -c <"$file")" -v mp="$bn" '
        { t = $1 > 0 ? $1 : 0.0005; q = $4 > 0 ? $4 : 0.0005; r[NR] = (mt / t) / (mp / q); if (r[NR] >= 0.5) ok++ }
        END {
            if (NR == 0) exit
            for (i = 1; i <= NR; i++) for (j = i + 1; j <= NR; j++) if (r[j] < r[i]) { x = r[i]; r[i] = r[j]; r[j] = x }
            m = (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
            printf "%s vs %s, round by round: median %.2f (%.2f-%.2f), %d of %d rounds at 0.50 or more\n",
                   c, p, m, r[1], r[NR], ok, NR }'
done <"$CAPS"

# --- all cores (BENCH_WORKERS) ------------------------------------------------
if [ -n "$WORKERS" ]; then
    printf "\n--workers%s%s: wall and CPU medians\n" "${BENCH_TASKSET:+, pinned to CPUs }" "${BENCH_TASKSET:-}"
    printf "%-11s %7s %8s %8s %7s %10s %8s %9s\n" capture workers "wall s" "cpu s" "MB/s" "cpu s/MB" scaling "peak RSS"
    while read -r name file keys base; do
        first=""
        for w in $WORKERS; do
            row=$(awk -v id="w$w.$name" '$1 == id' "$ROWS")
            [ -n "$row" ] || continue
            set -- $row
            [ "$2" = - ] && { printf "%-11s %7s failed\n" "$name" "$w"; continue; }
            [ -n "$first" ] || first=$2
            awk -v c="$name" -v w="$w" -v wall="$2" -v rss="$3" -v cpu="$5" -v b="$(wc -c <"$file")" -v f="$first" 'BEGIN {
                mb = b / 1e6; t = wall > 0 ? wall : 0.0005
                printf "%-11s %7s %8.3f %8.3f %7.0f %10.4f %7.2fx %6.1f MB\n", c, w, wall, cpu, mb / t, cpu / mb, f / t, rss / 1024 }'
        done
    done <"$CAPS"
    echo "scaling = wall of the first --workers value / this one's (above 1: faster)"
fi

# --- HPACK alone (h2c) -----------------------------------------------------------
# libnghttp2's decoder on the h2c capture's header blocks in the best case
# (bench/hpack_decode.c: one warm inflater per direction at a time, no
# memory bound, no allocation), beside the capture's read floor: the part
# of corscope's h2c CPU time that no change of corscope's own code can
# remove (more cores can only hide it).
# The blocks come from tshark (once, kept beside the capture).
HPACK=${HPACK_DECODE:-}
if want h2c && [ -n "$HPACK" ] && [ -x "$HPACK" ] && [ "${BENCH_HPACK:-1}" != 0 ]; then
    h2c=$(awk '$1 == "h2c" { print $2 }' "$CAPS")
    blocks="${h2c%.pcap}.hblocks"
    if [ ! -s "$blocks" ] && command -v tshark >/dev/null 2>&1; then
        echo "bench: extracting the h2c header blocks with tshark (once)"
        tshark -r "$h2c" -d tcp.port==80,http2 -Y http2.type==1 -T fields -e tcp.stream \
            -e tcp.srcport -e http2.headers -E occurrence=a -E aggregator=, >"$blocks.tmp" 2>/dev/null &&
            mv "$blocks.tmp" "$blocks"
    fi
    if [ -s "$blocks" ] && out=$("$HPACK" "$blocks"); then
        awk -v line="$out" -v f="$(awk '$1 == "floor.h2c" { print $2 }' "$ROWS")" \
            -v t="$(awk '$1 == "cs.h2c" { print $2 }' "$ROWS")" 'BEGIN {
            split(line, w, " "); h = w[1] + 0
            printf "\nHPACK alone (h2c): %s\n", line
            if (f + 0 > 0)
                printf "  = %.2fx the h2c read floor (%.3f s); corscope on h2c: %.2fx\n", h / f, f, t / f
        }'
    else
        echo "bench: HPACK alone: no header blocks (needs tshark) or the decoder failed" >&2
    fi
fi

# --- memory checks -------------------------------------------------------------
echo
: >"$TMP/mem"
[ "${BENCH_MEMORY:-1}" = 0 ] && exit 0
for cap in "$FLOOD" "$OOO" "$HDRS" "$KEYED.pcap"; do
    keys=""
    [ "$cap" = "$KEYED.pcap" ] && keys="--keylog $KEYED.keys"
    for fmt in json text; do
        : >"$TMP/m"
        # shellcheck disable=SC2086
        if measure "$TMP/m" "$CS" -r "$cap" $keys -o "$fmt" --color=never; then
            set -- $(cat "$TMP/m")
            awk -v c="$(basename "$cap")" -v f="$fmt" -v w="$1" -v k="$2" 'BEGIN {
                printf "memory: %-40s -o %-4s %6.2f s  peak RSS %6.1f MB (target <= 32 MB): %s\n",
                       c, f, w, k / 1024, k <= 32768 ? "met" : "NOT met" }'
        fi
    done
done
