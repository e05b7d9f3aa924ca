#!/usr/bin/env python3
"""Checks corscope's verdicts on the generated scenario captures against
pcaps/scenarios.tsv (file, client port, scenario, expected Firefox outcome,
expected Chromium outcome, method, URI).

Firefox column: "allowed", "n/a" (not judged: same-origin or no-cors),
"unknown", "warning:KEY", "folded" (an automatic retry, folded into the
first failure and not reported), or a Firefox reason key.
Chromium column: "allowed", "n/a", "unknown", or the CorsError / net error."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "corscope")


def run(pcap):
    p = subprocess.run([BIN, "-r", os.path.join(ROOT, "pcaps", pcap), "-o", "json", "--all"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if p.returncode not in (0, 3):
        raise SystemExit(f"{pcap}: exit {p.returncode}: {p.stderr.decode()}")
    return [json.loads(l) for l in p.stdout.decode().splitlines()]


def outcome(ev, browser):
    """(verdict, reason-or-error) of one browser for an event."""
    if ev["verdict"] in (None, "n/a") and browser not in ev:
        return "n/a"
    view = ev.get(browser)
    if view is None:
        return ev["verdict"] or "n/a"
    v = view["verdict"]
    if v in ("allowed", "n/a", "unknown"):
        return v
    if browser == "firefox":
        if v == "warning":
            return "warning:" + (view.get("reason") or "?")
        return view.get("reason") or "?"
    return view.get("error") or view.get("reason") or "?"


def main():
    rows = []
    with open(os.path.join(ROOT, "pcaps", "scenarios.tsv")) as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            rows.append(dict(zip(header, line.rstrip("\n").split("\t"))))
    events = {}
    failures = 0
    checked = 0
    used = set()
    for row in rows:
        pcap = row["file"]
        if pcap not in events:
            events[pcap] = [e for e in run(pcap) if e["type"] == "http"]
        cands = [i for i, e in enumerate(events[pcap])
                 if (pcap, i) not in used and str(e["sport"]) == row["client_port"]
                 and e["method"] == row["method"] and e["uri"] == row["uri"]]
        name = f"{pcap} {row['client_port']} {row['scenario']} ({row['method']} {row['uri']})"
        if row["firefox"] == "folded":
            if cands:
                print(f"FAIL {name}: a retry should be folded into the first failure, but was reported")
                failures += 1
            checked += 1
            continue
        if not cands:
            print(f"FAIL {name}: no such transaction reported")
            failures += 1
            continue
        i = cands[0]
        used.add((pcap, i))
        ev = events[pcap][i]
        got_ff, got_cr = outcome(ev, "firefox"), outcome(ev, "chromium")
        checked += 1
        if got_ff != row["firefox"] or got_cr != row["chromium"]:
            failures += 1
            print(f"FAIL {name}: want Firefox {row['firefox']} / Chromium {row['chromium']}, "
                  f"got {got_ff} / {got_cr}")
    print(f"scenarios: {checked} checked, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
