"""Identity: the last 4 digits of the document before anything about a debt is disclosed."""

from __future__ import annotations

from actions.common import ATTEMPTS, AWAITING, LOCKED, VERIFIED, Ctx, RecobraAction


def verify(ctx: Ctx) -> None:
    from bot import identity

    if ctx.verified:
        ctx.utter("utter_anything_else")
        return
    if ctx.slot(LOCKED):
        ctx.utter("utter_identity_locked")
        return
    answer = ctx.turn.entity("document_digits") or ctx.turn.text
    if identity.extract_digits(str(answer)) is None:
        ctx.utter("utter_identity_need_digits")
        ctx.set(AWAITING, "document_digits")
        return
    result = identity.verify(ctx.session, ctx.debtor, str(answer), int(ctx.slot(ATTEMPTS) or 0))
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
        ctx.open_handoff("failed_verification", "Tres respuestas incorrectas de los dígitos del documento")
        ctx.utter("utter_identity_locked_handoff")
    else:
        ctx.set(ATTEMPTS, result.attempts)
        ctx.set(AWAITING, "document_digits")
        ctx.utter("utter_identity_wrong_last" if result.remaining == 1 else "utter_identity_wrong",
                  remaining=result.remaining)


class ActionVerifyIdentity(RecobraAction):
    def name(self) -> str:
        return "action_verify_identity"

    def handle(self, ctx: Ctx) -> None:
        verify(ctx)
