#!/usr/bin/env python3
"""Real TLS peers on loopback, captured, for tests/e2e/tls_tshark.sh.

  tls_peers.py capture DIR   (inside a network namespace of its own: it
                              sets sysctls of that namespace's loopback)
  tls_peers.py compare DIR CORSCOPE
  tls_peers.py cut DIR OUT    (the "lost" connection alone, with and without
                              its lost segment, and its keys: tests/tls/lost_record*)

capture: an HTTPS server in Python's ssl (keylog_filename), openssl s_server
-HTTP, and as clients openssl s_client (-keylogfile; its KeyUpdate commands
'k'/'K'; -sess_out/-sess_in), Python's ssl and curl (SSLKEYLOGFILE), plus two
TCP relays: one writes every byte as its own segment (TCP_NODELAY), one
gathers a whole flight into one segment.  Each scenario has its server port.
Every request carries an Origin header, every response
Access-Control-Allow-Origin, so corscope reports each one.  Writes DIR/cap.pcap
(tcpdump -i lo), DIR/keys.log (all peers' key logs), DIR/scenarios.json, and
DIR/lost.pcap: cap.pcap without the start of the record that carried the
body of the second response of the "lost" scenario (drop_lost says how).

compare: for every scenario, corscope's transactions (client port, server
port, method, uri, status, request frame, response frame) equal tshark's
decrypted http requests and responses; on lost.pcap, tshark cannot go past
the lost record (it does not try later sequence numbers): corscope must give
every transaction before it as tshark does, mark the one whose body was lost
as such, and after resynchronising give the later ones as tshark gives them
in cap.pcap (lost.pcap keeps every frame: the segments that carried the
record's first byte are cut short there).  Exit status 1 on any difference.
"""
import fcntl
import json
import os
import re
import select
import signal
import socket
import ssl
import struct
import subprocess
import sys
import termios
import threading
import time

BASE_PORT = 24400
SENTINEL_PORT = 24399  # the capture's end marker (capture())
ORIGIN = "https://app.test"
HOST = "api.test"

# ---- HTTP/1.1 over any socket-like object --------------------------------


def request_bytes(port, method, path, body=b""):
    h = "%s %s HTTP/1.1\r\nHost: %s:%d\r\nOrigin: %s\r\n" % (method, path, HOST, port, ORIGIN)
    if body or method == "POST":
        h += "Content-Type: text/plain\r\nContent-Length: %d\r\n" % len(body)
    return h.encode() + b"\r\n" + body


def read_message(recv, buf):
    """One HTTP message (headers + Content-Length body) from recv(); returns
    (status or method line, rest of buffer) or (None, buf) at EOF."""
    while b"\r\n\r\n" not in buf:
        d = recv()
        if not d:
            return None, buf
        buf += d
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(buf) < length:
        d = recv()
        if not d:
            return None, buf
        buf += d
    return lines[0].decode(), buf[length:]


