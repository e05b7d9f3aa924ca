#!/usr/bin/env python3
"""A small forward proxy for the hand-over captures (tools/handover/record.sh):
CONNECT only.  `CONNECT host:port` opens a TCP connection to 127.0.0.1:port
(every host name maps to loopback, so the captures carry real names in the
CONNECT target, Host and SNI), answers 200 and relays bytes both ways until
either side closes.  A target host starting with "denied." gets 407, and the
connection stays open for the next request (an ordinary HTTP exchange).
Usage: proxy.py PORT"""
import socket
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


def main():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.listen(16)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
