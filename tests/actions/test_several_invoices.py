"""Several open invoices (issue #27 §1): the debtor names one ("la del celular", "la F-2026-014", the month, a list
number, a button), the bot asks which when it matters, and promises, date changes, plans and links follow."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from actions.catalogue import (
    ActionConfirmPending,
    ActionOfferPaymentPlan,
    ActionProcessInform,
    ActionProposePromise,
    ActionRequestDueDateChange,
    ActionSendPaymentLink,
)
from actions.parsing import MONTHS
from bot.billing import payment_links
from bot.language import local_today
from bot.store.models import Invoice, PaymentLink, PaymentPlan, Promise
from tests.actions.conftest import PHONE, ent, verified


def three_invoices(make_debtor):
    """Overdue 35 days (a loan), due in 10 days (a phone), due in 50 days (no concept): three distinct months."""
    today = local_today(tz="America/Bogota")
    debtor = make_debtor(
        invoices=[
            {"external_id": "F-2026-009", "amount": "300000", "currency": "COP",
             "due_date": (today - timedelta(days=35)).isoformat(), "description": "Préstamo personal"},
            {"external_id": "F-2026-014", "amount": "120000", "currency": "COP",
             "due_date": (today + timedelta(days=10)).isoformat(), "description": "Celular Samsung A15"},
            {"external_id": "F-2026-020", "amount": "80000", "currency": "COP",
             "due_date": (today + timedelta(days=50)).isoformat()},
        ]
    )  # fmt: skip
    return debtor, today


def promised(session) -> list[tuple[str, Decimal]]:
    rows = session.execute(select(Promise).where(Promise.status == "open").order_by(Promise.id)).scalars().all()
    return [(session.get(Invoice, p.invoice_id).external_id, p.amount) for p in rows]


async def test_a_promise_names_its_invoice_by_month_whatever_else_the_message_says(convo, make_debtor, session):
    debtor, today = three_invoices(make_debtor)
    month = MONTHS[(today + timedelta(days=10)).month - 1]
    c = verified(convo)
    text = f"le pago la de {month} el viernes"
    replies = await c.say(
        text, "promise_to_pay", ActionProposePromise, entities=[ent("date", "el viernes", "el viernes", len(text) - 10)]
    )
    assert replies == ["utter_invoice_in_question", "utter_confirm_promise"]
    assert "F-2026-014 · Celular Samsung A15 ($120.000" in c.texts()[0]
    await c.say("sí", "affirm", ActionConfirmPending)
    assert promised(session) == [("F-2026-014", Decimal("120000.00"))]


async def test_a_partial_promise_asks_which_invoice_and_a_list_number_answers(convo, make_debtor, session):
    three_invoices(make_debtor)
    c = verified(convo)
    text = "le pago 50 mil el viernes"
    replies = await c.say(
        text,
        "promise_to_pay",
        ActionProposePromise,
        entities=[ent("amount", "50 mil", "50 mil", 8), ent("date", "el viernes", "el viernes", 15)],
    )
    assert replies == ["utter_ask_which_invoice"]
    (asked,) = c.last
    assert [b["payload"] for b in asked["buttons"]] == [
        '/inform{"invoice": "F-2026-009"}',
        '/inform{"invoice": "F-2026-014"}',
        '/inform{"invoice": "F-2026-020"}',
        '/inform{"invoice": "all"}',
    ]
    assert [b["title"] for b in asked["buttons"]] == [
        "F-2026-009 · Préstamo personal ($300.000)",
        "F-2026-014 · Celular Samsung A15 ($120.000)",
        "F-2026-020 ($80.000)",
        "Todas",
    ]
    # where buttons cannot go (SMS), they are the numbered list the debtor answers with a number
    from bot.conversation.rasa_client import bot_texts

    (sms,) = bot_texts([{"text": c.texts()[0], "buttons": asked["buttons"]}])
    assert sms.endswith("2. F-2026-014 · Celular Samsung A15 ($120.000)\n3. F-2026-020 ($80.000)\n4. Todas")
    assert c.slots["awaiting"] == "invoice"
    # a bare "2" (SMS, or WhatsApp before the buttons land) picks the second of the list
    assert await c.say("2", "inform", ActionProcessInform) == ["utter_invoice_in_question", "utter_confirm_promise"]
    assert "$50.000" in c.texts()[1]
    await c.say("sí", "affirm", ActionConfirmPending)
    assert promised(session) == [("F-2026-014", Decimal("50000.00"))]


async def test_a_button_answer_picks_the_invoice_and_all_splits_oldest_first(convo, make_debtor, session):
    three_invoices(make_debtor)
    c = verified(convo)
    text = "le abono 350 mil el viernes"
    await c.say(
        text,
        "promise_to_pay",
        ActionProposePromise,
        entities=[ent("amount", "350 mil", "350 mil", 9), ent("date", "el viernes", "el viernes", 17)],
    )
    replies = await c.say('/inform{"invoice": "all"}', "inform", ActionProcessInform, entities=[ent("invoice", "all")])
    assert replies == ["utter_promise_covers_invoices", "utter_confirm_promise"]
    assert "F-2026-009 · Préstamo personal ($300.000) y F-2026-014 · Celular Samsung A15 ($50.000)" in c.texts()[0]
    await c.say("sí", "affirm", ActionConfirmPending)
    assert promised(session) == [("F-2026-009", Decimal("300000.00")), ("F-2026-014", Decimal("50000.00"))]


async def test_a_date_change_asks_which_and_moves_only_the_one_named_by_its_concept(convo, make_debtor, session):
    debtor, today = three_invoices(make_debtor)
    c = verified(convo)
    assert await c.say("me puede correr la fecha?", "request_due_date_change", ActionRequestDueDateChange) == [
        "utter_ask_which_invoice"
    ]
    assert await c.say("la del celular", "inform", ActionProcessInform) == ["utter_ask_new_due_date"]
    new = today + timedelta(days=15)
    said = f"el {new.day} de {MONTHS[new.month - 1]}"
    assert await c.say(said, "inform", ActionProcessInform, entities=[ent("date", said, said, 0)]) == [
        "utter_invoice_in_question",
        "utter_confirm_due_date",
    ]
    assert await c.say("sí", "affirm", ActionConfirmPending) == ["utter_due_date_changed"]
    session.expire_all()
    moved = {i.external_id: i.due_date != i.original_due_date for i in session.execute(select(Invoice)).scalars()}
    assert moved == {"F-2026-009": False, "F-2026-014": True, "F-2026-020": False}


async def test_a_plan_for_the_invoice_named_by_its_number_without_dashes(convo, make_debtor, session):
    three_invoices(make_debtor)
    c = verified(convo)
    replies = await c.say("quiero pagar la f2026009 en cuotas", "request_payment_plan", ActionOfferPaymentPlan)
    assert replies == ["utter_plan_options"]
    assert "$300.000" in c.texts()[0]
    await c.say("3", "inform", ActionProcessInform)
    await c.say("sí", "affirm", ActionConfirmPending)
    plan = session.execute(select(PaymentPlan)).scalar_one()
    assert session.get(Invoice, plan.invoice_id).external_id == "F-2026-009"


async def test_the_link_pays_every_invoice_and_the_one_named_comes_first(convo, make_debtor, session):
    three_invoices(make_debtor)
    c = verified(convo)
    replies = await c.say("mándeme el link de la del celular", "request_payment_link", ActionSendPaymentLink)
    assert replies == ["utter_payment_link_balance", "utter_payment_link_several"]
    assert "$120.000 (factura F-2026-014 · Celular Samsung A15)" in c.texts()[0]
    assert "link por $500.000" in c.texts()[1]
    whole = session.execute(select(PaymentLink).where(PaymentLink.invoice_id.is_(None))).scalar_one()
    assert [session.get(Invoice, i.invoice_id).external_id for i in payment_links.items_of(session, whole)] == [
        "F-2026-009",
        "F-2026-014",
        "F-2026-020",
    ]


async def test_more_than_three_invoices_are_never_left_out_of_the_link(convo, make_debtor, session):
    today = local_today(tz="America/Bogota")
    make_debtor(
        invoices=[
            {"external_id": f"F{n}", "amount": "10000", "currency": "COP", "due_date": today.isoformat()}
            for n in range(1, 6)
        ]
    )
    c = convo(PHONE, introduced=True, verified=True)
    assert await c.say("el link", "request_payment_link", ActionSendPaymentLink) == ["utter_payment_link_several"]
    assert "(F1, F2, F3, F4 y F5): link por $50.000" in c.texts()[0]


async def test_an_answer_that_names_no_invoice_asks_again_for_the_number(convo, make_debtor):
    three_invoices(make_debtor)
    c = verified(convo)
    await c.say("me puede correr la fecha?", "request_due_date_change", ActionRequestDueDateChange)
    assert await c.say("cual?", "inform", ActionProcessInform) == ["utter_invoice_unclear"]


async def test_the_balance_names_each_invoice_with_its_concept(convo, make_debtor):
    from actions.catalogue import ActionShowBalance

    three_invoices(make_debtor)
    c = verified(convo)
    assert (await c.say("cuánto debo", "check_balance", ActionShowBalance))[0] == "utter_balance_many"
    assert "Factura F-2026-014 · Celular Samsung A15: $120.000" in c.texts()[0]
    assert "Factura F-2026-020: $80.000" in c.texts()[0]


async def test_the_number_of_the_all_option_picks_every_invoice(convo, make_debtor, session):
    three_invoices(make_debtor)
    c = verified(convo)
    text = "le abono 350 mil el viernes"
    await c.say(
        text,
        "promise_to_pay",
        ActionProposePromise,
        entities=[ent("amount", "350 mil", "350 mil", 9), ent("date", "el viernes", "el viernes", 17)],
    )
    assert await c.say("4", "inform", ActionProcessInform) == ["utter_promise_covers_invoices", "utter_confirm_promise"]


async def test_a_button_pressed_after_another_message_still_answers_the_waiting_request(convo, make_debtor):
    from actions.catalogue import ActionShowBalance

    three_invoices(make_debtor)
    c = verified(convo)
    await c.say("me puede correr la fecha?", "request_due_date_change", ActionRequestDueDateChange)
    await c.say("cuánto debo en total?", "check_balance", ActionShowBalance)
    # a bare "2" now is no answer (the question was two messages ago); the button's payload is
    assert await c.say(
        '/inform{"invoice": "F-2026-014"}', "inform", ActionProcessInform, entities=[ent("invoice", "F-2026-014")]
    ) == ["utter_ask_new_due_date"]
    assert await c.say(
        '/inform{"invoice": "F-2026-014"}', "inform", ActionProcessInform, entities=[ent("invoice", "F-2026-014")]
    ) == ["utter_invoice_choice_stale"]  # carried out already: the same button again is not read as a date
    assert c.slots["awaiting"] == "due_date"  # the day is still asked for


async def test_the_amount_said_before_the_day_is_kept_when_the_day_comes(convo, make_debtor, session):
    three_invoices(make_debtor)
    c = verified(convo)
    text = "le pago 50 mil de la del celular"
    assert await c.say(
        text, "promise_to_pay", ActionProposePromise, entities=[ent("amount", "50 mil", "50 mil", 8)]
    ) == ["utter_ask_promise_date"]
    replies = await c.say(
        "el viernes", "inform", ActionProcessInform, entities=[ent("date", "el viernes", "el viernes", 0)]
    )
    assert replies == ["utter_invoice_in_question", "utter_confirm_promise"]
    assert "$50.000" in c.texts()[1]
    await c.say("sí", "affirm", ActionConfirmPending)
    assert promised(session) == [("F-2026-014", Decimal("50000.00"))]


async def test_a_date_said_after_the_chosen_invoices_date_change_was_refused_is_a_promise_on_that_invoice(
    convo, make_debtor, session
):
    """«No puedo mover la fecha de esa factura; ¿le comunico con un asesor?» — «le pago el 20»: that invoice."""
    debtor, today = three_invoices(make_debtor)
    c = verified(convo)
    replies = await c.say(
        "me cambian la fecha de la del préstamo?", "request_due_date_change", ActionRequestDueDateChange
    )
    assert replies == ["utter_due_date_refused_too_overdue", "utter_offer_human"]  # 35 days overdue
    when = today + timedelta(days=7)
    text = f"le pago el {when.day}"
    replies = await c.say(
        text, "promise_to_pay", ActionProposePromise, entities=[ent("date", f"el {when.day}", f"el {when.day}", 8)]
    )
    assert replies[-1] == "utter_confirm_promise" and "300.000" in c.texts()[-1]
    await c.say("sí", "affirm", ActionConfirmPending)
    assert promised(session) == [("F-2026-009", Decimal("300000.00"))]
