"""Golden-test scenarios for corscope, written by `tools/gen-pcap.py scenarios OUTDIR`.

Each write_* function builds one capture with the engine `g` (the gen-pcap
module) and records, for every HTTP transaction, the expected outcome:
Firefox reason key (or "allowed", "n/a" for non-CORS, "unknown" when the
capture cannot decide, "warning:KEY" for a Firefox warning) and the Chromium
CorsError name without the leading k (or a net:: error, "allowed", "n/a").
Rows go to OUTDIR/scenarios.tsv.

Hosts: the browser is 192.0.2.10 (Firefox 128 and Chrome 131 user agents), the
page origin is http://app.example:8080 (198.51.100.10), the API is
http://api.example (198.51.100.20:80). Each flow has its own client port.
"""
import os
import struct
import zlib

CLIENT = "192.0.2.10"
APP_IP, APP_PORT = "198.51.100.10", 8080
API = ("198.51.100.20", 80)
ORIGIN = "http://app.example:8080"
FF, CH = "firefox", "chrome"


class Script:
    """Small helper around one Capture: numbered client ports and transactions."""

    def __init__(self, g, path, seed, first_port, **kw):
        self.g = g
        self.cap = g.Capture(path, seed=seed, **kw)
        self.port = first_port

    def conn(self, server=API, client=CLIENT, **kw):
        c = self.cap.connection((client, self.port), server, **kw)
        self.port += 1
        return c

    def req(self, c, raw, scen, ff, ch, **kw):
        """Send a request and record its expectation."""
        line = raw.split(b"\r\n", 1)[0].split(b" ")
        self.cap.expect(c.cport, scen, ff, ch, line[0].decode(), line[1].decode())
        self.cap.pause(0.5, 3)
        c.request(raw, **kw)

    def resp(self, c, status, headers=(), body=b"", tcp=None, **kw):
        """Send a response built by http_response(**kw); tcp: Connection._send knobs."""
        self.cap.pause(1, 25)
        c.response(self.g.http_response(status, headers, body, date_us=self.cap.t, **kw),
                   **(tcp or {}))

    def raw_resp(self, c, raw, **kw):
        self.cap.pause(1, 25)
        c.response(raw, **kw)

    def txn(self, c, raw, scen, ff, ch, status, headers=(), body=b"", **kw):
        self.req(c, raw, scen, ff, ch)
        self.resp(c, status, headers, body, **kw)

    def gap(self, ms=(20, 200)):
        self.cap.pause(*ms)


