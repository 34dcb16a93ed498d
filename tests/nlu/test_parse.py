"""Messages the trained model once got wrong, parsed by the real model (marked ``rasa``; skipped when
no model is there: ``models/*.tar.gz``, or RECOBRA_TEST_MODEL naming one). None of these sentences
is a training example. The model parses on the Rasa runtime and the service's own reading of the parse (the
actions' checks, the words' requests) runs here, on the service runtime, as in production."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.rasa_model import trained_model
from tests.runtimes import rasa_python

ROOT = Path(__file__).resolve().parents[2]


pytestmark = [
    pytest.mark.rasa,
    pytest.mark.slow,
    pytest.mark.skipif(trained_model() is None, reason="no trained Rasa model in models/ (make model)"),
]

# One Rasa process for the module: a text per line in, ``PARSE <json>`` per line out (Rasa logs elsewhere).
PARSER = """
import asyncio, json, sys
from rasa.core.agent import Agent
agent = Agent.load(sys.argv[1])
for line in sys.stdin:
    result = asyncio.run(agent.parse_message(json.loads(line)))
    print("PARSE " + json.dumps(result, default=lambda o: o.item() if hasattr(o, "item") else str(o)), flush=True)
"""


@pytest.fixture(scope="module")
def parse() -> Iterator[Callable[[str], dict]]:
    proc = subprocess.Popen(
        [rasa_python(), "-c", PARSER, str(trained_model())],
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin and proc.stdout

    def one(text: str) -> dict:
        proc.stdin.write(json.dumps(text) + "\n")
        proc.stdin.flush()
        for line in proc.stdout:
            if line.startswith("PARSE "):
                return json.loads(line[len("PARSE ") :])
        raise AssertionError(f"the Rasa runtime stopped parsing (exit {proc.wait(30)})")

    try:
        yield one
    finally:
        proc.stdin.close()
        proc.wait(60)


def _reasons(result: dict) -> list[str]:
    return [e["value"] for e in result["entities"] if e["entity"] == "reason"]


@pytest.mark.parametrize("text", ["hola quiero pagar en cuotas", "hola, quiero pagar en cuotas"])
def test_a_greeting_before_a_plan_request_is_still_a_plan_request(parse, text):
    result = parse(text)
    assert result["intent"]["name"] == "request_payment_plan", result["intent_ranking"][:3]


@pytest.mark.parametrize("text", ["qué pasó?", "qué pasó con mi cuenta", "que paso", "QUÉ PASÓ CON MI CUENTA?"])
def test_what_happened_is_a_question_not_a_reason(parse, text):
    result = parse(text)
    assert "report_nonpayment_reason" not in result["intent"]["name"].split("+"), result["intent_ranking"][:3]
    assert _reasons(result) == [], result["entities"]


@pytest.mark.parametrize(
    ("text", "intent", "reason"),
    [
        ("se me pasó la fecha de pago, disculpe", "report_nonpayment_reason", "forgot"),
        ("me quedé sin trabajo, puedo pagar el 30?", "report_nonpayment_reason+promise_to_pay", "job_loss"),
    ],
)
def test_real_reasons_are_still_recorded(parse, text, intent, reason):
    result = parse(text)
    assert result["intent"]["name"] == intent, result["intent_ranking"][:3]
    assert _reasons(result) == [reason]


# issue #28 §4: what the real model makes of these, through the checks the actions apply (CLEAR_CONFIDENCE + words)
def _clear(result: dict, intent: str, says) -> bool:
    from actions.base import CLEAR_CONFIDENCE

    name, confidence = result["intent"]["name"], result["intent"]["confidence"]
    return intent in name.split("+") and confidence >= CLEAR_CONFIDENCE and says(result["text"])


def test_who_is_writing_is_no_clear_wrong_number_and_the_plain_one_is(parse):
    from bot.language import wording

    assert not _clear(parse("¿de parte de quién? no reconozco este número"), "wrong_number", wording.says_wrong_number)
    assert _clear(parse("número equivocado, no conozco a esa persona"), "wrong_number", wording.says_wrong_number)


@pytest.mark.parametrize(("text", "reason"), [("estoy pelado este mes", "other"), ("me quedé sin trabajo", "job_loss")])
def test_being_broke_is_read_as_no_job_loss(parse, text, reason):
    from bot.conversation import reasons

    found = _reasons(parse(text))
    assert reasons.read(found[0] if found else None, text).reason == reason


# issue #28 §1: two things in one message. Whatever single intent the model picks, the reason it sets (when the words
# name a cause outside the requests) and the requests the words make (bot/language/asks.py) give the whole message.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("me quedé sin trabajo, ¿y cuánto es lo que debo?", {"report_nonpayment_reason", "check_balance"}),
        ("se me olvidó pagar, mándeme el link", {"report_nonpayment_reason", "request_payment_link"}),
        (
            "el servicio de internet no funciona hace un mes, quiero hablar con alguien",
            {"report_nonpayment_reason", "request_human"},
        ),
        ("me atrasaron el sueldo, cuánto es el total?", {"report_nonpayment_reason", "check_balance"}),
        ("estoy sin chamba desde octubre, cuánto debo?", {"report_nonpayment_reason", "check_balance"}),
    ],
)
def test_both_halves_of_a_message_are_found(parse, text, expected):
    from bot.language import asks, wording

    result = parse(text)
    found = set(result["intent"]["name"].split("+")) | set(asks.asks_in(text))
    if _reasons(result) and wording.reason_cues(asks.without_asks(text)):
        found.add("report_nonpayment_reason")
    assert expected <= found, (result["intent_ranking"][:3], result["entities"])
