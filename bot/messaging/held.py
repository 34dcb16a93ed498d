"""Held messages: the agent's cancel and edit before they go, and their release when their time comes.

A message the contact gate held (status ``held``, ``hold_until``) is released by the worker's periodic
``release_held`` job: per conversation, its due rows are checked again at that moment, then moved to
``pending`` with a conditional update (``status = 'held'``), so with several workers exactly one moves
them; the ``send_message`` job it queues sends them through the outbox's idempotent delivery.

Checked again at release, because a night can change a lot:

- erased, opted out, or a number that is not the debtor's (or cannot receive): cancelled. An opt-out is
  the debtor's word that they want no more collection messages, an agent's included;
- paid meanwhile (no open balance left): an agent's held message is cancelled (it was written to collect a
  debt that no longer exists; a collections desk does not chase a debtor who paid, and a "¿puedes pagar
  hoy?" the morning after the payment reads as an error). The system's notices (a payment's receipt or
  reversal) still go: they are about the payment itself;
- the contact rules again (a cap may have filled, the window closed again): held further;
- WhatsApp's 24-hour window closed during the wait: the text is prepared again, so the outbox routes it
  (SMS where the debtor allows it, else the re-engagement template) and the old rows are cancelled.

A cancelled row keeps its text and shows in the console as cancelled, with the reason in ``error_code``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.billing import accounts
from bot.messaging import contact_gate, outbox
from bot.store.models import Conversation, Debtor, Message

log = logging.getLogger(__name__)

CANCELLED = "cancelled"
BAD_NUMBER = frozenset({"wrong_number", "invalid_number", "landline", "unsubscribed"})


class HeldError(Exception):
    """The message is not (or no longer) held: it went, or another person cancelled it."""


@dataclass(frozen=True)
class Released:
    sent: int = 0  # rows moved to pending (queue the conversation's send)
    held_again: int = 0
    cancelled: int = 0


def held_rows(session: Session, conversation_id: int, due_at: datetime | None = None) -> list[Message]:
    where = [Message.conversation_id == conversation_id, Message.status == "held"]
    if due_at is not None:
        where.append(Message.hold_until <= due_at)
    return list(session.execute(select(Message).where(*where).order_by(Message.id)).scalars())


def due_conversations(session: Session, now: datetime) -> list[tuple[int, str]]:
    """(conversation id, phone) of the conversations with a held message whose time has come."""
    return [
        (cid, phone)
        for cid, phone in session.execute(
            select(Conversation.id, Conversation.phone)
            .join(Message, Message.conversation_id == Conversation.id)
            .where(Message.status == "held", Message.hold_until <= now)
            .distinct()
        ).all()
    ]


def _move(session: Session, rows: list[Message], now: datetime | None, **values: object) -> bool:
    """Move ``rows`` out of ``held`` only if they still are (and, when ``now``, due): all or none."""
    where = [Message.id.in_([r.id for r in rows]), Message.status == "held"]
    if now is not None:
        where.append(Message.hold_until <= now)
    statement = update(Message).where(*where).values(**values).execution_options(synchronize_session=False)
    result = session.execute(statement)
    if result.rowcount != len(rows):
        session.rollback()
        return False
    for r in rows:
        session.refresh(r)
    return True


def _cancel_reason(session: Session, debtor: Debtor | None, rows: list[Message]) -> str | None:
    if debtor is None:
        return None
    if debtor.erased_at is not None:
        return "erased"
    if debtor.opted_out:
        return "opted_out"
    if debtor.contact_status in BAD_NUMBER:
        return "bad_number"
    if any(r.author == "agent" for r in rows) and not accounts.open_invoices(session, debtor):
        return "paid"
    return None


def release(session: Session, conversation_id: int, now: datetime | None = None) -> Released:
    """Check the conversation's due held rows again and release, hold or cancel them. Commits."""
    now = now or contact_gate.utcnow()
    outbox.begin_write(session)
    rows = held_rows(session, conversation_id, now)
    if not rows:
        session.rollback()
        return Released()
    conversation = session.get(Conversation, conversation_id)
    assert conversation is not None  # rows reference it
    debtor = session.get(Debtor, conversation.debtor_id) if conversation.debtor_id else None
    reason = _cancel_reason(session, debtor, rows)
    if reason:
        if not _move(session, rows, now, status=CANCELLED, error_code=reason[:10]):
            return Released()
        session.commit()
        log.info("held messages %s cancelled at release: %s", [r.id for r in rows], reason)
        return Released(cancelled=len(rows))
    first = rows[0]
    overridden = all(r.contact_kind == contact_gate.OVERRIDE for r in rows)
    gate = contact_gate.check(session, conversation, debtor, first.author, first.channel, override=overridden, now=now)
    if not gate.send_now:
        if not _move(session, rows, now, hold_until=gate.hold_until):
            return Released()
        session.commit()
        return Released(held_again=len(rows))
    free_form_whatsapp = [r for r in rows if r.channel == "whatsapp" and not r.content_sid]
    if free_form_whatsapp and not outbox.in_whatsapp_window(conversation, now):
        if not _move(session, rows, now, status=CANCELLED, error_code="rerouted"):
            return Released()
        body = "\n".join(r.body for r in free_form_whatsapp)
        offered = next((r.choices for r in reversed(free_form_whatsapp) if r.choices), None)  # numbered on SMS
        new = outbox.prepare_text(
            session,
            conversation,
            body,
            author=first.author,
            agent_id=first.agent_id,
            force=True,
            now=now,
            gate=gate,
            choices=offered,
        )
        session.commit()
        return Released(sent=sum(1 for m in new if m.status == "pending"), cancelled=len(rows))
    if not _move(session, rows, now, status="pending", contact_kind=gate.kind):
        return Released()
    session.commit()
    return Released(sent=len(rows))


def _held_group(session: Session, message_id: int, conversation_id: int) -> list[Message]:
    """The held message and the rows prepared with it (an SMS split in parts shares its hold and author)."""
    message = session.get(Message, message_id)
    if message is None or message.conversation_id != conversation_id or message.status != "held":
        raise HeldError("Ese mensaje ya no está retenido.")
    return [
        r
        for r in held_rows(session, conversation_id)
        if r.hold_until == message.hold_until and r.agent_id == message.agent_id and r.author == message.author
    ]


def cancel(session: Session, conversation_id: int, message_id: int) -> list[Message]:
    """The agent takes back a held message before it goes (the caller audits and commits)."""
    rows = _held_group(session, message_id, conversation_id)
    if not _move(session, rows, None, status=CANCELLED, error_code="by_agent"):
        raise HeldError("Ese mensaje ya no está retenido.")
    return rows


def edit(session: Session, conversation_id: int, message_id: int, body: str) -> list[Message]:
    """Replace a held message's text: the old rows are cancelled and the new text passes the gate again
    (so it goes when the window opens, as the old one would have). The caller audits and commits."""
    rows = _held_group(session, message_id, conversation_id)
    first = rows[0]
    if not _move(session, rows, None, status=CANCELLED, error_code="edited"):
        raise HeldError("Ese mensaje ya no está retenido.")
    conversation = session.get(Conversation, conversation_id)
    assert conversation is not None
    # never ``reply``: an edited bot or system notice is not an answer in the debtor's turn, so it is gated again
    return outbox.prepare_text(session, conversation, body, author=first.author, agent_id=first.agent_id)
