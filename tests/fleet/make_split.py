#!/usr/bin/env python3
"""Two captures of one page's traffic behind a load balancer that keeps the
client's address (DSR / L4): every request is its own connection, and the
balancer sends each to backend A or B, so a preflight and its actual request
can be seen by different sensors.

  make_split.py A.pcap B.pcap EXPECT.json

EXPECT.json says what the fleet must find: pairs (preflight sensor, actual
sensor), the preflights whose actual request no sensor saw, and the blocked
requests."""
import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("genpcap", os.path.join(HERE, "../../tools/gen-pcap.py"))
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)

CLIENT = "198.51.100.7"
VIP = ("203.0.113.10", 80)
ORIGIN = "http://app.example"
ALLOW = [("Access-Control-Allow-Origin", ORIGIN), ("Access-Control-Allow-Credentials", "true"),
         ("Vary", "Origin")]


def main(path_a, path_b, path_expect):
    caps = {"A": gen.Capture(path_a, seed=11), "B": gen.Capture(path_b, seed=12)}
    t = gen.BASE_TS_US
    port = 40000
    expect = {"pairs": [], "orphan_preflights": [], "blocked": 0}

    def exchange(sensor, request, response, at):
        nonlocal port
        port += 1
        cap = caps[sensor]
        cap.t = max(cap.t, at)
        c = cap.connection((CLIENT, port), VIP)
        c.open()
        c.request(request)
        cap.tick(300, 900)
        c.response(response)
        c.close()
        return cap.t

    for i in range(24):
        uri = "/items/%d" % i
        pre_sensor = "AB"[i % 2]
        act_sensor = "AB"[(i // 2) % 2]
        pre = gen.browser_request("firefox", "OPTIONS", uri, origin=ORIGIN, acrm="PUT",
                                  acrh="content-type")
        pre_ok = gen.http_response(204, ALLOW + [("Access-Control-Allow-Methods", "PUT"),
                                                 ("Access-Control-Allow-Headers", "content-type")],
                                   body=None)
        t = exchange(pre_sensor, pre, pre_ok, t + 20000)
        if i % 8 == 7:  # the page gave up: no actual request anywhere
            expect["orphan_preflights"].append({"uri": uri, "sensor": pre_sensor})
            continue
        act = gen.browser_request("firefox", "PUT", uri, origin=ORIGIN, body='{"n":1}',
                                  ctype="application/json")
        t = exchange(act_sensor, act, gen.http_response(200, ALLOW, body='{"ok":true}'), t + 3000)
        expect["pairs"].append({"uri": uri, "preflight": pre_sensor, "actual": act_sensor})
    for i in range(10):  # simple requests, half of them blocked (no Allow-Origin)
        uri = "/feed/%d" % i
        req = gen.browser_request("firefox", "GET", uri, origin=ORIGIN)
        headers = ALLOW if i % 2 else []
        t = exchange("AB"[i % 2], req, gen.http_response(200, headers, body="[]"), t + 20000)
        if not i % 2:
            expect["blocked"] += 1
    for cap in caps.values():
        cap.finish()
    with open(path_expect, "w") as f:
        json.dump(expect, f, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:4])
