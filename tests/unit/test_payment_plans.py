from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.billing import accounts, payment_plans, promises
from bot.store.models import Instalment

POLICY = {
    "min_first_payment_pct": 20,
    "min_instalments": 2,
    "max_instalments": 6,
    "interval_days": 30,
    "first_due_in_days": 3,
    "max_options": 3,
    "min_instalment_amount": {"CLP": 10000, "MXN": 200, "default": 10},
}
TODAY = date(2026, 11, 11)


def test_split_exact_with_remainder_on_first():
    assert payment_plans.split(Decimal("100.00"), 3, "MXN", 20) == [
        Decimal("33.34"),
        Decimal("33.33"),
        Decimal("33.33"),
    ]
    clp = payment_plans.split(Decimal("45990"), 4, "CLP", 20)
    assert clp == [Decimal("11499"), Decimal("11497"), Decimal("11497"), Decimal("11497")]


def test_first_payment_minimum_share():
    amounts = payment_plans.split(Decimal("1000.00"), 6, "MXN", 30)
    assert amounts[0] == Decimal("300.00") and sum(amounts) == Decimal("1000.00")


@given(
    total=st.decimals(min_value=1, max_value=10**9, places=2),
    count=st.integers(1, 12),
    currency=st.sampled_from(["MXN", "CLP", "COP", "ARS"]),
    pct=st.integers(0, 50),
)
def test_split_always_adds_up(total, count, currency, pct):
    if currency in ("CLP", "COP"):
        total = total.to_integral_value()
        if total < 1:
            return
    amounts = payment_plans.split(total, count, currency, pct)
    assert len(amounts) == count and sum(amounts) == total
    assert len(set(amounts[1:])) <= 1  # the offer names one amount for every instalment after the first
    assert amounts[0] >= amounts[-1]  # the rounding remainder is on the first, never a cent short of the rest
    assert amounts[0] >= (total * pct / 100).quantize(Decimal("0.01")) - 1  # the minimum first payment holds
    assert all(a >= 0 for a in amounts)  # (a plan with a zero instalment is never offered: options())


def test_options_respect_minimum_instalment():
    opts = payment_plans.options(Decimal("900.00"), "MXN", TODAY, POLICY)
    assert [o.count for o in opts] == [2, 3, 4]
    assert all(min(o.amounts) >= 200 for o in opts)
    assert payment_plans.options(Decimal("15000"), "CLP", TODAY, POLICY) == []


def test_create_plan_with_schedule(session, make_debtor):
    debtor = make_debtor(
        invoices=[{"external_id": "F1", "amount": "1000.00", "currency": "MXN", "due_date": "2026-11-01"}]
    )
    inv = accounts.primary_invoice(session, debtor)
    promise = promises.create(session, debtor, inv, TODAY, today=TODAY)
    plan = payment_plans.create(session, debtor, inv, 3, TODAY, POLICY)
    session.commit()
    assert promise.status == "replaced"
    rows = session.query(Instalment).filter_by(plan_id=plan.id).order_by(Instalment.number).all()
    assert [r.amount for r in rows] == [Decimal("333.34"), Decimal("333.33"), Decimal("333.33")]
    assert [r.due_date.isoformat() for r in rows] == ["2026-11-14", "2026-12-14", "2027-01-13"]
    assert payment_plans.next_instalment(session, inv.id).number == 1
    again = payment_plans.create(session, debtor, inv, 2, TODAY, POLICY)
    assert plan.status == "cancelled" and again.status == "active"
    with pytest.raises(payment_plans.PlanError):
        payment_plans.create(session, debtor, inv, 9, TODAY, POLICY)
