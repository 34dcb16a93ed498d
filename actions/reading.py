"""Dates and amounts read from the debtor's turn, for the features that ask for a day or an amount: a promise to
pay and a due-date change. Which of a message's dates and amounts is the payment's (not the hardship's length,
not what is owed) is decided by ``bot.language.payment_terms``; this layer only hands it the turn's text, the
spans the NLU tagged and the resolvers of ``actions.parsing``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from actions import parsing
from actions.base import Ctx
from bot.language import payment_terms


def _tagged(ctx: Ctx, entity: str) -> list[payment_terms.Tagged]:
    """Every span the NLU tagged as ``entity`` (the turn already left out durations and the past), as written
    and then as normalised."""
    out = []
    for ent in ctx.turn.entities:
        if ent.get("entity") != entity or ent.get("value") in (None, ""):
            continue
        start, end = ent.get("start"), ent.get("end")
        spanned = isinstance(start, int) and isinstance(end, int) and bool(ctx.turn.text)
        said = ctx.turn.text[start:end] if spanned else None
        out.append(
            payment_terms.Tagged(
                start if spanned else None,
                end if spanned else None,
                tuple(t for t in (said, str(ent.get("value"))) if t),
            )
        )
    return out


def entity_date(ctx: Ctx, entity: str, today: date) -> date | None:
    """The tagged date tied to the payment ("llevo una semana sin trabajo pero el viernes le pago": Friday), else
    the first tagged date that reads as one; None when nothing was tagged."""
    tagged = _tagged(ctx, entity)
    if not tagged:
        return None
    return payment_terms.payment_date(
        ctx.turn.text or "",
        today,
        ctx.debtor.timezone,
        tagged=tagged,
        resolve=lambda said: parsing.resolve_date(said, today, ctx.debtor.timezone),
    )


def message_date(ctx: Ctx, today: date) -> date | None:
    """A date from the whole message when the NLU tagged none; in a message that also tells a reason, today is
    the bad news ("hoy me despidieron"), not the date asked for, unless it sits beside the payment verb."""
    return payment_terms.payment_date(
        ctx.turn.text or "",
        today,
        ctx.debtor.timezone,
        allow_today="report_nonpayment_reason" not in ctx.turn.intents,
    )


def promised_amount(ctx: Ctx, balance: Decimal, currency: str) -> Decimal | None:
    """The amount the debtor says they will pay: the tagged or written money beside the payment verb first, never
    a count of months or days, nor what they say they owe ("debo 800 mil pero le abono 200 mil")."""
    return payment_terms.payment_amount(
        ctx.turn.text or "",
        balance,
        currency,
        tagged=_tagged(ctx, "amount"),
        resolve=lambda said: parsing.resolve_amount(said, balance, currency),
    )
