#!/bin/sh
# Our transactions vs Zeek's http.log for the 44 baselines of the peer corpus.
cd "$(dirname "$0")/../.." || exit 2
exec python3 tests/zeek/compare.py
