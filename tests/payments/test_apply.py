"""Applying Mercado Pago payments (fetched with the SDK from the double): once, with every effect."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from bot.billing import accounts, payment_links, payment_plans, promises
from bot.store.db import get_sessionmaker
from bot.store.models import (
    Handoff,
    Instalment,
    Invoice,
    Message,
    Payment,
    PaymentAllocation,
    PaymentLink,
    PaymentPlan,
    Promise,
    Settlement,
)
from bot.worker.payments import process_payment
from tests.payments.helpers import queued


def fresh(session, model, id_):
    session.expire_all()
    return session.get(model, id_)


def flat(text: str) -> str:
    """Compare texts the way an SMS may carry them: no accents, no spaces, lower case."""
    from bot.messaging.sms import transliterate

    return transliterate(text).lower().replace(" ", "")


def has(texts: list[str], *parts: str) -> bool:
    return any(all(flat(p) in flat(t) for p in parts) for t in texts)


def bot_texts(session) -> list[str]:
    session.expire_all()
    return [
        m.body
        for m in session.execute(select(Message).where(Message.direction == "out").order_by(Message.id)).scalars()
    ]


def test_full_payment_settles_the_invoice(mercadopago_mode, session, debtor_with_link, redis_client):
    debtor, inv, link = debtor_with_link()
    mercadopago_mode.add_payment("2001", link.reference, "185000.00")
    outcome = process_payment("2001")
    assert outcome.action == "applied"
    inv = fresh(session, Invoice, inv.id)
    assert inv.balance == Decimal("0.00") and inv.status == "paid" and inv.reminders_paused
    assert fresh(session, PaymentLink, link.id).status == "paid"
    pay = session.execute(select(Payment)).scalar_one()
    assert (pay.provider, pay.provider_id, pay.amount, pay.status, pay.applied) == (
        "mercadopago",
        "2001",
        Decimal("185000.00"),
        "approved",
        True,
    )
    assert pay.paid_at is not None and pay.method == "visa"
    texts = bot_texts(session)
    assert has(texts, "Recibimos su pago de $ 185.000", "quedó pagada")
    assert has(texts, "paz y salvo", "/certificados/")
    assert {j["conversation_id"] for j in queued(redis_client, "send_message")}


def test_partial_payment_keeps_the_rest_and_the_promise_when_covered(
    mercadopago_mode, session, make_debtor, redis_client, verify_debtor
):
    debtor = make_debtor()
    verify_debtor(debtor)
    inv = accounts.primary_invoice(session, debtor)
    promise = promises.create(
        session, debtor, inv, date.today() + timedelta(days=3), Decimal("50000"), today=date.today()
    )
    link, kind = payment_links.link_for_invoice(session, debtor, inv)
    session.commit()
    assert kind == "promise" and link.amount == Decimal("50000.00")
    mercadopago_mode.add_payment("2101", link.reference, "40000.00")
    process_payment("2101")
    inv = fresh(session, Invoice, inv.id)
    assert inv.balance == Decimal("145000.00") and inv.status == "open" and not inv.reminders_paused
    assert fresh(session, Promise, promise.id).status == "open"  # 40.000 of 50.000: not yet kept
    assert has(bot_texts(session), "saldo pendiente es de $ 145.000")
    mercadopago_mode.add_payment("2102", link.reference, "10000.00")
    process_payment("2102")
    assert fresh(session, Promise, promise.id).status == "kept"  # the two payments cover it
    assert fresh(session, Invoice, inv.id).balance == Decimal("135000.00")
    assert session.execute(select(Settlement)).first() is None


def test_over_payment_is_kept_as_credit(mercadopago_mode, session, debtor_with_link, redis_client):
    debtor, inv, link = debtor_with_link()
    mercadopago_mode.add_payment("2201", link.reference, "200000.00")
    process_payment("2201")
    inv = fresh(session, Invoice, inv.id)
    assert inv.balance == Decimal("0.00") and inv.status == "paid"
    alloc = session.execute(select(PaymentAllocation)).scalar_one()
    assert alloc.applied_amount == Decimal("185000.00") and alloc.credit_amount == Decimal("15000.00")
    from bot.billing.allocations import credit_balance

    assert credit_balance(session, debtor.id) == {"COP": Decimal("15000.00")}
    assert has(bot_texts(session), "saldo a favor de $ 15.000")
    from bot.web import debtor_view

    assert debtor_view.serialize(session, debtor)["credit"] == [{"currency": "COP", "amount": "15000.00"}]


def test_instalments_are_paid_and_the_plan_completes(mercadopago_mode, session, make_debtor, redis_client):
    debtor = make_debtor()
    inv = accounts.primary_invoice(session, debtor)
    plan = payment_plans.create(session, debtor, inv, 2, date.today())
    session.commit()
    first, kind = payment_links.link_for_invoice(session, debtor, inv)
    session.commit()
    assert kind == "instalment"
    mercadopago_mode.add_payment("2301", first.reference, str(first.amount))
    process_payment("2301")
    rows = session.execute(select(Instalment).order_by(Instalment.number)).scalars().all()
    session.expire_all()
    assert [i.status for i in rows] == ["paid", "pending"] and fresh(session, PaymentPlan, plan.id).status == "active"
    second, kind = payment_links.link_for_invoice(session, debtor, fresh(session, Invoice, inv.id))
    session.commit()
    mercadopago_mode.add_payment("2302", second.reference, str(second.amount))
    process_payment("2302")
    assert fresh(session, PaymentPlan, plan.id).status == "completed"
    assert fresh(session, Invoice, inv.id).status == "paid"


def test_rejected_payment_explains_why_and_sends_a_fresh_link(
    mercadopago_mode, session, debtor_with_link, redis_client
):
    debtor, inv, link = debtor_with_link()
    mercadopago_mode.add_payment(
        "2401", link.reference, "185000.00", status="rejected", status_detail="cc_rejected_insufficient_amount"
    )
    outcome = process_payment("2401")
    assert outcome.action == "rejected" and outcome.new_link_id and outcome.new_link_id != link.id
    new = fresh(session, PaymentLink, outcome.new_link_id)
    assert new.status == "active" and new.amount == link.amount and new.provider_ref != link.provider_ref
    assert fresh(session, PaymentLink, link.id).status == "expired"
    assert fresh(session, Invoice, inv.id).balance == Decimal("185000.00")
    (text,) = bot_texts(session)
    assert has([text], "no tiene fondos suficientes", f"/p/{new.short_code}")
    assert process_payment("2401").action == "unchanged"  # the same notification again: no second message
    assert len(bot_texts(session)) == 1


def test_other_rejection_reasons_in_plain_spanish(mercadopago_mode, session, debtor_with_link, redis_client):
    debtor, inv, link = debtor_with_link()
    for pid, detail in (
        ("2501", "cc_rejected_bad_filled_security_code"),
        ("2502", "cc_rejected_call_for_authorize"),
        ("2503", "cc_rejected_other_reason"),
    ):
        mercadopago_mode.add_payment(pid, link.reference, "185000.00", status="rejected", status_detail=detail)
        process_payment(pid)
    texts = bot_texts(session)
    assert len(texts) == 3
    for text, words in zip(texts, ("código de seguridad", "autorice el pago", "no aprobó el pago"), strict=True):
        assert has([text], words)


def test_pending_cash_payment_gets_instructions(mercadopago_mode, session, make_debtor, redis_client, verify_debtor):
    from bot.billing import debtors

    debtor, _ = debtors.upsert(
        session,
        debtors.parse_debtor(
            "MX-1",
            {
                "name": "José Pérez",
                "phone": "+5215512345678",
                "whatsapp": True,
                "country": "MX",
                "invoices": [
                    {"external_id": "MX-F1", "amount": "1500.50", "currency": "MXN", "due_date": "2026-11-10"}
                ],
            },
        ),
    )
    session.commit()
    verify_debtor(debtor)
    inv = accounts.primary_invoice(session, debtor)
    link, _ = payment_links.create_link(session, debtor, inv)
    session.commit()
    mercadopago_mode.add_payment(
        "2601",
        link.reference,
        1500.5,
        currency="MXN",
        status="pending",
        status_detail="pending_waiting_payment",
        method="oxxo",
        payment_type="ticket",
        date_of_expiration="2026-11-26T23:59:59.000-06:00",
        ticket_url="https://www.mercadopago.com.mx/payments/2601/ticket",
    )
    assert process_payment("2601").action == "pending"
    (text,) = bot_texts(session)
    assert has([text], "en efectivo en OXXO", "antes del 26/11/2026", "payments/2601/ticket")
    assert fresh(session, Invoice, inv.id).balance == Decimal("1500.50")
    mercadopago_mode.add_payment("2601", link.reference, 1500.5, currency="MXN", method="oxxo", payment_type="ticket")
    assert process_payment("2601").action == "applied"
    assert fresh(session, Invoice, inv.id).balance == Decimal("0.00")


def test_refund_restores_the_balance_and_alerts_an_agent(mercadopago_mode, session, debtor_with_link, redis_client):
    debtor, inv, link = debtor_with_link()
    mercadopago_mode.add_payment("2701", link.reference, "185000.00")
    process_payment("2701")
    cert = session.execute(select(Settlement)).scalar_one()
    mercadopago_mode.add_payment("2701", link.reference, "185000.00", status="refunded", status_detail="refunded")
    assert process_payment("2701").action == "reversed"
    inv = fresh(session, Invoice, inv.id)
    assert inv.balance == Decimal("185000.00") and inv.status == "open" and not inv.reminders_paused
    pay = session.execute(select(Payment)).scalar_one()
    assert pay.status == "refunded" and not pay.applied
    handoff = session.execute(select(Handoff)).scalar_one()
    assert handoff.reason == "payment_reversed" and handoff.status == "open"
    assert fresh(session, Settlement, cert.id).details["revoked_at"]
    assert process_payment("2701").action == "unchanged"
    assert fresh(session, Invoice, inv.id).balance == Decimal("185000.00")


def test_charge_back_after_a_partial_payment(mercadopago_mode, session, debtor_with_link, redis_client):
    debtor, inv, link = debtor_with_link()
    mercadopago_mode.add_payment("2801", link.reference, "85000.00")
    process_payment("2801")
    assert fresh(session, Invoice, inv.id).balance == Decimal("100000.00")
    mercadopago_mode.add_payment("2801", link.reference, "85000.00", status="charged_back", status_detail="settled")
    process_payment("2801")
    assert fresh(session, Invoice, inv.id).balance == Decimal("185000.00")
    assert session.execute(select(Handoff.reason)).scalar_one() == "payment_reversed"


def test_repeated_notification_applies_once(mercadopago_mode, session, debtor_with_link, redis_client):
    debtor, inv, link = debtor_with_link(amount="100000")
    mercadopago_mode.add_payment("2901", link.reference, "100000.00")
    assert [process_payment("2901").action for _ in range(3)] == ["applied", "unchanged", "unchanged"]
    assert fresh(session, Invoice, inv.id).balance == Decimal("85000.00")
    assert session.execute(select(Payment)).scalars().all().__len__() == 1
    assert len(bot_texts(session)) == 1


def test_two_notifications_at_the_same_moment_apply_once(
    mercadopago_mode, session, debtor_with_link, redis_client, monkeypatch
):
    debtor, inv, link = debtor_with_link(amount="100000")
    mercadopago_mode.add_payment("3001", link.reference, "100000.00")
    from bot.billing import payment_events

    real_lock = payment_events.lock_debtor
    both_in = threading.Barrier(2, timeout=10)

    def lock_together(s, debtor_id, now):
        both_in.wait()  # both threads have read "no payment yet" before either takes the lock
        return real_lock(s, debtor_id, now)

    monkeypatch.setattr(payment_events, "lock_debtor", lock_together)
    results, errors = [], []

    def run() -> None:
        try:
            results.append(process_payment("3001").action)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert sorted(results) == ["applied", "unchanged"]
    s = get_sessionmaker()()
    try:
        assert s.get(Invoice, inv.id).balance == Decimal("85000.00")
        assert len(s.execute(select(Payment)).scalars().all()) == 1
        assert len(s.execute(select(PaymentAllocation)).scalars().all()) == 1
    finally:
        s.close()
    assert len(bot_texts(session)) == 1


def test_payment_for_an_unknown_reference_is_ignored(mercadopago_mode, session, redis_client):
    mercadopago_mode.add_payment("3101", "someone-else", "1000.00")
    assert process_payment("3101").action == "ignored"
    assert session.execute(select(Payment)).first() is None


def test_opted_out_or_agent_held_debtor_is_paid_up_but_not_messaged(
    mercadopago_mode, session, debtor_with_link, redis_client
):
    from bot.conversation import handoffs

    debtor, inv, link = debtor_with_link()
    handoffs.open(session, debtor.phone, debtor, "request_human")
    session.commit()
    mercadopago_mode.add_payment("3201", link.reference, "85000.00")
    assert process_payment("3201").action == "applied"
    assert fresh(session, Invoice, inv.id).balance == Decimal("100000.00")
    assert bot_texts(session) == []  # the agent holding the conversation sees the payment in the account

    other, inv2, link2 = debtor_with_link("D-2", phone="+573001119999")
    other.opted_out = True
    session.commit()
    mercadopago_mode.add_payment("3202", link2.reference, "185000.00")
    assert process_payment("3202").action == "applied"
    assert fresh(session, Invoice, inv2.id).status == "paid"
    assert bot_texts(session) == []


def test_a_partial_refund_takes_from_the_credit_first_then_reopens_the_invoice(
    mercadopago_mode, session, debtor_with_link, redis_client
):
    from bot.billing.allocations import credit_balance
    from bot.store.models import Handoff, Payment

    debtor, inv, link = debtor_with_link()
    mercadopago_mode.add_payment("2301", link.reference, "200000.00")  # 15,000 over the balance
    process_payment("2301")
    assert fresh(session, Invoice, inv.id).status == "paid"

    # 10,000 given back: out of the credit, the invoice stays paid and nobody is bothered
    mercadopago_mode.add_payment(
        "2301", link.reference, "200000.00", status_detail="partially_refunded", transaction_amount_refunded=10000
    )
    process_payment("2301")
    session.expire_all()
    assert credit_balance(session, debtor.id) == {"COP": Decimal("5000.00")}
    assert fresh(session, Invoice, inv.id).status == "paid"
    assert session.execute(select(Handoff)).first() is None

    # 30,000 in all: the last 5,000 of credit, then 15,000 back onto the invoice, and a person is told
    mercadopago_mode.add_payment(
        "2301", link.reference, "200000.00", status_detail="partially_refunded", transaction_amount_refunded=30000
    )
    process_payment("2301")
    process_payment("2301")  # the same notification again changes nothing
    session.expire_all()
    inv = fresh(session, Invoice, inv.id)
    assert (inv.balance, inv.status) == (Decimal("15000.00"), "open")
    assert credit_balance(session, debtor.id) == {}
    assert session.execute(select(Payment)).scalar_one().refunded_amount == Decimal("30000.00")
    from bot.web import debtor_view

    [shown] = debtor_view.serialize(session, debtor)["payments"]
    assert (shown["amount"], shown["refunded_amount"]) == ("200000.00", "30000.00")
    [handoff] = session.execute(select(Handoff)).scalars().all()
    assert handoff.reason == "payment_reversed" and "reembolso parcial de 20000.00" in handoff.summary
    cert = session.execute(select(Settlement)).scalar_one()  # the paz y salvo no longer holds
    assert cert.details["revoked_reason"] == "partially_refunded"

    # then refunded in full: the whole invoice is owed again, not more
    mercadopago_mode.add_payment(
        "2301",
        link.reference,
        "200000.00",
        status="refunded",
        status_detail="refunded",
        transaction_amount_refunded=200000,
    )
    process_payment("2301")
    assert fresh(session, Invoice, inv.id).balance == Decimal("185000.00")
