from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from actions.catalogue import (
    ActionConfirmPending,
    ActionExplainPaymentMethods,
    ActionOfferPaymentPlan,
    ActionProcessInform,
    ActionRequestDueDateChange,
    ActionSendPaymentLink,
)
from bot.billing import accounts
from bot.language import local_today
from bot.store.models import DueDateChange, Handoff, Instalment, Invoice, PaymentLink, PaymentPlan
from tests.actions.conftest import ent

PHONE = "+525512340000"


def mx_debtor(make_debtor, days_overdue=0, amount="1000.00"):
    today = local_today(tz="America/Mexico_City")  # the debtor's day, not the machine's (UTC midnight differs)
    return make_debtor(
        "MX-1",
        phone=PHONE,
        country="MX",
        timezone="America/Mexico_City",
        document_last4="2045",
        invoices=[
            {
                "external_id": "MX-F1",
                "amount": amount,
                "currency": "MXN",
                "due_date": (today - timedelta(days=days_overdue)).isoformat(),
            }
        ],
    )


async def test_payment_link_for_the_balance(convo, make_debtor, session):
    mx_debtor(make_debtor)
    c = convo(PHONE, introduced=True, verified=True)
    assert await c.say("mándame el link", "request_payment_link", ActionSendPaymentLink) == [
        "utter_payment_link_balance"
    ]
    link = session.execute(select(PaymentLink)).scalar_one()
    assert link.amount == Decimal("1000.00") and link.currency == "MXN"
    assert f"/p/{link.short_code}" in c.texts()[0] and "$1,000" in c.texts()[0]
    await c.say("otra vez el link", "request_payment_link", ActionSendPaymentLink)
    assert len(session.execute(select(PaymentLink)).all()) == 1  # reused


async def test_payment_methods_per_country(convo, make_debtor):
    mx_debtor(make_debtor)
    c = convo(PHONE, introduced=True)
    assert await c.say("cómo pago", "ask_payment_methods", ActionExplainPaymentMethods) == ["utter_payment_methods"]
    assert "OXXO" in c.texts()[0]


async def test_plan_picked_confirmed_stored_and_first_link_sent(convo, make_debtor, session):
    mx_debtor(make_debtor)
    c = convo(PHONE, introduced=True, verified=True)
    assert await c.say("puedo pagar en cuotas?", "request_payment_plan", ActionOfferPaymentPlan) == [
        "utter_plan_options"
    ]
    assert "4 cuotas" in c.texts()[0]
    assert await c.say("4", "inform", ActionProcessInform) == ["utter_confirm_plan"]
    assert await c.say("sí", "affirm", ActionConfirmPending) == ["utter_plan_saved", "utter_payment_link_instalment"]
    plan = session.execute(select(PaymentPlan)).scalar_one()
    amounts = [i.amount for i in session.execute(select(Instalment).order_by(Instalment.number)).scalars()]
    assert plan.instalment_count == 4 and sum(amounts) == Decimal("1000.00")
    link = session.execute(select(PaymentLink)).scalar_one()
    assert link.amount == amounts[0] and link.instalment_id is not None


async def test_yes_to_how_many_instalments_asks_for_a_number(convo, make_debtor):
    mx_debtor(make_debtor)
    c = convo(PHONE, introduced=True, verified=True)
    await c.say("puedo pagar en cuotas?", "request_payment_plan", ActionOfferPaymentPlan)
    assert await c.say("si", "affirm", ActionConfirmPending) == ["utter_plan_count_invalid"]
    assert "cuotas" in c.texts()[-1] and "¿Cuál prefiere?" in c.texts()[-1]
    assert await c.say("4", "inform", ActionProcessInform) == ["utter_confirm_plan"]


async def test_plan_with_count_in_the_request(convo, make_debtor):
    mx_debtor(make_debtor)
    c = convo(PHONE, introduced=True, verified=True)
    replies = await c.say(
        "quiero pagar en 2 cuotas",
        "request_payment_plan",
        ActionOfferPaymentPlan,
        entities=[ent("installments", "2", "2 cuotas", 15)],
    )
    assert replies == ["utter_confirm_plan"]
    assert "2 cuotas, de $500 cada una." in c.texts()[0]  # equal amounts named once


