#!/bin/sh
# Real browsers as the judge (needs root; installs firefox-esr and chromium
# from Debian when missing).  Runs every scenario of tests/browser/server.py in
# headless Firefox ESR and Chromium inside a private network namespace (only
# lo), captures with tcpdump, and compares corscope with the browsers' own
# console truth.  Output in tests/out/browser/.  With --commit the pcaps and
# truth are also copied to pcaps/browser/ (then commit them by hand).
# Debian's own python3 runs it: the h2 transport needs its python3-h2.
set -e
cd "$(dirname "$0")/../.."
[ -x ./corscope ] || make corscope
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
exec "$PY" tests/browser/run.py "$@"
