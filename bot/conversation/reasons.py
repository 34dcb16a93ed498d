"""Why a debtor has not paid: the normalised reason (docs/api.md) and the debtor's own words."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.store.models import REASONS, Debtor, Invoice, NonpaymentReason

# The next step the bot offers for each reason.
NEXT_STEP = {
    "job_loss": "payment_plan",
    "health": "payment_plan",
    "income_delay": "promise",
    "forgot": "payment_link",
    "service_issue": "dispute",
    "other_debts": "plan_or_promise",
    "other": "plan_or_promise",
}


def normalise(reason: str | None) -> str:
    value = (reason or "").strip().lower()
    return value if value in REASONS else "other"


def next_step(reason: str | None) -> str:
    return NEXT_STEP[normalise(reason)]


def record(
    session: Session, debtor: Debtor, reason: str | None, text: str = "", invoice: Invoice | None = None
) -> NonpaymentReason:
    row = NonpaymentReason(
        debtor_id=debtor.id,
        invoice_id=invoice.id if invoice is not None else None,
        reason=normalise(reason),
        text=(text or "").strip()[:2000],
    )
    session.add(row)
    session.flush()
    return row
