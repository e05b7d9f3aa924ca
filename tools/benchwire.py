#!/usr/bin/python3
"""benchwire.py: the bench workload over other wires (TLS 1.3, HTTP/2), and a
CORS-heavy workload, as deterministic classic pcap files.

  tools/benchwire.py OUT.pcap --transport http1|tls|h2c|h2-tls
                     [--workload browser|cors] [--size-mb 80] [--connections 7150]
                     [--seed 1] [--keylog OUT.keys]

The same --workload, --size-mb, --connections and --seed give the same HTTP
exchanges on every transport: which client, which requests, which responses,
in which order (the workload has its own random generator; the TCP layer of
tools/gen-pcap.py has another for ISNs, timing and segment reordering and
retransmission).  --size-mb counts the HTTP/1.1 bytes of the exchanges, so
the capture of each transport is about that size plus its overhead (TLS
records, 40-byte TCP/IP headers) or minus its savings (HPACK).  No segment is
lost: a lost TLS segment would make the rest of its connection undecryptable,
and the transaction counts of the transports are meant to be equal.  The
clock runs ten times faster than gen-pcap.py's bench (each of the 7,150
clients is busy every ~6 s on average, not ~60 s): with its pauses some
connections stayed idle past corscope's 300 s --idle-timeout, and a TLS or
h2 connection picked up again mid-stream cannot be decrypted or decoded.

Transports:
  http1   the HTTP/1.1 bytes as they are (port 80)
  tls     HTTP/1.1 in TLS 1.3 (TLS_AES_128_GCM_SHA256, ALPN http/1.1, port 443):
          ClientHello, ServerHello, the server's encrypted flight
          (EncryptedExtensions, Certificate, CertificateVerify, Finished), the
          client's Finished, then application data records of at most 16 KiB,
          really encrypted (python3-cryptography); the NSS key log (the four
          TLS 1.3 traffic secrets per connection) is written to --keylog
  h2c     HTTP/2 with prior knowledge (port 80): preface, SETTINGS, each
          exchange one stream (HEADERS, DATA of at most 16 KiB, END_STREAM);
          header blocks from python3-hpack's encoder, one per direction
  h2-tls  the h2c frames in TLS 1.3 with ALPN h2 (port 443)

Workloads:
  browser the reference bench mix of tools/gen-pcap.py (bench subcommand)
  cors    every request cross-origin (no same-origin or no-cors requests),
          about 45 % preceded by a preflight, 15-25 header lines per request
          and per response, small bodies (40-600 bytes), allowed and blocked
          outcomes (missing or wrong Allow-Origin, credentials with a
          wildcard, a header not allowed by the preflight)

Needs Debian's python3-cryptography (tls, h2-tls) and python3-hpack (h2c,
h2-tls): scripts/install-deps.sh installs them with the test packages.
"""
import argparse
import hashlib
import importlib.util
import os
import random
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("genpcap", os.path.join(HERE, "gen-pcap.py"))
g = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(g)

# --------------------------------------------------------------------------
# TLS 1.3
# --------------------------------------------------------------------------


def hkdf_expand_label(secret, label, length):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
    full = b"tls13 " + label
    info = struct.pack("!HB", length, len(full)) + full + b"\0"
    return HKDFExpand(hashes.SHA256(), length, info).derive(secret)


class _Cipher:
    """One direction's record protection: key, IV and sequence number."""

    def __init__(self, secret):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        self.aead = AESGCM(hkdf_expand_label(secret, b"key", 16))
        self.iv = int.from_bytes(hkdf_expand_label(secret, b"iv", 12), "big")
        self.seq = 0

    def seal(self, ctype, data):
        inner = data + bytes((ctype,))
        hdr = struct.pack("!BHH", 23, 0x0303, len(inner) + 16)
        nonce = (self.iv ^ self.seq).to_bytes(12, "big")
        self.seq += 1
        return hdr + self.aead.encrypt(nonce, inner, hdr)


def _ext(typ, body):
    return struct.pack("!HH", typ, len(body)) + body


def _hs(typ, body):
    return bytes((typ,)) + len(body).to_bytes(3, "big") + body


def _alpn(proto):
    p = proto.encode()
    lst = bytes((len(p),)) + p
    return _ext(16, struct.pack("!H", len(lst)) + lst)


