#!/bin/sh
# HTTPS decrypted with a key log, end to end on the Firefox HTTPS capture
# (pcaps/browser/, 41 TLS 1.3 connections): the right key log, a wrong one
# (every secret altered), a garbage one, $SSLKEYLOGFILE, and keys injected
# into a pcapng (Decryption Secrets Block).  A bad key log never stops the
# run: exit 0, the connections counted as undecryptable with the reason.
cd "$(dirname "$0")/../.." || exit 2
BIN=./corscope
PCAP=pcaps/browser/firefox-https.pcap
KEYS=pcaps/browser/firefox-https.keys
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }
# summary TLS counter NAME of the JSON in file $1
tls() { python3 -c 'import json,sys
s=[json.loads(l) for l in open(sys.argv[1]) if l.strip()][-1]
t=s.get("tls", {}); k=sys.argv[2]
v=t.get("failed_by", {}).get(k[10:], 0) if k.startswith("failed_by.") else t.get(k, "absent")
print(v)' "$1" "$2"; }
events_with_tls() { grep -c '"tls":{"version":"1.3"' "$1"; }

# The right key log: every connection decrypted, events carry tls.
env -u SSLKEYLOGFILE $BIN -r $PCAP -o json --all --keylog $KEYS >"$T/good" 2>"$T/good.err"; rc=$?
[ $rc -eq 0 ] && [ "$(tls "$T/good" decrypted)" = 41 ] && [ "$(events_with_tls "$T/good")" -gt 50 ] &&
    ok "--keylog decrypts 41 connections" || bad "--keylog (rc $rc)"
[ ! -s "$T/good.err" ] && ok "a browser's key log warns of nothing" || bad "stderr: $(cat "$T/good.err")"

# A wrong key log: records fail their tag; nothing decrypted, reason counted
# (the 27th connection, conn-tls-alert's, never completed its handshake).
python3 - "$KEYS" >"$T/wrong.keys" <<'PY'
import sys
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 3:
        f[2] = ("1" if f[2][0] == "0" else "0") + f[2][1:]
    print(" ".join(f))
PY
env -u SSLKEYLOGFILE $BIN -r $PCAP -o json --all --keylog "$T/wrong.keys" >"$T/wrong" 2>/dev/null; rc=$?
[ $rc -eq 0 ] && [ "$(tls "$T/wrong" failed_by.auth-failed)" = 41 ] && [ "$(tls "$T/wrong" decrypted)" = 0 ] &&
    ! grep -q '"tls":{"version"' "$T/wrong" && ok "wrong key log: 41 auth-failed, exit 0, no plaintext" ||
    bad "wrong key log (rc $rc)"
env -u SSLKEYLOGFILE $BIN -r $PCAP -o text --keylog "$T/wrong.keys" 2>/dev/null |
    grep -q 'TLS: 42 connections, 0 decrypted, 41 failed (auth-failed 41)' &&
    ok "wrong key log: text summary gives the reason" || bad "wrong key log: text summary"

# A garbage key log: its lines counted, one warning line, connections without a key.
printf 'hello world\n\001\002 zz\nCLIENT_RANDOM abc def\n' >"$T/garbage.keys"
env -u SSLKEYLOGFILE $BIN -r $PCAP -o json --keylog "$T/garbage.keys" >"$T/garbage" 2>"$T/garbage.err"; rc=$?
[ $rc -eq 0 ] && [ "$(tls "$T/garbage" keylog_lines_ignored)" = 3 ] && [ "$(tls "$T/garbage" no_key)" = 41 ] &&
    ok "garbage key log: 3 lines ignored, 41 without a key" || bad "garbage key log (rc $rc)"
[ "$(wc -l <"$T/garbage.err")" -eq 1 ] && grep -q 'warning: 3 key log lines' "$T/garbage.err" &&
    ok "garbage key log: one warning line" || bad "garbage warning: $(cat "$T/garbage.err")"

# A key log that does not exist: an input error before anything is read.
env -u SSLKEYLOGFILE $BIN -r $PCAP -o json --keylog "$T/nope" >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "missing key log: exit 2" || bad "missing key log: exit $rc"

# $SSLKEYLOGFILE when no --keylog: used, and said once on stderr.
SSLKEYLOGFILE=$KEYS $BIN -r $PCAP -o json --all >"$T/env" 2>"$T/env.err"
cmp -s "$T/env" "$T/good" && [ "$(grep -c 'SSLKEYLOGFILE=' "$T/env.err")" -eq 1 ] &&
    ok "SSLKEYLOGFILE is used and announced once" || bad "SSLKEYLOGFILE: $(cat "$T/env.err")"
SSLKEYLOGFILE="$T/garbage.keys" $BIN -r $PCAP -o json --all --keylog $KEYS >"$T/both" 2>"$T/both.err"
cmp -s "$T/both" "$T/good" && [ ! -s "$T/both.err" ] &&
    ok "--keylog wins over SSLKEYLOGFILE" || bad "--keylog and SSLKEYLOGFILE"

# No key at all: TLS left to protocol identification, output as before.
env -u SSLKEYLOGFILE $BIN -r $PCAP -o json --sensor golden >"$T/none"
cmp -s "$T/none" tests/expected/browser-firefox-https.json &&
    ok "without a key log the output is unchanged" || bad "no key log: output changed"

# The key log counts in --max-memory: it grows with the connections it
# covers.  20,000 lines of other connections (~1.7 MB of entries) beside
# this capture's own: at a 1 MiB budget nothing is left for the traffic
# (every connection evicted, counted), at 2 MiB all of it is decrypted;
# without them 1 MiB is plenty.  (Not counted, the 20,000 lines were free.)
python3 - "$KEYS" "$T/padded.keys" <<'PY'
import random, sys
lines = open(sys.argv[1]).read()
rnd = random.Random(1)
with open(sys.argv[2], "w") as f:
    f.write(lines)
    for _ in range(20000):
        f.write("CLIENT_TRAFFIC_SECRET_0 %064x %064x\n" % (rnd.getrandbits(256), rnd.getrandbits(256)))
PY
evicted() { # out: caps_hit.memory of the summary
    tail -n 1 "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["caps_hit"]["memory"])'
}
env -u SSLKEYLOGFILE $BIN -r $PCAP -o json --keylog $KEYS --max-memory 1048576 >"$T/small" 2>/dev/null
env -u SSLKEYLOGFILE $BIN -r $PCAP -o json --keylog "$T/padded.keys" --max-memory 1048576 >"$T/padded1" 2>/dev/null
env -u SSLKEYLOGFILE $BIN -r $PCAP -o json --keylog "$T/padded.keys" --max-memory 2097152 >"$T/padded2" 2>/dev/null
[ "$(evicted "$T/small")" = 0 ] && [ "$(tls "$T/small" decrypted)" = 41 ] &&
    [ "$(evicted "$T/padded1")" -gt 0 ] &&
    [ "$(evicted "$T/padded2")" = 0 ] && [ "$(tls "$T/padded2" decrypted)" = 41 ] &&
    ok "the key log counts in --max-memory ($(evicted "$T/padded1") evictions at 1 MiB with 20,000 more lines)" ||
    bad "key log in --max-memory: evicted $(evicted "$T/small"), $(evicted "$T/padded1"), $(evicted "$T/padded2")"

# Keys inside the capture (pcapng Decryption Secrets Block), no --keylog.
if command -v editcap >/dev/null 2>&1; then
    editcap --inject-secrets "tls,$KEYS" $PCAP "$T/dsb.pcapng" 2>/dev/null
    env -u SSLKEYLOGFILE $BIN -r "$T/dsb.pcapng" -o json --all >"$T/dsb" 2>/dev/null
    [ "$(tls "$T/dsb" decrypted)" = 41 ] && [ "$(events_with_tls "$T/dsb")" = "$(events_with_tls "$T/good")" ] &&
        ok "pcapng Decryption Secrets Block: decrypted without --keylog" || bad "pcapng DSB"
else
    echo "skip pcapng Decryption Secrets Block (no editcap)"
fi
exit $fail
