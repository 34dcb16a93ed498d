"""Dates read from the debtor's turn, for the two features that ask for a day: a promise to pay and a
due-date change. Both read "el viernes", a tagged date or a date buried in the message the same way, so
the reading lives here, over the pure text functions of ``actions.parsing``, rather than in one of them."""

from __future__ import annotations

from datetime import date

from actions import parsing
from actions.base import Ctx


def entity_date(ctx: Ctx, entity: str, today: date) -> date | None:
    """The entity's span first, then its value (a normaliser may have rewritten it)."""
    for text in (ctx.turn.entity_text(entity), ctx.turn.entity(entity)):
        if text:
            found = parsing.resolve_date(str(text), today, ctx.debtor.timezone)
            if found is not None:
                return found
    return None


def message_date(ctx: Ctx, today: date) -> date | None:
    """A date from the whole message when the NLU tagged none; in a message that also tells a reason, today is
    the bad news ("hoy me despidieron"), not the date asked for."""
    return parsing.scan_date(
        ctx.turn.text, today, ctx.debtor.timezone, allow_today="report_nonpayment_reason" not in ctx.turn.intents
    )
