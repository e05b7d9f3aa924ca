#!/usr/bin/env python3
"""CORS scenario server for the real-browser end-to-end test (stdlib, plus
python3-h2 for the h2 transport).

Three origins on loopback, all served by this one process:
  app  http://app.corscope.test:8080   the page (index.html) and same-origin endpoints
  api  http://api.corscope.test:8081   one endpoint per scenario: /s/<scenario>[/...]
  far  http://far.corscope.test:8082   redirect targets on a third origin

The host names must resolve to 127.0.0.1 (run.py bind-mounts an /etc/hosts in
its own mount namespace and gives Chromium --host-resolver-rules).  The three
names share the site corscope.test (.test is in no rule of the Public Suffix
List: both browsers apply its implicit "*" rule), so a SameSite=Lax cookie set
by the API origin goes out on credentialed cross-origin fetches from the page.
api.elsewhere.test (ELSEWHERE) reaches the API's ports from another site.

Every scenario has its own URL path, so a request on the wire, a browser
console message and a scenario name map onto each other by URL.  The page
exposes window.runScenario(name) (the driver calls it once per scenario and
reads the console in between) and, with ?auto=1, runs them all by itself.

Each transport (TRANSPORTS: http, https = HTTP/1.1 over TLS, h2 = HTTP/2 over
TLS through Debian's python3-h2) serves the same origins on its own ports.

Usage: server.py [--bind 127.0.0.1] [--transports http,https,h2] [--list]
       (--list prints the scenarios as JSON)
"""
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Each transport serves the same three origins on its own ports, so one
# browser run per transport sees the same scenarios under another scheme and
# protocol.  "https" offers only http/1.1 in ALPN and "h2" only h2, so the
# browser cannot pick the other one.
TRANSPORTS = {
    "http":  {"scheme": "http",  "ports": (8080, 8081, 8082), "alpn": None},
    "https": {"scheme": "https", "ports": (8443, 8444, 8445), "alpn": "http/1.1"},
    "h2":    {"scheme": "https", "ports": (9443, 9444, 9445), "alpn": "h2"},
}
ROLES = ("app", "api", "far")
HOSTS = ("app.corscope.test", "api.corscope.test", "far.corscope.test")
# Another site for the cookie-cross-* scenarios: the API's ports under a
# name whose registrable domain is not corscope.test.
ELSEWHERE = "api.elsewhere.test"
ALL_HOSTS = HOSTS + (ELSEWHERE,)
# port -> (transport, role)
PORTS = {port: (t, role) for t, d in TRANSPORTS.items() for port, role in zip(d["ports"], ROLES)}


def base_url(transport, role):
    d = TRANSPORTS[transport]
    return f"{d['scheme']}://{role}.corscope.test:{d['ports'][ROLES.index(role)]}"


APP_PORT, API_PORT, FAR_PORT = TRANSPORTS["http"]["ports"]
APP, API, FAR = (base_url("http", r) for r in ROLES)

# The transport of the request being answered (set per handler thread), so
# that a scenario's answer names the origins of its own transport.
_current = threading.local()


def app():
    return base_url(getattr(_current, "transport", "http"), "app")


def api():
    return base_url(getattr(_current, "transport", "http"), "api")


def far():
    return base_url(getattr(_current, "transport", "http"), "far")


ACAO = "Access-Control-Allow-Origin"
RESET = "RESET"


def r(status=200, headers=(), body=b"ok\n"):
    return (status, list(headers), body)


def acao(v=None):
    return (ACAO, app() if v is None else v)


def raw(line):
    """A header line sent as it is over HTTP/1.1 (not over h2: a scenario
    gives its h2 form, if any, in h2_extra)."""
    return (None, line)


def preflight_ok(methods="PUT, DELETE, PATCH", headers=None, extra=()):
    h = [acao(), ("Access-Control-Allow-Methods", methods)]
    if headers is not None:
        h.append(("Access-Control-Allow-Headers", headers))
    return r(204, h + list(extra), b"")


# name -> (call, respond).  call: how the page issues the request
#   api: "fetch" | "xhr"; method; headers; body; cred (credentials include /
#   withCredentials); base: "api" | "app" (same-origin); times: repeat count;
#   then: what changes from the second time on (e.g. {"headers": {...}});
#   host: "elsewhere" (the API on another site, ELSEWHERE); abort_after: ms
#   after which the page aborts the fetch (AbortController); linger: ms the
#   page waits after its requests (late answers get into the capture).
# credentials_known: corscope must say the page's credentials mode (include
#   when call.cred, else omit) on this scenario's actual request; on every
#   other scenario it may also say "unknown", never the wrong mode
#   (compare.py checks both).
# delay: seconds the server waits before answering an OPTIONS (h2: other
#   streams go on; a stream the client reset meanwhile is not answered).
# trailers: fields sent after the body ("APP": the page's origin): over
#   HTTP/1.1 in the trailer section of a chunked body (no Content-Length),
#   over h2 in a HEADERS frame that ends the stream.
# status_line: the HTTP/1.1 status line as sent ("APP": the page's origin);
#   eol: the HTTP/1.1 line ending (default CRLF); h2_status, h2_extra,
#   h2_names_as_is: the h2 response's odd shapes (see where they are used).
# respond(method, path, origin) -> (status, [(name, value)], body) | RESET
SCENARIOS = {}


def scenario(name, call=None, **kw):
    call = dict(call or {})
    call.setdefault("api", "fetch")
    call.setdefault("method", "GET")

    def deco(fn):
        SCENARIOS[name] = {"name": name, "call": call, "respond": fn, **kw}
        return fn
    return deco


# ---- successes -------------------------------------------------------------

@scenario("ok-simple-get")
def _(m, p, o):
    return r(200, [acao()])


@scenario("ok-simple-post", {"method": "POST", "body": "hello"})
def _(m, p, o):
    return r(200, [acao()])


@scenario("ok-wildcard")
def _(m, p, o):
    return r(200, [acao("*")])


@scenario("ok-error-status-with-acao")
def _(m, p, o):
    return r(404, [acao()], b"not found\n")


@scenario("ok-xhr-get", {"api": "xhr"})
def _(m, p, o):
    return r(200, [acao()])


@scenario("ok-preflight-put", {"method": "PUT", "body": "x"})
def _(m, p, o):
    return preflight_ok() if m == "OPTIONS" else r(200, [acao()])


@scenario("ok-preflight-json", {"method": "POST", "body": "{}",
                                "headers": {"Content-Type": "application/json", "X-Trace": "1"}})
def _(m, p, o):
    return preflight_ok("POST", "Content-Type, X-Trace") if m == "OPTIONS" else r(200, [acao()])


@scenario("ok-xhr-preflight-delete", {"api": "xhr", "method": "DELETE"})
def _(m, p, o):
    return preflight_ok("DELETE") if m == "OPTIONS" else r(200, [acao()])


@scenario("ok-cred-setcookie", {"cred": True})
def _(m, p, o):
    return r(200, [acao(), ("Access-Control-Allow-Credentials", "true"),
                   ("Set-Cookie", "sid=s3cr3t; Path=/; SameSite=Lax")])


@scenario("ok-cred-get", {"cred": True})
def _(m, p, o):
    return r(200, [acao(), ("Access-Control-Allow-Credentials", "true")])


