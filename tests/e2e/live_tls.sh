#!/bin/sh
# HTTPS live, in a private network namespace: a Python TLS server answering
# CORS, curl writing its TLS secrets to $SSLKEYLOGFILE, corscope -i lo
# --keylog on that file, which starts empty.  The secrets are appended at
# each handshake, after corscope saw the first records: it holds them, reads
# the grown key log (once a second) and decrypts them then.  A connection
# whose secrets never arrive is counted as without a key, with its SNI.
#
# Needs root, unshare(1), ip(8), openssl(1), curl: otherwise "skip:" (77).
cd "$(dirname "$0")/../.." || exit 2
CORSCOPE=${CORSCOPE:-$PWD/corscope}

if [ "${1:-}" != --inside ]; then
    [ "$(id -u)" = 0 ] || { echo "skip: live TLS test needs root"; exit 77; }
    for tool in unshare ip openssl curl python3; do
        command -v "$tool" >/dev/null 2>&1 || { echo "skip: live TLS test needs $tool"; exit 77; }
    done
    unshare --net true 2>/dev/null || { echo "skip: unshare --net fails here"; exit 77; }
    [ -x "$CORSCOPE" ] || { echo "FAIL: $CORSCOPE not built"; exit 1; }
    exec timeout 60 unshare --net sh "$0" --inside
fi

ip link set lo up || { echo "FAIL: ip link set lo up"; exit 1; }
T=$(mktemp -d) || exit 1
PORT=8443
fail=0
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    for p in $pids; do wait "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
wait_for() {
    n=$(($1 * 10)); shift
    while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done
    return 1
}

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=api.example \
    -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 || { echo "FAIL: openssl req"; exit 1; }
cat >"$T/server.py" <<'PY'
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200)
        if self.path == "/ok":
            self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin", "*"))
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
ctx.set_alpn_protocols(["http/1.1"])
srv = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("ready", flush=True)
srv.serve_forever()
PY
python3 "$T/server.py" $PORT "$T/cert.pem" "$T/key.pem" >"$T/server.out" 2>"$T/server.err" &
pids="$pids $!"
wait_for 5 grep -q ready "$T/server.out" || { cat "$T/server.err"; echo "FAIL: server"; exit 1; }

: >"$T/tls.keys"
"$CORSCOPE" -i lo -o json -Z root --keylog "$T/tls.keys" tcp port $PORT >"$T/out.json" 2>"$T/err" &
CS=$!
sleep 1
get() { curl -s -o /dev/null --max-time 5 -k --resolve api.example:$PORT:127.0.0.1 \
        -H 'Origin: https://app.example' "$@"; }
SSLKEYLOGFILE="$T/tls.keys" get "https://api.example:$PORT/ok"
SSLKEYLOGFILE="$T/tls.keys" get "https://api.example:$PORT/noacao"
get "https://api.example:$PORT/nokey"          # no SSLKEYLOGFILE: never decryptable
grep -q CLIENT_TRAFFIC_SECRET_0 "$T/tls.keys" || bad "curl wrote no key log (SSLKEYLOGFILE unsupported?)"
wait_for 5 grep -q '"uri":"/noacao"' "$T/out.json"
kill -INT $CS; wait $CS; rc=$?
[ $rc -eq 0 ] && ok "corscope exits 0" || bad "exit status $rc: $(cat "$T/err")"
grep '"uri":"/ok"' "$T/out.json" | grep -q '"verdict":"allowed".*"tls":{"version":"1.[23]"' &&
    ok "/ok decrypted live with a key that came late: allowed, with tls" || bad "/ok: $(cat "$T/out.json")"
grep '"uri":"/noacao"' "$T/out.json" | grep -q '"reason":"CORSMissingAllowOrigin"' &&
    ok "/noacao: blocked, CORSMissingAllowOrigin" || bad "/noacao"
grep -q '"uri":"/nokey"' "$T/out.json" && bad "/nokey decrypted without its key" || ok "/nokey not decrypted"
tail -1 "$T/out.json" | grep -q '"tls":{"connections":3,"decrypted":2,"no_key":1,"no_key_sni":\["api.example"\]' &&
    ok "summary: 3 connections, 2 decrypted, 1 without a key (SNI api.example)" ||
    bad "summary: $(tail -1 "$T/out.json" | grep -o '"tls":{[^}]*')"
exit $fail
