#!/bin/sh
# Bad TLS input: each case is one connection reported as undecryptable with
# its reason in the summary (tls.failed_by, tls.incomplete, tls.no_key),
# exit 0, no crash, no plaintext from a record that failed its tag, and the
# rest of the input still analysed (pcaps/demo.pcap read after it gives its
# 18 transactions).  The capture is tests/tls/lost_record.pcap, a TLS 1.3
# connection of tests/e2e/tls_tshark.sh (4 requests; the -lost copy misses
# the segment that carried the 6000-byte body of the second response); its
# damaged copies are made by tls_peers.py mutate.
cd "$(dirname "$0")/../.." || exit 2
BIN=./corscope
PCAP=tests/tls/lost_record.pcap
KEYS=tests/tls/lost_record.keys
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }
unset SSLKEYLOGFILE

# run NAME PCAP KEYS: corscope on PCAP then demo.pcap; $T/NAME.json, .err, .rc
run() {
    $BIN -r "$2" -r pcaps/demo.pcap -o json --all --keylog "$3" >"$T/$1.json" 2>"$T/$1.err"
    echo $? >"$T/$1.rc"
}
# check NAME EXPR: a Python expression over s (the summary), tls (its tls
# object), ev (the TLS connection's events: [(method, uri, status, end)]);
# exit status 0, no crash message, demo.pcap's 18 transactions after it.
check() {
    python3 - "$T/$1.json" "$(cat "$T/$1.rc")" "$2" <<'PY'
import json, sys
path, rc, expr = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = [json.loads(l) for l in open(path) if l.strip()]
s = lines[-1]
tls = s["tls"]
ev = [(e["method"], e["uri"], e["status"], e["end"]) for e in lines
      if e.get("type") == "http" and e["dport"] == 24436]
demo = [e for e in lines if e.get("type") == "http" and e["dport"] != 24436]
ok = rc == 0 and s["type"] == "summary" and eval(expr) and s["transactions"] == len(ev) + 18
if not ok:
    print("   rc %d, tls %s\n   events %s" % (rc, tls, ev))
sys.exit(0 if ok else 1)
PY
}
mutate() { python3 tests/e2e/tls_peers.py mutate $PCAP "$T/$1.pcap" "$1"; }
STATUSES='[e[2] for e in ev]'

# The baseline: the good key log decrypts all 4.
run good $PCAP $KEYS
check good "tls['decrypted'] == 1 and $STATUSES == [200, 200, 404, 200]" &&
    ok "good key log: 1 connection decrypted, 4 transactions" || bad "good key log"
[ ! -s "$T/good.err" ] && ok "good key log: nothing on stderr" || bad "good: $(cat "$T/good.err")"

# A wrong key: every secret altered.  Nothing decrypted, nothing reported.
awk '{ s = $3; $3 = (substr(s, 1, 1) == "0" ? "1" : "0") substr(s, 2); print }' $KEYS >"$T/wrong.keys"
run wrong $PCAP "$T/wrong.keys"
check wrong "tls['failed_by'] == {'auth-failed': 1} and tls['decrypted'] == 0 and ev == []" &&
    ok "wrong key: auth-failed, no transaction" || bad "wrong key"
$BIN -r $PCAP -o text --keylog "$T/wrong.keys" 2>/dev/null |
    grep -q 'TLS: 1 connections, 0 decrypted, 1 failed (auth-failed 1)' &&
    ok "wrong key: the text summary says why" || bad "wrong key: text summary"

# A key log whose last line lost its newline: with -r it is complete and used.
head -c -1 $KEYS >"$T/nonl.keys"
[ "$(tail -c 1 "$T/nonl.keys" | od -An -c | tr -d ' ')" != '\n' ] || bad "nonl.keys still ends in a newline"
run nonl $PCAP "$T/nonl.keys"
check nonl "tls['decrypted'] == 1 and tls['keylog_lines_used'] == 4 and len(ev) == 4" &&
    ok "last key log line without its newline: used" || bad "last line without newline"