def response_for(first_line):
    """/s/STATUS/SIZE[/split] -> (header bytes, body bytes)."""
    method, path, _ = first_line.split(" ")
    parts = path.split("/")
    status = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 200
    size = int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else 20
    body = (b"%s %s\n" % (method.encode(), path.encode()) * (size // 10 + 1))[:size]
    head = ("HTTP/1.1 %d X\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
            "Access-Control-Allow-Origin: %s\r\n\r\n" % (status, size, ORIGIN)).encode()
    return head, body


# ---- servers ---------------------------------------------------------------


def serve_conn(conn, nodelay):
    if nodelay:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""
    try:
        while True:
            line, buf = read_message(lambda: conn.recv(65536), buf)
            if line is None:
                break
            head, body = response_for(line)
            # header and body in records of their own (two writes)
            conn.sendall(head)
            if body:
                conn.sendall(body)
        try:
            conn.unwrap()
        except (OSError, ssl.SSLError, ValueError):
            pass
    except (OSError, ssl.SSLError):
        pass
    finally:
        conn.close()


def py_server(port, d, nodelay=False, tls12_only=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, "cert.pem"), os.path.join(d, "key.pem"))
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if tls12_only:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.keylog_filename = os.path.join(d, "keys.pyserver")
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(16)

    def loop():
        while True:
            c, _ = ls.accept()
            try:
                s = ctx.wrap_socket(c, server_side=True)
            except (OSError, ssl.SSLError):
                c.close()
                continue
            threading.Thread(target=serve_conn, args=(s, nodelay), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()


def relay(port, target, mode):
    """mode "bytes": every byte its own segment; "gather": a flight waits
    50 ms and leaves as one write."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(4)

    def pump(src, dst):
        try:
            while True:
                d = src.recv(65536)
                if not d:
                    break
                if mode == "bytes":
                    for i in range(len(d)):
                        dst.send(d[i:i + 1])
                        time.sleep(0.0001)
                else:
                    time.sleep(0.05)
                    src.setblocking(False)
                    try:
                        while True:
                            more = src.recv(65536)
                            if not more:
                                break
                            d += more
                    except BlockingIOError:
                        pass
                    src.setblocking(True)
                    dst.sendall(d)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def loop():
        while True:
            c, _ = ls.accept()
            u = socket.create_connection(("127.0.0.1", target))
            for s in (c, u):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=pump, args=(c, u), daemon=True).start()
            threading.Thread(target=pump, args=(u, c), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()


# ---- clients ---------------------------------------------------------------


def client_ctx(d, version=None, ciphers=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.keylog_filename = os.path.join(d, "keys.pyclient")
    if ciphers:
        ctx.set_ciphers(ciphers + ":@SECLEVEL=0")
    if version:
        ctx.minimum_version = ctx.maximum_version = version
    return ctx


def py_client(port, d, reqs, version=None, ciphers=None, session=None, pipeline=False, ctx=None):
    ctx = ctx or client_ctx(d, version, ciphers)
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20),
                        server_hostname=HOST, session=session)
    buf, got = b"", []
    if pipeline:
        s.sendall(b"".join(request_bytes(port, *r) for r in reqs))
        for _ in reqs:
            line, buf = read_message(lambda: s.recv(65536), buf)
            got.append(line)
    else:
        for r in reqs:
            s.sendall(request_bytes(port, *r))
            line, buf = read_message(lambda: s.recv(65536), buf)
            got.append(line)
    time.sleep(0.05)  # TLS 1.3 tickets arrive after the handshake
    sess = s.session
    try:
        s.unwrap()
    except (OSError, ssl.SSLError, ValueError):
        pass
    s.close()
    assert all(got), "py client on %d: %s" % (port, got)
    return sess


def s_client(port, d, args, items):
    """openssl s_client; items are requests or the commands "k"/"K"."""
    p = subprocess.Popen(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-quiet",
                          "-no_ign_eof", "-servername", HOST, "-alpn", "http/1.1",
                          "-keylogfile", os.path.join(d, "keys.sclient")] + args,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    got = []

    def drained():
        # s_client takes a command only as the first byte of one read() of
        # its stdin: the next write waits until it read the pipe empty
        left = bytearray(4)
        for _ in range(400):
            fcntl.ioctl(p.stdin.fileno(), termios.FIONREAD, left)
            if struct.unpack("i", left)[0] == 0:
                return
            time.sleep(0.025)
        raise TimeoutError("s_client does not read its stdin")

    def recv():
        if not select.select([p.stdout], [], [], 20)[0]:
            raise TimeoutError("s_client on %d: no response" % port)
        return p.stdout.read1(65536)

    try:
        s_client_items(p, port, items, drained, recv, got)
    finally:
        if not p.stdin.closed:
            p.stdin.close()  # s_client sends close_notify and exits
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    assert all(got) and got, "s_client on %d: %s" % (port, got)


def s_client_items(p, port, items, drained, recv, got):
    buf = b""
    for it in items:
        drained()
        if it in ("k", "K"):
            p.stdin.write(it.encode() + b"\n")
            p.stdin.flush()
            drained()
            time.sleep(0.1)  # its KeyUpdate leaves before the next request
            continue
        p.stdin.write(request_bytes(port, *it))
        p.stdin.flush()
        line, buf = read_message(recv, buf)
        got.append(line)
        time.sleep(0.05)
    time.sleep(0.1)


def curl(port, d, urls, args):
    env = dict(os.environ, SSLKEYLOGFILE=os.path.join(d, "keys.curl"))
    subprocess.run(["curl", "-sSk", "--http1.1", "-H", "Origin: " + ORIGIN, "-o", "/dev/null",
                    "-o", "/dev/null", "-o", "/dev/null"] + args +
                   ["https://127.0.0.1:%d%s" % (port, u) for u in urls], env=env, check=True,
                   timeout=20)


def listening(port):
    with open("/proc/net/tcp") as f:
        return any(w[1].endswith(":%04X" % port) and w[3] == "0A" for w in
                   (l.split() for l in f.readlines()[1:]))


def s_server_http(port, d):
    """openssl s_server -HTTP: answers GET /FILE with ./FILE as it is."""
    with open(os.path.join(d, "cors.txt"), "wb") as f:
        f.write(("HTTP/1.1 200 OK\r\nContent-Length: 6\r\nAccess-Control-Allow-Origin: %s\r\n"
                 "Connection: close\r\n\r\nhello\n" % ORIGIN).encode())
    return subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-quiet",
                             "-HTTP", "-cert", "cert.pem", "-key", "key.pem", "-alpn", "http/1.1",
                             "-keylogfile", "keys.sserver"], cwd=d, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def py_client_close(port, d, path, version):
    """One GET on a connection the server closes (s_server -HTTP)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.keylog_filename = os.path.join(d, "keys.pyclient")
    ctx.minimum_version = ctx.maximum_version = version
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20),
                        server_hostname=HOST)
    s.sendall(request_bytes(port, "GET", path))
    data = b""
    try:
        while True:
            x = s.recv(65536)
            if not x:
                break
            data += x
    except (OSError, ssl.SSLError):
        pass
    s.close()
    assert data.startswith(b"HTTP/1.1 200"), data[:100]