class TlsSession:
    """Both ends of one TLS 1.3 connection; wraps bytes into records."""

    MAX_PLAIN = 16384

    def __init__(self, rng, sni, alpn, keylog):
        rb = lambda n: bytes(rng.getrandbits(8) for _ in range(n))
        self.crandom, self.srandom, self.sid = rb(32), rb(32), rb(32)
        chs, shs, cap0, sap0 = rb(32), rb(32), rb(32), rb(32)
        cr = self.crandom.hex()
        for name, s in (("CLIENT_HANDSHAKE_TRAFFIC_SECRET", chs),
                        ("SERVER_HANDSHAKE_TRAFFIC_SECRET", shs),
                        ("CLIENT_TRAFFIC_SECRET_0", cap0), ("SERVER_TRAFFIC_SECRET_0", sap0)):
            keylog.write("%s %s %s\n" % (name, cr, s.hex()))
        self.chs, self.shs = _Cipher(chs), _Cipher(shs)
        self.c_app, self.s_app = _Cipher(cap0), _Cipher(sap0)
        self.sni, self.alpn = sni.encode(), alpn
        self.kshare_c, self.kshare_s = rb(32), rb(32)
        self.fin_c, self.fin_s, self.sig = rb(32), rb(32), rb(64)

    def client_hello(self):
        sn = b"\0" + struct.pack("!H", len(self.sni)) + self.sni
        exts = (_ext(0, struct.pack("!H", len(sn)) + sn) +
                _ext(10, b"\x00\x02\x00\x1d") +                       # x25519
                _ext(13, b"\x00\x04\x04\x03\x08\x04") +               # ecdsa, rsa-pss
                _ext(43, b"\x02\x03\x04") +                           # TLS 1.3
                _ext(45, b"\x01\x01") +                               # psk_dhe_ke
                _ext(51, struct.pack("!HHH", 36, 0x1d, 32) + self.kshare_c) +
                _alpn(self.alpn))
        body = (b"\x03\x03" + self.crandom + b"\x20" + self.sid + b"\x00\x06\x13\x01\x13\x02\x13\x03" +
                b"\x01\x00" + struct.pack("!H", len(exts)) + exts)
        msg = _hs(1, body)
        return struct.pack("!BHH", 22, 0x0301, len(msg)) + msg

    def server_flight(self):
        exts = _ext(43, b"\x03\x04") + _ext(51, struct.pack("!HH", 0x1d, 32) + self.kshare_s)
        body = (b"\x03\x03" + self.srandom + b"\x20" + self.sid + b"\x13\x01\x00" +
                struct.pack("!H", len(exts)) + exts)
        sh = _hs(2, body)
        out = struct.pack("!BHH", 22, 0x0303, len(sh)) + sh
        out += b"\x14\x03\x03\x00\x01\x01"                            # compatibility CCS
        ee_exts = _alpn(self.alpn)
        flight = (_hs(8, struct.pack("!H", len(ee_exts)) + ee_exts) +
                  _hs(11, b"\x00\x00\x00\x00") +                      # no certificate entries
                  _hs(15, b"\x08\x04\x00\x40" + self.sig) +
                  _hs(20, self.fin_s))
        return out + self.shs.seal(22, flight)

    def client_finished(self):
        return b"\x14\x03\x03\x00\x01\x01" + self.chs.seal(22, _hs(20, self.fin_c))

    def wrap(self, from_client, data):
        c = self.c_app if from_client else self.s_app
        return b"".join(c.seal(23, data[i:i + self.MAX_PLAIN])
                        for i in range(0, len(data), self.MAX_PLAIN))

    def close_notify(self, from_client):
        return (self.c_app if from_client else self.s_app).seal(21, b"\x01\x00")


# --------------------------------------------------------------------------
# HTTP/2
# --------------------------------------------------------------------------
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H2_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"upgrade", b"proxy-connection"}


def h2_frame(typ, flags, stream, payload):
    return struct.pack("!I", len(payload))[1:] + struct.pack("!BBI", typ, flags, stream) + payload


def h2_settings(pairs, ack=False):
    return h2_frame(4, 1 if ack else 0, 0, b"".join(struct.pack("!HI", k, v) for k, v in pairs))


def dechunk(b):
    out, i = bytearray(), 0
    while True:
        j = b.index(b"\r\n", i)
        n = int(b[i:j].split(b";")[0], 16)
        if n == 0:
            return bytes(out)
        out += b[j + 2:j + 2 + n]
        i = j + 2 + n + 2