# A truncated key log: the last line (CLIENT_TRAFFIC_SECRET_0) cut in its
# secret.  The line is ignored (counted, one warning line) and the client's
# application records cannot be read: key-incomplete.
tail -n 1 $KEYS | grep -q '^CLIENT_TRAFFIC_SECRET_0 ' || bad "lost_record.keys: last line is not CLIENT_TRAFFIC_SECRET_0"
head -c -40 $KEYS >"$T/trunc.keys"
run trunc $PCAP "$T/trunc.keys"
check trunc "tls['failed_by'] == {'key-incomplete': 1} and tls['keylog_lines_ignored'] == 1 and \
    all(e[2] is None for e in ev)" &&
    ok "truncated key log: key-incomplete, 1 line ignored, no request decrypted" || bad "truncated key log"
[ "$(wc -l <"$T/trunc.err")" -eq 1 ] && grep -q 'warning: 1 key log line ' "$T/trunc.err" &&
    ok "truncated key log: one warning line" || bad "truncated key log stderr: $(cat "$T/trunc.err")"

# Garbage lines among the good ones: counted, one warning, the rest used.
{ echo 'not a key log line'; printf 'CLIENT_RANDOM zz\001 nothex\n'; cat $KEYS
  echo 'CLIENT_RANDOM 00 11'; } >"$T/garbage.keys"
run garbage $PCAP "$T/garbage.keys"
check garbage "tls['decrypted'] == 1 and tls['keylog_lines_ignored'] == 3 and len(ev) == 4" &&
    ok "garbage lines: 3 ignored, the connection decrypted" || bad "garbage lines"
[ "$(wc -l <"$T/garbage.err")" -eq 1 ] && grep -q 'warning: 3 key log lines' "$T/garbage.err" &&
    ok "garbage lines: one warning line" || bad "garbage stderr: $(cat "$T/garbage.err")"

# Keys of other connections (another client random): no key, SNI named.
awk '{ r = $2; $2 = (substr(r, 1, 1) == "0" ? "1" : "0") substr(r, 2); print }' $KEYS >"$T/other.keys"
run other $PCAP "$T/other.keys"
check other "tls['no_key'] == 1 and tls['no_key_sni'] == ['api.test'] and tls['decrypted'] == 0 and ev == []" &&
    ok "key log of other connections: no_key, SNI api.test" || bad "other connections' keys"

# One record fails its tag (a byte flipped in the 404 response's header):
# what came before is reported; that record's plaintext never is.
mutate flip
run flip "$T/flip.pcap" $KEYS
check flip "tls['failed_by'] == {'auth-failed': 1} and tls['auth_failures'] == 1 and \
    $STATUSES == [200, 200, None, None] and 404 not in $STATUSES" &&
    ok "flipped byte: auth-failed, 2 answered before it, 404 never seen" || bad "flipped byte"

# A ServerHello choosing TLS_AES_128_CCM_SHA256 (not supported).
mutate suite
run suite "$T/suite.pcap" $KEYS
check suite "tls['failed_by'] == {'unsupported-suite': 1} and ev == []" &&
    ok "unsupported suite: unsupported-suite" || bad "unsupported suite"

# Truncated handshakes: the capture ends after the ClientHello; it ends in
# the middle of the server's first flight; that flight is lost.
mutate cut-hello
run cut-hello "$T/cut-hello.pcap" $KEYS
check cut-hello "tls['incomplete'] == 1 and tls['failed'] == 0 and ev == []" &&
    ok "capture ends after the ClientHello: incomplete" || bad "cut after ClientHello"
for k in cut-server drop-server; do
    mutate $k
    run $k "$T/$k.pcap" $KEYS
    check $k "tls['failed_by'] == {'handshake-gap': 1} and ev == []" &&
        ok "$k: handshake-gap" || bad "$k"
done

# The lost segment (regression: the gap reached HTTP/1 as 1 byte, so the
# next two responses were read as the lost body): the body's response keeps
# its status, the two after it are answered after resynchronisation.
run lost tests/tls/lost_record-lost.pcap $KEYS
check lost "tls['decrypted'] == 1 and tls['failed'] == 0 and s['http_resyncs'] == 1 and \
    $STATUSES == [200, 200, 404, 200] and [e[3] for e in ev] == ['answered'] * 4" &&
    ok "lost segment: 4 transactions, the 2 after the gap answered" || bad "lost segment"

for n in good wrong nonl trunc garbage other flip suite cut-hello cut-server drop-server lost; do
    if grep -qiE 'sanitizer|runtime error|assert' "$T/$n.err"; then bad "$n: $(cat "$T/$n.err")"; fi
done
exit $fail
