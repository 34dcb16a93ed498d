"""Identity check before anything about a debt is disclosed: the last 4 digits of the document.

Wrong answers are counted per debtor in the store (``identity_checks``), not in the conversation:
Rasa's slots reset after an hour of silence, and a count kept there could be waited out, three
guesses at a time, until the 4 digits fall. After ``MAX_ATTEMPTS`` wrong answers in a row the
debtor is locked for ``LOCK_DURATION``: no answer, not even the right one, opens the account
before then, on any channel or conversation. A right answer clears the count; so does the end of a
lock (the debtor gets ``MAX_ATTEMPTS`` fresh tries). Each further lock within ``LOCK_MEMORY`` lasts
twice the one before (up to ``MAX_LOCK``): three guesses a day would otherwise find 4 digits in a few
years of patience, here they get about forty a year once the locks reach a month.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.store import audit
from bot.store.models import AuditLog, Debtor, IdentityCheck
from bot.store.types import utcnow

MAX_ATTEMPTS = 3
LOCK_DURATION = timedelta(hours=24)
LOCK_MEMORY = timedelta(days=365)  # earlier locks within this window make the next one longer
MAX_LOCK = timedelta(days=30)


@dataclass(frozen=True)
class VerificationResult:
    ok: bool
    attempts: int  # wrong answers in a row so far, this one included
    locked: bool
    remaining: int
    unavailable: bool = False  # the store has no document digits for this debtor
    locked_until: datetime | None = None  # while locked: when the lock ends


def extract_digits(text: str | None) -> str | None:
    """The 4 digits in ``text`` ("4821", "4 8 2 1", "termina en 4821"), or None."""
    if not text:
        return None
    groups = re.findall(r"\d[\d\s.\-]*\d|\d", text)
    for group in groups:
        digits = re.sub(r"\D", "", group)
        if len(digits) == 4:
            return digits
    digits = re.sub(r"\D", "", text)
    return digits if len(digits) == 4 else None


def locked_until(session: Session, debtor: Debtor, now: datetime | None = None) -> datetime | None:
    """When the debtor's identity lock ends, or None when they are not locked."""
    check = session.get(IdentityCheck, debtor.id)
    now = now or utcnow()
    if check is None or check.locked_until is None or check.locked_until <= now:
        return None
    return check.locked_until


def verify(session: Session, debtor: Debtor, answer: str | None, now: datetime | None = None) -> VerificationResult:
    """Check ``answer`` against the debtor's document, counting a wrong one in the store."""
    now = now or utcnow()
    check = _check_for_update(session, debtor)
    if check.locked_until is not None and check.locked_until > now:
        return VerificationResult(
            ok=False, attempts=check.failures, locked=True, remaining=0, locked_until=check.locked_until
        )
    if check.locked_until is not None:  # the lock is over: fresh tries
        check.failures, check.locked_until = 0, None
    expected = debtor.document_last4
    if not expected:
        audit.record(session, actor="bot", action="identity_unavailable", target_type="debtor", target_id=debtor.id)
        return VerificationResult(ok=False, attempts=check.failures, locked=True, remaining=0, unavailable=True)
    digits = extract_digits(answer) or ""
    if len(digits) == 4 and hmac.compare_digest(digits, expected):
        audit.record(
            session,
            actor="bot",
            action="identity_verified",
            target_type="debtor",
            target_id=debtor.id,
            details={"attempts": check.failures + 1},
        )
        check.failures = 0
        return VerificationResult(ok=True, attempts=0, locked=False, remaining=MAX_ATTEMPTS)
    check.failures += 1
    check.last_failure_at = now
    locked = check.failures >= MAX_ATTEMPTS
    details: dict[str, object] = {"attempts": check.failures}
    if locked:
        until = now + lock_duration(session, debtor, now)
        check.locked_until = until
        details["locked_until"] = until.isoformat()
    entry = audit.record(
        session,
        actor="bot",
        action="identity_locked" if locked else "identity_failed",
        target_type="debtor",
        target_id=debtor.id,
        details=details,
    )
    entry.created_at = now  # the time of the answer, as the lock it may start
    session.flush()
    return VerificationResult(
        ok=False,
        attempts=check.failures,
        locked=locked,
        remaining=max(MAX_ATTEMPTS - check.failures, 0),
        locked_until=check.locked_until if locked else None,
    )


def unlock(session: Session, debtor: Debtor, actor: str, reason: str, user_id: int | None = None) -> bool:
    """End the debtor's lock now, with fresh tries: a person confirmed who they are some other way (a call, a
    branch visit). The earlier locks still count toward the next one's length. Returns False when not locked."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("say why the lock is lifted")
    check = _check_for_update(session, debtor)
    if check.locked_until is None or check.locked_until <= utcnow():
        return False
    audit.record(
        session,
        actor=actor,
        user_id=user_id,
        action="identity_unlocked",
        target_type="debtor",
        target_id=debtor.id,
        details={"was_locked_until": check.locked_until.isoformat(), "reason": reason[:500]},
    )
    check.failures, check.locked_until = 0, None
    session.flush()
    return True


def lock_duration(session: Session, debtor: Debtor, now: datetime) -> timedelta:
    """How long the next lock lasts: ``LOCK_DURATION``, doubled for each lock of the last ``LOCK_MEMORY``."""
    earlier = session.execute(
        select(func.count(AuditLog.id)).where(
            AuditLog.action == "identity_locked",
            AuditLog.target_type == "debtor",
            AuditLog.target_id == str(debtor.id),
            AuditLog.created_at >= now - LOCK_MEMORY,
        )
    ).scalar_one()
    return min(LOCK_DURATION * 2 ** min(earlier, 10), MAX_LOCK)


def _check_for_update(session: Session, debtor: Debtor) -> IdentityCheck:
    """The debtor's row, locked until the caller's transaction ends (two answers at once count twice)."""
    query = select(IdentityCheck).where(IdentityCheck.debtor_id == debtor.id).with_for_update()
    query = query.execution_options(populate_existing=True)
    check = session.execute(query).scalar_one_or_none()
    if check is not None:
        return check
    try:
        with session.begin_nested():
            session.add(IdentityCheck(debtor_id=debtor.id, failures=0))
    except IntegrityError:  # another answer created it first
        pass
    return session.execute(query).scalar_one()


__all__ = [
    "MAX_ATTEMPTS",
    "LOCK_DURATION",
    "VerificationResult",
    "extract_digits",
    "lock_duration",
    "locked_until",
    "unlock",
    "verify",
]
