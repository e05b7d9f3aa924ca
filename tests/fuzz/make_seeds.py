#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, from pcap/pcapng files.

usage: make_seeds.py OUTDIR FILE_OR_DIR...

Writes OUTDIR/{decode,stream,http,cors,pcapfile}/ in the input formats documented at
the top of each tests/fuzz/fuzz_*.c.  Standard library only; files it cannot
parse are skipped."""
import hashlib
import os
import struct
import sys

LINK_INDEX = {1: 0, 0: 1, 101: 2, 113: 3, 276: 4, 12: 5, 14: 6, 108: 7, 228: 8, 229: 9,
              9: 10, 50: 11, 104: 15}
MAX_SEEDS = 400          # per target and file
MAX_SEED_BYTES = 64 * 1024


def read_frames(path):
    """Yields (linktype, frame bytes) from a pcap or pcapng file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = "<" if magic[0] in (0xd4, 0x4d) else ">"
        lt = struct.unpack(e + "I", data[20:24])[0] & 0xffff
        off = 24
        while off + 16 <= len(data):
            _, _, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
            off += 16
            if incl > len(data) - off:
                return
            yield lt, data[off:off + incl]
            off += incl
    elif magic == b"\x0a\x0d\x0d\x0a":
        off, e, ifaces = 0, "<", []
        while off + 12 <= len(data):
            btype = struct.unpack(e + "I", data[off:off + 4])[0]
            if btype == 0x0a0d0d0a:
                e = "<" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
                ifaces = []
            blen = struct.unpack(e + "I", data[off + 4:off + 8])[0]
            if blen < 12 or off + blen > len(data):
                return
            body = data[off + 8:off + blen - 4]
            if btype == 1:
                ifaces.append(struct.unpack(e + "H", body[:2])[0])
            elif btype == 6 and len(body) >= 20:
                iface, _, _, caplen, _ = struct.unpack(e + "IIIII", body[:20])
                if iface < len(ifaces):
                    yield ifaces[iface], body[20:20 + caplen]
            elif btype == 3 and ifaces:
                yield ifaces[0], body[4:]
            off += blen


def ip_of(lt, fr):
    """The IP packet inside a frame, or None."""
    if lt == 1:
        off, et = 14, struct.unpack("!H", fr[12:14])[0] if len(fr) >= 14 else 0
        while et in (0x8100, 0x88a8, 0x9100) and len(fr) >= off + 4:
            et = struct.unpack("!H", fr[off + 2:off + 4])[0]
            off += 4
        return fr[off:] if et in (0x0800, 0x86dd) else None
    if lt in (0, 108):
        return fr[4:]
    if lt in (101, 12, 14, 228, 229):
        return fr
    if lt == 113:
        return fr[16:]
    if lt == 276:
        return fr[20:]
    return None


def tcp_of(ip):
    """(src, sport, dst, dport, seq, ack, flags, payload) or None."""
    if not ip:
        return None
    v = ip[0] >> 4
    if v == 4 and len(ip) >= 20:
        ihl = (ip[0] & 15) * 4
        if ip[9] != 6 or struct.unpack("!H", ip[6:8])[0] & 0x3fff:
            return None
        tot = struct.unpack("!H", ip[2:4])[0]
        src, dst, t = ip[12:16], ip[16:20], ip[ihl:max(tot, ihl)]
    elif v == 6 and len(ip) >= 40:
        if ip[6] != 6:
            return None
        src, dst, t = ip[8:24], ip[24:40], ip[40:40 + struct.unpack("!H", ip[4:6])[0]]
    else:
        return None
    if len(t) < 20:
        return None
    sp, dp, seq, ack, doff, fl = struct.unpack("!HHIIBB", t[:14])
    return src, sp, dst, dp, seq, ack, fl, t[(doff >> 4) * 4:]


def put(outdir, target, blob, counts):
    if not blob or len(blob) > MAX_SEED_BYTES or counts.get(target, 0) >= MAX_SEEDS:
        return
    counts[target] = counts.get(target, 0) + 1
    d = os.path.join(outdir, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(blob).hexdigest()), "wb") as f:
        f.write(blob)


def cors_seed(req, resp):
    """fuzz_cors input from an HTTP request head and response head."""
    def lines(head):
        return [l.rstrip(b"\r") for l in head.split(b"\n") if l.strip()]
    rl = lines(req)
    if not rl:
        return None
    first = rl[0].split(b" ")
    out = [b" ".join(first[:2])] + [l.replace(b": ", b":", 1) for l in rl[1:]]
    blob = b"\n".join(out) + b"\n\n"
    sl = lines(resp)
    if sl:
        parts = sl[0].split(b" ")
        status = parts[1] if len(parts) > 1 else b"200"
        blob += b"\n".join([status] + [l.replace(b": ", b":", 1) for l in sl[1:]]) + b"\n"
    return bytes([0]) + blob


