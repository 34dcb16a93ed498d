"""Where approved payments went: the part applied to an invoice and the part kept as the debtor's credit.

Read by the payment steps (``payment_events``: whether a promise is covered) and by whoever shows a
debtor's account (the credit), so it stands below both rather than inside either.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.models import PaymentAllocation


def paid_since(session: Session, invoice_id: int, since: datetime) -> Decimal:
    """What approved, unreversed payments brought to the invoice since ``since`` (credit included)."""
    rows = session.execute(
        select(PaymentAllocation.applied_amount, PaymentAllocation.credit_amount).where(
            PaymentAllocation.invoice_id == invoice_id,
            PaymentAllocation.reversed_at.is_(None),
            PaymentAllocation.created_at >= since,
        )
    ).all()
    return sum((a + c for a, c in rows), Decimal("0.00"))


def credit_balance(session: Session, debtor_id: int) -> dict[str, Decimal]:
    """The debtor's credit (over-payments not reversed), per currency."""
    out: dict[str, Decimal] = {}
    for currency, credit in session.execute(
        select(PaymentAllocation.currency, PaymentAllocation.credit_amount).where(
            PaymentAllocation.debtor_id == debtor_id,
            PaymentAllocation.reversed_at.is_(None),
            PaymentAllocation.credit_amount > 0,
        )
    ).all():
        out[currency] = out.get(currency, Decimal("0.00")) + credit
    return out
