#!/usr/bin/env python3
"""Real browsers as the judge: run every scenario of server.py in headless
Firefox ESR and Chromium (Debian packages), capture the traffic with tcpdump,
record what each browser itself reported, and compare with corscope.

Everything runs as root inside a fresh network + mount namespace
(`unshare --net --mount`) that has only `lo`; the scenario host names are put
into a private /etc/hosts bind-mounted in that namespace.  No packet leaves it.

Browser truth:
  Chromium  DevTools protocol (--remote-debugging-port, a minimal websocket
            client below): Network.loadingFailed carries corsErrorStatus.corsError
            (the CorsError name) or errorText (net::ERR_...); Log.entryAdded the
            console text.  --enable-logging=stderr --v=0 also prints the console
            lines; they are saved beside the results as a cross-check.
  Firefox   Marionette (--marionette, its length-prefixed JSON protocol) in the
            chrome context (--remote-allow-system-access): every nsIScriptError in
            Services.console whose category starts with "CORS"; the category is the
            reason key (digits suffix stripped), the errorMessage the console text.
The driver calls window.runScenario(NAME) in the page for one scenario at a time
and reads the browser's messages after each one, so each message belongs to
exactly one scenario.

Usage: run.py [--out DIR] [--browsers firefox,chromium] [--transports http,https,h2|all]
              [--scenarios NAME,...] [--commit]
  --out DIR   where pcaps, truth and logs go (default tests/out/browser)
  --transports  which of server.TRANSPORTS to run (default all): https is
              HTTP/1.1 over TLS, h2 HTTP/2 over TLS; each browser writes its
              TLS secrets to BROWSER-TRANSPORT.keys (SSLKEYLOGFILE), which
              corscope reads with --keylog; transports.tsv lists the scenarios
              whose verdict in one browser differs between transports
  --scenarios only these scenarios (development; never committed)
  --commit    also copy the pcaps, truth.tsv and console logs to pcaps/browser/
Exit 1 when corscope disagrees with a browser.
"""
import base64
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import server  # noqa: E402
import compare  # noqa: E402

CDP_PORT = 9222
MARIONETTE_PORT = 2828
FIREFOX = "firefox-esr"
CHROMIUM = "chromium"
SETTLE = 0.4          # seconds to wait after a scenario for late console messages


def log(*a):
    print("[run]", *a, file=sys.stderr, flush=True)


# ---- a minimal websocket client (RFC 6455, client side, text frames) ---------

class WebSocket:
    def __init__(self, url, timeout=30):
        assert url.startswith("ws://")
        hostport, _, path = url[5:].partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port or 80)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        resp = b""
        while b"\r\n\r\n" not in resp:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("websocket handshake: connection closed")
            resp += chunk
        head, _, self.buf = resp.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise ConnectionError("websocket handshake failed: " + head.decode(errors="replace"))

    def send(self, text):
        data = text.encode()
        hdr = bytes([0x81])
        n = len(data)
        if n < 126:
            hdr += bytes([0x80 | n])
        elif n < 65536:
            hdr += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            hdr += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        self.sock.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("websocket closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        """Next complete text message (continuations joined), or raises socket.timeout."""
        parts = []
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            op = b0 & 0x0F
            if op == 0x8:
                raise ConnectionError("websocket closed by peer")
            if op == 0x9:                                   # ping -> pong
                self.sock.sendall(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
                continue
            if op in (0x1, 0x2, 0x0):
                parts.append(payload)
                if b0 & 0x80:
                    return b"".join(parts).decode()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class CDP:
    """DevTools protocol over the websocket above; events are kept in order."""

    def __init__(self, ws_url):
        self.ws = WebSocket(ws_url)
        self.next_id = 0
        self.events = []

    def call(self, method, params=None, timeout=60):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params or {}}))
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.ws.sock.settimeout(max(0.1, deadline - time.time()))
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)
        raise TimeoutError(method)

    def pump(self, seconds):
        end = time.time() + seconds
        while time.time() < end:
            self.ws.sock.settimeout(max(0.05, end - time.time()))
            try:
                msg = json.loads(self.ws.recv())
            except (socket.timeout, TimeoutError):
                break
            if "method" in msg:
                self.events.append(msg)


class Marionette:
    """Firefox's Marionette protocol: 'LEN:JSON' messages, [0, id, cmd, params]."""

    def __init__(self, port, timeout=60):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.3)
        self.buf = b""
        self.next_id = 0
        self._recv()                                        # the hello

    def _recv(self):
        while b":" not in self.buf:
            self.buf += self._chunk()
        n, _, rest = self.buf.partition(b":")
        n = int(n)
        while len(rest) < n:
            rest += self._chunk()
        self.buf = rest[n:]
        return json.loads(rest[:n])

    def _chunk(self):
        c = self.sock.recv(65536)
        if not c:
            raise ConnectionError("marionette closed")
        return c

    def call(self, cmd, params=None):
        self.next_id += 1
        data = json.dumps([0, self.next_id, cmd, params or {}]).encode()
        self.sock.sendall(str(len(data)).encode() + b":" + data)
        while True:
            msg = self._recv()
            if msg[0] == 1 and msg[1] == self.next_id:
                if msg[2]:
                    raise RuntimeError(f"{cmd}: {msg[2]}")
                return msg[3]


