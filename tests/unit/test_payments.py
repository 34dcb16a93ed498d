from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bot.billing import accounts, payment_links, payment_plans, promises
from bot.providers import factory


def test_link_for_balance_and_reuse(session, make_debtor):
    debtor = make_debtor()
    inv = accounts.primary_invoice(session, debtor)
    link, reused = payment_links.create_link(session, debtor, inv)
    session.commit()
    assert not reused and link.amount == Decimal("185000.00") and link.currency == "COP"
    assert link.url == f"http://localhost:8000/sandbox/checkout/{link.reference}"
    assert link.status == "active" and len(link.short_code) == 8
    assert link.expires_at > datetime.now(timezone.utc) + timedelta(hours=71)
    again, reused = payment_links.create_link(session, debtor, inv)
    assert reused and again.id == link.id
    other, reused = payment_links.create_link(session, debtor, inv, Decimal("1000"))
    assert not reused and other.id != link.id


def test_expired_link_not_reused(session, make_debtor):
    debtor = make_debtor()
    inv = accounts.primary_invoice(session, debtor)
    old, _ = payment_links.create_link(session, debtor, inv, now=datetime.now(timezone.utc) - timedelta(days=10))
    assert payment_links.expire_links(session) == 1 and old.status == "expired"
    new, reused = payment_links.create_link(session, debtor, inv)
    assert not reused and new.id != old.id


def test_amount_bounds(session, make_debtor):
    debtor = make_debtor()
    inv = accounts.primary_invoice(session, debtor)
    with pytest.raises(ValueError):
        payment_links.create_link(session, debtor, inv, Decimal("999999"))


def test_link_for_invoice_prefers_instalment_then_promise(session, make_debtor):
    debtor = make_debtor()
    inv = accounts.primary_invoice(session, debtor)
    today = accounts.local_today(debtor)
    promises.create(session, debtor, inv, today, Decimal("50000"), today=today)
    link, kind = payment_links.link_for_invoice(session, debtor, inv)
    assert kind == "promise" and link.amount == Decimal("50000.00") and link.promise_id is not None
    payment_plans.create(session, debtor, inv, 3, date.today())
    link, kind = payment_links.link_for_invoice(session, debtor, inv)
    assert kind == "instalment" and link.instalment_id is not None
    assert link.amount == payment_plans.next_instalment(session, inv.id).amount


def test_unknown_provider():
    with pytest.raises(LookupError):
        factory.payment_provider("nope")
