"""Payments made elsewhere: recorded by the billing system (``POST /api/v1/payments``) or by an agent who checked a
debtor's proof of payment (``bot.desk.payment_proofs``), applied exactly once with a Mercado Pago payment's effects.

Mercado Pago's payments arrive through a link of ours; these do not (a bank transfer, cash at the lender's office),
so the billing system names the invoices and how much went to each. The money moves through the same steps
(``payment_events.settle_invoice``: balance, promise kept, instalments paid, allocation; then the certificate at
zero balance), and the debtor hears of it through the same ``Notices`` (``bot.conversation.payment_notices``: one
confirmation for the whole payment, in the unverified wording to whoever has not proved who they are).

Idempotent by the billing system's id (``Payment.provider_id`` under ``PROVIDER``): the same payment again changes
nothing and returns the stored one; the same id with different content is a ``Conflict`` (the integrator's bug,
never applied twice). The caller owns the transaction and queues ``Outcome.conversations`` after committing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.billing import money
from bot.billing.debtors import ValidationError, get_by_external_id
from bot.billing.payment_events import (
    APPROVED,
    Notices,
    Outcome,
    issue_certificate,
    lock_debtor,
    settle_invoice,
    stored_payment,
)
from bot.store import audit
from bot.store.models import Debtor, Invoice, Payment, PaymentAllocation

PROVIDER = "billing"
MAX_INVOICES = 50
MAX_ID = 64  # Payment.provider_id
MAX_METHOD = 40  # Payment.method
FUTURE_SLACK = timedelta(hours=1)  # clocks differ a little; a payment made tomorrow is a mistake


class Conflict(Exception):
    """The id was used before for a different payment."""


class DebtorErased(Exception):
    """The debtor was erased on request: nothing more is recorded under their id."""


@dataclass(frozen=True)
class Share:
    invoice_external_id: str
    amount: Decimal


@dataclass(frozen=True)
class RecordedPayment:
    external_id: str
    debtor_external_id: str
    shares: tuple[Share, ...]
    amount: Decimal
    currency: str
    paid_at: datetime | date
    method: str | None


def _text(payload: dict[str, Any], name: str, max_len: int, required: bool = True) -> str | None:
    value = payload.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            name, "is required (a non-empty string)" if value is None else "must be a non-empty string"
        )
    if len(value.strip()) > max_len:
        raise ValidationError(name, f"must be at most {max_len} characters")
    if any(ord(ch) < 32 for ch in value):
        raise ValidationError(name, "must not contain control characters")
    return value.strip()


def _amount(value: Any, currency: str, field: str) -> Decimal:
    try:
        amount = money.parse_amount(value, currency)
    except money.MoneyError as exc:
        raise ValidationError(field, str(exc)) from exc
    if amount <= 0:
        raise ValidationError(field, "must be more than zero")
    return amount


def _paid_at(value: Any) -> datetime | date:
    """A time with its offset (``2026-12-04T15:20:00-05:00``, ``…Z``) or a day (``2026-12-04``)."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("paid_at", "is required: an ISO 8601 time with its offset, or a date YYYY-MM-DD")
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise ValidationError("paid_at", f"{value!r} is not an ISO 8601 time or a date YYYY-MM-DD") from exc
    if parsed.tzinfo is None:
        raise ValidationError("paid_at", "needs its UTC offset (e.g. -05:00 or Z)")
    return parsed.astimezone(timezone.utc)


def parse(payload: Any) -> RecordedPayment:
    """Check the integrator's payment field by field (docs/api.md); ``ValidationError`` names the field."""
    if not isinstance(payload, dict):
        raise ValidationError("body", "must be a JSON object")
    external_id = _text(payload, "external_id", MAX_ID) or ""
    debtor_external_id = _text(payload, "debtor_external_id", 100) or ""
    currency = (_text(payload, "currency", 3) or "").upper()
    if currency not in money.SUPPORTED_CURRENCIES:
        supported = ", ".join(money.SUPPORTED_CURRENCIES)
        raise ValidationError(
            "currency", f"{payload.get('currency')!r} is not a supported ISO 4217 currency ({supported})"
        )
    amount = _amount(payload.get("amount"), currency, "amount")
    raw = payload.get("invoices")
    if not isinstance(raw, list) or not raw:
        raise ValidationError("invoices", "must be a non-empty list of {external_id, amount}")
    if len(raw) > MAX_INVOICES:
        raise ValidationError("invoices", f"at most {MAX_INVOICES} invoices per payment")
    shares: list[Share] = []
    for i, item in enumerate(raw):
        where = f"invoices[{i}]"
        if not isinstance(item, dict):
            raise ValidationError(where, "must be an object {external_id, amount}")
        try:
            ext = _text(item, "external_id", 100) or ""
        except ValidationError as exc:
            raise ValidationError(f"{where}.{exc.field}", exc.message) from exc
        if any(s.invoice_external_id == ext for s in shares):
            raise ValidationError(f"{where}.external_id", "is repeated")
        shares.append(Share(ext, _amount(item.get("amount"), currency, f"{where}.amount")))
    if sum((s.amount for s in shares), Decimal("0")) != amount:
        raise ValidationError("amount", "must equal the sum of the invoices' amounts")
    paid_at = _paid_at(payload.get("paid_at"))
    method = _text(payload, "method", MAX_METHOD, required=False)
    return RecordedPayment(external_id, debtor_external_id, tuple(shares), amount, currency, paid_at, method)


def _when(paid_at: datetime | date, debtor: Debtor) -> datetime:
    """A day alone is the start of that day where the debtor lives."""
    if isinstance(paid_at, datetime):
        return paid_at
    return datetime.combine(paid_at, time(0, 0), tzinfo=ZoneInfo(debtor.timezone)).astimezone(timezone.utc)