@scenario("ok-cred-xhr", {"api": "xhr", "cred": True})
def _(m, p, o):
    return r(200, [acao(), ("Access-Control-Allow-Credentials", "true")])


@scenario("ok-maxage-cache-hit", {"method": "PUT", "body": "x", "times": 2})
def _(m, p, o):
    if m == "OPTIONS":
        return preflight_ok("PUT", extra=[("Access-Control-Max-Age", "600")])
    return r(200, [acao()])


@scenario("ok-same-origin-get", {"base": "app"})
def _(m, p, o):
    return r(200)


@scenario("ok-same-origin-put", {"base": "app", "method": "PUT", "body": "x"})
def _(m, p, o):
    return r(200)


@scenario("ok-redirect-same-origin")
def _(m, p, o):
    if p.endswith("/next"):
        return r(200, [acao()])
    return r(302, [acao(), ("Location", f"{api()}/s/ok-redirect-same-origin/next")], b"")


@scenario("ok-redirect-far-tainted")
def _(m, p, o):
    if p.endswith("/next"):
        return r(200, [acao(o or "null")])     # Origin is "null" after the cross-origin hop
    return r(307, [acao(), ("Location", f"{far()}/s/ok-redirect-far-tainted/next")], b"")


@scenario("warn-authorization-acah-wildcard", {"headers": {"Authorization": "Bearer t"}})
def _(m, p, o):
    return preflight_ok("GET", "*") if m == "OPTIONS" else r(200, [acao()])


# ---- CORSMissingAllowOrigin --------------------------------------------------

@scenario("missing-acao-get")
def _(m, p, o):
    return r(200, [])


@scenario("missing-acao-post-500", {"method": "POST", "body": "x"})
def _(m, p, o):
    return r(500, [], b"error\n")


@scenario("missing-acao-xhr", {"api": "xhr"})
def _(m, p, o):
    return r(200, [])


@scenario("missing-acao-redirect")
def _(m, p, o):
    return r(302, [("Location", f"{api()}/s/missing-acao-redirect/next")], b"")


@scenario("missing-acao-preflight-404", {"method": "PUT", "body": "x"})
def _(m, p, o):
    return r(404, [], b"") if m == "OPTIONS" else r(200, [acao()])


# ---- CORSAllowOriginNotMatchingOrigin ------------------------------------------

@scenario("mismatch-other-origin")
def _(m, p, o):
    return r(200, [acao("http://evil.corscope.test:8080")])


@scenario("mismatch-trailing-slash")
def _(m, p, o):
    return r(200, [acao(app() + "/")])


@scenario("mismatch-list-in-one-line")
def _(m, p, o):
    return r(200, [acao(f"{app()}, {far()}")])


@scenario("mismatch-preflight", {"method": "PUT", "body": "x"})
def _(m, p, o):
    if m == "OPTIONS":
        return r(204, [acao(far()), ("Access-Control-Allow-Methods", "PUT")], b"")
    return r(200, [acao()])


# ---- CORSMultipleAllowOriginNotAllowed -----------------------------------------

@scenario("multiple-acao-lines")
def _(m, p, o):
    return r(200, [acao(), acao()])


@scenario("multiple-acao-wildcards")
def _(m, p, o):
    return r(200, [acao("*"), acao("*")])


# ---- header shapes: the same header sent in several fields, empty, in
# other cases.  Over HTTP/1.1 these are separate lines; over h2 separate
# fields; the transports.tsv of `run.py --transports all` says whether a
# browser treats them differently.

@scenario("shape-acao-empty")
def _(m, p, o):
    return r(200, [acao("")])


@scenario("shape-acao-origin-then-wildcard")
def _(m, p, o):
    return r(200, [acao(), acao("*")])


@scenario("shape-acac-duplicate", {"cred": True})
def _(m, p, o):
    return r(200, [acao(), ("Access-Control-Allow-Credentials", "true"),
                   ("Access-Control-Allow-Credentials", "true")])


@scenario("shape-acac-uppercase", {"cred": True})
def _(m, p, o):
    return r(200, [acao(), ("Access-Control-Allow-Credentials", "TRUE")])


@scenario("shape-acac-empty", {"cred": True})
def _(m, p, o):
    return r(200, [acao(), ("Access-Control-Allow-Credentials", "")])


@scenario("shape-acam-two-fields", {"method": "DELETE"})
def _(m, p, o):
    if m == "OPTIONS":
        return r(204, [acao(), ("Access-Control-Allow-Methods", "PUT"),
                       ("Access-Control-Allow-Methods", "DELETE")], b"")
    return r(200, [acao()])


@scenario("shape-acah-two-fields", {"headers": {"X-One": "1", "X-Two": "2"}})
def _(m, p, o):
    if m == "OPTIONS":
        return r(204, [acao(), ("Access-Control-Allow-Methods", "GET"),
                       ("Access-Control-Allow-Headers", "x-one"),
                       ("Access-Control-Allow-Headers", "x-two")], b"")
    return r(200, [acao()])


# Values with whitespace around them: an HTTP/1.1 parser drops it (OWS),
# while over h2 a field value that starts or ends with whitespace is
# malformed (RFC 9113 §8.2.1).  The h2 server sends them as they are
# (H2_CONFIG: no outbound validation); the browsers decide.

@scenario("shape-acao-surrounding-space")
def _(m, p, o):
    return r(200, [acao(" " + app() + " ")])


@scenario("shape-acac-trailing-space", {"cred": True})
def _(m, p, o):
    return r(200, [acao(), ("Access-Control-Allow-Credentials", "true ")])


@scenario("shape-acao-inner-tab")
def _(m, p, o):
    return r(200, [acao(app() + "\t")])


# Fields an HTTP/1.1 response may carry and an h2 one may not (RFC 9113
# §8.2.2, §8.2: connection-specific fields, upper-case names): over h2 the
# response is malformed, and what a browser does with it (a stream error,
# or the fields read anyway) decides the verdict.

@scenario("h2-connection-field")
def _(m, p, o):
    return r(200, [acao(), ("Connection", "keep-alive")])


@scenario("h2-keep-alive-field")
def _(m, p, o):
    return r(200, [acao(), ("Keep-Alive", "timeout=5")])


# Fields after the body (trailers) are not response headers: a CORS check
# reads the headers, which came before them.
@scenario("acao-in-trailer-only", trailers=[(ACAO, "APP")])
def _(m, p, o):
    return r(200, [])


@scenario("acao-other-in-trailer", trailers=[(ACAO, "http://other.corscope.test")])
def _(m, p, o):
    return r(200, [acao()])


# Malformed only over h2, with the same answer otherwise: an upper-case
# name (h2_names_as_is), fields sent on h2 alone (h2_extra), :status after
# the fields, twice or not at all (h2_status; a pair: two with these values) (RFC 9113 §8.2.1, §8.2.2, §8.3): what the
# browsers refuse.

def _acao_only(m, p, o):
    return r(200, [acao()])


