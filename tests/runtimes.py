"""Which runtime runs which tests, and how a service test asks the Rasa runtime.

Recobra has two Python runtimes (docs/architecture.md, *Runtimes*): the Rasa server (channels/, components/)
runs on Python 3.10 with Rasa's pins (.venv-rasa, requirements/rasa.lock); everything else on Python 3.12
(.venv, requirements/service.lock). The tests below import rasa, channels/ or components/ and run on the Rasa
runtime; every other test runs on the service runtime. Each runtime's pytest collects its own half
(tests/conftest.py), so ``.venv/bin/python -m pytest`` and ``.venv-rasa/bin/python -m pytest`` together are
the whole suite (`make test`), and neither imports the other's libraries. tests/unit/test_runtimes.py holds the
list to the imports. This module imports nothing of the project: both runtimes load it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent

# paths under tests/
RASA_RUNTIME_TESTS = frozenset(
    {
        "channels/fake_agent.py",  # not a test: Rasa's channel code with an echo agent (bench/edge_bench.py)
        "channels/test_rasa_server.py",
        "channels/test_rasa_speedups.py",
        "channels/test_recobra_input.py",
        "channels/test_tracker_failstop.py",
        "channels/test_tracker_store.py",
        "unit/test_embeddings.py",
        "unit/test_fallback.py",
        "unit/test_intent_ensemble.py",
        "unit/test_reason_classifier.py",
    }
)

IN_RASA_RUNTIME = importlib.util.find_spec("rasa") is not None


def runs_here(path: Path) -> bool | None:
    """Whether this runtime collects ``path`` (a file, or a folder that may hold some of its tests); None for a
    path outside tests/."""
    try:
        rel = path.resolve().relative_to(TESTS).as_posix()
    except ValueError:
        return None
    if path.is_dir():
        return not IN_RASA_RUNTIME or rel == "." or any(t.startswith(rel + "/") for t in RASA_RUNTIME_TESTS)
    return (rel in RASA_RUNTIME_TESTS) == IN_RASA_RUNTIME


def rasa_python() -> str:
    """The Rasa runtime's interpreter, as the launcher starts Rasa with it (bot.platform.config: rasa_python)."""
    return os.environ.get("RECOBRA_RASA_PYTHON") or str(ROOT / ".venv-rasa" / "bin" / "python")


def in_rasa_runtime(code: str, *args: str, stdin: str | None = None, timeout: float = 120) -> Any:
    """Run ``code`` on the Rasa runtime's Python from the repository root (``args`` as ``sys.argv[1:]``,
    ``stdin`` on its standard input) and return the JSON it prints last. What the service writes for Rasa (its
    endpoints, its tracker store, an NLU export) is read by the Rasa that reads it in production, not by a copy
    of Rasa's reader in the service."""
    proc = subprocess.run(
        [rasa_python(), "-c", code, *args],
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"the Rasa runtime ({rasa_python()}) failed:\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])
