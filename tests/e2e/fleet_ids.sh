#!/bin/sh
# The ids that let a fleet's events be merged (issue 18 section 2):
# - community_id equals tshark's own Community ID (Wireshark's implementation
#   of the spec, independent of ours) for the frame of every event's request,
#   on IPv4 and IPv6 captures, TLS and h2 included;
# - event_id is the same on a second run over the same input, distinct for
#   every event of a run, and changes with --sensor;
# - the sensor names every event and the summary (default: the host name).
cd "$(dirname "$0")/../.." || exit 2
command -v tshark >/dev/null 2>&1 || { echo "skip: tshark not installed"; exit 77; }
BIN=./corscope
exec python3 - "$BIN" <<'PY'
import json, socket, subprocess, sys
binary = sys.argv[1]
cases = [("pcaps/demo.pcap", []), ("pcaps/ugly-tcp.pcap", []), ("pcaps/h2c.pcap", []),
         ("pcaps/browser/firefox-h2.pcap", ["--keylog", "pcaps/browser/firefox-h2.keys"])]

def run(pcap, extra, sensor=None):
    args = [binary, "-r", pcap, "-o", "json", "--all"] + extra
    if sensor:
        args += ["--sensor", sensor]
    out = subprocess.run(args, capture_output=True, text=True)
    assert out.returncode in (0, 3), out.stderr
    lines = [json.loads(l) for l in out.stdout.splitlines()]
    return [l for l in lines if l["type"] == "http"], lines[-1]

checked = 0
for pcap, extra in cases:
    events, summary = run(pcap, extra, "s1")
    assert events, pcap + ": no events"
    assert summary["type"] == "summary" and summary["sensor"] == "s1", summary
    theirs = {}
    out = subprocess.run(["tshark", "--enable-protocol", "communityid", "-r", pcap,
                          "-T", "fields", "-e", "frame.number", "-e", "communityid"],
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        f = line.split("\t")
        if len(f) == 2 and f[1]:
            theirs[int(f[0])] = f[1]
    ids = set()
    for e in events:
        assert e["sensor"] == "s1"
        want = theirs.get(e["frame_req"])
        assert want == e["community_id"], (pcap, e["frame_req"], e["community_id"], want)
        assert len(e["event_id"]) == 32 and e["event_id"] not in ids, (pcap, e)
        ids.add(e["event_id"])
        checked += 1
    again, _ = run(pcap, extra, "s1")
    assert [e["event_id"] for e in again] == [e["event_id"] for e in events], pcap + ": not stable"
    other, _ = run(pcap, extra, "s2")
    assert not ids & {e["event_id"] for e in other}, pcap + ": --sensor does not change event_id"

events, summary = run("pcaps/demo.pcap", [])
host = socket.gethostname()
assert all(e["sensor"] == host for e in events) and summary["sensor"] == host, (host, summary)
bad = subprocess.run([binary, "-r", "pcaps/demo.pcap", "--sensor", ""], capture_output=True, text=True)
assert bad.returncode == 1 and bad.stderr.count("\n") == 1, bad.stderr
print("fleet_ids: %d events: community_id equals tshark's, event_id stable and unique" % checked)
PY
