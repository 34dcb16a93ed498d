"""Balance: what is owed, per invoice, with due dates, in the debtor's own money format."""

from __future__ import annotations

from actions.base import PENDING_CONFIRMATION, Ctx, invoice_title
from bot.billing import accounts


def show_balance(ctx: Ctx) -> None:
    if not ctx.require_verified("check_balance"):
        return
    views = accounts.owed(ctx.session, ctx.debtor, ctx.today)
    if not views:
        ctx.utter("utter_no_debt")
        return
    lines = []
    for v in views:
        template = "utter_balance_line_overdue" if v.days_overdue > 0 else "utter_balance_line_due"
        lines.append(
            ctx.render(template, invoice=invoice_title(v), amount=ctx.money(v.balance, v.currency), due_date=v.due_date)
        )
    totals = accounts.totals(views)
    total = " + ".join(ctx.money(amount, currency) for currency, amount in totals.items())
    if len(views) == 1:
        ctx.utter("utter_balance_single", line=lines[0], total=total)
    else:
        ctx.utter("utter_balance_many", lines="\n".join(lines), total=total)
    if ctx.turn.intents and ctx.turn.intents[-1] != "check_balance":
        return  # "cuánto debo? me pasás el link", "…y el viernes le pago": what follows comes next, not the question
    ctx.utter("utter_offer_payment_link")
    ctx.set(PENDING_CONFIRMATION, "payment_link")
