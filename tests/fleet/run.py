#!/usr/bin/python3
"""make check-fleet: two ClickHouse servers on loopback as two shards (own
config and data under a temporary directory, no system service), the
schema of contrib/clickhouse/, two corscope sensors sending to them, and
SQL through the Distributed table:

 1. every event of both sensors arrived exactly once;
 2. the counts by reason equal corscope's own summaries;
 3. the cross-sensor preflight link pairs every preflight with its actual
    request across sensors and finds exactly the ones no sensor saw;
 4. a live sensor (-i lo) keeps every event while its shard is killed and
    restarted, and says it retried;
 5. a store that never answers: the events are counted as unsent, one
    warning line, and corscope still exits 0 with its own output whole;
 6. every column of every event and of the summary, read back through the
    Distributed tables, equals corscope's own JSON line (HTTP/1.x, TLS with
    its key log, h2 over TLS, h2c, failed connections): a column whose type
    loses information fails.

Exit 77 (skipped) when clickhouse-server is not installed."""
import json, os, re, shutil, signal, socket, subprocess, sys, tempfile, threading, time
import urllib.parse
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
BIN = os.path.join(ROOT, "corscope")
SERVER = shutil.which("clickhouse-server") or "/usr/sbin/clickhouse-server"
if not os.path.exists(SERVER):
    print("skip: clickhouse-server not installed (make deps-fleet)")
    sys.exit(77)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Shard:
    def __init__(self, base, name, cluster):
        self.dir = os.path.join(base, name)
        os.makedirs(self.dir)
        self.http, self.tcp, self.inter = free_port(), free_port(), free_port()
        self.cluster = cluster
        self.proc = None

    def write_config(self, shards):
        d = self.dir
        replicas = "".join("<shard><replica><host>127.0.0.1</host><port>%d</port></replica></shard>"
                           % s.tcp for s in shards)
        with open(os.path.join(d, "config.xml"), "w") as f:
            f.write("""<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{d}/server.log</log><errorlog>{d}/server.err.log</errorlog></logger>
  <http_port>{http}</http_port><tcp_port>{tcp}</tcp_port><interserver_http_port>{inter}</interserver_http_port>
  <listen_host>127.0.0.1</listen_host>
  <max_connections>64</max_connections>
  <mark_cache_size>67108864</mark_cache_size><uncompressed_cache_size>67108864</uncompressed_cache_size>
  <path>{d}/data/</path><tmp_path>{d}/tmp/</tmp_path>
  <user_files_path>{d}/user_files/</user_files_path><format_schema_path>{d}/format_schemas/</format_schema_path>
  <users_config>{d}/users.xml</users_config>
  <default_profile>default</default_profile><default_database>default</default_database>
  <timezone>UTC</timezone>
  <remote_servers><{c}>{r}</{c}></remote_servers>
</yandex>
""".format(d=d, http=self.http, tcp=self.tcp, inter=self.inter, c=self.cluster, r=replicas))
        with open(os.path.join(d, "users.xml"), "w") as f:
            f.write("""<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>1000000000</max_memory_usage></default></profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default>
    <sensor><password>fleet-test</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></sensor>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
""")

    def start(self):
        log = open(os.path.join(self.dir, "stdout"), "ab")
        self.proc = subprocess.Popen([SERVER, "--config-file=" + os.path.join(self.dir, "config.xml")],
                                     stdout=log, stderr=log, cwd=self.dir)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen("http://127.0.0.1:%d/ping" % self.http, timeout=1).read() == b"Ok.\n":
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        sys.exit("FAIL: clickhouse-server on port %d did not start: %s" % (
            self.http, open(os.path.join(self.dir, "stdout")).read()[-500:]))

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def query(self, sql, settings=None):
        """POST (GET is read-only in ClickHouse); the server's message on error.
        settings: a session's SET statements, as URL parameters (each HTTP
        query is a session of its own)."""
        q = "?" + urllib.parse.urlencode(settings) if settings else ""
        req = urllib.request.Request("http://127.0.0.1:%d/%s" % (self.http, q), data=sql.encode())
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.read().decode()
        except urllib.error.HTTPError as e:
            sys.exit("FAIL: %s\n-> %s" % (sql[:200], e.read().decode()[:500]))

    def url(self, table="corscope.events_local"):
        return "clickhouse://127.0.0.1:%d/%s" % (self.http, table)


