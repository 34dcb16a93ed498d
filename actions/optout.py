"""Opt-out of automated messages, and the wrong number: both recorded, nothing disclosed."""

from __future__ import annotations

from actions.base import PENDING_CONFIRMATION, Ctx
from bot.conversation import contact, optout


def opt_out(ctx: Ctx) -> None:
    """A number we do not know may opt out too: it is recorded, nothing disclosed."""
    if ctx.debtor is not None:
        optout.opt_out(ctx.session, ctx.debtor, channel=ctx.turn.metadata.get("channel"), text=ctx.turn.text)
    ctx.set(PENDING_CONFIRMATION, None)
    ctx.utter("utter_opted_out")


def mark_wrong_number(ctx: Ctx) -> None:
    if ctx.debtor is not None:
        contact.mark_wrong_number(ctx.session, ctx.debtor, ctx.turn.sender_id)
    ctx.set(PENDING_CONFIRMATION, None)
    ctx.utter("utter_wrong_number", first_name="")
