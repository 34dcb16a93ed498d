"""Payment plans: options within policy, the debtor picks the count, confirms; the schedule is
stored and the link for the first instalment is sent.

With several invoices open, the plan is about the one the debtor names, or about several ("quiero pagar todo en
3 cuotas", "las dos", "Todas" in answer to "¿de cuál factura?"): then one plan splits their total (the policy's
limits apply to the total) and each instalment's link pays it over those invoices, oldest due first
(``bot.billing.payment_plans``, ``bot.billing.payment_links.link_for_instalment``)."""

from __future__ import annotations

from decimal import Decimal

from actions import choices, parsing
from actions.base import (
    AWAITING,
    CHOSEN_INVOICES,
    PENDING_CONFIRMATION,
    Ctx,
    chosen_invoices,
    first_open_invoice,
    invoice_title,
)
from actions.payment_links import say_instalment_link
from bot.billing import payment_links, payment_plans
from bot.billing.countries import join_words
from bot.language import asks


def offer_plan(ctx: Ctx) -> None:
    invoices = _invoices_for_plan(ctx)
    if not invoices:
        return
    total = sum((inv.balance for inv in invoices), Decimal("0.00"))
    currency = invoices[0].currency
    options = payment_plans.options(total, currency, ctx.today)
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
    if wanted is not None and payment_plans.option(total, currency, wanted, ctx.today) is not None:
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
    several = len(invoices) > 1
    ctx.utter(
        "utter_plan_options_several" if several else "utter_plan_options",
        total=ctx.money(total, currency),
        lines="\n".join(lines),
        interval=payment_plans.policy().get("interval_days", 30),
        **({"invoices": _titles(invoices)} if several else {"invoice": invoice_title(invoices[0])}),
        buttons=choices.plan_counts([o.count for o in options]),
    )
    ctx.set(AWAITING, "plan_count")
    ctx.set(PENDING_CONFIRMATION, None)


def _invoices_for_plan(ctx: Ctx) -> list:
    """The invoices the plan is about: the ones named ("todas", "las dos", "la de noviembre"), the only one open, or
    the answer to "¿de cuál factura?" (asked meanwhile, with "Todas" as the last option: empty until then). A plan
    is in one currency: invoices named in several keep the first one's."""
    invoices = ctx.open_invoices_for("request_payment_plan")
    if not invoices:
        return []
    named = ctx.named_invoices(invoices)
    if len(named) > 1:
        chosen = [inv for inv in named if inv.currency == named[0].currency]
    elif named or len(invoices) == 1:
        chosen = named or invoices
    else:
        ctx.ask_which_invoice("request_payment_plan", invoices, everything=True)
        return []
    ctx.set(CHOSEN_INVOICES, [inv.external_id for inv in chosen])
    return chosen


def plan_invoices(ctx: Ctx) -> list:
    """The invoices the plan in hand is about (chosen, still open), else the oldest open one."""
    chosen = chosen_invoices(ctx)
    if chosen:
        return [inv for inv in chosen if inv.currency == chosen[0].currency]
    first = first_open_invoice(ctx)
    return [first] if first is not None else []


def _titles(invoices: list) -> str:
    return join_words([invoice_title(inv) for inv in invoices], last="y")


def _propose(ctx: Ctx, count: int) -> None:
    invoices = plan_invoices(ctx)
    total = sum((inv.balance for inv in invoices), Decimal("0.00"))
    option = payment_plans.option(total, invoices[0].currency, count, ctx.today)
    if option is None:
        ctx.utter("utter_plan_count_invalid", counts=_counts(ctx), buttons=_count_buttons(ctx))
        ctx.set(AWAITING, "plan_count")
        return
    ctx.set("plan_count", count)
    ctx.set(AWAITING, None)
    ctx.set(PENDING_CONFIRMATION, "payment_plan")
    if len(invoices) > 1:  # what the plan covers, each invoice with its balance
        names = [f"{invoice_title(inv)} ({ctx.money(inv.balance, inv.currency)})" for inv in invoices]
        ctx.utter("utter_promise_covers_invoices", invoices=join_words(names, last="y"))
    else:
        ctx.name_the_invoice(invoices[0])
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


def _count_buttons(ctx: Ctx) -> list[choices.Button]:
    return choices.plan_counts([int(n) for n in (ctx.slot("plan_offer") or [])])


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
        ctx.utter("utter_plan_count_invalid", counts=_counts(ctx), buttons=_count_buttons(ctx))
        ctx.set(AWAITING, "plan_count")
        return
    _propose(ctx, count)


def confirm_plan(ctx: Ctx) -> None:
    invoices = plan_invoices(ctx)
    count = ctx.slot("plan_count")
    if not invoices or not count:
        ctx.utter("utter_anything_else")
        return
    try:
        plan = payment_plans.create_for_invoices(ctx.session, ctx.debtor, invoices, int(count), ctx.today)
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
    if len(invoices) > 1:
        say_instalment_link(ctx, first, invoices)
        return
    invoice = invoices[0]
    link, _ = payment_links.create_link(ctx.session, ctx.debtor, invoice, first.amount, instalment=first)
    url = payment_links.link_url(link)
    ctx.utter(
        "utter_payment_link_instalment",
        amount=ctx.money(link.amount, link.currency),
        url=url,
        invoice=invoice_title(invoice),
        expires=first.due_date,
        buttons=[choices.link_button(choices.PAY, url)],
    )
