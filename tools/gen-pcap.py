#!/usr/bin/env python3
"""gen-pcap.py: deterministic synthetic HTTP/1.x-over-TCP capture generator.

Writes classic pcap files (microsecond timestamps) of correct TCP: 3-way
handshake, exact seq/ack, MSS-sized segments, receiver ACKs, FIN/FIN or RST,
valid IPv4 header checksums and TCP checksums (IPv4 and IPv6). Timestamps start
at 2026-01-01T00:00:00Z and advance by seeded pseudo-random increments, so the
same command line always writes byte-identical files. Standard library only.

Subcommands (see --help):
  scenarios OUTDIR   golden-test captures + OUTDIR/scenarios.tsv
  bench OUT          large browser-like workload (--size-mb, --connections, ...)
  bench --syn-flood N OUT   N half-open connections, for memory tests

Python API (load with importlib, the file name has a dash):

  spec = importlib.util.spec_from_file_location("genpcap", "tools/gen-pcap.py")
  g = importlib.util.module_from_spec(spec); spec.loader.exec_module(g)
  cap = g.Capture("x.pcap", linktype="ether", seed=7)
  c = cap.connection(("192.0.2.10", 41000), ("198.51.100.20", 80))
  c.request(b"GET / HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n")
  c.response(b"HTTP/1.1 204 No Content\\r\\n\\r\\n")
  c.close()            # or c.reset(by="server")
  cap.finish()

Several Connection objects used alternately interleave in the file. Knobs on
Capture (probabilities, per data segment): reorder, retransmit, loss; mss.
Per call: request(data, mss=, split=[offsets], lose={i}, retransmit={i},
swap={i}, fragment={i}|True, frag_size=, frag_order="reverse").
"""
import argparse
import array
import base64
import email.utils
import ipaddress
import os
import random
import struct
import sys
import time

BASE_TS_US = 1767225600 * 1000000          # 2026-01-01T00:00:00Z
LINKTYPES = {"null": 0, "ether": 1, "raw": 101, "sll": 113, "sll2": 276}
_LITTLE = sys.byteorder == "little"

TH_FIN, TH_SYN, TH_RST, TH_PSH, TH_ACK = 0x01, 0x02, 0x04, 0x08, 0x10

_REC = struct.Struct("<IIII")
_TCP = struct.Struct("!HHIIBBHHH")
_IP4 = struct.Struct("!BBHHHBBH4s4s")
_IP6 = struct.Struct("!IHBB16s16s")
_LEN = struct.Struct("!I")


def csum_acc(data, acc=0):
    """Add data (bytes-like) to a ones-complement accumulator (native words).

    Only the last piece summed into one accumulator may have odd length."""
    if len(data) & 1:
        data = bytes(data) + b"\0"
    return acc + sum(array.array("H", bytes(data)))


def csum_final(acc):
    """Fold, complement and return the checksum in network byte order value."""
    while acc >> 16:
        acc = (acc & 0xFFFF) + (acc >> 16)
    acc = ~acc & 0xFFFF
    if _LITTLE:
        acc = ((acc & 0xFF) << 8) | (acc >> 8)
    return acc


def http_date(ts_us):
    return email.utils.formatdate(ts_us / 1e6, usegmt=True)


