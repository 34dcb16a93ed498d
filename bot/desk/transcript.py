"""The conversation view: the hand-off's conversation, its messages as agents see them, and the notes.

Bodies are shown masked (``display.shown_body``) and media only as https links: what the console renders
never carries a card number, an identity answer or a script.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.desk import display
from bot.messaging.twilio_messages import safe_media_url
from bot.store.models import AgentNote, Conversation, Handoff, Message, User


def conversation(session: Session, handoff: Handoff) -> Conversation | None:
    return session.get(Conversation, handoff.conversation_id) if handoff.conversation_id else None


def transcript(session: Session, conversation_id: int, after_id: int = 0) -> list[Message]:
    """The whole conversation (debtor, bot, agent), oldest first; only what came after ``after_id``."""
    return list(
        session.execute(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.id > after_id)
            .order_by(Message.created_at, Message.id)
        ).scalars()
    )


def message_dict(
    message: Message, agents: dict[int, str] | None = None, media_url: Callable[[int, int], str] | None = None
) -> dict[str, Any]:
    """``media_url(message_id, index)``: where the page shows a debtor's file (the console's media view, which fetches
    it with the provider's credentials); without it, the stored URL."""
    # https only, whatever was stored before ingest checked it: a javascript: or data: URL never becomes a link
    media = [
        (i, m)
        for i, m in enumerate(message.media or [])
        if isinstance(m, dict) and safe_media_url(str(m.get("url") or ""))
    ]
    return {
        "id": message.id,
        "direction": message.direction,
        "author": message.author,
        "author_label": {"debtor": "Deudor", "bot": "Bot", "agent": "Agente", "system": "Sistema"}.get(
            message.author, message.author
        ),
        "agent_name": (agents or {}).get(message.agent_id) if message.agent_id else None,
        "channel": message.channel,
        "body": display.shown_body(message),
        "status": message.status,
        "status_label": display.MESSAGE_STATUS_LABELS.get(message.status, message.status),
        "error_code": message.error_code,
        "template": bool(message.content_sid),
        "media": [
            {
                "url": media_url(message.id, i) if media_url else m["url"],
                "content_type": m.get("content_type") or "",
                "image": str(m.get("content_type") or "").startswith("image/"),
            }
            for i, m in media
        ],
        "created_at": display.iso(message.created_at),
        # the options the bot offered with it (WhatsApp buttons, numbered SMS lines), and whether the debtor tapped one
        "choices": [str(o.get("title") or "") for o in message.choices or [] if isinstance(o, dict)],
        "tapped": bool(message.button_payload),
        # held by the contact rules: goes at this moment (UTC ISO) unless the agent cancels or edits it
        "hold_until": display.iso(message.hold_until) if message.status == "held" else None,
    }


def outbound_statuses(session: Session, conversation_id: int, limit: int = 50) -> dict[str, str]:
    """The delivery status of the conversation's latest outbound messages (they move after sending)."""
    rows = session.execute(
        select(Message.id, Message.status)
        .where(Message.conversation_id == conversation_id, Message.direction == "out")
        .order_by(Message.id.desc())
        .limit(limit)
    ).all()
    return {str(i): display.MESSAGE_STATUS_LABELS.get(st, st) for i, st in rows}


def agent_names(session: Session, messages: list[Message]) -> dict[int, str]:
    ids = {m.agent_id for m in messages if m.agent_id}
    if not ids:
        return {}
    return {u.id: u.name or u.username for u in session.execute(select(User).where(User.id.in_(ids))).scalars()}


def notes(session: Session, handoff: Handoff) -> list[AgentNote]:
    """Internal notes about the debtor (this hand-off and earlier ones), oldest first."""
    where = AgentNote.debtor_id == handoff.debtor_id if handoff.debtor_id else AgentNote.handoff_id == handoff.id
    return list(session.execute(select(AgentNote).where(where).order_by(AgentNote.id)).scalars())
