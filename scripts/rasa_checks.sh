#!/usr/bin/env bash
# Rasa's own checks: the data validates, and the test stories pass against the trained model.
set -eu
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=2
# the Rasa runtime (requirements/rasa.lock): RECOBRA_RASA_PYTHON, else .venv-rasa (Makefile)
rasa=("${RECOBRA_RASA_PYTHON:-.venv-rasa/bin/python}" -m rasa)
echo "rasa data validate ..."
"${rasa[@]}" data validate --domain domain --data data --config config.yml --fail-on-warnings --quiet
if ls tests/stories/*.yml >/dev/null 2>&1; then
  echo "rasa test core (tests/stories) ..."
  out=$(mktemp -d)
  "${rasa[@]}" test core --model models/recobra.tar.gz --stories tests/stories \
    --out "$out" --fail-on-prediction-errors --quiet
  echo "rasa test core: all test stories passed"
fi
