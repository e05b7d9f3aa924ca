#!/bin/sh
# Drift check: contrib/clickhouse/schema.sql has a column for every key
# corscope's JSON lines can carry, and no column that is no key.  No
# ClickHouse needed.  The keys come from three places:
#   1. corscope -o json --all over every capture of pcaps/ and tests/ (with
#      its .keys key log when there is one; one run with a --sink to a closed
#      port, for the summary's sink object);
#   2. the man page's JSON lines section (the .TP heads);
#   3. out_json.c itself: every key name it writes, so a key added there
#      fails here even before a capture shows it.
# Prints each key without a column and each column without a key; exit 1.
cd "$(dirname "$0")/../.." || exit 2
[ -x ./corscope ] || { echo "schema_keys: ./corscope is not built"; exit 2; }
exec python3 - "$@" <<'PY'
import glob, json, os, re, subprocess, sys

def columns(sql, table):
    body = re.search(r"CREATE TABLE IF NOT EXISTS corscope\.%s\s*\((.*?)\n\)\s*ENGINE" % table,
                     re.sub(r"--[^\n]*", "", sql), re.S).group(1)
    cols, depth, cur = [], 0, ""
    for ch in body + ",":
        if ch == "," and depth == 0:
            cur = cur.strip()
            if cur:
                name, typ = cur.split(None, 1)
                m = re.match(r"Nested\((.*)\)$", typ, re.S)
                if m:  # Nested(a T, b T): columns name.a, name.b
                    d, part = 0, ""
                    for c in m.group(1) + ",":
                        if c == "," and d == 0:
                            if part.strip():
                                cols.append(name + "." + part.split()[0])
                            part = ""
                            continue
                        d += (c == "(") - (c == ")")
                        part += c
                else:
                    cols.append(name)
            cur = ""
            continue
        depth += (ch == "(") - (ch == ")")
        cur += ch
    return set(cols)

sql = open("contrib/clickhouse/schema.sql").read()
cols = {"http": columns(sql, "events_local"), "summary": columns(sql, "summaries_local")}
not_keys = {("http", "ts_ns"), ("summary", "inserted_at")}  # schema.sql says why

# objects of counts by name: their names are data, the Nested holds them
MAPS = {"not_decoded", "cors_reasons", "tls_failed_by"}
# arrays of objects: a Nested column per key of the objects
OBJECT_ARRAYS = {"cors_top_blocked_endpoints", "not_analyzable"}

def flatten(obj, prefix=""):
    """JSON key paths as schema.sql names them."""
    out = set()
    for k, v in obj.items():
        name = prefix + k
        if name in MAPS or (name in OBJECT_ARRAYS and not v):
            out.add(name + ".*")
        elif isinstance(v, dict):
            out |= flatten(v, name + "_")
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            for item in v:
                out |= {name + "." + kk for kk in item}
        else:
            out.add(name)
    return out

seen = {"http": set(), "summary": set()}
caps = sorted(glob.glob("pcaps/**/*.pcap", recursive=True) + glob.glob("pcaps/**/*.pcapng", recursive=True)
              + glob.glob("tests/**/*.pcap", recursive=True) + glob.glob("tests/**/*.pcapng", recursive=True))
runs = []
for c in caps:
    args = ["-r", c]
    keys = os.path.splitext(c)[0] + ".keys"
    if os.path.exists(keys):
        args += ["--keylog", keys]
    runs.append(args)
runs.append(["-r", "pcaps/demo.pcap", "--sink", "clickhouse://127.0.0.1:1/corscope.events_local",
             "--sink-exit-timeout-ms", "100", "-q"])
for args in runs:
    out = subprocess.run(["./corscope", "-o", "json", "--all"] + args, capture_output=True, timeout=120)
    for line in out.stdout.decode("utf-8", "replace").splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        t = obj.get("type")
        if t in seen:
            seen[t] |= flatten(obj)
        if t == "http":  # a row carries ts as ts and ts_ns
            seen[t].add("ts")

def has(table, path):
    if path.endswith(".*"):
        return any(c.startswith(path[:-1]) for c in cols[table])
    return path in cols[table]

fail = 0
for t in ("http", "summary"):
    for p in sorted(seen[t]):
        if not has(t, p):
            print("schema_keys: the %s key %s (seen in corscope's output) has no column in schema.sql"
                  % ("event" if t == "http" else "summary", p))
            fail = 1

# 2. the man page: the bold key names of the .TP heads, events then summary
man = open("man/corscope.1").read()
sec = man[man.index(".SS JSON lines"):man.index(".SH THE REASONS")]
ev_part, sum_part = sec.split("The summary object")
def man_keys(part):
    keys, lines = set(), part.splitlines()
    for i, l in enumerate(lines):
        if i and lines[i - 1] == ".TP" and l.startswith((".B ", ".BR ")):
            words = re.findall(r'"[^"]*"|\S+', l)[1:]
            for w in words[0::2]:  # .BR alternates bold and roman: the bold ones
                w = w.strip('"')
                if re.fullmatch(r"[a-z][a-z0-9_]*", w):
                    keys.add(w)
    return keys
man_ev, man_sum = man_keys(ev_part), man_keys(sum_part)
for t, keys in (("http", man_ev), ("summary", man_sum)):
    for k in sorted(keys):
        if not (k in cols[t] or any(c.startswith((k + "_", k + ".")) for c in cols[t])):
            print("schema_keys: the man page's %s key %s has no column in schema.sql"
                  % ("event" if t == "http" else "summary", k))
            fail = 1

# 3. out_json.c: every key name it writes, and <key>_hex for the wire strings
src = open("src/report/out_json.c").read()
lit = set(re.findall(r'\\"([a-z][a-z0-9_]*)\\":', src))
lit |= set(re.findall(r'\b(?:key|num|sw_open|sw_key|sw_counts|sni_list)\(\w+, "([a-z][a-z0-9_]*)"', src))
wire = set(re.findall(r'\bwire_(?:key|cstr)\(\w+, "([a-z][a-z0-9_]*)"', src))
lit |= wire | {w + "_hex" for w in wire}
allcols = cols["http"] | cols["summary"]
def matches(k, c):  # k names column c, an object holding it, or a key inside one
    return (c == k or c.endswith(("_" + k, "." + k)) or c.startswith((k + "_", k + "."))
            or ("_" + k + ".") in c or ("_" + k + "_") in c)
for k in sorted(lit):
    if not any(matches(k, c) for c in allcols):
        print("schema_keys: out_json.c writes the key %s: no column in schema.sql" % k)
        fail = 1

# every column is a key: seen, in the man page, or named by out_json.c
for t in ("http", "summary"):
    for c in sorted(cols[t]):
        if (t, c) in not_keys or c in seen[t] or c in (man_ev if t == "http" else man_sum):
            continue
        if any(p.endswith(".*") and c.startswith(p[:-1]) for p in seen[t]):
            continue
        if any(matches(k, c) for k in lit):
            continue
        print("schema_keys: the column %s.%s is no key corscope writes"
              % ("events_local" if t == "http" else "summaries_local", c))
        fail = 1

if fail:
    sys.exit(1)
print("schema_keys: %d event and %d summary columns, every key of %d runs, the man page and out_json.c has one"
      % (len(cols["http"]), len(cols["summary"]), len(runs)))
PY
