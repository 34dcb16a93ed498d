"""Store rows for tests, with the defaults a test does not care about and keyword overrides for what it does.

Plain functions rather than a factory library: each adds its row to the session, flushes it (so that its id is
there for the next row) and returns it; committing stays the test's business. A default is only what every
caller would have written the same way; what a test checks it still spells out, so that it reads as the case it
is. Debtors with invoices as the API takes them come from the ``make_debtor`` fixture (tests/conftest.py);
``debtor`` and ``invoice`` here are for hand-built histories that need times and fields the API does not set.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

from bot.store import models

_Row = TypeVar("_Row")
_serial = itertools.count(1)  # unique phones, provider ids, references, short codes and keys in the session


def _id(row: Any) -> int | None:
    """A row's id, or the id itself: some tests hold the debtor's id only (``conversation.debtor_id``)."""
    return row if row is None or isinstance(row, int) else row.id


def _add(session, row: _Row) -> _Row:
    session.add(row)
    session.flush()
    return row


def debtor(session, external_id: str, **kw: Any) -> models.Debtor:
    """A Colombian debtor on WhatsApp, named after the external id, with a phone no other factory row has."""
    fields: dict[str, Any] = {
        "name": f"Deudor {external_id}",
        "phone": f"+57300{next(_serial):07d}",
        "whatsapp": True,
        "country": "CO",
        "timezone": "America/Bogota",
    }
    return _add(session, models.Debtor(external_id=external_id, **{**fields, **kw}))


def invoice(
    session, debtor: models.Debtor | int, external_id: str, amount: Decimal | str = "1000.00", **kw: Any
) -> models.Invoice:
    """An open invoice of ``amount`` (also its balance), in pesos, due on 1 November 2026 unless told otherwise."""
    due = kw.pop("due_date", date(2026, 11, 1))
    fields: dict[str, Any] = {
        "amount": Decimal(amount),
        "balance": Decimal(amount),
        "currency": "COP",
        "original_due_date": due,
        "due_date": due,
    }
    return _add(session, models.Invoice(debtor_id=_id(debtor), external_id=external_id, **{**fields, **kw}))


def conversation(session, debtor: models.Debtor | None, **kw: Any) -> models.Conversation:
    """The debtor's conversation, on their phone, last on WhatsApp, untagged."""
    fields: dict[str, Any] = {"last_channel": "whatsapp", "tags": []}
    if debtor is not None:
        fields.update(phone=debtor.phone, debtor_id=debtor.id)
    return _add(session, models.Conversation(**{**fields, **kw}))


def message(session, conversation: models.Conversation, author: str, body: str = "", **kw: Any) -> models.Message:
    """A message of the conversation: the debtor's come in and are processed, everyone else's go out and are
    delivered, on the conversation's last channel."""
    inbound = author == "debtor"
    fields: dict[str, Any] = {
        "debtor_id": conversation.debtor_id,
        "direction": "in" if inbound else "out",
        "channel": conversation.last_channel or "whatsapp",
        "status": "processed" if inbound else "delivered",
    }
    return _add(session, models.Message(conversation_id=conversation.id, author=author, body=body, **{**fields, **kw}))


def promise(session, debtor: models.Debtor | int, invoice: models.Invoice, **kw: Any) -> models.Promise:
    """An open promise to pay the invoice's balance a week after it was due."""
    fields: dict[str, Any] = {
        "promised_date": invoice.due_date + timedelta(days=7),
        "amount": invoice.balance,
        "currency": invoice.currency,
    }
    return _add(session, models.Promise(debtor_id=_id(debtor), invoice_id=invoice.id, **{**fields, **kw}))


def payment(session, debtor: models.Debtor | int, invoice: models.Invoice | None = None, **kw: Any) -> models.Payment:
    """An approved sandbox payment of the invoice's balance (100 pesos without an invoice), paid now."""
    fields: dict[str, Any] = {
        "provider": "sandbox",
        "provider_id": f"p-{next(_serial)}",
        "amount": invoice.balance if invoice is not None else Decimal("100.00"),
        "currency": invoice.currency if invoice is not None else "COP",
        "status": "approved",
        "paid_at": datetime.now(timezone.utc),
    }
    return _add(session, models.Payment(debtor_id=_id(debtor), invoice_id=_id(invoice), **{**fields, **kw}))


def payment_link(
    session, debtor: models.Debtor | int, invoice: models.Invoice | None = None, **kw: Any
) -> models.PaymentLink:
    """An active sandbox checkout link for the invoice's balance (100 pesos without an invoice), three days
    to run."""
    n = next(_serial)
    reference = kw.pop("reference", f"ref-{n}")
    fields: dict[str, Any] = {
        "short_code": f"sc{n}",
        "provider": "sandbox",
        "url": f"http://localhost:8000/sandbox/checkout/{reference}",
        "amount": invoice.balance if invoice is not None else Decimal("100.00"),
        "currency": invoice.currency if invoice is not None else "COP",
        "status": "active",
        "expires_at": datetime.now(timezone.utc) + timedelta(days=3),
    }
    link = models.PaymentLink(debtor_id=_id(debtor), invoice_id=_id(invoice), reference=reference, **{**fields, **kw})
    return _add(session, link)


def handoff(session, conversation: models.Conversation, reason: str = "request_human", **kw: Any) -> models.Handoff:
    """An open hand-off of the conversation to a person."""
    fields: dict[str, Any] = {"debtor_id": conversation.debtor_id, "status": "open"}
    return _add(session, models.Handoff(conversation_id=conversation.id, reason=reason, **{**fields, **kw}))


def reason(
    session, debtor: models.Debtor | int, invoice: models.Invoice | None = None, reason: str = "job_loss", **kw: Any
) -> models.NonpaymentReason:
    """A reason for not paying, as the debtor gave it (``text``, empty unless told)."""
    fields: dict[str, Any] = {"text": ""}
    return _add(
        session,
        models.NonpaymentReason(debtor_id=_id(debtor), invoice_id=_id(invoice), reason=reason, **{**fields, **kw}),
    )


def contact_attempt(session, debtor: models.Debtor | int, at: datetime, **kw: Any) -> models.ContactAttempt:
    """A campaign's SMS to the debtor, scheduled and sent at ``at`` (for one not sent: ``sent_at=None`` and its
    status)."""
    fields: dict[str, Any] = {
        "key": f"contact-{next(_serial)}",
        "campaign": "preventiva",
        "stage": "D+3",
        "channel": "sms",
        "status": "sent",
        "scheduled_for": at,
        "sent_at": at,
    }
    return _add(session, models.ContactAttempt(debtor_id=_id(debtor), **{**fields, **kw}))