# ---- scenarios -------------------------------------------------------------

T12, T13 = ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3
REQS = [("GET", "/s/200/30"), ("POST", "/s/201/700", b"a=1&b=2"), ("GET", "/s/404/0"),
        ("PUT", "/s/200/20000", b"x" * 3000)]


def scenarios(d):
    """(name, server port, function) for every capture scenario."""
    out = []
    port = [BASE_PORT]

    def add(name, fn, server=True, **kw):
        p = port[0]
        port[0] += 1
        if server:
            py_server(p, d, **kw)
        out.append((name, p, fn))
        return p

    for suite in ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"):
        add("s_client 1.3 " + suite,
            lambda p, s=suite: s_client(p, d, ["-tls1_3", "-ciphersuites", s], REQS))
    for suite in ("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
                  "ECDHE-RSA-CHACHA20-POLY1305", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES128-SHA256",
                  "ECDHE-RSA-AES256-SHA384", "AES128-SHA", "AES256-SHA256"):
        add("s_client 1.2 " + suite,
            lambda p, s=suite: s_client(p, d, ["-tls1_2", "-cipher", s + ":@SECLEVEL=0"], REQS))
    for suite in ("ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES128-SHA256", "ECDHE-RSA-AES256-SHA384"):
        add("s_client 1.2 no_etm " + suite,
            lambda p, s=suite: s_client(p, d, ["-tls1_2", "-no_etm", "-cipher", s + ":@SECLEVEL=0"],
                                        REQS))
    for suite in ("ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-SHA256"):
        add("python 1.2 " + suite, lambda p, s=suite: py_client(p, d, REQS, T12, s))
    add("python 1.3", lambda p: py_client(p, d, REQS, T13))
    add("curl 1.3 chacha20",
        lambda p: curl(p, d, ["/s/200/10", "/s/204/0", "/s/200/5000"],
                       ["--tlsv1.3", "--tls13-ciphers", "TLS_CHACHA20_POLY1305_SHA256"]))
    add("curl 1.2 aes128-sha256",
        lambda p: curl(p, d, ["/s/200/10", "/s/403/15", "/s/200/20000"],
                       ["--tlsv1.2", "--tls-max", "1.2", "--ciphers", "ECDHE-RSA-AES128-SHA256"]))
    add("curl 1.2 aes256-gcm",
        lambda p: curl(p, d, ["/s/200/10", "/s/500/5"],
                       ["--tlsv1.2", "--tls-max", "1.2", "--ciphers", "ECDHE-RSA-AES256-GCM-SHA384"]))

    def sserver(p, version):
        srv = s_server_http(p, d)
        try:
            for _ in range(100):  # until it listens (no probe connection in the capture)
                if listening(p):
                    break
                time.sleep(0.05)
            py_client_close(p, d, "/cors.txt", version)
            py_client_close(p, d, "/cors.txt", version)
        finally:
            srv.terminate()
            srv.wait()

    add("s_server -HTTP 1.3, python client", lambda p: sserver(p, T13), server=False)
    add("s_server -HTTP 1.2, python client", lambda p: sserver(p, T12), server=False)

    def resume(p, args, tag):
        sess = os.path.join(d, "sess.%d" % p)
        s_client(p, d, args + ["-sess_out", sess], [("GET", "/s/200/10/" + tag + "-full")])
        s_client(p, d, args + ["-sess_in", sess], [("GET", "/s/200/10/" + tag + "-resumed"),
                                                   ("GET", "/s/200/100")])

    add("resume 1.2 ticket", lambda p: resume(p, ["-tls1_2"], "ticket"))
    add("resume 1.2 session id", lambda p: resume(p, ["-tls1_2", "-no_ticket"], "sid"))
    add("resume 1.3 psk", lambda p: resume(p, ["-tls1_3"], "psk"))

    def py_resume(p):
        ctx = client_ctx(d, T13)
        s = py_client(p, d, [("GET", "/s/200/10")], ctx=ctx)
        py_client(p, d, [("GET", "/s/200/11"), ("GET", "/s/200/12")], session=s, ctx=ctx)

    add("resume 1.3 python", py_resume)
    add("keyupdate 1.3",
        lambda p: s_client(p, d, ["-tls1_3"], [REQS[0], "k", REQS[1], "K", REQS[2], "k", "k", REQS[3],
                                               "K", ("GET", "/s/200/10")]))
    add("keyupdate 1.3 chacha20",
        lambda p: s_client(p, d, ["-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"],
                           [REQS[0], "K", REQS[1]]))
    # relays: the client talks to the relay's port, the relay to a server
    for version, tag in ((T13, "1.3"), (T12, "1.2")):
        target = add("server behind the byte relay " + tag, lambda p: None)
        rp = add("records split one byte a segment " + tag,
                 lambda p, v=version: py_client(p, d, REQS[:3], v), server=False)
        relay(rp, target, "bytes")
        target = add("server behind the gathering relay " + tag, lambda p: None)
        rp = add("several records per segment " + tag,
                 lambda p, v=version: py_client(p, d, REQS * 2, v, pipeline=True), server=False)
        relay(rp, target, "gather")
    add("lost", lambda p: py_client(p, d, [("GET", "/s/200/50"), ("GET", "/s/200/6000"),
                                           ("GET", "/s/404/40"), ("POST", "/s/200/30", b"z=1")],
                                    T13), nodelay=True)
    return out


