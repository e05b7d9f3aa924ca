#!/usr/bin/env python3
"""make_tunnels.py OUTDIR: captures of HTTP exchanges inside every tunnel and
link type the decode stage follows (GRE with and without options, GRE
transparent Ethernet bridging, ERSPAN II and III, VXLAN, Geneve with options,
a VXLAN inside GRE, PPPoE, PPP, PPP in HDLC framing, Cisco HDLC).

Built on tools/gen-pcap.py: its Connection writes correct TCP/IP (seq/ack,
checksums), and TunnelCapture.emit wraps each of those IP packets in the
outer layers instead of a plain link header.  Outer headers carry valid IPv4
and GRE checksums; outer UDP checksums are 0 over IPv4 (RFC 768 allows it)
and computed over IPv6.  Deterministic: the same OUTDIR contents every run.
tests/e2e/tunnels.sh checks that the committed copies in tests/decode/ are
what this writes, and that corscope and tshark see the same HTTP in each.
"""
import importlib.util
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "genpcap", os.path.join(HERE, "..", "..", "tools", "gen-pcap.py"))
g = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(g)

LT_ETHER, LT_PPP, LT_PPP_HDLC, LT_C_HDLC = 1, 9, 50, 104
MAC_A, MAC_B = b"\x02\x00\x0a\x00\x00\x01", b"\x02\x00\x0a\x00\x00\x02"
OUT4 = (bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
OUT6 = (bytes.fromhex("20010db8000000000000000000000a01"),
        bytes.fromhex("20010db8000000000000000000000a02"))


def csum(data):
    return g.csum_final(g.csum_acc(data))


class Outer:
    """Outer headers, written in the direction of the inner packet."""

    def __init__(self):
        self.ipid = 0x2000
        self.seq = 0

    def ether(self, fwd, etype, payload):
        dst, src = (MAC_B, MAC_A) if fwd else (MAC_A, MAC_B)
        return dst + src + struct.pack("!H", etype) + payload

    def ipv4(self, fwd, proto, payload):
        src, dst = OUT4 if fwd else OUT4[::-1]
        self.ipid = (self.ipid + 1) & 0xFFFF
        h = g._IP4.pack(0x45, 0, 20 + len(payload), self.ipid, 0x4000, 64, proto, 0, src, dst)
        return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload

    def ipv6(self, fwd, nh, payload):
        src, dst = OUT6 if fwd else OUT6[::-1]
        return g._IP6.pack(0x60000000, len(payload), nh, 64, src, dst) + payload

    def udp(self, fwd, dport, payload, v6=False):
        n = 8 + len(payload)
        h = struct.pack("!HHHH", 50000 if fwd else 50001, dport, n, 0)
        if not v6:
            return h + payload
        src, dst = OUT6 if fwd else OUT6[::-1]
        ck = csum(src + dst + struct.pack("!IxxxB", n, 17) + h + payload) or 0xFFFF
        return h[:6] + struct.pack("!H", ck) + payload

    def gre(self, proto, payload, c=False, key=None, seq=False):
        """RFC 2784 / RFC 2890 header: checksum, key, sequence in that order."""
        flags = (0x8000 if c else 0) | (0x2000 if key is not None else 0) | \
            (0x1000 if seq else 0)
        opts = b""
        if key is not None:
            opts += struct.pack("!I", key)
        if seq:
            self.seq += 1
            opts += struct.pack("!I", self.seq)
        if not c:
            return struct.pack("!HH", flags, proto) + opts + payload
        body = opts + payload
        ck = csum(struct.pack("!HHHH", flags, proto, 0, 0) + body)
        return struct.pack("!HHHH", flags, proto, ck, 0) + body


def inner_ether(conn, ippkt, fwd, vlan=None):
    dst, src = (conn.smac, conn.cmac) if fwd else (conn.cmac, conn.smac)
    tag = struct.pack("!HH", 0x8100, vlan) if vlan is not None else b""
    return dst + src + tag + struct.pack("!H", 0x86DD if conn.v6 else 0x0800) + ippkt


def ethertype(conn):
    return 0x86DD if conn.v6 else 0x0800


# ---- one wrapper per capture: (conn, inner IP packet, from_client) -> frame
def w_gre_ipv4(o, conn, ip, fwd):
    return o.ether(fwd, 0x0800, o.ipv4(fwd, 47, o.gre(ethertype(conn), ip)))


def w_gre_options_ipv6(o, conn, ip, fwd):
    return o.ether(fwd, 0x86DD, o.ipv6(fwd, 47, o.gre(ethertype(conn), ip, c=True,
                                                      key=0xC0FFEE, seq=True)))


def w_gre_teb(o, conn, ip, fwd):
    return o.ether(fwd, 0x0800, o.ipv4(fwd, 47, o.gre(0x6558, inner_ether(conn, ip, fwd, 42),
                                                      key=7)))


def w_erspan2(o, conn, ip, fwd):
    # version 1, VLAN 0, COS 0, En 0, T 0, session 100; index 5
    hdr = struct.pack("!HHI", 0x1000, 100, 5)
    return o.ether(fwd, 0x0800, o.ipv4(fwd, 47, o.gre(0x88BE, hdr + inner_ether(conn, ip, fwd),
                                                      seq=True)))


def w_erspan3(o, conn, ip, fwd):
    # version 2, session 200, timestamp, SGT 0, FT 0 (Ethernet), D, O = 1:
    # an 8-byte platform-specific subheader (platform id 3) follows.
    hdr = struct.pack("!HHIHH", 0x2000, 200, 0x01020304, 0, (0 if fwd else 0x0008) | 1)
    plat = struct.pack("!II", 3 << 26, 0x0A0B0C0D)
    return o.ether(fwd, 0x0800, o.ipv4(fwd, 47, o.gre(0x22EB, hdr + plat +
                                                      inner_ether(conn, ip, fwd), seq=True)))


def vxlan(payload):
    return struct.pack("!II", 0x08000000, 4242 << 8) + payload


def w_vxlan(o, conn, ip, fwd):
    return o.ether(fwd, 0x0800, o.ipv4(fwd, 17, o.udp(fwd, 4789, vxlan(inner_ether(conn, ip, fwd)))))


def w_geneve(o, conn, ip, fwd):
    # RFC 8926 section 3.5 options: class 0x0103 type 0x80 with 4 bytes,
    # class 0xffff type 1 with 8 bytes: 4 + 4 + 4 + 8 = 20 bytes, Opt Len 5.
    opts = struct.pack("!HBB", 0x0103, 0x80, 1) + b"\x00\x00\x00\x01" + \
        struct.pack("!HBB", 0xFFFF, 0x01, 2) + b"abcdefgh"
    hdr = struct.pack("!BBHI", len(opts) // 4, 0, 0x6558, 777 << 8)
    return o.ether(fwd, 0x86DD, o.ipv6(fwd, 17, o.udp(fwd, 6081, hdr + opts +
                                                      inner_ether(conn, ip, fwd), v6=True)))


def w_gre_vxlan(o, conn, ip, fwd):
    inner = o.ipv4(fwd, 17, o.udp(fwd, 4789, vxlan(inner_ether(conn, ip, fwd))))
    return o.ether(fwd, 0x0800, o.ipv4(fwd, 47, o.gre(0x0800, inner)))


def ppp_proto(conn):
    return 0x0057 if conn.v6 else 0x0021


def w_pppoe(o, conn, ip, fwd):
    ppp = struct.pack("!H", ppp_proto(conn)) + ip
    return o.ether(fwd, 0x8864, struct.pack("!BBHH", 0x11, 0, 0x1234, len(ppp)) + ppp)


def w_ppp(o, conn, ip, fwd):
    return b"\xff\x03" + struct.pack("!H", ppp_proto(conn)) + ip


def w_chdlc(o, conn, ip, fwd):
    return b"\x0f\x00" + struct.pack("!H", ethertype(conn)) + ip


# ---- extra frames that carry no IP (counted as not decoded) --------------
def pppoe_discovery(o, cap):
    """PADI, PADO, PADR, PADS (RFC 2516 section 5) with a Service-Name tag."""
    tag = struct.pack("!HH", 0x0101, 0)
    for code, sess, fwd in ((0x09, 0, True), (0x07, 0, False), (0x19, 0, True),
                            (0x65, 0x1234, False)):
        cap.tick()
        cap.w.write(cap.t, o.ether(fwd, 0x8863, struct.pack("!BBHH", 0x11, code, sess,
                                                            len(tag)) + tag))


def ppp_lcp_echo(prefix):
    """An LCP Echo-Request (RFC 1661 section 5.8) behind the given framing."""
    def write(o, cap):
        cap.tick()
        cap.w.write(cap.t, prefix + struct.pack("!HBBHI", 0xC021, 9, 1, 8, 0))
    return write


def slarp(o, cap):
    """A Cisco SLARP keepalive (ethertype 0x8035) on a C-HDLC link."""
    cap.tick()
    cap.w.write(cap.t, b"\x8f\x00\x80\x35" + struct.pack("!IIIHI", 2, 10, 9, 0xFFFF, 0))


class TunnelCapture(g.Capture):
    def __init__(self, path, linktype, wrap, seed):
        super().__init__(path, linktype=linktype, seed=seed)
        self.wrap = wrap
        self.outer = Outer()

    def emit(self, conn, ippkt, from_client):
        self.w.write(self.t, self.wrap(self.outer, conn, ippkt, from_client))


# name: (link type, wrapper, client, server, extra frames written first)
CAPTURES = [
    ("gre-ipv4", LT_ETHER, w_gre_ipv4, "192.0.2.10", "198.51.100.20", None),
    ("gre-options-ipv6", LT_ETHER, w_gre_options_ipv6, "2001:db8::10", "2001:db8::20", None),
    ("gre-teb", LT_ETHER, w_gre_teb, "192.0.2.11", "198.51.100.21", None),
    ("erspan2", LT_ETHER, w_erspan2, "192.0.2.12", "198.51.100.22", None),
    ("erspan3", LT_ETHER, w_erspan3, "192.0.2.13", "198.51.100.23", None),
    ("vxlan", LT_ETHER, w_vxlan, "192.0.2.14", "198.51.100.24", None),
    ("geneve", LT_ETHER, w_geneve, "192.0.2.15", "198.51.100.25", None),
    ("gre-vxlan", LT_ETHER, w_gre_vxlan, "192.0.2.16", "198.51.100.26", None),
    ("pppoe", LT_ETHER, w_pppoe, "192.0.2.17", "198.51.100.27", pppoe_discovery),
    ("ppp", LT_PPP, w_ppp, "192.0.2.18", "198.51.100.28", ppp_lcp_echo(b"\xff\x03")),
    ("ppp-hdlc", LT_PPP_HDLC, w_ppp, "2001:db8::19", "2001:db8::29", ppp_lcp_echo(b"\xff\x03")),
    ("chdlc", LT_C_HDLC, w_chdlc, "192.0.2.20", "198.51.100.30", slarp),
]


def write(outdir, name, lt, wrap, client, server, extra, seed):
    cap = TunnelCapture(os.path.join(outdir, name + ".pcap"), lt, wrap, seed)
    if extra:
        extra(cap.outer, cap)
    c = cap.connection((client, 41000 + seed), (server, 80))
    c.request(g.browser_request("firefox", "GET", "/tunnel/%s?x=1" % name))
    c.response(g.http_response(200, [("Access-Control-Allow-Origin", g.APP_ORIGIN)],
                               b'{"via":"%s"}' % name.encode()))
    c.request(g.browser_request("chrome", "PUT", "/tunnel/%s/item" % name, body="{}",
                                ctype="application/json"))
    c.response(g.http_response(403, body=b"no"))
    c.close()
    cap.finish()


def main(argv):
    if len(argv) != 2:
        print("usage: make_tunnels.py OUTDIR", file=sys.stderr)
        return 2
    os.makedirs(argv[1], exist_ok=True)
    for i, (name, lt, wrap, client, server, extra) in enumerate(CAPTURES):
        write(argv[1], name, lt, wrap, client, server, extra, i + 1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
