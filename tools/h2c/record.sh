#!/bin/sh
# Records pcaps/h2c.pcap: Node's http2 server and client (server.js,
# client.js) over cleartext HTTP/2 with prior knowledge on loopback, captured
# with tcpdump; then a second connection from nghttp (nghttp2-client), whose
# HPACK encoder uses the dynamic table differently.  Needs root (tcpdump -i
# lo), node, tcpdump, nghttp.
# Usage: tools/h2c/record.sh [OUT.pcap] [PORT]
set -e
here=$(dirname "$0")
out=${1:-pcaps/h2c.pcap}
port=${2:-18443}
node "$here/server.js" "$port" > /dev/null &
srv=$!
dump=
trap 'kill $srv $dump 2> /dev/null || true' EXIT
sleep 1
tcpdump -i lo -U -s 0 -w "$out" "tcp port $port" 2> /dev/null &
dump=$!
sleep 2
node "$here/client.js" "$port"
sleep 0.5
nghttp -n -H ':authority: api.example:'"$port" -H 'origin: http://app.example:8080' \
    "http://127.0.0.1:$port/ok" "http://127.0.0.1:$port/missing" "http://127.0.0.1:$port/early" || true
sleep 1
