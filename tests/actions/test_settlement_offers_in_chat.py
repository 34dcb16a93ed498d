"""Settlement offers in the chat: after a reason, or a request for a plan, the offer that fits is proposed once and
only after the identity check; «sí» sends a link for exactly the offered amount (or the plan with the larger first
instalment), «no» closes it and the usual help follows."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from actions.catalogue import (
    ActionConfirmPending,
    ActionDeclinePending,
    ActionOfferPaymentPlan,
    ActionProcessInform,
    ActionProposePromise,
    ActionRecordReason,
    ActionSendPaymentLink,
    ActionShowBalance,
)
from actions.parsing import spanish_date
from bot.billing import payment_links
from bot.language import local_today
from bot.store.models import Instalment, PaymentLink, PaymentPlan, SettlementOffer
from tests.actions.conftest import MX_PHONE, PHONE, ent

OFFERS = {
    "limits": {"max_discount_pct": {"default": 15, "CO": 25, "MX": 20}, "max_first_instalment_pct": 60},
    "offers": [
        {
            "name": "pronto_pago",
            "kind": "discount",
            "discount_pct": 20,
            "pay_within_days": 5,
            "segment": {"countries": ["CO", "MX"], "min_days_past_due": 60, "reasons": ["job_loss", "health"]},
        },
        {
            "name": "cuota_mayor",
            "kind": "first_instalment",
            "first_instalment_pct": 40,
            "instalments": 3,
            "pay_within_days": 3,
            "segment": {"min_days_past_due": 31},
        },
    ],
}


@pytest.fixture(autouse=True)
def offers_on(settlement_offers):
    settlement_offers(OFFERS)


def co_debtor(make_debtor, days_overdue: int):
    today = local_today(tz="America/Bogota")
    return make_debtor(
        invoices=[
            {
                "external_id": "D-1-F1",
                "amount": "185000.00",
                "currency": "COP",
                "due_date": (today - timedelta(days=days_overdue)).isoformat(),
            }
        ]
    )


def lost_job(c):
    return c.say(
        "me quedé sin trabajo", "report_nonpayment_reason", ActionRecordReason, entities=[ent("reason", "job_loss")]
    )


async def test_a_discount_after_a_reason_then_yes_sends_a_link_for_the_offered_amount(convo, make_debtor, session):
    co_debtor(make_debtor, 70)
    c = convo(PHONE, introduced=True, verified=True)
    assert await lost_job(c) == ["utter_reason_empathy_job_loss", "utter_offer_discount"]
    offer_line = c.texts()[1]
    assert "le descontamos $37.000" in offer_line and "quedaría en $148.000 en lugar de $185.000" in offer_line
    assert "¿Le envío el link?" in offer_line
    assert c.last[1]["buttons"] == [
        {"title": "Sí, envíeme el link", "payload": "/affirm"},
        {"title": "No, gracias", "payload": "/deny"},
    ]
    assert await c.say("sí", "affirm", ActionConfirmPending) == ["utter_offer_discount_link"]
    link = session.execute(select(PaymentLink)).scalar_one()
    assert link.amount == Decimal("148000.00") and payment_links.link_url(link) in c.texts()[0]
    # pay by: the offer holds 5 days, the link 3 (config/payments.yml): the sooner is the day the debtor reads
    assert c.last[0]["until"] == spanish_date(local_today(tz="America/Bogota") + timedelta(days=3))
    offer = session.execute(select(SettlementOffer)).scalar_one()
    assert (offer.status, offer.link_id, offer.name) == ("accepted", link.id, "pronto_pago")
    # the same reason again: the accepted offer is not proposed a second time
    assert await lost_job(c) == ["utter_reason_empathy_job_loss", "utter_offer_plan_question"]


async def test_no_to_the_offer_gives_the_usual_help_and_it_is_not_offered_again(convo, make_debtor, session):
    co_debtor(make_debtor, 70)
    c = convo(PHONE, introduced=True, verified=True)
    await lost_job(c)
    assert await c.say("no gracias", "deny", ActionDeclinePending) == [
        "utter_offer_declined",
        "utter_offer_plan_question",
    ]
    assert session.execute(select(SettlementOffer)).scalar_one().status == "declined"
    assert session.execute(select(PaymentLink)).first() is None
    # asking for a plan next: the plan options, no other offer in their place
    assert await c.say("sí", "affirm", ActionConfirmPending) == ["utter_plan_options"]
    assert len(session.execute(select(SettlementOffer)).all()) == 1


async def test_a_plan_request_gets_the_larger_first_instalment_and_yes_stores_that_plan(convo, make_debtor, session):
    co_debtor(make_debtor, 40)
    c = convo(PHONE, introduced=True, verified=True)
    assert await c.say("no puedo pagar todo de una", "request_payment_plan", ActionOfferPaymentPlan) == [
        "utter_offer_first_instalment"
    ]
    assert "en 3 cuotas: una primera de $74.000" in c.texts()[0] and "las demás de $55.500" in c.texts()[0]
    assert await c.say("dale", "affirm", ActionConfirmPending) == ["utter_plan_saved", "utter_payment_link_instalment"]
    plan = session.execute(select(PaymentPlan)).scalar_one()
    amounts = [i.amount for i in session.execute(select(Instalment).order_by(Instalment.number)).scalars()]
    assert plan.instalment_count == 3 and amounts[0] == Decimal("74000.00") and sum(amounts) == Decimal("185000.00")
    link = session.execute(select(PaymentLink)).scalar_one()
    assert link.amount == Decimal("74000.00") and link.instalment_id is not None
    assert session.execute(select(SettlementOffer)).scalar_one().plan_id == plan.id


async def test_no_to_the_first_instalment_offer_shows_the_usual_plan_options(convo, make_debtor, session):
    co_debtor(make_debtor, 40)
    c = convo(PHONE, introduced=True, verified=True)
    await c.say("se puede en cuotas?", "request_payment_plan", ActionOfferPaymentPlan)
    assert await c.say("no", "deny", ActionDeclinePending) == ["utter_offer_declined", "utter_plan_options"]
    assert session.execute(select(PaymentPlan)).first() is None


async def test_asking_for_the_plan_right_after_a_discount_is_a_no_to_it(convo, make_debtor, session):
    co_debtor(make_debtor, 70)
    c = convo(PHONE, introduced=True, verified=True)
    await lost_job(c)
    assert await c.say("mejor en cuotas", "request_payment_plan", ActionOfferPaymentPlan) == ["utter_plan_options"]
    assert session.execute(select(SettlementOffer)).scalar_one().status == "declined"


async def test_a_count_named_is_the_plan_chosen_not_an_offer(convo, make_debtor, session):
    co_debtor(make_debtor, 40)
    c = convo(PHONE, introduced=True, verified=True)
    replies = await c.say(
        "puedo pagar en 2 cuotas?", "request_payment_plan", ActionOfferPaymentPlan, entities=[ent("installments", "2")]
    )
    assert replies == ["utter_confirm_plan"]
    assert session.execute(select(SettlementOffer)).first() is None


async def test_never_before_the_identity_check(convo, make_debtor, session):
    co_debtor(make_debtor, 70)
    c = convo(PHONE, introduced=True)
    assert await c.say("quiero pagar en cuotas", "request_payment_plan", ActionOfferPaymentPlan) == [
        "utter_ask_document_digits"
    ]
    assert session.execute(select(SettlementOffer)).first() is None
    # right after the digits, what was asked for: the offer that fits (a plan request, no reason given)
    replies = await c.say("4821", "inform", ActionProcessInform, entities=[ent("document_digits", "4821")])
    assert replies[-1] == "utter_offer_first_instalment"


async def test_an_offer_closed_meanwhile_is_said_so_and_the_usual_help_follows(convo, make_debtor, session):
    co_debtor(make_debtor, 70)
    c = convo(PHONE, introduced=True, verified=True)
    await lost_job(c)
    offer = session.execute(select(SettlementOffer)).scalar_one()
    offer.status = "expired"  # the worker closed it (or a payment changed the balance) before the «sí»
    session.commit()
    assert await c.say("sí", "affirm", ActionConfirmPending) == ["utter_offer_closed", "utter_offer_plan_question"]
    assert session.execute(select(PaymentLink)).first() is None
    # and no fresh offer for the same invoice after one lapsed
    assert await lost_job(c) == ["utter_reason_empathy_job_loss", "utter_offer_plan_question"]


async def test_forgetting_is_offered_the_link_not_a_plan(convo, make_debtor, session):
    co_debtor(make_debtor, 40)
    c = convo(PHONE, introduced=True, verified=True)
    replies = await c.say(
        "se me olvidó pagar", "report_nonpayment_reason", ActionRecordReason, entities=[ent("reason", "forgot")]
    )
    assert replies == ["utter_reason_empathy_forgot", "utter_offer_payment_link"]
    assert session.execute(select(SettlementOffer)).first() is None


async def test_no_offer_when_none_fits(convo, make_debtor, session):
    co_debtor(make_debtor, 20)
    c = convo(PHONE, introduced=True, verified=True)
    assert await lost_job(c) == ["utter_reason_empathy_job_loss", "utter_offer_plan_question"]
    assert session.execute(select(SettlementOffer)).first() is None


async def test_a_mexican_debtor_is_offered_the_discount_in_pesos_mexicanos(convo, make_debtor, session):
    today = local_today(tz="America/Mexico_City")
    make_debtor(
        "MX-1",
        phone=MX_PHONE,
        country="MX",
        timezone="America/Mexico_City",
        document_last4="2045",
        invoices=[
            {
                "external_id": "MX-F1",
                "amount": "3275.50",
                "currency": "MXN",
                "due_date": (today - timedelta(days=65)).isoformat(),
            }
        ],
    )
    c = convo(MX_PHONE, introduced=True, verified=True)
    replies = await c.say(
        "estuve internado en el hospital",
        "report_nonpayment_reason",
        ActionRecordReason,
        entities=[ent("reason", "health")],
    )
    assert replies == ["utter_reason_empathy_health", "utter_offer_discount"]
    assert "$655.10" in c.texts()[1] and "$2,620.40" in c.texts()[1]
    assert await c.say("sí", "affirm", ActionConfirmPending) == ["utter_offer_discount_link"]
    assert session.execute(select(PaymentLink)).scalar_one().amount == Decimal("2620.40")


async def test_an_answer_put_off_keeps_the_offer_open_for_the_next_reply(convo, make_debtor, session):
    co_debtor(make_debtor, 70)
    c = convo(PHONE, introduced=True, verified=True)
    await lost_job(c)
    assert await c.say("lo hablo con mi esposa y le confirmo", "promise_to_pay", ActionProposePromise) == [
        "utter_take_your_time"
    ]
    assert await c.say("listo, sí", "affirm", ActionConfirmPending) == ["utter_offer_discount_link"]
    assert session.execute(select(PaymentLink)).scalar_one().amount == Decimal("148000.00")


async def test_a_yes_after_something_else_is_no_yes_to_the_offer(convo, make_debtor, session):
    """The offer is answered by the next message only: after a balance question, «sí» answers what the bot asked
    then (the link for the balance), not the discount."""
    co_debtor(make_debtor, 70)
    c = convo(PHONE, introduced=True, verified=True)
    await lost_job(c)
    await c.say("cuánto debo?", "check_balance", ActionShowBalance)
    assert "utter_offer_discount_link" not in await c.say("sí", "affirm", ActionConfirmPending)
    assert [link.amount for link in session.execute(select(PaymentLink)).scalars()] in ([], [Decimal("185000.00")])
    assert session.execute(select(SettlementOffer)).scalar_one().status == "offered"


async def test_the_link_asked_for_again_is_the_offers_while_it_holds(convo, make_debtor, session):
    co_debtor(make_debtor, 70)
    c = convo(PHONE, introduced=True, verified=True)
    await lost_job(c)
    await c.say("sí", "affirm", ActionConfirmPending)
    first = session.execute(select(PaymentLink)).scalar_one()
    assert await c.say("me reenvía el link?", "request_payment_link", ActionSendPaymentLink) == [
        "utter_offer_discount_link"
    ]
    assert payment_links.link_url(first) in c.texts()[0]
    first.status = "expired"  # the link lived its 3 days; the offer holds 5
    session.commit()
    await c.say("el link ya no sirve, me manda otro?", "request_payment_link", ActionSendPaymentLink)
    amounts = [link.amount for link in session.execute(select(PaymentLink).order_by(PaymentLink.id)).scalars()]
    assert amounts == [Decimal("148000.00"), Decimal("148000.00")]  # a new link, still for the offered amount
    offer = session.execute(select(SettlementOffer)).scalar_one()
    assert offer.link_id == session.execute(select(PaymentLink.id).order_by(PaymentLink.id.desc())).scalars().first()


@pytest.mark.parametrize(
    ("text", "intent", "entities", "replies"),
    [
        ("1", "choose_plan", [ent("installments", "1")], ["utter_offer_discount_link"]),
        ("opción 1", "inform", [], ["utter_offer_discount_link"]),
        ("2", "inform", [], ["utter_offer_declined", "utter_offer_plan_question"]),
    ],
)
async def test_the_numbered_options_answer_the_offer(convo, make_debtor, session, text, intent, entities, replies):
    """Without buttons (SMS) the offer's options come numbered: a bare number picks one, whatever the reading."""
    co_debtor(make_debtor, 70)
    c = convo(PHONE, introduced=True, verified=True)
    await lost_job(c)
    assert await c.say(text, intent, ActionProcessInform, entities=entities) == replies
    assert session.execute(select(PaymentPlan)).first() is None


