"""Settlement offers: chosen by country, days overdue, balance and stated reason, within the manager's limits; the
payment link carries the offered amount, and paying it settles the invoice and marks the offer paid."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.billing import accounts, offers
from bot.store.models import AuditLog, Handoff, Instalment, Invoice, PaymentLink, PaymentPlan, SettlementOffer
from bot.worker.payments import process_payment

DUE = date(2026, 11, 10)  # make_debtor's invoice: COP 185.000
LATE = date(2027, 1, 15)  # 66 days overdue


def config(**limits):
    return offers.parse(
        {
            "limits": {"max_discount_pct": limits.get("caps", {"default": 15, "CO": 25})},
            "offers": [
                {
                    "name": "pronto_pago",
                    "kind": "discount",
                    "discount_pct": 20,
                    "pay_within_days": 5,
                    "segment": {"countries": ["CO"], "min_days_past_due": 60, "reasons": ["job_loss", "health"]},
                },
                {
                    "name": "cuota_mayor",
                    "kind": "first_instalment",
                    "first_instalment_pct": 40,
                    "instalments": 3,
                    "segment": {"min_days_past_due": 31},
                },
            ],
        }
    )


def test_an_offer_above_the_managers_limit_is_refused():
    with pytest.raises(offers.OfferConfigError, match="maximum discount for CO"):
        config(caps={"default": 30, "CO": 10})
    with pytest.raises(offers.OfferConfigError, match="DEFAULT"):
        offers.parse(
            {
                "limits": {"max_discount_pct": {"default": 5}},
                "offers": [{"name": "x", "kind": "discount", "discount_pct": 10}],
            }
        )
    assert offers.load().offers  # the shipped file is within its own limits


def test_the_offer_follows_days_overdue_and_the_stated_reason():
    c = config()
    big = Decimal("185000.00")
    assert offers.choose(c, "CO", 66, big, "job_loss").name == "pronto_pago"
    assert offers.choose(c, "CO", 66, big, "forgot").name == "cuota_mayor"  # no discount for forgetting
    assert offers.choose(c, "MX", 66, big, "job_loss").name == "cuota_mayor"  # the discount is Colombia's
    assert offers.choose(c, "CO", 20, big, "job_loss") is None  # too early for any offer
    # the chat may ask for one kind only (a debtor who forgot is offered no plan)
    assert offers.choose(c, "CO", 66, big, "job_loss", kinds=("first_instalment",)).name == "cuota_mayor"
    assert offers.choose(c, "CO", 66, big, "forgot", kinds=("discount",)) is None


def test_the_chat_proposes_an_invoice_one_offer_until_it_is_answered(session, make_debtor):
    debtor = make_debtor("A")
    inv = accounts.primary_invoice(session, debtor)
    offer = offers.to_propose(session, debtor, inv, "job_loss", LATE, config=config())
    assert offer.kind == "discount"
    assert offers.to_propose(session, debtor, inv, "job_loss", LATE, config=config()).id == offer.id  # same figures
    assert offers.to_propose(session, debtor, inv, "job_loss", LATE, ("first_instalment",), config()) is None
    assert offers.proposed(session, debtor, LATE).id == offer.id
    offers.accept(session, offer, LATE)
    assert offers.to_propose(session, debtor, inv, "job_loss", LATE, config=config()) is None  # it has its link
    assert offers.proposed(session, debtor, LATE) is None

    other = make_debtor("B", phone="+573001112299")
    inv_b = accounts.primary_invoice(session, other)
    declined = offers.to_propose(session, other, inv_b, "forgot", LATE, config=config())
    offers.decline(session, declined)
    assert declined.status == "declined"
    later = date(2027, 2, 20)  # a month on, the same invoice still gets no other offer
    assert offers.to_propose(session, other, inv_b, "job_loss", later, config=config()) is None


def test_an_offer_whose_balance_changed_is_not_proposed_with_old_figures(session, make_debtor):
    debtor = make_debtor("A")
    inv = accounts.primary_invoice(session, debtor)
    offer = offers.to_propose(session, debtor, inv, "job_loss", LATE, config=config())
    inv.balance = Decimal("100000.00")  # paid in part since it was proposed
    assert offers.to_propose(session, debtor, inv, "job_loss", LATE, config=config()) is None
    assert offer.status == "expired"


def test_a_discount_link_carries_the_offered_amount_and_paying_it_settles(
    mercadopago_mode, session, make_debtor, verify_debtor, redis_client
):
    debtor = make_debtor("A")
    verify_debtor(debtor)
    inv = accounts.primary_invoice(session, debtor)
    offer = offers.make(session, debtor, inv, "job_loss", LATE, config())
    assert (offer.kind, offer.amount, offer.discount_pct, offer.valid_until) == (
        "discount",
        Decimal("148000.00"),
        Decimal("20.00"),
        date(2027, 1, 20),
    )
    assert offers.make(session, debtor, inv, "job_loss", LATE, config()).id == offer.id  # one open offer at a time
    link = offers.accept(session, offer, LATE)
    session.commit()
    assert link.amount == Decimal("148000.00") and offer.status == "accepted"

    mercadopago_mode.add_payment("3001", link.reference, "148000.00")
    assert process_payment("3001").action == "applied"
    session.expire_all()
    inv = session.get(Invoice, inv.id)
    assert (inv.balance, inv.status) == (Decimal("0.00"), "paid")
    offer = session.get(SettlementOffer, offer.id)
    assert offer.status == "paid" and offer.paid_at is not None
    forgiven = session.scalars(select(AuditLog).where(AuditLog.action == "offer_discount_applied")).one()
    assert forgiven.details["forgiven"] == "37000.00"


def test_a_larger_first_instalment_is_a_plan_with_a_link_for_it(
    mercadopago_mode, session, make_debtor, verify_debtor, redis_client
):
    debtor = make_debtor("A")
    verify_debtor(debtor)
    inv = accounts.primary_invoice(session, debtor)
    offer = offers.make(session, debtor, inv, "forgot", LATE, config())
    link = offers.accept(session, offer, LATE)
    session.commit()
    plan = session.get(PaymentPlan, offer.plan_id)
    amounts = [i.amount for i in plan.instalments]
    assert amounts[0] == Decimal("74000.00") == link.amount and sum(amounts) == Decimal("185000.00")
    assert len(amounts) == 3 and amounts[0] > amounts[1]

    mercadopago_mode.add_payment("3002", link.reference, "74000.00")
    process_payment("3002")
    session.expire_all()
    assert session.get(SettlementOffer, offer.id).status == "paid"
    assert session.get(Invoice, inv.id).balance == Decimal("111000.00")
    first = session.scalars(select(Instalment).where(Instalment.plan_id == plan.id, Instalment.number == 1)).one()
    assert first.status == "paid"


def test_an_offer_is_not_accepted_once_the_balance_changed_or_it_expired(session, make_debtor):
    debtor = make_debtor("A")
    inv = accounts.primary_invoice(session, debtor)
    offer = offers.make(session, debtor, inv, "job_loss", LATE, config())
    with pytest.raises(offers.OfferError, match="offer_closed"):
        offers.accept(session, offer, date(2027, 1, 21))
    inv.balance = Decimal("100000.00")  # a payment since the offer
    with pytest.raises(offers.OfferError, match="balance_changed"):
        offers.accept(session, offer, LATE)
    assert session.scalars(select(PaymentLink)).all() == []


def test_an_offer_expires_after_its_last_day_where_the_debtor_lives_but_its_link_is_honoured(
    mercadopago_mode, session, make_debtor, verify_debtor, redis_client
):
    debtor = make_debtor("A")
    verify_debtor(debtor)
    inv = accounts.primary_invoice(session, debtor)
    offer = offers.make(session, debtor, inv, "job_loss", LATE, config())  # valid until 20 Jan 2027
    link = offers.accept(session, offer, LATE)
    session.commit()
    # 21 Jan 02:00 UTC is still the 20th in Bogotá: not yet
    assert offers.expire_offers(session, datetime(2027, 1, 21, 2, 0, tzinfo=timezone.utc)) == 0
    assert offers.expire_offers(session, datetime(2027, 1, 21, 6, 0, tzinfo=timezone.utc)) == 1
    session.commit()
    assert offer.status == "expired"
    mercadopago_mode.add_payment("3003", link.reference, "148000.00")
    process_payment("3003")
    session.expire_all()
    assert session.get(Invoice, inv.id).status == "paid"
    assert session.get(SettlementOffer, offer.id).status == "paid"


def _paid_discount(mercadopago_mode, session, make_debtor, verify_debtor, payment_id):
    debtor = make_debtor("A")
    verify_debtor(debtor)
    inv = accounts.primary_invoice(session, debtor)
    offer = offers.make(session, debtor, inv, "job_loss", LATE, config())
    link = offers.accept(session, offer, LATE)
    session.commit()
    mercadopago_mode.add_payment(payment_id, link.reference, "148000.00")
    assert process_payment(payment_id).action == "applied"
    return inv.id, offer.id, link


@pytest.mark.parametrize(
    ("extra", "owed"),
    [
        # refunded in full: the discounted total and the discount are both owed again
        ({"status": "refunded", "status_detail": "refunded", "transaction_amount_refunded": 148000}, "185000.00"),
        # partly refunded: the refunded part and the whole discount (the total was not paid after all)
        ({"status_detail": "partially_refunded", "transaction_amount_refunded": 48000}, "85000.00"),
    ],
)
def test_a_refund_of_a_discount_payment_brings_the_discount_back(
    mercadopago_mode, session, make_debtor, verify_debtor, redis_client, extra, owed
):
    inv_id, offer_id, link = _paid_discount(mercadopago_mode, session, make_debtor, verify_debtor, "3101")
    mercadopago_mode.add_payment("3101", link.reference, "148000.00", **extra)
    process_payment("3101")
    process_payment("3101")  # the same notification again: the discount comes back once
    session.expire_all()
    inv = session.get(Invoice, inv_id)
    assert (inv.balance, inv.status, inv.reminders_paused) == (Decimal(owed), "open", False)
    assert session.get(SettlementOffer, offer_id).status == "refunded"
    reverted = session.scalars(select(AuditLog).where(AuditLog.action == "offer_refunded")).one()
    assert reverted.details["discount_reverted"] == "37000.00"
    handoff = session.scalars(select(Handoff)).one()  # the agent reads that the discount is owed again
    assert handoff.reason == "payment_reversed" and "el descuento de 37000.00 volvió al saldo" in handoff.summary