# ---- pcap ------------------------------------------------------------------


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    assert magic in (0xA1B2C3D4, 0xA1B23C4D), "not a little-endian pcap"
    linktype = struct.unpack("<I", data[20:24])[0]
    off, pkts = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack("<I", data[off + 8:off + 12])[0]
        pkts.append((data[off:off + 16], data[off + 16:off + 16 + incl]))
        off += 16 + incl
    return data[:24], linktype, pkts


def tcp_of(linktype, pkt):
    """(sport, dport, payload) of an IPv4 TCP packet, or None."""
    if linktype == 1:
        if len(pkt) < 14 or pkt[12:14] != b"\x08\x00":
            return None
        ip = pkt[14:]
    elif linktype == 113:  # Linux cooked
        ip = pkt[16:]
    else:
        return None
    if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
        return None
    ihl = (ip[0] & 15) * 4
    total = struct.unpack(">H", ip[2:4])[0]
    tcp = ip[ihl:total]
    sport, dport = struct.unpack(">HH", tcp[:4])
    return sport, dport, tcp[(tcp[12] >> 4) * 4:]


def write_pcap(path, header, pkts):
    with open(path, "wb") as f:
        f.write(header)
        for h, p in pkts:
            f.write(h + p)


def tcp_segment_of(linktype, pkt):
    """(sport, seq, payload offset in pkt, payload) of an IPv4 TCP packet, or None."""
    link = {1: 14, 113: 16}.get(linktype)
    if link is None or len(pkt) < link + 20 or (linktype == 1 and pkt[12:14] != b"\x08\x00"):
        return None
    ip = pkt[link:]
    if ip[0] >> 4 != 4 or ip[9] != 6:
        return None
    ihl = (ip[0] & 15) * 4
    total = struct.unpack(">H", ip[2:4])[0]
    tcp = ip[ihl:total]
    sport, _, seq = struct.unpack(">HHI", tcp[:8])
    start = link + ihl + (tcp[12] >> 4) * 4
    return sport, seq, start, pkt[start:link + total]


