#!/usr/bin/env python3
"""Hostile captures for tests/e2e/hostile.sh.  Standard library only.

  gen.py gen OUTDIR            writes OUTDIR/<case>.pcap[ng] (list: CASES)
  gen.py ooo OUT CONNS PIECES [ORDER]  CONNS connections, each a SYN then
                               PIECES 1-byte segments after a 1-byte hole
                               (ORDER: asc, desc, interleaved, overlap)
  gen.py measure OUT ERR CMD...  runs CMD with stdout/stderr to OUT/ERR and
                               prints "rc peak_rss_kib seconds" (RSS from
                               getrusage of the child)

Well-formed TCP/HTTP cases use tools/gen-pcap.py's Python API; damaged-file
cases are written byte by byte."""
import importlib.util
import os
import resource
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "genpcap", os.path.join(HERE, "..", "..", "tools", "gen-pcap.py"))
g = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(g)

CLIENT = ("192.0.2.10", 41000)
SERVER = ("198.51.100.20", 80)
ORIGIN = b"Origin: http://app.example:8080\r\n"
OK = b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 2\r\n\r\nok"


def syn_flood(path, n=1000000):
    """n SYNs from distinct (address, port) pairs to one server: n flows
    that never finish.  Written directly (one template, two fields patched)
    because the generic writer takes ~1 minute for a million connections."""
    eth = b"\x02\x00\xc6\x33\x64\x14" + b"\x02\x00\x0a\x00\x00\x01" + b"\x08\x00"
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0x4000, 64, 6, 0,
                               b"\x0a\x00\x00\x00", bytes([198, 51, 100, 20])))
    tcp = bytearray(struct.pack("!HHIIBBHHH", 1024, 80, 0, 0, 5 << 4, 0x02, 64240, 0, 0))
    frame = bytearray(eth + ip + tcp)
    rec = struct.Struct("<IIII")
    ts = 1767225600
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        out = bytearray()
        for i in range(n):
            # 10.x.y.z source, port 1024.., seq varies
            struct.pack_into("!I", frame, 26, 0x0A000000 | (i >> 6))
            struct.pack_into("!HHI", frame, 34, 1024 + (i & 63) * 1000, 80, i * 2654435761 & 0xFFFFFFFF)
            out += rec.pack(ts + i // 100000, (i % 100000) * 10, len(frame), len(frame))
            out += frame
            if len(out) > 1 << 22:
                f.write(out)
                out = bytearray()
        f.write(out)


def ooo_offsets(pieces, order):
    """(offset, length) of each segment after the hole, in sending order:
    asc rises, desc falls, interleaved sends the even offsets rising and
    then the odd ones falling, overlap sends 2-byte segments rising one
    byte at a time (each overlaps the previous one)."""
    if order == "asc":
        return [(k, 1) for k in range(pieces)]
    if order == "desc":
        return [(k, 1) for k in reversed(range(pieces))]
    if order == "interleaved":
        return [(k, 1) for k in range(0, pieces, 2)] + \
               [(k, 1) for k in reversed(range(1, pieces, 2))]
    if order == "overlap":
        return [(k, 2) for k in range(pieces)]
    raise SystemExit("unknown order " + order)


def ooo_flood(path, conns, pieces, order="asc"):
    """conns connections from distinct client ports, each a SYN and then
    `pieces` small segments that all sit after a 1-byte hole the capture
    never fills and no ACK reveals: everything is held until a cap, the
    memory budget or the end of input releases it.  The connections take
    turns, one segment each, so they all hold data at the same time.
    Written from one template like syn_flood (millions of frames)."""
    eth = b"\x02\x00\xc6\x33\x64\x14" + b"\x02\x00\x0a\x00\x00\x01" + b"\x08\x00"
    rec = struct.Struct("<IIII")
    ts = 1767225600
    isn = 1000
    offsets = ooo_offsets(pieces, order)

    def frame(port, seq, flags, payload):
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 1, 0x4000, 64, 6, 0,
                         b"\x0a\x00\x00\x01", bytes([198, 51, 100, 20]))
        tcp = struct.pack("!HHIIBBHHH", port, 80, seq & 0xFFFFFFFF, 0, 5 << 4, flags, 64240, 0, 0)
        return eth + ip + tcp + payload

    n = 0
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        out = bytearray()

        def put(fr):
            nonlocal n, out
            out += rec.pack(ts + n // 1000000, n % 1000000, len(fr), len(fr)) + fr
            n += 1
            if len(out) > 1 << 22:
                f.write(out)
                out = bytearray()
        for c in range(conns):
            put(frame(20000 + c, isn, 0x02, b""))
        templ = [bytearray(frame(20000 + c, 0, 0x18, b"xy"[:2])) for c in range(conns)]
        for off, ln in offsets:
            for c in range(conns):
                fr = templ[c] if ln == 2 else templ[c][:-1]
                if ln == 1:
                    fr[16:18] = struct.pack("!H", 41)
                struct.pack_into("!I", fr, 38, isn + 2 + off)
                fr[-ln:] = bytes([65 + (off + i) % 26 for i in range(ln)])
                put(bytes(fr))
        f.write(out)


def one_request(path, req, resp=OK, **kw):
    cap = g.Capture(path, seed=3)
    c = cap.connection(CLIENT, SERVER)
    c.request(req, **kw)
    if resp is not None:
        c.response(resp)
    c.close()
    cap.finish()


def overlap(path):
    """Client bytes sent out of order with overlapping segments that carry
    different data; and a retransmission of delivered bytes that differs."""
    cap = g.Capture(path, seed=4)
    c = cap.connection(CLIENT, SERVER)
    c.open()
    real = b"GET /overlap HTTP/1.1\r\nHost: api.example\r\n" + ORIGIN + b"\r\n"
    evil = b"POST /evil?x=1 HTTP/1.1\r\nHost: evil.example\r\nX: " + b"Z" * len(real)
    base = c.cseq

    def seg(a, b, data):
        cap.tick()
        cap.emit(c, c._ip(True, c._tcp(True, base + a, c.sseq, g.TH_ACK | g.TH_PSH, data[a:b])), True)

    seg(30, 60, real)      # held
    seg(40, 70, evil)      # overlaps the held bytes with other data
    seg(20, 45, evil)      # overlaps again
    seg(0, 35, real)       # fills the hole
    seg(0, 25, evil)       # retransmission of delivered bytes, different data
    seg(50, len(real), real)
    c.cseq += len(real)
    c.response(OK)
    c.close()
    cap.finish()


def pcap_bytes(snaplen, records, linktype=1):
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype))
    for i, (caplen, wirelen, data) in enumerate(records):
        out += struct.pack("<IIII", 1767225600 + i, 0, caplen, wirelen) + data
    return bytes(out)


