#!/usr/bin/env python3
"""Compares corscope's HTTP transactions with Zeek's http.log baselines.

For every row of tests/zeek/INDEX.tsv (the vendored Zeek corpus): run
`corscope -r TRACE -o json --all`, take (client, client port, server, server
port, method, host, uri, status) of each transaction, and match them against
the same fields of Zeek's http.log as multisets.  Every difference must be
listed in tests/zeek/explained.tsv (trace, side, the tuple, why); an
unexplained difference, or an explained one that no longer happens, fails.

Usage: compare.py [--corpus DIR] [--bin ./corscope] [--report] [--min-matched N]
"""
import argparse
import collections
import gzip
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


KEYS = ("id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "method", "host", "uri", "status_code")


def zeek_rows(path):
    """Rows of a Zeek log as tuples over the KEYS it has, and those keys.
    Baselines are either full logs (#fields) or zeek-cut output (a plain
    header row with a subset of the columns)."""
    fields = None
    rows = []
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#fields"):
                fields = line.split("\t")[1:]
                continue
            if line.startswith("#") or not line:
                continue
            if fields is None:
                fields = line.split("\t")
                continue
            rows.append(dict(zip(fields, line.split("\t"))))
    keys = [k for k in KEYS if fields and k in fields]
    return [project(r, keys) for r in rows], keys


def project(rec, keys):
    out = []
    for k in keys:
        v = rec.get(k)
        if v is None or v == "-" or v == "" or (k == "status_code" and str(v) == "None"):
            v = "-"
        elif k == "status_code" and str(v) == "0":
            v = "0.9"   # answered without a status line (HTTP/0.9), not unanswered
        out.append(str(v))
    return tuple(out)


def unescape_zeek(s):
    """Zeek writes non-printable bytes as \\xNN; turn them back into bytes."""
    if s == "-":
        return None
    out = bytearray()
    i = 0
    b = s.encode("utf-8", "surrogateescape")
    while i < len(b):
        if b[i:i + 2] == b"\\x" and i + 4 <= len(b):
            try:
                out.append(int(b[i + 2:i + 4], 16))
                i += 4
                continue
            except ValueError:
                pass
        out.append(b[i])
        i += 1
    return out.decode("latin-1")


def json_to_latin1(v):
    """Our JSON escapes invalid UTF-8 bytes as \\u00XX: map back to bytes.
    An empty string is what Zeek writes as "(empty)" (set but empty), as
    opposed to "-" (not set, our null)."""
    if v is None:
        return None
    if v == "":
        return "(empty)"
    try:
        return v.encode("latin-1").decode("latin-1")
    except UnicodeEncodeError:
        return v.encode("utf-8").decode("latin-1")


def corscope_rows(binary, trace):
    data = None
    if trace.endswith(".gz"):
        with gzip.open(trace, "rb") as f:
            data = f.read()
        cmd = [binary, "-r", "-", "-o", "json", "--all"]
    else:
        cmd = [binary, "-r", trace, "-o", "json", "--all"]
    p = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    rows = []
    summary = None
    for line in p.stdout.decode("utf-8").splitlines():
        obj = json.loads(line)   # must be valid JSON, whatever the input bytes
        if obj["type"] == "summary":
            summary = obj
            continue
        if obj.get("kind") == "connection":
            continue    # a connection that carried no request: no transaction for Zeek
        rows.append({"id.orig_h": obj["src"], "id.orig_p": obj["sport"], "id.resp_h": obj["dst"],
                     "id.resp_p": obj["dport"], "method": json_to_latin1(obj["method"]),
                     "host": json_to_latin1(obj["host"]), "uri": json_to_latin1(obj["uri"]),
                     "status_code": obj["status"]})
    if summary is None:
        raise RuntimeError(f"{trace}: no summary line (exit {p.returncode}): {p.stderr.decode()[:300]}")
    return rows, p.returncode


def load_explained(path):
    explained = {}
    if not os.path.exists(path):
        return explained
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            test, side, tup, why = parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else ""
            explained.setdefault(test, []).append((side, tup, why))
    return explained


def fmt(t):
    return "|".join(t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=HERE)
    ap.add_argument("--bin", default=os.path.join(ROOT, "corscope"))
    ap.add_argument("--report", action="store_true", help="print the per-trace table")
    # Matches only ever grow: 89 since an HTTP/0.9 request line followed by
    # its empty line ("GET /\r\n\r\n") is read as 0.9 and its answer kept
    # (http-09-content-length-confusion, core.vlan-mpls: 87 before).
    ap.add_argument("--min-matched", type=int, default=89)
    args = ap.parse_args()
    index = os.path.join(args.corpus, "INDEX.tsv")
    if not os.path.exists(index):
        print(f"zeek corpus not found at {args.corpus}")
        return 1
    explained = load_explained(os.path.join(HERE, "explained.tsv"))
    failures = 0
    total_zeek = total_ours = total_match = 0
    with open(index) as f:
        next(f)
        for line in f:
            test, trace, baseline = line.rstrip("\n").split("\t")
            zrows, keys = zeek_rows(os.path.join(args.corpus, baseline))
            orecs, rc = corscope_rows(args.bin, os.path.join(args.corpus, trace))
            orows = [project(r, keys) for r in orecs]
            zc, oc = collections.Counter(zrows), collections.Counter(orows)
            only_zeek = list((zc - oc).elements())
            only_ours = list((oc - zc).elements())
            matched = sum((zc & oc).values())
            total_zeek += len(zrows); total_ours += len(orows); total_match += matched
            exp = explained.get(test, [])
            exp_set = {(s, t) for s, t, _ in exp}
            diffs = [("zeek", fmt(t)) for t in only_zeek] + [("ours", fmt(t)) for t in only_ours]
            unexplained = [d for d in diffs if d not in exp_set]
            stale = [e for e in exp_set if e not in set(diffs)]
            ok = not unexplained and not stale and rc in (0,)
            if args.report or not ok:
                print(f"{'ok  ' if ok else 'FAIL'} {test}: zeek {len(zrows)}, corscope {len(orows)}, "
                      f"agree {matched}, explained differences {len(diffs) - len(unexplained)}")
            for side, t in unexplained:
                print(f"    unexplained: only in {side}: {t}")
            for side, t in stale:
                print(f"    stale explanation (no longer differs): {side}: {t}")
            if rc != 0:
                print(f"    corscope exit status {rc}")
            failures += not ok
    print(f"zeek: {total_match} of {total_zeek} Zeek transactions matched, corscope reported {total_ours}; "
          f"{failures} traces with unexplained differences")
    if total_match < args.min_matched:
        print(f"FAIL: {total_match} matches, fewer than the {args.min_matched} reached before")
        failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