def truncated(linktype, h, p, keep):
    """Packet p with only the first `keep` bytes of its TCP payload: the IPv4
    total length, its header checksum and the pcap lengths follow."""
    link = {1: 14, 113: 16}[linktype]
    start = tcp_segment_of(linktype, p)[2]
    q = bytearray(p[:start + keep])
    ihl = (q[link] & 15) * 4
    q[link + 2:link + 4] = struct.pack(">H", len(q) - link)
    q[link + 10:link + 12] = b"\0\0"
    s = sum(struct.unpack(">%dH" % (ihl // 2), bytes(q[link:link + ihl])))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    q[link + 10:link + 12] = struct.pack(">H", ~s & 0xFFFF)
    h = h[:8] + struct.pack("<II", len(q), len(q))
    return h, bytes(q)


def has_sentinel(path):
    """Whether the capture holds the end marker (a UDP datagram to SENTINEL_PORT)."""
    with open(path, "rb") as f:
        data = f.read()
    return struct.pack(">H", SENTINEL_PORT) + b"\x00\x0b" in data[-65536:]


def drop_lost(d, port):
    """lost.pcap: cap.pcap without the start of the server's first TLS record
    over 4000 bytes on the "lost" connection (the 6000-byte body, one record).
    The server's byte stream is rebuilt from its segments in sequence order
    (tcpdump may record a retransmission, possibly collapsed by the kernel
    from several small segments, or a segment out of order on a loaded
    machine) to find that record wherever TCP cut it.  Every segment that
    carries the record's first byte is cut short there: to the bytes before
    it (an earlier record, the response's header, stays seen), or to no
    payload at all (the packet stays, so no frame is renumbered).  Returns
    (the first such frame number, False: "cut short"), or (0, why) when
    there is no such record."""
    header, lt, pkts = read_pcap(os.path.join(d, "cap.pcap"))
    segs, first = [], None
    for i, (h, p) in enumerate(pkts):
        t = tcp_segment_of(lt, p)
        if not t or t[0] != port or not t[3]:
            continue
        if first is None:
            first = t[1]
        rel = (t[1] - first) & 0xFFFFFFFF
        segs.append((rel - (1 << 32) if rel >= 1 << 31 else rel, i, t[3]))
    if not segs:
        return 0, "no data from port %d" % port
    base = min(s[0] for s in segs)
    segs = [(rel - base, i, data) for rel, i, data in segs]
    stream, holes = b"", 0
    for off, i, data in sorted(segs, key=lambda s: (s[0], s[1])):
        if off > len(stream):
            holes += 1
            break
        stream += data[len(stream) - off:]
    off = 0
    while off + 5 <= len(stream):
        length = int.from_bytes(stream[off + 3:off + 5], "big")
        if stream[off] == 0x17 and length > 4000:
            break
        off += 5 + length
    else:
        return 0, "%d segments from port %d, %d bytes in order%s, no record over 4000 bytes" % (
            len(segs), port, len(stream), " before a hole" if holes else "")
    covering = sorted(i for start, i, data in segs if start <= off < start + len(data))
    out = list(pkts)
    for i in covering:
        start = [s for s in segs if s[1] == i][0][0]
        out[i] = truncated(lt, pkts[i][0], pkts[i][1], off - start)
    write_pcap(os.path.join(d, "lost.pcap"), header, out)
    return covering[0] + 1, False


# ---- capture ---------------------------------------------------------------


def capture(d):
    for sysctl, value in (("net/ipv4/tcp_autocorking", "0"),):
        try:
            with open("/proc/sys/" + sysctl, "w") as f:
                f.write(value)
        except OSError:
            pass
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=" + HOST, "-keyout", os.path.join(d, "key.pem"), "-out",
                    os.path.join(d, "cert.pem")], check=True, capture_output=True)
    tcpdump = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "-B", "32768", "-s", "0", "-w",
                                os.path.join(d, "cap.pcap"),
                                "tcp portrange %d-%d or udp port %d" % (BASE_PORT, BASE_PORT + 99,
                                                                        SENTINEL_PORT)],
                               stderr=subprocess.PIPE)
    line = tcpdump.stderr.readline()  # "listening on lo ..."
    assert b"listening" in line, line
    meta, failed = [], []

    def too_long(*_):
        raise TimeoutError("the peers took over 240 s")

    signal.signal(signal.SIGALRM, too_long)
    signal.alarm(240)
    try:
        for name, port, fn in scenarios(d):
            t0 = time.time()
            try:
                fn(port)
            except TimeoutError as e:
                failed.append("%s: %r" % (name, e))
                break
            except Exception as e:  # a peer failed: the comparison cannot be made
                failed.append("%s: %r" % (name, e))
            meta.append({"name": name, "port": port, "seconds": round(time.time() - t0, 2)})
    finally:
        # tcpdump may lag behind the kernel's buffer, and what it has not read
        # when it is stopped is lost: a last datagram marks the end, and
        # tcpdump is stopped once it has written that one (loopback keeps order)
        sentinel = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sentinel.sendto(b"end", ("127.0.0.1", SENTINEL_PORT))
        sentinel.close()
        t0 = time.time()
        while time.time() - t0 < 60 and not has_sentinel(os.path.join(d, "cap.pcap")):
            time.sleep(0.2)
        signal.alarm(0)
        tcpdump.send_signal(signal.SIGINT)
        stats = tcpdump.stderr.read().decode()
        tcpdump.wait(timeout=10)
    if not re.search(r"\b0 packets dropped by kernel", stats):
        failed.append("tcpdump: " + " ".join(stats.split()))
    with open(os.path.join(d, "keys.log"), "w") as out:
        for k in ("keys.pyserver", "keys.pyclient", "keys.sclient", "keys.curl", "keys.sserver"):
            p = os.path.join(d, k)
            if os.path.exists(p):
                out.write(open(p).read())
    lost_port = [m["port"] for m in meta if m["name"] == "lost"][0]
    dropped, removed = drop_lost(d, lost_port)
    if not dropped:
        failed.append("lost: nothing to drop: %s" % removed)
        removed = False
    with open(os.path.join(d, "scenarios.json"), "w") as f:
        json.dump({"scenarios": meta, "lost_port": lost_port, "dropped_frame": dropped,
                   "dropped_frame_removed": removed}, f, indent=1)
    for f in failed:
        print("FAIL peer %s" % f)
    return 1 if failed else 0


