#!/usr/bin/env bash
# Train the Rasa model only when the training data, domain, config or custom NLU components changed.
set -eu
cd "$(dirname "$0")/.."
inputs=$(find data domain config.yml components -type f \( -name '*.yml' -o -name '*.yaml' -o -name '*.py' \) 2>/dev/null | sort)
fingerprint=$(cat $inputs | sha256sum | cut -d' ' -f1)
if [ -f models/recobra.tar.gz ] && [ "$(cat models/.fingerprint 2>/dev/null)" = "$fingerprint" ]; then
  echo "Rasa model is up to date (models/recobra.tar.gz)."
  exit 0
fi
echo "Training the Rasa model (data, domain or config changed) ..."
start=$(date +%s)
# --skip-validation: `make test` runs `rasa data validate --fail-on-warnings` on its own; --augmentation 0: the
# rules and the few stories need no glued-together story variants, which only fed TED (every test story passes
# without them: scripts/rasa_checks.sh). What each saved: docs/nlu.md, eighth round.
# on the Rasa runtime (requirements/rasa.lock): RECOBRA_RASA_PYTHON, else .venv-rasa (Makefile)
TF_CPP_MIN_LOG_LEVEL=2 "${RECOBRA_RASA_PYTHON:-.venv-rasa/bin/python}" -m rasa train --domain domain --data data --config config.yml \
  --out models --fixed-model-name recobra --quiet --skip-validation --augmentation 0
echo "$fingerprint" > models/.fingerprint
echo "Model trained in $(( $(date +%s) - start )) s."
