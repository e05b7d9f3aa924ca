#!/usr/bin/env python3
"""Regenerates the TLS fixtures in tests/tls/ (committed; run by hand).

For each case a Python ssl server on loopback answers one HTTP/1.1 request
from a client (`openssl s_client`, which can pin TLS 1.3 suites, or Python's
ssl for resumption) through a tiny relay that records every chunk each side
sent, in order.  Outputs per case:
  NAME.stream  chunks: 1 byte direction (0 client, 1 server), 4 bytes big-endian
               length, the bytes; one chunk per recv() of the relay
  NAME.keys    the NSS key log the client wrote
and once: http_request.bin, http_response.bin (what was sent inside TLS).

  python3 tests/tls/make_fixtures.py [OUTDIR [CASE...]]
"""
import os
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
REQUEST = (b"GET /api/data HTTP/1.1\r\nHost: api.example\r\n"
           b"Origin: https://app.example\r\nAccept: */*\r\n\r\n")
BODY = b'{"ok":true}\n'
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Access-Control-Allow-Origin: https://app.example\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(BODY)) + BODY
SSL_OP_NO_ENCRYPT_THEN_MAC = 1 << 19   # OpenSSL's value; Python has no name for it

# name, TLS version, OpenSSL cipher (1.2) or ciphersuite (1.3), extra
CASES = [
    ("tls13_aes128gcm", "1.3", "TLS_AES_128_GCM_SHA256", {}),
    ("tls13_aes256gcm", "1.3", "TLS_AES_256_GCM_SHA384", {}),
    ("tls13_chacha20", "1.3", "TLS_CHACHA20_POLY1305_SHA256", {}),
    ("tls13_keyupdate", "1.3", "TLS_AES_128_GCM_SHA256", {"keyupdate": True}),
    ("tls12_aes128gcm", "1.2", "ECDHE-ECDSA-AES128-GCM-SHA256", {}),
    ("tls12_aes256gcm", "1.2", "ECDHE-ECDSA-AES256-GCM-SHA384", {}),
    ("tls12_chacha20", "1.2", "ECDHE-ECDSA-CHACHA20-POLY1305", {}),
    ("tls12_cbc_sha256_etm", "1.2", "ECDHE-ECDSA-AES128-SHA256", {}),
    ("tls12_cbc_sha1", "1.2", "ECDHE-ECDSA-AES256-SHA", {"no_etm": True}),
    ("tls12_resume", "1.2", "ECDHE-ECDSA-AES128-GCM-SHA256", {"resume": True}),
    ("tls13_resume", "1.3", None, {"resume": True}),
]


def make_cert(d):
    key, crt = os.path.join(d, "k.pem"), os.path.join(d, "c.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", crt, "-days", "3650", "-subj", "/CN=api.example"],
                   check=True, capture_output=True)
    return crt, key


def server_ctx(crt, key, version, cipher, extra):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    v = ssl.TLSVersion.TLSv1_3 if version == "1.3" else ssl.TLSVersion.TLSv1_2
    ctx.minimum_version = ctx.maximum_version = v
    if version == "1.2" and cipher:
        ctx.set_ciphers(cipher)
    if extra.get("no_etm"):
        ctx.options |= SSL_OP_NO_ENCRYPT_THEN_MAC
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def serve(ctx, lsock, n_conns, delay):
    for _ in range(n_conns):
        conn, _ = lsock.accept()
        with ctx.wrap_socket(conn, server_side=True) as s:
            buf = b""
            while b"\r\n\r\n" not in buf:
                d = s.recv(4096)
                if not d:
                    break
                buf += d
            # Reading again (until a timeout) lets OpenSSL process a client
            # KeyUpdate, so that its answer (update_not_requested) and the
            # new keys cover the response.
            s.settimeout(delay)
            try:
                s.recv(4096)
            except (socket.timeout, ssl.SSLError, OSError):
                pass
            s.settimeout(None)
            s.sendall(RESPONSE)
            try:
                s.unwrap()   # close_notify
            except (ssl.SSLError, OSError):
                pass


