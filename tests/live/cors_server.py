#!/usr/bin/env python3
"""A small HTTP/1.1 server with CORS scenarios, for tests/e2e/live.sh.

Standard library only.  Usage: cors_server.py PORT [ADDRESS]
Endpoints (any method unless noted):
  /ok          200 with Access-Control-Allow-Origin echoing the Origin
  /noacao      200 without Access-Control-Allow-Origin
  /preflight   OPTIONS: 204 allowing PUT for the Origin; PUT: 200 with ACAO
  /options500  OPTIONS: 500, with a matching ACAO (a preflight that fails on
               its status alone)
  /hang        reads the request and never answers; closes when the client
               does (at most 30 s)
  /reset       reads the request, then resets the connection (SO_LINGER 0)
Prints "ready" on stdout once listening, and "hanging PATH" for each /hang
request.
"""
import http.server
import socket
import struct
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the test reads corscope's output
        pass

    def reply(self, status, headers=(), body=b""):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)

    def handle_any(self):
        self.read_body()
        origin = self.headers.get("Origin") or "*"
        path = self.path.split("?", 1)[0]
        if path == "/ok":
            self.reply(200, [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")], b"ok\n")
        elif path == "/noacao":
            self.reply(200, [], b"no acao\n")
        elif path == "/preflight":
            if self.command == "OPTIONS":
                self.reply(204, [("Access-Control-Allow-Origin", origin),
                                 ("Access-Control-Allow-Methods", "PUT"),
                                 ("Vary", "Origin")])
            else:
                self.reply(200, [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")],
                           b"put ok\n")
        elif path == "/options500":
            if self.command == "OPTIONS":
                self.reply(500, [("Access-Control-Allow-Origin", origin)], b"error\n")
            else:
                self.reply(200, [("Access-Control-Allow-Origin", origin)], b"ok\n")
        elif path == "/hang":
            print("hanging", self.path, flush=True)   # live.sh waits for this
            self.connection.settimeout(30)
            try:
                while self.connection.recv(4096):
                    pass
            except OSError:
                pass
            self.close_connection = True
        elif path == "/reset":
            # SO_LINGER {on, 0}: close() sends RST instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
        else:
            self.reply(404, [], b"not found\n")

    do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_HEAD = handle_any


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    addr = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    server = http.server.ThreadingHTTPServer((addr, port), Handler)
    print("ready", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
