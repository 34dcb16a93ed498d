"""Why the debtor has not paid: recorded (normalised value + own words), answered with empathy,
followed by the next step that fits the reason."""

from __future__ import annotations

from actions.common import AWAITING, PENDING_CONFIRMATION, Ctx, RecobraAction, first_open_invoice


def record_reason(ctx: Ctx) -> None:
    from bot.billing import promises
    from bot.conversation import reasons

    if not ctx.require_verified("report_nonpayment_reason"):
        return
    reason = reasons.normalise(ctx.turn.entity("reason"))
    reasons.record(ctx.session, ctx.debtor, reason, ctx.turn.text, first_open_invoice(ctx))
    ctx.set("last_reason", reason)
    ctx.utter(f"utter_reason_empathy_{reason}")
    if len(ctx.turn.intents) > 1:
        return  # the other part of the message says what comes next
    step = reasons.next_step(reason)
    if step == "dispute":
        from actions.handoff import dispute

        dispute(ctx)
    elif first_open_invoice(ctx) is None:
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
        ctx.utter("utter_offer_plan_or_promise")
        ctx.set(PENDING_CONFIRMATION, None)


class ActionRecordReason(RecobraAction):
    def name(self) -> str:
        return "action_record_reason"

    def handle(self, ctx: Ctx) -> None:
        record_reason(ctx)
