"""Whether the person on a debtor's phone has proved who they are, seen from outside Rasa.

Rasa keeps it in the slot ``verified``, which lasts one conversation session: a session ends after
``session_expiration_time`` minutes without a message from the debtor (``domain/session.yml``) and no slot
is carried over. Messages that start outside a conversation (payment results, certificates) must not tell
anything about the debt to a phone that may not be the debtor's any more, so they ask the same question:
did the debtor answer the identity question (the audit log's ``identity_verified``, recorded by
``bot.conversation.identity.verify``) in the session that is still open on their phone's conversation?
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.platform.config import ROOT
from bot.store.models import AuditLog, Conversation, Debtor, Message

SESSION_FILE = ROOT / "domain" / "session.yml"
DEFAULT_SESSION_MINUTES = 60


@lru_cache(maxsize=1)
def session_minutes() -> float:
    """Rasa's session expiration time, in minutes (the domain's ``session_config``)."""
    try:
        config = (yaml.safe_load(SESSION_FILE.read_text(encoding="utf-8")) or {}).get("session_config") or {}
        return float(config.get("session_expiration_time", DEFAULT_SESSION_MINUTES))
    except (OSError, ValueError, yaml.YAMLError):
        return DEFAULT_SESSION_MINUTES


def verified_conversation(session: Session, debtor: Debtor, now: datetime | None = None) -> bool:
    """True when the debtor passed the identity check in the conversation session still open on their phone.

    The latest ``identity_verified`` of the debtor counts only if it was answered from this phone's
    conversation and the session has not expired since: every message of the debtor from the one that
    verified until now less than a session apart, the last one less than a session ago."""
    now = now or datetime.now(timezone.utc)
    gap = timedelta(minutes=session_minutes())
    verified_at = session.execute(
        select(AuditLog.created_at)
        .where(
            AuditLog.action == "identity_verified",
            AuditLog.target_type == "debtor",
            AuditLog.target_id == str(debtor.id),
            AuditLog.created_at <= now,
        )
        .order_by(AuditLog.created_at.desc())
        .limit(1)
    ).scalar()
    if verified_at is None:
        return False
    conversation = session.execute(select(Conversation).where(Conversation.phone == debtor.phone)).scalar_one_or_none()
    if conversation is None or conversation.debtor_id not in (None, debtor.id):
        return False
    times = list(
        session.execute(
            select(Message.created_at)
            .where(
                Message.conversation_id == conversation.id,
                Message.direction == "in",
                Message.created_at >= verified_at - gap,
                Message.created_at <= now,
            )
            .order_by(Message.created_at)
        ).scalars()
    )
    answered = [t for t in times if t <= verified_at]
    if not answered:
        return False  # verified from another phone: this one has not proved anything
    previous = answered[-1]
    for at in times[len(answered) :] + [now]:
        if at - previous > gap:
            return False  # the session expired in between: Rasa forgot the check, so do we
        previous = at
    return True
