#!/bin/sh
# corscope on the real-browser captures in pcaps/browser/ agrees, scenario by
# scenario, with what Firefox ESR and Chromium themselves reported
# (pcaps/browser/truth.tsv, recorded by tests/browser/run.sh).  No browser needed.
# The same scenarios over HTTPS (truth-https.tsv): each browser's capture
# decrypted with its own key log (one browser per run: the key logs differ).
cd "$(dirname "$0")/../.." || exit 2
status=0
python3 tests/browser/compare.py pcaps/browser/truth.tsv \
    firefox=pcaps/browser/firefox.pcap chromium=pcaps/browser/chromium.pcap || status=1
for b in firefox chromium; do
    python3 tests/browser/compare.py pcaps/browser/truth-https.tsv \
        "$b=pcaps/browser/$b-https.pcap" --keylog "pcaps/browser/$b-https.keys" || status=1
done
exit $status
