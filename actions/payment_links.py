"""Payment links for the exact amount due, and the payment methods of the debtor's country."""

from __future__ import annotations

from actions.base import PENDING_CONFIRMATION, Ctx
from bot.billing import accounts, countries, offers, payment_links

MAX_LINKS = 3


def send_link(ctx: Ctx) -> None:
    if not ctx.require_verified("request_payment_link"):
        return
    invoices = accounts.open_invoices(ctx.session, ctx.debtor)
    if not invoices:
        ctx.utter("utter_no_debt")
        return
    for invoice in invoices[:MAX_LINKS]:
        if _offer_link(ctx, invoice):
            continue
        link, kind = payment_links.link_for_invoice(ctx.session, ctx.debtor, invoice)
        ctx.utter(
            f"utter_payment_link_{kind}",
            amount=ctx.money(link.amount, link.currency),
            url=payment_links.link_url(link),
            invoice=invoice.external_id,
            expires=link.expires_at.astimezone(_tz(ctx)).date(),
        )
    ctx.set(PENDING_CONFIRMATION, None)


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
        invoice=invoice.external_id,
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
