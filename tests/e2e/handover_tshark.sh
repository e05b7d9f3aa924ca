#!/bin/sh
# corscope's transactions across hand-overs equal tshark's view of the same
# captures (tools/handover/record.sh made them with curl, nghttp, nghttpd,
# nghttpx and a small CONNECT proxy):
#   - handover-connect.pcap (+ its key log): per client connection, the
#     CONNECT exchanges and every request inside the tunnels with its final
#     status (HTTP/1.1, h2 stream ids, over TLS or not).  tshark dissects
#     TLS inside a tunnel itself, with the key log; it does not dissect a
#     plaintext tunnel, so for those the test cuts the tunnel's bytes out of
#     tshark's own TCP reassembly (-z follow,tcp,raw), after the CONNECT
#     request and its 2xx, writes them as a new connection to port 80, and
#     lets tshark dissect that (HTTP/1 or h2 with prior knowledge);
#   - handover-httpsproxy.pcap (+ key log): the proxy itself over TLS.
#     tshark decrypts the proxy connection and dissects the CONNECT, not
#     what is inside; the test cuts the tunnel out of tshark's decrypted
#     stream (-z follow,tls,raw) the same way and lets tshark dissect it
#     as a connection of its own (TLS inside TLS decrypted with the same
#     key log, on port 443);
#   - handover-h2c.pcap: tshark follows the Upgrade to h2c itself; the
#     HTTP/1 request answered 101 is stream 1, whose :status tshark shows
#     in the h2 HEADERS, which is the one transaction corscope reports.
# Each transaction is (method, target, final status, h2 stream id or 0).
cd "$(dirname "$0")/../.." || exit 2
command -v tshark >/dev/null 2>&1 || { echo "skip: tshark not installed"; exit 77; }
BIN=${CORSCOPE:-./corscope}
[ -x "$BIN" ] || { echo "no ./corscope: run make first"; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$BIN" "$tmp" <<'PY'
import collections, json, re, struct, subprocess, sys
binary, tmp = sys.argv[1], sys.argv[2]
PROXY, H2C, TLSPROXY = 18930, 18935, 18937   # the captures' server ports (record.sh)

def corscope(pcap, extra):
    out = subprocess.run([binary, "-r", pcap, "-o", "json", "--all"] + extra, check=True,
                         capture_output=True, text=True).stdout
    got = collections.defaultdict(list)
    for l in out.splitlines():
        if not l.startswith('{"type":"http"'):
            continue
        e = json.loads(l)
        got[e["sport"]].append((e["method"], e["uri"], e["status"], e.get("stream", 0)))
    return got

def dissect(pcap, args, server_port):
    """tshark -V: per client port, the requests with their final status."""
    text = subprocess.run(["tshark", "-r", pcap, "-V"] + args, check=True,
                          capture_output=True, text=True).stdout
    reqs = collections.defaultdict(list)      # client -> [[method, uri, status, stream]]
    by_frame, h2 = {}, {}
    frame = client = sid = None
    in_req = None
    for line in text.splitlines():
        m = re.match(r"Frame (\d+):", line)
        if m:
            frame, sid, in_req = int(m.group(1)), None, None
            continue
        m = re.match(r"Transmission Control Protocol, Src Port: (\d+), Dst Port: (\d+)", line)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            client = b if a == server_port else a
            continue
        m = re.match(r"\s*Stream: (\w+), Stream ID: (\d+)", line)
        if m:
            sid = int(m.group(2)) if m.group(1) == "HEADERS" else None
            continue
        m = re.match(r"\s*Header: :(method|path|status): (\S*)", line)
        if m and sid is not None:
            t = h2.setdefault((client, sid), [None, None, None, sid])
            if m.group(1) == "method": t[0] = m.group(2)
            elif m.group(1) == "path": t[1] = m.group(2)
            elif int(m.group(2)) >= 200: t[2] = int(m.group(2))
            continue
        m = re.match(r"\s+Request Method: (\S+)$", line)
        if m and sid is None:
            in_req = [m.group(1), None, None, 0]
            reqs[client].append(in_req)
            by_frame[(client, frame)] = in_req
            continue
        m = re.match(r"\s+Request URI: (\S+)$", line)
        if m and in_req is not None and in_req[1] is None:
            in_req[1] = m.group(1)
            continue
        m = re.match(r"\s+Status Code: (\d+)$", line)
        if m and sid is None:
            status = int(m.group(1))
            continue
        m = re.match(r"\s+\[Request in frame: (\d+)\]", line)
        if m and sid is None and (client, int(m.group(1))) in by_frame:
            r = by_frame[(client, int(m.group(1)))]
            if status >= 200 or status == 101:
                r[2] = status
    # h2c: the request answered 101 is stream 1 (its status is h2's)
    for (c, s), t in h2.items():
        if s == 1 and t[0] is None:
            up = [r for r in reqs[c] if r[2] == 101]
            if up:
                reqs[c].remove(up[0])
                t[0], t[1] = up[0][0], up[0][1]
        reqs[c].append(t)
    return reqs

def follow(pcap, args, stream, proto="tcp", server_port=None):
    """tshark's reassembled (proto tls: decrypted) bytes of a TCP stream:
    client port and [(dir, bytes)] (dir 0: from the client)."""
    text = subprocess.run(["tshark", "-r", pcap, "-q", "-z", "follow,%s,raw,%d" % (proto, stream)] + args,
                          check=True, capture_output=True, text=True).stdout
    m = re.search(r"Node 0: [^\n]*:(\d+)\n", text)
    if not m:
        return None, []
    node0 = int(m.group(1))
    # Node 0 speaks first in tcp's output; tls's may name the server first
    # (and Node 1 without a port): lines with a tab are Node 1's
    flip = server_port is not None and node0 == server_port
    client = node0
    if flip:
        client = follow(pcap, args, stream)[0]
    chunks = []
    for line in text.split("Node 1:", 1)[1].splitlines()[1:]:
        if line.startswith("====") or not line.strip():
            continue
        d = 1 if line.startswith("\t") else 0
        chunks.append((d ^ flip, bytes.fromhex(line.strip())))
    return client, chunks

def cut_tunnel(chunks, tls_too=False):
    """The chunks after the CONNECT request and its 2xx answer; None when
    the stream is no tunnel, or a TLS one unless tls_too."""
    whole = [b"".join(c for d, c in chunks if d == k) for k in (0, 1)]
    if not whole[0].startswith(b"CONNECT ") or b"\r\n\r\n" not in whole[1]:
        return None
    status = int(whole[1].split(b" ", 2)[1])
    if status // 100 != 2:
        return None
    skip = [whole[0].index(b"\r\n\r\n") + 4, whole[1].index(b"\r\n\r\n") + 4]
    out = []
    for d, c in chunks:
        k = min(skip[d], len(c))
        skip[d] -= k
        if c[k:]:
            out.append((d, c[k:]))
    if not out or (out[0][1][:1] == b"\x16" and not tls_too):   # TLS: tshark dissects it in place
        return None
    return out

def write_pcap(path, chunks, port=80):
    """chunks as one TCP connection 10.0.0.1:40000 -> 10.0.0.2:port (raw IPv4)."""
    def csum(b):
        if len(b) % 2: b += b"\0"
        s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
        while s >> 16: s = (s & 0xffff) + (s >> 16)
        return ~s & 0xffff
    ips = [bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])]
    ports, seq = [40000, port], [1000, 5000]
    recs = []
    def seg(d, flags, data=b""):
        tcp = struct.pack("!HHIIBBHHH", ports[d], ports[1 - d], seq[d], seq[1 - d], 5 << 4,
                          flags, 65535, 0, 0) + data
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, ips[d], ips[1 - d])
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        recs.append(ip + tcp)
        seq[d] += len(data) + (1 if flags & 3 else 0)
    seg(0, 0x02); seg(1, 0x12); seg(0, 0x10)
    for d, c in chunks:
        for i in range(0, len(c), 1400):
            seg(d, 0x18, c[i:i + 1400])
    seg(0, 0x11); seg(1, 0x11)
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
        for i, r in enumerate(recs):
            f.write(struct.pack("<IIII", i, 0, len(r), len(r)) + r)

