"""Opt-out and opt-in of automated messages, recorded on the debtor and in the audit log."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy.orm import Session

from bot.store import audit
from bot.store.models import Debtor


def opt_out(session: Session, debtor: Debtor, actor: str = "bot", channel: str | None = None, text: str = "") -> bool:
    """Stop automated messages to the debtor; returns False when they had already opted out."""
    if debtor.opted_out:
        return False
    debtor.opted_out = True
    debtor.opted_out_at = datetime.now(timezone.utc)
    audit.record(
        session,
        actor=actor,
        action="opted_out",
        target_type="debtor",
        target_id=debtor.id,
        details={"channel": channel, "text": text[:500]},
    )
    return True


def opt_in(session: Session, debtor: Debtor, actor: str = "bot", channel: str | None = None) -> bool:
    if not debtor.opted_out:
        return False
    debtor.opted_out = False
    debtor.opted_out_at = None
    audit.record(
        session, actor=actor, action="opted_in", target_type="debtor", target_id=debtor.id, details={"channel": channel}
    )
    return True
