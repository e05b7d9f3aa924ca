#!/usr/bin/env python3
"""A small forward proxy for the hand-over captures (tools/handover/record.sh):
CONNECT only.  `CONNECT host:port` opens a TCP connection to 127.0.0.1:port
(every host name maps to loopback, so the captures carry real names in the
CONNECT target, Host and SNI), answers 200 and relays bytes both ways until
either side closes.  A target host starting with "denied." gets 407, and the
connection stays open for the next request (an ordinary HTTP exchange).
With TLSPORT CERT KEY it also listens on TLSPORT over TLS (an HTTPS proxy:
the CONNECT itself is encrypted, and a tunnelled TLS connection is TLS
inside TLS).
Usage: proxy.py PORT [TLSPORT CERT KEY]"""
import socket
import ssl
import sys
import threading


def relay(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    finally:
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def read_head(c, buf):
    while b"\r\n\r\n" not in buf:
        d = c.recv(4096)
        if not d:
            return None, buf
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), rest


def handle(c):
    buf = b""
    while True:
        head, buf = read_head(c, buf)
        if head is None:
            c.close()
            return
        method, target = head.split("\r\n")[0].split(" ")[:2]
        host, _, port = target.rpartition(":")
        if method != "CONNECT":
            c.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            continue
        if host.startswith("denied."):
            c.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                      b"Proxy-Authenticate: Basic realm=\"handover\"\r\nContent-Length: 0\r\n\r\n")
            continue
        u = socket.create_connection(("127.0.0.1", int(port)))
        c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if buf:
            u.sendall(buf)
        t = threading.Thread(target=relay, args=(u, c), daemon=True)
        t.start()
        relay(c, u)
        t.join()
        c.close()
        u.close()
        return


def serve(port, ctx=None):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    while True:
        c, _ = s.accept()
        if ctx:
            try:
                c = ctx.wrap_socket(c, server_side=True)
            except (OSError, ssl.SSLError):
                c.close()
                continue
        threading.Thread(target=handle, args=(c,), daemon=True).start()


def main():
    if len(sys.argv) > 4:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])
        ctx.set_alpn_protocols(["http/1.1"])
        threading.Thread(target=serve, args=(int(sys.argv[2]), ctx), daemon=True).start()
    serve(int(sys.argv[1]))


if __name__ == "__main__":
    main()