def png(w, h, seed=0):
    """A valid w x h RGB PNG (deterministic pixels)."""
    def chunk(t, d):
        return struct.pack("!I", len(d)) + t + d + struct.pack("!I", zlib.crc32(t + d))
    rows = b"".join(b"\0" + bytes((x * 7 + y * 13 + seed) & 255 for x in range(w * 3))
                    for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack("!IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def acao(v=ORIGIN):
    return ("Access-Control-Allow-Origin", v)


JSON = b'{"items":[{"id":1,"name":"lamp","price":19.9},{"id":2,"name":"desk","price":129}]}'
HTML_ERR = (b"<!DOCTYPE html><html><head><title>Error</title></head>"
            b"<body><h1>Internal Server Error</h1></body></html>")


def preflight_ok(acam="GET, POST, PUT, DELETE", acah="Content-Type, X-Custom", origin=ORIGIN,
                 max_age=None):
    h = [acao(origin), ("Access-Control-Allow-Methods", acam)]
    if acah:
        h.append(("Access-Control-Allow-Headers", acah))
    if max_age is not None:
        h.append(("Access-Control-Max-Age", str(max_age)))
    h.append(("Vary", "Origin"))
    return h


# ---------------------------------------------------------------------------
def write_reasons(g, path, seed):
    s = Script(g, path, seed, 41001)
    Q = g.browser_request

    c = s.conn()
    s.txn(c, Q(FF, "GET", "/v1/items"), "missing-acao", "CORSMissingAllowOrigin",
          "MissingAllowOriginHeader", 200, [], JSON)
    c.close(); s.gap()

    c = s.conn()
    s.txn(c, Q(CH, "POST", "/v1/feedback", body="great app", ctype="text/plain;charset=UTF-8"),
          "missing-acao-error-page", "CORSMissingAllowOrigin", "MissingAllowOriginHeader",
          500, [], HTML_ERR, ctype="text/html")
    c.close(); s.gap()

    c = s.conn()
    s.txn(c, Q(FF, "GET", "/v1/items"), "acao-other-origin", "CORSAllowOriginNotMatchingOrigin",
          "AllowOriginMismatch", 200, [acao("http://other.example")], JSON)
    c.close(); s.gap()

    c = s.conn()
    s.txn(c, Q(CH, "GET", "/v1/items?page=2"), "acao-trailing-slash",
          "CORSAllowOriginNotMatchingOrigin", "AllowOriginMismatch", 200,
          [acao(ORIGIN + "/")], JSON)
    c.close(); s.gap()

    c = s.conn()
    s.txn(c, Q(FF, "GET", "/v1/prices"), "acao-two-lines", "CORSMultipleAllowOriginNotAllowed",
          "MultipleAllowOriginValues", 200, [acao(), acao()], JSON)
    c.close(); s.gap()

    c = s.conn()
    s.txn(c, Q(FF, "GET", "/v1/prices?x=1"), "acao-exact-plus-lowercase",
          "CORSAllowOriginNotMatchingOrigin", "MultipleAllowOriginValues", 200,
          [acao(), ("access-control-allow-origin", ORIGIN)], JSON)
    c.close(); s.gap()

    c = s.conn()
    s.txn(c, Q(FF, "GET", "/v1/cart", cookie="sid=4f2a9c1e77; theme=dark"),
          "credentials-acao-wildcard", "CORSNotSupportingCredentials", "WildcardOriginNotAllowed",
          200, [acao("*"), ("Access-Control-Allow-Credentials", "true")], JSON)
    c.close(); s.gap()

    c = s.conn()
    s.txn(c, Q(CH, "GET", "/v1/cart", cookie="sid=4f2a9c1e77"), "credentials-missing-acac",
          "CORSMissingAllowCredentials", "InvalidAllowCredentials", 200,
          [acao(), ("Vary", "Origin")], JSON)
    c.close(); s.gap()

    # -- preflights (failed ones are never followed by the actual request) --
    c = s.conn()
    s.txn(c, Q(FF, "OPTIONS", "/v1/items/7", acrm="PUT", acrh="content-type"),
          "preflight-500-with-acao", "CORSPreflightDidNotSucceed", "PreflightInvalidStatus",
          500, [acao()], HTML_ERR, ctype="text/html")
    c.close(); s.gap()

    c = s.conn()
    s.txn(c, Q(CH, "OPTIONS", "/v1/items/8", acrm="PUT", acrh="content-type"),
          "preflight-404-no-acao", "CORSMissingAllowOrigin", "PreflightMissingAllowOriginHeader",
          404, [], b"Not Found", ctype="text/plain")
    c.close(); s.gap()

    c = s.conn()
    s.txn(c, Q(FF, "OPTIONS", "/v1/items/9", acrm="DELETE"), "preflight-acao-other-origin",
          "CORSAllowOriginNotMatchingOrigin", "PreflightAllowOriginMismatch", 204,
          preflight_ok(origin="http://other.example"), None)
    c.close(); s.gap()

    c = s.conn()
    s.txn(c, Q(FF, "OPTIONS", "/v1/items/10", acrm="PUT", acrh="content-type"),
          "invalid-allow-method", "CORSInvalidAllowMethod", "InvalidAllowMethodsPreflightResponse",
          204, preflight_ok(acam="PUT;", acah="content-type"), None)
    c.close(); s.gap()

    c = s.conn()
    s.txn(c, Q(CH, "OPTIONS", "/v1/items/11", acrm="PUT", acrh="content-type"),
          "method-not-found", "CORSMethodNotFound", "MethodDisallowedByPreflightResponse",
          204, preflight_ok(acam="GET, POST", acah="content-type"), None)
    c.close(); s.gap()

    c = s.conn()
    s.txn(c, Q(FF, "OPTIONS", "/v1/items/12", acrm="PUT", acrh="x-custom"),
          "invalid-allow-header", "CORSInvalidAllowHeader", "InvalidAllowHeadersPreflightResponse",
          204, preflight_ok(acam="PUT", acah="X Foo"), None)
    c.close(); s.gap()

    c = s.conn()
    s.txn(c, Q(FF, "OPTIONS", "/v1/items/13", acrm="PUT", acrh="x-custom"),
          "missing-allow-header", "CORSMissingAllowHeaderFromPreflight",
          "HeaderDisallowedByPreflightResponse", 204,
          preflight_ok(acam="GET, PUT", acah="x-other"), None)
    c.close(); s.gap()

    c = s.conn()
    s.txn(c, Q(FF, "OPTIONS", "/v1/items/14", acrm="PUT", acrh="content-type"),
          "preflight-redirect", "CORSExternalRedirectNotAllowed", "PreflightDisallowedRedirect",
          301, [("Location", "http://api.example/v2/items/14"), acao("*")],
          b"Moved", ctype="text/plain")
    c.close(); s.gap()

    c = s.conn()
    s.txn(c, Q(FF, "GET", "/v1/export"), "redirect-to-ftp", "CORSRequestNotHttp",
          "CorsDisabledScheme", 302,
          [("Location", "ftp://files.example/export.csv"), acao()], b"", ctype=None)
    c.close(); s.gap()

    c = s.conn()
    s.txn(c, Q(CH, "GET", "/v1/old-items"), "redirect-missing-acao", "CORSMissingAllowOrigin",
          "MissingAllowOriginHeader", 302, [("Location", "http://api.example/v1/items")],
          b"", ctype=None)
    c.close(); s.gap()

    # -- no response at all --
    c = s.conn()
    s.req(c, Q(FF, "OPTIONS", "/v1/items/15", acrm="PUT", acrh="content-type"),
          "preflight-reset", "CORSDidNotSucceed", "net::ERR_CONNECTION_RESET")
    c.reset(by="server"); s.gap()

    for attempt in range(3):     # Firefox retries after a reset: one failure, 3 attempts
        c = s.conn()
        s.req(c, Q(FF, "GET", "/v1/reports"), "get-reset-retried-%d" % (attempt + 1),
              "folded" if attempt else "CORSDidNotSucceed", "net::ERR_CONNECTION_RESET")
        c.reset(by="server")
        s.gap((2, 30))
    s.gap()

    c = s.conn()
    s.req(c, Q(CH, "GET", "/v1/slow"), "get-fin-no-response", "CORSDidNotSucceed",
          "net::ERR_EMPTY_RESPONSE")
    s.gap((50, 300))
    c.close(by="server"); s.gap()

    # -- preflight succeeds, actual fails (actual on a new connection) --
    c = s.conn()
    s.txn(c, Q(FF, "OPTIONS", "/v1/items/16", acrm="PUT", acrh="content-type"),
          "preflight-ok-actual-missing-acao", "allowed", "allowed", 204,
          preflight_ok(acah="content-type"), None)
    c2 = s.conn()
    s.txn(c2, Q(FF, "PUT", "/v1/items/16", body=b'{"name":"lamp"}', ctype="application/json"),
          "preflight-ok-actual-missing-acao", "CORSMissingAllowOrigin", "MissingAllowOriginHeader",
          500, [], HTML_ERR, ctype="text/html")
    c2.close(); c.close()
    s.cap.finish()
    return s.cap.rows


# ---------------------------------------------------------------------------
def write_success(g, path, seed):
    s = Script(g, path, seed, 42001)
    Q = g.browser_request

    c = s.conn()
    s.txn(c, Q(FF, "GET", "/v1/items"), "simple-get-acao-wildcard", "allowed", "allowed",
          200, [acao("*")], JSON)
    s.txn(c, Q(FF, "HEAD", "/v1/items"), "simple-head-acao-wildcard", "allowed", "allowed",
          200, [acao("*")], None)
    c.close(); s.gap()

    c = s.conn()
    s.txn(c, Q(CH, "GET", "/v1/cart", cookie="sid=4f2a9c1e77"), "credentialed-get", "allowed",
          "allowed", 200, [acao(), ("Access-Control-Allow-Credentials", "true"),
                           ("Vary", "Origin")], JSON)
    s.txn(c, Q(CH, "POST", "/v1/log", body="clicked=buy", ctype="text/plain;charset=UTF-8"),
          "simple-post-text-plain", "allowed", "allowed", 204, [acao()], None)
    c.close(); s.gap()

    c = s.conn()
    s.txn(c, Q(FF, "OPTIONS", "/v1/items/42", acrm="PUT", acrh="content-type,x-request-id"),
          "preflighted-put", "allowed", "allowed", 204,
          preflight_ok(acam="GET, PUT, DELETE", acah="Content-Type, X-Request-Id"), None)
    s.txn(c, Q(FF, "PUT", "/v1/items/42", body=b'{"name":"lamp","price":21}',
               ctype="application/json", headers=[("X-Request-Id", "7f3e")]),
          "preflighted-put", "allowed", "allowed", 200, [acao(), ("Vary", "Origin")],
          b'{"id":42,"name":"lamp","price":21}')
    c.close(); s.gap()

    app = (APP_IP, APP_PORT)
    c = s.conn(server=app)
    s.txn(c, Q(FF, "GET", "/", host="app.example:8080", origin=None, referer=None,
               accept="text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
          "same-origin-document", "n/a", "n/a", 200, [], b"<!DOCTYPE html><title>app</title>",
          ctype="text/html; charset=utf-8")
    s.txn(c, Q(FF, "GET", "/api/me", host="app.example:8080", origin=None),
          "same-origin-get-no-origin", "n/a", "n/a", 200, [], b'{"user":"ana"}')
    s.txn(c, Q(FF, "PUT", "/api/prefs", host="app.example:8080", body=b'{"theme":"dark"}',
               ctype="application/json"),
          "same-origin-put-with-origin", "n/a", "n/a", 204, [], None)
    c.close(); s.gap()

    c = s.conn()
    s.txn(c, Q(CH, "GET", "/img/logo.png", origin=None,
               accept="image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"),
          "no-cors-image", "n/a", "n/a", 200, [], png(24, 24),
          ctype="image/png")
    c.close(); s.gap()

    c = s.conn()
    s.txn(c, Q(FF, "OPTIONS", "/v1/notes/5", acrm="PUT", acrh="content-type"),
          "preflight-max-age-600", "allowed", "allowed", 204,
          preflight_ok(acam="PUT", acah="content-type", max_age=600), None)
    s.txn(c, Q(FF, "PUT", "/v1/notes/5", body=b'{"text":"a"}', ctype="application/json"),
          "preflight-cache-hit-1", "allowed", "allowed", 200, [acao()], b'{"ok":true}')
    c.close()
    s.gap((3000, 5000))
    c = s.conn()
    s.txn(c, Q(FF, "PUT", "/v1/notes/5", body=b'{"text":"ab"}', ctype="application/json"),
          "preflight-cache-hit-2", "allowed", "allowed", 200, [acao()], b'{"ok":true}')
    c.close(); s.gap()

    c = s.conn()
    s.txn(c, Q(FF, "OPTIONS", "/v1/private", acrm="GET", acrh="authorization"),
          "authorization-under-acah-wildcard",
          "warning:CORSAllowHeaderFromPreflightDeprecation", "allowed", 204,
          [acao("*"), ("Access-Control-Allow-Methods", "GET"),
           ("Access-Control-Allow-Headers", "*")], None)
    s.txn(c, Q(FF, "GET", "/v1/private", headers=[("Authorization", "Bearer eyJhbGciOi.x.y")]),
          "authorization-under-acah-wildcard", "allowed", "allowed", 200, [acao("*")], JSON)
    c.close(); s.gap()

    c = s.conn()
    s.txn(c, Q(CH, "GET", "/v1/shared"), "acao-list-in-one-line",
          "CORSAllowOriginNotMatchingOrigin", "MultipleAllowOriginValues", 200,
          [acao("http://a.example, " + ORIGIN)], JSON)
    c.close(); s.gap()

    c = s.conn()
    s.txn(c, Q(FF, "OPTIONS", "/v1/items/43", acrm="patch", acrh="content-type"),
          "method-lowercase-patch", "CORSMethodNotFound", "MethodDisallowedByPreflightResponse",
          204, preflight_ok(acam="GET, PATCH", acah="content-type"), None)
    c.close(); s.gap()

    c = s.conn()
    s.txn(c, Q(CH, "OPTIONS", "/v1/items/44", acrm="PATCH", acrh="content-type"),
          "method-uppercase-patch", "allowed", "allowed",
          204, preflight_ok(acam="GET, PATCH", acah="content-type"), None)
    s.txn(c, Q(CH, "PATCH", "/v1/items/44", body=b'{"price":20}', ctype="application/json"),
          "method-uppercase-patch", "allowed", "allowed", 200, [acao()], b'{"id":44}')
    c.close()
    s.cap.finish()
    return s.cap.rows


# ---------------------------------------------------------------------------
def write_demo(g, path, seed):
    s = Script(g, path, seed, 51200)
    Q = g.browser_request
    cap = s.cap
    app = (APP_IP, APP_PORT)
    doc_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    p = s.conn(server=app)
    s.txn(p, Q(FF, "GET", "/", host="app.example:8080", origin=None, referer=None,
               accept=doc_accept, headers=[("Upgrade-Insecure-Requests", "1")]),
          "page-document", "n/a", "n/a", 200, [("Cache-Control", "no-cache")],
          b"<!DOCTYPE html><html><head><title>Shop</title><link rel=stylesheet "
          b"href=/static/app.css><script src=/static/app.js></script></head>"
          b"<body><div id=app></div></body></html>" + b"\n" * 600,
          ctype="text/html; charset=utf-8")
    s.txn(p, Q(FF, "GET", "/static/app.css", host="app.example:8080", origin=None,
               referer="http://app.example:8080/", accept="text/css,*/*;q=0.1"),
          "page-stylesheet", "n/a", "n/a", 200, [], b"body{font:14px sans-serif}\n" * 80,
          ctype="text/css")
    s.txn(p, Q(FF, "GET", "/static/app.js", host="app.example:8080", origin=None,
               referer="http://app.example:8080/"),
          "page-script", "n/a", "n/a", 200, [],
          b"fetch('http://api.example/v1/session',{credentials:'include'});\n" * 70,
          ctype="text/javascript")

    A, B, C = s.conn(), s.conn(), s.conn()
    ok_pre = preflight_ok(acam="GET, POST, PUT, DELETE", acah="Content-Type", max_age=600)
    cookie = "sid=9d1c0e4b7a2f; cart=17"
    J = b'{"ok":true,"data":[1,2,3]}'

    # overlapping requests: A and B in flight together
    s.req(A, Q(FF, "GET", "/v1/session", cookie=cookie), "session", "allowed", "allowed")
    s.req(B, Q(FF, "GET", "/v1/products?page=1"), "products-chunked", "allowed", "allowed")
    s.resp(B, 200, [acao("*")], JSON * 30, chunked=True)
    s.resp(A, 200, [acao(), ("Access-Control-Allow-Credentials", "true"), ("Vary", "Origin")],
           b'{"user":"ana","cart":17}')
    s.txn(C, Q(FF, "GET", "/v1/config", headers=[("If-None-Match", '"cfg-v12"')]),
          "config-304", "unknown", "unknown", 304, [acao("*"), ("ETag", '"cfg-v12"')], None)
    s.txn(A, Q(FF, "OPTIONS", "/v1/cart/items", acrm="POST", acrh="content-type"),
          "cart-preflight", "allowed", "allowed", 204, ok_pre, None)
    s.req(A, Q(FF, "POST", "/v1/cart/items", body=b'{"product":42,"qty":1}',
               ctype="application/json"), "cart-add", "allowed", "allowed")
    s.req(B, Q(FF, "GET", "/v1/recommendations"), "recommendations-no-acao",
          "CORSMissingAllowOrigin", "MissingAllowOriginHeader")
    s.resp(A, 201, [acao(), ("Vary", "Origin")], b'{"id":901}')
    s.resp(B, 200, [], JSON)
    s.txn(C, Q(FF, "OPTIONS", "/v1/cart/items/17", acrm="DELETE"), "cart-delete-preflight",
          "CORSMethodNotFound", "MethodDisallowedByPreflightResponse", 204,
          preflight_ok(acam="GET, POST", acah="Content-Type"), None)
    s.txn(A, Q(FF, "GET", "/v1/avatar/ana.png", origin=None, accept="image/avif,image/webp,*/*"),
          "avatar-image", "n/a", "n/a", 200, [], png(32, 32, 5),
          ctype="image/png")
    s.txn(B, Q(FF, "GET", "/v1/notifications", cookie=cookie), "notifications-wildcard-creds",
          "CORSNotSupportingCredentials", "WildcardOriginNotAllowed", 200, [acao("*")], J)
    s.txn(C, Q(FF, "OPTIONS", "/v1/profile", acrm="PUT", acrh="content-type,x-csrf-token"),
          "profile-preflight", "CORSMissingAllowHeaderFromPreflight",
          "HeaderDisallowedByPreflightResponse", 204,
          preflight_ok(acam="GET, PUT", acah="Content-Type"), None)
    s.txn(A, Q(FF, "GET", "/v1/products/42"), "product", "allowed", "allowed", 200,
          [acao(), ("Vary", "Origin")], b'{"id":42,"name":"lamp"}')
    s.txn(B, Q(FF, "OPTIONS", "/v1/orders", acrm="POST", acrh="content-type"),
          "orders-preflight-404", "CORSPreflightDidNotSucceed", "PreflightInvalidStatus", 404,
          [acao()], b"no route", ctype="text/plain")
    s.req(C, Q(FF, "GET", "/v1/search?q=lamp"), "search", "allowed", "allowed")
    s.req(A, Q(FF, "POST", "/v1/cart/items", body=b'{"product":7,"qty":2}',
               ctype="application/json"), "cart-add-cached-preflight", "allowed", "allowed")
    s.resp(C, 200, [acao("*")], JSON * 4)
    s.resp(A, 201, [acao(), ("Vary", "Origin")], b'{"id":902}')
    s.txn(B, Q(FF, "GET", "/v1/reviews?product=42"), "reviews", "allowed", "allowed", 200,
          [acao("*")], J)
    s.gap((500, 900))
    for c in (B, C, A, p):
        c.close()
        cap.pause(1, 5)
    cap.finish()
    return cap.rows


# ---------------------------------------------------------------------------
def write_ugly(g, path, seed):
    s = Script(g, path, seed, 44001)
    Q = g.browser_request
    body6k = (JSON * 80)[:6000]

    c = s.conn()
    s.req(c, Q(FF, "GET", "/v1/big"), "out-of-order-response", "allowed", "allowed")
    s.resp(c, 200, [acao("*")], body6k, tcp={"swap": {1, 3}})
    c.close(); s.gap()

    c = s.conn()
    s.req(c, Q(FF, "GET", "/v1/big?r=1"), "retransmissions", "allowed", "allowed",
          retransmit={0})
    s.resp(c, 200, [acao()], body6k, tcp={"retransmit": {0, 2}})
    c.close(); s.gap()

    c = s.conn()
    s.req(c, Q(FF, "GET", "/v1/big?lost=body"), "lost-segment-in-body", "allowed", "allowed")
    s.resp(c, 200, [acao("*")], body6k, tcp={"lose": {2}})
    s.txn(c, Q(FF, "GET", "/v1/after-loss"), "after-lost-body-segment",
          "CORSMissingAllowOrigin", "MissingAllowOriginHeader", 200, [], JSON)
    c.close(); s.gap()

    c = s.conn()
    big_cookie = "sid=77aa; prefs=" + "x" * 3000
    s.req(c, Q(FF, "GET", "/v1/profile", cookie=big_cookie), "lost-segment-in-request-headers",
          "unknown", "unknown", lose={1})
    s.resp(c, 200, [acao(), ("Access-Control-Allow-Credentials", "true")], JSON)
    s.txn(c, Q(FF, "GET", "/v1/after-header-loss"), "after-lost-header-segment", "allowed",
          "allowed", 200, [acao("*")], JSON)
    c.close(); s.gap()

    c = s.conn(established=True)       # capture starts mid-connection: no SYN
    s.raw_resp(c, (JSON * 20)[:900])   # tail of a previous response body
    s.txn(c, Q(CH, "GET", "/v1/midstream"), "mid-stream-start", "CORSMissingAllowOrigin",
          "MissingAllowOriginHeader", 200, [], JSON)
    c.close(); s.gap()

    c = s.conn()
    reqs = [Q(FF, "GET", "/v1/pipe/%d" % i) for i in (1, 2, 3)]
    for i, r in enumerate(reqs):
        line = r.split(b"\r\n", 1)[0].split(b" ")
        s.cap.expect(c.cport, "pipelined-%d" % (i + 1),
                     "CORSMissingAllowOrigin" if i == 1 else "allowed",
                     "MissingAllowOriginHeader" if i == 1 else "allowed",
                     line[0].decode(), line[1].decode())
    c.request(b"".join(reqs))
    R = g.http_response
    s.raw_resp(c, R(200, [acao("*")], JSON, date_us=s.cap.t) + R(200, [], JSON, date_us=s.cap.t)
               + R(200, [acao()], JSON * 5, date_us=s.cap.t, chunked=True))
    c.close(); s.gap()

    for order in ("in", "reverse"):
        c = s.conn()
        s.req(c, Q(CH, "POST", "/v1/upload", body=("line of text\n" * 100).encode(),
                   ctype="text/plain"), "ipv4-fragments-" + order, "allowed", "allowed",
              fragment={0}, frag_size=512, frag_order=order)
        s.resp(c, 200, [acao()], b'{"stored":true}')
        c.close(); s.gap()

    c = s.conn(vlans=[(0x8100, 100)])
    s.txn(c, Q(FF, "GET", "/v1/vlan"), "vlan-802.1q", "allowed", "allowed", 200,
          [acao("*")], JSON)
    c.close(); s.gap()

    c = s.conn(server=("2001:db8::20", 80), client="2001:db8::10")
    s.txn(c, Q(FF, "GET", "/v1/ipv6"), "ipv6", "CORSAllowOriginNotMatchingOrigin",
          "AllowOriginMismatch", 200, [acao("http://app.example")], JSON)
    c.close(); s.gap()

    c = s.conn()
    s.req(c, Q(FF, "GET", "/v1/dup"), "duplicated-acao-out-of-order",
          "CORSMultipleAllowOriginNotAllowed", "MultipleAllowOriginValues")
    s.resp(c, 200, [acao(), acao()], body6k, tcp={"swap": {0}})
    c.close(); s.gap()

    # a response whose header block passes --max-header-bytes (32 KiB), its
    # Content-Length after the cut: not judged, and the next exchange on the
    # connection is read where it starts, not as that response's body
    c = s.conn()
    pad = [("X-Pad-%d" % i, "p" * 1000) for i in range(40)]
    s.txn(c, Q(FF, "GET", "/v1/huge-headers"), "header-block-over-the-byte-cap", "unknown", "unknown",
          200, pad + [acao()], JSON)
    s.txn(c, Q(FF, "GET", "/v1/after-huge-headers"), "after-header-block-over-the-byte-cap",
          "allowed", "allowed", 200, [acao("*")], JSON)
    c.close()
    s.cap.finish()
    return s.cap.rows


def write_linktype(g, path, seed, linktype, vlans=()):
    s = Script(g, path, seed, 45001, linktype=linktype)
    c = s.conn(vlans=vlans)
    s.txn(c, g.browser_request(FF, "GET", "/v1/ping"), "linktype-" + os.path.basename(path)[10:-5],
          "allowed", "allowed", 200, [acao("*")], b'{"pong":true}')
    c.close()
    s.cap.finish()
    return s.cap.rows


def write_all(g, outdir, seed=1):
    os.makedirs(outdir, exist_ok=True)
    jobs = [
        ("cors-firefox-reasons.pcap", lambda p, sd: write_reasons(g, p, sd)),
        ("cors-success.pcap", lambda p, sd: write_success(g, p, sd)),
        ("demo.pcap", lambda p, sd: write_demo(g, p, sd)),
        ("ugly-tcp.pcap", lambda p, sd: write_ugly(g, p, sd)),
        ("linktypes-raw.pcap", lambda p, sd: write_linktype(g, p, sd, "raw")),
        ("linktypes-sll.pcap", lambda p, sd: write_linktype(g, p, sd, "sll")),
        ("linktypes-sll2.pcap", lambda p, sd: write_linktype(g, p, sd, "sll2")),
        ("linktypes-null.pcap", lambda p, sd: write_linktype(g, p, sd, "null")),
        ("linktypes-qinq.pcap", lambda p, sd: write_linktype(
            g, p, sd, "ether", vlans=[(0x88A8, 10), (0x8100, 20)])),
    ]
    lines = ["file\tclient_port\tscenario\tfirefox\tchromium\tmethod\turi"]
    for i, (name, fn) in enumerate(jobs):
        rows = fn(os.path.join(outdir, name), seed * 1000 + i)
        for port, scen, ff, ch, m, u in rows:
            lines.append("\t".join((name, str(port), scen, ff, ch, m, u)))
    with open(os.path.join(outdir, "scenarios.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")
    for name, _ in jobs:
        print("%-28s %7d bytes" % (name, os.path.getsize(os.path.join(outdir, name))))
