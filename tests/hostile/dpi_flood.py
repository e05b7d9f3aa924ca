#!/usr/bin/env python3
"""Writes a capture of many connections whose server speaks first with one
packet nDPI cannot name (a server-first protocol it does not know): each
connection is then held under protocol identification, waiting for packets
that never come.  Usage: dpi_flood.py OUT [CONNS]

Handshake (SYN, SYN-ACK, ACK) plus 64 bytes of binary from the server per
connection.  Written directly from one template per packet kind, patching
addresses, ports and sequence numbers (the generic writer in
tools/gen-pcap.py takes minutes for 200k connections)."""
import struct
import sys

CLIENT_MAC = b"\x02\x00\x0a\x00\x00\x01"
SERVER_MAC = b"\x02\x00\xc6\x33\x64\x14"
SERVER_IP = bytes([198, 51, 100, 20])
SERVER_PORT = 7777
BANNER = bytes((i * 37 + 11) & 0xFF for i in range(64))   # not text, not a known protocol


def csum(data):
    if len(data) & 1:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def packet(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0) + payload
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    from_client = src != SERVER_IP
    eth = (SERVER_MAC + CLIENT_MAC if from_client else CLIENT_MAC + SERVER_MAC) + b"\x08\x00"
    return eth + ip + tcp


def main():
    out = sys.argv[1]
    conns = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
    rec = struct.Struct("<IIII")
    ts = 1767225600
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        buf = bytearray()
        n = 0
        for i in range(conns):
            cip = bytes([10, i >> 16 & 255, i >> 8 & 255, (i & 255) or 1])
            cport = 20000 + (i * 7919) % 40000
            cisn, sisn = (i * 2654435761) & 0xFFFFFFFF, (i * 40503 + 17) & 0xFFFFFFFF
            for fr in (packet(cip, SERVER_IP, cport, SERVER_PORT, cisn, 0, 0x02),
                       packet(SERVER_IP, cip, SERVER_PORT, cport, sisn, cisn + 1, 0x12),
                       packet(cip, SERVER_IP, cport, SERVER_PORT, cisn + 1, sisn + 1, 0x10),
                       packet(SERVER_IP, cip, SERVER_PORT, cport, sisn + 1, cisn + 1, 0x18, BANNER)):
                buf += rec.pack(ts + n // 100000, (n % 100000) * 10, len(fr), len(fr)) + fr
                n += 1
            if len(buf) > 1 << 22:
                f.write(buf)
                buf = bytearray()
        f.write(buf)


if __name__ == "__main__":
    main()
