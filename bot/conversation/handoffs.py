"""Hand-offs to a human agent. One live hand-off per conversation (a unique partial index enforces
it); opening is idempotent. While a hand-off is live the conversation's mode is ``human`` and the
messaging edge does not pass the debtor's messages to the bot."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.store import audit
from bot.store.models import Conversation, Debtor, Handoff

REASONS = (
    "failed_verification",
    "claims_paid",
    "payment_proof",
    "dispute",
    "request_human",
    "due_date_refused",
    "fallback",
    "service_issue",
    "payment_plan",
    "plan_broken",
    "other",
)


def get_or_create_conversation(session: Session, phone: str, debtor: Debtor | None = None) -> Conversation:
    conv = session.execute(select(Conversation).where(Conversation.phone == phone)).scalar_one_or_none()
    if conv is not None:
        if conv.debtor_id is None and debtor is not None:
            conv.debtor_id = debtor.id
        return conv
    try:
        with session.begin_nested():
            conv = Conversation(phone=phone, debtor_id=debtor.id if debtor else None, mode="bot", tags=[])
            session.add(conv)
    except IntegrityError:  # the messaging edge created it at the same moment
        conv = session.execute(select(Conversation).where(Conversation.phone == phone)).scalar_one()
    return conv


def live(session: Session, conversation_id: int) -> Handoff | None:
    return session.execute(
        select(Handoff).where(Handoff.conversation_id == conversation_id, Handoff.status != "closed")
    ).scalar_one_or_none()


def open(session: Session, phone: str, debtor: Debtor | None, reason: str, summary: str = "") -> tuple[Handoff, bool]:
    """The live hand-off of the conversation, opened now if there is none; returns (handoff, created)."""
    conv = get_or_create_conversation(session, phone, debtor)
    session.flush()
    existing = live(session, conv.id)
    created = False
    if existing is None:
        try:
            with session.begin_nested():
                existing = Handoff(
                    debtor_id=debtor.id if debtor else None,
                    conversation_id=conv.id,
                    status="open",
                    reason=reason,
                    summary=summary[:2000],
                )
                session.add(existing)
            created = True
        except IntegrityError:  # another process opened one first
            existing = live(session, conv.id)
            if existing is None:  # ... and closed it already: the unique index can no longer be what stopped us
                raise
    conv.mode = "human"
    if created:
        audit.record(
            session,
            actor="bot",
            action="handoff_opened",
            target_type="handoff",
            target_id=existing.id,
            details={"reason": reason},
        )
    return existing, created


def add_note(session: Session, phone: str, note: str) -> Handoff | None:
    """Append what the debtor added after the hand-off opened ("el lunes por nequi" to "¿cuándo y cómo
    pagó?") to the live hand-off's summary, where the person who picks it up reads it first."""
    conv = session.execute(select(Conversation).where(Conversation.phone == phone)).scalar_one_or_none()
    handoff = live(session, conv.id) if conv is not None else None
    if handoff is None or not note.strip():
        return handoff
    handoff.summary = f"{handoff.summary} | {note.strip()}"[:2000]
    session.flush()
    return handoff


def close(session: Session, handoff: Handoff, actor: str = "bot", user_id: int | None = None) -> Handoff:
    """Close the hand-off and give the conversation back to the bot."""
    if handoff.status != "closed":
        handoff.status = "closed"
        handoff.closed_at = datetime.now(timezone.utc)
        audit.record(
            session, actor=actor, user_id=user_id, action="handoff_closed", target_type="handoff", target_id=handoff.id
        )
    conv = session.get(Conversation, handoff.conversation_id) if handoff.conversation_id else None
    if conv is not None:
        conv.mode = "bot"
    session.flush()
    return handoff


def give_back(session: Session, phone: str, actor: str = "bot", user_id: int | None = None) -> Handoff | None:
    conv = session.execute(select(Conversation).where(Conversation.phone == phone)).scalar_one_or_none()
    if conv is None:
        return None
    handoff = live(session, conv.id)
    if handoff is not None:
        return close(session, handoff, actor=actor, user_id=user_id)
    conv.mode = "bot"
    return None
