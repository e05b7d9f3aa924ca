#!/usr/bin/env python3
"""CORS scenario server for the real-browser end-to-end test (stdlib only).

Three origins on loopback, all served by this one process:
  app  http://app.corscope.test:8080   the page (index.html) and same-origin endpoints
  api  http://api.corscope.test:8081   one endpoint per scenario: /s/<scenario>[/...]
  far  http://far.corscope.test:8082   redirect targets on a third origin

The host names must resolve to 127.0.0.1 (run.py bind-mounts an /etc/hosts in
its own mount namespace and gives Chromium --host-resolver-rules).  The three
names share the site corscope.test, so a SameSite=Lax cookie set by the API
origin goes out on credentialed cross-origin fetches from the page.

Every scenario has its own URL path, so a request on the wire, a browser
console message and a scenario name map onto each other by URL.  The page
exposes window.runScenario(name) (the driver calls it once per scenario and
reads the console in between) and, with ?auto=1, runs them all by itself.

Usage: server.py [--bind 127.0.0.1] [--list]   (--list prints the scenarios as JSON)
"""
import json
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

APP_PORT, API_PORT, FAR_PORT = 8080, 8081, 8082
APP = f"http://app.corscope.test:{APP_PORT}"
API = f"http://api.corscope.test:{API_PORT}"
FAR = f"http://far.corscope.test:{FAR_PORT}"
HOSTS = ("app.corscope.test", "api.corscope.test", "far.corscope.test")

ACAO = "Access-Control-Allow-Origin"
RESET = "RESET"


def r(status=200, headers=(), body=b"ok\n"):
    return (status, list(headers), body)


def acao(v=APP):
    return (ACAO, v)


def preflight_ok(methods="PUT, DELETE, PATCH", headers=None, extra=()):
    h = [acao(), ("Access-Control-Allow-Methods", methods)]
    if headers is not None:
        h.append(("Access-Control-Allow-Headers", headers))
    return r(204, h + list(extra), b"")


# name -> (call, respond).  call: how the page issues the request
#   api: "fetch" | "xhr"; method; headers; body; cred (credentials include /
#   withCredentials); base: "api" | "app" (same-origin); times: repeat count.
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
    return r(302, [acao(), ("Location", f"{API}/s/ok-redirect-same-origin/next")], b"")


@scenario("ok-redirect-far-tainted")
def _(m, p, o):
    if p.endswith("/next"):
        return r(200, [acao(o or "null")])     # Origin is "null" after the cross-origin hop
    return r(307, [acao(), ("Location", f"{FAR}/s/ok-redirect-far-tainted/next")], b"")


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
    return r(302, [("Location", f"{API}/s/missing-acao-redirect/next")], b"")


@scenario("missing-acao-preflight-404", {"method": "PUT", "body": "x"})
def _(m, p, o):
    return r(404, [], b"") if m == "OPTIONS" else r(200, [acao()])


# ---- CORSAllowOriginNotMatchingOrigin ------------------------------------------

@scenario("mismatch-other-origin")
def _(m, p, o):
    return r(200, [acao("http://evil.corscope.test:8080")])


@scenario("mismatch-trailing-slash")
def _(m, p, o):
    return r(200, [acao(APP + "/")])


@scenario("mismatch-list-in-one-line")
def _(m, p, o):
    return r(200, [acao(f"{APP}, {FAR}")])


@scenario("mismatch-preflight", {"method": "PUT", "body": "x"})
def _(m, p, o):
    if m == "OPTIONS":
        return r(204, [acao(FAR), ("Access-Control-Allow-Methods", "PUT")], b"")
    return r(200, [acao()])


# ---- CORSMultipleAllowOriginNotAllowed -----------------------------------------

@scenario("multiple-acao-lines")
def _(m, p, o):
    return r(200, [acao(), acao()])


@scenario("multiple-acao-wildcards")
def _(m, p, o):
    return r(200, [acao("*"), acao("*")])


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


# ---- CORSPreflightDidNotSucceed ------------------------------------------------

@scenario("preflight-status-500", {"method": "PUT", "body": "x"})
def _(m, p, o):
    if m == "OPTIONS":
        return r(500, [acao(), ("Access-Control-Allow-Methods", "PUT")], b"")
    return r(200, [acao()])


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


# ---- CORSExternalRedirectNotAllowed --------------------------------------------

