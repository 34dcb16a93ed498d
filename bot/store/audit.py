"""The audit log: who looked at or changed what, kept for the legally required time."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session

from bot.store.models import AuditLog


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target_type: str | None = None,
    target_id: str | int | None = None,
    details: dict[str, Any] | None = None,
    user_id: int | None = None,
) -> AuditLog:
    entry = AuditLog(
        user_id=user_id,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        details=details or {},
    )
    session.add(entry)
    return entry


class Staff(Protocol):
    """A console or dashboard user (``User``, or the login's proxy of one)."""

    username: str
    id: int


def by_staff(
    session: Session,
    user: Staff,
    *,
    action: str,
    target_type: str | None = None,
    target_id: str | int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """What a person of the team did: their name and their user id on the line, always both."""
    return record(
        session,
        actor=user.username,
        user_id=user.id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=details,
    )