# ---- browsers -----------------------------------------------------------------

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--enable-logging=stderr", "--v=0",
                  "--host-resolver-rules=MAP *.corscope.test 127.0.0.1, MAP *.elsewhere.test 127.0.0.1"]

FIREFOX_PREFS = {
    "marionette.port": MARIONETTE_PORT,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.aboutwelcome.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.disabledForTesting": True,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "network.http.speculative-parallel-limit": 0,
    "network.predictor.enabled": False,
    "network.prefetch-next": False,
    "network.dns.disablePrefetch": True,
    # every name is the loopback address without asking the resolver, as
    # Chromium's --host-resolver-rules: inside the namespace Firefox's own
    # lookups failed now and then (a request failed with nothing on the
    # wire, CORSDidNotSucceed: with network.dnsCacheExpiration 0, 13 did)
    "network.dns.forceResolve": "127.0.0.1",
    "network.proxy.type": 0,
    "network.trr.mode": 5,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.cache.disk.enable": False,
    "extensions.update.enabled": False,
    "dom.security.https_first": False,
    "dom.security.https_only_mode": False,
}


def ensure_browsers(names, transports=("http",)):
    missing = [pkg for pkg, exe in (("firefox-esr", FIREFOX), ("chromium", CHROMIUM))
               if pkg.split("-")[0] in names and not shutil.which(exe)]
    if not shutil.which("nft"):
        missing.append("nftables")              # conn-timeout: the SYNs are dropped
    if not shutil.which("openssl"):             # TLS servers' throw-away certificate (the
        missing.append("openssl")               # conn-tls-alert server runs on every transport)
    if "h2" in transports:
        try:
            import h2  # noqa: F401
        except ImportError:
            missing.append("python3-h2")
    if missing:
        log("installing", *missing)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-q"], check=False, env=env)
        subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=True, env=env)