# ---- compare ---------------------------------------------------------------


def corscope_txns(binary, pcap, keys):
    r = subprocess.run([binary, "-r", pcap, "-o", "json", "--all", "--keylog", keys],
                       capture_output=True, text=True)
    if r.returncode not in (0, 1):
        raise SystemExit("corscope exit %d: %s" % (r.returncode, r.stderr))
    lines = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    ev = [e for e in lines if e.get("type") == "http"]
    txns = []
    for e in ev:
        txns.append({"cport": e["sport"], "sport": e["dport"], "method": e["method"], "uri": e["uri"],
                     "status": e["status"], "freq": e["frame_req"], "fresp": e.get("frame_resp"),
                     "end": e["end"], "tls": e.get("tls")})
    return txns, lines[-1], r.stderr


def tshark_txns(pcap, keys):
    out = subprocess.run(["tshark", "-r", pcap, "-o", "tls.keylog_file:" + keys, "-o",
                          "http.tls.port:%d-%d" % (BASE_PORT, BASE_PORT + 99), "-Y", "http", "-T",
                          "fields", "-E", "separator=|", "-e", "frame.number", "-e", "tcp.srcport",
                          "-e", "tcp.dstport", "-e", "http.request.method", "-e", "http.request.uri",
                          "-e", "http.response.code", "-e", "http.request_in"],
                         capture_output=True, text=True, check=True).stdout
    reqs, resps = [], {}
    for line in out.splitlines():
        f = line.split("|")
        frame, sp, dp = int(f[0]), int(f[1]), int(f[2])
        if f[3]:
            for m, u in zip(f[3].split(","), f[4].split(",")):
                reqs.append({"cport": sp, "sport": dp, "method": m, "uri": u, "freq": frame})
        if f[5]:
            rins = f[6].split(",") + [""] * len(f[5].split(","))
            for code, rin in zip(f[5].split(","), rins):
                # no request_in: a response tshark could not pair
                resps.setdefault(int(rin) if rin else ("orphan", sp), []).append((int(code), frame))
    txns = []
    for r in reqs:
        rs = resps.get(r["freq"], [])
        code, fr = rs.pop(0) if rs else (None, None)
        txns.append(dict(r, status=code, fresp=fr))
    for k, rs in resps.items():
        for code, fr in rs:  # left over: orphans
            txns.append({"cport": None, "sport": k[1] if isinstance(k, tuple) else None,
                         "method": None, "uri": None, "status": code, "freq": None, "fresp": fr})
    return txns


def key(t):
    return tuple(-1 if t[k] is None else t[k]
                 for k in ("cport", "sport", "method", "uri", "status", "freq", "fresp"))


def same_txns(ours, theirs):
    """corscope's transactions against tshark's: the same requests (ports,
    method, uri, frame) with the same status.  Response frames: corscope
    dates a response by the frame that ends its header, tshark by the frame
    that ends its body; corscope's must lie between the request's frame and
    tshark's, and be tshark's when the body is empty (.../0).  Returns a
    list of differences."""
    left = sorted(theirs, key=key)
    diffs = []
    for o in sorted(ours, key=key):
        k = key(o)[:6]
        m = [t for t in left if key(t)[:6] == k]
        if not m:
            diffs.append("corscope only: %s" % (key(o),))
            continue
        t = m[0]
        left.remove(t)
        fo, ft = o["fresp"], t["fresp"]
        if fo is None or ft is None:
            ok = fo == ft
        elif o["uri"].endswith("/0"):
            ok = fo == ft
        else:
            ok = o["freq"] <= fo <= ft
        if not ok:
            diffs.append("response frame: corscope %s, tshark %s" % (key(o), key(t)))
    diffs += ["tshark only: %s" % (key(t),) for t in left]
    return diffs


def records_per_frame(pcap, keys, port):
    """The most TLS records tshark finds in one segment from the server on port."""
    out = subprocess.run(["tshark", "-r", pcap, "-o", "tls.keylog_file:" + keys, "-Y",
                          "tcp.srcport==%d && tls" % port, "-T", "fields", "-e",
                          "tls.record.content_type"], capture_output=True, text=True).stdout
    return max([len(l.split(",")) for l in out.splitlines() if l] or [0])


def one_byte_segments(d, port):
    _, lt, pkts = read_pcap(os.path.join(d, "cap.pcap"))
    n = 0
    for _, p in pkts:
        t = tcp_of(lt, p)
        if t and port in (t[0], t[1]) and len(t[2]) == 1:
            n += 1
    return n


