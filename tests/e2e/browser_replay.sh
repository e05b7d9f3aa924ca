#!/bin/sh
# corscope on the real-browser captures in pcaps/browser/ agrees, scenario by
# scenario, with what Firefox ESR and Chromium themselves reported
# (pcaps/browser/truth.tsv, recorded by tests/browser/run.sh).  No browser needed.
# The same scenarios over HTTPS (truth-https.tsv) and over h2 (truth-h2.tsv):
# each browser's capture decrypted with its own key log (one browser per run:
# the key logs differ).  Over h2, Firefox joins several
# Access-Control-Allow-Origin fields into one value and Chromium reports an
# RST_STREAM as net::ERR_HTTP2_PROTOCOL_ERROR: corscope must say the same.
cd "$(dirname "$0")/../.." || exit 2
status=0
python3 tests/browser/compare.py pcaps/browser/truth.tsv \
    firefox=pcaps/browser/firefox.pcap chromium=pcaps/browser/chromium.pcap || status=1
for t in https h2; do
    for b in firefox chromium; do
        python3 tests/browser/compare.py "pcaps/browser/truth-$t.tsv" \
            "$b=pcaps/browser/$b-$t.pcap" --keylog "pcaps/browser/$b-$t.keys" || status=1
    done
done
exit $status
