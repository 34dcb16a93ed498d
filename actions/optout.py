"""Opt-out of automated messages, and the wrong number: both recorded, nothing disclosed."""

from __future__ import annotations

from actions.common import PENDING_CONFIRMATION, Ctx, RecobraAction


class ActionOptOut(RecobraAction):
    needs_debtor = False  # a number we do not know may opt out too: it is recorded, nothing disclosed

    def name(self) -> str:
        return "action_opt_out"

    def handle(self, ctx: Ctx) -> None:
        from bot.conversation import optout

        if ctx.debtor is not None:
            optout.opt_out(ctx.session, ctx.debtor, channel=ctx.turn.metadata.get("channel"), text=ctx.turn.text)
        ctx.set(PENDING_CONFIRMATION, None)
        ctx.utter("utter_opted_out")


class ActionMarkWrongNumber(RecobraAction):
    needs_debtor = False

    def name(self) -> str:
        return "action_mark_wrong_number"

    def handle(self, ctx: Ctx) -> None:
        from bot.conversation import contact

        if ctx.debtor is not None:
            contact.mark_wrong_number(ctx.session, ctx.debtor, ctx.turn.sender_id)
        ctx.set(PENDING_CONFIRMATION, None)
        ctx.utter("utter_wrong_number", first_name="")
