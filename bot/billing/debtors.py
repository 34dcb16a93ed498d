"""Debtors and their invoices as the billing system sends them, and as integrators read them back.

The upsert is idempotent: the same payload twice leaves the store as the first one did, and a
changed payload updates in place (never a second debtor or invoice).
"""

from __future__ import annotations

import hashlib
import hmac
import zoneinfo
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import phonenumbers
import pytz
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.billing import money
from bot.conversation import identity
from bot.platform import phones
from bot.platform.config import get_settings
from bot.store.models import (
    Debtor,
    DueDateChange,
    Handoff,
    Invoice,
    NonpaymentReason,
    Payment,
    PaymentLink,
    Promise,
)

COUNTRIES = frozenset(phonenumbers.SUPPORTED_REGIONS)
MAX_INVOICES = 500


class ValidationError(ValueError):
    """Bad input from an integrator: says which field and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class InvoiceInput:
    external_id: str
    amount: Decimal
    currency: str
    due_date: date
    balance: Decimal | None = None


@dataclass(frozen=True)
class DebtorInput:
    external_id: str
    name: str
    phone: str
    whatsapp: bool
    country: str
    timezone: str
    language: str
    document_last4: str | None
    document_hash: str | None
    invoices: tuple[InvoiceInput, ...]


def hash_document(number: str) -> str:
    """A keyed hash, so a leaked store does not give away document numbers."""
    digits = "".join(ch for ch in number if ch.isalnum()).upper()
    key = get_settings().secret_key.encode()
    return hmac.new(key, digits.encode(), hashlib.sha256).hexdigest()


def _str(payload: dict, name: str, required: bool = True, max_len: int = 200) -> str | None:
    value = payload.get(name)
    if value is None:
        if required:
            raise ValidationError(name, "is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(name, "must be a non-empty string")
    if len(value) > max_len:
        raise ValidationError(name, f"must be at most {max_len} characters")
    if any(ord(ch) < 32 for ch in value):
        raise ValidationError(name, "must not contain control characters")
    return value.strip()


def _date(value: Any, field: str) -> date:
    if not isinstance(value, str):
        raise ValidationError(field, "must be a date YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError(field, f"{value!r} is not a date YYYY-MM-DD") from exc


def default_timezone(country: str) -> str:
    zones = pytz.country_timezones.get(country.upper()) or ["UTC"]
    return zones[0]


def parse_debtor(external_id: str, payload: Any) -> DebtorInput:
    """Check an integrator's debtor payload field by field (docs/api.md)."""
    if not isinstance(payload, dict):
        raise ValidationError("body", "must be a JSON object")
    if not external_id or len(external_id) > 100:
        raise ValidationError("external_id", "must be 1 to 100 characters")
    name = _str(payload, "name")
    country = (_str(payload, "country", max_len=2) or "").upper()
    if country not in COUNTRIES or len(country) != 2:
        raise ValidationError("country", f"{payload.get('country')!r} is not an ISO 3166 alpha-2 country code")
    try:
        phone = phones.normalise(_str(payload, "phone", max_len=30) or "", default_region=country)
    except phones.PhoneError as exc:
        raise ValidationError("phone", f"{payload.get('phone')!r} is not a valid E.164 phone number") from exc
    whatsapp = payload.get("whatsapp", False)
    if not isinstance(whatsapp, bool):
        raise ValidationError("whatsapp", "must be true or false")
    tz = _str(payload, "timezone", required=False, max_len=64) or default_timezone(country)
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError("timezone", f"{tz!r} is not an IANA time zone") from exc
    language = _str(payload, "language", required=False, max_len=8) or "es"
    last4 = _str(payload, "document_last4", required=False, max_len=4)
    document = _str(payload, "document", required=False, max_len=40)
    doc_hash = None
    if document:
        digits = "".join(ch for ch in document if ch.isalnum())
        if len(digits) < 4:
            raise ValidationError("document", "must have at least 4 characters")
        doc_hash = hash_document(document)
        last4 = last4 or digits[-4:]
    if last4 is not None and (len(last4) != 4 or not last4.isdigit()):
        raise ValidationError("document_last4", "must be exactly 4 digits")
    raw_invoices = payload.get("invoices", [])
    if not isinstance(raw_invoices, list):
        raise ValidationError("invoices", "must be a list")
    if len(raw_invoices) > MAX_INVOICES:
        raise ValidationError("invoices", f"at most {MAX_INVOICES} invoices per debtor")
    invoices = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_invoices):
        invoices.append(_parse_invoice(raw, f"invoices[{i}]"))
        if invoices[-1].external_id in seen:
            raise ValidationError(f"invoices[{i}].external_id", "is repeated")
        seen.add(invoices[-1].external_id)
    return DebtorInput(
        external_id=external_id,
        name=name or "",
        phone=phone,
        whatsapp=whatsapp,
        country=country,
        timezone=tz,
        language=language,
        document_last4=last4,
        document_hash=doc_hash,
        invoices=tuple(invoices),
    )


