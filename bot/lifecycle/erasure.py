"""A debtor's personal data erased on request (``DELETE /api/v1/debtors/{external_id}``).

What goes: the name, phone and document (the debtor row stays, anonymised, as the link that keeps invoices and
payments in the books), every message's words, media and phones, the reasons they gave in their own words,
hand-off summaries and agents' notes, the identity-check record, the Rasa tracker of their conversation, and the
name and document on settlement certificates. What stays, as accounting requires: invoices, payments, allocations,
promises, plans, due-date changes, payment links (amounts, dates, statuses), the contact records (the legal
evidence, pruned by retention with everything else), and the audit log.

The phone is remembered as a digest (``bot.lifecycle.erased_phones``) and the debtor marked opted out and
``erased``: no campaign contacts the number again, even if a billing system pushes it again later.
Erasing twice changes nothing the second time (``Erasure.already``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, null, or_, select, update
from sqlalchemy.orm import Session

from bot.billing.settlements import render_pdf
from bot.lifecycle import erased_phones
from bot.platform.config import get_settings
from bot.store import audit
from bot.store.models import (
    AgentNote,
    ContactAttempt,
    Conversation,
    Debtor,
    Handoff,
    IdentityCheck,
    Message,
    NonpaymentReason,
    PaymentProof,
    Settlement,
)

ERASED_NAME = "Titular eliminado"
ERASED_STATUS = "erased"


def placeholder(kind: str, row_id: int) -> str:
    """What stands in a phone column after erasure: unique, and no number any provider would accept."""
    return f"erased:{kind[0]}{row_id}"


@dataclass
class Erasure:
    external_id: str
    erased_at: datetime
    already: bool = False
    removed: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "external_id": self.external_id,
            "status": "already_erased" if self.already else "erased",
            "erased_at": self.erased_at.isoformat().replace("+00:00", "Z"),
        }
        if not self.already:
            data["removed"] = self.removed
        return data


def phones_of(session: Session, debtor: Debtor) -> set[str]:
    """The debtor's phone and their conversations' ids (the Rasa conversation ids to delete)."""
    phones = {debtor.phone}
    phones |= set(session.execute(select(Conversation.phone).where(Conversation.debtor_id == debtor.id)).scalars())
    return {p for p in phones if p and not p.startswith("erased:")}


def erase(
    session: Session,
    debtor: Debtor,
    *,
    at: datetime,
    actor: str,
    delete_tracker: Callable[[set[str]], int] | None = None,
    user_id: int | None = None,
    details: dict[str, object] | None = None,
) -> Erasure:
    """Erase ``debtor``'s personal data (the caller commits). ``delete_tracker`` deletes the Rasa conversations of
    the given phones and returns the events deleted; it runs first, in its own transaction, so that a failure
    leaves the store untouched and the request can simply be made again."""
    if debtor.erased_at is not None:
        return Erasure(debtor.external_id, debtor.erased_at, already=True)
    result = Erasure(debtor.external_id, at)
    phones = phones_of(session, debtor)
    removed = result.removed
    removed["tracker_events"] = delete_tracker(phones) if delete_tracker else 0

    conversations = list(
        session.execute(
            select(Conversation).where(or_(Conversation.debtor_id == debtor.id, Conversation.phone.in_(phones)))
        ).scalars()
    )
    conv_ids = [c.id for c in conversations]
    mine = or_(Message.debtor_id == debtor.id, Message.conversation_id.in_(conv_ids))
    removed["messages"] = (
        session.execute(
            update(Message)
            .where(mine)
            .values(
                body="",
                media=[],
                entities=null(),
                content_variables=null(),
                choices=null(),  # option titles may name an invoice
                from_phone=null(),
                to_phone=null(),
                redacted_at=at,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        or 0
    )
    removed["nonpayment_reason_texts"] = (
        session.execute(
            update(NonpaymentReason)
            .where(NonpaymentReason.debtor_id == debtor.id)
            .values(text="")
            .execution_options(synchronize_session=False)
        ).rowcount
        or 0
    )
    handoffs = list(
        session.execute(
            select(Handoff).where(or_(Handoff.debtor_id == debtor.id, Handoff.conversation_id.in_(conv_ids)))
        ).scalars()
    )
    for h in handoffs:
        h.summary = ""
        if h.status != "closed":  # nobody is to answer a person who asked to be forgotten
            h.status, h.closed_at = "closed", at
    removed["handoffs"] = len(handoffs)
    removed["agent_notes"] = (
        session.execute(
            update(AgentNote)
            .where(or_(AgentNote.debtor_id == debtor.id, AgentNote.handoff_id.in_([h.id for h in handoffs])))
            .values(body="")
            .execution_options(synchronize_session=False)
        ).rowcount
        or 0
    )
    # an agent's reason for rejecting a proof of payment was told to the person: it goes with their messages
    session.execute(
        update(PaymentProof)
        .where(PaymentProof.debtor_id == debtor.id)
        .values(reason=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(IdentityCheck).where(IdentityCheck.debtor_id == debtor.id))
    removed["pending_contacts_cancelled"] = (
        session.execute(
            update(ContactAttempt)
            .where(ContactAttempt.debtor_id == debtor.id, ContactAttempt.status.in_(("planned", "deferred")))
            .values(status="suppressed", reason=ERASED_STATUS)
            .execution_options(synchronize_session=False)
        ).rowcount
        or 0
    )

    for phone in phones:
        erased_phones.add(session, phone, at)
    for conv in conversations:
        conv.phone = placeholder("conversation", conv.id)
        conv.tags = []
        conv.mode = "bot"
    debtor.name = ERASED_NAME
    debtor.phone = placeholder("debtor", debtor.id)
    debtor.whatsapp = False
    debtor.document_hash = None
    debtor.document_last4 = None
    debtor.opted_out = True
    debtor.opted_out_at = debtor.opted_out_at or at
    debtor.contact_status = ERASED_STATUS
    debtor.erased_at = at

    certificates = list(session.execute(select(Settlement).where(Settlement.debtor_id == debtor.id)).scalars())
    for cert in certificates:
        # the certificate is drawn again without the name: the same creditor, invoices and payments
        blank = {"creditor": get_settings().business_name, "invoices": [], "payments": []}
        cert_details = {**blank, **(cert.details or {})}
        cert_details.update(debtor_name=ERASED_NAME, document="-")
        cert.details = cert_details
        cert.pdf = render_pdf(debtor, cert_details, cert.code, cert.issued_at)
    removed["settlement_names"] = len(certificates)

    audit.record(
        session,
        actor=actor,
        user_id=user_id,
        action="debtor.erase",
        target_type="debtor",
        target_id=debtor.external_id,
        details={"debtor_id": debtor.id, "removed": dict(removed), **(details or {})},
    )
    session.flush()
    return result
