"""Who may act on a hand-off: the agent who claimed it, or a supervisor stepping in.

Every command checks here first and raises ``DeskError`` (a message for the agent, in Spanish) when the
agent may not act; the console shows the message and changes nothing.
"""

from __future__ import annotations

from bot.store.models import Handoff, User

SUPERVISORS = ("manager", "admin")


class DeskError(ValueError):
    """Something the agent asked for that cannot be done; the message is for the agent (Spanish)."""


def can_act(handoff: Handoff, user: User) -> bool:
    """Only who claimed the hand-off acts on it (a manager or admin may step in)."""
    if handoff.status != "claimed":
        return False
    return handoff.claimed_by == user.id or user.role in SUPERVISORS


def check_can_act(handoff: Handoff, user: User) -> None:
    if handoff.status == "closed":
        raise DeskError("Esta conversación ya se cerró.")
    if handoff.status == "open":
        raise DeskError("Primero toma la conversación.")
    if not can_act(handoff, user):
        raise DeskError("Otra persona atiende esta conversación.")


def check_can_end(handoff: Handoff, user: User) -> None:
    if handoff.status == "closed":
        raise DeskError("Esta conversación ya se cerró.")
    if handoff.status == "open" and user.role not in SUPERVISORS:
        raise DeskError("Primero toma la conversación.")
    if handoff.status == "claimed" and not can_act(handoff, user):
        raise DeskError("Otra persona atiende esta conversación.")