def version(exe):
    p = subprocess.run([exe, "--version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                       env=dict(os.environ, HOME=tempfile.gettempdir()))
    return p.stdout.strip().splitlines()[-1] if p.stdout.strip() else exe


def browser_env(profile, keylog):
    env = dict(os.environ, HOME=profile)
    env.pop("SSLKEYLOGFILE", None)
    if keylog:
        env["SSLKEYLOGFILE"] = keylog       # NSS key log: what corscope --keylog reads
    return env


def run_chromium(workdir, names, transport="http", keylog=None):
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=workdir)
    errlog = open(os.path.join(workdir, "chromium-stderr.log"), "w")
    tls = ["--ignore-certificate-errors"] if server.TRANSPORTS[transport]["alpn"] else []
    proc = subprocess.Popen([CHROMIUM, *CHROMIUM_FLAGS, *tls, f"--user-data-dir={profile}",
                             f"--remote-debugging-port={CDP_PORT}", "about:blank"],
                            stdout=errlog, stderr=errlog, env=browser_env(profile, keylog),
                            start_new_session=True)
    truth, messages, results = {}, [], {}
    try:
        ws_url = None
        for _ in range(100):
            try:
                pages = json.load(urllib.request.urlopen(f"http://127.0.0.1:{CDP_PORT}/json/list", timeout=2))
                ws_url = next(p["webSocketDebuggerUrl"] for p in pages if p.get("type") == "page")
                break
            except Exception:
                time.sleep(0.3)
        if not ws_url:
            raise RuntimeError("Chromium's DevTools endpoint did not come up")
        cdp = CDP(ws_url)
        for m in ("Network.enable", "Log.enable", "Runtime.enable", "Page.enable"):
            cdp.call(m)
        cdp.call("Page.navigate", {"url": server.base_url(transport, "app") + "/"})
        cdp.pump(2.0)
        urls = {}
        for name in names:
            cdp.events.clear()
            r = cdp.call("Runtime.evaluate", {"expression": f"runScenario({json.dumps(name)})",
                                              "awaitPromise": True, "returnByValue": True}, timeout=60)
            results[name] = r.get("result", {}).get("value")
            cdp.pump(SETTLE)
            failed = []
            for ev in cdp.events:
                p = ev.get("params", {})
                if ev["method"] == "Network.requestWillBeSent":
                    urls[p["requestId"]] = p["request"]["url"]
                elif ev["method"] == "Network.loadingFailed":
                    cors = (p.get("corsErrorStatus") or {}).get("corsError")
                    failed.append((cors, p.get("errorText"), urls.get(p["requestId"], ""),
                                   p.get("type"), (p.get("corsErrorStatus") or {}).get("failedParameter")))
                elif ev["method"] == "Log.entryAdded":
                    e = p["entry"]
                    messages.append((name, e.get("source", ""), e.get("level", ""), e.get("text", "")))
            verdict = "allowed"
            for cors, err, url, typ, param in failed:
                messages.append((name, "cdp-loadingFailed", typ or "", f"{cors or ''} {err} {url} {param or ''}".strip()))
            cors_fail = [f for f in failed if f[0]]
            net_fail = [f for f in failed if not f[0] and f[1] and f[1] != "net::ERR_ABORTED"]
            if cors_fail:
                verdict = cors_fail[0][0]
            elif net_fail:
                verdict = net_fail[0][1]
            truth[name] = verdict
            log(f"chromium {name}: {verdict}  (page: {results[name]})")
        cdp.ws.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        errlog.close()
    return truth, messages, results


FF_CONSOLE_JS = """
const out = [];
for (const m of Services.console.getMessageArray()) {
  if (!(m instanceof Ci.nsIScriptError)) continue;
  out.push([m.timeStamp, m.category, m.flags, m.errorMessage]);
}
return out;
"""


def run_firefox(workdir, names, transport="http", keylog=None):
    profile = tempfile.mkdtemp(prefix="firefox-profile-", dir=workdir)
    with open(os.path.join(profile, "user.js"), "w") as f:
        for k, v in FIREFOX_PREFS.items():
            f.write(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n")
    errlog = open(os.path.join(workdir, "firefox-stderr.log"), "w")
    proc = subprocess.Popen([FIREFOX, "--headless", "--marionette", "--remote-allow-system-access",
                             "--no-remote", "--profile", profile, "about:blank"],
                            stdout=errlog, stderr=errlog,
                            env=dict(browser_env(profile, keylog), MOZ_HEADLESS="1"),
                            start_new_session=True)
    truth, messages, results = {}, [], {}
    try:
        m = Marionette(MARIONETTE_PORT)
        # Marionette takes the capabilities as the top-level parameters; the
        # servers of the TLS transports have a throw-away certificate.
        m.call("WebDriver:NewSession", {"acceptInsecureCerts": True})
        m.call("WebDriver:SetTimeouts", {"script": 60000})
        m.call("WebDriver:Navigate", {"url": server.base_url(transport, "app") + "/"})
        seen = set()

        def console():
            m.call("Marionette:SetContext", {"value": "chrome"})
            try:
                arr = m.call("WebDriver:ExecuteScript", {"script": FF_CONSOLE_JS, "args": []})["value"]
            finally:
                m.call("Marionette:SetContext", {"value": "content"})
            new = []
            for ts, cat, flags, text in arr:
                if (ts, cat, text) not in seen:
                    seen.add((ts, cat, text))
                    new.append((cat, flags, text))
            return new

        time.sleep(1.0)
        console()                                           # drop start-up noise
        for name in names:
            r = m.call("WebDriver:ExecuteScript",
                       {"script": "return window.runScenario(arguments[0]);", "args": [name]})
            results[name] = r.get("value")
            time.sleep(SETTLE)
            verdict, warning = None, None
            for cat, flags, text in console():
                messages.append((name, cat, "warning" if flags & 1 else "error", text))
                if not cat.startswith("CORS"):
                    continue
                key = cat.rstrip("0123456789")
                if flags & 1:                               # nsIScriptError.warningFlag
                    warning = warning or "warning:" + key
                elif verdict is None:
                    verdict = key
            truth[name] = verdict or warning or "allowed"
            log(f"firefox {name}: {truth[name]}  (page: {results[name]})")
        try:
            m.call("WebDriver:DeleteSession")
        except Exception:
            pass
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        errlog.close()
    return truth, messages, results


# ---- capture ---------------------------------------------------------------------

def capture_filter(transport):
    ports = list(server.TRANSPORTS[transport]["ports"]) + sorted(server.CONN_PORTS)
    return " or ".join(f"tcp port {p}" for p in ports)


def start_capture(pcap, live_json, transport="http", keylog=None):
    flt = capture_filter(transport)
    # --immediate-mode: without it libpcap hands packets over a kernel block at
    # a time, a block once full or after tcpdump's 1 s timeout, and the SIGINT
    # in stop_capture (0.5 s after the last scenario) dropped the block still
    # open: Chromium's https capture once lacked the whole last scenario
    # (conn-tls-alert) while corscope -i lo had it.
    td = subprocess.Popen(["tcpdump", "-i", "lo", "--immediate-mode", "-U", "-s", "0", "-w", pcap, flt],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    live = None
    if live_json:
        keys = ["--keylog", keylog] if keylog else []
        live = subprocess.Popen([os.path.join(ROOT, "corscope"), "-i", "lo", "-o", "json", "--all", *keys, flt],
                                stdout=open(live_json, "w"), stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(1.0)
    return td, live


def stop_capture(procs):
    time.sleep(0.5)
    for p in procs:
        if p and p.poll() is None:
            os.killpg(p.pid, signal.SIGINT)
    for p in procs:
        if p:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def enter_namespace():
    """Re-exec inside a new network + mount namespace with lo up and our /etc/hosts."""
    if os.environ.get("CORSCOPE_BROWSER_NS") == "1":
        return
    if os.geteuid() != 0:
        sys.exit("run.py: needs root (network namespace, tcpdump, browsers as root)")
    env = dict(os.environ, CORSCOPE_BROWSER_NS="1")
    os.execvpe("unshare", ["unshare", "--net", "--mount", "--", sys.executable, *sys.argv], env)


def setup_namespace(workdir):
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    hosts = os.path.join(workdir, "hosts")
    with open(hosts, "w") as f:
        f.write("127.0.0.1 localhost " + " ".join(server.ALL_HOSTS) + "\n::1 localhost ip6-localhost\n")
    subprocess.run(["mount", "--bind", hosts, "/etc/hosts"], check=True)
    # conn-timeout: nothing answers the SYNs to this port (dropped, as by a
    # firewall), and the kernel gives up after 2 retransmissions (a few
    # seconds; the default 6 takes 134 s: Chromium then reports the same
    # net::ERR_CONNECTION_TIMED_OUT, Firefox the same CORSDidNotSucceed,
    # measured once by hand, see /work/notes/part-connfail.md).  Both are
    # this namespace's own settings.
    subprocess.run(["nft", "add table inet corscope_test"], check=True)
    subprocess.run(["nft", "add chain inet corscope_test input "
                    "{ type filter hook input priority 0; policy accept; }"], check=True)
    subprocess.run(["nft", f"add rule inet corscope_test input tcp dport {server.CONN_DROPPED_PORT} drop"],
                   check=True)
    with open("/proc/sys/net/ipv4/tcp_syn_retries", "w") as f:
        f.write("2\n")
    links = subprocess.run(["ip", "-o", "link"], stdout=subprocess.PIPE, text=True).stdout
    if any(l.split(":")[1].strip() != "lo" for l in links.splitlines()):
        sys.exit("run.py: the namespace has interfaces other than lo; refusing to run")


def corscope_reads_tls():
    """True once corscope has --keylog (HTTPS from a key log)."""
    p = subprocess.run([os.path.join(ROOT, "corscope"), "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    return "--keylog" in p.stdout


def run_transport(t, browsers, names, out, workdir):
    """One browser run per browser over transport t: capture, key log, truth.
    Returns (truth rows path, {browser: pcap}, {browser: corscope args})."""
    tls = bool(server.TRANSPORTS[t]["alpn"])
    suffix = "" if t == "http" else "-" + t
    truths, pcaps, extra, versions = {}, {}, {}, {}
    for b in browsers:
        exe = FIREFOX if b == "firefox" else CHROMIUM
        versions[b] = version(exe)
        log("running", versions[b], "over", t)
        pcap = os.path.join(out, f"{b}{suffix}.pcap")
        keylog = os.path.join(out, f"{b}{suffix}.keys") if tls else None
        if keylog:
            # An empty key log the browser appends to (NSS and Chromium open
            # SSLKEYLOGFILE for appending): corscope -i lo reads it from the
            # start and re-reads it as it grows.
            open(keylog, "w").close()
        live = os.path.join(out, f"{b}{suffix}-live.json") if (not tls or corscope_reads_tls()) else None
        procs = start_capture(pcap, live, t, keylog)
        try:
            truth, messages, results = (run_firefox if b == "firefox" else run_chromium)(workdir, names, t, keylog)
        finally:
            stop_capture(procs)
        if os.path.exists(os.path.join(workdir, f"{b}-stderr.log")):
            shutil.copy(os.path.join(workdir, f"{b}-stderr.log"), os.path.join(out, f"{b}{suffix}-stderr.log"))
        with open(os.path.join(out, f"{b}{suffix}-console.tsv"), "w") as f:
            f.write("scenario\tsource\tlevel\ttext\n")
            for row in messages:
                f.write("\t".join(str(x).replace("\t", " ").replace("\n", " ") for x in row) + "\n")
        with open(os.path.join(out, f"{b}{suffix}-page.json"), "w") as f:
            json.dump(results, f, indent=1)
        truths[b], pcaps[b] = truth, pcap
        extra[b] = ["--keylog", keylog] if keylog else []
        if keylog and (not os.path.exists(keylog) or not os.path.getsize(keylog)):
            log(f"{b} over {t}: the browser wrote no key log ({keylog})")
    # first request of each scenario in each capture: method and URI
    can_read = not tls or corscope_reads_tls()
    firsts = {b: compare.scenario_outcomes(compare.corscope_events(p, os.path.join(ROOT, "corscope"), extra[b]), b)
              for b, p in pcaps.items()} if can_read else {}
    rows = []
    for name in names:
        c = server.SCENARIOS[name]["call"]
        m = c["method"] if c["method"].lower() == "patch" and c["method"] != c["method"].upper() \
            else c["method"].upper()
        row = {"scenario": name, "method": m, "uri": f"/s/{name}"}
        for b in ("firefox", "chromium"):
            row[f"{b}_port"] = str(firsts.get(b, {}).get(name, ["", ""])[1] or "")
            row[b] = truths.get(b, {}).get(name, "")
        rows.append(row)
    truth_path = os.path.join(out, f"truth{suffix}.tsv")
    cols = ["scenario", "method", "uri", "firefox_port", "chromium_port", "firefox", "chromium"]
    with open(truth_path, "w") as f:
        f.write("\t".join(cols) + "\n")
        for row in rows:
            f.write("\t".join(row[c] for c in cols) + "\n")
    with open(os.path.join(out, f"versions{suffix}.txt"), "w") as f:
        for b in browsers:
            f.write(f"{b}\t{versions[b]}\n")
    return truth_path, pcaps, extra


def judge_transport(t, truth_path, pcaps, extra, browsers, names, out):
    """corscope against the browsers' truth, from the capture and live."""
    suffix = "" if t == "http" else "-" + t
    if server.TRANSPORTS[t]["alpn"] and not corscope_reads_tls():
        print(f"{t}: SKIPPED: this corscope has no --keylog, so it cannot judge TLS captures")
        return 0
    print(f"== corscope vs the browsers over {t}")
    bad = compare.compare(compare.read_truth(truth_path), pcaps, os.path.join(ROOT, "corscope"), extra=extra)
    # corscope -i lo ran during each browser run: it must say what -r says
    for b in browsers:
        live_path = os.path.join(out, f"{b}{suffix}-live.json")
        if not os.path.exists(live_path) or not os.path.getsize(live_path):
            log(f"{b}: no live corscope output")
            continue
        with open(live_path) as f:
            live = compare.scenario_outcomes([json.loads(l) for l in f if l.startswith("{")], b)
        offline = compare.scenario_outcomes(
            compare.corscope_events(pcaps[b], os.path.join(ROOT, "corscope"), extra[b]), b)
        diff = [n for n in names if live.get(n, ["-"])[0] != offline.get(n, ["-"])[0]]
        for n in diff:
            print(f"live/offline differ ({b}, {t}) {n}: -i lo {live.get(n, ['-'])[0]}, -r {offline.get(n, ['-'])[0]}")
        print(f"corscope -i lo vs -r ({b}, {t}): {len(names) - len(diff)} agree, {len(diff)} differ")
        bad += len(diff)
    return bad


def compare_transports(truth_paths, browsers, out):
    """Where one browser's verdict on a scenario differs between transports:
    the evidence for transport-aware rules (design.md: the browsers decide)."""
    if len(truth_paths) < 2:
        return
    by_t = {t: {row["scenario"]: row for row in compare.read_truth(p)} for t, p in truth_paths.items()}
    ts = list(truth_paths)
    path = os.path.join(out, "transports.tsv")
    differ = 0
    with open(path, "w") as f:
        f.write("scenario\tbrowser\t" + "\t".join(ts) + "\n")
        for name in by_t[ts[0]]:
            for b in browsers:
                vals = [by_t[t].get(name, {}).get(b, "") for t in ts]
                if len(set(vals)) > 1:
                    differ += 1
                    f.write(f"{name}\t{b}\t" + "\t".join(vals) + "\n")
    print(f"browsers across transports ({', '.join(ts)}): {differ} scenario verdicts differ (see {path})")


def main():
    args = sys.argv[1:]
    out = os.path.join(ROOT, "tests", "out", "browser")
    browsers = ["firefox", "chromium"]
    transports = list(server.TRANSPORTS)       # http, https, h2
    if "--out" in args:
        out = os.path.abspath(args[args.index("--out") + 1])
    if "--browsers" in args:
        browsers = args[args.index("--browsers") + 1].split(",")
    if "--transports" in args:
        transports = args[args.index("--transports") + 1].split(",")
        if transports == ["all"]:
            transports = list(server.TRANSPORTS)
        for t in transports:
            if t not in server.TRANSPORTS:
                sys.exit(f"run.py: unknown transport {t!r} (known: {', '.join(server.TRANSPORTS)})")
    do_commit = "--commit" in args
    if os.environ.get("CORSCOPE_BROWSER_NS") != "1":
        ensure_browsers(browsers, transports)
        if not os.path.exists(os.path.join(ROOT, "corscope")):
            subprocess.run(["make", "-C", ROOT, "corscope"], check=True)
        enter_namespace()
    os.makedirs(out, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="corscope-browser-")
    setup_namespace(workdir)
    server.serve(results_path=os.path.join(workdir, "page-results.json"), transports=transports,
                 workdir=workdir, keylog=os.path.join(out, "server.keys"))
    names = list(server.SCENARIOS)
    if "--scenarios" in args:       # a subset, while developing (not for --commit)
        want = args[args.index("--scenarios") + 1].split(",")
        unknown = [n for n in want if n not in server.SCENARIOS]
        if unknown:
            sys.exit(f"run.py: unknown scenarios {unknown}")
        names = want
        do_commit = False
    bad = 0
    truth_paths = {}
    for t in transports:
        truth_path, pcaps, extra = run_transport(t, browsers, names, out, workdir)
        truth_paths[t] = truth_path
        bad += judge_transport(t, truth_path, pcaps, extra, browsers, names, out)
    compare_transports(truth_paths, browsers, out)
    if do_commit:
        dest = os.path.join(ROOT, "pcaps", "browser")
        os.makedirs(dest, exist_ok=True)
        for t in transports:
            suffix = "" if t == "http" else "-" + t
            files = [f"truth{suffix}.tsv", f"versions{suffix}.txt"] + \
                [f"{b}{suffix}{s}" for b in browsers for s in (".pcap", "-console.tsv")]
            if server.TRANSPORTS[t]["alpn"]:
                files += [f"{b}{suffix}.keys" for b in browsers]
            for name in files:
                if os.path.exists(os.path.join(out, name)):
                    shutil.copy(os.path.join(out, name), os.path.join(dest, name))
        if len(truth_paths) == len(server.TRANSPORTS):  # every transport: the table is whole
            shutil.copy(os.path.join(out, "transports.tsv"), os.path.join(dest, "transports.tsv"))
        log("copied to", dest)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
