"""Identity check before anything about a debt is disclosed: the last 4 digits of the document.

Stateless about the conversation: the caller keeps how many wrong answers were given in this
conversation session and passes it in; after ``MAX_ATTEMPTS`` wrong answers disclosure is locked.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot import audit
from bot.store.models import Debtor

MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class VerificationResult:
    ok: bool
    attempts: int  # wrong answers so far, this one included
    locked: bool
    remaining: int
    unavailable: bool = False  # the store has no document digits for this debtor


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


def verify(session: Session, debtor: Debtor, answer: str | None, attempts: int = 0) -> VerificationResult:
    """Check ``answer`` against the debtor's document; ``attempts`` = wrong answers before this one."""
    if attempts >= MAX_ATTEMPTS:
        return VerificationResult(ok=False, attempts=attempts, locked=True, remaining=0)
    expected = debtor.document_last4
    if not expected:
        audit.record(session, actor="bot", action="identity_unavailable", target_type="debtor", target_id=debtor.id)
        return VerificationResult(ok=False, attempts=attempts, locked=True, remaining=0, unavailable=True)
    digits = extract_digits(answer) or ""
    if len(digits) == 4 and hmac.compare_digest(digits, expected):
        audit.record(session, actor="bot", action="identity_verified", target_type="debtor", target_id=debtor.id,
                     details={"attempts": attempts + 1})
        return VerificationResult(ok=True, attempts=attempts, locked=False, remaining=MAX_ATTEMPTS - attempts)
    attempts += 1
    locked = attempts >= MAX_ATTEMPTS
    audit.record(session, actor="bot", action="identity_locked" if locked else "identity_failed",
                 target_type="debtor", target_id=debtor.id, details={"attempts": attempts})
    return VerificationResult(ok=False, attempts=attempts, locked=locked, remaining=max(MAX_ATTEMPTS - attempts, 0))
