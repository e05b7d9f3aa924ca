#!/bin/sh
# Records the hand-over captures on loopback (needs root for tcpdump -i lo,
# python3, curl, openssl, and nghttpd, nghttp, nghttpx from the Debian
# packages nghttp2-server, nghttp2-client, nghttp2-proxy; only remaking the
# captures needs them, the tests read the committed files):
#
#   pcaps/handover-connect.pcap + .keys: curl through proxy.py (CONNECT
#     only; every name maps to 127.0.0.1), only the client <-> proxy leg
#     captured:
#       1. plain HTTP/1.1 in a tunnel (curl -p): /ok and /missing, one tunnel
#       2. HTTPS, HTTP/1.1 inside TLS inside the tunnel (server.py, ALPN http/1.1)
#       3. HTTPS, h2 inside TLS inside the tunnel (nghttpd, ALPN h2)
#       4. h2 with prior knowledge inside a plain tunnel (nghttpd --no-tls)
#       5. a CONNECT answered 407 (an ordinary exchange)
#     curl writes the TLS secrets of 2 and 3 to the .keys file (SSLKEYLOGFILE).
#   pcaps/handover-httpsproxy.pcap + .keys: the same proxy over TLS (an
#     HTTPS proxy, curl -x https://): HTTPS inside it (TLS inside TLS) and
#     plain HTTP through it (curl -p); curl writes the secrets of both TLS
#     layers to the .keys file.
#   pcaps/handover-h2c.pcap: the HTTP/1.1 Upgrade to h2c, answered by
#     nghttpx (nghttp2-proxy: its cleartext frontend takes the Upgrade;
#     nghttpd does not, it answers an Upgrade with h2 frames) in front of
#     server.py: from nghttp -u (/ok is the upgrading request, stream 1;
#     /missing follows on stream 3) and from curl --http2 over http://.
# Every request carries Origin: http://app.example:8080 (cross-origin).
# Usage: tools/handover/record.sh [OUTDIR] [BASEPORT]
set -e
here=$(cd "$(dirname "$0")" && pwd)
outdir=${1:-pcaps}
base=${2:-18930}
proxy=$base http=$((base + 1)) https=$((base + 2)) h2tls=$((base + 3)) h2clear=$((base + 4))
h2c=$((base + 5)) tlsproxy=$((base + 7))
tmp=$(mktemp -d)
pids=
trap 'kill $pids 2> /dev/null || true; rm -rf "$tmp"' EXIT
origin='Origin: http://app.example:8080'

openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=api.handover.test \
    -addext subjectAltName=DNS:api.handover.test,DNS:h2.handover.test \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2> /dev/null
mkdir "$tmp/htdocs"
echo hello > "$tmp/htdocs/ok"
echo hello > "$tmp/htdocs/missing"

python3 "$here/proxy.py" "$proxy" "$tlsproxy" "$tmp/cert.pem" "$tmp/key.pem" & pids="$pids $!"
python3 "$here/server.py" "$http" "$https" "$tmp/cert.pem" "$tmp/key.pem" & pids="$pids $!"
nghttpd -d "$tmp/htdocs" "$h2tls" "$tmp/key.pem" "$tmp/cert.pem" > /dev/null & pids="$pids $!"
nghttpd --no-tls -d "$tmp/htdocs" "$h2clear" > /dev/null & pids="$pids $!"
python3 "$here/server.py" "$((base + 6))" & pids="$pids $!"
nghttpx --conf=/dev/null --frontend="127.0.0.1,$h2c;no-tls" --backend="127.0.0.1,$((base + 6))" \
    --workers=1 --errorlog-file=/dev/null --pid-file="$tmp/nghttpx.pid" & pids="$pids $!"
# wait until every server listens (python starts slowly on a busy machine)
for port in $proxy $http $https $h2tls $h2clear $h2c $((base + 6)); do
    i=0
    until curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/" || [ $? -ne 7 ]; do
        i=$((i + 1))
        [ $i -lt 100 ] || { echo "record.sh: nothing listens on $port" >&2; exit 1; }
        sleep 0.2
    done
done

# --- the CONNECT capture
rm -f "$outdir/handover-connect.keys"
tcpdump -i lo -U -s 0 -w "$outdir/handover-connect.pcap" "tcp port $proxy" 2> /dev/null &
dump=$!
pids="$pids $dump"
sleep 2
px="http://127.0.0.1:$proxy"
curl -s -o /dev/null -p -x "$px" -H "$origin" \
    "http://api.handover.test:$http/ok" "http://api.handover.test:$http/missing"
SSLKEYLOGFILE="$outdir/handover-connect.keys" curl -s -o /dev/null -k --http1.1 -x "$px" \
    -H "$origin" "https://api.handover.test:$https/ok" "https://api.handover.test:$https/missing"
SSLKEYLOGFILE="$outdir/handover-connect.keys" curl -s -o /dev/null -k --http2 -x "$px" \
    -H "$origin" "https://h2.handover.test:$h2tls/ok" "https://h2.handover.test:$h2tls/missing"
curl -s -o /dev/null -p --http2-prior-knowledge -x "$px" -H "$origin" \
    "http://h2.handover.test:$h2clear/ok"
curl -s -o /dev/null -p -x "$px" -H "$origin" "http://denied.handover.test:1/ok" || true
sleep 1
kill $dump
wait $dump 2> /dev/null || true

# --- the HTTPS proxy capture
rm -f "$outdir/handover-httpsproxy.keys"
tcpdump -i lo -U -s 0 -w "$outdir/handover-httpsproxy.pcap" "tcp port $tlsproxy" 2> /dev/null &
dump=$!
pids="$pids $dump"
sleep 2
SSLKEYLOGFILE="$outdir/handover-httpsproxy.keys" curl -s -o /dev/null -k --proxy-insecure \
    -x "https://127.0.0.1:$tlsproxy" -H "$origin" "https://api.handover.test:$https/ok"
SSLKEYLOGFILE="$outdir/handover-httpsproxy.keys" curl -s -o /dev/null --proxy-insecure -p \
    -x "https://127.0.0.1:$tlsproxy" -H "$origin" "http://api.handover.test:$http/missing"
sleep 1
kill $dump
wait $dump 2> /dev/null || true

# --- the h2c capture
tcpdump -i lo -U -s 0 -w "$outdir/handover-h2c.pcap" "tcp port $h2c" 2> /dev/null &
dump=$!
pids="$pids $dump"
sleep 2
nghttp -u -H ":authority: api.handover.test:$h2c" -H "origin: http://app.example:8080" \
    "http://127.0.0.1:$h2c/ok" "http://127.0.0.1:$h2c/missing" > /dev/null
sleep 0.5
curl -s -o /dev/null --http2 -H "$origin" --resolve "api.handover.test:$h2c:127.0.0.1" \
    "http://api.handover.test:$h2c/ok"
sleep 1
kill $dump
wait $dump 2> /dev/null || true
