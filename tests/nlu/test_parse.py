"""Messages the trained model once got wrong, parsed by the real model (marked ``rasa``; skipped when
no model is there: ``models/*.tar.gz``, or RECOBRA_TEST_MODEL naming one). None of these sentences
is a training example."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.rasa_model import trained_model

ROOT = Path(__file__).resolve().parents[2]


pytestmark = [
    pytest.mark.rasa,
    pytest.mark.slow,
    pytest.mark.skipif(trained_model() is None, reason="no trained Rasa model in models/ (make model)"),
]


@pytest.fixture(scope="module")
def parse():
    pytest.importorskip("rasa")
    from rasa.core.agent import Agent

    agent = Agent.load(trained_model())
    return lambda text: asyncio.run(agent.parse_message(text))


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