for _name, _kw in (
        ("h2-uppercase-name", {"h2_names_as_is": True}),
        ("h2-value-nul", {"h2_extra": [("x-junk", "a\x00b")]}),
        ("h2-value-newline", {"h2_extra": [("x-junk", "a\nb")]}),
        ("h2-status-after-fields", {"h2_status": "last"}),
        ("h2-status-twice", {"h2_status": "twice"}),
        ("h2-status-missing", {"h2_status": "none"}),
        ("h2-unknown-pseudo", {"h2_extra": [(":foo", "bar")]}),
        # connection-specific fields (RFC 9113 §8.2.2) beside h2-connection-field
        ("h2-te-chunked", {"h2_extra": [("transfer-encoding", "chunked")]}),
        ("h2-upgrade-field", {"h2_extra": [("upgrade", "h2c")]}),
        ("h2-proxy-connection-field", {"h2_extra": [("proxy-connection", "keep-alive")]}),
        # field names with a byte that is not a token character
        ("h2-name-paren", {"h2_extra": [("x-junk)", "1")]}),
        ("h2-name-non-ascii", {"h2_extra": [("x-j\xfcnk", "1")]})):
    scenario(_name, **_kw)(_acao_only)


# Two :status fields that differ, on a preflight and its PUT: Firefox reads
# the last (Chromium refuses both).
for _name, _pair in (("h2-status-twice-500-then-204", ("500", "204")),
                     ("h2-status-twice-204-then-500", ("204", "500"))):
    scenario(_name, {"method": "PUT", "body": "x"}, h2_status=_pair)(
        lambda m, p, o: preflight_ok() if m == "OPTIONS" else r(200, [acao()]))


# Status codes that are not three digits (RFC 9110 §15: "a three-digit
# integer"), the same text in the status line and in :status.

for _name, _code in (("status-two-digits", 99), ("status-four-digits", 2000),
                     ("status-one-digit", 7), ("status-zeros", "000"),
                     ("status-letters", "abc"), ("status-empty", ""),
                     ("status-digits-letters", "20x"), ("status-leading-space", " 200")):
    scenario(_name)(lambda m, p, o, _code=_code: r(_code, [acao()]))


# Three digits beyond the classes RFC 9110 §15 defines (1xx to 5xx).

for _name, _code in (("status-600", 600), ("status-999", 999)):
    scenario(_name)(lambda m, p, o, _code=_code: r(_code, [acao()]))


# Status lines as written by odd servers (status_line: the HTTP/1.1 line
# as sent; over h2 the response is a plain 200): what each browser takes for
# one.

for _name, _line in (("status-line-lowercase", "http/1.1 200 OK"),
                     ("status-line-version-1-0", "HTTP/1.0 200 OK"),
                     ("status-line-version-1-2", "HTTP/1.2 200 OK"),
                     ("status-line-version-1-10", "HTTP/1.10 200 OK"),
                     ("status-line-version-2-0", "HTTP/2.0 200 OK"),
                     ("status-line-no-minor", "HTTP/1 200 OK"),
                     ("status-line-tab", "HTTP/1.1\t200 OK"),
                     ("status-line-no-space", "HTTP/1.1200 OK"),
                     ("status-line-leading-space", " HTTP/1.1 200 OK"),
                     ("status-line-icy", "ICY 200 OK"),
                     ("status-line-version-only", "HTTP/1.1"),
                     ("status-line-no-space-at-all", "HTTP/1.1200"),
                     ("status-line-bare-cr", "HTTP/1.1 200 OK\rX-Junk: 1")):
    scenario(_name, status_line=_line)(_acao_only)


@scenario("status-line-bare-cr-acao", status_line="HTTP/1.1 200 OK\rAccess-Control-Allow-Origin: APP")
def _(m, p, o):
    return r(200, [])


# Interim responses and framing oddities both browsers take in their stride
# (status_line sends an interim response before the final one).

@scenario("interim-100-unasked", status_line="HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK")
def _(m, p, o):
    return r(200, [acao()])


@scenario("interim-199", status_line="HTTP/1.1 199 Whatever\r\n\r\nHTTP/1.1 200 OK")
def _(m, p, o):
    return r(200, [acao()])


# the ACAO only in the 103: the final response is what is checked
@scenario("interim-103-acao-only",
          status_line="HTTP/1.1 103 Early Hints\r\nAccess-Control-Allow-Origin: APP\r\n\r\nHTTP/1.1 200 OK")
def _(m, p, o):
    return r(200, [])


@scenario("te-chunked-and-content-length")
def _(m, p, o):
    return r(200, [acao(), raw("Transfer-Encoding: chunked")], b"3\r\nok\n\r\n0\r\n\r\n")


@scenario("line-with-empty-name")
def _(m, p, o):
    return r(200, [acao(), raw(": value")])


# a 204 with a body (Content-Length: 3): the next request on the connection
@scenario("no-content-with-body", {"times": 2})
def _(m, p, o):
    return r(204, [acao()], b"ok\n")


# Ugly HTTP/1.1 header lines (raw), with their nearest h2 form: an
# obs-fold continuation (RFC 9112 §5.2), NUL in a value, a line without a
# colon, whitespace before the colon (Firefox drops the line, Chromium
# reads it; over h2 the response has no such field), a bare CR (one
# without LF: Chromium ends the line there, Firefox keeps it in the line;
# over h2 the response has no such field either).

@scenario("h1-obs-fold-acao", h2_extra=[("access-control-allow-origin", "\r\n APP")])
def _(m, p, o):
    return r(200, [raw(f"{ACAO}:"), raw(f" {app()}")])


@scenario("nul-in-other-value", h2_extra=[("x-junk", "a\x00b")])
def _(m, p, o):
    return r(200, [acao(), raw("X-Junk: a\x00b")])


# Other control characters in a value: Chromium refuses them over h2 alone
# (not HTAB, not a byte above 0x7f); over HTTP/1.1 both read them.

@scenario("ctl-in-other-value", h2_extra=[("x-junk", "a\x01b")])
def _(m, p, o):
    return r(200, [acao(), raw("X-Junk: a\x01b")])


@scenario("del-in-other-value", h2_extra=[("x-junk", "a\x7fb")])
def _(m, p, o):
    return r(200, [acao(), raw("X-Junk: a\x7fb")])


@scenario("ctl-at-end-of-value", h2_extra=[("x-junk", "ab\x1f")])
def _(m, p, o):
    return r(200, [acao(), raw("X-Junk: ab\x1f")])


@scenario("obs-text-in-other-value", h2_extra=[("x-junk", "a\xe9b")])
def _(m, p, o):
    return r(200, [acao(), raw("X-Junk: a\xe9b")])


@scenario("ws-before-colon")
def _(m, p, o):
    return r(200, [raw(f"{ACAO} : {app()}")])


@scenario("tab-before-colon")
def _(m, p, o):
    return r(200, [raw(f"{ACAO}\t: {app()}")])


@scenario("bare-cr-before-acao")
def _(m, p, o):
    return r(200, [raw(f"X-Junk: 1\r{ACAO}: {app()}")])


@scenario("bare-cr-after-acao")
def _(m, p, o):
    return r(200, [raw(f"{ACAO}: {app()}\rX-Junk: 1")])


@scenario("bare-cr-two-acao")
def _(m, p, o):
    return r(200, [raw(f"{ACAO}: {app()}\r{ACAO}: {app()}")])


@scenario("bare-cr-in-name")
def _(m, p, o):
    return r(200, [raw(f"X-Junk\r{ACAO}: {app()}")])


