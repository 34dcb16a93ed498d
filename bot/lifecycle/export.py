"""Everything Recobra holds about one debtor, as one JSON document (``GET /api/v1/debtors/{external_id}/export``):
the answer to a data-access request.

Every column of every row that belongs to the debtor, named as in the store, so that nothing held is left out
by a hand-picked field list: profile, invoices, payments (and how each was applied), payment links, promises,
payment plans with their instalments, due-date changes, reasons for not paying, conversations and every message,
consent (opt-out, contact status, erasure), hand-offs and agents' notes, contact records, identity checks,
settlement certificates (without the PDF bytes), the audit entries about the debtor, and the Rasa tracker events
of their conversation. Two values are left out on purpose: the document's hash (a secret derived from the
document number, useless to the person and a help to whoever guesses documents) and certificate PDFs (fetched
by their own link).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bot.store.models import (
    AgentNote,
    AuditLog,
    ContactAttempt,
    Conversation,
    Debtor,
    DueDateChange,
    Handoff,
    IdentityCheck,
    Instalment,
    Invoice,
    Message,
    NonpaymentReason,
    Payment,
    PaymentAllocation,
    PaymentLink,
    PaymentLinkItem,
    PaymentPlan,
    PaymentPlanItem,
    PaymentProof,
    Promise,
    Settlement,
    SettlementOffer,
)

FORMAT = "recobra.debtor-export/1"
LEFT_OUT = {"document_hash", "pdf"}


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return None
    return value


def row(obj: Any) -> dict[str, Any]:
    """Every column of a store row, JSON-ready (money as decimal strings, times ISO 8601 UTC)."""
    return {c.key: _value(getattr(obj, c.key)) for c in obj.__table__.columns if c.key not in LEFT_OUT}


def about(debtor: Debtor):
    """Audit entries about the debtor. The API's entries (``debtor.*``) name the debtor by external id, the others
    by row id: each is matched on its own kind only, so that debtor 5's entries never reach the debtor whose
    external id happens to be "5"."""
    return and_(
        AuditLog.target_type == "debtor",
        or_(
            and_(AuditLog.action.like("debtor.%"), AuditLog.target_id == debtor.external_id),
            and_(AuditLog.action.not_like("debtor.%"), AuditLog.target_id == str(debtor.id)),
        ),
    )


def export(
    session: Session,
    debtor: Debtor,
    *,
    at: datetime,
    tracker_events: Callable[[str], list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The debtor's data. ``tracker_events(phone)`` reads a Rasa conversation (None: not available here)."""

    def rows(model, *where, order=None) -> list[dict[str, Any]]:
        stmt = select(model).where(*where).order_by(order if order is not None else model.id)
        return [row(r) for r in session.execute(stmt).scalars()]

    conversations = list(session.execute(select(Conversation).where(Conversation.debtor_id == debtor.id)).scalars())
    conv_ids = [c.id for c in conversations]
    plans = list(session.execute(select(PaymentPlan).where(PaymentPlan.debtor_id == debtor.id)).scalars())
    handoff_rows = list(
        session.execute(
            select(Handoff)
            .where(or_(Handoff.debtor_id == debtor.id, Handoff.conversation_id.in_(conv_ids)))
            .order_by(Handoff.id)
        ).scalars()
    )
    profile = row(debtor)
    profile["document_on_file"] = debtor.document_hash is not None
    data: dict[str, Any] = {
        "format": FORMAT,
        "exported_at": _value(at),
        "profile": profile,
        "consent": {
            "opted_out": debtor.opted_out,
            "opted_out_at": _value(debtor.opted_out_at),
            "contact_status": debtor.contact_status,
            "whatsapp": debtor.whatsapp,
            "erased_at": _value(debtor.erased_at),
            "history": rows(
                AuditLog,
                about(debtor),
                AuditLog.action.in_(("opted_out", "opted_in", "contact_status_changed", "debtor.erase")),
            ),
        },
        "invoices": rows(Invoice, Invoice.debtor_id == debtor.id),
        "payments": rows(Payment, Payment.debtor_id == debtor.id),
        "payment_allocations": rows(PaymentAllocation, PaymentAllocation.debtor_id == debtor.id),
        "payment_links": [
            {
                **link,
                "items": rows(PaymentLinkItem, PaymentLinkItem.link_id == link["id"], order=PaymentLinkItem.position),
            }
            for link in rows(PaymentLink, PaymentLink.debtor_id == debtor.id)
        ],
        "payment_proofs": rows(PaymentProof, PaymentProof.debtor_id == debtor.id),
        "promises": rows(Promise, Promise.debtor_id == debtor.id),
        "payment_plans": [
            {
                **row(p),
                "instalments": rows(Instalment, Instalment.plan_id == p.id, order=Instalment.number),
                "items": rows(PaymentPlanItem, PaymentPlanItem.plan_id == p.id, order=PaymentPlanItem.position),
            }
            for p in plans
        ],
        "settlement_offers": rows(SettlementOffer, SettlementOffer.debtor_id == debtor.id),
        "due_date_changes": rows(DueDateChange, DueDateChange.debtor_id == debtor.id),
        "nonpayment_reasons": rows(NonpaymentReason, NonpaymentReason.debtor_id == debtor.id),
        "conversations": [row(c) for c in conversations],
        "messages": rows(
            Message,
            or_(Message.debtor_id == debtor.id, Message.conversation_id.in_(conv_ids)),
            order=Message.created_at,
        ),
        "handoffs": [row(h) for h in handoff_rows],
        "agent_notes": rows(
            AgentNote,
            or_(AgentNote.debtor_id == debtor.id, AgentNote.handoff_id.in_([h.id for h in handoff_rows])),
        ),
        "contact_attempts": rows(ContactAttempt, ContactAttempt.debtor_id == debtor.id),
        "identity_checks": rows(IdentityCheck, IdentityCheck.debtor_id == debtor.id, order=IdentityCheck.debtor_id),
        "settlements": rows(Settlement, Settlement.debtor_id == debtor.id),
        "audit": rows(
            AuditLog,
            about(debtor),
        ),
    }
    phones = sorted({debtor.phone, *(c.phone for c in conversations)} - {None})
    data["rasa_tracker"] = (
        {phone: tracker_events(phone) for phone in phones if not phone.startswith("erased:")}
        if tracker_events is not None
        else None
    )
    return data
