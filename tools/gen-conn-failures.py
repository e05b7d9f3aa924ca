#!/usr/bin/env python3
"""gen-conn-failures.py: pcaps/conn-failures.pcap, connections that never
carried a request, beside a successful neighbour (tools/gen-pcap.py's
writer; deterministic: the same file every run).

The browser 192.0.2.10 (it speaks HTTP to api.example, another origin than
the failing ones, so corscope reports its failures by default):
  1. GET http://api.example/v1/ok answered 200 with Access-Control-Allow-Origin
  2. refused: SYN to 198.51.100.30:3000 answered by RST+ACK, and the
     browser's automatic reconnect 0.1 s later, refused alike (folds)
  3. TLS alert: handshake with 198.51.100.50:443, ClientHello (SNI
     tls.example), the server answers with a fatal handshake_failure alert
     and closes
  4. TLS reset: 198.51.100.60:443 resets the connection after the ClientHello
  5. TLS closed: 198.51.100.70:443 closes (FIN) after the ClientHello
     (and 198.51.100.80:443, where the client closes first: not a failure)
  6. timed out: SYNs to 198.51.100.40:8080 at +0, +1, +2, +3 s (Linux 6.x's
     first retransmissions, measured), plus the backup connection browsers
     open after 250 ms (same schedule, folds); never answered
  7. 9 s after the first of those SYNs, a second successful GET
The client 192.0.2.99, which speaks no HTTP in the capture, is refused by
198.51.100.30:3000 too: left out by default, reported with --all.

The end of the capture decides the timed-out connection (default
--syn-timeout 135 s); with --syn-timeout 5 the packet at +9 s does.

Usage: gen-conn-failures.py [OUT]   (default pcaps/conn-failures.pcap)
"""
import importlib.util
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("genpcap", os.path.join(HERE, "gen-pcap.py"))
g = importlib.util.module_from_spec(spec)
spec.loader.exec_module(g)

BROWSER = "192.0.2.10"
OTHER = "192.0.2.99"
ORIGIN = "http://app.example:8080"


def client_hello(sni):
    """A TLS 1.2/1.3 ClientHello record (one cipher suite, SNI only)."""
    name = sni.encode()
    sni_ext = struct.pack("!HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    body = (b"\x03\x03" + bytes(range(32)) + b"\x00" + struct.pack("!H", 2) + b"\x13\x01" +
            b"\x01\x00" + struct.pack("!H", len(sni_ext)) + sni_ext)
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


ALERT_HANDSHAKE_FAILURE = b"\x15\x03\x03\x00\x02\x02\x28"   # fatal (2), handshake_failure (40)


def syn_again(c):
    """The client's SYN once more (a retransmission: same ISN)."""
    seg = c._tcp(True, c.cseq - 1, 0, g.TH_SYN, b"", struct.pack("!BBH", 2, 4, c.mss))
    c.cap.emit(c, c._ip(True, seg), True)


def refused(cap, client, server):
    c = cap.connection(client, server)
    c.open(syn_only=True)
    cap.tick(40, 90)
    c._send_ctl(False, g.TH_RST | g.TH_ACK)


def ok_get(cap, port, path):
    c = cap.connection((BROWSER, port), ("198.51.100.20", 80))
    c.request(g.browser_request("firefox", "GET", path, origin=ORIGIN))
    c.response(g.http_response(200, [("Access-Control-Allow-Origin", ORIGIN)], b"{}"))
    c.close()


def main(argv):
    out = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(HERE), "pcaps", "conn-failures.pcap")
    cap = g.Capture(out, seed=16)
    ok_get(cap, 50100, "/v1/ok")

    cap.pause(20, 40)
    refused(cap, (BROWSER, 50110), ("198.51.100.30", 3000))
    cap.pause(100, 100)
    refused(cap, (BROWSER, 50112), ("198.51.100.30", 3000))     # the automatic reconnect

    cap.pause(20, 40)
    c = cap.connection((BROWSER, 50120), ("198.51.100.50", 443))
    c.request(client_hello("tls.example"))
    c.response(ALERT_HANDSHAKE_FAILURE)
    c.close(by="server")

    cap.pause(20, 40)
    c = cap.connection((BROWSER, 50130), ("198.51.100.60", 443))
    c.request(client_hello("reset.example"))
    c.reset(by="server")

    cap.pause(20, 40)
    c = cap.connection((BROWSER, 50140), ("198.51.100.70", 443))
    c.request(client_hello("closed.example"))
    c.close(by="server")

    # not a failure: the client gives up first (its FIN before the server's)
    cap.pause(20, 40)
    c = cap.connection((BROWSER, 50145), ("198.51.100.80", 443))
    c.request(client_hello("gave-up.example"))
    c.close(by="client")

    cap.pause(20, 40)
    refused(cap, (OTHER, 40000), ("198.51.100.30", 3000))      # not a browser's

    # SYNs never answered: a connection and the browser's backup 250 ms later
    cap.pause(20, 40)
    t0 = cap.t
    first = cap.connection((BROWSER, 50150), ("198.51.100.40", 8080))
    first.open(syn_only=True)
    cap.t = t0 + 250000
    backup = cap.connection((BROWSER, 50152), ("198.51.100.40", 8080))
    backup.open(syn_only=True)
    for s in (1, 2, 3):
        cap.t = t0 + s * 1000000
        syn_again(first)
        cap.t = t0 + s * 1000000 + 250000
        syn_again(backup)

    cap.t = t0 + 9000000
    ok_get(cap, 50160, "/v1/later")
    cap.finish()
    print("wrote", out, cap.w.frames, "frames")


if __name__ == "__main__":
    main(sys.argv)
