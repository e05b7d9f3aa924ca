#!/bin/sh
# Reassembly when the capture order lies (issue 16 section 3).  One small
# HTTP exchange, after its handshake, in every order of its 7 packets:
#   R1 R2  the request in 2 segments (client)
#   SA     the server's ACK of the whole request
#   P1 P2  the response in 2 segments (server; both ACK the request)
#   CA     the client's ACK of the response
#   CF     the client's FIN (ACKs the response)
# 7! = 5040 orders, one connection each (client port 20000 + order index), in
# one capture.  An order is "required" when each direction's packets keep the
# order their sender sent them in (R1 R2 CA CF and SA P1 P2), whatever the
# interleaving of the two directions: that is what merged taps (one per
# direction, clocks apart) and capture-point reordering between directions
# produce, C(7,3) = 35 orders.  Every required order must pair the request
# with its response; the other 5005 (a direction's own packets reordered as
# well, "arbitrary") must pair at least as often as pinned below.
# Before the flow stage held back segments that acknowledge bytes not seen
# yet, 10 required and 270 arbitrary orders paired.  Now all required ones
# and 4285 arbitrary ones do; the 720 that do not are exactly the orders
# with R1 last: R2 came before it, so the request has a hole with data after
# it (a real loss looks the same) and the flow waits for at most 4 held-back
# segments (CS_FLOW_DEFER_MAX_HOLE_SEGS) before the ACK declares the hole a
# gap; there 5 (SA P1 P2 CA CF) came first.
#   tests/e2e/ack_order.sh [-v]   (-v lists the arbitrary orders that fail)
cd "$(dirname "$0")/../.." || exit 2
BIN=${BIN:-./corscope}
MIN_ARBITRARY=${MIN_ARBITRARY:-4285}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 - "$tmp/orders.pcap" "$tmp/orders.tsv" <<'PY' || exit 1
import importlib.util, itertools, sys
spec = importlib.util.spec_from_file_location("genpcap", "tools/gen-pcap.py")
g = importlib.util.module_from_spec(spec)
spec.loader.exec_module(g)
A = g.TH_ACK
REQ = b"GET /data HTTP/1.1\r\nHost: api.example\r\nOrigin: http://app.example\r\n\r\n"
RESP = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n"
        b"Access-Control-Allow-Origin: *\r\n\r\nhello world\n")
cap = g.Capture(sys.argv[1], seed=16)
names = ["R1", "R2", "SA", "P1", "P2", "CA", "CF"]
rows = []
for idx, order in enumerate(itertools.permutations(range(7))):
    c = cap.connection(("10.1.0.1", 20000 + idx), ("10.1.0.2", 80), isn=(1000 + idx * 7919, 5000000 + idx * 104729))
    c.open()
    cs, ss = c.cseq, c.sseq                      # first data byte of each side
    r, p = len(REQ) // 2, len(RESP) // 2
    pk = {
        "R1": (True, c._tcp(True, cs, ss, A, REQ[:r])),
        "R2": (True, c._tcp(True, cs + r, ss, A | g.TH_PSH, REQ[r:])),
        "SA": (False, c._tcp(False, ss, cs + len(REQ), A)),
        "P1": (False, c._tcp(False, ss, cs + len(REQ), A, RESP[:p])),
        "P2": (False, c._tcp(False, ss + p, cs + len(REQ), A | g.TH_PSH, RESP[p:])),
        "CA": (True, c._tcp(True, cs + len(REQ), ss + len(RESP), A)),
        "CF": (True, c._tcp(True, cs + len(REQ), ss + len(RESP), A | g.TH_FIN)),
    }
    seq = [names[i] for i in order]
    for n in seq:
        cap.tick()
        fc, l4 = pk[n]
        cap.emit(c, c._ip(fc, l4), fc)
    c_order = [n for n in seq if pk[n][0]]
    s_order = [n for n in seq if not pk[n][0]]
    required = c_order == ["R1", "R2", "CA", "CF"] and s_order == ["SA", "P1", "P2"]
    rows.append("%d\t%s\t%s" % (20000 + idx, " ".join(seq), "required" if required else "arbitrary"))
    cap.pause(5, 10)
cap.finish()
open(sys.argv[2], "w").write("\n".join(rows) + "\n")
PY

"$BIN" -r "$tmp/orders.pcap" -o json --all >"$tmp/json" 2>"$tmp/err" || { echo "FAIL: corscope exit"; cat "$tmp/err"; exit 1; }
python3 - "$tmp/json" "$tmp/orders.tsv" "$MIN_ARBITRARY" "$1" <<'PY'
import json, sys
paired = set()
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["type"] == "http" and o["method"] == "GET" and o["uri"] == "/data" and o["status"] == 200:
        paired.add(o["sport"])
tot = {"required": 0, "arbitrary": 0}
ok = {"required": 0, "arbitrary": 0}
lost = {"required": [], "arbitrary": []}
for row in open(sys.argv[2]):
    port, order, kind = row.rstrip("\n").split("\t")
    tot[kind] += 1
    if int(port) in paired:
        ok[kind] += 1
    else:
        lost[kind].append(order)
print("ack_order: required orders paired %d of %d; arbitrary orders paired %d of %d" %
      (ok["required"], tot["required"], ok["arbitrary"], tot["arbitrary"]))
fail = 0
for o in lost["required"]:
    print("FAIL required order not paired: " + o)
    fail = 1
if ok["arbitrary"] < int(sys.argv[3]):
    print("FAIL: fewer arbitrary orders paired than the %s reached before" % sys.argv[3])
    fail = 1
if sys.argv[4] == "-v" or fail:
    for o in lost["arbitrary"][:50 if sys.argv[4] != "-v" else None]:
        print("  arbitrary order not paired: " + o)
sys.exit(fail)
PY