@scenario("bare-cr-at-line-end")  # "...\r\r\n"
def _(m, p, o):
    return r(200, [raw(f"{ACAO}: {app()}\r")])


@scenario("bare-cr-other-line-end")  # the empty piece after it is no end of block
def _(m, p, o):
    return r(200, [raw("X-Junk: 1\r"), acao()])


# LF alone as the line ending (eol), which hand-written servers send: both
# read it (RFC 9112 §2.2 lets a recipient), also after a line that ends
# with it among CRLF ones, where a CR then starts the next line.

@scenario("lf-only-line-endings", eol="\n")
def _(m, p, o):
    return r(200, [acao(), ("X-A", "1")])


@scenario("lf-only-preflight", {"method": "PUT", "body": "x"}, eol="\n")
def _(m, p, o):
    return preflight_ok() if m == "OPTIONS" else r(200, [acao()])


@scenario("lf-then-cr-line-start")
def _(m, p, o):
    return r(200, [raw(f"X-A: 1\n\r{ACAO}: {app()}")])


@scenario("h1-line-without-colon")
def _(m, p, o):
    return r(200, [acao(), raw("this line has no colon")])


# Framing and redirect fields a browser may refuse to see twice (over h2
# the same fields, as the browsers see them there).

@scenario("dup-content-length-differ")
def _(m, p, o):
    return r(200, [acao(), ("Content-Length", "5")])


@scenario("dup-content-disposition-differ")
def _(m, p, o):
    return r(200, [acao(), ("Content-Disposition", "inline"),
                   ("Content-Disposition", "attachment")])


@scenario("dup-location-differ")
def _(m, p, o):
    if p.endswith("/next") or p.endswith("/other"):
        return r(200, [acao()])
    return r(302, [acao(), ("Location", f"{api()}/s/dup-location-differ/next"),
                   ("Location", f"{api()}/s/dup-location-differ/other")], b"")


# Case and spelling: an origin is compared byte for byte, header names in
# Access-Control-Allow-Headers case-insensitively, methods case-sensitively.

@scenario("shape-acao-uppercase")
def _(m, p, o):
    return r(200, [acao(app().upper())])


@scenario("shape-acao-null")
def _(m, p, o):
    return r(200, [acao("null")])


@scenario("shape-acah-uppercase", {"headers": {"X-One": "1"}})
def _(m, p, o):
    if m == "OPTIONS":
        return r(204, [acao(), ("Access-Control-Allow-Headers", "X-ONE")], b"")
    return r(200, [acao()])


@scenario("shape-acam-lowercase-put", {"method": "PUT", "body": "x"})
def _(m, p, o):
    if m == "OPTIONS":
        return r(204, [acao(), ("Access-Control-Allow-Methods", "put")], b"")
    return r(200, [acao()])


# Lists with empty elements: the Fetch standard's list parsing keeps them
# (as empty names); what each browser makes of them is its own.

@scenario("shape-acah-trailing-comma", {"headers": {"X-One": "1"}})
def _(m, p, o):
    if m == "OPTIONS":
        return r(204, [acao(), ("Access-Control-Allow-Headers", "x-one,")], b"")
    return r(200, [acao()])


@scenario("shape-acah-empty-element", {"headers": {"X-One": "1", "X-Two": "2"}})
def _(m, p, o):
    if m == "OPTIONS":
        return r(204, [acao(), ("Access-Control-Allow-Headers", "x-one,,x-two")], b"")
    return r(200, [acao()])


@scenario("shape-acam-leading-comma", {"method": "DELETE"})
def _(m, p, o):
    if m == "OPTIONS":
        return r(204, [acao(), ("Access-Control-Allow-Methods", ", DELETE")], b"")
    return r(200, [acao()])


# ---- CORSNotSupportingCredentials ----------------------------------------------

@scenario("cred-wildcard-fetch", {"cred": True})
def _(m, p, o):
    return r(200, [acao("*"), ("Access-Control-Allow-Credentials", "true")])


@scenario("cred-wildcard-xhr", {"api": "xhr", "cred": True})
def _(m, p, o):
    return r(200, [acao("*")])


# ---- CORSMissingAllowCredentials -----------------------------------------------

@scenario("cred-no-acac", {"cred": True})
def _(m, p, o):
    return r(200, [acao()])


@scenario("cred-acac-capitalised-xhr", {"api": "xhr", "cred": True})
def _(m, p, o):
    return r(200, [acao(), ("Access-Control-Allow-Credentials", "True")])


# ---- preflights that fail only because of credentials (issue 16 §1) ----------
# The OPTIONS never carries cookies: only what follows it tells the mode.
# Each credentialed scenario has an uncredentialed twin (ok-nocred-...) with
# the very same answers, which the browsers must let through.

def _pf_acao_wildcard(m, p, o):
    if m == "OPTIONS":
        return r(204, [acao("*"), ("Access-Control-Allow-Methods", "PUT"),
                       ("Access-Control-Allow-Credentials", "true")], b"")
    return r(200, [acao("*"), ("Access-Control-Allow-Credentials", "true")])


def _pf_acam_wildcard(m, p, o):
    if m == "OPTIONS":
        return r(204, [acao(), ("Access-Control-Allow-Methods", "*"),
                       ("Access-Control-Allow-Credentials", "true")], b"")
    return r(200, [acao(), ("Access-Control-Allow-Credentials", "true")])


def _pf_acah_wildcard(m, p, o):
    if m == "OPTIONS":
        return r(204, [acao(), ("Access-Control-Allow-Headers", "*"),
                       ("Access-Control-Allow-Credentials", "true")], b"")
    return r(200, [acao(), ("Access-Control-Allow-Credentials", "true")])


def _pf_no_acac(m, p, o):
    if m == "OPTIONS":
        return r(204, [acao(), ("Access-Control-Allow-Methods", "PUT")], b"")
    return r(200, [acao()])


for _name, _fn, _call in (
        ("preflight-acao-wildcard", _pf_acao_wildcard, {"method": "PUT", "body": "x"}),
        ("preflight-acam-wildcard", _pf_acam_wildcard, {"method": "PUT", "body": "x"}),
        ("preflight-acah-wildcard", _pf_acah_wildcard, {"headers": {"X-Trace": "1"}}),
        ("preflight-no-acac", _pf_no_acac, {"method": "PUT", "body": "x"})):
    scenario("cred-" + _name, dict(_call, cred=True))(_fn)
    scenario("ok-nocred-" + _name, dict(_call))(_fn)


# ---- CORSPreflightDidNotSucceed ------------------------------------------------

@scenario("preflight-status-500", {"method": "PUT", "body": "x"})
def _(m, p, o):
    if m == "OPTIONS":
        return r(500, [acao(), ("Access-Control-Allow-Methods", "PUT")], b"")
    return r(200, [acao()])


# Any 2xx is an ok status for a preflight (Fetch: 200 to 299), 300 is not.
for _name, _code in (("preflight-status-206", 206), ("preflight-status-299", 299),
                     ("preflight-status-300", 300)):
    scenario(_name, {"method": "PUT", "body": "x"})(
        lambda m, p, o, _code=_code: r(_code, [acao(), ("Access-Control-Allow-Methods", "PUT")], b"")
        if m == "OPTIONS" else r(200, [acao()]))


