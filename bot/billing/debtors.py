"""Debtors and their invoices as the billing system sends them.

The upsert is idempotent: the same payload twice leaves the store as the first one did, and a
changed payload updates in place (never a second debtor or invoice). How integrators read a debtor back
spans billing and the conversation (hand-offs, reasons, the identity lock), so it lives above both, in
``bot.web.debtor_view``.
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
from bot.platform import phones
from bot.platform.config import get_settings
from bot.store.models import Debtor, Invoice

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
    description: str | None = None  # the concept ("Celular Samsung A15"); absent on an update: kept as it was


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
        description = _str(raw, "description", required=False, max_len=200)
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
    return InvoiceInput(
        external_id=external_id or "",
        amount=amount,
        currency=currency,
        due_date=due,
        balance=balance,
        description=description,
    )


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
                description=item.description,
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
        if item.description is not None:
            inv.description = item.description
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
