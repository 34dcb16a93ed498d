"""The dialogue instrument's CI slice: a dozen of the team's conversations (one per category at least) through the
whole product — `python -m bot run` on the test session's store and Redis, free ports, the trained model — as
signed Twilio webhooks. `make dialogues` runs the whole set and prints the pass rate; this keeps the instrument
itself (and the behaviours these conversations pin) from rotting unnoticed. Marked ``rasa`` (the trained model)
and ``slow`` (starts every process: about a minute for Rasa to load the model)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from tests.rasa_model import trained_model

pytestmark = [
    pytest.mark.rasa,
    pytest.mark.slow,
    pytest.mark.skipif(trained_model() is None, reason="no trained Rasa model in models/ (make model)"),
]

# One or two per category; every one of them passes on the shipped model.
SLICE = [
    "co-balance-1",
    "mx-reason-promise-1",
    "mx-two-reason-endofmonth",
    "co-context-digits-correction",
    "co-date-duration-monday",
    "co-guess-who-is-writing",
    "mx-wrong-number-asked",
    "ar-opt-out-1",
    "co-dispute-1",
    "co-plan-1",
    "ar-due-too-far",
    "mx-link-yes-to-offer",
    "co-paid-1",
    "co-handoff-1",
    "ar-identity-locked",
    "co-statement-before-digits",
    "co-several-promise-by-concept",
    "co-offer-discount-yes",
    "co-link-number-on-sms",
    "co-plan-numbers-on-sms",
    "mx-link-tap-yes",
    "co-plan-taps",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def stack(database_url: str, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from bot.platform.config import reset_settings
    from tests.dialogues import run

    web, rasa, actions, health = _free_port(), _free_port(), _free_port(), _free_port()
    env = {
        "PORT": str(web),
        "RASA_URL": f"http://127.0.0.1:{rasa}",
        "ACTION_SERVER_URL": f"http://127.0.0.1:{actions}/webhook",
        "RECOBRA_WORKER_HEALTH_PORT": str(health),  # not 8010: another stack on this machine may hold it
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{web}",
        "RECOBRA_CAMPAIGNS_SCHEDULED": "false",
        "ACTION_SERVER_TOKEN": "dialogues-action-token",
        "RASA_JWT_SECRET": "dialogues-jwt-secret",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    proc = run.start_stack(env["PUBLIC_BASE_URL"], env["RASA_URL"], tmp_path / "stack.log", timeout=400)
    try:
        yield run.Stack(
            env["PUBLIC_BASE_URL"],
            env["PUBLIC_BASE_URL"],
            os.environ["RECOBRA_API_KEY"],
            os.environ["TWILIO_AUTH_TOKEN"],
        )
    finally:
        run.stop_stack(proc)
        monkeypatch.undo()
        reset_settings()


def test_a_slice_of_the_teams_conversations_passes(stack):
    from tests.dialogues import run, spec

    conversations = run.select(spec.load(), SLICE)
    assert {c.id for c in conversations} == set(SLICE)
    assert {c.category for c in conversations} == set(spec.CATEGORIES)
    results = run.run_all(stack, conversations, concurrency=4)
    failures = [run.failure_report(r) for r in results if not r.passed]
    assert not failures, "\n\n".join(failures)
