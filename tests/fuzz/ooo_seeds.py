#!/usr/bin/env python3
"""Seeds for fuzz_stream that reach deep out-of-order states: thousands of
small segments held after a hole, rising (joined into one piece), falling
(one piece each), interleaved, overlapping, across the sequence wrap and
under tiny byte or piece caps.  Writes tests/fuzz/corpus-min/stream/ooo-*
(replayed by tests/e2e/fuzz_regress.sh in `make check`).

usage: ooo_seeds.py [OUTDIR]   (default: the corpus-min/stream directory)"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
N = 6000   # segments per seed: 8 bytes each, under make_seeds.py's 64 KiB


def blob(byte0, ops):
    """ops: (conn, flags, offset, payload) for client data, offset counted
    from the byte after the SYN; converted to fuzz_stream's records (offset
    from the highest byte the harness has seen, as it tracks it)."""
    out = bytearray([byte0])
    nxt = {}
    for conn, flags, off, pl in ops:
        if conn not in nxt:             # the SYN opens the connection at offset -1
            out += struct.pack("<BhhB", 0x08 | conn << 1, 0, 0, 0)
            nxt[conn] = 0
        sd = off - nxt[conn]
        assert -32768 <= sd <= 32767
        ctl = conn << 1 | 0x40 | (0x10 if flags == "F" else 0)
        out += struct.pack("<BhhB", ctl, sd, 0, len(pl)) + pl
        nxt[conn] = max(nxt[conn], off + len(pl) + (1 if flags == "F" else 0))
    return bytes(out)


def byte(k):
    return bytes([65 + k % 26])


def orders(n):
    rising = [(k, 1) for k in range(1, n)]
    falling = [(k, 1) for k in reversed(range(1, n))]
    inter = [(k, 1) for k in range(2, n, 2)] + [(k, 1) for k in reversed(range(1, n, 2))]
    overlap = [(k, 2) for k in range(1, n)]
    return {"rising": rising, "falling": falling, "interleaved": inter, "overlapping": overlap}


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus-min", "stream")
    os.makedirs(outdir, exist_ok=True)
    seeds = {}
    for name, segs in orders(N).items():
        ops = [(0, "", k, b"".join(byte(k + i) for i in range(ln))) for k, ln in segs]
        ops.append((0, "", 0, byte(0)))                     # the hole fills: all delivered
        ops.append((0, "F", N + 1, b""))
        seeds["ooo-" + name] = blob(0, ops)
    # four connections taking turns, falling, never filled: held to the end,
    # under tiny byte caps (bit 0) and tiny piece caps (bit 2)
    n4 = N // 4
    ops = [(c, "", k, byte(k)) for k, _ in orders(n4)["falling"] for c in range(4)]
    seeds["ooo-falling-4conns"] = blob(0, ops)
    seeds["ooo-falling-4conns-tiny-caps"] = blob(1, ops)
    seeds["ooo-falling-4conns-tiny-piece-caps"] = blob(4, ops)
    ops = [(c, "", k, byte(k)) for k, _ in orders(n4)["interleaved"] for c in range(4)]
    seeds["ooo-interleaved-4conns-tiny-piece-caps"] = blob(4, ops)
    # a FIN in the middle of a joined piece, then the hole fills
    ops = [(0, "", k, byte(k)) for k in range(1, N)] + [(0, "F", N // 2, b""), (0, "", 0, byte(0))]
    seeds["ooo-rising-fin-inside"] = blob(0, ops)
    for name, data in seeds.items():
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
