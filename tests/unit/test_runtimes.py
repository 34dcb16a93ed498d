"""Two runtimes (docs/architecture.md, *Runtimes*): Rasa on its Python 3.10, everything else on this one (3.12).

What an operator would notice if the split broke: Rasa started on the wrong interpreter (it does not import on
3.12), a test that silently ran on neither runtime, a file the service writes that Rasa reads differently."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

from tests.runtimes import RASA_RUNTIME_TESTS, ROOT, TESTS, in_rasa_runtime

RASA_SIDE = {"rasa", "channels", "components"}  # what only the Rasa runtime can import


def top_level_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def test_every_test_runs_on_the_runtime_its_imports_need() -> None:
    """A test that imports Rasa's side must be listed for the Rasa runtime (else this runtime fails to collect
    it); a listed one must not import the service's code (which the Rasa runtime cannot import)."""
    wrong = []
    for path in sorted(TESTS.rglob("*.py")):
        rel = path.relative_to(TESTS).as_posix()
        imports = top_level_imports(path)
        if rel in RASA_RUNTIME_TESTS:
            if imports & {"bot", "actions"}:
                wrong.append(f"{rel}: listed for the Rasa runtime, imports {sorted(imports & {'bot', 'actions'})}")
        elif imports & RASA_SIDE:
            wrong.append(f"{rel}: imports {sorted(imports & RASA_SIDE)} but is not in tests/runtimes.py")
    assert not wrong, wrong
    assert all((TESTS / rel).exists() for rel in RASA_RUNTIME_TESTS)


def test_the_service_code_never_imports_rasa() -> None:
    """bot/ and actions/ run on this runtime, where rasa is not installed (actions use rasa-sdk, its protocol)."""
    offenders = [
        str(path.relative_to(ROOT))
        for source in ("bot", "actions")
        for path in (ROOT / source).rglob("*.py")
        if top_level_imports(path) & RASA_SIDE
    ]
    assert not offenders


def test_each_runtime_is_the_python_and_the_libraries_it_is_pinned_to() -> None:
    import sqlalchemy

    assert sys.version_info[:2] == (3, 12) and sqlalchemy.__version__.startswith("2.")
    rasa = in_rasa_runtime(
        "import json, sys, rasa, sqlalchemy; "
        "print(json.dumps([sys.version_info[:2], rasa.__version__, sqlalchemy.__version__]))"
    )
    assert rasa[0] == [3, 10] and rasa[1] == "3.6.21" and rasa[2].startswith("1.4.")


def test_rasa_starts_on_the_rasa_runtime_and_every_other_process_on_this_one(tmp_path, monkeypatch) -> None:
    from bot.platform.config import reset_settings
    from bot.platform.launcher import procfile

    def entries() -> dict[str, str]:
        reset_settings()
        try:
            return dict(line.split(": ", 1) for line in procfile(tmp_path).splitlines() if line)
        finally:
            reset_settings()

    monkeypatch.delenv("RECOBRA_RASA_PYTHON", raising=False)
    started = entries()
    assert started["rasa"].startswith(f"{ROOT / '.venv-rasa' / 'bin' / 'python'} -m channels.rasa_server run ")
    here = str(Path(sys.executable).parent / "python")
    for name in ("actions", "web", "worker"):
        assert started[name].startswith(f"{here} -m "), started[name]
    monkeypatch.setenv("RECOBRA_RASA_PYTHON", "python")  # a container image with Rasa alone
    assert entries()["rasa"].startswith("python -m channels.rasa_server run ")


@pytest.mark.slow
def test_rasa_builds_the_lean_tracker_store_the_launcher_configures(tmp_path) -> None:
    """The endpoints file the launcher writes names channels/tracker_store.py's store; Rasa's own factory, on the
    Rasa runtime, must build exactly that store from it (a wrong name falls back to Rasa's in-memory store)."""
    from bot.platform.launcher import tracker_store

    config = tracker_store("sqlite:///unused.db", tmp_path)
    built = in_rasa_runtime(
        "import json, sys\n"
        "from rasa.core.tracker_store import TrackerStore\n"
        "from rasa.shared.core.domain import Domain\n"
        "from rasa.utils.endpoints import EndpointConfig\n"
        "store = TrackerStore.create(EndpointConfig.from_dict(json.loads(sys.argv[1])), Domain.empty())\n"
        "inner = getattr(store, '_tracker_store', store)\n"
        "print(json.dumps(type(inner).__module__ + '.' + type(inner).__name__))\n",
        json.dumps(config),
    )
    assert built == "channels.tracker_store.LeanSQLTrackerStore"


@pytest.mark.slow
def test_the_action_tests_domain_is_the_one_rasa_loads() -> None:
    """The action tests merge domain/*.yml themselves (no rasa on this runtime): the same slots and responses as
    Rasa's own loader, which is what Rasa sends the action server."""
    from tests.actions.conftest import load_domain

    mine = load_domain()
    theirs = in_rasa_runtime(
        "import json\n"
        "from rasa.shared.core.domain import Domain\n"
        "d = Domain.load('domain').as_dict()\n"
        "print(json.dumps({'slots': {k: v.get('initial_value') for k, v in d['slots'].items()},"
        " 'responses': d['responses']}))\n"
    )
    assert {k: v.get("initial_value") for k, v in mine["slots"].items()} == theirs["slots"]
    assert mine["responses"] == theirs["responses"]


def test_without_the_rasa_runtime_the_launcher_says_so_and_starts_nothing(tmp_path, monkeypatch, capsys) -> None:
    from bot.platform import launcher
    from bot.platform.config import reset_settings

    monkeypatch.setenv("RECOBRA_RASA_PYTHON", str(tmp_path / "no-such-python"))
    started = []
    monkeypatch.setattr(launcher, "take_run_lock", lambda var_dir: started.append(var_dir))  # the first step
    reset_settings()
    try:
        assert launcher.run() == 1
    finally:
        reset_settings()
    err = capsys.readouterr().err
    assert "Rasa runtime" in err and "RECOBRA_RASA_PYTHON" in err and "make setup" in err
    assert not started  # no lock, no Procfile, no endpoints: nothing was started