def relay(lsock, server_port, record, chunks):
    """Accepts one client, forwards both ways, appends (dir, bytes) if record."""
    c, _ = lsock.accept()
    s = socket.create_connection(("127.0.0.1", server_port))
    lock = threading.Lock()

    def pump(src, dst, direction):
        while True:
            try:
                d = src.recv(65536)
            except OSError:
                d = b""
            if not d:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            if record:
                with lock:
                    chunks.append((direction, d))
            dst.sendall(d)

    t1 = threading.Thread(target=pump, args=(c, s, 0))
    t2 = threading.Thread(target=pump, args=(s, c, 1))
    t1.start(); t2.start(); t1.join(); t2.join()
    c.close(); s.close()


def listener():
    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    l.listen(4)
    return l, l.getsockname()[1]


def run_case(tmp, crt, key, name, version, cipher, extra):
    keys = os.path.join(tmp, name + ".keys")
    if os.path.exists(keys):
        os.unlink(keys)
    resume = extra.get("resume", False)
    n = 2 if resume else 1
    sl, sport = listener()
    rl, rport = listener()
    sctx = server_ctx(crt, key, version, cipher, extra)
    st = threading.Thread(target=serve, args=(sctx, sl, n, 0.5 if extra.get("keyupdate") else 0.05))
    st.start()
    chunks = []
    if resume:
        # Python's client: connection 1 (not recorded) gets a session, 2 resumes it.
        cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        cctx.check_hostname = False
        cctx.verify_mode = ssl.CERT_NONE
        cctx.set_alpn_protocols(["http/1.1"])
        v = ssl.TLSVersion.TLSv1_3 if version == "1.3" else ssl.TLSVersion.TLSv1_2
        cctx.minimum_version = cctx.maximum_version = v
        session = None
        for i in range(2):
            rt = threading.Thread(target=relay, args=(rl, sport, i == 1, chunks))
            rt.start()
            if i == 1:
                cctx.keylog_filename = keys
            with cctx.wrap_socket(socket.create_connection(("127.0.0.1", rport)),
                                  server_hostname="api.example", session=session) as s:
                s.sendall(REQUEST)
                got = b""
                while True:
                    d = s.recv(4096)
                    if not d:
                        break
                    got += d
                assert got == RESPONSE, got
                if i == 1:
                    assert s.session_reused, "session not resumed"
                session = s.session
            rt.join()
    else:
        rt = threading.Thread(target=relay, args=(rl, sport, True, chunks))
        rt.start()
        # s_client obeys its "K" command (KeyUpdate) only without -quiet /
        # -ign_eof, so that case keeps stdin open until the response is in.
        keyupdate = extra.get("keyupdate")
        args = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % rport, "-servername", "api.example",
                "-alpn", "http/1.1", "-keylogfile", keys] + ([] if keyupdate else ["-quiet"])
        args += ["-tls1_3", "-ciphersuites", cipher] if version == "1.3" else ["-tls1_2", "-cipher", cipher]
        p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(0.3)
        p.stdin.write(REQUEST)
        p.stdin.flush()
        if keyupdate:
            time.sleep(0.2)
            p.stdin.write(b"K\n")   # s_client: KeyUpdate, update_requested
            p.stdin.flush()
            time.sleep(1.5)
        out, err = p.communicate(timeout=20)
        assert (RESPONSE in out) if keyupdate else out == RESPONSE, (name, out, err)
        rt.join()
    st.join()
    sl.close(); rl.close()
    with open(os.path.join(OUT, name + ".stream"), "wb") as f:
        for direction, d in chunks:
            f.write(struct.pack(">BI", direction, len(d)) + d)
    with open(keys, "rb") as src, open(os.path.join(OUT, name + ".keys"), "wb") as dst:
        dst.write(src.read())
    print("%-24s %5d bytes, %d chunks" % (name, sum(len(d) for _, d in chunks), len(chunks)))


