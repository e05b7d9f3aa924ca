#!/usr/bin/env python3
"""Regenerates the pcapng fixtures with Decryption Secrets Blocks (committed;
run by hand).  Outputs in tests/tls/:

  dsb_editcap.pcapng    one packet, then the NSS key log tls13_aes128gcm.keys
                        injected by Wireshark's own tool:
                        editcap --inject-secrets tls,KEYS in.pcap out.pcapng
  dsb_synthetic.pcapng  written here, block by block, to cover what editcap
                        does not write:
    section 1 (little-endian): SHB, IDB,
      DSB TLSK  tls12_aes128gcm.keys with CRLF line ends, no final newline
      EPB       one packet
      DSB WGKL  a WireGuard key log (another secrets type: handed out, not TLS)
      DSB TLSK  5000 bytes of comment lines ('#', padded; over a 4096 limit)
    section 2 (big-endian): SHB, IDB,
      DSB TLSK  tls12_chacha20.keys
      DSB TLSK  whose secrets length runs past its block (inconsistent)
      DSB TLSK  cut off by the end of the file (its length says 400 bytes)

  python3 tests/tls/make_pcapng.py
"""
import os
import struct
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def keys(name, crlf=False, final_newline=True):
    with open(os.path.join(HERE, name + ".keys"), "rb") as f:
        t = f.read()
    if crlf:
        t = t.replace(b"\n", b"\r\n")
    if not final_newline:
        t = t.rstrip(b"\r\n")
    return t


def pad4(b):
    return b + b"\0" * (-len(b) % 4)


def block(e, btype, body):
    total = 12 + len(body)
    return struct.pack(e + "II", btype, total) + body + struct.pack(e + "I", total)


def shb(e):
    return block(e, 0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(e):
    return block(e, 1, struct.pack(e + "HHI", 1, 0, 262144))   # Ethernet


def dsb(e, stype, secrets, declared_len=None):
    n = len(secrets) if declared_len is None else declared_len
    return block(e, 0x0A, struct.pack(e + "II", stype, n) + pad4(secrets))


def epb(e, pkt):
    return block(e, 6, struct.pack(e + "IIIII", 0, 0, 0, len(pkt), len(pkt)) + pad4(pkt))


PACKET = bytes(12) + b"\x08\x00" + bytes(46)   # an Ethernet frame, zero IPv4
TLSK, WGKL = 0x544C534B, 0x57474B4C


def synthetic():
    le, be = "<", ">"
    out = shb(le) + idb(le)
    out += dsb(le, TLSK, keys("tls12_aes128gcm", crlf=True, final_newline=False))
    out += epb(le, PACKET)
    out += dsb(le, WGKL, b"LOCAL_STATIC_PRIVATE_KEY = AAAA\n")
    out += dsb(le, TLSK, (b"#" * 99 + b"\n") * 50)        # 5000 bytes
    out += shb(be) + idb(be)
    out += dsb(be, TLSK, keys("tls12_chacha20"))
    out += dsb(be, TLSK, b"CLIENT_RANDOM x y\n", declared_len=4000)
    cut = struct.pack(be + "II", 0x0A, 400) + struct.pack(be + "II", TLSK, 300) + b"CLIENT_RANDOM"
    out += cut
    with open(os.path.join(HERE, "dsb_synthetic.pcapng"), "wb") as f:
        f.write(out)


def editcap():
    with tempfile.TemporaryDirectory() as tmp:
        pcap = os.path.join(tmp, "in.pcap")
        with open(pcap, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
            f.write(struct.pack("<IIII", 1, 0, len(PACKET), len(PACKET)) + PACKET)
        subprocess.run(["editcap", "--inject-secrets",
                        "tls," + os.path.join(HERE, "tls13_aes128gcm.keys"),
                        pcap, os.path.join(HERE, "dsb_editcap.pcapng")], check=True)


if __name__ == "__main__":
    synthetic()
    editcap()
