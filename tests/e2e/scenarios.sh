#!/bin/sh
# Verdicts on the generated scenario captures match pcaps/scenarios.tsv.
cd "$(dirname "$0")/../.." || exit 2
exec python3 tests/scenarios_check.py