def split_http1(msg):
    """(start line words, [(name, value)], body) of one HTTP/1.1 message."""
    head, _, body = msg.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    fields = []
    chunked = False
    for ln in lines[1:]:
        k, _, v = ln.partition(b":")
        k, v = k.strip().lower(), v.strip()
        if k == b"transfer-encoding" and v.lower() == b"chunked":
            chunked = True
        fields.append((k, v))
    if chunked:
        body = dechunk(body)
    return lines[0].split(b" ", 2), fields, body


class H2Session:
    """Both ends of one HTTP/2 connection: streams 1, 3, 5, ... in order."""

    def __init__(self, scheme):
        import hpack
        self.enc_c, self.enc_s = hpack.Encoder(), hpack.Encoder()
        self.scheme = scheme
        self.stream = -1
        self.started_c = self.started_s = False

    def request(self, msg):
        self.stream += 2
        (method, path, _), fields, body = split_http1(msg)
        hdrs = [(b":method", method), (b":scheme", self.scheme)]
        auth = [v for k, v in fields if k == b"host"]
        hdrs += [(b":authority", auth[0] if auth else b"")] + [(b":path", path)]
        hdrs += [(k, v) for k, v in fields if k not in H2_HOP and k != b"host"]
        out = b""
        if not self.started_c:
            self.started_c = True
            out = (H2_PREFACE + h2_settings([(1, 65536), (2, 0), (4, 131072), (5, 16384)]) +
                   h2_frame(8, 0, 0, struct.pack("!I", 12517377)))
        out += self._message(self.enc_c, hdrs, body)
        return out

    def response(self, msg):
        (_, status, _), fields, body = split_http1(msg)
        hdrs = [(b":status", status)] + [(k, v) for k, v in fields if k not in H2_HOP]
        out = b""
        if not self.started_s:
            self.started_s = True
            out = (h2_settings([(3, 100), (4, 65536), (5, 16384)]) + h2_settings([], ack=True))
        return out + self._message(self.enc_s, hdrs, body)

    def _message(self, enc, hdrs, body):
        block = enc.encode(hdrs, huffman=True)
        out = h2_frame(1, 0x4 | (0 if body else 0x1), self.stream, block)
        for i in range(0, len(body), 16384):
            last = i + 16384 >= len(body)
            out += h2_frame(0, 0x1 if last else 0, self.stream, body[i:i + 16384])
        return out


# --------------------------------------------------------------------------
# the CORS-heavy workload
# --------------------------------------------------------------------------
CORS_ORIGINS = ["https://app.example", "https://admin.example", "https://shop.example",
                "http://localhost:3000", "https://partner.example"]
CORS_HOSTS = ["api.example", "auth.example", "cdn-api.example", "graph.example"]


def _cors_req_headers(rng, n, method, origin, host, cookie, preflight, acrm=None, acrh=None):
    h = [("Host", host), ("User-Agent", g.FIREFOX_UA if n & 1 else g.CHROME_UA),
         ("Accept", "application/json, text/plain, */*"),
         ("Accept-Language", "en-US,en;q=0.9"), ("Accept-Encoding", "gzip, deflate, br")]
    if preflight:
        h += [("Access-Control-Request-Method", acrm)]
        if acrh:
            h += [("Access-Control-Request-Headers", acrh)]
    h += [("Origin", origin), ("Referer", origin + "/dashboard/%d" % rng.randint(1, 999)),
          ("Sec-Fetch-Dest", "empty"), ("Sec-Fetch-Mode", "cors"), ("Sec-Fetch-Site", "cross-site"),
          ("Connection", "keep-alive")]
    if not preflight:
        extra = [("X-Request-Id", "%016x" % rng.getrandbits(64)),
                 ("Traceparent", "00-%032x-%016x-01" % (rng.getrandbits(128), rng.getrandbits(64))),
                 ("Authorization", "Bearer %040x" % rng.getrandbits(160)),
                 ("X-Client-Version", "web-%d.%d.%d" % (rng.randint(1, 9), rng.randint(0, 30), rng.randint(0, 99))),
                 ("X-Tenant", "t%d" % rng.randint(1, 500)),
                 ("Cache-Control", "no-cache"), ("Pragma", "no-cache"),
                 ("Sec-Ch-Ua", '"Chromium";v="131", "Not_A Brand";v="24"'),
                 ("Sec-Ch-Ua-Mobile", "?0"), ("Sec-Ch-Ua-Platform", '"Linux"'),
                 ("DNT", "1"), ("Priority", "u=1, i")]
        h += extra[:rng.randint(4, len(extra))]
        if cookie:
            h += [("Cookie", "sid=%016x; theme=dark; ab=%d" % (rng.getrandbits(64), rng.randint(0, 9)))]
    else:
        h += [("Cache-Control", "no-cache"), ("Pragma", "no-cache"), ("Priority", "u=4"),
              ("Sec-Ch-Ua-Platform", '"Linux"'), ("DNT", "1"),
              ("Sec-Ch-Ua", '"Chromium";v="131", "Not_A Brand";v="24"')][:rng.randint(2, 6)]
    return h


