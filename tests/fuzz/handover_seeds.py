#!/usr/bin/env python3
"""Seeds for fuzz_handover (tests/fuzz/corpus-min/handover/): the TCP streams
of the hand-over captures, as tshark reassembles them (-z follow,tcp,raw),
written in the target's record format, plus a few made here (nested
CONNECTs, garbage after the 200, an h2 preface cut at byte 5).
Usage: tests/fuzz/handover_seeds.py OUTDIR"""
import hashlib
import os
import re
import struct
import subprocess
import sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def rec(d, payload, flags=0):
    return bytes([d | flags]) + struct.pack("<H", len(payload)) + payload


def save(blob):
    name = hashlib.sha1(blob).hexdigest()
    with open(os.path.join(out, name), "wb") as f:
        f.write(blob)


def streams(pcap):
    n = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-e", "tcp.stream"],
                       capture_output=True, text=True, check=True).stdout.split()
    for s in sorted(set(int(x) for x in n)):
        text = subprocess.run(["tshark", "-r", pcap, "-q", "-z", "follow,tcp,raw,%d" % s],
                              capture_output=True, text=True, check=True).stdout
        body = text.split("Node 1:", 1)[1].splitlines()[1:]
        blob = b"\0"
        for line in body:
            if line.startswith("====") or not line.strip():
                continue
            blob += rec(1 if line.startswith("\t") else 0, bytes.fromhex(line.strip()))
        save(blob)


streams("pcaps/handover-connect.pcap")
streams("pcaps/handover-h2c.pcap")
C = b"CONNECT a.test:80 HTTP/1.1\r\nHost: a.test:80\r\n\r\n"
OK = b"HTTP/1.1 200 OK\r\n\r\n"
save(b"\0" + b"".join(rec(0, C) + rec(1, OK) for _ in range(6)) +
     rec(0, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n") + rec(1, b"HTTP/1.1 204 No\r\n\r\n"))
save(b"\1" + rec(0, C) + rec(1, OK) + rec(0, b"\x00\x01garbage\r\n") + rec(1, b"\xff" * 40, 4))
save(b"\0" + rec(0, C) + rec(1, OK) + rec(0, b"PRI *") + rec(1, b"\0\0\0\4\0\0\0\0\0") +
     rec(0, b" HTTP/2.0\r\n\r\nSM\r\n\r\n") + rec(0, b"", 8))
