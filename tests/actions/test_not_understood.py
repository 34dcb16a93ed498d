"""#28 §2: «no entendí» is the last resort, and when it happens it leads on: the answer the bot waits for, the
digits a known number gives first, or what the bot can do and a person; the second in a row offers a person."""

import re

import pytest

from actions.catalogue import (
    ActionConfirmPending,
    ActionHandleFallback,
    ActionOfferPaymentPlan,
    ActionProposePromise,
)
from bot.store.models import Handoff

PHONE = "+573001112233"
# long enough that no part of it is read as the answer to the bot's question
NOISE = "uff la verdad no sé qué decirle jajaja qué pena con usted"


async def test_waiting_for_a_date_the_reply_asks_for_a_day_with_examples(convo, make_debtor):
    make_debtor()
    c = convo(PHONE, introduced=True, verified=True)
    assert await c.say("le voy a pagar", "promise_to_pay", ActionProposePromise) == ["utter_ask_promise_date"]
    assert await c.say(NOISE, "nlu_fallback", ActionHandleFallback) == ["utter_default_date"]
    [text] = c.texts()
    assert "qué día" in text.lower() and "«el viernes»" in text


async def test_waiting_for_a_count_the_reply_asks_for_the_number(convo, make_debtor):
    make_debtor()
    c = convo(PHONE, introduced=True, verified=True)
    assert await c.say("puedo pagar en cuotas?", "request_payment_plan", ActionOfferPaymentPlan) == [
        "utter_plan_options"
    ]
    assert await c.say(NOISE, "nlu_fallback", ActionHandleFallback) == ["utter_default_plan_count"]
    assert "cuántas cuotas" in c.texts()[0]


async def test_nothing_awaited_the_reply_names_next_steps_and_a_person(convo, make_debtor):
    make_debtor()
    c = convo(PHONE, introduced=True, verified=True)
    assert await c.say(NOISE, "nlu_fallback", ActionHandleFallback) == ["utter_default"]
    [text] = c.texts()
    steps = [s for s in ("saldo", "link de pago", "fecha de pago") if s in text]
    assert len(steps) >= 2 and "asesor" in text
    assert "¿Me lo puede decir de otra forma?" not in text  # not a bare apology


async def test_a_known_number_not_yet_verified_is_asked_the_digits_and_told_nothing(convo, make_debtor):
    make_debtor()
    c = convo(PHONE, introduced=True)
    assert await c.say(NOISE, "nlu_fallback", ActionHandleFallback) == ["utter_default_unverified"]
    [text] = c.texts()
    assert "4 dígitos" in text
    assert not re.search(r"\d[\d.,]{2,}|\$|saldo|deuda|factura|vence", text)  # nothing about the debt


@pytest.mark.parametrize("verified", [True, False])
async def test_the_second_in_a_row_offers_a_person_and_yes_hands_off(convo, make_debtor, session, verified):
    make_debtor()
    c = convo(PHONE, introduced=True, verified=verified)
    first = await c.say(NOISE, "nlu_fallback", ActionHandleFallback)
    assert first in (["utter_default"], ["utter_default_unverified"])
    assert await c.say("asdfgh qwerty", "nlu_fallback", ActionHandleFallback) == ["utter_offer_human_after_fallback"]
    await c.say("sí", "affirm", ActionConfirmPending)
    assert session.query(Handoff).one().reason == "fallback"
