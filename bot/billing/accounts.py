"""What a debtor owes: open invoices with their balances and current due dates."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timezone, tzinfo
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store import audit
from bot.store.models import Debtor, Invoice


@dataclass(frozen=True)
class InvoiceView:
    id: int
    external_id: str
    amount: Decimal
    balance: Decimal
    currency: str
    due_date: date
    original_due_date: date
    status: str
    days_overdue: int  # negative: days left before the due date
    description: str | None = None  # what the invoice is for, when the lender said


def local_today(debtor: Debtor, now: datetime | None = None) -> date:
    """Today's date where the debtor lives."""
    now = now or datetime.now(timezone.utc)
    tz: tzinfo
    try:
        tz = zoneinfo.ZoneInfo(debtor.timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = timezone.utc
    return now.astimezone(tz).date()


def open_invoices(session: Session, debtor: Debtor) -> list[Invoice]:
    """Invoices still to collect (status open, balance above zero), oldest due date first."""
    return list(
        session.execute(
            select(Invoice)
            .where(Invoice.debtor_id == debtor.id, Invoice.status == "open", Invoice.balance > 0)
            .order_by(Invoice.due_date, Invoice.id)
        ).scalars()
    )


def primary_invoice(session: Session, debtor: Debtor) -> Invoice | None:
    """The invoice a promise, plan or date change is about when the debtor does not say: the oldest."""
    invoices = open_invoices(session, debtor)
    return invoices[0] if invoices else None


def view(invoice: Invoice, today: date) -> InvoiceView:
    return InvoiceView(
        id=invoice.id,
        external_id=invoice.external_id,
        amount=invoice.amount,
        balance=invoice.balance,
        currency=invoice.currency,
        due_date=invoice.due_date,
        original_due_date=invoice.original_due_date,
        status=invoice.status,
        days_overdue=(today - invoice.due_date).days,
        description=invoice.description,
    )


def owed(session: Session, debtor: Debtor, today: date | None = None) -> list[InvoiceView]:
    today = today or local_today(debtor)
    return [view(inv, today) for inv in open_invoices(session, debtor)]


def totals(views: list[InvoiceView]) -> dict[str, Decimal]:
    """Total balance per currency."""
    out: dict[str, Decimal] = {}
    for v in views:
        out[v.currency] = out.get(v.currency, Decimal("0.00")) + v.balance
    return out


def pause_reminders(session: Session, invoices: list[Invoice], why: str) -> int:
    for inv in invoices:
        inv.reminders_paused = True
        audit.record(
            session,
            actor="bot",
            action="reminders_paused",
            target_type="invoice",
            target_id=inv.id,
            details={"why": why},
        )
    return len(invoices)


def mark_disputed(session: Session, invoice: Invoice, note: str = "") -> Invoice:
    """The debtor disputes the invoice: stop collecting it and its reminders until a person looks."""
    invoice.status = "disputed"
    invoice.reminders_paused = True
    audit.record(
        session,
        actor="bot",
        action="invoice_disputed",
        target_type="invoice",
        target_id=invoice.id,
        details={"note": note[:500]},
    )
    return invoice