def seeds_from(path, outdir):
    counts = {}
    # fuzz_pcapfile: the file itself (classic pcap only), cut to the seed size.
    with open(path, "rb") as f:
        head = f.read(MAX_SEED_BYTES)
    if head[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        put(outdir, "pcapfile", head, counts)
    frames = list(read_frames(path))
    flows = {}
    for lt, fr in frames:
        if lt in LINK_INDEX:
            put(outdir, "decode", bytes([LINK_INDEX[lt]]) + struct.pack("<HB", len(fr), 0) + fr, counts)
        t = tcp_of(ip_of(lt, fr))
        if not t:
            continue
        src, sp, dst, dp, seq, ack, fl, pl = t
        key = tuple(sorted([(src, sp), (dst, dp)]))
        flows.setdefault(key, []).append(((src, sp), seq, ack, fl, pl))
    # Whole files' frames, several per seed, for fragment reassembly.
    for i in range(0, len(frames), 16):
        group = [(lt, fr) for lt, fr in frames[i:i + 16] if lt in LINK_INDEX]
        if group:
            blob = bytes([LINK_INDEX[group[0][0]]])
            for lt, fr in group:
                if lt == group[0][0]:
                    blob += struct.pack("<HB", len(fr), 0) + fr
            put(outdir, "decode", blob, counts)
    for key, segs in flows.items():
        client = None
        for ep, seq, ack, fl, pl in segs:
            if fl & 0x12 == 0x02:
                client = ep
                break
        if client is None:
            client = segs[0][0]
        # fuzz_stream: one connection, offsets relative to the tracked next byte.
        nxt = {}
        isn = {}
        blob = bytearray([0])
        streams = {0: b"", 1: b""}
        for ep, seq, ack, fl, pl in segs:
            d = 0 if ep == client else 1
            if d not in isn:
                isn[d] = seq
                nxt[d] = seq if not fl & 0x02 else seq
            sd = (seq - nxt[d]) & 0xffffffff
            sd = sd - (1 << 32) if sd >= 1 << 31 else sd
            sd = max(-32768, min(32767, sd))
            ad = 0
            if 1 - d in nxt:
                ad = (ack - nxt[1 - d]) & 0xffffffff
                ad = ad - (1 << 32) if ad >= 1 << 31 else ad
                ad = max(-32768, min(32767, ad))
            pl = pl[:255]
            ctl = d | ((fl & 0x02) << 2) | ((fl & 0x01) << 4) | ((fl & 0x04) << 3) | ((fl & 0x10) << 2)
            blob += struct.pack("<BhhB", ctl, sd, ad, len(pl)) + pl
            end = (seq + len(pl) + (1 if fl & 3 else 0)) & 0xffffffff
            if ((end - nxt[d]) & 0xffffffff) < (1 << 31):
                nxt[d] = end
            streams[d] += pl
        put(outdir, "stream", bytes(blob), counts)
        # fuzz_http: the two streams, chunked as captured.
        hb = bytearray([0])
        for ep, seq, ack, fl, pl in segs:
            d = 0 if ep == client else 1
            if pl:
                hb += struct.pack("<BH", d << 2, len(pl)) + pl
            if fl & 0x01:
                hb += struct.pack("<BH", 2 | d << 2, 0)
            if fl & 0x04:
                hb += struct.pack("<BH", 3 | d << 2, 0)
        if len(hb) > 1:
            put(outdir, "http", bytes(hb), counts)
        # fuzz_cors: request head / response head pairs.
        reqs = [h for h in streams[0].split(b"\r\n\r\n") if h[:1].isalpha()]
        resps = [h for h in streams[1].split(b"\r\n\r\n") if h.startswith(b"HTTP/")]
        for rq, rs in zip(reqs, resps):
            s = cors_seed(rq, rs)
            if s:
                put(outdir, "cors", s, counts)


def main():
    outdir = sys.argv[1]
    for arg in sys.argv[2:]:
        paths = [arg]
        if os.path.isdir(arg):
            paths = sorted(os.path.join(r, f) for r, _, fs in os.walk(arg) for f in fs
                           if f.endswith((".pcap", ".pcapng", ".trace", ".cap")))
        for p in paths:
            try:
                seeds_from(p, outdir)
            except (struct.error, IndexError, ValueError, OSError) as e:
                print("make_seeds: %s: %s" % (p, e), file=sys.stderr)


if __name__ == "__main__":
    main()
