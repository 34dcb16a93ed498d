"""Promises to pay: validated against the debtor's local calendar and the policy, one open per invoice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.billing.accounts import local_today
from bot.platform import policies
from bot.store import audit
from bot.store.models import Debtor, Invoice, Promise


class PromiseError(ValueError):
    """A promise the policy does not accept; ``code`` is machine-readable."""

    def __init__(self, code: str, max_date: date | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.max_date = max_date


@dataclass(frozen=True)
class PromiseTerms:
    invoice_id: int
    promised_date: date
    amount: Decimal
    currency: str


def max_days_ahead(policy: dict | None = None) -> int:
    policy = policy if policy is not None else policies.load("promise_policy")
    return int(policy.get("max_days_ahead", 30))


def latest_date(today: date, policy: dict | None = None) -> date:
    return today + timedelta(days=max_days_ahead(policy))


def validate(
    invoice: Invoice, promised_date: date | None, amount: Decimal | None, today: date, policy: dict | None = None
) -> PromiseTerms:
    """The terms of a promise the policy accepts, or PromiseError (date_missing, date_in_past,
    date_too_far, invoice_not_open, amount_invalid, amount_too_high)."""
    limit = latest_date(today, policy)
    if invoice.status != "open" or invoice.balance <= 0:
        raise PromiseError("invoice_not_open")
    if promised_date is None:
        raise PromiseError("date_missing", limit)
    if promised_date < today:
        raise PromiseError("date_in_past", limit)
    if promised_date > limit:
        raise PromiseError("date_too_far", limit)
    if amount is None:
        amount = invoice.balance
    if amount <= 0:
        raise PromiseError("amount_invalid", limit)
    if amount > invoice.balance:
        raise PromiseError("amount_too_high", limit)
    return PromiseTerms(invoice.id, promised_date, amount.quantize(Decimal("0.01")), invoice.currency)


def open_promise(session: Session, invoice_id: int) -> Promise | None:
    return session.execute(
        select(Promise).where(Promise.invoice_id == invoice_id, Promise.status == "open")
    ).scalar_one_or_none()


def open_promises(session: Session, debtor: Debtor) -> list[Promise]:
    return list(
        session.execute(
            select(Promise).where(Promise.debtor_id == debtor.id, Promise.status == "open").order_by(Promise.id)
        ).scalars()
    )


def create(
    session: Session,
    debtor: Debtor,
    invoice: Invoice,
    promised_date: date | None,
    amount: Decimal | None = None,
    today: date | None = None,
    source: str = "bot",
    policy: dict | None = None,
) -> Promise:
    """Record a promise; an open promise on the same invoice becomes ``replaced``."""
    today = today or local_today(debtor)
    terms = validate(invoice, promised_date, amount, today, policy)
    old = open_promise(session, invoice.id)
    if old is not None:
        old.status = "replaced"
        old.resolved_at = datetime.now(timezone.utc)
        session.flush()  # the partial unique index allows one open promise per invoice
    promise = Promise(
        debtor_id=debtor.id,
        invoice_id=invoice.id,
        promised_date=terms.promised_date,
        amount=terms.amount,
        currency=terms.currency,
        status="open",
        source=source,
    )
    session.add(promise)
    session.flush()
    audit.record(
        session,
        actor=source,
        action="promise_created",
        target_type="promise",
        target_id=promise.id,
        details={
            "invoice_id": invoice.id,
            "date": terms.promised_date.isoformat(),
            "amount": str(terms.amount),
            "replaced": old.id if old else None,
        },
    )
    return promise


def resolve(session: Session, promise: Promise, status: str, at: datetime | None = None) -> Promise:
    """Close an open promise as ``kept``, ``broken`` or ``replaced`` (a resolved one stays as it is)."""
    if promise.status != "open":
        return promise
    promise.status = status
    promise.resolved_at = at or datetime.now(timezone.utc)
    audit.record(session, actor="bot", action=f"promise_{status}", target_type="promise", target_id=promise.id)
    return promise


def mark_kept(session: Session, promise: Promise) -> Promise:
    return resolve(session, promise, "kept")


def mark_broken(session: Session, promise: Promise, at: datetime | None = None) -> Promise:
    return resolve(session, promise, "broken", at)
