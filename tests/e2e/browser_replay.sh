#!/bin/sh
# corscope on the real-browser captures in pcaps/browser/ agrees, scenario by
# scenario, with what Firefox ESR and Chromium themselves reported
# (pcaps/browser/truth.tsv, recorded by tests/browser/run.sh).  No browser needed.
cd "$(dirname "$0")/../.." || exit 2
exec python3 tests/browser/compare.py pcaps/browser/truth.tsv \
    firefox=pcaps/browser/firefox.pcap chromium=pcaps/browser/chromium.pcap
