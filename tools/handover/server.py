#!/usr/bin/env python3
"""The origin servers of the hand-over captures (tools/handover/record.sh):
HTTP/1.1 on PORT, and over TLS on TLSPORT when CERT and KEY are given (ALPN
http/1.1).  /ok answers with Access-Control-Allow-Origin echoing the
request's Origin, /missing without it (a CORS block), anything else 404.
Usage: server.py PORT [TLSPORT CERT KEY]"""
import http.server
import ssl
import sys
import threading


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = b"hello\n"
        code = 200 if self.path in ("/ok", "/missing") else 404
        self.send_response(code)
        if self.path == "/ok" and self.headers.get("Origin"):
            self.send_header("Access-Control-Allow-Origin", self.headers["Origin"])
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def serve(port, ctx=None):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
    if ctx:
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


def main():
    if len(sys.argv) > 4:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])
        ctx.set_alpn_protocols(["http/1.1"])
        threading.Thread(target=serve, args=(int(sys.argv[2]), ctx), daemon=True).start()
    serve(int(sys.argv[1]))


if __name__ == "__main__":
    main()
