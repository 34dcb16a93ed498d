#!/usr/bin/env bash
# Every benchmark in bench/, one after another, printing its figures.
set -eu
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=2
status=0
for b in bench/*.py; do
  echo "== $b"
  .venv/bin/python "$b" || { echo "!! $b failed"; status=1; }
done
exit $status