@scenario("preflight-status-404", {"method": "DELETE"})
def _(m, p, o):
    if m == "OPTIONS":
        return r(404, [acao(), ("Access-Control-Allow-Methods", "DELETE")], b"")
    return r(200, [acao()])


# ---- CORSInvalidAllowMethod ----------------------------------------------------

@scenario("invalid-acam-semicolon", {"method": "PUT", "body": "x"})
def _(m, p, o):
    return preflight_ok("PUT;") if m == "OPTIONS" else r(200, [acao()])


@scenario("invalid-acam-space", {"method": "DELETE"})
def _(m, p, o):
    return preflight_ok("GET, DELETE PUT") if m == "OPTIONS" else r(200, [acao()])


# ---- CORSMethodNotFound --------------------------------------------------------

@scenario("method-not-found-delete", {"method": "DELETE"})
def _(m, p, o):
    return preflight_ok("GET, POST, PUT") if m == "OPTIONS" else r(200, [acao()])


@scenario("method-not-found-lowercase-patch", {"method": "patch", "body": "x"})
def _(m, p, o):
    return preflight_ok("PATCH") if m == "OPTIONS" else r(200, [acao()])


# ---- CORSInvalidAllowHeader ----------------------------------------------------

@scenario("invalid-acah-semicolon", {"headers": {"X-Foo": "1"}})
def _(m, p, o):
    return preflight_ok("GET", "x-foo;") if m == "OPTIONS" else r(200, [acao()])


@scenario("invalid-acah-quoted", {"method": "PUT", "body": "x", "headers": {"X-Foo": "1"}})
def _(m, p, o):
    return preflight_ok("PUT", '"x-foo"') if m == "OPTIONS" else r(200, [acao()])


# ---- CORSMissingAllowHeaderFromPreflight ---------------------------------------

@scenario("missing-acah-custom", {"headers": {"X-Token": "abc"}})
def _(m, p, o):
    return preflight_ok("GET") if m == "OPTIONS" else r(200, [acao()])


@scenario("missing-acah-json", {"method": "POST", "body": "{}",
                                "headers": {"Content-Type": "application/json"}})
def _(m, p, o):
    return preflight_ok("POST", "x-other") if m == "OPTIONS" else r(200, [acao()])


# Request headers at the edge of the safelist (Fetch "CORS-safelisted
# request-header"): whether each browser preflights them.  The preflight,
# when it comes, allows them all, so every scenario is allowed; what is
# compared is whether a preflight was sent where corscope expects one.

_SAFELIST_ALLOWED = "content-type, accept, accept-language, content-language, range"

for _name, _method, _headers in (
        ("safelist-ct-long", "POST", {"Content-Type": "text/plain; a=" + "x" * 120}),
        ("safelist-ct-comma", "POST", {"Content-Type": "text/plain, application/json"}),
        ("safelist-ct-quoted-param", "POST", {"Content-Type": 'text/plain;charset="utf-8"'}),
        ("safelist-ct-upper", "POST", {"Content-Type": "TEXT/PLAIN"}),
        ("safelist-ct-no-subtype", "POST", {"Content-Type": "text/"}),
        ("safelist-ct-space-in-type", "POST", {"Content-Type": "text /plain"}),
        ("safelist-ct-trailing-semicolon", "POST", {"Content-Type": "text/plain;"}),
        ("safelist-accept-long", "GET", {"Accept": "a" * 129}),
        ("safelist-accept-del", "GET", {"Accept": "a\x7f"}),
        ("safelist-accept-language-at", "GET", {"Accept-Language": "en@"}),
        ("safelist-content-language", "GET", {"Content-Language": "de-DE"}),
        ("safelist-range-simple", "GET", {"Range": "bytes=0-1"}),
        ("safelist-range-open", "GET", {"Range": "bytes=5-"}),
        ("safelist-range-two", "GET", {"Range": "bytes=0-1,3-4"})):
    scenario(_name, {"method": _method, "headers": _headers, **({"body": "x"} if _method == "POST" else {})})(
        lambda m, p, o: preflight_ok("POST, GET", _SAFELIST_ALLOWED) if m == "OPTIONS"
        else r(200, [acao()]))


# ---- CORSExternalRedirectNotAllowed --------------------------------------------

@scenario("preflight-redirect-far", {"method": "PUT", "body": "x"})
def _(m, p, o):
    if m == "OPTIONS" and not p.endswith("/next"):
        return r(307, [acao(), ("Access-Control-Allow-Methods", "PUT"),
                       ("Location", f"{far()}/s/preflight-redirect-far/next")], b"")
    return preflight_ok("PUT") if m == "OPTIONS" else r(200, [acao("*")])


@scenario("preflight-redirect-same-origin", {"method": "DELETE"})
def _(m, p, o):
    if m == "OPTIONS" and not p.endswith("/next"):
        return r(308, [acao(), ("Location", f"{api()}/s/preflight-redirect-same-origin/next")], b"")
    return preflight_ok("DELETE") if m == "OPTIONS" else r(200, [acao()])


@scenario("preflight-redirect-no-acao", {"method": "PUT", "body": "x"})
def _(m, p, o):
    if m == "OPTIONS" and not p.endswith("/next"):
        return r(307, [("Location", f"{api()}/s/preflight-redirect-no-acao/next")], b"")
    return preflight_ok("PUT") if m == "OPTIONS" else r(200, [acao()])


# ---- CORSRequestNotHttp --------------------------------------------------------

@scenario("not-http-redirect-ftp")
def _(m, p, o):
    return r(302, [acao(), ("Location", "ftp://far.corscope.test/s/not-http-redirect-ftp/file")], b"")


@scenario("not-http-redirect-about-blank")
def _(m, p, o):
    return r(302, [acao(), ("Location", "about:blank")], b"")


@scenario("not-http-redirect-file")
def _(m, p, o):
    return r(302, [acao(), ("Location", "file:///etc/hostname")], b"")


@scenario("not-http-redirect-javascript")
def _(m, p, o):
    return r(302, [acao(), ("Location", "javascript:void(0)")], b"")


@scenario("redirect-to-data")
def _(m, p, o):
    return r(302, [acao(), ("Location", "data:text/plain,hello")], b"")


# ---- CORSDidNotSucceed (connection reset) --------------------------------------

@scenario("reset-get")
def _(m, p, o):
    return RESET


@scenario("reset-preflight", {"method": "PUT", "body": "x"})
def _(m, p, o):
    return RESET if m == "OPTIONS" else r(200, [acao()])


# ---- cookies as evidence of the credentials mode (issue 16 §1) -----------------
# corscope reads the mode from Cookie: present on the actual request, it was
# "include"; absent on a same-site request to a host the client sent cookies
# to before, it was "omit".  Absent cross-site, it proves nothing (cookies of
# another site may be withheld: SameSite, third-party cookie blocking).
# The -set scenarios give each host a cookie first; the answers of the
# -cred scenarios pass in both modes, so that the verdict never rests on
# the mode corscope infers, only its credentials field does (compare.py).

def _secure():
    """Cookie attributes a cross-site cookie needs (SameSite=None wants
    Secure, which only an https origin may set)."""
    return "; SameSite=None; Secure" if TRANSPORTS[getattr(_current, "transport", "http")]["alpn"] else ""


