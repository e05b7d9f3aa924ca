#!/usr/bin/env python3
"""Runs corscope over every capture of the Zeek corpus (traces/**), in JSON
and text, and checks: no crash (signal), no sanitizer report, exit 0 (or 2
for a capture that is itself damaged, with a one-line reason), and JSON lines
that a real JSON parser accepts, ending with a summary object."""
import gzip
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "traces")
BIN = os.path.join(ROOT, "corscope")


def main():
    files = []
    for d, _, names in os.walk(CORPUS):
        files += [os.path.join(d, n) for n in names]
    files.sort()
    if not files:
        print(f"robustness: no captures under {CORPUS}")
        return 1
    bad = 0
    for path in files:
        data = None
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                data = f.read()
            src = "-"
        else:
            src = path
        for fmt in ("json", "text"):
            p = subprocess.run([BIN, "-r", src, "-o", fmt, "--all", "--color=never"], input=data,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
            err = p.stderr.decode("utf-8", "replace")
            problem = None
            if p.returncode < 0 or p.returncode >= 128:
                problem = f"killed by signal / crashed (status {p.returncode})"
            elif "runtime error" in err or "Sanitizer" in err or "LeakSanitizer" in err:
                problem = "sanitizer report: " + err[:500]
            elif p.returncode not in (0, 2):
                problem = f"exit status {p.returncode}"
            elif p.returncode == 2 and (len(err.strip().splitlines()) != 1):
                problem = "exit 2 without exactly one error line: " + err[:300]
            elif fmt == "json":
                lines = p.stdout.decode("utf-8").splitlines()
                try:
                    objs = [json.loads(l) for l in lines]
                    if not objs or objs[-1].get("type") != "summary":
                        problem = "no summary object at the end"
                except (ValueError, UnicodeDecodeError) as e:
                    problem = f"invalid JSON: {e}"
            if problem:
                bad += 1
                print(f"FAIL {os.path.relpath(path, CORPUS)} ({fmt}): {problem}")
    print(f"robustness: {len(files)} captures, {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
