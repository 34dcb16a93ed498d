"""Why the debtor has not paid: recorded (normalised value + own words), answered with empathy,
followed by the next step that fits the reason.

One next step, a dispute, belongs to the hand-off feature; ``record_reason`` returns the step and the
dialogue takes it (``actions.dialogue.take_reason``), so that this module imports no other feature."""

from __future__ import annotations

from actions import choices
from actions.base import AWAITING, PENDING_CONFIRMATION, Ctx, first_open_invoice
from bot.billing import promises
from bot.conversation import reasons


def record_reason(ctx: Ctx) -> str | None:
    """Record the reason and answer with empathy. Returns the next step that fits it (``reasons.next_step``),
    or None when there is none to take now (not verified yet, or the rest of the message says what comes
    next)."""
    if not ctx.require_verified("report_nonpayment_reason"):
        return None
    # the classifier's reason only as far as the words bear it out: "estoy pelado" is no job loss
    reading = reasons.read(ctx.turn.entity("reason"), ctx.turn.text)
    reason = reading.reason
    reasons.record(ctx.session, ctx.debtor, reason, ctx.turn.text, first_open_invoice(ctx))
    ctx.set("last_reason", reason)
    ctx.utter(f"utter_reason_empathy_{reading.line}")
    if len(ctx.turn.intents) > 1:
        return None  # the other part of the message says what comes next
    return reasons.next_step(reason)


def offer_next_step(ctx: Ctx, step: str) -> None:
    """After a reason: the offer that fits it (a plan, a promise date, the link), or both kinds of help."""
    if first_open_invoice(ctx) is None:
        ctx.utter("utter_no_debt")
    elif step == "payment_plan":
        ctx.utter("utter_offer_plan_question")
        ctx.set(PENDING_CONFIRMATION, "plan_offer")
    elif step == "promise":
        ctx.utter("utter_ask_promise_date", max_date=promises.latest_date(ctx.today))
        ctx.set(AWAITING, "promise_date")
    elif step == "payment_link":
        ctx.utter("utter_offer_payment_link")
        ctx.set(PENDING_CONFIRMATION, "payment_link")
    else:
        ctx.utter("utter_offer_plan_or_promise", buttons=choices.PLAN_OR_DATE)
        ctx.set(PENDING_CONFIRMATION, None)
