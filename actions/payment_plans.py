"""Payment plans: options within policy, the debtor picks the count, confirms; the schedule is
stored and the link for the first instalment is sent."""

from __future__ import annotations

from actions import parsing
from actions.base import AWAITING, PENDING_CONFIRMATION, Ctx, first_open_invoice, invoice_title
from bot.billing import payment_links, payment_plans
from bot.billing.countries import join_words
from bot.language import asks


def offer_plan(ctx: Ctx) -> None:
    invoice = ctx.open_invoice_for("request_payment_plan")
    if invoice is None:
        return
    options = payment_plans.options(invoice.balance, invoice.currency, ctx.today)
    if not options:
        ctx.utter("utter_plan_unavailable")
        ctx.utter("utter_offer_human")
        ctx.set(PENDING_CONFIRMATION, "handoff")
        ctx.set("handoff_reason", "payment_plan")
        return
    ctx.set("plan_offer", [o.count for o in options])
    # the count the message already gives, tagged or written ("me quedé sin chamba, ¿puedo pagar en 3 cuotas?")
    tagged = ctx.turn.entity_text("installments") or ctx.turn.entity("installments")
    wanted = parsing.resolve_count(tagged) if tagged else asks.plan_count(ctx.turn.text or "")
    # any count the policy allows, offered or not (as when it is chosen from the options: ``choose_plan``)
    if wanted is not None and payment_plans.option(invoice.balance, invoice.currency, wanted, ctx.today) is not None:
        _propose(ctx, wanted)
        return
    lines = [
        ctx.render(
            "utter_plan_option_line_equal" if len(set(o.amounts)) == 1 else "utter_plan_option_line",
            count=o.count,
            other=ctx.money(o.other_amount, o.currency),
            amounts=_amounts(ctx, o),
        )
        for o in options
    ]
    ctx.utter(
        "utter_plan_options",
        total=ctx.money(invoice.balance, invoice.currency),
        lines="\n".join(lines),
        interval=payment_plans.policy().get("interval_days", 30),
        invoice=invoice_title(invoice),
    )
    ctx.set(AWAITING, "plan_count")
    ctx.set(PENDING_CONFIRMATION, None)


def _propose(ctx: Ctx, count: int) -> None:
    invoice = first_open_invoice(ctx)
    option = payment_plans.option(invoice.balance, invoice.currency, count, ctx.today)
    if option is None:
        ctx.utter("utter_plan_count_invalid", counts=_counts(ctx))
        ctx.set(AWAITING, "plan_count")
        return
    ctx.set("plan_count", count)
    ctx.set(AWAITING, None)
    ctx.set(PENDING_CONFIRMATION, "payment_plan")
    ctx.name_the_invoice(invoice)
    ctx.utter(
        "utter_confirm_plan",
        count=count,
        amounts=_amounts(ctx, option),
        first_date=option.dates[0],
        last_date=option.dates[-1],
    )


def _amounts(ctx: Ctx, option) -> str:
    """ "de $500 cada una", "la primera de $500.01 y la otra de $500", "la primera de $300 y las demás de $140"."""
    first, other = ctx.money(option.first_amount, option.currency), ctx.money(option.other_amount, option.currency)
    split = "equal" if first == other else "two" if option.count == 2 else "more"
    return ctx.render(f"utter_plan_amounts_{split}", first=first, other=other)


def _counts(ctx: Ctx) -> str:
    return join_words([str(n) for n in (ctx.slot("plan_offer") or [])])


def choose_plan(ctx: Ctx) -> None:
    if not ctx.require_verified("choose_plan"):
        return
    if first_open_invoice(ctx) is None:
        ctx.utter("utter_no_debt")
        return
    count = parsing.resolve_count(
        ctx.turn.entity_text("installments") or ctx.turn.entity("installments") or ctx.turn.text
    )
    if count is None:
        ctx.utter("utter_plan_count_invalid", counts=_counts(ctx))
        ctx.set(AWAITING, "plan_count")
        return
    _propose(ctx, count)


def confirm_plan(ctx: Ctx) -> None:
    invoice = first_open_invoice(ctx)
    count = ctx.slot("plan_count")
    if invoice is None or not count:
        ctx.utter("utter_anything_else")
        return
    try:
        plan = payment_plans.create(ctx.session, ctx.debtor, invoice, int(count), ctx.today)
    except payment_plans.PlanError:
        ctx.utter("utter_plan_unavailable")
        return
    ctx.session.flush()
    first = plan.instalments[0]
    ctx.set("plan_count", None)
    ctx.utter(
        "utter_plan_saved",
        count=plan.instalment_count,
        first=ctx.money(first.amount, plan.currency),
        first_date=first.due_date,
    )
    link, _ = payment_links.create_link(ctx.session, ctx.debtor, invoice, first.amount, instalment=first)
    ctx.utter(
        "utter_payment_link_instalment",
        amount=ctx.money(link.amount, link.currency),
        url=payment_links.link_url(link),
        invoice=invoice_title(invoice),
        expires=first.due_date,
    )