class PcapWriter:
    """Classic pcap writer with an in-memory buffer flushed every 4 MiB."""

    def __init__(self, path, linktype=1, snaplen=262144):
        self.path = path
        self.f = open(path, "wb")
        self.buf = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0,
                                         snaplen, linktype))
        self.frames = 0
        self.bytes = 0

    def write(self, ts_us, frame):
        n = len(frame)
        self.buf += _REC.pack(ts_us // 1000000, ts_us % 1000000, n, n)
        self.buf += frame
        self.frames += 1
        self.bytes += 16 + n
        if len(self.buf) > (1 << 22):
            self.f.write(self.buf)
            self.buf = bytearray()

    def close(self):
        self.f.write(self.buf)
        self.buf = bytearray()
        self.f.close()


def _mac_for(ipbytes):
    return b"\x02\x00" + ipbytes[-4:]


class Capture:
    """One output file: the clock, the RNG, the knobs and the link layer."""

    def __init__(self, path, linktype="ether", seed=1, mss=1460, reorder=0.0,
                 retransmit=0.0, loss=0.0, start_us=BASE_TS_US):
        self.linktype = LINKTYPES[linktype] if isinstance(linktype, str) else linktype
        self.w = PcapWriter(path, self.linktype)
        self.rng = random.Random(seed)
        self.t = start_us
        self.mss = mss
        self.reorder = reorder
        self.retransmit = retransmit
        self.loss = loss
        self.ipid = 0x1000
        self.rows = []          # expectations: (client_port, scenario, ff, chrome, method, uri)

    # -- clock -------------------------------------------------------------
    def tick(self, lo=10, hi=80):
        self.t += self.rng.randint(lo, hi)
        return self.t

    def pause(self, ms_lo, ms_hi):
        self.t += self.rng.randint(int(ms_lo * 1000), int(ms_hi * 1000))

    def connection(self, client, server, **kw):
        return Connection(self, client, server, **kw)

    def expect(self, port, scenario, firefox, chrome, method="", uri=""):
        self.rows.append((port, scenario, firefox, chrome, method, uri))

    def finish(self):
        self.w.close()

    # -- link layer ----------------------------------------------------------
    def emit(self, conn, ippkt, from_client):
        lt = self.linktype
        etype = 0x86DD if conn.v6 else 0x0800
        if lt == 1:
            if from_client:
                hdr = conn.smac + conn.cmac
            else:
                hdr = conn.cmac + conn.smac
            for tpid, vid in conn.vlans:
                hdr += struct.pack("!HH", tpid, vid)
            frame = hdr + struct.pack("!H", etype) + ippkt
        elif lt == 101:
            frame = ippkt
        elif lt == 113:
            # capture on the server host: client->server is "to us" (0), back is outgoing (4)
            src = conn.cmac if from_client else conn.smac
            frame = struct.pack("!HHH8sH", 0 if from_client else 4, 1, 6,
                                src + b"\0\0", etype) + ippkt
        elif lt == 276:
            src = conn.cmac if from_client else conn.smac
            frame = struct.pack("!HHIHBB8s", etype, 0, 2, 1, 0 if from_client else 4,
                                6, src + b"\0\0") + ippkt
        elif lt == 0:
            frame = struct.pack("<I", 24 if conn.v6 else 2) + ippkt
        else:
            raise ValueError("unsupported linktype %d" % lt)
        self.w.write(self.t, frame)


class Connection:
    """A TCP connection between a client and a server, written as it happens.

    client/server are (ip, port). vlans: list of (tpid, vid), outermost first.
    established=True starts mid-stream (no handshake is written)."""

    def __init__(self, cap, client, server, vlans=(), established=False,
                 mss=None, isn=None):
        self.cap = cap
        self.cip = ipaddress.ip_address(client[0]).packed
        self.sip = ipaddress.ip_address(server[0]).packed
        self.cport, self.sport = client[1], server[1]
        self.v6 = len(self.cip) == 16
        self.cmac, self.smac = _mac_for(self.cip), _mac_for(self.sip)
        self.vlans = list(vlans)
        self.mss = mss or cap.mss
        rng = cap.rng
        self.cseq = isn[0] if isn else rng.getrandbits(32)
        self.sseq = isn[1] if isn else rng.getrandbits(32)
        self.state = "open" if established else "new"
        self.fragment_id = None
        # pseudo-header partial sums per direction (TCP length added later)
        if self.v6:
            self._ph_c = csum_acc(self.cip + self.sip + b"\0\0\0\x06")
            self._ph_s = csum_acc(self.sip + self.cip + b"\0\0\0\x06")
        else:
            self._ph_c = csum_acc(self.cip + self.sip + b"\0\x06")
            self._ph_s = csum_acc(self.sip + self.cip + b"\0\x06")

    # -- packet construction -----------------------------------------------
    def _tcp(self, from_client, seq, ack, flags, payload=b"", opts=b""):
        if from_client:
            sp, dp, ph = self.cport, self.sport, self._ph_c
        else:
            sp, dp, ph = self.sport, self.cport, self._ph_s
        off = (20 + len(opts)) // 4
        hdr = _TCP.pack(sp, dp, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, off << 4,
                        flags, 64240 if from_client else 65160, 0, 0) + opts
        tlen = len(hdr) + len(payload)
        acc = csum_acc(_LEN.pack(tlen) + hdr, ph)
        if payload:
            acc = csum_acc(payload, acc)
        ck = csum_final(acc)
        return hdr[:16] + struct.pack("!H", ck) + hdr[18:] + payload

    def _ip(self, from_client, l4, frag=None):
        src, dst = (self.cip, self.sip) if from_client else (self.sip, self.cip)
        if self.v6:
            return _IP6.pack(0x60000000, len(l4), 6, 64, src, dst) + l4
        cap = self.cap
        if frag is None:
            cap.ipid = (cap.ipid + 1) & 0xFFFF
            ident, fo = cap.ipid, 0x4000          # DF
        else:
            ident, fo = frag
        h = _IP4.pack(0x45, 0, 20 + len(l4), ident, fo, 64, 6, 0, src, dst)
        ck = csum_final(csum_acc(h))
        return h[:10] + struct.pack("!H", ck) + h[12:] + l4

    def _fragments(self, from_client, l4, size, order):
        cap = self.cap
        cap.ipid = (cap.ipid + 1) & 0xFFFF
        ident = cap.ipid
        size &= ~7
        out = []
        for off in range(0, len(l4), size):
            more = 0x2000 if off + size < len(l4) else 0
            out.append(self._ip(from_client, l4[off:off + size], (ident, more | (off >> 3))))
        if order == "reverse":
            out.reverse()
        return out

    def _send_ctl(self, from_client, flags, opts=b"", payload=b""):
        if from_client:
            seg = self._tcp(True, self.cseq, self.sseq, flags, payload, opts)
        else:
            seg = self._tcp(False, self.sseq, self.cseq, flags, payload, opts)
        self.cap.emit(self, self._ip(from_client, seg), from_client)

    # -- connection life ------------------------------------------------------
    def open(self, syn_only=False):
        cap = self.cap
        mss_opt = struct.pack("!BBH", 2, 4, self.mss)
        ack_bit = 0
        seg = self._tcp(True, self.cseq, 0, TH_SYN | ack_bit, b"", mss_opt)
        cap.tick()
        cap.emit(self, self._ip(True, seg), True)
        self.cseq += 1
        if syn_only:
            self.state = "syn"
            return
        cap.tick(200, 900)
        seg = self._tcp(False, self.sseq, self.cseq, TH_SYN | TH_ACK, b"", mss_opt)
        cap.emit(self, self._ip(False, seg), False)
        self.sseq += 1
        cap.tick(200, 900)
        self._send_ctl(True, TH_ACK)
        self.state = "open"

    def request(self, data, **kw):
        """Client sends data (a request); the server ACKs it."""
        self._send(True, data, **kw)

    def response(self, data, **kw):
        """Server sends data (a response); the client ACKs it."""
        self._send(False, data, **kw)

    def _send(self, from_client, data, mss=None, split=None, lose=(), retransmit=(),
              swap=(), fragment=(), frag_size=512, frag_order="in", ack=True):
        cap, rng = self.cap, self.cap.rng
        if self.state == "new":
            self.open()
        mss = mss or self.mss
        if split is None:
            cuts = list(range(0, len(data), mss)) + [len(data)]
        else:
            cuts = [0] + [c for c in split if 0 < c < len(data)] + [len(data)]
        base = self.cseq if from_client else self.sseq
        peer = self.sseq if from_client else self.cseq
        segs = []
        for i in range(len(cuts) - 1):
            a, b = cuts[i], cuts[i + 1]
            flags = TH_ACK | (TH_PSH if b == len(data) else 0)
            segs.append((a, b, self._tcp(from_client, base + a, peer, flags, data[a:b])))
        n = len(segs)
        order = list(range(n))
        for i in range(n - 1):
            if i in swap or (cap.reorder and rng.random() < cap.reorder):
                if order[i] == i and order[i + 1] == i + 1:
                    order[i], order[i + 1] = order[i + 1], order[i]
        emitted = [False] * n
        prefix = 0
        since_ack = 0
        last_acked = -1
        for k, i in enumerate(order):
            a, b, seg = segs[i]
            lost = i in lose or (cap.loss and 0 < i < n and rng.random() < cap.loss)
            emitted[i] = True
            cap.tick(5, 40)
            if not lost:
                if fragment is True or i in fragment:
                    if self.v6:
                        raise ValueError("IPv6 fragments not supported")
                    for fr in self._fragments(from_client, seg, frag_size, frag_order):
                        cap.emit(self, fr, from_client)
                        cap.tick(2, 10)
                else:
                    cap.emit(self, self._ip(from_client, seg), from_client)
                if i in retransmit or (cap.retransmit and rng.random() < cap.retransmit):
                    cap.tick(200, 400)
                    cap.emit(self, self._ip(from_client, seg), from_client)
            while prefix < n and emitted[prefix]:
                prefix += 1
            since_ack += 1
            if ack and (since_ack >= 2 or k == n - 1) and prefix > last_acked + 1:
                since_ack = 0
                last_acked = prefix - 1
                end = segs[prefix - 1][1]
                cap.tick(20, 120)
                if from_client:
                    pkt = self._tcp(False, self.sseq, base + end, TH_ACK)
                else:
                    pkt = self._tcp(True, self.cseq, base + end, TH_ACK)
                cap.emit(self, self._ip(not from_client, pkt), not from_client)
        if from_client:
            self.cseq += len(data)
        else:
            self.sseq += len(data)

    def close(self, by="client"):
        """FIN from `by`, FIN from the other side, last ACK."""
        cap = self.cap
        if self.state == "new":
            self.open()
        first = by == "client"
        cap.tick(100, 2000)
        self._send_ctl(first, TH_FIN | TH_ACK)
        self._adv(first, 1)
        cap.tick(50, 400)
        self._send_ctl(not first, TH_FIN | TH_ACK)
        self._adv(not first, 1)
        cap.tick(50, 400)
        self._send_ctl(first, TH_ACK)
        self.state = "closed"

    def reset(self, by="server"):
        """RST+ACK from `by` (default the server)."""
        if self.state == "new":
            self.open()
        self.cap.tick(100, 2000)
        self._send_ctl(by == "client", TH_RST | TH_ACK)
        self.state = "closed"

    def _adv(self, from_client, n):
        if from_client:
            self.cseq += n
        else:
            self.sseq += n


# ---------------------------------------------------------------------------
# HTTP message helpers
# ---------------------------------------------------------------------------
FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/131.0.0.0 Safari/537.36")
APP_ORIGIN = "http://app.example:8080"
REASONS = {200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently",
           302: "Found", 304: "Not Modified", 307: "Temporary Redirect", 401: "Unauthorized",
           403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           500: "Internal Server Error", 502: "Bad Gateway"}


def browser_request(browser, method, path, host="api.example", origin=APP_ORIGIN,
                    referer=APP_ORIGIN + "/", accept="*/*", acrm=None, acrh=None,
                    cookie=None, headers=(), body=None, ctype=None, keep_alive=True):
    """A request as Firefox 128 ("firefox") or Chrome 131 ("chrome") writes it
    over plain HTTP to a non-localhost host (so no Sec-Fetch-* headers).
    headers: extra (name, value) pairs such as ("X-Custom", "1")."""
    conn = "keep-alive" if keep_alive else "close"
    h = []
    if body is not None and isinstance(body, str):
        body = body.encode()
    if browser == "firefox":
        h += [("Host", host), ("User-Agent", FIREFOX_UA), ("Accept", accept),
              ("Accept-Language", "en-US,en;q=0.5"), ("Accept-Encoding", "gzip, deflate")]
        if acrm:
            h.append(("Access-Control-Request-Method", acrm))
        if acrh:
            h.append(("Access-Control-Request-Headers", acrh))
        h += list(headers)
        if ctype:
            h.append(("Content-Type", ctype))
        if body is not None:
            h.append(("Content-Length", str(len(body))))
        if origin:
            h.append(("Origin", origin))
        h.append(("Connection", conn))
        if referer:
            h.append(("Referer", referer))
        if cookie:
            h.append(("Cookie", cookie))
        h.append(("Priority", "u=4" if origin else "u=5, i"))
    else:
        h += [("Host", host), ("Connection", conn)]
        if body is not None:
            h.append(("Content-Length", str(len(body))))
        if acrm:
            h += [("Accept", accept), ("Access-Control-Request-Method", acrm)]
            if acrh:
                h.append(("Access-Control-Request-Headers", acrh))
            if origin:
                h.append(("Origin", origin))
            h.append(("User-Agent", CHROME_UA))
        else:
            h.append(("User-Agent", CHROME_UA))
            h += list(headers)
            if ctype:
                h.append(("Content-Type", ctype))
            h.append(("Accept", accept))
            if origin:
                h.append(("Origin", origin))
        if referer:
            h.append(("Referer", referer))
        h += [("Accept-Encoding", "gzip, deflate"), ("Accept-Language", "en-US,en;q=0.9")]
        if cookie:
            h.append(("Cookie", cookie))
    head = "%s %s HTTP/1.1\r\n" % (method, path)
    head += "".join("%s: %s\r\n" % kv for kv in h) + "\r\n"
    return head.encode() + (body or b"")


def http_response(status, headers=(), body=b"", ctype="application/json", date_us=None,
                  chunked=False, close_delimited=False, server="nginx/1.26.2",
                  keep_alive=None, chunk_size=700):
    """A response. Content-Length is added unless chunked/close_delimited or the
    status has no body (1xx/204/304, or body None). headers: (name, value) pairs
    in wire order, duplicates kept."""
    if isinstance(body, str):
        body = body.encode()
    h = [("Server", server)]
    if date_us is not None:
        h.append(("Date", http_date(date_us)))
    if body and ctype:
        h.append(("Content-Type", ctype))
    if chunked:
        h.append(("Transfer-Encoding", "chunked"))
    elif close_delimited:
        h.append(("Connection", "close"))
    elif status not in (204, 304) and body is not None:
        h.append(("Content-Length", str(len(body))))
    if keep_alive is not None:
        h.append(("Connection", "keep-alive" if keep_alive else "close"))
    h += list(headers)
    out = "HTTP/1.1 %d %s\r\n" % (status, REASONS.get(status, "Status"))
    out += "".join("%s: %s\r\n" % kv for kv in h) + "\r\n"
    out = out.encode()
    if chunked:
        for i in range(0, len(body), chunk_size):
            piece = body[i:i + chunk_size]
            out += b"%x\r\n" % len(piece) + piece + b"\r\n"
        out += b"0\r\n\r\n"
    elif body:
        out += body
    return out


# ---------------------------------------------------------------------------
# bench workload
# ---------------------------------------------------------------------------
def _body_blob(rng, n=1 << 17):
    """Base64 text used as JSON string content for bench bodies."""
    return base64.b64encode(bytes(rng.getrandbits(8) for _ in range(n * 3 // 4)))[:n]


def _bench_client(i):
    return "10.%d.%d.%d" % (1 + (i >> 16) % 200, (i >> 8) & 255, 1 + (i & 255) % 254)


def _bench_body_len(rng):
    r = rng.random()
    if r < 0.75:
        return rng.randint(150, 1000)
    if r < 0.95:
        return rng.randint(1000, 4000)
    return rng.randint(4000, 20000)


def _bench_txn(rng, blob, now_us, n):
    """Return a list of (request_bytes, response_bytes, close_after) for one
    step of a browser-like client (a preflight adds a second pair)."""
    browser = "firefox" if rng.random() < 0.5 else "chrome"
    path = "/v1/%s/%d" % (rng.choice(("items", "users", "orders", "cart", "search")),
                          rng.randint(1, 99999))
    r = rng.random()
    acao = [("Access-Control-Allow-Origin", APP_ORIGIN)]
    if rng.random() < 0.03:
        acao = acao * 2                                  # duplicate ACAO lines
    elif rng.random() < 0.08:
        acao = []
    blen = _bench_body_len(rng)
    off = rng.randint(0, len(blob) - blen)
    body = b'{"data":"' + blob[off:off + blen - 12] + b'"}'
    if r < 0.12:                                         # preflight + actual
        m = rng.choice(("PUT", "DELETE", "POST", "PATCH"))
        pre = browser_request(browser, "OPTIONS", path, acrm=m, acrh="content-type,x-request-id")
        presp = http_response(204, acao + [
            ("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, PATCH"),
            ("Access-Control-Allow-Headers", "Content-Type, X-Request-Id"),
            ("Access-Control-Max-Age", "600"), ("Vary", "Origin")], body=None, date_us=now_us)
        rb = b'{"n":%d}' % n
        req = browser_request(browser, m, path, body=rb, ctype="application/json",
                              headers=[("X-Request-Id", "r%08d" % n)])
        return [(pre, presp, False), (req, http_response(200, acao, body, date_us=now_us), False)]
    if r < 0.17:                                         # 304
        req = browser_request(browser, "GET", path, headers=[("If-None-Match", '"e%d"' % n)])
        return [(req, http_response(304, acao + [("ETag", '"e%d"' % n)], None, date_us=now_us),
                 False)]
    if r < 0.20:                                         # HEAD
        req = browser_request(browser, "HEAD", path)
        resp = http_response(200, acao, None, date_us=now_us)
        resp = resp.replace(b"\r\n\r\n", b"\r\nContent-Length: %d\r\n\r\n" % blen, 1)
        return [(req, resp, False)]
    if r < 0.28:                                         # chunked
        req = browser_request(browser, "GET", path)
        return [(req, http_response(200, acao, body, date_us=now_us, chunked=True,
                                    chunk_size=rng.choice((512, 1400, 4096))), False)]
    if r < 0.29:                                         # close-delimited body
        req = browser_request(browser, "GET", path)
        return [(req, http_response(200, acao, body, date_us=now_us, close_delimited=True),
                 True)]
    if r < 0.45:                                         # no-cors image, no Origin
        req = browser_request(browser, "GET", "/img/%d.svg" % n, origin=None,
                              accept="image/avif,image/webp,*/*")
        svg = b'<svg xmlns="http://www.w3.org/2000/svg"><!-- ' + body[9:-2] + b' --></svg>'
        return [(req, http_response(200, [], svg, ctype="image/svg+xml", date_us=now_us), False)]
    cookie = "sid=%016x" % rng.getrandbits(64) if rng.random() < 0.2 else None
    req = browser_request(browser, "GET", path, cookie=cookie)
    extra = [("Access-Control-Allow-Credentials", "true")] if cookie else []
    return [(req, http_response(200, acao + extra, body, date_us=now_us), False)]


def bench(args):
    t0 = time.time()
    cap = Capture(args.out, linktype=args.linktype, seed=args.seed, mss=args.mss,
                  reorder=args.reorder, retransmit=args.retransmit, loss=args.loss)
    rng = cap.rng
    server = ("198.51.100.20", 80)
    if args.syn_flood:
        for i in range(args.syn_flood):
            c = cap.connection((_bench_client(i), 1024 + (i * 7919) % 64000), server)
            if args.flood_style == "syn" or (args.flood_style == "mixed" and i % 4):
                c.open(syn_only=True)
            else:
                c.open()
                c.request(b"GET / HTTP/1.1\r\nHost: api.example\r\nOrigin: " +
                          APP_ORIGIN.encode() + b"\r\n\r\n")
        cap.finish()
        print("%s: %d frames, %d bytes, %d half-open connections, %.1f s" %
              (args.out, cap.w.frames, cap.w.bytes, args.syn_flood, time.time() - t0))
        return
    blob = _body_blob(rng)
    target = int(args.size_mb * 1000000)
    nconn = args.connections
    made = 0
    active = []

    def new_conn():
        nonlocal made
        i = made
        made += 1
        c = cap.connection((_bench_client(i), 32768 + (i * 37) % 28000), server)
        c.queue = []
        return c

    for _ in range(nconn):
        active.append(new_conn())
    txns = 0
    reserve = nconn * 900          # closing: outstanding responses and FINs
    while cap.w.bytes < target - reserve:
        k = rng.randrange(nconn)
        c = active[k]
        if c.queue:
            req, resp, close_after = c.queue.pop(0)
            cap.pause(0.2, 30)
            c.response(resp)
            txns += 1
            if close_after:
                c.close(by="server")
                active[k] = new_conn()
            elif c.queue:
                cap.pause(0.1, 2)
                c.request(c.queue[0][0])
            continue
        cap.pause(0.05, 5)
        c.queue = _bench_txn(rng, blob, cap.t, txns)
        c.request(c.queue[0][0])
    for c in active:
        if c.state == "open":
            if c.queue:               # answer what is outstanding, then close
                c.response(c.queue[0][1])
                txns += 1
            c.close(by="client" if rng.random() < 0.7 else "server")
    cap.finish()
    dt = time.time() - t0
    print("%s: %d frames, %.1f MB, %d connections, %d transactions, %.1f s (%.1f MB/s)" %
          (args.out, cap.w.frames, cap.w.bytes / 1e6, made, txns, dt, cap.w.bytes / 1e6 / dt))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sc = sub.add_parser("scenarios", help="write the golden-test captures and scenarios.tsv")
    sc.add_argument("outdir")
    sc.add_argument("--seed", type=int, default=1)
    b = sub.add_parser("bench", help="large browser-like workload")
    b.add_argument("out")
    b.add_argument("--size-mb", type=float, default=300)
    b.add_argument("--connections", type=int, default=7150)
    b.add_argument("--seed", type=int, default=1)
    b.add_argument("--mss", type=int, default=1460)
    b.add_argument("--reorder", type=float, default=0.001)
    b.add_argument("--retransmit", type=float, default=0.001)
    b.add_argument("--loss", type=float, default=0.001)
    b.add_argument("--linktype", choices=sorted(LINKTYPES), default="ether")
    b.add_argument("--syn-flood", type=int, default=0, metavar="N",
                   help="write N half-open connections instead of traffic")
    b.add_argument("--flood-style", choices=("syn", "req", "mixed"), default="syn",
                   help="syn: SYN only; req: SYN, SYN-ACK, ACK, tiny request; mixed: 1 in 4 req")
    args = ap.parse_args(argv)
    if args.cmd == "bench":
        bench(args)
        return 0
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import scenarios
    scenarios.write_all(sys.modules[__name__], args.outdir, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