def _cors_resp_headers(rng, now_us, acao, creds, extra=()):
    h = [("Server", "envoy"), ("Date", g.http_date(now_us)),
         ("X-Request-Id", "%016x" % rng.getrandbits(64)),
         ("Strict-Transport-Security", "max-age=63072000; includeSubDomains"),
         ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
         ("Referrer-Policy", "strict-origin-when-cross-origin"),
         ("Cache-Control", "no-store, max-age=0"), ("Vary", "Origin"),
         ("X-Envoy-Upstream-Service-Time", str(rng.randint(1, 400))),
         ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")]
    if acao is not None:
        h.append(("Access-Control-Allow-Origin", acao))
    if creds:
        h.append(("Access-Control-Allow-Credentials", "true"))
    h += list(extra)
    if rng.random() < 0.6:
        h.append(("Access-Control-Expose-Headers", "X-Request-Id, X-RateLimit-Remaining"))
    if rng.random() < 0.7:
        h += [("X-RateLimit-Limit", "1000"), ("X-RateLimit-Remaining", str(rng.randint(0, 999)))]
    return h


def cors_txn(rng, now_us, n):
    """One step of a cross-origin client: [(request, response, close_after)]."""
    origin = rng.choice(CORS_ORIGINS)
    host = rng.choice(CORS_HOSTS)
    path = "/v2/%s/%d" % (rng.choice(("items", "users", "orders", "session", "graphql", "events")),
                          rng.randint(1, 99999))
    cookie = rng.random() < 0.35
    # the server's answer: mostly right, sometimes one of the usual mistakes
    r = rng.random()
    acao, creds = origin, cookie
    if r < 0.06:
        acao = None                                           # missing Allow-Origin
    elif r < 0.10:
        acao = "https://other.example"                        # wrong origin
    elif r < 0.14:
        acao, creds = "*", cookie                             # wildcard (blocked with cookies)
    out = []
    preflight = rng.random() < 0.45
    method = rng.choice(("PUT", "DELETE", "PATCH", "POST")) if preflight else rng.choice(("GET", "GET", "POST"))
    if preflight:
        acrh = "authorization,content-type,x-request-id"
        req = _cors_req_headers(rng, n, "OPTIONS", origin, host, cookie, True, method, acrh)
        allow_h = "Authorization, Content-Type, X-Request-Id"
        if rng.random() < 0.04:
            allow_h = "Content-Type"                          # a header not allowed
        extra = [("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE"),
                 ("Access-Control-Allow-Headers", allow_h), ("Access-Control-Max-Age", "600")]
        resp = _cors_resp_headers(rng, now_us, acao, creds, extra)
        out.append((_h1_request("OPTIONS", path, req, None), _h1_response(204, resp, None), False))
        if acao != origin or allow_h == "Content-Type":
            return out                                        # the browser stops there
    body = None
    if method in ("POST", "PUT", "PATCH"):
        body = b'{"id":%d,"v":"%s"}' % (n, b"x" * rng.randint(10, 200))
    req = _cors_req_headers(rng, n + 1, method, origin, host, cookie, False)
    if body is not None:
        req.insert(5, ("Content-Type", "application/json"))
        req.insert(6, ("Content-Length", str(len(body))))
    status = 200 if rng.random() < 0.9 else rng.choice((201, 401, 403, 404, 500))
    rbody = b'{"ok":true,"n":%d,"d":"%s"}' % (n, b"y" * rng.randint(20, 560))
    resp = _cors_resp_headers(rng, now_us, acao, creds,
                              [("Content-Type", "application/json; charset=utf-8"),
                               ("Content-Length", str(len(rbody)))])
    out.append((_h1_request(method, path, req, body), _h1_response(status, resp, rbody), False))
    return out


def _h1_request(method, path, headers, body):
    head = "%s %s HTTP/1.1\r\n" % (method, path) + "".join("%s: %s\r\n" % kv for kv in headers)
    return (head + "\r\n").encode() + (body or b"")


def _h1_response(status, headers, body):
    head = "HTTP/1.1 %d %s\r\n" % (status, g.REASONS.get(status, "Status"))
    head += "".join("%s: %s\r\n" % kv for kv in headers)
    return (head + "\r\n").encode() + (body or b"")


# --------------------------------------------------------------------------
# the capture
# --------------------------------------------------------------------------
class Wire:
    """One connection's transport: turns HTTP/1.1 messages into its bytes."""

    def __init__(self, transport, conn, trng, keylog, sni):
        self.t, self.c = transport, conn
        self.tls = None
        self.h2 = None
        if transport in ("tls", "h2-tls"):
            self.tls = TlsSession(trng, sni, "h2" if transport == "h2-tls" else "http/1.1", keylog)
        if transport in ("h2c", "h2-tls"):
            self.h2 = H2Session(b"https" if self.tls else b"http")
        self.started = False

    def _start(self):
        self.started = True
        if self.tls:
            self.c.request(self.tls.client_hello())
            self.c.cap.tick(500, 3000)
            self.c.response(self.tls.server_flight())
            self.c.cap.tick(200, 900)
            self.c.request(self.tls.client_finished(), ack=False)

    def request(self, msg):
        if not self.started:
            self._start()
        data = self.h2.request(msg) if self.h2 else msg
        self.c.request(self.tls.wrap(True, data) if self.tls else data)

    def response(self, msg):
        data = self.h2.response(msg) if self.h2 else msg
        self.c.response(self.tls.wrap(False, data) if self.tls else data)

    def close(self, by):
        if self.tls and self.started:
            if by == "client":
                self.c.request(self.tls.close_notify(True))
            else:
                self.c.response(self.tls.close_notify(False))
        self.c.close(by=by)


def generate(args):
    t0 = time.time()
    port = 443 if args.transport in ("tls", "h2-tls") else 80
    cap = g.Capture(args.out, seed=args.seed, reorder=0.001, retransmit=0.001, loss=0.0)
    wrng = random.Random(hashlib.sha256(b"benchwire %d" % args.seed).digest())
    blob = g._body_blob(wrng)
    keylog = open(args.keylog, "w") if args.keylog else _NullLog()
    if args.transport in ("tls", "h2-tls") and not args.keylog:
        sys.exit("benchwire: --keylog FILE is needed with --transport %s" % args.transport)
    server = ("198.51.100.20", port)
    target = int(args.size_mb * 1000000)
    nconn = args.connections
    made = 0
    sent = 0

    def new_conn():
        nonlocal made
        i = made
        made += 1
        c = cap.connection((g._bench_client(i), 32768 + (i * 37) % 28000), server)
        # the TLS randoms and secrets come from their own generator, so the
        # workload's draws are those of the plaintext capture
        trng = random.Random("benchwire tls %d %d" % (args.seed, i))
        w = Wire(args.transport, c, trng, keylog, "api.example")
        w.queue = []
        return w

    active = [new_conn() for _ in range(nconn)]
    txns = 0
    while sent < target:
        k = wrng.randrange(nconn)
        w = active[k]
        if w.queue:
            req, resp, close_after = w.queue.pop(0)
            cap.pause(0.02, 3)
            w.response(resp)
            sent += len(resp)
            txns += 1
            if close_after:
                w.close("server")
                active[k] = new_conn()
            elif w.queue:
                cap.pause(0.01, 0.2)
                w.request(w.queue[0][0])
                sent += len(w.queue[0][0])
            continue
        cap.pause(0.005, 0.5)
        if args.workload == "cors":
            w.queue = cors_txn(wrng, cap.t, txns)
        else:
            w.queue = g._bench_txn(wrng, blob, cap.t, txns)
        w.request(w.queue[0][0])
        sent += len(w.queue[0][0])
    for w in active:
        if w.c.state == "open":
            if w.queue:
                w.response(w.queue[0][1])
                txns += 1
            w.close("client" if wrng.random() < 0.7 else "server")
    cap.finish()
    keylog.close()
    dt = time.time() - t0
    print("%s: %s/%s, %d frames, %.1f MB, %d connections, %d transactions, %.1f s" %
          (args.out, args.transport, args.workload, cap.w.frames, cap.w.bytes / 1e6, made, txns, dt))


class _NullLog:
    def write(self, s):
        pass

    def close(self):
        pass


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--transport", choices=("http1", "tls", "h2c", "h2-tls"), default="http1")
    ap.add_argument("--workload", choices=("browser", "cors"), default="browser")
    ap.add_argument("--size-mb", type=float, default=80)
    ap.add_argument("--connections", type=int, default=7150)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keylog", help="write the NSS key log here (tls, h2-tls)")
    generate(ap.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
