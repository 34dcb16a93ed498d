"""Payment links for the exact amount due, and the payment methods of the debtor's country.

One open invoice: its link (the instalment due, else the promised amount, else the balance). Several: one link
for the whole balance (one Mercado Pago preference with an item per invoice, paid oldest due first:
``bot.billing.payment_links``), then the invoice the debtor named, and any invoice with an instalment or a
promised amount due now, each with its own link. No invoice is ever silently left out.
"""

from __future__ import annotations

from actions import choices
from actions.base import CHOSEN_INVOICES, PENDING_CONFIRMATION, Ctx, invoice_title
from bot.billing import accounts, countries, offers, payment_links, payment_plans, promises
from bot.billing.countries import join_words


def send_link(ctx: Ctx) -> None:
    if not ctx.require_verified("request_payment_link"):
        return
    invoices = accounts.open_invoices(ctx.session, ctx.debtor)
    if not invoices:
        ctx.utter("utter_no_debt")
        return
    if len(invoices) == 1:
        _link_for_one(ctx, invoices[0])
        ctx.set(PENDING_CONFIRMATION, None)
        return
    named = ctx.named_invoices(invoices)
    specific = [] if len(named) == len(invoices) else named
    if len(specific) == 1:
        _link_for_one(ctx, specific[0])  # the one the debtor asked for, first
    elif specific:
        _link_for_several(ctx, specific)
    for currency in dict.fromkeys(inv.currency for inv in invoices):  # the whole balance, in one link
        group = [inv for inv in invoices if inv.currency == currency]
        if group == specific:
            continue
        if len(group) == 1:
            _link_for_one(ctx, group[0], kind="balance")
        else:
            _link_for_several(ctx, group)
    plans_sent: set[int] = set()  # a plan over several invoices: its instalment's link once, not once per invoice
    for invoice in invoices:  # an instalment or a promised part due now on one of them: its own link
        instalment = _of_a_plan_over_several(ctx, invoice)
        if instalment is not None:
            if instalment.plan_id not in plans_sent:
                say_instalment_link(ctx, instalment)
            plans_sent.add(instalment.plan_id)
        elif invoice not in specific and _due_now(ctx, invoice):
            _link_for_one(ctx, invoice)
    ctx.set(CHOSEN_INVOICES, None)
    ctx.set(PENDING_CONFIRMATION, None)


def _link_for_several(ctx: Ctx, invoices: list) -> None:
    link = payment_links.link_for_invoices(ctx.session, ctx.debtor, invoices)
    url = payment_links.link_url(link)
    ctx.utter(
        "utter_payment_link_several",
        amount=ctx.money(link.amount, link.currency),
        url=url,
        invoices=join_words([invoice_title(inv) for inv in invoices], last="y"),
        expires=link.expires_at.astimezone(_tz(ctx)).date(),
        buttons=[choices.link_button(choices.PAY, url)],
    )


def _due_now(ctx: Ctx, invoice) -> bool:
    """An instalment or a promised part (less than the balance) is what is due now on the invoice."""
    instalment = payment_plans.next_instalment(ctx.session, invoice.id)
    if instalment is not None and instalment.amount < invoice.balance:
        return True
    promise = promises.open_promise(ctx.session, invoice.id)
    return promise is not None and promise.amount < invoice.balance


def _of_a_plan_over_several(ctx: Ctx, invoice):
    """The instalment due now of a plan over several invoices that covers ``invoice`` (None: there is none)."""
    instalment = payment_plans.next_instalment(ctx.session, invoice.id)
    return instalment if instalment is not None and instalment.plan.invoice_id is None else None


def _link_for_one(ctx: Ctx, invoice, kind: str | None = None) -> None:
    if kind is None and _offer_link(ctx, invoice):
        return
    if kind is None and (instalment := _of_a_plan_over_several(ctx, invoice)) is not None:
        say_instalment_link(ctx, instalment)
        return
    if kind == "balance":
        link, _ = payment_links.create_link(ctx.session, ctx.debtor, invoice)
    else:
        link, kind = payment_links.link_for_invoice(ctx.session, ctx.debtor, invoice)
    url = payment_links.link_url(link)
    ctx.utter(
        f"utter_payment_link_{kind}",
        amount=ctx.money(link.amount, link.currency),
        url=url,
        invoice=invoice_title(invoice),
        expires=link.expires_at.astimezone(_tz(ctx)).date(),
        buttons=[choices.link_button(choices.PAY, url)],
    )


def _offer_link(ctx: Ctx, invoice) -> bool:
    """A discount the debtor took, still open: the link asked for again is the offer's, for the offered amount
    (a fresh one if the first expired), not one for the whole balance."""
    offer = offers.open_offer(ctx.session, invoice.id, ctx.today)
    if offer is None or offer.status != "accepted" or offer.kind != "discount":
        return False
    try:
        link = offers.accept(ctx.session, offer, ctx.today)
    except offers.OfferError:
        return False
    ctx.utter(
        "utter_offer_discount_link",
        amount=ctx.money(link.amount, link.currency),
        url=payment_links.link_url(link),
        invoice=invoice_title(invoice),
        until=min(offer.valid_until, link.expires_at.astimezone(_tz(ctx)).date()),
    )
    return True


def _tz(ctx: Ctx):
    import zoneinfo

    return zoneinfo.ZoneInfo(ctx.debtor.timezone or "UTC")


def payment_methods(ctx: Ctx) -> None:
    country = ctx.debtor.country if ctx.debtor is not None else None
    ctx.utter("utter_payment_methods", methods=countries.payment_methods_text(country))
    if ctx.debtor is not None:
        ctx.set(PENDING_CONFIRMATION, "payment_link")


def say_instalment_link(ctx: Ctx, instalment, invoices: list | None = None) -> None:
    """The link for an instalment of a plan over several invoices: one link for its amount, paid over them oldest
    due first, naming the invoices the plan covers."""
    if invoices is None:
        ids = set(payment_plans.plan_invoice_ids(instalment.plan))
        invoices = [inv for inv in accounts.open_invoices(ctx.session, ctx.debtor) if inv.id in ids]
    link = payment_links.link_for_instalment(ctx.session, ctx.debtor, instalment)
    url = payment_links.link_url(link)
    if len(invoices) == 1:  # the others of the plan are paid: the instalment is this one's
        ctx.utter(
            "utter_payment_link_instalment",
            amount=ctx.money(link.amount, link.currency),
            url=url,
            invoice=invoice_title(invoices[0]),
            buttons=[choices.link_button(choices.PAY, url)],
        )
        return
    ctx.utter(
        "utter_payment_link_instalment_several",
        amount=ctx.money(link.amount, link.currency),
        url=url,
        invoices=join_words([invoice_title(inv) for inv in invoices], last="y"),
        buttons=[choices.link_button(choices.PAY, url)],
    )
