"""Promise to pay: a date in the debtor's time zone and an amount (default the balance),
checked against the policy, confirmed by the debtor, then stored (one open per invoice)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from actions import choices, parsing, reading
from actions.base import AWAITING, PENDING_CONFIRMATION, Ctx, first_open_invoice
from bot.billing import payment_plans, promises
from bot.language.text import normalise


def propose_promise(ctx: Ctx) -> None:
    invoice = ctx.open_invoice_for("promise_to_pay")
    if invoice is None:
        return
    today = ctx.today
    limit = promises.latest_date(today)
    date_text = ctx.turn.entity_text("date") or ctx.turn.entity("date")
    when = reading.entity_date(ctx, "date", today)
    if when is None and ctx.slot(AWAITING) == "promise_date" and ctx.turn.text:
        when = parsing.resolve_date(ctx.turn.text, today, ctx.debtor.timezone)
    if when is None and not date_text:
        when = reading.message_date(ctx, today)
    if when is None and not date_text and ctx.slot("promise_date"):
        when = date.fromisoformat(ctx.slot("promise_date"))
    amount = reading.promised_amount(ctx, invoice.balance, invoice.currency)
    if amount is None and ctx.slot("promise_amount") and ctx.slot(PENDING_CONFIRMATION) == "promise":
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


# the second part of a split payment, named in the same message as the first
REST_LATER = re.compile(r"\b(?:la otra mitad|el resto|lo demas|lo que falta|lo que queda|la otra parte)\b")


def _instalment_due(ctx: Ctx, invoice) -> Decimal | None:
    """With a payment plan running, "le pago el 20" is about the next instalment, not the whole balance."""
    instalment = payment_plans.next_instalment(ctx.session, invoice.id)
    return instalment.amount if instalment is not None else None


def confirm_promise(ctx: Ctx) -> None:
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
