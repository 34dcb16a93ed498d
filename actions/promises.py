"""Promise to pay: a date in the debtor's time zone and an amount (default the balance),
checked against the policy, confirmed by the debtor, then stored (one open per invoice).

With several invoices open, the promise is about the ones the debtor names ("le pago la de noviembre el 20");
naming none, a promise of the whole balance covers them all (one promise each), and a part of it ("le pago 100 mil
el viernes") makes the bot ask which one. A promise over several invoices splits its amount by the payments' rule:
oldest due first (``bot.billing.payment_links``)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from actions import choices, parsing, reading
from actions.base import (
    AWAITING,
    CHOSEN_INVOICES,
    PENDING_CONFIRMATION,
    Ctx,
    chosen_invoices,
    first_open_invoice,
    invoice_title,
)
from bot.billing import payment_plans, promises
from bot.billing.countries import join_words
from bot.language.text import normalise


def propose_promise(ctx: Ctx) -> None:
    invoices = ctx.open_invoices_for("promise_to_pay")
    if not invoices:
        return
    chosen = ctx.named_invoices(invoices)
    if not chosen:
        same = [inv for inv in invoices if inv.currency == invoices[0].currency]
        total = sum((inv.balance for inv in same), Decimal("0.00"))
        amount = reading.promised_amount(ctx, total, same[0].currency)
        if len(same) > 1 and amount is not None and amount < total:
            ctx.ask_which_invoice("promise_to_pay", invoices, everything=True)  # a part of the debt: of which?
            return
        chosen = same
    ctx.set(CHOSEN_INVOICES, [inv.external_id for inv in chosen])
    if len(chosen) > 1:
        _propose_for_several(ctx, chosen)
        return
    invoice = chosen[0]
    today = ctx.today
    limit = promises.latest_date(today)
    when, date_text = _promise_date(ctx, today)
    amount = reading.promised_amount(ctx, invoice.balance, invoice.currency)
    if amount is None and ctx.slot("promise_amount") and _amount_still_said(ctx):
        amount = Decimal(ctx.slot("promise_amount"))
    if amount is None:
        amount = _instalment_due(ctx, invoice)
    if when is None:
        ctx.utter("utter_promise_date_unclear" if date_text else "utter_ask_promise_date", max_date=limit)
        ctx.set(AWAITING, "promise_date")
        if amount is not None:
            ctx.set("promise_amount", str(amount))
        return
    try:
        terms = promises.validate(invoice, when, amount, today)
    except promises.PromiseError as err:
        ctx.set(AWAITING, "promise_date")
        ctx.set(PENDING_CONFIRMATION, None)
        if err.code == "date_in_past":
            ctx.utter("utter_promise_date_past", max_date=limit)
        elif err.code == "date_too_far":
            # "¿le sirve algún día antes? si no, un plan": the day is typed; the plan is the one choice to tap
            ctx.utter("utter_promise_date_too_far", max_date=limit, buttons=[choices.PLAN])
            ctx.set(PENDING_CONFIRMATION, "plan_offer")
        elif err.code == "amount_too_high":
            ctx.utter("utter_promise_amount_too_high", balance=ctx.money(invoice.balance, invoice.currency))
            ctx.set(AWAITING, None)
        else:
            ctx.utter("utter_promise_amount_invalid")
        return
    ctx.set("promise_date", terms.promised_date.isoformat())
    ctx.set("promise_amount", str(terms.amount))
    ctx.set(AWAITING, None)
    ctx.set(PENDING_CONFIRMATION, "promise")
    ctx.name_the_invoice(invoice)
    if terms.amount < invoice.balance and REST_LATER.search(normalise(ctx.turn.text or "")):
        ctx.utter("utter_promise_rest_later")  # "la mitad el viernes y la otra mitad el 20": one promise at a time
    ctx.utter("utter_confirm_promise", amount=ctx.money(terms.amount, terms.currency), date=terms.promised_date)


def _amount_still_said(ctx: Ctx) -> bool:
    """The amount said before still stands: the promise read back is being corrected, or its day was asked for."""
    return ctx.slot(PENDING_CONFIRMATION) == "promise" or ctx.slot(AWAITING) == "promise_date"


def _promise_date(ctx: Ctx, today: date) -> tuple[date | None, str | None]:
    date_text = ctx.turn.entity_text("date") or ctx.turn.entity("date")
    when = reading.entity_date(ctx, "date", today)
    if when is None and ctx.slot(AWAITING) == "promise_date" and ctx.turn.text:
        when = parsing.resolve_date(ctx.turn.text, today, ctx.debtor.timezone)
    if when is None and not date_text:
        when = reading.message_date(ctx, today)
    if when is None and not date_text and ctx.slot("promise_date"):
        when = date.fromisoformat(ctx.slot("promise_date"))
    return when, date_text


def split_oldest_first(invoices: list, amount: Decimal) -> list[tuple[object, Decimal]]:
    """``amount`` over ``invoices`` the way a payment is applied: the oldest due first, each up to its balance."""
    out = []
    left = amount
    for inv in sorted(invoices, key=lambda i: (i.due_date, i.id)):
        share = min(left, inv.balance)
        if share > 0:
            out.append((inv, share))
        left -= share
    return out


def _propose_for_several(ctx: Ctx, invoices: list) -> None:
    """One promise over several invoices: the whole balance, or the amount said split oldest first."""
    today = ctx.today
    limit = promises.latest_date(today)
    currency = invoices[0].currency
    total = sum((inv.balance for inv in invoices), Decimal("0.00"))
    when, date_text = _promise_date(ctx, today)
    amount = reading.promised_amount(ctx, total, currency)
    if amount is None and ctx.slot("promise_amount") and _amount_still_said(ctx):
        amount = Decimal(ctx.slot("promise_amount"))
    amount = total if amount is None else amount
    if amount > total:
        ctx.utter("utter_promise_amount_too_high", balance=ctx.money(total, currency))
        return
    if when is None:
        ctx.utter("utter_promise_date_unclear" if date_text else "utter_ask_promise_date", max_date=limit)
        ctx.set(AWAITING, "promise_date")
        ctx.set("promise_amount", str(amount))
        return
    shares = split_oldest_first(invoices, amount)
    try:
        for inv, share in shares:
            promises.validate(inv, when, share, today)
    except promises.PromiseError as err:
        ctx.set(AWAITING, "promise_date")
        ctx.set(PENDING_CONFIRMATION, None)
        if err.code == "date_too_far":
            ctx.utter("utter_promise_date_too_far", max_date=limit, buttons=[choices.PLAN])
            ctx.set(PENDING_CONFIRMATION, "plan_offer")
        elif err.code == "date_in_past":
            ctx.utter("utter_promise_date_past", max_date=limit)
        else:
            ctx.utter("utter_promise_amount_invalid")
        return
    ctx.set(CHOSEN_INVOICES, [inv.external_id for inv, _ in shares])
    ctx.set("promise_date", when.isoformat())
    ctx.set("promise_amount", str(amount))
    ctx.set(AWAITING, None)
    ctx.set(PENDING_CONFIRMATION, "promise")
    covered = [inv for inv, _ in shares]
    if len(covered) > 1:
        ctx.utter("utter_promise_covers_invoices", invoices=_names(ctx, shares))
    else:
        ctx.name_the_invoice(covered[0])
    ctx.utter("utter_confirm_promise", amount=ctx.money(amount, currency), date=when)


def _names(ctx: Ctx, shares: list) -> str:
    return join_words([f"{invoice_title(inv)} ({ctx.money(share, inv.currency)})" for inv, share in shares], last="y")


# the second part of a split payment, named in the same message as the first
REST_LATER = re.compile(r"\b(?:la otra mitad|el resto|lo demas|lo que falta|lo que queda|la otra parte)\b")


def _instalment_due(ctx: Ctx, invoice) -> Decimal | None:
    """With a payment plan running, "le pago el 20" is about the next instalment, not the whole balance."""
    instalment = payment_plans.next_instalment(ctx.session, invoice.id)
    if instalment is None or instalment.plan.invoice_id is None:
        return None  # (a plan over several invoices: its instalment is no one invoice's amount)
    return instalment.amount


def confirm_promise(ctx: Ctx) -> None:
    several = chosen_invoices(ctx)
    if len(several) > 1 and ctx.slot("promise_date"):
        _confirm_for_several(ctx, several)
        return
    invoice = first_open_invoice(ctx)
    if invoice is None or not ctx.slot("promise_date"):
        ctx.utter("utter_anything_else")
        return
    when = date.fromisoformat(ctx.slot("promise_date"))
    amount = Decimal(ctx.slot("promise_amount")) if ctx.slot("promise_amount") else None
    try:
        promise = promises.create(ctx.session, ctx.debtor, invoice, when, amount, today=ctx.today)
    except promises.PromiseError:
        ctx.utter("utter_promise_date_past", max_date=promises.latest_date(ctx.today))
        ctx.set(AWAITING, "promise_date")
        return
    ctx.set("promise_date", None)
    ctx.set("promise_amount", None)
    amount = ctx.money(promise.amount, promise.currency)
    if promise.promised_date == ctx.today:  # no reminder comes before today ends: the link, now
        ctx.set(PENDING_CONFIRMATION, "payment_link")
        ctx.utter("utter_promise_saved_today", amount=amount)
        return
    ctx.utter("utter_promise_saved", amount=amount, date=promise.promised_date)


def _confirm_for_several(ctx: Ctx, invoices: list) -> None:
    """The debtor said «sí» to a promise over several invoices: one promise each, the amount split oldest first."""
    when = date.fromisoformat(ctx.slot("promise_date"))
    total = sum((inv.balance for inv in invoices), Decimal("0.00"))
    amount = Decimal(ctx.slot("promise_amount")) if ctx.slot("promise_amount") else total
    try:
        made = [
            promises.create(ctx.session, ctx.debtor, inv, when, share, today=ctx.today)
            for inv, share in split_oldest_first(invoices, min(amount, total))
        ]
    except promises.PromiseError:
        ctx.utter("utter_promise_date_past", max_date=promises.latest_date(ctx.today))
        ctx.set(AWAITING, "promise_date")
        return
    ctx.set("promise_date", None)
    ctx.set("promise_amount", None)
    said = ctx.money(sum((p.amount for p in made), Decimal("0.00")), made[0].currency)
    if when == ctx.today:
        ctx.set(PENDING_CONFIRMATION, "payment_link")
        ctx.utter("utter_promise_saved_today", amount=said)
        return
    ctx.utter("utter_promise_saved", amount=said, date=when)
