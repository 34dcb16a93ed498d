"""Due-date change within policy: approved changes move the invoice's due date (the old one is
recorded); refusals say why and offer a person."""

from __future__ import annotations

from datetime import date

from actions import choices, parsing, reading
from actions.base import AWAITING, PENDING_CONFIRMATION, Ctx, first_open_invoice
from bot.billing import due_dates, promises
from bot.language.dates import more_time
from bot.language.payment_terms import day_moved_to, without_hardship


def _refuse(ctx: Ctx, reason: str, latest: date | None, invoice=None, new_date: date | None = None) -> None:
    ctx.set(AWAITING, None)
    offers_promise = reason in PROMISE_INSTEAD and invoice is not None and new_date is not None
    if offers_promise and _offer_promise(ctx, invoice, new_date):
        ctx.utter(f"utter_due_date_refused_{reason}")
        ctx.utter(
            "utter_offer_promise_instead",
            amount=ctx.money(invoice.balance, invoice.currency),
            date=new_date,
            buttons=[*choices.YES_NO, choices.HUMAN],
        )
        return
    ctx.set(PENDING_CONFIRMATION, "handoff")  # "sí" now means: a person, please
    ctx.set("handoff_reason", "due_date_refused")
    if reason in ("date_too_soon", "not_later", "too_far") and latest is not None:
        # another date (typed), or a person (tapped)
        ctx.utter(f"utter_due_date_refused_{reason}", latest_date=latest, buttons=[choices.HUMAN])
        ctx.set(AWAITING, "due_date")
        return
    ctx.utter(f"utter_due_date_refused_{reason}")
    ctx.utter("utter_offer_human")


# refusals about the invoice, not the day asked for: paying on that day can still be a promise
PROMISE_INSTEAD = ("too_overdue", "too_many_changes")


def _offer_promise(ctx: Ctx, invoice, when: date) -> bool:
    """Ready a promise to pay the balance on ``when`` if the promise policy allows that day; the debtor's
    "sí" then records it (as the promise flow's own confirmation does)."""
    try:
        terms = promises.validate(invoice, when, None, ctx.today)
    except promises.PromiseError:
        return False
    ctx.set("promise_date", terms.promised_date.isoformat())
    ctx.set("promise_amount", str(terms.amount))
    ctx.set(PENDING_CONFIRMATION, "promise")
    return True


def _more_time(ctx: Ctx, invoice, today: date) -> date | None:
    """ "me da 5 días más?": five days after the current due date (after today, if it has passed)."""
    return more_time(without_hardship(ctx.turn.text or ""), max(invoice.due_date, today))


def request_change(ctx: Ctx) -> None:
    invoice = ctx.open_invoice_for("request_due_date_change")
    if invoice is None:
        return
    today = ctx.today
    date_text = ctx.turn.entity_text("date") or ctx.turn.entity("date")
    new_date = _more_time(ctx, invoice, today) or reading.entity_date(ctx, "date", today)
    if new_date is None and not date_text and ctx.slot(AWAITING) == "due_date" and ctx.turn.text:
        date_text = ctx.turn.text
        new_date = parsing.resolve_date(date_text, today, ctx.debtor.timezone)
    if new_date is None and not date_text:
        new_date = reading.message_date(ctx, today) or day_moved_to(ctx.turn.text or "", today, ctx.debtor.timezone)
    decision = due_dates.check(ctx.session, invoice, new_date, today)
    if decision.approved:
        ctx.set("new_due_date", new_date.isoformat())
        ctx.set(AWAITING, None)
        ctx.set(PENDING_CONFIRMATION, "due_date")
        ctx.name_the_invoice(invoice)
        ctx.utter("utter_confirm_due_date", old_date=decision.old_date, new_date=new_date)
    elif decision.reason == "date_missing":
        ctx.utter(
            "utter_due_date_unclear" if date_text else "utter_ask_new_due_date",
            due_date=invoice.due_date,
            latest_date=decision.latest_date,
        )
        ctx.set(AWAITING, "due_date")
    else:
        _refuse(ctx, decision.reason or "not_open", decision.latest_date, invoice, new_date)


def confirm_change(ctx: Ctx) -> None:
    invoice = first_open_invoice(ctx)
    if invoice is None or not ctx.slot("new_due_date"):
        ctx.utter("utter_anything_else")
        return
    new_date = date.fromisoformat(ctx.slot("new_due_date"))
    decision = due_dates.apply(ctx.session, ctx.debtor, invoice, new_date, ctx.today)
    ctx.set("new_due_date", None)
    if decision.approved:
        ctx.utter("utter_due_date_changed", old_date=decision.old_date, new_date=new_date)
    else:
        _refuse(ctx, decision.reason or "not_open", decision.latest_date)
