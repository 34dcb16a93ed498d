"""The billing store keeps money exact, time in UTC, and its constraints."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.store.models import Conversation, Debtor, Handoff, Invoice, Promise


def test_money_round_trips_exactly(session, make_debtor):
    debtor = make_debtor(
        invoices=[
            {"external_id": "A", "amount": "0.10", "currency": "MXN", "due_date": "2026-11-01"},
            {"external_id": "B", "amount": "999999999999.99", "currency": "MXN", "due_date": "2026-11-01"},
            {"external_id": "C", "amount": "45990", "currency": "CLP", "due_date": "2026-11-01"},
        ],
        country="MX",
        phone="+525512345678",
        timezone="America/Mexico_City",
    )
    session.expire_all()
    amounts = {
        i.external_id: i.amount
        for i in session.execute(select(Invoice).where(Invoice.debtor_id == debtor.id)).scalars()
    }
    assert amounts == {"A": Decimal("0.10"), "B": Decimal("999999999999.99"), "C": Decimal("45990.00")}
    assert all(isinstance(a, Decimal) for a in amounts.values())
    total = sum(amounts.values())
    assert total == Decimal("1000000045990.09")


def test_money_rejects_sub_cent_amounts(session, make_debtor):
    debtor = make_debtor()
    inv = debtor.invoices[0]
    inv.balance = Decimal("10.005")
    with pytest.raises(Exception, match="two decimals"):
        session.flush()
    session.rollback()


def test_times_come_back_aware_utc(session, make_debtor):
    debtor = make_debtor()
    bogota = datetime(2026, 11, 23, 22, 30, tzinfo=ZoneInfo("America/Bogota"))
    debtor.opted_out_at = bogota
    session.commit()
    session.expire_all()
    stored = session.get(Debtor, debtor.id).opted_out_at
    assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    assert stored == bogota
    assert stored.hour == 3 and stored.date() == date(2026, 11, 24)


def test_naive_datetimes_are_refused(session, make_debtor):
    debtor = make_debtor()
    debtor.opted_out_at = datetime(2026, 11, 23, 10, 0)
    with pytest.raises(Exception, match="naive"):
        session.flush()
    session.rollback()


def test_invoice_external_id_unique_per_debtor(session, make_debtor):
    debtor = make_debtor()
    session.add(
        Invoice(
            debtor_id=debtor.id,
            external_id=debtor.invoices[0].external_id,
            amount=Decimal(1),
            balance=Decimal(1),
            currency="COP",
            original_due_date=date(2026, 1, 1),
            due_date=date(2026, 1, 1),
        )
    )
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_one_open_promise_per_invoice(session, make_debtor):
    debtor = make_debtor()
    inv = debtor.invoices[0]

    def promise(status: str) -> Promise:
        return Promise(
            debtor_id=debtor.id,
            invoice_id=inv.id,
            promised_date=date(2026, 12, 1),
            amount=Decimal("100.00"),
            currency="COP",
            status=status,
        )

    session.add_all([promise("open"), promise("replaced"), promise("kept")])
    session.commit()
    session.add(promise("open"))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_one_live_handoff_per_conversation(session, make_debtor):
    debtor = make_debtor()
    conv = Conversation(phone=debtor.phone, debtor_id=debtor.id)
    session.add(conv)
    session.flush()
    session.add(Handoff(debtor_id=debtor.id, conversation_id=conv.id, reason="request_human", status="closed"))
    session.add(Handoff(debtor_id=debtor.id, conversation_id=conv.id, reason="request_human", status="open"))
    session.commit()
    session.add(Handoff(debtor_id=debtor.id, conversation_id=conv.id, reason="dispute", status="claimed"))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_deleting_a_debtor_removes_its_invoices(session, make_debtor):
    debtor = make_debtor()
    session.delete(debtor)
    session.commit()
    assert session.execute(select(Invoice)).first() is None


def test_created_at_defaults_to_now_utc(session, make_debtor):
    before = datetime.now(timezone.utc)
    debtor = make_debtor()
    assert before - timedelta(seconds=5) <= debtor.created_at <= datetime.now(timezone.utc)