failed = False
def compare(name, ours, theirs):
    global failed
    n = 0
    for c in sorted(set(ours) | set(theirs), key=repr):
        a = sorted(ours.get(c, []), key=repr)
        b = sorted((tuple(x) for x in theirs.get(c, [])), key=repr)
        if a != b:
            failed = True
            print("FAIL %s, client port %d\n  corscope: %s\n  tshark:   %s" % (name, c, a, b))
        n += len(a)
    print("%s %s: %d transactions on %d connections" % ("ok" if not failed else "..", name, n,
                                                           len(set(ours) | set(theirs))))
    return n

# --- CONNECT
pcap, keys = "pcaps/handover-connect.pcap", "pcaps/handover-connect.keys"
targs = ["-o", "tls.keylog_file:" + keys, "-d", "tcp.port==%d,http" % PROXY]
ours = corscope(pcap, ["--keylog", keys])
theirs = dissect(pcap, targs, PROXY)
n_streams = len(subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-e", "tcp.stream",
                                "-Y", "tcp.flags.syn==1 && tcp.flags.ack==0"],
                               check=True, capture_output=True, text=True).stdout.split())
plain = 0
for s in range(n_streams):
    client, chunks = follow(pcap, targs, s)
    inner = cut_tunnel(chunks) if client else None
    if inner is None:
        continue
    plain += 1
    p = "%s/tunnel%d.pcap" % (tmp, s)
    write_pcap(p, inner)
    # tshark's partial view of the tunnel in place (it takes the first
    # request after the 200 for HTTP, never its answer) gives way to its
    # view of the tunnel's bytes on their own
    theirs[client] = [r for r in theirs[client] if r[0] == "CONNECT"]
    for r in dissect(p, ["-d", "tcp.port==80,http"], 80)[40000]:
        theirs[client].append(r)
