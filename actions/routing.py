"""Which handler carries out a request, by intent name, so that a request made before the
identity check can be carried out right after it (multi-intents: each part in order)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from actions.common import PENDING_REQUEST, Ctx


def handlers() -> dict[str, Callable[[Ctx], None]]:
    from actions import balance, due_dates, handoff, misc, payment_links, payment_plans, promises, reasons

    return {
        "check_balance": balance.show_balance,
        "request_payment_link": payment_links.send_link,
        "ask_payment_methods": payment_links.payment_methods,
        "report_nonpayment_reason": reasons.record_reason,
        "promise_to_pay": promises.propose_promise,
        "request_due_date_change": due_dates.request_change,
        "request_payment_plan": payment_plans.offer_plan,
        "choose_plan": payment_plans.choose_plan,
        "claim_already_paid": handoff.claim_paid,
        "dispute_debt": handoff.dispute,
        "confirm_pending": misc.confirm_pending,
        "inform": misc.process_inform,
    }


def carry_out_pending(ctx: Ctx) -> None:
    """After a successful identity check: do what the debtor asked for (default: the balance)."""
    request = ctx.slot(PENDING_REQUEST) or "check_balance"
    saved = ctx.slot("pending_entities") or {}
    ctx.set(PENDING_REQUEST, None)
    ctx.set("pending_entities", None)
    turn = replace(ctx.turn, intent=request, text=saved.get("text") or "", entities=saved.get("entities") or [])
    inner = Ctx(ctx.session, ctx.debtor, turn, ctx.out)
    table = handlers()
    for part in request.split("+"):
        handler = table.get(part)
        if handler is not None:
            handler(inner)
