"""Identity: the last 4 digits of the document before anything about a debt is disclosed.

Wrong answers and the lock live in the store (``bot.conversation.identity``); the ``identity_locked`` slot only
mirrors them for the turn (``RecobraAction.work`` refreshes it), so waiting for the conversation
session to expire does not buy new guesses.
"""

from __future__ import annotations

from actions.common import ATTEMPTS, AWAITING, LOCKED, VERIFIED, Ctx, RecobraAction


def verify(ctx: Ctx) -> None:
    from bot.conversation import identity

    if ctx.verified:
        ctx.utter("utter_anything_else")
        return
    if ctx.slot(LOCKED):
        ctx.utter("utter_identity_locked")
        ctx.hand_off_locked()
        return
    answer = ctx.turn.entity("document_digits") or ctx.turn.text
    if identity.extract_digits(str(answer)) is None:
        ctx.utter("utter_identity_need_digits")
        ctx.set(AWAITING, "document_digits")
        return
    result = identity.verify(ctx.session, ctx.debtor, str(answer))
    if result.ok:
        from actions.routing import carry_out_pending

        ctx.set(VERIFIED, True)
        ctx.set(ATTEMPTS, 0)
        ctx.set(AWAITING, None)
        ctx.utter("utter_identity_verified")
        carry_out_pending(ctx)
    elif result.locked:
        ctx.set(LOCKED, True)
        ctx.set(ATTEMPTS, result.attempts)
        ctx.set(AWAITING, None)
        ctx.hand_off_locked()
        # no digits on file: nothing the debtor typed was wrong, so do not say it was
        ctx.utter("utter_identity_unavailable_handoff" if result.unavailable else "utter_identity_locked_handoff")
    else:
        ctx.set(ATTEMPTS, result.attempts)
        ctx.set(AWAITING, "document_digits")
        ctx.utter(
            "utter_identity_wrong_last" if result.remaining == 1 else "utter_identity_wrong", remaining=result.remaining
        )


class ActionVerifyIdentity(RecobraAction):
    def name(self) -> str:
        return "action_verify_identity"

    def handle(self, ctx: Ctx) -> None:
        verify(ctx)