def compare(d, binary):
    meta = json.load(open(os.path.join(d, "scenarios.json")))
    keys = os.path.join(d, "keys.log")
    cap = os.path.join(d, "cap.pcap")
    ours, summary, err = corscope_txns(binary, cap, keys)
    theirs = tshark_txns(cap, keys)
    fail = 0
    if err.strip():
        print("FAIL corscope wrote on stderr: %s" % err.strip())
        fail = 1
    tls = summary.get("tls", {})
    for s in meta["scenarios"]:
        port = s["port"]
        o = sorted(key(t) for t in ours if t["sport"] == port)
        if s["name"].startswith("server behind"):
            continue  # compared with its relay's scenario below
        mine = [t for t in ours if t["sport"] == port]
        diffs = ["status %s for %s" % (t["status"], t["uri"]) for t in mine
                 if t["uri"].startswith("/s/") and t["status"] != int(t["uri"].split("/")[2])]
        if s["name"].startswith("several records"):
            # pipelined: tshark pairs only the first response of a segment
            # with its request; requests and responses compared apart
            th = [t for t in theirs if t["sport"] == port]
            rq = lambda l: sorted((t["method"], t["uri"], t["freq"]) for t in l if t["method"])
            rs = lambda l: sorted(t["status"] for t in l if t["status"])
            if rq(mine) != rq(th) or rs(mine) != rs(th):
                diffs.append("corscope %s\n   tshark %s" % ((rq(mine), rs(mine)), (rq(th), rs(th))))
            diffs += ["response frame %s" % (key(t),) for t in mine
                      if not t["fresp"] or t["fresp"] < t["freq"] or
                      t["fresp"] > max(x["fresp"] or 0 for x in th)]
        else:
            diffs += same_txns(mine, [t for t in theirs if t["sport"] == port])
        ok = not diffs and len(o) > 0
        extra = ""
        if s["name"].startswith("records split"):
            n = one_byte_segments(d, port)
            extra = ", %d one-byte segments" % n
            ok = ok and n > 500
            # the relay's upstream connection: the same bytes, other segments
            up = port - 1
            ou = sorted(key(x)[2:5] for x in ours if x["sport"] == up)
            ok = ok and ou == sorted(k[2:5] for k in o)
        if s["name"].startswith("several records"):
            n = records_per_frame(cap, keys, port)
            extra = ", up to %d records in one segment" % n
            ok = ok and n >= 3
        if any(x["sport"] == port and not x["tls"] for x in ours):
            ok = False
            extra += ", an event without its tls object"
        print("%s %-45s %2d transactions%s" % ("ok  " if ok else "FAIL", s["name"], len(o), extra))
        if not ok:
            fail = 1
            print("   " + "\n   ".join(diffs))
    for k in ("no_key", "incomplete", "failed", "auth_failures"):
        if tls.get(k):
            print("FAIL summary tls.%s = %s on the whole capture" % (k, tls[k]))
            fail = 1
    print("%s summary: %d TLS connections, %d decrypted, %d records, %d key log lines used" %
          ("ok  " if not fail else "....", tls.get("connections", 0), tls.get("decrypted", 0),
           tls.get("records_decrypted", 0), tls.get("keylog_lines_used", 0)))

    # The lost segment: tshark on the full capture says what each was.
    port, dropped = meta["lost_port"], meta["dropped_frame"]
    # a frame removed renumbers the later ones; a frame cut short (its
    # header record kept) renumbers nothing and may date the header
    removed = meta.get("dropped_frame_removed", True)
    full = sorted((t for t in theirs if t["sport"] == port), key=lambda t: t["freq"])
    lost, lsum, _ = corscope_txns(binary, os.path.join(d, "lost.pcap"), keys)
    lost = sorted((t for t in lost if t["sport"] == port), key=lambda t: t["freq"])
    shift = lambda f: f - 1 if removed and f is not None and f > dropped else f
    ok = len(full) == 4 and len(lost) == 4
    why = []
    for i, (a, b) in enumerate(zip(full, lost)):
        same = (a["method"], a["uri"], a["status"], shift(a["freq"])) == \
               (b["method"], b["uri"], b["status"], b["freq"])
        if i == 1:
            # its header was seen, its body lost: the status, dated by the
            # header's frame (before the lost one)
            same = same and b["fresp"] is not None and b["freq"] <= b["fresp"] < dropped + (not removed)
        else:
            same = same and b["end"] == "answered" and b["fresp"] is not None and \
                   b["freq"] <= b["fresp"] <= shift(a["fresp"])
        if not same:
            ok = False
            why.append("#%d corscope %s, full capture %s" % (i + 1, key(b), key(a)))
    tl = lsum.get("tls", {})
    ok = ok and tl.get("failed", 0) == 0 and lsum.get("http_resyncs", 0) >= 1
    tsh = [t for t in tshark_txns(os.path.join(d, "lost.pcap"), keys) if t["sport"] == port]
    print("%s lost segment (frame %d %s): corscope %d transactions, tshark %d; resyncs %d%s" %
          ("ok  " if ok else "FAIL", dropped, "dropped" if removed else "cut short", len(lost), len(tsh), lsum.get("http_resyncs", -1),
           "" if ok else "\n   " + "\n   ".join(why + ["summary tls %s" % tl])))
    return fail or not ok


