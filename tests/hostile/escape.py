#!/usr/bin/env python3
"""Wire bytes that must not reach a terminal raw, for tests/e2e/terminal_escape.sh.
Standard library only.

  escape.py gen FILE            writes a capture whose Host, URI, Origin and
                                echoed response headers (Access-Control-Allow-
                                Origin, Location) carry C0, raw C1, UTF-8 C1,
                                bidi and separator controls and invalid UTF-8
  escape.py text FILE COLOR     checks a text output: strict UTF-8, no C0 but
                                \\n (and, with COLOR=1, only corscope's own
                                colour sequences), no C1, bidi or separator
                                code point, and the escapes are there
  escape.py json FILE           checks a JSON output: strict JSON, and the exact
                                wire bytes come back (KEY_hex, else KEY)"""
import importlib.util
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

CLIENT = ("192.0.2.10", 41000)
SERVER = ("198.51.100.20", 80)

# One of each class (issue 12 item 4), named for the messages.
HOSTILE = [
    b"\x1b[2J", b"\x07", b"\x08", b"\x7f",                 # C0 and DEL
    b"\x9b31m", b"\x85",                                   # raw C1 (8-bit CSI, NEL)
    b"\xc2\x9b31m", b"\xc2\x85",                           # UTF-8 C1
    b"\xe2\x80\xae", b"\xe2\x80\xaa", b"\xe2\x81\xa6",     # bidi
    b"\xe2\x81\xa9", b"\xe2\x80\x8e", b"\xe2\x80\x8f", b"\xd8\x9c",
    b"\xe2\x80\xa8", b"\xe2\x80\xa9",                      # separators
    b"caf\xe9", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xff",  # invalid
]
EVIL = b"".join(HOSTILE)
# The request target refuses C0 and DEL (http_scan.c is_target_char): the rest.
EVIL_TARGET = b"".join(h for h in HOSTILE if all(0x20 < c != 0x7f for c in h))
# Each request's (method, host, uri, origin) exactly as sent, for the JSON check.
SENT = [
    (b"GET", b"api" + EVIL + b".example", b"/p" + EVIL_TARGET + b"?q=\x9b", b"http://app" + EVIL),
    (b"GET", b"api.example", b"/latin1", b"http://caf\xe9.example"),
    (b"GET", b"api.example", b"/utf8", b"http://caf\xc3\xa9.example"),
    (b"GET", b"api.example", b"/redirect", b"http://app.example"),
    (b"GET", b"api.example", b"/cut\xe2\x82", b"http://app.example\xf0\x9f\x98"),
]


def gen(path):
    spec = importlib.util.spec_from_file_location(
        "genpcap", os.path.join(HERE, "..", "..", "tools", "gen-pcap.py"))
    g = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(g)
    cap = g.Capture(path, seed=12)
    c = cap.connection(CLIENT, SERVER)
    responses = [
        # ACAO not matching: echoed in both browsers' messages and the hint
        b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: http://x" + EVIL +
        b"\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: http://caf\xc3\xa9.example\r\n"
        b"Content-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: http://caf\xe9.example\r\n"
        b"Content-Length: 2\r\n\r\nok",
        # a redirect to another scheme: the Location is quoted
        b"HTTP/1.1 302 Found\r\nLocation: ftp://h" + EVIL + b"/f\r\n"
        b"Access-Control-Allow-Origin: *\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
    ]
    for (method, host, uri, origin), resp in zip(SENT, responses):
        c.request(method + b" " + uri + b" HTTP/1.1\r\nHost: " + host +
                  b"\r\nOrigin: " + origin + b"\r\nAccept: */*\r\n\r\n")
        c.response(resp)
    c.close()
    cap.finish()


BAD_CODEPOINT = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
# the colour sequences out_text.c writes (C_RESET ... C_CYAN)
OWN_COLOURS = re.compile("\x1b\\[(?:0|1|2|1;31|32|33|35|36)m")


def check_text(path, color):
    data = open(path, "rb").read()
    errors = []
    try:
        text = data.decode("utf-8")         # strict: no overlong, surrogate, > U+10FFFF
    except UnicodeDecodeError as e:
        sys.exit("not valid UTF-8: %s (%r)" % (e, data[max(0, e.start - 20):e.end + 20]))
    if color == "1":
        if not OWN_COLOURS.search(text):
            errors.append("colour forced, yet no colour sequence")
        text = OWN_COLOURS.sub("", text)
    for m in BAD_CODEPOINT.finditer(text):
        errors.append("raw U+%04X at %d: %r" % (ord(m.group()), m.start(),
                                              text[max(0, m.start() - 30):m.start() + 10]))
    # the hostile bytes reached the output, escaped (not dropped)
    for want in ("\\x1b[2J", "\\x9b31m", "\\u009b31m", "\\u202e", "\\u2066", "\\u2028",
                 "\\u061c", "caf\\xe9", "\\xc0\\xaf", "\\xed\\xa0\\x80", "\\xf4\\x90\\x80\\x80",
                 "caf\u00e9", "/cut\\xe2\\x82", "ftp://h\\x1b[2J"):
        if want not in text:
            errors.append("missing %r" % want)
    if errors:
        sys.exit("\n".join(errors[:20]))
    print("text ok (colour %s): %d bytes, %d lines" % (color, len(data), text.count("\n")))


def wire(d, key):
    """The exact bytes of a string value: KEY_hex when present, else UTF-8."""
    if key + "_hex" in d:
        return bytes.fromhex(d[key + "_hex"])
    v = d[key]
    return None if v is None else v.encode("utf-8")


def check_json(path):
    data = open(path, "rb").read()
    data.decode("utf-8")
    if re.search(rb"\\u[dD][89a-fA-F]", data):
        sys.exit("a surrogate escape: not strict JSON")
    lines = [json.loads(l) for l in data.decode("utf-8").splitlines()]
    events = [d for d in lines if d["type"] == "http"]
    errors = []
    if len(events) != len(SENT):
        errors.append("%d events, want %d" % (len(events), len(SENT)))
    for d, sent in zip(events, SENT):
        got = tuple(wire(d, k) for k in ("method", "host", "uri", "origin"))
        if got != sent:
            errors.append("wire bytes %r, want %r" % (got, sent))
        for k in list(d):
            if k.endswith("_hex"):
                if "\ufffd" not in d[k[:-4]]:
                    errors.append("%s without a replaced byte in %s" % (k, k[:-4]))
            elif isinstance(d[k], str) and k + "_hex" not in d and "\ufffd" in d[k] \
                    and k not in ("message", "hint", "note"):
                errors.append("%s has U+FFFD but no %s_hex" % (k, k))
    latin1, utf8 = events[1], events[2]
    if latin1["origin"] == utf8["origin"]:
        errors.append("caf\\xE9 and caf\\xC3\\xA9 decode alike: %r" % latin1["origin"])
    if "origin_hex" in utf8 or latin1.get("origin_hex") != "687474703a2f2f636166e92e6578616d706c65":
        errors.append("origin_hex: %r / %r" % (latin1.get("origin_hex"), utf8.get("origin_hex")))
    if errors:
        sys.exit("\n".join(errors))
    print("json ok: %d events, exact bytes back for method, host, uri, origin" % len(events))


def main():
    a = sys.argv
    if len(a) == 3 and a[1] == "gen":
        gen(a[2])
    elif len(a) == 4 and a[1] == "text":
        check_text(a[2], a[3])
    elif len(a) == 3 and a[1] == "json":
        check_json(a[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