def _invoices(session: Session, debtor: Debtor, data: RecordedPayment) -> list[tuple[Invoice, Decimal]]:
    """Each share's invoice, checked against the debtor's own (unknown, cancelled, another currency: refused)."""
    by_ext = {
        inv.external_id: inv for inv in session.execute(select(Invoice).where(Invoice.debtor_id == debtor.id)).scalars()
    }
    out = []
    for i, share in enumerate(data.shares):
        invoice = by_ext.get(share.invoice_external_id)
        where = f"invoices[{i}].external_id"
        if invoice is None:
            raise ValidationError(where, f"the debtor has no invoice {share.invoice_external_id!r}")
        if invoice.currency != data.currency:
            raise ValidationError(
                "currency", f"invoice {invoice.external_id!r} is in {invoice.currency}, not {data.currency}"
            )
        if invoice.status == "cancelled":
            raise ValidationError(where, f"invoice {invoice.external_id!r} is cancelled")
        out.append((invoice, share.amount))
    return out


def same_payment(session: Session, payment: Payment, debtor: Debtor, data: RecordedPayment) -> bool:
    """The stored payment is the one described (a retry), not another one under the same id."""
    shares = {
        ext: applied + credit
        for ext, applied, credit in session.execute(
            select(Invoice.external_id, PaymentAllocation.applied_amount, PaymentAllocation.credit_amount)
            .join(Invoice, Invoice.id == PaymentAllocation.invoice_id)
            .where(PaymentAllocation.payment_id == payment.id)
        ).all()
    }
    return (
        payment.debtor_id == debtor.id
        and payment.amount == data.amount
        and payment.currency == data.currency
        and (payment.method or None) == data.method
        and payment.paid_at == _when(data.paid_at, debtor)
        and shares == {s.invoice_external_id: s.amount for s in data.shares}
    )


def record(
    session: Session,
    data: RecordedPayment,
    *,
    notices: Notices,
    now: datetime | None = None,
    actor: str = "api",
    provider: str = PROVIDER,
) -> tuple[Payment, bool, Outcome]:
    """Apply the payment once; returns (payment, created, outcome). A repeat returns the stored payment with
    ``created`` False; the same id with other content raises ``Conflict``. Does not commit."""
    now = now or datetime.now(timezone.utc)
    debtor = get_by_external_id(session, data.debtor_external_id)
    if debtor is None:
        raise ValidationError("debtor_external_id", f"no debtor with external_id {data.debtor_external_id!r}")
    lock_debtor(session, debtor.id, now)  # one payment change of this debtor at a time (payment_events)
    debtor = session.get(Debtor, debtor.id)
    out = Outcome(payment_id=data.external_id, status=APPROVED, action="unchanged", debtor_id=debtor.id)
    existing = stored_payment(session, provider, data.external_id)
    if existing is not None:
        if not same_payment(session, existing, debtor, data):
            raise Conflict(f"payment {data.external_id!r} was recorded before with other content")
        return existing, False, out
    if debtor.erased_at is not None:
        raise DebtorErased(data.debtor_external_id)
    paid_at = _when(data.paid_at, debtor)
    if paid_at > now + FUTURE_SLACK:
        raise ValidationError("paid_at", "is in the future")
    shares = _invoices(session, debtor, data)
    payment = Payment(
        provider=provider,
        provider_id=data.external_id,
        debtor_id=debtor.id,
        invoice_id=shares[0][0].id if len(shares) == 1 else None,
        amount=data.amount,
        currency=data.currency,
        status=APPROVED,
        status_detail="recorded",
        method=data.method,
        paid_at=paid_at,
        applied=False,
    )
    session.add(payment)
    session.flush()
    out.action = "applied"
    credit = Decimal("0.00")
    for invoice, amount in shares:
        _paid, kept = settle_invoice(session, payment, debtor, invoice, amount, now)
        credit += kept
    payment.applied = True
    session.flush()
    notices.recorded(session, debtor, payment, [inv for inv, _ in shares], credit=credit, now=now, out=out)
    issue_certificate(session, debtor, now, out, notices)
    audit.record(
        session,
        actor=actor,
        action="payment_applied",
        target_type="payment",
        target_id=payment.id,
        details={
            "provider": provider,
            "provider_id": data.external_id,
            "status": APPROVED,
            "amount": str(payment.amount),
            "currency": payment.currency,
            "invoices": [s.invoice_external_id for s in data.shares],
        },
    )
    session.flush()
    return payment, True, out


def view(session: Session, payment: Payment) -> dict[str, Any]:
    """The payment as ``POST /api/v1/payments`` answers it: what was recorded, and where each part went. The same
    every time it is asked (a repeat answers what the first call did)."""
    debtor = session.get(Debtor, payment.debtor_id)
    rows = session.execute(
        select(Invoice.external_id, PaymentAllocation.applied_amount, PaymentAllocation.credit_amount)
        .join(Invoice, Invoice.id == PaymentAllocation.invoice_id)
        .where(PaymentAllocation.payment_id == payment.id)
        .order_by(PaymentAllocation.id)
    ).all()
    return {
        "external_id": payment.provider_id,
        "debtor_external_id": debtor.external_id if debtor else None,
        "provider": payment.provider,
        "amount": money.to_str(payment.amount),
        "currency": payment.currency,
        "status": payment.status,
        "method": payment.method,
        "paid_at": _iso(payment.paid_at),
        "invoices": [
            {
                "external_id": ext,
                "amount": money.to_str(applied + credit),
                "applied_amount": money.to_str(applied),
                "credit_amount": money.to_str(credit),
            }
            for ext, applied, credit in rows
        ],
        "created_at": _iso(payment.created_at),
    }


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if dt is not None else None
