#!/bin/sh
# Every capture of the peer corpus: no crash, no sanitizer report, valid JSON.
cd "$(dirname "$0")/../.." || exit 2
exec python3 tests/zeek/robustness.py
