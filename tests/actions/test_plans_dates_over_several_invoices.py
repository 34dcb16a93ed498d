"""Plans and date changes over several invoices (issue #27 §1): "quiero pagar todo en 3 cuotas", "Todas" in answer
to "¿de cuál factura?" make one plan over the chosen invoices' total, whose instalment link pays them oldest first;
"muévame la fecha de las dos al 30" moves each one the policy allows and says which could not and why."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from actions.catalogue import (
    ActionConfirmPending,
    ActionOfferPaymentPlan,
    ActionProcessInform,
    ActionRequestDueDateChange,
    ActionSendPaymentLink,
)
from actions.parsing import MONTHS
from bot.billing import payment_links, payment_plans
from bot.language import local_today
from bot.store.models import Invoice, PaymentLink, PaymentPlan
from tests.actions.conftest import ent, verified
from tests.actions.test_several_invoices import three_invoices


def two_invoices(make_debtor, old_days_overdue: int = 10):
    """An overdue loan and a phone due in 10 days (Bogotá)."""
    today = local_today(tz="America/Bogota")
    debtor = make_debtor(
        invoices=[
            {"external_id": "F-2026-009", "amount": "300000", "currency": "COP",
             "due_date": (today - timedelta(days=old_days_overdue)).isoformat(), "description": "Préstamo personal"},
            {"external_id": "F-2026-014", "amount": "120000", "currency": "COP",
             "due_date": (today + timedelta(days=10)).isoformat(), "description": "Celular Samsung A15"},
        ]
    )  # fmt: skip
    return debtor, today


def the_plan(session) -> PaymentPlan:
    session.expire_all()
    return session.execute(select(PaymentPlan).where(PaymentPlan.status == "active")).scalar_one()


async def test_everything_in_three_instalments_is_one_plan_over_every_invoice(convo, make_debtor, session):
    three_invoices(make_debtor)
    c = verified(convo)
    text = "quiero pagar todo en 3 cuotas"
    replies = await c.say(
        text, "request_payment_plan", ActionOfferPaymentPlan, entities=[ent("installments", "3", "3", text.index("3"))]
    )
    assert replies == ["utter_promise_covers_invoices", "utter_confirm_plan"]
    assert "F-2026-009 · Préstamo personal ($300.000)" in c.texts()[0] and "F-2026-020 ($80.000)" in c.texts()[0]
    assert "3 cuotas" in c.texts()[1]
    replies = await c.say("sí", "affirm", ActionConfirmPending)
    assert replies == ["utter_plan_saved", "utter_payment_link_instalment_several"]
    plan = the_plan(session)
    assert plan.invoice_id is None and plan.total == Decimal("500000.00") and plan.instalment_count == 3
    names = [session.get(Invoice, i).external_id for i in payment_plans.plan_invoice_ids(plan)]
    assert names == ["F-2026-009", "F-2026-014", "F-2026-020"]
    first = plan.instalments[0]
    assert sum(i.amount for i in plan.instalments) == Decimal("500000.00")
    link = session.execute(select(PaymentLink)).scalar_one()
    assert link.amount == first.amount and link.instalment_id == first.id
    assert "cuota de $166.668" in c.texts()[1] and "F-2026-014 · Celular Samsung A15" in c.texts()[1]


async def test_todas_in_answer_to_which_invoice_offers_the_plan_over_the_total(convo, make_debtor, session):
    two_invoices(make_debtor)
    c = verified(convo)
    assert await c.say("quiero un plan de pagos", "request_payment_plan", ActionOfferPaymentPlan) == [
        "utter_ask_which_invoice"
    ]
    (asked,) = c.last
    assert asked["buttons"][-1] == {"title": "Todas", "payload": '/inform{"invoice": "all"}'}
    assert await c.say("todas", "inform", ActionProcessInform) == ["utter_plan_options_several"]
    assert (
        "las facturas F-2026-009 · Préstamo personal y F-2026-014 · Celular Samsung A15, en total $420.000"
        in (c.texts()[0])
    )
    assert await c.say("3", "inform", ActionProcessInform, entities=[ent("installments", "3", "3", 0)]) == [
        "utter_promise_covers_invoices",
        "utter_confirm_plan",
    ]
    await c.say("sí", "affirm", ActionConfirmPending)
    plan = the_plan(session)
    assert plan.total == Decimal("420000.00") and len(plan.items) == 2


async def test_las_dos_names_both_without_asking_again(convo, make_debtor, session):
    two_invoices(make_debtor)
    c = verified(convo)
    replies = await c.say("puedo pagar las dos en cuotas?", "request_payment_plan", ActionOfferPaymentPlan)
    assert replies == ["utter_plan_options_several"]


async def test_the_link_asked_later_sends_the_instalment_once_not_once_per_invoice(convo, make_debtor, session):
    debtor, today = two_invoices(make_debtor)
    invoices = sorted(debtor.invoices, key=lambda i: i.due_date)
    payment_plans.create_for_invoices(session, debtor, invoices, 2, today)
    session.commit()
    c = verified(convo)
    replies = await c.say("mándeme el link", "request_payment_link", ActionSendPaymentLink)
    assert replies == ["utter_payment_link_several", "utter_payment_link_instalment_several"]
    assert "cuota de $210.000" in c.texts()[1]
    instalment_links = session.execute(select(PaymentLink).where(PaymentLink.instalment_id.is_not(None))).scalars()
    [link] = list(instalment_links)
    assert link.amount == Decimal("210000.00")
    assert payment_links.items_of(session, link) == []  # 210.000 falls on the oldest invoice (300.000) alone


async def test_a_date_change_for_both_moves_the_one_allowed_and_says_why_not_the_other(convo, make_debtor, session):
    # the loan is 40 days overdue: past the policy's 30 (config/due_date_policy.yml), its date cannot move
    debtor, today = two_invoices(make_debtor, old_days_overdue=40)
    new = today + timedelta(days=15)
    said = f"el {new.day} de {MONTHS[new.month - 1]}"
    text = f"muévame la fecha de las dos al {new.day} de {MONTHS[new.month - 1]}"
    c, replies = await c_say_date(convo, text, said)
    assert replies == ["utter_confirm_due_date_several"]
    shown = c.texts()[0]
    assert "F-2026-014 · Celular Samsung A15: pasa del" in shown
    assert "F-2026-009 · Préstamo personal: no la puedo mover, porque tiene bastante tiempo vencida" in shown
    assert await c.say("sí", "affirm", ActionConfirmPending) == ["utter_due_dates_changed"]
    done = c.texts()[0]
    assert "F-2026-014 · Celular Samsung A15: su nueva fecha de pago es el" in done
    assert "F-2026-009 · Préstamo personal: no la puedo mover" in done
    session.expire_all()
    moved = {i.external_id: i.due_date for i in session.execute(select(Invoice)).scalars()}
    assert moved["F-2026-014"] == new and moved["F-2026-009"] == today - timedelta(days=40)


async def test_a_date_change_for_both_moves_both_when_the_policy_allows(convo, make_debtor, session):
    debtor, today = two_invoices(make_debtor, old_days_overdue=2)
    new = today + timedelta(days=12)
    said = f"el {new.day} de {MONTHS[new.month - 1]}"
    c, replies = await c_say_date(convo, f"muévame la fecha de las dos al {said[3:]}", said)
    assert replies == ["utter_confirm_due_date_several"]
    # the loan may move up to 15 days after its own date (13 days from today), the phone past its own (10)
    assert "no la puedo mover" not in c.texts()[0]
    assert await c.say("sí", "affirm", ActionConfirmPending) == ["utter_due_dates_changed"]
    session.expire_all()
    assert {i.due_date for i in session.execute(select(Invoice)).scalars()} == {new}


async def test_a_date_change_neither_can_take_says_why_for_each_and_offers_a_person(convo, make_debtor, session):
    debtor, today = two_invoices(make_debtor, old_days_overdue=5)
    far = today + timedelta(days=60)
    said = f"el {far.day} de {MONTHS[far.month - 1]}"
    c, replies = await c_say_date(convo, f"muévame la fecha de las dos al {said[3:]}", said)
    assert replies == ["utter_due_dates_refused_date"]
    assert c.texts()[0].count("no la puedo mover, porque para ella puedo llegar solo hasta el") == 2
    assert c.slots["awaiting"] == "due_date" and c.slots["pending_confirmation"] == "handoff"


async def c_say_date(convo, text: str, said: str):
    """A verified debtor asks to move the date, the day ("el 20 de diciembre") tagged as the NLU would."""
    entities = [ent("date", said, said[3:], text.index(said[3:]))]
    return await c_say(convo, text, "request_due_date_change", ActionRequestDueDateChange, entities)


async def test_a_date_change_for_both_without_a_day_asks_for_it_then_reads_it_back_for_both(
    convo, make_debtor, session
):
    debtor, today = two_invoices(make_debtor, old_days_overdue=2)
    c = verified(convo)
    replies = await c.say("me puede mover la fecha de las dos?", "request_due_date_change", ActionRequestDueDateChange)
    assert replies == ["utter_ask_new_due_date_several"]
    latest = today + timedelta(days=13)  # the loan's limit, the sooner of the two
    assert f"hasta el {latest.day} de {MONTHS[latest.month - 1]}" in c.texts()[0]
    new = today + timedelta(days=12)
    said = f"el {new.day} de {MONTHS[new.month - 1]}"
    replies = await c.say(said, "inform", ActionProcessInform, entities=[ent("date", said, said, 0)])
    assert replies == ["utter_confirm_due_date_several"]
    assert c.texts()[0].count("pasa del") == 2


async def test_a_whole_balance_promise_too_far_becomes_a_plan_over_every_invoice(convo, make_debtor, session):
    from actions.catalogue import ActionProposePromise
    from bot.billing import promises

    debtor, today = two_invoices(make_debtor)
    far = promises.latest_date(today) + timedelta(days=20)
    said = f"el {far.day} de {MONTHS[far.month - 1]}"
    text = f"les pago todo {said}"
    c, replies = await c_say(convo, text, "promise_to_pay", ActionProposePromise, [ent("date", said, said, 14)])
    assert replies == ["utter_promise_date_too_far"]
    assert await c.say("sí", "affirm", ActionConfirmPending) == ["utter_plan_options_several"]
    assert "en total $420.000" in c.texts()[0]


async def c_say(convo, text: str, intent: str, action: type, entities: list):
    c = verified(convo)
    return c, await c.say(text, intent, action, entities=entities)


async def test_yes_with_the_day_read_back_moves_both(convo, make_debtor, session):
    debtor, today = two_invoices(make_debtor, old_days_overdue=2)
    new = today + timedelta(days=12)
    said = f"el {new.day} de {MONTHS[new.month - 1]}"
    c, _ = await c_say_date(convo, f"muévame la fecha de las dos al {said[3:]}", said)
    yes = f"sí, {said}"
    assert await c.say(yes, "affirm", ActionConfirmPending, entities=[ent("date", said, said, 4)]) == [
        "utter_due_dates_changed"
    ]


async def test_the_plans_instalment_link_names_the_one_invoice_left(convo, make_debtor, session):
    debtor, today = two_invoices(make_debtor)
    invoices = sorted(debtor.invoices, key=lambda i: i.due_date)
    payment_plans.create_for_invoices(session, debtor, invoices, 2, today)
    invoices[0].balance, invoices[0].status = Decimal("0.00"), "paid"  # paid elsewhere since
    session.commit()
    c = verified(convo)
    assert await c.say("mándeme el link", "request_payment_link", ActionSendPaymentLink) == [
        "utter_payment_link_instalment"
    ]
    assert "cuota de $120.000 (factura F-2026-014 · Celular Samsung A15)" in c.texts()[0]
