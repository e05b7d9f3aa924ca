#!/bin/sh
# Nothing dropped silently (issue 16 section 3): frames that were not decoded
# are counted by kind in the summary (JSON "not_decoded", text "N packets not
# decoded (...)"), and a capture where no TCP segment was decoded gets one
# line saying why.  The captures are generated here (tools/gen-pcap.py's
# writer and connection), so the expected counts are known exactly.
cd "$(dirname "$0")/../.." || exit 2
BIN=${BIN:-./corscope}
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 - "$tmp" <<'PY' || exit 1
import importlib.util, os, struct, sys
spec = importlib.util.spec_from_file_location("genpcap", "tools/gen-pcap.py")
g = importlib.util.module_from_spec(spec)
spec.loader.exec_module(g)
out = sys.argv[1]
A, B = b"\x02\x00\x0a\x00\x00\x01", b"\x02\x00\x0a\x00\x00\x02"
BC = b"\xff" * 6

def ether(dst, src, etype, payload):
    return dst + src + struct.pack("!H", etype) + payload

def arp(i):
    return ether(BC, A, 0x0806, struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, A,
                                            bytes([10, 0, 0, 1]), b"\0" * 6, bytes([10, 0, 0, 2 + i % 200])))

def lldp():
    tlvs = struct.pack("!HB6s", (1 << 9) | 7, 4, A) + struct.pack("!HB3s", (2 << 9) | 4, 7, b"eth") \
        + struct.pack("!HH", (3 << 9) | 2, 120) + b"\0\0"
    return ether(b"\x01\x80\xc2\x00\x00\x0e", A, 0x88CC, tlvs)

def stp():
    bpdu = b"\x42\x42\x03" + b"\0" * 35
    return b"\x01\x80\xc2\x00\x00\x00" + A + struct.pack("!H", len(bpdu)) + bpdu

def ipv4(proto, payload, src=(10, 0, 0, 1), dst=(10, 0, 0, 2)):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, proto, 0,
                    bytes(src), bytes(dst))
    ck = g.csum_final(g.csum_acc(h))
    return h[:10] + struct.pack("!H", ck) + h[12:] + payload

def udp(i):
    q = struct.pack("!HHHHHH", i, 0x0100, 1, 0, 0, 0) + b"\x07example\x03com\x00\x00\x01\x00\x01"
    return ether(B, A, 0x0800, ipv4(17, struct.pack("!HHHH", 40000 + i, 53, 8 + len(q), 0) + q))

def icmp(i):
    body = struct.pack("!BBHHH", 8, 0, 0, 7, i) + b"ping"
    body = body[:2] + struct.pack("!H", g.csum_final(g.csum_acc(body))) + body[4:]
    return ether(B, A, 0x0800, ipv4(1, body))

def write(name, frames):
    w = g.PcapWriter(os.path.join(out, name))
    for i, f in enumerate(frames):
        w.write(g.BASE_TS_US + 1000 * i, f)
    w.close()

# 1. nothing IP at all
write("arp-lldp.pcap", [arp(i) for i in range(118)] + [lldp(), lldp()])
# 2. IP, but no TCP
write("udp-icmp.pcap", [udp(i) for i in range(5)] + [icmp(i) for i in range(3)] + [arp(0), arp(1)])
# 3. a single ARP frame
write("one-arp.pcap", [arp(0)])
# 4. an HTTP exchange among ARP, STP, LLDP, DNS and ping
cap = g.Capture(os.path.join(out, "mixed.pcap"), seed=7)
for f in [arp(0), stp(), lldp(), udp(1), icmp(1), stp(), arp(1)]:
    cap.tick()
    cap.w.write(cap.t, f)
c = cap.connection(("10.0.0.1", 40001), ("10.0.0.2", 80))
c.request(b"GET /a HTTP/1.1\r\nHost: api.example\r\nOrigin: http://app.example\r\n\r\n")
c.response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nAccess-Control-Allow-Origin: *\r\n\r\nok")
c.close()
for f in [stp(), icmp(2)]:
    cap.tick()
    cap.w.write(cap.t, f)
cap.finish()
PY

# check NAME EXPECTED-not_decoded-JSON EXPECTED-text-line [ABSENT-text]
check() {
    name=$1 want_json=$2 want_text=$3
    "$BIN" -r "$tmp/$name" -o json --all >"$tmp/json" 2>"$tmp/err" || { echo "FAIL $name: json run"; cat "$tmp/err"; fail=1; return; }
    "$BIN" -r "$tmp/$name" -o text --color=never --all >"$tmp/text" 2>"$tmp/err" || { echo "FAIL $name: text run"; cat "$tmp/err"; fail=1; return; }
    got=$(tail -n 1 "$tmp/json" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin).get("not_decoded"), separators=(",", ":")))')
    if [ "$got" != "$want_json" ]; then
        echo "FAIL $name: not_decoded is $got, want $want_json"; fail=1
    fi
    if ! grep -qxF "$want_text" "$tmp/text"; then
        echo "FAIL $name: no line '$want_text' in:"; sed -n '/^Summary/,$p' "$tmp/text"; fail=1
    fi
    if [ -n "$4" ] && grep -q "$4" "$tmp/text"; then
        echo "FAIL $name: '$4' should not be printed:"; sed -n '/^Summary/,$p' "$tmp/text"; fail=1
    fi
    [ $fail -eq 0 ] && echo "ok $name: $want_text"
}

check arp-lldp.pcap '{"arp":118,"other_ethertype":2}' \
    "  Nothing decoded: none of the 120 packets was IP (118 ARP, 2 other ethertype)"
check arp-lldp.pcap '{"arp":118,"other_ethertype":2}' \
    "  120 packets not decoded (118 ARP, 2 other ethertype)"
check udp-icmp.pcap '{"arp":2,"udp":5,"icmp":3}' \
    "  Nothing decoded: none of the 10 packets was TCP (5 UDP, 3 ICMP, 2 ARP)"
check one-arp.pcap '{"arp":1}' "  Nothing decoded: the only packet was not IP (1 ARP)"
check mixed.pcap '{"arp":2,"llc":3,"other_ethertype":1,"udp":1,"icmp":2}' \
    "  9 packets not decoded (3 802.3 LLC (STP, ...), 2 ARP, 2 ICMP, 1 other ethertype, 1 UDP)" \
    "Nothing decoded"
# the HTTP exchange among them is still there
grep -q '"method":"GET","host":"api.example","uri":"/a"' "$tmp/json" ||
    grep -q '"uri":"/a"' "$tmp/json" || { echo "FAIL mixed.pcap: the GET /a transaction is missing"; fail=1; }
# a capture with every frame decoded prints neither line and no key
"$BIN" -r pcaps/demo.pcap -o json | tail -n 1 | grep -q '"not_decoded"' && { echo "FAIL demo.pcap: not_decoded printed"; fail=1; }
"$BIN" -r pcaps/demo.pcap -o text --color=never | grep -q 'not decoded\|Nothing decoded' && { echo "FAIL demo.pcap: not-decoded line printed"; fail=1; }
exit $fail