def _cred_ok(m, p, o):
    return r(200, [acao(), ("Access-Control-Allow-Credentials", "true"), ("Vary", "Origin")])


@scenario("cookie-same-site-set", {"cred": True})
def _(m, p, o):
    return r(200, [acao(), ("Access-Control-Allow-Credentials", "true"),
                   ("Set-Cookie", "same=1; Path=/; SameSite=Lax")])


scenario("cookie-same-site-cred", {"cred": True}, credentials_known=True)(_cred_ok)
scenario("cookie-same-site-nocred", {}, credentials_known=True)(_cred_ok)
# `*` fails only with credentials: the verdict itself rests on the cookie
scenario("cookie-same-site-cred-wildcard", {"cred": True}, credentials_known=True)(
    lambda m, p, o: r(200, [acao("*")]))
scenario("cookie-same-site-nocred-wildcard", {}, credentials_known=True)(
    lambda m, p, o: r(200, [acao("*")]))


@scenario("cookie-cross-set", {"cred": True, "host": "elsewhere"})
def _(m, p, o):
    return r(200, [acao(), ("Access-Control-Allow-Credentials", "true"),
                   ("Set-Cookie", "cross=1; Path=/" + _secure())])


scenario("cookie-cross-cred", {"cred": True, "host": "elsewhere"})(_cred_ok)
scenario("cookie-cross-nocred", {"host": "elsewhere"})(_cred_ok)


# ---- revalidation: a 304 is checked as the stored response it refreshes -------
# The first fetch gets a 200 the browser stores (Cache-Control: no-cache: kept,
# but revalidated before each use) with an ETag; the second fetch goes out
# with If-None-Match and gets a 304.  The browser merges the 304's header
# fields into the stored response and checks that (cors-reasons.md 1.10).

def stored_or_304(first, on_304):
    """first: the 200's CORS fields; on_304: the 304's.  Both carry the
    validator and no-cache, so the browser stores the 200 and revalidates."""
    keep = [("ETag", '"v1"'), ("Cache-Control", "no-cache")]
    if request_header("if-none-match") == '"v1"':
        return r(304, list(on_304) + keep, b"")
    return r(200, list(first) + keep)


@scenario("reval-304-keeps-acao", {"times": 2})
def _(m, p, o):
    return stored_or_304([acao()], [])


@scenario("reval-304-acao-mismatch", {"times": 2})
def _(m, p, o):
    return stored_or_304([acao()], [acao("http://other.corscope.test")])


@scenario("reval-304-keeps-credentials", {"cred": True, "times": 2})
def _(m, p, o):
    return stored_or_304([acao(), ("Access-Control-Allow-Credentials", "true")], [])


# The page's own conditional request (If-None-Match set by the script, so
# preflighted): the browser's cache passes the 304 through, unmerged?
@scenario("reval-page-conditional", {"times": 2, "then": {"headers": {"If-None-Match": '"v1"'}}})
def _(m, p, o):
    if m == "OPTIONS":
        return preflight_ok(methods="GET", headers="If-None-Match")
    return stored_or_304([acao()], [])


# ---- the page gives up ------------------------------------------------------------
# The page aborts its fetch (after 300 ms) while the preflight waits for its
# answer (1 s): the browser sends no actual request and reports nothing (an
# AbortError to the page only).  On the wire (measured): over HTTP/1.1 both
# browsers leave the preflight's connection open and its answer comes; over
# h2 Firefox cancels the preflight's stream (RST_STREAM from the client, so
# the server never answers it) and Chromium lets the answer come.  The page
# lingers until the answer is due, so that it is in the capture.  The
# preflight passes in both credentials modes: nothing following it is the
# page giving up, not a failure.

@scenario("gave-up-abort-in-preflight", {"method": "PUT", "body": "x", "abort_after": 300, "linger": 2000},
          delay=1.0)
def _(m, p, o):
    if m == "OPTIONS":
        return preflight_ok("PUT", extra=[("Access-Control-Allow-Credentials", "true")])
    return r(200, [acao(), ("Access-Control-Allow-Credentials", "true")])


# ---- connections that never carried a request ------------------------------------
# The page fetches a port of api.corscope.test where the connection fails:
# nothing listens (refused), the namespace's firewall drops the SYNs (run.py:
# nft, and a shorter net.ipv4.tcp_syn_retries so the kernel gives up in
# seconds, not in 134), or a TLS server answers the ClientHello with a fatal
# handshake_failure alert.  No request reaches the wire: corscope reports the
# connection (kind "connection"); compare.py maps it to the scenario by port.
# The port is the same for every transport; the scheme is the page's (an
# https page may not fetch http), except for the TLS alert, always https.

CONN_REFUSED_PORT, CONN_DROPPED_PORT, CONN_TLS_ALERT_PORT = 3000, 3001, 3002
CONN_PORTS = {CONN_REFUSED_PORT: "conn-refused", CONN_DROPPED_PORT: "conn-timeout",
              CONN_TLS_ALERT_PORT: "conn-tls-alert"}


@scenario("conn-refused", {"port": CONN_REFUSED_PORT})
def _(m, p, o):
    return r(200, [acao()])                     # never reached


@scenario("conn-timeout", {"port": CONN_DROPPED_PORT, "timeout": 30000})
def _(m, p, o):
    return r(200, [acao()])                     # never reached


@scenario("conn-tls-alert", {"port": CONN_TLS_ALERT_PORT, "scheme": "https"})
def _(m, p, o):
    return r(200, [acao()])                     # never reached


