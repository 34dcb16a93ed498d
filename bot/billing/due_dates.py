"""Moving an invoice's due date within policy (``config/due_date_policy.yml``).

An approved change updates ``Invoice.due_date`` and is recorded with the old date; a refusal
carries a machine-readable reason the dialogue explains.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.platform import policies
from bot.store import audit
from bot.store.models import Debtor, DueDateChange, Invoice

REFUSALS = ("not_open", "too_overdue", "too_many_changes", "date_missing", "date_too_soon", "not_later", "too_far")


@dataclass(frozen=True)
class Decision:
    approved: bool
    reason: str | None  # one of REFUSALS when refused
    old_date: date
    new_date: date | None
    latest_date: date | None  # the latest date the policy would grant (None: not eligible at all)


def policy() -> dict:
    return policies.load("due_date_policy")


def _changes(session: Session, invoice: Invoice) -> int:
    return session.execute(
        select(func.count()).select_from(DueDateChange).where(DueDateChange.invoice_id == invoice.id)
    ).scalar_one()


def eligibility(session: Session, invoice: Invoice, today: date, pol: dict | None = None) -> str | None:
    """Why the invoice cannot have its date moved at all, or None when it can."""
    pol = pol if pol is not None else policy()
    if invoice.status != "open" or invoice.balance <= 0:
        return "not_open"
    if (today - invoice.due_date).days > int(pol.get("max_days_overdue", 30)):
        return "too_overdue"
    if _changes(session, invoice) >= int(pol.get("max_changes_per_invoice", 1)):
        return "too_many_changes"
    return None


def window(invoice: Invoice, today: date, pol: dict | None = None) -> tuple[date, date]:
    """The earliest and latest new due date the policy grants."""
    pol = pol if pol is not None else policy()
    earliest = max(today + timedelta(days=int(pol.get("min_days_ahead", 1))), invoice.due_date + timedelta(days=1))
    latest = invoice.due_date + timedelta(days=int(pol.get("max_move_days", 15)))
    return earliest, latest


def check(session: Session, invoice: Invoice, new_date: date | None, today: date, pol: dict | None = None) -> Decision:
    pol = pol if pol is not None else policy()
    refusal = eligibility(session, invoice, today, pol)
    if refusal:
        return Decision(False, refusal, invoice.due_date, new_date, None)
    earliest, latest = window(invoice, today, pol)
    if latest < earliest:
        return Decision(False, "too_overdue", invoice.due_date, new_date, None)
    if new_date is None:
        return Decision(False, "date_missing", invoice.due_date, None, latest)
    if new_date <= invoice.due_date:
        return Decision(False, "not_later", invoice.due_date, new_date, latest)
    if new_date < earliest:
        return Decision(False, "date_too_soon", invoice.due_date, new_date, latest)
    if new_date > latest:
        return Decision(False, "too_far", invoice.due_date, new_date, latest)
    return Decision(True, None, invoice.due_date, new_date, latest)


def apply(
    session: Session,
    debtor: Debtor,
    invoice: Invoice,
    new_date: date | None,
    today: date,
    changed_by: str = "bot",
    pol: dict | None = None,
) -> Decision:
    """Grant the change when the policy allows it; the store changes only when approved."""
    decision = check(session, invoice, new_date, today, pol)
    if not decision.approved:
        return decision
    assert new_date is not None  # check() refuses a missing date
    old = invoice.due_date
    invoice.due_date = new_date
    change = DueDateChange(
        debtor_id=debtor.id, invoice_id=invoice.id, old_date=old, new_date=new_date, changed_by=changed_by
    )
    session.add(change)
    session.flush()
    audit.record(
        session,
        actor=changed_by,
        action="due_date_changed",
        target_type="invoice",
        target_id=invoice.id,
        details={"old_date": old.isoformat(), "new_date": new_date.isoformat()},
    )
    return decision