async def test_with_several_invoices_the_offer_is_for_the_one_the_plan_is_about(convo, make_debtor, session):
    today = local_today(tz="America/Bogota")
    make_debtor(
        invoices=[
            {"external_id": "F-1", "amount": "300000", "currency": "COP",
             "due_date": (today - timedelta(days=45)).isoformat(), "description": "Préstamo personal"},
            {"external_id": "F-2", "amount": "120000", "currency": "COP",
             "due_date": (today - timedelta(days=40)).isoformat(), "description": "Celular"},
        ]
    )  # fmt: skip
    c = convo(PHONE, introduced=True, verified=True)
    # which one, first: no offer on an invoice the debtor did not name
    assert await c.say("quiero pagar en cuotas", "request_payment_plan", ActionOfferPaymentPlan) == [
        "utter_ask_which_invoice"
    ]
    assert session.execute(select(SettlementOffer)).first() is None
    replies = await c.say("la del celular", "inform", ActionProcessInform, entities=[ent("invoice", "F-2")])
    assert replies[-1] == "utter_offer_first_instalment"
    assert "factura F-2 · Celular en 3 cuotas: una primera de $48.000" in c.texts()[-1]
    # «no»: the usual options, for that same invoice
    assert await c.say("no", "deny", ActionDeclinePending) == ["utter_offer_declined", "utter_plan_options"]
    assert "$120.000" in c.texts()[1]