def serve_tls_alert(port, workdir, bind="127.0.0.1"):
    """A TLS server that refuses every handshake with a fatal
    handshake_failure alert (from its SNI callback, before ServerHello)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*make_certificate(workdir))
    ctx.sni_callback = lambda sock, name, c: ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((bind, port))
    lsock.listen(64)

    def one(s):
        try:
            t = ctx.wrap_socket(s, server_side=True)
            t.close()
        except (ssl.SSLError, OSError) as e:
            sys.stderr.write(f"[{port}] TLS alert sent: {e}\n")
        finally:
            s.close()

    def loop():
        while True:
            s, _ = lsock.accept()
            threading.Thread(target=one, args=(s,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()
    return lsock


# ---- the HTTP side -----------------------------------------------------------------

PAGE = """<!doctype html>
<meta charset=utf-8>
<title>corscope browser scenarios</title>
<pre id=log></pre>
<script>
const SCENARIOS = %s;
const API = %s, APP = %s, ELSEWHERE = %s;
function call(s, round) {
  const c = round && s.call.then ? Object.assign({}, s.call, s.call.then) : s.call;
  let url = (c.base === "app" ? APP : API) + "/s/" + s.name;
  if (c.host === "elsewhere") {   // the API from another site
    const u = new URL(API);
    u.hostname = ELSEWHERE;
    url = u.origin + "/s/" + s.name;
  }
  if (c.port) {               // a connection that fails: another port of the API host
    const u = new URL(API);
    u.port = String(c.port);
    if (c.scheme) u.protocol = c.scheme + ":";
    url = u.origin + "/s/" + s.name;
  }
  const limit = c.timeout || 8000;
  if (c.api === "xhr") {
    return new Promise(resolve => {
      const x = new XMLHttpRequest();
      x.open(c.method, url);
      if (c.cred) x.withCredentials = true;
      for (const [k, v] of Object.entries(c.headers || {})) x.setRequestHeader(k, v);
      x.onload = () => resolve("ok " + x.status);
      x.onerror = () => resolve("error");
      x.timeout = limit; x.ontimeout = () => resolve("timeout");
      x.send(c.body === undefined ? null : c.body);
    });
  }
  const init = {method: c.method, headers: c.headers || {}};   // no cache mode: it would bypass the preflight cache
  if (c.cred) init.credentials = "include";
  if (c.body !== undefined) init.body = c.body;
  if (c.abort_after) {            // the page gives up: AbortController
    const ac = new AbortController();
    init.signal = ac.signal;
    setTimeout(() => ac.abort(), c.abort_after);
  }
  return Promise.race([
    fetch(url, init).then(r => "ok " + r.status, e => "error " + e.name),
    new Promise(res => setTimeout(() => res("timeout"), limit))]);
}
async function runScenario(name) {
  const s = SCENARIOS.find(x => x.name === name);
  const out = [];
  for (let i = 0; i < (s.call.times || 1); i++) out.push(await call(s, i));
  if (s.call.linger) await new Promise(res => setTimeout(res, s.call.linger));
  document.getElementById("log").textContent += name + ": " + out.join(", ") + "\\n";
  return out.join(", ");
}
window.runScenario = runScenario;
if (location.search.includes("auto=1")) (async () => {
  const res = {};
  for (const s of SCENARIOS) res[s.name] = await runScenario(s.name);
  await fetch("/results", {method: "POST", body: JSON.stringify(res)});
})();
</script>
"""


def page(transport="http"):
    calls = [{"name": s["name"], "call": s["call"]} for s in SCENARIOS.values()]
    return (PAGE % (json.dumps(calls, indent=1), json.dumps(base_url(transport, "api")),
                    json.dumps(base_url(transport, "app")), json.dumps(ELSEWHERE))).encode()


def request_header(name):
    """A header field of the request being answered (lower-case name), or None."""
    return getattr(_current, "headers", {}).get(name)


def route(port, method, path, origin, body, results_path, headers=None):
    """What to answer on `port`: (status, [(name, value)], body), RESET, or
    None for a request the scenarios do not know (404).  Shared by the
    HTTP/1.1 handler and the h2 server; headers: the request's fields
    (lower-case name -> value), for request_header()."""
    transport, role = PORTS[port]
    _current.transport = transport
    _current.headers = headers or {}
    path = path.split("?", 1)[0]
    if role == "app" and path in ("/", "/index.html"):
        return r(200, [("Content-Type", "text/html; charset=utf-8")], page(transport))
    if role == "app" and path == "/results":
        with open(results_path, "wb") as f:
            f.write(body)
        return r(204, [], b"")
    if path.startswith("/s/"):
        name = path[3:].split("/", 1)[0]
        s = SCENARIOS.get(name)
        if s and (role == "far" or role == s["call"].get("base", "api")):
            res = s["respond"](method, path, origin)
            if res == RESET:
                return RESET
            st, hdrs, b = res
            return r(st, hdrs + [("Content-Type", "text/plain")], b)
    return None


def answer_delay(method, path):
    """Seconds to wait before answering (the scenario's delay, OPTIONS only)."""
    if method != "OPTIONS" or not path.startswith("/s/"):
        return 0
    s = SCENARIOS.get(path[3:].split("?", 1)[0].split("/", 1)[0])
    return s.get("delay", 0) if s else 0


def framing_fields(status, headers, body):
    """Content-Length (not on a 304: it would describe the stored body) and
    Cache-Control: no-store unless the scenario says how to cache."""
    out = [] if status == 304 else [("Content-Length", str(len(body)))]
    if not any(k and k.lower() == "cache-control" for k, _ in headers):
        out.append(("Cache-Control", "no-store"))
    return out


def scenario_trailers(scen):
    """The scenario's trailer fields ("APP": the page's origin), or None."""
    if not scen or "trailers" not in scen:
        return None
    return [(k, v.replace("APP", app())) for k, v in scen["trailers"]]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "corscope-e2e"

    def log_message(self, fmt, *args):
        sys.stderr.write("[%s] %s\n" % (self.server.server_port, fmt % args))

    def send_raw(self, status, headers, body, method, status_line=None, trailers=None):
        lines = [status_line or f"HTTP/1.1 {status} {self.responses.get(status, ('X',))[0]}"]
        lines += [v if k is None else f"{k}: {v}" for k, v in headers]  # None: a raw line
        if trailers is None:
            lines += [f"{k}: {v}" for k, v in framing_fields(status, headers, body)]
        else:  # a chunked body, then the trailer section
            lines += ["Transfer-Encoding: chunked", "Cache-Control: no-store"]
            body = (b"%x\r\n%s\r\n" % (len(body), body) if body else b"") + b"0\r\n" + \
                b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in trailers) + b"\r\n"
        eol = getattr(self, "eol", "\r\n")  # the scenario's line ending (eol)
        data = (eol.join(lines) + eol + eol).encode("latin-1")
        if method != "HEAD":
            data += body
        self.wfile.write(data)
        self.log_request(status)

    def reset(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True
        self.log_message("%s reset", self.requestline)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        delay = answer_delay(self.command, self.path)
        if delay:
            time.sleep(delay)
        res = route(self.server.server_port, self.command, self.path, self.headers.get("Origin"),
                    body, self.server.results_path,
                    {k.lower(): v for k, v in self.headers.items()})
        if res == RESET:
            return self.reset()
        if res is None:
            res = r(404, [("Content-Type", "text/plain")], b"no such thing\n")
        scen = SCENARIOS.get(self.path[3:].split("?", 1)[0].split("/", 1)[0]) \
            if self.path.startswith("/s/") else None
        self.eol = scen.get("eol", "\r\n") if scen else "\r\n"
        line = scen.get("status_line") if scen else None
        if line:  # "APP" in it is the page's origin, as in h2_extra
            line = line.replace("APP", app())
        return self.send_raw(*res, self.command, line, scenario_trailers(scen))

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = handle_any

    def __getattr__(self, name):       # lower-case methods such as "patch"
        if name.startswith("do_"):
            return self.handle_any
        raise AttributeError(name)


# ---- TLS --------------------------------------------------------------------------

def make_certificate(workdir):
    """A throw-away self-signed certificate for the three names (the browsers
    are told to accept it: Chromium --ignore-certificate-errors, Firefox
    acceptInsecureCerts)."""
    key, cert = os.path.join(workdir, "server.key"), os.path.join(workdir, "server.crt")
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-subj", "/CN=corscope.test", "-days", "2",
                        "-addext", "subjectAltName=" + ",".join("DNS:" + h for h in ALL_HOSTS),
                        "-keyout", key, "-out", cert],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def tls_context(workdir, alpn, keylog=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*make_certificate(workdir))
    ctx.set_alpn_protocols([alpn])
    if keylog:
        ctx.keylog_filename = keylog       # the server's own secrets, a cross-check of the browser's
    return ctx


