"""Due-date change within policy: approved changes move the invoice's due date (the old one is
recorded); refusals say why and offer a person.

For several invoices ("muévame la fecha de las dos al 30", "Todas" in answer to "¿de cuál factura?") each one is
checked on its own: the read-back and the reply say which move (and to when) and which cannot and why; "sí" moves
the ones the policy allows. "5 días más" is five days after each one's own date."""

from __future__ import annotations

import json
from datetime import date

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
from bot.billing import due_dates, promises
from bot.billing.countries import join_words
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


def _new_date(ctx: Ctx, invoice, today: date) -> tuple[date | None, str | None]:
    """The day asked for (and the words, when a date was tagged or asked for): "5 días más" counts from the
    invoice's own date."""
    date_text = ctx.turn.entity_text("date") or ctx.turn.entity("date")
    new_date = _more_time(ctx, invoice, today) or reading.entity_date(ctx, "date", today)
    if new_date is None and not date_text and ctx.slot(AWAITING) == "due_date" and ctx.turn.text:
        date_text = ctx.turn.text
        new_date = parsing.resolve_date(date_text, today, ctx.debtor.timezone)
    if new_date is None and not date_text:
        new_date = reading.message_date(ctx, today) or day_moved_to(ctx.turn.text or "", today, ctx.debtor.timezone)
    return new_date, date_text


def request_change(ctx: Ctx) -> None:
    invoices = ctx.open_invoices_for("request_due_date_change")
    if not invoices:
        return
    named = ctx.named_invoices(invoices)
    if len(named) > 1:
        ctx.set(CHOSEN_INVOICES, [inv.external_id for inv in named])
        _request_for_several(ctx, named)
        return
    if not named and len(invoices) > 1:
        ctx.ask_which_invoice("request_due_date_change", invoices, everything=True)
        return
    invoice = named[0] if named else invoices[0]
    ctx.set(CHOSEN_INVOICES, [invoice.external_id])
    today = ctx.today
    new_date, date_text = _new_date(ctx, invoice, today)
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
    said = ctx.slot("new_due_date") or ""
    if said.startswith("{"):
        _confirm_for_several(ctx, json.loads(said))
        return
    invoice = first_open_invoice(ctx)
    if invoice is None or not said:
        ctx.utter("utter_anything_else")
        return
    new_date = date.fromisoformat(said)
    decision = due_dates.apply(ctx.session, ctx.debtor, invoice, new_date, ctx.today)
    ctx.set("new_due_date", None)
    if decision.approved:
        ctx.utter("utter_due_date_changed", old_date=decision.old_date, new_date=new_date)
    else:
        _refuse(ctx, decision.reason or "not_open", decision.latest_date)


# refusals about the day asked for: another day may do
DATE_REFUSALS = ("date_too_soon", "not_later", "too_far")


def _request_for_several(ctx: Ctx, invoices: list) -> None:
    """A date change for several invoices: each is checked on its own; the read-back says which move and which
    cannot and why. None moving: why for each, and another day (when the day was the trouble) or a person."""
    today = ctx.today
    asked = [(inv, *_new_date(ctx, inv, today)) for inv in invoices]
    decisions = [(inv, due_dates.check(ctx.session, inv, when, today)) for inv, when, _text in asked]
    missing = [(inv, d) for inv, d in decisions if d.reason == "date_missing"]
    if missing:  # no day (or none understood) yet: ask for it, up to the latest day every movable one allows
        latest = min(d.latest_date for _inv, d in missing if d.latest_date is not None)
        said = any(text for _inv, _when, text in asked)
        if said:
            ctx.utter("utter_due_date_unclear", latest_date=latest)
        else:
            ctx.utter(
                "utter_ask_new_due_date_several", invoices=_titles(inv for inv, _d in missing), latest_date=latest
            )
        ctx.set(AWAITING, "due_date")
        return
    moving = [(inv, d) for inv, d in decisions if d.approved]
    staying = [(inv, d) for inv, d in decisions if not d.approved]
    if not moving:
        ctx.set(PENDING_CONFIRMATION, "handoff")  # "sí" now means: a person, please
        ctx.set("handoff_reason", "due_date_refused")
        if any(d.reason in DATE_REFUSALS for _inv, d in staying):  # another day may still do for some
            ctx.utter("utter_due_dates_refused_date", lines=_lines(ctx, [], staying), buttons=[choices.HUMAN])
            ctx.set(AWAITING, "due_date")
        else:
            ctx.utter("utter_due_dates_refused", lines=_lines(ctx, [], staying))
            ctx.utter("utter_offer_human")
            ctx.set(AWAITING, None)
        return
    # every invoice asked about and its day: "sí" moves the ones the policy (still) allows, and says why not the rest
    ctx.set("new_due_date", json.dumps({inv.external_id: d.new_date.isoformat() for inv, d in decisions}))
    ctx.set(AWAITING, None)
    ctx.set(PENDING_CONFIRMATION, "due_date")
    ctx.utter("utter_confirm_due_date_several", lines=_lines(ctx, moving, staying, confirming=True))


def _confirm_for_several(ctx: Ctx, wanted: dict[str, str]) -> None:
    """ "Sí" to a date change for several invoices: each the policy (still) allows moves; one reply says which
    moved and which could not and why."""
    ctx.set("new_due_date", None)
    moved, staying = [], []
    for inv in chosen_invoices(ctx):
        if inv.external_id in wanted:
            when = date.fromisoformat(wanted[inv.external_id])
            decision = due_dates.apply(ctx.session, ctx.debtor, inv, when, ctx.today)
            (moved if decision.approved else staying).append((inv, decision))
    if not moved:
        reason = staying[0][1].reason if staying else "not_open"
        _refuse(ctx, reason or "not_open", staying[0][1].latest_date if staying else None)
        return
    ctx.utter("utter_due_dates_changed", lines=_lines(ctx, moved, staying))


def _lines(ctx: Ctx, moving: list, staying: list, confirming: bool = False) -> str:
    """One line per invoice: where its date goes (or went), or why it cannot move."""
    lines = [
        ctx.render(
            "utter_due_date_line_moves" if confirming else "utter_due_date_line_moved",
            invoice=invoice_title(inv),
            old_date=d.old_date,
            new_date=d.new_date,
        )
        for inv, d in moving
    ]
    lines += [
        ctx.render(
            "utter_due_date_line_stays",
            invoice=invoice_title(inv),
            why=ctx.render(f"utter_due_date_why_{d.reason or 'not_open'}", latest_date=d.latest_date),
        )
        for inv, d in staying
    ]
    return "\n".join(lines)


def _titles(invoices) -> str:
    return join_words([invoice_title(inv) for inv in invoices], last="y")
