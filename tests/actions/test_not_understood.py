"""#28 §2: «no entendí» is the last resort, and when it happens it leads on: the answer the bot waits for, the
digits a known number gives first, or what the bot can do and a person; the second in a row offers a person."""

import re
from datetime import date

import pytest

from actions.catalogue import (
    ActionConfirmPending,
    ActionHandleFallback,
    ActionOfferPaymentPlan,
    ActionProcessInform,
    ActionProposePromise,
)
from bot.billing.accounts import local_today
from bot.store.models import Handoff, PaymentPlan, Promise

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


# --- answers in context: the answer inside a remark, and an answer put off ---------------------------------


async def test_a_count_inside_a_remark_answers_how_many_instalments(convo, make_debtor):
    make_debtor()
    c = convo(PHONE, introduced=True, verified=True)
    await c.say("puedo pagar en cuotas?", "request_payment_plan", ActionOfferPaymentPlan)
    replies = await c.say("que sean 3, así se me hace más fácil con los gastos", "nlu_fallback", ActionHandleFallback)
    assert replies == ["utter_confirm_plan"] and c.slots["plan_count"] == 3


async def test_a_day_inside_a_remark_answers_when(convo, make_debtor):
    debtor = make_debtor()
    c = convo(PHONE, introduced=True, verified=True)
    await c.say("le voy a pagar", "promise_to_pay", ActionProposePromise)
    replies = await c.say("mejor para el 22 que es cuando me depositan el sueldo", "nlu_fallback", ActionHandleFallback)
    assert replies == ["utter_confirm_promise"]
    assert date.fromisoformat(c.slots["promise_date"]).day == 22
    assert local_today(debtor) < date.fromisoformat(c.slots["promise_date"])


async def test_chatter_that_says_today_is_not_the_day(convo, make_debtor, session):
    make_debtor()
    c = convo(PHONE, introduced=True, verified=True)
    await c.say("le voy a pagar", "promise_to_pay", ActionProposePromise)
    chatter = "hoy en la oficina trajeron pastel por el cumple del jefe y nos quedamos conversando"
    assert await c.say(chatter, "nlu_fallback", ActionHandleFallback) == ["utter_default_date"]
    assert session.query(Promise).first() is None


@pytest.mark.parametrize(
    "text", ["lo hablo con mi esposa y le confirmo", "déjeme pensarlo y mañana le aviso", "todavía no sé, ya le digo"]
)
async def test_an_answer_put_off_saves_nothing_and_keeps_the_question(convo, make_debtor, session, text):
    make_debtor()
    c = convo(PHONE, introduced=True, verified=True)
    await c.say("puedo pagar en cuotas?", "request_payment_plan", ActionOfferPaymentPlan)
    assert await c.say("3", "inform", ActionProcessInform) == ["utter_confirm_plan"]
    # the classifier hears "le confirmo" as a yes: the plan must not be saved on it
    assert await c.say(text, "affirm", ActionConfirmPending) == ["utter_take_your_time"]
    assert session.query(PaymentPlan).first() is None
    assert (await c.say("sí, hagámoslo", "affirm", ActionConfirmPending))[:1] == ["utter_plan_saved"]
    assert session.query(PaymentPlan).one().instalment_count == 3


async def test_an_answer_put_off_is_not_a_misunderstanding(convo, make_debtor):
    make_debtor()
    c = convo(PHONE, introduced=True, verified=True)
    await c.say("le voy a pagar", "promise_to_pay", ActionProposePromise)
    assert await c.say("lo consulto con mi esposo y le confirmo", "nlu_fallback", ActionHandleFallback) == [
        "utter_take_your_time"
    ]
    # a nonsense reply after it is the first not understood, not the second
    assert await c.say(NOISE, "nlu_fallback", ActionHandleFallback) != ["utter_offer_human_after_fallback"]