def apply_schema(shard):
    sql = open(os.path.join(ROOT, "contrib/clickhouse/schema.sql")).read()
    version = shard.query("SELECT version()").strip()
    if tuple(int(x) for x in version.split(".")[:2]) < (19, 6):
        sql = "\n".join(l for l in sql.splitlines() if "-- TTL:" not in l)
    settings = {}
    for stmt in [s.strip() for s in re.sub(r"--[^\n]*", "", sql).split(";") if s.strip()]:
        m = re.match(r"SET\s+(\w+)\s*=\s*(\S+)$", stmt)
        if m:  # as clickhouse-client --multiquery keeps it for what follows
            settings[m.group(1)] = m.group(2)
        else:
            shard.query(stmt, settings)
    return version


def saved_query(name, since="toDateTime(0)"):
    sql = open(os.path.join(ROOT, "contrib/clickhouse/queries", name)).read()
    sql = re.sub(r"now\(\) - INTERVAL 1 (HOUR|DAY)", since, sql)
    return re.sub(r"--[^\n]*", "", sql).strip()


def run_sensor(args, sensor, creds):
    out = subprocess.run([BIN] + args + ["-o", "json", "--sensor", sensor, "--sink-credentials", creds],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode in (0, 3), out.stderr
    lines = [json.loads(l) for l in out.stdout.splitlines()]
    return [l for l in lines if l["type"] == "http"], lines[-1], out.stderr


def main():
    tmp = tempfile.mkdtemp(prefix="corscope-fleet-")
    shards = [Shard(tmp, "shard1", "corscope_fleet"), Shard(tmp, "shard2", "corscope_fleet")]
    try:
        for s in shards:
            s.write_config(shards)
        for s in shards:
            s.start()
        version = ""
        for s in shards:
            version = apply_schema(s)
        print("clickhouse-server %s: two shards on ports %d, %d" % (version, shards[0].http, shards[1].http))
        creds = os.path.join(tmp, "sink.credentials")
        with open(creds, "w") as f:
            f.write("sensor:fleet-test\n")
        os.chmod(creds, 0o600)

        # 1-3: two sensors, each one backend of the balancer
        a, b, expect = (os.path.join(tmp, n) for n in ("a.pcap", "b.pcap", "expect.json"))
        subprocess.run([sys.executable, os.path.join(ROOT, "tests/fleet/make_split.py"), a, b, expect], check=True)
        expect = json.load(open(expect))
        ev_a, sum_a, _ = run_sensor(["-r", a, "--sink", shards[0].url()], "lb-a", creds)
        ev_b, sum_b, _ = run_sensor(["-r", b, "--sink", shards[1].url()], "lb-b", creds)
        for s in (sum_a, sum_b):
            k = s["sink"]
            assert k["sent"] == k["queued"] and k["unsent"] == 0 and k["dropped"] == 0, k
        ours = {e["event_id"] for e in ev_a + ev_b}
        assert len(ours) == len(ev_a) + len(ev_b)
        dist = shards[0]
        rows = dist.query("SELECT count(), uniqExact(event_id) FROM corscope.events").split()
        assert [int(x) for x in rows] == [len(ours)] * 2, (rows, len(ours))
        ids = set(dist.query("SELECT event_id FROM corscope.events").split())
        assert ids == ours, "the store's events differ from corscope's"
        print("ok: %d events from 2 sensors, each exactly once through the Distributed table" % len(ours))

        reasons = {}
        for s in (sum_a, sum_b):
            for r, n in s["cors"]["reasons"].items():
                reasons[r] = reasons.get(r, 0) + n
        theirs = {}
        for line in dist.query("SELECT reason, uniqExact(event_id) FROM corscope.events "
                               "WHERE verdict IN ('blocked', 'warning') GROUP BY reason").splitlines():
            r, n = line.split("\t")
            theirs[r] = int(n)
        assert theirs == reasons, (theirs, reasons)
        blocked = sum(int(l.split("\t")[5]) for l in dist.query(saved_query("blocked_by_reason.sql")).splitlines())
        assert blocked == sum_a["cors"]["blocked"] + sum_b["cors"]["blocked"] == expect["blocked"], blocked
        origins = dist.query(saved_query("blocked_origins.sql")).splitlines()
        assert origins and origins[0].split("\t")[:2] == ["http://app.example", str(expect["blocked"])], origins
        print("ok: counts by reason %s equal the sensors' summaries; saved queries agree" % reasons)

        link = dist.query(saved_query("preflight_link.sql", "toDateTime(0)")).splitlines()
        sensor = {"A": "lb-a", "B": "lb-b"}
        found, orphans, cross = {}, set(), 0
        for line in link:
            f = line.split("\t")
            uri, pre_sensor, linked, act_sensor = f[3], f[6], f[8], f[9]
            if linked == "1":
                found[uri] = (pre_sensor, act_sensor)
                cross += pre_sensor != act_sensor
            else:
                orphans.add(uri)
        want = {p["uri"]: (sensor[p["preflight"]], sensor[p["actual"]]) for p in expect["pairs"]}
        assert found == want, (found, want)
        assert orphans == {o["uri"] for o in expect["orphan_preflights"]}, orphans
        print("ok: preflight link: %d pairs (%d across sensors), %d preflights no sensor answered"
              % (len(found), cross, len(orphans)))

        # 4: live, with the shard killed and restarted during the run
        live_events = live_with_outage(shards[1], creds)
        n_live = int(shards[1].query("SELECT uniqExact(event_id) FROM corscope.events_local WHERE sensor = 'live'"))
        assert n_live == live_events, (n_live, live_events)

        # 5: a store that never answers
        dead = free_port()
        ev, summ, err = run_sensor(["-r", a, "--sink", "clickhouse://127.0.0.1:%d/corscope.events_local" % dead,
                                    "--sink-exit-timeout-ms", "700"], "nobody-home", creds)
        k = summ["sink"]
        assert k["sent"] == 0 and k["unsent"] == k["queued"] == len(ev) and k["retries"] >= 1, k
        assert err.count("--sink") == 1 and "not sent" in err, err
        print("ok: store down: %d events counted as unsent, one warning, output whole" % k["unsent"])
        bad = subprocess.run([BIN, "-r", a, "--sink", "clickhouse://127.0.0.1/x"], capture_output=True, text=True)
        assert bad.returncode == 1 and bad.stderr.count("\n") == 1, bad.stderr

        # 6: column by column
        compare_columns(shards, creds)
    finally:
        for s in shards:
            s.kill()
        shutil.rmtree(tmp, ignore_errors=True)


# Objects of counts by name and arrays of objects, as schema.sql stores
# them: Nested columns (name.key arrays).
MAPS = {"not_decoded": ("kind", "frames"), "cors_reasons": ("reason", "count"),
        "tls_failed_by": ("reason", "count")}
OBJECT_ARRAYS = {"cors_top_blocked_endpoints": ("endpoint", "endpoint_hex", "blocked"),
                 "not_analyzable": ("protocol", "flows", "sni", "sni_hex")}


def as_row(obj, prefix=""):
    """A JSON line as the columns schema.sql gives it (flattened objects,
    booleans as 0/1, ts as DateTime and ts_ns)."""
    row = {}
    for k, v in obj.items():
        name = prefix + k
        if name in MAPS:
            kc, vc = MAPS[name]
            row[name + "." + kc] = list(v.keys())
            row[name + "." + vc] = list(v.values())
        elif name in OBJECT_ARRAYS:
            for f in OBJECT_ARRAYS[name]:
                empty = [] if f == "sni_hex" else None
                row[name + "." + f] = [item.get(f, empty) for item in v]
        elif isinstance(v, dict):
            row.update(as_row(v, name + "_"))
        elif isinstance(v, bool):
            row[name] = int(v)
        elif name == "ts" and obj.get("type") == "http":
            row["ts"] = v[:10] + " " + v[11:19]
        else:
            row[name] = v
    return row


def default(typ):
    if typ.startswith("Nullable") or typ.startswith("LowCardinality(Nullable"):
        return None
    if typ.startswith("Array"):
        return []
    if "Int" in typ:
        return 0
    return ""


def compare_columns(shards, creds):
    cases = [("cmp-https", ["-r", "pcaps/browser/firefox-https.pcap", "--keylog", "pcaps/browser/firefox-https.keys"]),
             ("cmp-h2", ["-r", "pcaps/browser/chromium-h2.pcap", "--keylog", "pcaps/browser/chromium-h2.keys"]),
             ("cmp-h2c", ["-r", "pcaps/h2c.pcap"]),
             ("cmp-failures", ["-r", "pcaps/conn-failures.pcap"]),
             ("cmp-reasons", ["-r", "pcaps/cors-firefox-reasons.pcap", "-b", "firefox"]),
             ("cmp-demo", ["-r", "pcaps/demo.pcap"])]
    fmt = {"output_format_json_quote_64bit_integers": "0"}
    types = {}
    for table in ("events", "summaries"):
        types[table] = dict(l.split("\t")[:2] for l in shards[0].query("DESCRIBE TABLE corscope." + table).splitlines())
    n_events = n_cols = 0
    for i, (sensor, args) in enumerate(cases):
        shard = shards[i % 2]
        events, summary, _ = run_sensor([os.path.join(ROOT, a) if a.startswith("pcaps/") else a for a in args]
                                        + ["--all", "--sink", shard.url()], sensor, creds)
        assert events, sensor
        stored = {}
        for l in shards[0].query("SELECT * FROM corscope.events WHERE sensor = '%s' FORMAT JSONEachRow"
                                 % sensor, fmt).splitlines():
            r = json.loads(l)
            stored[r["event_id"]] = r
        assert len(stored) == len(events), (sensor, len(stored), len(events))
        for ev in events:
            got, want = stored[ev["event_id"]], as_row(ev)
            extra = set(want) - set(got)
            assert not extra, "%s: keys without a column: %s" % (sensor, extra)
            # ts_ns keeps what ts's DateTime cannot: the JSON's microseconds
            us = int(ev["ts"][20:26])
            assert got["ts_ns"] // 1000 % 1000000 == us, (sensor, got["ts_ns"], ev["ts"])
            for c, typ in types["events"].items():
                if c == "ts_ns":
                    continue
                w = want.get(c, default(typ))
                assert got[c] == w, "%s event %s: column %s (%s) holds %r, the JSON %r" % (
                    sensor, ev["event_id"], c, typ, got[c], w)
                n_cols += 1
        n_events += len(events)
        rows = shards[0].query("SELECT * FROM corscope.summaries WHERE sensor = '%s' FORMAT JSONEachRow"
                               % sensor, fmt).splitlines()
        assert len(rows) == 1, (sensor, rows)
        got, want = json.loads(rows[0]), as_row(summary)
        extra = set(want) - set(got)
        assert not extra, "%s: summary keys without a column: %s" % (sensor, extra)
        for c, typ in types["summaries"].items():
            if c == "inserted_at":
                continue
            w = want.get(c, default(typ))
            assert got[c] == w, "%s summary: column %s (%s) holds %r, the JSON %r" % (sensor, c, typ, got[c], w)
            n_cols += 1
    print("ok: %d events and %d summaries of %d captures (TLS, h2, h2c, failed connections) read back "
          "through the Distributed tables equal corscope's JSON, %d values compared"
          % (n_events, len(cases), len(cases), n_cols))


def live_with_outage(shard, creds):
    """corscope -i lo sends to shard; the shard is killed after the first
    requests and restarted a few seconds later; nothing may be lost."""
    import http.server
    port = free_port()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            if self.path.endswith("/ok"):
                self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin", "*"))
            self.send_header("Content-Length", "2")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"[]")

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    out = open(os.path.join(shard.dir, "live.json"), "w+")
    err = open(os.path.join(shard.dir, "live.err"), "w+")
    cs = subprocess.Popen([BIN, "-i", "lo", "--immediate-mode", "-Z", "root", "-o", "json", "--sensor", "live",
                           "--sink", shard.url(), "--sink-credentials", creds, "--sink-flush-ms", "200",
                           "tcp port %d" % port], stdout=out, stderr=err)
    time.sleep(1.5)  # the capture is open

    def fetch(i):
        s = socket.create_connection(("127.0.0.1", port))
        path = "/feed/%d/%s" % (i, "ok" if i % 2 else "no")
        s.sendall(("GET %s HTTP/1.1\r\nHost: api.example:%d\r\nOrigin: http://app.example\r\n"
                   "Connection: close\r\n\r\n" % (path, port)).encode())
        while s.recv(4096):
            pass
        s.close()

    for i in range(60):
        fetch(i)
        if i == 15:
            shard.kill()          # the store goes away mid-run...
        if i == 45:
            shard.start()         # ...and comes back
        time.sleep(0.05)
    time.sleep(1.0)
    cs.send_signal(signal.SIGINT)
    cs.wait(timeout=60)
    srv.shutdown()
    out.seek(0)
    lines = [json.loads(l) for l in out if l.strip()]
    events = [l for l in lines if l["type"] == "http"]
    k = lines[-1]["sink"]
    assert len(events) == 60, (len(events), open(err.name).read())
    assert k["sent"] == k["queued"] == 60 and k["unsent"] == 0 and k["dropped"] == 0, k
    assert k["retries"] >= 1, k
    print("ok: live on lo: shard killed and restarted mid-run, %d events sent after %d retries, none lost"
          % (k["sent"], k["retries"]))
    return len(events)


if __name__ == "__main__":
    main()
    print("check-fleet: passed")
