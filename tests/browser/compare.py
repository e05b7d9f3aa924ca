#!/usr/bin/env python3
"""Compare corscope's verdicts with real browsers' truth, scenario by scenario.

Used by tests/browser/run.py (right after a browser run) and by
tests/e2e/browser_replay.sh (on the committed pcaps/browser/ files, no browser).

Truth file (TSV, header line): scenario, method, uri, firefox_port, chromium_port,
firefox, chromium.  A truth value is "allowed", "warning:KEY" (Firefox only), a
Firefox reason key without its numeric suffix, a Chromium CorsError name, or a
Chromium net error ("net::ERR_...").

corscope's outcome for a scenario and one browser is read from that browser's
own capture: the first transaction (in capture order) whose URI belongs to the
scenario (/s/NAME or /s/NAME/...) and that this browser's view blocks gives the
reason; otherwise the first warning; otherwise "allowed" ("n/a", a same-origin
request, counts as allowed).

The credentials mode corscope gives the first actual request of a scenario
(its "credentials" key) is checked against the mode the page used (server.py:
call.cred → include, else omit): it may be "unknown", never the other mode,
and for a scenario marked credentials_known (the cookie-same-site-* ones) it
must be the page's.

A browser sends every preflight its own rules ask for (or has one cached,
which corscope says): corscope's note that a request needed a preflight
that none covers (its CORS-safelist model stricter than the browser's) is a
disagreement too.

Usage: compare.py TRUTH.tsv firefox=PCAP chromium=PCAP [--corscope BIN] [--keylog FILE]...
Exit 1 on any disagreement.
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server import CONN_PORTS, SCENARIOS  # noqa: E402


def scenario_of(uri):
    if not uri or not uri.startswith("/s/"):
        return None
    return uri[3:].split("?", 1)[0].split("/", 1)[0]


def corscope_events(pcap, binary, extra=()):
    """corscope's JSON events for one capture; `extra` are more arguments
    (e.g. ["--keylog", KEYS] for a capture of TLS traffic)."""
    p = subprocess.run([binary, "-r", pcap, "-o", "json", "--all", *extra],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if p.returncode not in (0, 3):
        raise SystemExit(f"{pcap}: corscope exit {p.returncode}: {p.stderr.decode()}")
    return [json.loads(l) for l in p.stdout.decode().splitlines() if l.startswith("{")]


def view_outcome(ev, browser):
    view = ev.get(browser)
    if view is None:
        v = ev.get("verdict") or "n/a"
        return "allowed" if v in ("n/a", "allowed") else (ev.get("reason") or v)
    v = view.get("verdict")
    if v in ("allowed", "n/a", None):
        return "allowed"
    if v == "unknown":
        return "unknown"
    if v == "warning":
        return "warning:" + (view.get("reason") or "?")
    if browser == "chromium":
        return view.get("error") or view.get("reason") or "?"
    return view.get("reason") or "?"


def scenario_outcomes(events, browser):
    """scenario -> (outcome, client port of the first transaction).  A
    connection that never carried a request (kind "connection") belongs to
    the scenario whose failing port it went to (server.CONN_PORTS)."""
    out = {}
    for ev in events:
        if ev.get("type") != "http":
            continue
        if ev.get("kind") == "connection":
            name = CONN_PORTS.get(ev.get("dport"))
        else:
            name = scenario_of(ev.get("uri"))
        if not name:
            continue
        o = view_outcome(ev, browser)
        cur = out.get(name)
        if cur is None:
            out[name] = [o, ev.get("sport")]
        elif cur[0] in ("allowed",) and o != "allowed" or cur[0].startswith("warning:") and o not in ("allowed",) and not o.startswith("warning:"):
            cur[0] = o
    return out


def scenario_credentials(events):
    """scenario -> corscope's credentials mode of its first actual request."""
    out = {}
    for ev in events:
        if ev.get("type") != "http" or ev.get("kind") not in ("actual", "simple"):
            continue
        name = scenario_of(ev.get("uri"))
        if name and name not in out:
            out[name] = ev.get("credentials") or "unknown"
    return out


# explain.c, CS_TL_UNEXPLAINED: the request needed a preflight none covered
UNEXPLAINED_NOTE = "Needs a preflight, but none was seen"


def scenario_unexplained(events):
    """The scenarios with a request corscope says needed a preflight that
    the browser neither sent nor had cached."""
    return {scenario_of(ev.get("uri")) for ev in events
            if ev.get("type") == "http" and UNEXPLAINED_NOTE in (ev.get("note") or "")}


def credentials_problem(name, have):
    """Why corscope's mode `have` for scenario `name` is wrong, or None."""
    s = SCENARIOS.get(name)
    if not s or have is None:
        return None
    want = "include" if s["call"].get("cred") else "omit"
    if have == want or (have == "unknown" and not s.get("credentials_known")):
        return None
    return f"credentials {have}, the page used {want}"


def read_truth(path):
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        return [dict(zip(header, l.rstrip("\n").split("\t"))) for l in f if l.strip()]


def compare(truth_rows, pcaps, binary, out=sys.stdout, extra=None):
    """pcaps: browser -> pcap path; extra: browser -> more corscope arguments.
    Returns the number of disagreements."""
    extra = extra or {}
    evs = {b: corscope_events(p, binary, extra.get(b, ())) for b, p in pcaps.items()}
    got = {b: scenario_outcomes(evs[b], b) for b in pcaps}
    creds = {b: scenario_credentials(evs[b]) for b in pcaps}
    unexplained = {b: scenario_unexplained(evs[b]) for b in pcaps}
    bad = 0
    cols = list(pcaps)
    out.write("%-36s" % "scenario" + "".join("%-46s%-46s" % (f"{b} (browser)", "corscope") for b in cols) + "\n")
    for row in truth_rows:
        line = "%-36s" % row["scenario"]
        mark = ""
        for b in cols:
            want = row[b]
            have = got[b].get(row["scenario"], ["(not on the wire)"])[0]
            line += "%-46s%-46s" % (want, have)
            if want != have:
                mark = "  <-- DIFFERS"
            why = credentials_problem(row["scenario"], creds[b].get(row["scenario"]))
            if why:
                mark += f"  <-- {b}: {why}"
            if row["scenario"] in unexplained[b]:
                mark += f"  <-- {b}: corscope expects a preflight the browser did not send"
        if mark:
            bad += 1
        out.write(line.rstrip() + mark + "\n")
    out.write(f"browser comparison: {len(truth_rows) - bad} agree, {bad} differ\n")
    return bad


def main(argv):
    binary = os.path.join(ROOT, "corscope")
    if "--corscope" in argv:
        i = argv.index("--corscope")
        binary = argv[i + 1]
        del argv[i:i + 2]
    keylogs = []
    while "--keylog" in argv:
        i = argv.index("--keylog")
        keylogs += ["--keylog", argv[i + 1]]
        del argv[i:i + 2]
    truth = read_truth(argv[0])
    pcaps = dict(a.split("=", 1) for a in argv[1:])
    return 1 if compare(truth, pcaps, binary, extra={b: keylogs for b in pcaps}) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