def _parse_invoice(raw: Any, where: str) -> InvoiceInput:
    if not isinstance(raw, dict):
        raise ValidationError(where, "must be an object")
    try:
        external_id = _str(raw, "external_id", max_len=100)
        currency = (_str(raw, "currency", max_len=3) or "").upper()
    except ValidationError as exc:
        raise ValidationError(f"{where}.{exc.field}", exc.message) from exc
    if currency not in money.SUPPORTED_CURRENCIES:
        raise ValidationError(
            f"{where}.currency",
            f"{raw.get('currency')!r} is not a supported ISO 4217 currency ({', '.join(money.SUPPORTED_CURRENCIES)})",
        )
    try:
        amount = money.parse_amount(raw.get("amount"), currency)
        balance = None
        if raw.get("balance") is not None:
            balance = money.parse_amount(raw.get("balance"), currency)
    except money.MoneyError as exc:
        raise ValidationError(f"{where}.amount", str(exc)) from exc
    if "due_date" not in raw:
        raise ValidationError(f"{where}.due_date", "is required")
    due = _date(raw.get("due_date"), f"{where}.due_date")
    return InvoiceInput(external_id=external_id or "", amount=amount, currency=currency, due_date=due, balance=balance)


def upsert(session: Session, data: DebtorInput) -> tuple[Debtor, bool]:
    """Insert or update the debtor and its invoices; returns (debtor, created)."""
    debtor = get_by_external_id(session, data.external_id)
    invoices = (
        {}
        if debtor is None
        else {
            inv.external_id: inv
            for inv in session.execute(select(Invoice).where(Invoice.debtor_id == debtor.id)).scalars()
        }
    )
    debtor, created = apply(session, data, debtor, invoices)
    session.flush()
    return debtor, created


def apply(
    session: Session, data: DebtorInput, debtor: Debtor | None, existing: dict[str, Invoice]
) -> tuple[Debtor, bool]:
    """The upsert itself, given what the store already holds (so a bulk import can preload it)."""
    created = debtor is None
    if debtor is None:
        debtor = Debtor(external_id=data.external_id)
        session.add(debtor)
    debtor.name = data.name
    debtor.phone = data.phone
    debtor.whatsapp = data.whatsapp
    debtor.country = data.country
    debtor.timezone = data.timezone
    debtor.language = data.language
    if data.document_last4 is not None:
        debtor.document_last4 = data.document_last4
    if data.document_hash is not None:
        debtor.document_hash = data.document_hash
    for item in data.invoices:
        inv = existing.get(item.external_id)
        if inv is None:
            balance = item.amount if item.balance is None else item.balance
            inv = Invoice(
                external_id=item.external_id,
                amount=item.amount,
                balance=balance,
                currency=item.currency,
                original_due_date=item.due_date,
                due_date=item.due_date,
                status="paid" if balance == 0 else "open",
            )
            # Through the relationship, so a new debtor needs no flush per row (bulk import speed).
            if debtor.id is None:
                inv.debtor = debtor
            else:
                inv.debtor_id = debtor.id
            session.add(inv)
            existing[item.external_id] = inv
            continue
        if item.balance is not None:
            inv.balance = item.balance
        elif item.amount != inv.amount:
            inv.balance = max(Decimal("0.00"), inv.balance + item.amount - inv.amount)
        inv.amount = item.amount
        inv.currency = item.currency
        if item.due_date != inv.original_due_date:
            moved = inv.due_date != inv.original_due_date
            inv.original_due_date = item.due_date
            if not moved:
                inv.due_date = item.due_date
        if inv.status in ("open", "paid"):
            inv.status = "paid" if inv.balance == 0 else "open"
    return debtor, created


def get_by_external_id(session: Session, external_id: str) -> Debtor | None:
    return session.execute(select(Debtor).where(Debtor.external_id == external_id)).scalar_one_or_none()


def get_by_phone(session: Session, phone: str) -> Debtor | None:
    """The debtor behind an E.164 phone (the newest one, should a number have been reassigned)."""
    return session.execute(
        select(Debtor).where(Debtor.phone == phone).order_by(Debtor.id.desc()).limit(1)
    ).scalar_one_or_none()


def _iso(dt) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt is not None else None


