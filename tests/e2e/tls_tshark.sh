#!/bin/sh
# HTTPS from real TLS peers, decrypted by corscope and by tshark: both must
# find the same HTTP/1.1 transactions.  The captures are made now, on the
# loopback of a network namespace this test creates (tls_peers.py capture):
# openssl s_client/s_server, Python's ssl and curl, TLS 1.2 and 1.3 with
# AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305 and the CBC suites with
# HMAC-SHA1/SHA256/SHA384 (with and without encrypt-then-MAC), resumption
# (1.2 ticket and session id, 1.3 PSK), KeyUpdate both ways, records split
# one byte a segment, several records (and pipelined requests) in one
# segment, and one lost segment (tls_peers.py compare says what each check
# is).  Made at test time, not committed: the peers pick fresh randoms and
# keys, so each run also tests handshakes no earlier run saw; about 40 s.
cd "$(dirname "$0")/../.." || exit 2
for tool in tshark openssl curl tcpdump python3 unshare ip; do
    command -v $tool >/dev/null 2>&1 || { echo "skip: $tool not installed"; exit 77; }
done
NS="unshare --net"
$NS true 2>/dev/null || NS="unshare --net --map-root-user"
$NS sh -c 'ip link set lo up' 2>/dev/null || { echo "skip: cannot create a network namespace"; exit 77; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
chmod 755 "$T"
$NS sh -c 'ip link set lo up && exec timeout 300 python3 tests/e2e/tls_peers.py capture "$1"' sh "$T" || {
    [ -s "$T/cap.pcap" ] || { echo "skip: no capture on the namespace's loopback"; exit 77; }
    echo "FAIL: a peer failed (above); the capture is incomplete"
    exit 1
}
python3 tests/e2e/tls_peers.py compare "$T" ./corscope