# Cases served by `openssl s_server`, which (unlike Python's ssl) sends
# 0-RTT tickets, reads early data and can be limited to one key-share group.
# The server prints what it receives and sends what is written to its stdin:
# RESPONSE once the request is in.
#   tls13_early_data  a first connection (not recorded) gets a ticket with
#                     -sess_out; the recorded one resumes it with -sess_in and
#                     sends the request as 0-RTT data (-early_data FILE)
#   tls13_hrr         the server only has P-256, the client's first key share
#                     is X25519: HelloRetryRequest, a second ClientHello
SERVER_CASES = ["tls13_early_data", "tls13_hrr"]


def run_openssl_server_case(tmp, crt, key, name):
    keys = os.path.join(tmp, name + ".keys")
    sess = os.path.join(tmp, name + ".sess")
    reqf = os.path.join(tmp, "request.txt")
    with open(reqf, "wb") as f:
        f.write(REQUEST)
    for p in (keys, sess):
        if os.path.exists(p):
            os.unlink(p)
    early = name == "tls13_early_data"
    sl, sport = listener()
    sl.close()   # s_server binds it itself
    rl, rport = listener()
    sargs = ["openssl", "s_server", "-accept", str(sport), "-cert", crt, "-key", key, "-tls1_3",
             "-alpn", "http/1.1", "-naccept", "2" if early else "1", "-ign_eof"]
    sargs += ["-early_data", "-no_anti_replay"] if early else ["-groups", "P-256"]
    srv = subprocess.Popen(sargs, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.5)
    cbase = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % rport, "-servername", "api.example",
             "-alpn", "http/1.1", "-tls1_3", "-ign_eof"]
    chunks = []
    if early:
        rt = threading.Thread(target=relay, args=(rl, sport, False, chunks))
        rt.start()
        c = subprocess.Popen(cbase + ["-sess_out", sess], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(1.0)          # the tickets arrive after the handshake
        c.stdin.close()
        c.terminate()
        c.wait()
        rt.join()
        assert os.path.exists(sess), "no session ticket"
    rt = threading.Thread(target=relay, args=(rl, sport, True, chunks))
    rt.start()
    cargs = cbase + ["-keylogfile", keys]
    cargs += ["-sess_in", sess, "-early_data", reqf] if early else ["-groups", "X25519:P-256"]
    c = subprocess.Popen(cargs, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.5)
    if not early:
        c.stdin.write(REQUEST)
        c.stdin.flush()
        time.sleep(0.5)
    srv.stdin.write(RESPONSE)
    srv.stdin.flush()
    time.sleep(1.0)
    c.terminate()
    out, err = c.stdout.read(), c.stderr.read()
    c.wait()
    rt.join()
    srv.terminate()
    sout = srv.stdout.read()
    srv.wait()
    rl.close()
    assert RESPONSE in out, (name, out, err)
    assert REQUEST in sout, (name, sout)
    if early:
        assert b"Early data was rejected" not in sout, sout   # the recorded one accepted it
    with open(os.path.join(OUT, name + ".stream"), "wb") as f:
        for direction, d in chunks:
            f.write(struct.pack(">BI", direction, len(d)) + d)
    with open(keys, "rb") as src, open(os.path.join(OUT, name + ".keys"), "wb") as dst:
        dst.write(src.read())
    print("%-24s %5d bytes, %d chunks" % (name, sum(len(d) for _, d in chunks), len(chunks)))


def main():
    only = sys.argv[2:]   # case names: regenerate only those
    with tempfile.TemporaryDirectory() as tmp:
        crt, key = make_cert(tmp)
        for case in CASES:
            if not only or case[0] in only:
                run_case(tmp, crt, key, *case)
        for name in SERVER_CASES:
            if not only or name in only:
                run_openssl_server_case(tmp, crt, key, name)
    with open(os.path.join(OUT, "http_request.bin"), "wb") as f:
        f.write(REQUEST)
    with open(os.path.join(OUT, "http_response.bin"), "wb") as f:
        f.write(RESPONSE)


if __name__ == "__main__":
    main()