def _day(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def serialize(session: Session, debtor: Debtor) -> dict[str, Any]:
    """The debtor as ``GET /api/v1/debtors/{external_id}`` returns it (docs/api.md)."""
    invoices = list(
        session.execute(
            select(Invoice).where(Invoice.debtor_id == debtor.id).order_by(Invoice.due_date, Invoice.id)
        ).scalars()
    )
    by_id = {inv.id: inv for inv in invoices}

    def ext(invoice_id: int | None) -> str | None:
        inv = by_id.get(invoice_id) if invoice_id else None
        return inv.external_id if inv else None

    def rows(model, order):
        return list(session.execute(select(model).where(model.debtor_id == debtor.id).order_by(order)).scalars())

    return {
        "external_id": debtor.external_id,
        "name": debtor.name,
        "phone": debtor.phone,
        "whatsapp": debtor.whatsapp,
        "country": debtor.country,
        "timezone": debtor.timezone,
        "language": debtor.language,
        "document_last4": debtor.document_last4,
        "contact_status": debtor.contact_status,
        "created_at": _iso(debtor.created_at),
        "updated_at": _iso(debtor.updated_at),
        "invoices": [
            {
                "external_id": inv.external_id,
                "amount": money.to_str(inv.amount),
                "balance": money.to_str(inv.balance),
                "currency": inv.currency,
                "original_due_date": _day(inv.original_due_date),
                "due_date": _day(inv.due_date),
                "status": inv.status,
            }
            for inv in invoices
        ],
        "promises": [
            {
                "invoice_external_id": ext(p.invoice_id),
                "promised_date": _day(p.promised_date),
                "amount": money.to_str(p.amount),
                "currency": p.currency,
                "status": p.status,
                "source": p.source,
                "created_at": _iso(p.created_at),
            }
            for p in rows(Promise, Promise.id)
        ],
        "nonpayment_reasons": [
            {
                "reason": r.reason,
                "text": r.text,
                "invoice_external_id": ext(r.invoice_id),
                "created_at": _iso(r.created_at),
            }
            for r in rows(NonpaymentReason, NonpaymentReason.id)
        ],
        "due_date_changes": [
            {
                "invoice_external_id": ext(c.invoice_id),
                "old_date": _day(c.old_date),
                "new_date": _day(c.new_date),
                "changed_by": c.changed_by,
                "created_at": _iso(c.created_at),
            }
            for c in rows(DueDateChange, DueDateChange.id)
        ],
        "payment_links": [
            {
                "url": link_url(link),
                "checkout_url": link.url,
                "invoice_external_id": ext(link.invoice_id),
                "amount": money.to_str(link.amount),
                "currency": link.currency,
                "status": link.status,
                "expires_at": _iso(link.expires_at),
                "created_at": _iso(link.created_at),
            }
            for link in rows(PaymentLink, PaymentLink.id)
        ],
        "payments": [
            {
                "provider_id": p.provider_id,
                "provider": p.provider,
                "invoice_external_id": ext(p.invoice_id),
                "amount": money.to_str(p.amount),
                "currency": p.currency,
                "status": p.status,
                "status_detail": p.status_detail,
                "refunded_amount": money.to_str(p.refunded_amount or Decimal("0")),
                "paid_at": _iso(p.paid_at),
            }
            for p in rows(Payment, Payment.id)
        ],
        "handoffs": [
            {"status": h.status, "reason": h.reason, "created_at": _iso(h.created_at)}
            for h in rows(Handoff, Handoff.id)
        ],
        "opted_out": debtor.opted_out,
        # set while the debtor is locked out of the identity check (wrong document digits): why no
        # disclosure happens and until when
        "identity_locked_until": _iso(identity.locked_until(session, debtor)),
        "settlements": _settlements(session, debtor),
        "credit": _credit(session, debtor),
    }


def _credit(session: Session, debtor: Debtor) -> list[dict[str, str]]:
    """Over-payments kept for the debtor (not reversed), per currency: ``[{"currency", "amount"}]``."""
    from bot.billing.payment_events import credit_balance

    return [
        {"currency": currency, "amount": money.to_str(amount)}
        for currency, amount in sorted(credit_balance(session, debtor.id).items())
    ]


def _settlements(session: Session, debtor: Debtor) -> list[dict[str, Any]]:
    """Settlement certificates ("paz y salvo"): ``[{"code", "url", "issued_at", "status"}]``."""
    from bot.billing import settlements

    return settlements.serialize(session, debtor)


def link_url(link: PaymentLink) -> str:
    """The short URL on our own domain that redirects to the provider's checkout (fits an SMS)."""
    return f"{get_settings().public_base_url}/p/{link.short_code}"
