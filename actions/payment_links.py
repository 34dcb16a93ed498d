"""Payment links for the exact amount due, and the payment methods of the debtor's country."""

from __future__ import annotations

from actions import choices
from actions.base import PENDING_CONFIRMATION, Ctx
from bot.billing import accounts, countries, payment_links

MAX_LINKS = 3


def send_link(ctx: Ctx) -> None:
    if not ctx.require_verified("request_payment_link"):
        return
    invoices = accounts.open_invoices(ctx.session, ctx.debtor)
    if not invoices:
        ctx.utter("utter_no_debt")
        return
    for invoice in invoices[:MAX_LINKS]:
        link, kind = payment_links.link_for_invoice(ctx.session, ctx.debtor, invoice)
        url = payment_links.link_url(link)
        ctx.utter(
            f"utter_payment_link_{kind}",
            amount=ctx.money(link.amount, link.currency),
            url=url,
            invoice=invoice.external_id,
            expires=link.expires_at.astimezone(_tz(ctx)).date(),
            buttons=[choices.link_button(choices.PAY, url)],
        )
    ctx.set(PENDING_CONFIRMATION, None)


def _tz(ctx: Ctx):
    import zoneinfo

    return zoneinfo.ZoneInfo(ctx.debtor.timezone or "UTC")


def payment_methods(ctx: Ctx) -> None:
    country = ctx.debtor.country if ctx.debtor is not None else None
    ctx.utter("utter_payment_methods", methods=countries.payment_methods_text(country))
    if ctx.debtor is not None:
        ctx.set(PENDING_CONFIRMATION, "payment_link")
