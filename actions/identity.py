"""Identity: the last 4 digits of the document before anything about a debt is disclosed.

Wrong answers and the lock live in the store (``bot.conversation.identity``); the ``identity_locked`` slot only
mirrors them for the turn (``RecobraAction.work`` refreshes it), so waiting for the conversation
session to expire does not buy new guesses.

What was asked before the check is carried out by the dialogue (``actions.dialogue.verify``) when
``verify`` says the check has just succeeded: this module does not know the other features.
"""

from __future__ import annotations

from actions.base import ATTEMPTS, AWAITING, LOCKED, VERIFIED, Ctx
from bot.conversation import identity


def verify(ctx: Ctx) -> bool:
    """Check the debtor's answer to the identity question and say how it went. True when this answer has
    just proved who they are: the caller then carries out what they had asked for."""
    if ctx.verified:
        ctx.utter("utter_anything_else")
        return False
    if ctx.slot(LOCKED):
        ctx.utter("utter_identity_locked")
        ctx.hand_off_locked()
        return False
    answer = ctx.turn.entity("document_digits") or ctx.turn.text
    if identity.extract_digits(str(answer)) is None:
        ctx.utter("utter_identity_need_digits")
        ctx.set(AWAITING, "document_digits")
        return False
    result = identity.verify(ctx.session, ctx.debtor, str(answer))
    if result.ok:
        ctx.set(VERIFIED, True)
        ctx.set(ATTEMPTS, 0)
        ctx.set(AWAITING, None)
        ctx.utter("utter_identity_verified")
        return True
    if result.locked:
        ctx.set(LOCKED, True)
        ctx.set(ATTEMPTS, result.attempts)
        ctx.set(AWAITING, None)
        # no digits on file: nothing the debtor typed was wrong, so do not say it was
        ctx.utter("utter_identity_unavailable_handoff" if result.unavailable else "utter_identity_locked_handoff")
        ctx.hand_off_locked()  # then, outside the team's hours, when a person will answer
    else:
        ctx.set(ATTEMPTS, result.attempts)
        ctx.set(AWAITING, "document_digits")
        ctx.utter(
            "utter_identity_wrong_last" if result.remaining == 1 else "utter_identity_wrong", remaining=result.remaining
        )
    return False