async def test_the_plan_confirmation_names_each_amount_once_in_plain_spanish(convo, make_debtor):
    mx_debtor(make_debtor, amount="1000.01")
    c = convo(PHONE, introduced=True, verified=True)
    await c.say(
        "en 2 cuotas",
        "request_payment_plan",
        ActionOfferPaymentPlan,
        entities=[ent("installments", "2", "2 cuotas", 3)],
    )
    assert "la primera de $500.01 y la otra de $500" in c.texts()[0]
    await c.say(
        "mejor en 4", "request_payment_plan", ActionOfferPaymentPlan, entities=[ent("installments", "4", "4", 9)]
    )
    assert "la primera de $250.01 y las demás de $250." in c.texts()[0]
    await c.say("qué opciones hay?", "request_payment_plan", ActionOfferPaymentPlan)
    assert "• 2 cuotas: la primera de $500.01 y la otra de $500" in c.texts()[0]


async def test_due_date_moved_within_policy(convo, make_debtor, session):
    debtor = mx_debtor(make_debtor, days_overdue=-2)
    c = convo(PHONE, introduced=True, verified=True)
    assert await c.say("me cambian la fecha?", "request_due_date_change", ActionRequestDueDateChange) == [
        "utter_ask_new_due_date"
    ]
    assert await c.say("en 5 días", "inform", ActionProcessInform, entities=[ent("date", "en 5 días")]) == [
        "utter_confirm_due_date"
    ]
    assert await c.say("sí", "affirm", ActionConfirmPending) == ["utter_due_date_changed"]
    today = accounts.local_today(debtor)
    session.expire_all()
    invoice = session.execute(select(Invoice)).scalar_one()
    change = session.execute(select(DueDateChange)).scalar_one()
    assert invoice.due_date == today + timedelta(days=5)
    assert change.old_date == today + timedelta(days=2) == invoice.original_due_date


async def test_a_new_due_date_the_nlu_did_not_tag_is_read_from_the_message(convo, make_debtor, session):
    debtor = mx_debtor(make_debtor, days_overdue=-2)
    c = convo(PHONE, introduced=True, verified=True)
    replies = await c.say(
        "ando corto, me corren la fecha en 5 días porfa?", "request_due_date_change", ActionRequestDueDateChange
    )
    assert replies == ["utter_confirm_due_date"]
    assert await c.say("sí", "affirm", ActionConfirmPending) == ["utter_due_date_changed"]
    session.expire_all()
    assert session.execute(select(Invoice)).scalar_one().due_date == accounts.local_today(debtor) + timedelta(days=5)


async def test_a_reason_told_in_the_past_is_not_read_as_the_new_date(convo, make_debtor):
    # DIET may tag "pasado" of "el mes pasado" as a date: that is when things went wrong, not the new date
    mx_debtor(make_debtor, days_overdue=-2)
    c = convo(PHONE, introduced=True, verified=True)
    text = "me quedé sin trabajo el mes pasado, me pueden dar más plazo?"
    replies = await c.say(
        text,
        "report_nonpayment_reason+request_due_date_change",
        ActionRequestDueDateChange,
        entities=[ent("date", "pasado", "pasado", text.index("pasado"))],
    )
    assert replies == ["utter_ask_new_due_date"]
    assert await c.say(
        "el lunes pasado no, mejor en 5 días",
        "inform",
        ActionProcessInform,
        entities=[ent("date", "el lunes pasado", "el lunes pasado", 0), ent("date", "en 5 días", "en 5 días", 26)],
    ) == ["utter_confirm_due_date"]


async def test_due_date_beyond_policy_offers_alternative(convo, make_debtor, session):
    mx_debtor(make_debtor, days_overdue=-2)
    c = convo(PHONE, introduced=True, verified=True)
    replies = await c.say(
        "al 2031-01-01", "request_due_date_change", ActionRequestDueDateChange, entities=[ent("date", "2031-01-01")]
    )
    assert replies == ["utter_due_date_refused_too_far"]
    assert session.execute(select(DueDateChange)).first() is None
    assert await c.say(
        "el 2031-01-01 no, mejor en 5 días", "inform", ActionProcessInform, entities=[ent("date", "en 5 días")]
    ) == ["utter_confirm_due_date"]
    assert await c.say("sí", "affirm", ActionConfirmPending) == ["utter_due_date_changed"]


