"""The phones of erased debtors, as digests: a number pushed again after its owner asked to be erased is recognised
and never contacted by a campaign.

A plain SHA-256 of the E.164 number (with a fixed prefix), not a keyed hash: a key could be lost or rotated with the
other generated secrets, and the list would silently stop matching. The digest is a pseudonym, not anonymous
data (anyone holding the store can test a given number against it); it is the least that honours the request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.models import ErasedPhone

_PREFIX = b"recobra:erased-phone:"


def digest(phone: str) -> str:
    return hashlib.sha256(_PREFIX + phone.strip().encode()).hexdigest()


def add(session: Session, phone: str, at: datetime) -> None:
    """Remember ``phone`` (idempotent)."""
    value = digest(phone)
    if session.execute(select(ErasedPhone.id).where(ErasedPhone.digest == value)).first() is None:
        session.add(ErasedPhone(digest=value, erased_at=at))


def is_erased(session: Session, phone: str | None) -> bool:
    if not phone:
        return False
    return session.execute(select(ErasedPhone.id).where(ErasedPhone.digest == digest(phone))).first() is not None


def all_digests(session: Session) -> frozenset[str]:
    """Every digest, for a planner that checks many phones at once (the list grows with erasures only)."""
    return frozenset(session.execute(select(ErasedPhone.digest)).scalars())


def erased_among(digests: frozenset[str], phones: Iterable[str]) -> set[str]:
    if not digests:
        return set()
    return {p for p in phones if digest(p) in digests}