def cut(d, out):
    """The "lost" connection alone: OUT.pcap from cap.pcap, OUT-lost.pcap
    from lost.pcap, and OUT.keys, its key log lines (once each)."""
    meta = json.load(open(os.path.join(d, "scenarios.json")))
    port = meta["lost_port"]
    blob = b""
    for src, dst in (("cap.pcap", out + ".pcap"), ("lost.pcap", out + "-lost.pcap")):
        header, lt, pkts = read_pcap(os.path.join(d, src))
        keep = [(h, p) for h, p in pkts if (lambda t: t and port in (t[0], t[1]))(tcp_of(lt, p))]
        write_pcap(dst, header, keep)
        blob = b"".join(p for _, p in keep)
    seen = set()
    with open(out + ".keys", "w") as f:
        for line in open(os.path.join(d, "keys.log")):
            w = line.split()
            if len(w) == 3 and len(w[1]) == 64 and bytes.fromhex(w[1]) in blob and \
                    w[0] != "EXPORTER_SECRET" and line not in seen:
                seen.add(line)
                f.write(line)


def mutate(src, dst, kind):
    """Damaged copies of a one-connection TLS 1.3 capture (tests/tls/
    lost_record.pcap) for tests/e2e/tls_bad_input.sh:
      flip        one byte of the ciphertext of the server's third-to-last
                  application data record (the 404 response's header)
      suite       the ServerHello's cipher suite made TLS_AES_128_CCM_SHA256
      cut-hello   the capture ends after the ClientHello
      cut-server  ... in the middle of the server's first flight
      drop-server the server's first flight lost (a gap in the hellos)"""
    header, lt, pkts = read_pcap(src)
    data = [(i, tcp_of(lt, p)) for i, (h, p) in enumerate(pkts)]
    data = [(i, t) for i, t in data if t and t[2]]
    server = data[0][1][1]  # the ClientHello's destination port
    srv = [i for i, t in data if t[0] == server]
    out = list(pkts)

    def patched(i, off_from_end_of_tcp_payload, fn):
        h, p = pkts[i]
        payload = tcp_of(lt, p)[2]
        at = len(p) - len(payload) + off_from_end_of_tcp_payload
        b = bytearray(p)
        fn(b, at)
        return (h, bytes(b))

    if kind == "flip":
        i = srv[-5]  # ..., 404 header, 404 body, last header, last body, close_notify
        out[i] = patched(i, 50, lambda b, at: b.__setitem__(at, b[at] ^ 0x20))
    elif kind == "suite":
        i = srv[0]
        payload = tcp_of(lt, pkts[i][1])[2]
        assert payload[0] == 22 and payload[5] == 2, "no ServerHello"
        sid_len = payload[5 + 4 + 2 + 32]
        off = 5 + 4 + 2 + 32 + 1 + sid_len
        assert payload[off:off + 2] in (b"\x13\x01", b"\x13\x02", b"\x13\x03")
        out[i] = patched(i, off, lambda b, at: b.__setitem__(slice(at, at + 2), b"\x13\x04"))
    elif kind == "cut-hello":
        out = pkts[:srv[0]]
    elif kind == "cut-server":
        h, p = pkts[srv[0]]
        cut = len(p) - len(tcp_of(lt, p)[2]) + 60
        out = pkts[:srv[0]] + [(h[:8] + struct.pack("<I", cut) + h[12:], p[:cut])]
    elif kind == "drop-server":
        out = pkts[:srv[0]] + pkts[srv[0] + 1:]
    else:
        raise SystemExit("mutate: " + kind)
    write_pcap(dst, header, out)


if __name__ == "__main__":
    if sys.argv[1] == "mutate":
        mutate(sys.argv[2], sys.argv[3], sys.argv[4])
        sys.exit(0)
    if sys.argv[1] == "capture":
        sys.exit(capture(sys.argv[2]))
    if sys.argv[1] == "compare":
        sys.exit(1 if compare(sys.argv[2], sys.argv[3]) else 0)
    if sys.argv[1] == "cut":
        cut(sys.argv[2], sys.argv[3])
        sys.exit(0)
    sys.exit(2)
