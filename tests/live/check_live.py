#!/usr/bin/env python3
"""Checks the JSON lines of tests/e2e/live.sh's live run (argv[1]) and of
corscope -r on the file the run wrote with -w (argv[2]).  Prints one line per
problem; exit status 1 if there was any."""
import json
import sys

problems = []


def load(path):
    events, summaries = [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                obj = json.loads(line)
            except ValueError as e:
                problems.append(f"{path}:{n}: not JSON ({e}): {line[:80]!r}")
                continue
            (summaries if obj.get("type") == "summary" else events).append(obj)
    return events, summaries


def find(events, method, uri):
    found = [e for e in events if e.get("method") == method and e.get("uri") == uri]
    if len(found) != 1:
        problems.append(f"{method} {uri}: {len(found)} events, want 1")
        return None
    return found[0]


def expect(ev, name, **want):
    if ev is None:
        return
    for key, value in want.items():
        if ev.get(key) != value:
            problems.append(f"{name}: {key} is {ev.get(key)!r}, want {value!r}")


live, live_sum = load(sys.argv[1])
expect(find(live, "GET", "/ok"), "GET /ok", kind="simple", verdict="allowed", status=200)
expect(find(live, "GET", "/ok?after-usr1"), "GET /ok after SIGUSR1", verdict="allowed")
expect(find(live, "GET", "/noacao"), "GET /noacao", kind="simple", verdict="blocked",
       reason="CORSMissingAllowOrigin", chrome="MissingAllowOriginHeader")
pre = find(live, "OPTIONS", "/preflight")
expect(pre, "OPTIONS /preflight", kind="preflight", verdict="allowed", status=204,
       credentials="omit", credentials_from="actual-request-followed")
expect(find(live, "OPTIONS", "/preflight?alone"), "OPTIONS /preflight?alone", kind="preflight",
       verdict="blocked", status=204, reason="CORSMissingAllowCredentials", credentials="include",
       credentials_from="no-actual-request")
put = find(live, "PUT", "/preflight")
expect(put, "PUT /preflight", kind="actual", verdict="allowed", status=200)
if pre and put and put.get("preflight_frame") != pre.get("frame_req"):
    problems.append(f"PUT /preflight: preflight_frame {put.get('preflight_frame')}, "
                    f"want the OPTIONS frame {pre.get('frame_req')}")
expect(find(live, "OPTIONS", "/options500"), "OPTIONS /options500", kind="preflight",
       verdict="blocked", status=500, reason="CORSPreflightDidNotSucceed")
expect(find(live, "GET", "/reset"), "GET /reset", verdict="blocked", status=None,
       reason="CORSDidNotSucceed", end="reset")
expect(find(live, "GET", "/hang"), "GET /hang (idle)", status=None, verdict="blocked",
       reason="CORSDidNotSucceed")
expect(find(live, "GET", "/hang?at-stop"), "GET /hang at SIGINT", status=None)

if len(live_sum) != 1:
    problems.append(f"live: {len(live_sum)} summary lines, want 1")
else:
    s = live_sum[0]
    if not isinstance(s.get("received"), int) or s["received"] <= 0:
        problems.append(f"summary: received {s.get('received')!r}, want > 0")
    for key in ("dropped", "ifdropped"):
        if s.get(key) != 0:
            problems.append(f"summary: {key} {s.get(key)!r}, want 0")
    if not s.get("packets"):
        problems.append("summary: no packets")
    print(f"live summary: packets {s.get('packets')}, received {s.get('received')}, "
          f"dropped {s.get('dropped')}, ifdropped {s.get('ifdropped')}, "
          f"blocked {s.get('cors', {}).get('blocked')}")

# corscope -r on the -w file: the same judgements (the end of the pending
# request may differ: input end versus SIGINT).
filed, file_sum = load(sys.argv[2])
def judged(events):
    return sorted((e.get("method"), e.get("uri"), e.get("kind"), e.get("verdict"),
                   e.get("reason") or "", str(e.get("status"))) for e in events)
if judged(live) != judged(filed):
    problems.append("corscope -r on the -w file judges differently:\n  live: %s\n  file: %s"
                    % (judged(live), judged(filed)))
if len(file_sum) != 1 or file_sum[0].get("packets") != (live_sum[0].get("packets") if live_sum else None):
    problems.append("file summary: packets differ from the live run's")

for p in problems:
    print("problem:", p)
sys.exit(1 if problems else 0)
