#!/bin/sh
# corscope's HTTP/2 transactions equal tshark's: on each cleartext h2
# capture, every stream with a request HEADERS is one corscope transaction
# with the same connection and stream id, :method, :path and final :status (none when the
# server reset the stream: corscope's end is then "stream-reset").
# tshark is an independent dissector (Wireshark's, not nghttp2's inflater).
cd "$(dirname "$0")/../.." || exit 2
command -v tshark >/dev/null 2>&1 || { echo "skip: tshark not installed"; exit 77; }
BIN=./corscope
status=0
for pcap in pcaps/h2c.pcap; do
    python3 - "$BIN" "$pcap" <<'PY' || status=1
import json, re, subprocess, sys
binary, pcap = sys.argv[1], sys.argv[2]
out = subprocess.run([binary, "-r", pcap, "-o", "json", "--all"], check=True,
                     capture_output=True, text=True).stdout
events = [json.loads(l) for l in out.splitlines() if l.startswith('{"type":"http"')]
assert events, "corscope found no transaction"
ports = {e["dport"] for e in events}
ours = {}
for e in events:
    assert e.get("transport") == "h2", e
    ours[(e["sport"], e["stream"])] = (e["method"], e["uri"], e["status"],
                         e["end"] == "stream-reset")
args = ["tshark", "-r", pcap, "-O", "http2", "-V"]
for p in ports:
    args += ["-d", "tcp.port==%d,http2" % p]
text = subprocess.run(args, check=True, capture_output=True, text=True).stdout
theirs, sid, client = {}, None, None
for line in text.splitlines():
    m = re.match(r"Transmission Control Protocol, Src Port: (\d+), Dst Port: (\d+)", line)
    if m:
        a, b = int(m.group(1)), int(m.group(2))
        client = b if a in ports else a
        continue
    m = re.match(r"\s*Stream: (\w+), Stream ID: (\d+)", line)
    if m:
        kind, sid = m.group(1), (client, int(m.group(2)))
        if kind == "RST_STREAM" and sid in theirs and theirs[sid][2] is None:
            theirs[sid][3] = True
        if kind != "HEADERS":
            sid = None
        continue
    m = re.match(r"\s*Header: :(method|path|status): (\S*)", line)
    if m and sid is not None:
        t = theirs.setdefault(sid, [None, None, None, False])
        if m.group(1) == "method": t[0] = m.group(2)
        elif m.group(1) == "path": t[1] = m.group(2)
        elif int(m.group(2)) >= 200: t[2] = int(m.group(2))   # 1xx: interim
theirs = {k: tuple(v) for k, v in theirs.items()}
if ours != theirs:
    print("FAIL %s\n corscope: %s\n tshark:   %s" % (pcap, sorted(ours.items()), sorted(theirs.items())))
    sys.exit(1)
print("ok %s: %d streams agree with tshark" % (pcap, len(ours)))
PY
done
exit $status