@scenario("preflight-redirect-far", {"method": "PUT", "body": "x"})
def _(m, p, o):
    if m == "OPTIONS" and not p.endswith("/next"):
        return r(307, [acao(), ("Access-Control-Allow-Methods", "PUT"),
                       ("Location", f"{FAR}/s/preflight-redirect-far/next")], b"")
    return preflight_ok("PUT") if m == "OPTIONS" else r(200, [acao("*")])


@scenario("preflight-redirect-same-origin", {"method": "DELETE"})
def _(m, p, o):
    if m == "OPTIONS" and not p.endswith("/next"):
        return r(308, [acao(), ("Location", f"{API}/s/preflight-redirect-same-origin/next")], b"")
    return preflight_ok("DELETE") if m == "OPTIONS" else r(200, [acao()])


@scenario("preflight-redirect-no-acao", {"method": "PUT", "body": "x"})
def _(m, p, o):
    if m == "OPTIONS" and not p.endswith("/next"):
        return r(307, [("Location", f"{API}/s/preflight-redirect-no-acao/next")], b"")
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


# ---- the HTTP side -----------------------------------------------------------------

PAGE = """<!doctype html>
<meta charset=utf-8>
<title>corscope browser scenarios</title>
<pre id=log></pre>
<script>
const SCENARIOS = %s;
const API = %s, APP = %s;
function call(s) {
  const c = s.call, url = (c.base === "app" ? APP : API) + "/s/" + s.name;
  if (c.api === "xhr") {
    return new Promise(resolve => {
      const x = new XMLHttpRequest();
      x.open(c.method, url);
      if (c.cred) x.withCredentials = true;
      for (const [k, v] of Object.entries(c.headers || {})) x.setRequestHeader(k, v);
      x.onload = () => resolve("ok " + x.status);
      x.onerror = () => resolve("error");
      x.timeout = 8000; x.ontimeout = () => resolve("timeout");
      x.send(c.body === undefined ? null : c.body);
    });
  }
  const init = {method: c.method, headers: c.headers || {}};   // no cache mode: it would bypass the preflight cache
  if (c.cred) init.credentials = "include";
  if (c.body !== undefined) init.body = c.body;
  return Promise.race([
    fetch(url, init).then(r => "ok " + r.status, e => "error " + e.name),
    new Promise(res => setTimeout(() => res("timeout"), 8000))]);
}
async function runScenario(name) {
  const s = SCENARIOS.find(x => x.name === name);
  const out = [];
  for (let i = 0; i < (s.call.times || 1); i++) out.push(await call(s));
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


def page():
    calls = [{"name": s["name"], "call": s["call"]} for s in SCENARIOS.values()]
    return (PAGE % (json.dumps(calls, indent=1), json.dumps(API), json.dumps(APP))).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "corscope-e2e"

    def log_message(self, fmt, *args):
        sys.stderr.write("[%s] %s\n" % (self.server.server_port, fmt % args))

    def send_raw(self, status, headers, body, method):
        lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('X',))[0]}"]
        lines += [f"{k}: {v}" for k, v in headers]
        lines += [f"Content-Length: {len(body)}", "Cache-Control: no-store"]
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
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
        path = self.path.split("?", 1)[0]
        port = self.server.server_port
        method = self.command
        if port == APP_PORT and path in ("/", "/index.html"):
            return self.send_raw(200, [("Content-Type", "text/html; charset=utf-8")], page(), method)
        if port == APP_PORT and path == "/results":
            with open(self.server.results_path, "wb") as f:
                f.write(body)
            return self.send_raw(204, [], b"", method)
        if path.startswith("/s/"):
            name = path[3:].split("/", 1)[0]
            s = SCENARIOS.get(name)
            base = s and s["call"].get("base", "api")
            if s and (port == FAR_PORT or port == {"api": API_PORT, "app": APP_PORT}[base]):
                res = s["respond"](method, path, self.headers.get("Origin"))
                if res == RESET:
                    return self.reset()
                st, hdrs, b = res
                return self.send_raw(st, hdrs + [("Content-Type", "text/plain")], b, method)
        return self.send_raw(404, [("Content-Type", "text/plain")], b"no such thing\n", method)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = handle_any

    def __getattr__(self, name):       # lower-case methods such as "patch"
        if name.startswith("do_"):
            return self.handle_any
        raise AttributeError(name)


def serve(bind="127.0.0.1", results_path="/dev/null"):
    servers = []
    for port in (APP_PORT, API_PORT, FAR_PORT):
        srv = ThreadingHTTPServer((bind, port), Handler)
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
    serve(bind)
    print(f"serving {APP} {API} {FAR} on {bind}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