def frames_of(path):
    with open(path, "rb") as f:
        data = f.read()
    off, out = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack("<I", data[off + 8:off + 12])[0]
        out.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return out


def gen(outdir):
    os.makedirs(outdir, exist_ok=True)
    p = lambda name: os.path.join(outdir, name)
    syn_flood(p("synflood.pcap"))
    overlap(p("overlap.pcap"))
    one_request(p("hugeheader.pcap"), b"GET /" + b"A" * (10 * 1024 * 1024), resp=None)
    one_request(p("manylines.pcap"), b"GET / HTTP/1.1\r\nHost: api.example\r\n" + ORIGIN +
                b"X-L: v\r\n" * 100000 + b"\r\n")
    one_request(p("chunkoverflow.pcap"),
                b"GET /c HTTP/1.1\r\nHost: api.example\r\n" + ORIGIN + b"\r\n",
                b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
                b"1ffffffffffffffff\r\n" + b"x" * 100 + b"\r\nFFFFFFFFFFFFFFFFFFFFFFFF\r\n0\r\n\r\n")
    for name, cl in (("negcl", b"Content-Length: -5\r\n"),
                     ("dupcl", b"Content-Length: 5\r\nContent-Length: 7\r\n"),
                     ("hugecl", b"Content-Length: 99999999999999999999999\r\n")):
        cap = g.Capture(p(name + ".pcap"), seed=5)
        c = cap.connection(CLIENT, SERVER)
        c.request(b"POST /a HTTP/1.1\r\nHost: api.example\r\n" + ORIGIN + cl + b"\r\nhello")
        c.response(b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\n" + cl + b"\r\nworld")
        c.request(b"GET /b HTTP/1.1\r\nHost: api.example\r\n" + ORIGIN + b"\r\n")
        c.response(OK)
        c.close()
        cap.finish()

    # A well-formed capture whose frames the damaged files reuse.
    one_request(p("base.tmp"), b"GET /d HTTP/1.1\r\nHost: api.example\r\n" + ORIGIN + b"\r\n")
    frames = frames_of(p("base.tmp"))
    os.unlink(p("base.tmp"))
    good = [(len(f), len(f), f) for f in frames]
    with open(p("caplen-over-snaplen.pcap"), "wb") as f:
        big = frames[3] + b"\0" * 1500
        f.write(pcap_bytes(128, good[:4] + [(len(big), len(big), big)] + good[4:]))
    with open(p("caplen-huge.pcap"), "wb") as f:
        f.write(pcap_bytes(262144, good[:4] + [(300 * 1024, 300 * 1024, b"\xee" * (300 * 1024))] + good[4:]))
    with open(p("caplen-past-eof.pcap"), "wb") as f:
        f.write(pcap_bytes(262144, good[:4] + [(0x7fffffff, 0x7fffffff, b"\xee" * 100)]))
    with open(p("snaplen-zero.pcap"), "wb") as f:
        f.write(pcap_bytes(0, good))
    with open(p("snaplen-huge.pcap"), "wb") as f:
        f.write(pcap_bytes(0xFFFFFFFF, good))
    with open(p("unknown-blocks.pcapng"), "wb") as f:
        def block(btype, body):
            body += b"\0" * (-len(body) % 4)
            return struct.pack("<II", btype, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))
        out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
        out += block(0x0BADBEEF, b"unknown block type, skip me")
        out += block(0x00000001, struct.pack("<HHI", 1, 0, 0))
        out += block(0x40000BAD, b"\xff" * 64)               # local-use block type
        for i, fr in enumerate(frames):
            ts = (1767225600 + i) * 1000000
            out += block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(fr), len(fr)) + fr)
            if i % 3 == 0:
                out += block(0x7E57B10C, struct.pack("<I", i) * 5)
        out += block(0x00000BAD, struct.pack("<I", 32473) + b"custom")   # custom block
        f.write(out)


def measure(out, err, cmd):
    t0 = time.time()
    with open(out, "wb") as o, open(err, "wb") as e:
        rc = subprocess.call(cmd, stdout=o, stderr=e)
    dt = time.time() - t0
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print("%d %d %.2f" % (rc, rss, dt))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "gen":
        gen(sys.argv[2])
    elif len(sys.argv) >= 5 and sys.argv[1] == "ooo":
        ooo_flood(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
                  sys.argv[5] if len(sys.argv) > 5 else "asc")
    elif len(sys.argv) >= 5 and sys.argv[1] == "measure":
        measure(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
