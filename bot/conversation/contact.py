"""The reachability of a debtor's phone, as conversations reveal it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.store import audit
from bot.store.models import Debtor


def mark_wrong_number(session: Session, debtor: Debtor, phone: str | None = None, actor: str = "bot") -> bool:
    """The person on this number is not the debtor: stop contacting it. False when already marked."""
    if debtor.contact_status == "wrong_number":
        return False
    previous = debtor.contact_status
    debtor.contact_status = "wrong_number"
    audit.record(
        session,
        actor=actor,
        action="contact_wrong_number",
        target_type="debtor",
        target_id=debtor.id,
        details={"phone": phone or debtor.phone, "previous": previous},
    )
    return True