assert plain >= 2, "expected the plaintext HTTP/1 and h2 tunnels, found %d" % plain
# the tunnelled transactions are all there, not just the CONNECTs
assert sum(1 for v in ours.values() for t in v if t[0] != "CONNECT") >= 7, ours
compare(pcap, ours, theirs)

# --- HTTPS proxy
pcap, keys = "pcaps/handover-httpsproxy.pcap", "pcaps/handover-httpsproxy.keys"
targs = ["-o", "tls.keylog_file:" + keys, "-d", "tcp.port==%d,tls" % TLSPROXY]
ours = corscope(pcap, ["--keylog", keys])
theirs = collections.defaultdict(list)
for c, v in dissect(pcap, targs, TLSPROXY).items():
    theirs[c] = [r for r in v if r[0] == "CONNECT"]   # the rest is inside the tunnels
n_streams = len(subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-e", "tcp.stream",
                                "-Y", "tcp.flags.syn==1 && tcp.flags.ack==0"],
                               check=True, capture_output=True, text=True).stdout.split())
inner_tls = 0
for s in range(n_streams):
    client, chunks = follow(pcap, targs, s, "tls", TLSPROXY)
    inner = cut_tunnel(chunks, True) if client else None
    assert inner, "stream %d: no tunnel in tshark's decrypted stream" % s
    is_tls = inner[0][1][:1] == b"\x16"
    inner_tls += is_tls
    p = "%s/proxied%d.pcap" % (tmp, s)
    write_pcap(p, inner, 443 if is_tls else 80)
    args = ["-o", "tls.keylog_file:" + keys, "-d", "tcp.port==443,tls", "-d", "tcp.port==80,http"]
    theirs[client] += dissect(p, args, 443 if is_tls else 80)[40000]
assert inner_tls == 1, "expected one TLS-in-TLS tunnel"
# each request carries the TLS of its own tunnel (not the proxy's, which
# has no SNI) and a plain one inside the HTTPS proxy keeps scheme http
evs = [json.loads(l) for l in subprocess.run([binary, "-r", pcap, "-o", "json", "--all", "--keylog", keys],
                                             check=True, capture_output=True, text=True).stdout.splitlines()
       if l.startswith('{"type":"http"') and '"via_connect"' in l]
tls_in = [e for e in evs if e.get("tls")]
assert len(tls_in) == 1 and tls_in[0]["tls"]["sni"] == "api.handover.test", tls_in
plain = [e for e in evs if not e.get("tls")]
assert len(plain) == 1 and "at http://api.handover.test:" in plain[0]["message"], plain
assert sum(1 for v in ours.values() for t in v if t[0] != "CONNECT") == 2, ours
compare(pcap, ours, theirs)

# --- h2c
pcap = "pcaps/handover-h2c.pcap"
ours = corscope(pcap, [])
theirs = dissect(pcap, ["-d", "tcp.port==%d,http" % H2C], H2C)
assert any(t[3] == 1 for v in ours.values() for t in v), "no h2 stream 1 from the upgrade"
compare(pcap, ours, theirs)
sys.exit(1 if failed else 0)
PY
