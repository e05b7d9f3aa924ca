#!/usr/bin/env python3
"""Writes a capture where many connections pipeline requests with large
headers that are never answered: without a memory budget every waiting
request would be held to the end.  Usage: pipeline_flood.py OUT [CONNS] [REQS]"""
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "genpcap", os.path.join(HERE, "..", "..", "tools", "gen-pcap.py"))
g = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(g)


def main():
    out = sys.argv[1]
    conns = int(sys.argv[2]) if len(sys.argv) > 2 else 800
    reqs = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    cap = g.Capture(out, seed=7)
    pad = b"X-Padding: " + b"p" * 2000 + b"\r\n"
    for i in range(conns):
        c = cap.connection(("10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255 or 1), 40000 + i % 20000),
                           ("198.51.100.20", 80))
        c.open()
        for k in range(reqs):
            c.request(b"GET /r/%d/%d HTTP/1.1\r\nHost: api.example\r\n"
                      b"Origin: http://app.example:8080\r\n" % (i, k) + pad + b"\r\n")
    cap.finish()


if __name__ == "__main__":
    main()