class TLSHTTPServer(ThreadingHTTPServer):
    """HTTP/1.1 over TLS; the handshake runs in the handler's thread."""

    def get_request(self):
        sock, addr = super().get_request()
        return self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def finish_request(self, request, client_address):
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError) as e:
            sys.stderr.write(f"[{self.server_port}] TLS handshake failed: {e}\n")
            return
        super().finish_request(request, client_address)


# ---- h2 (python3-h2, Debian's package) ---------------------------------------------

def serve_h2_connection(sock, port, results_path):
    import h2.config
    import h2.connection
    import h2.events
    try:
        sock.do_handshake()
    except (ssl.SSLError, OSError) as e:
        sys.stderr.write(f"[{port}] TLS handshake failed: {e}\n")
        sock.close()
        return
    # Outbound fields go as the scenario wrote them (names are lower-cased
    # by h2_answer): no validation or normalization, which would strip the
    # whitespace of the shape-*-space scenarios or refuse them.
    conn = h2.connection.H2Connection(h2.config.H2Configuration(
        client_side=False, header_encoding="latin-1",
        validate_outbound_headers=False, normalize_outbound_headers=False))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    streams = {}
    later = {}                                 # stream id -> (when, request): a delayed answer

    def complete(stream_id):
        req = streams.pop(stream_id)
        delay = answer_delay(req[0].get(":method", "GET"), req[0].get(":path", "/"))
        if delay:
            later[stream_id] = (time.monotonic() + delay, req)
        else:
            h2_answer(conn, stream_id, req, port, results_path)

    try:
        while True:
            now = time.monotonic()
            for sid in [s for s, (when, _) in later.items() if when <= now]:
                h2_answer(conn, sid, later.pop(sid)[1], port, results_path)
            out = conn.data_to_send()
            if out:
                sock.sendall(out)
            sock.settimeout(max(0.01, min(w for w, _ in later.values()) - now) if later else None)
            try:
                data = sock.recv(65536)
            except (socket.timeout, TimeoutError):
                continue
            finally:
                sock.settimeout(None)              # sendall blocks as before
            if not data:
                break
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.RequestReceived):
                    streams[ev.stream_id] = [dict(), b""]
                    for k, v in ev.headers:
                        streams[ev.stream_id][0].setdefault(k.lower(), v)
                    if ev.stream_ended:
                        complete(ev.stream_id)
                elif isinstance(ev, h2.events.DataReceived):
                    if ev.stream_id in streams:
                        streams[ev.stream_id][1] += ev.data
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id in streams:
                    complete(ev.stream_id)
                elif isinstance(ev, h2.events.StreamReset):
                    streams.pop(ev.stream_id, None)   # the client cancelled it: no answer
                    if later.pop(ev.stream_id, None):
                        sys.stderr.write(f"[{port}] h2 stream {ev.stream_id} reset by the client before its answer\n")
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    return
            out = conn.data_to_send()
            if out:
                sock.sendall(out)
    except (OSError, ssl.SSLError):
        pass
    except Exception as e:                     # a protocol error: log it, drop the connection
        sys.stderr.write(f"[{port}] h2: {type(e).__name__}: {e}\n")
    finally:
        sock.close()


def h2_answer(conn, stream_id, req, port, results_path):
    headers, body = req
    method, path = headers.get(":method", "GET"), headers.get(":path", "/")
    res = route(port, method, path, headers.get("origin"), body, results_path, headers)
    sys.stderr.write(f"[{port}] h2 {method} {path} stream {stream_id}\n")
    if res == RESET:                            # the h2 form of a reset: RST_STREAM
        conn.reset_stream(stream_id)
        return
    if res is None:
        res = r(404, [("Content-Type", "text/plain")], b"no such thing\n")
    status, hdrs, data = res
    scen = SCENARIOS.get(path[3:].split("?", 1)[0].split("/", 1)[0]) if path.startswith("/s/") else None
    as_is = bool(scen and scen.get("h2_names_as_is"))
    fields = [(k if as_is else k.lower(), v) for k, v in hdrs if k is not None]
    fields += [(k.lower(), v) for k, v in framing_fields(status, hdrs, data)]
    # h2_extra: "APP" in a value stands for the page's origin (this transport's)
    fields += [(k, v.replace("APP", app())) for k, v in scen.get("h2_extra", ())] if scen else []
    where = scen.get("h2_status", "first") if scen else "first"
    if where == "last":
        fields.append((":status", str(status)))
    elif isinstance(where, tuple):  # two :status fields with these values
        fields[:0] = [(":status", where[0]), (":status", where[1])]
    elif where == "twice":
        fields[:0] = [(":status", str(status)), (":status", str(status))]
    elif where == "first":
        fields.insert(0, (":status", str(status)))
    trailers = scenario_trailers(scen)
    if trailers is not None:
        fields = [(k, v) for k, v in fields if k != "content-length"]
    conn.send_headers(stream_id, fields, end_stream=trailers is None and (method == "HEAD" or not data))
    if data and method != "HEAD":  # in frames of at most the peer's SETTINGS_MAX_FRAME_SIZE
        step = conn.max_outbound_frame_size
        for i in range(0, len(data), step):
            conn.send_data(stream_id, data[i:i + step],
                           end_stream=trailers is None and i + step >= len(data))
    if trailers is not None:  # a HEADERS frame after the body ends the stream
        conn.send_headers(stream_id, [(k.lower(), v) for k, v in trailers], end_stream=True)


def serve_h2(port, ctx, results_path, bind):
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((bind, port))
    lsock.listen(64)

    def loop():
        while True:
            s, _ = lsock.accept()
            t = ctx.wrap_socket(s, server_side=True, do_handshake_on_connect=False)
            threading.Thread(target=serve_h2_connection, args=(t, port, results_path), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()
    return lsock


def serve(bind="127.0.0.1", results_path="/dev/null", transports=("http",), workdir=None, keylog=None):
    """Starts the servers of each transport; returns them.  TLS transports need
    `workdir` (for the certificate); `keylog` names the server's key log."""
    servers = []
    if workdir:
        servers.append(serve_tls_alert(CONN_TLS_ALERT_PORT, workdir, bind))
    for t in transports:
        d = TRANSPORTS[t]
        ctx = tls_context(workdir, d["alpn"], keylog) if d["alpn"] else None
        for port in d["ports"]:
            if d["alpn"] == "h2":
                servers.append(serve_h2(port, ctx, results_path, bind))
                continue
            srv = (TLSHTTPServer if ctx else ThreadingHTTPServer)((bind, port), Handler)
            srv.tls = ctx
            srv.daemon_threads = True
            srv.results_path = results_path
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            servers.append(srv)
    return servers


def main():
    if "--list" in sys.argv:
        print(json.dumps([{"name": s["name"], "call": s["call"]} for s in SCENARIOS.values()], indent=1))
        return
    bind = sys.argv[sys.argv.index("--bind") + 1] if "--bind" in sys.argv else "127.0.0.1"
    transports = sys.argv[sys.argv.index("--transports") + 1].split(",") if "--transports" in sys.argv \
        else ["http"]
    import tempfile
    serve(bind, transports=transports, workdir=tempfile.mkdtemp(prefix="corscope-server-"))
    for t in transports:
        print(f"serving {t}: " + " ".join(base_url(t, role) for role in ROLES) + f" on {bind}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