async def test_due_date_ineligible_offers_a_person(convo, make_debtor, session):
    mx_debtor(make_debtor, days_overdue=45)
    c = convo(PHONE, introduced=True, verified=True)
    replies = await c.say("me mueven la fecha?", "request_due_date_change", ActionRequestDueDateChange)
    assert replies == ["utter_due_date_refused_too_overdue", "utter_offer_human"]
    assert await c.say("sí", "affirm", ActionConfirmPending) == ["utter_handoff_opened"]
    assert session.execute(select(Handoff)).scalar_one().reason == "due_date_refused"


async def test_a_refused_date_change_offers_a_promise_for_that_day(convo, make_debtor, session):
    """Too overdue to move the due date by chat: paying on the day the debtor asked for can still be recorded
    as a promise, which serves them better than only a person."""
    from bot.store.models import Promise

    mx_debtor(make_debtor, days_overdue=45)
    c = convo(PHONE, introduced=True, verified=True)
    replies = await c.say(
        "me das chance de pagar en 5 días?",
        "request_due_date_change",
        ActionRequestDueDateChange,
        entities=[ent("date", "en 5 días", "en 5 días", 26)],
    )
    assert replies == ["utter_due_date_refused_too_overdue", "utter_offer_promise_instead"]
    assert "$1,000" in c.texts()[1] and "asesor" in c.texts()[1]
    assert await c.say("sí", "affirm", ActionConfirmPending) == ["utter_promise_saved"]
    promise = session.execute(select(Promise)).scalar_one()
    today = local_today(tz="America/Mexico_City")
    assert promise.promised_date == today + timedelta(days=5) and promise.amount == Decimal("1000.00")
    assert session.execute(select(Invoice)).scalar_one().due_date < local_today(tz="America/Mexico_City")
    assert session.execute(select(DueDateChange)).first() is None


async def test_with_a_plan_running_a_promise_is_for_the_next_instalment(convo, make_debtor, session):
    from actions.catalogue import ActionProposePromise
    from bot.store.models import Promise

    mx_debtor(make_debtor, amount="900.00")
    c = convo(PHONE, introduced=True, verified=True)
    await c.say(
        "en 3 cuotas",
        "request_payment_plan",
        ActionOfferPaymentPlan,
        entities=[ent("installments", "3 cuotas", "3 cuotas", 3)],
    )
    await c.say("sí", "affirm", ActionConfirmPending)
    first = session.execute(select(Instalment).order_by(Instalment.number)).scalars().first()
    assert await c.say(
        "le pago en 5 días", "promise_to_pay", ActionProposePromise, entities=[ent("date", "en 5 días", "en 5 días", 8)]
    ) == ["utter_confirm_promise"]
    assert "$300" in c.texts()[0] and "$900" not in c.texts()[0]
    await c.say("sí", "affirm", ActionConfirmPending)
    assert session.execute(select(Promise)).scalar_one().amount == first.amount == Decimal("300.00")


async def test_more_days_on_a_due_date_count_from_the_due_date(convo, make_debtor, session):
    """ "¿Me da 5 días más?" before the due date means five days after it, not five days from today."""
    mx_debtor(make_debtor, days_overdue=-2)
    due = session.execute(select(Invoice)).scalar_one().due_date
    c = convo(PHONE, introduced=True, verified=True)
    assert await c.say(
        "me da 5 días más para pagar?",
        "request_due_date_change",
        ActionRequestDueDateChange,
        entities=[ent("date", "5 días", "5 días", 6)],
    ) == ["utter_confirm_due_date"]
    await c.say("sí", "affirm", ActionConfirmPending)
    assert session.execute(select(Invoice)).scalar_one().due_date == due + timedelta(days=5)
