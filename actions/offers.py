"""Settlement offers in the chat (``config/settlement_offers.yml``, ``bot.billing.offers``): after a reason for not
paying, or a request for a plan, the offer that fits the debtor's balance, days overdue and reason is proposed once
(«¿le envío el link?»); «sí» takes it (a link for exactly the offered amount, or the plan with the larger first
instalment and the link for that instalment), «no» closes it and the usual next step follows, without pressure.

Only after the identity check. The dialogue (``actions.dialogue``) decides what comes after a «no» or a closed
offer; this module imports only the base.
"""

from __future__ import annotations

import zoneinfo

from actions.base import CHOSEN_INVOICES, PENDING_CONFIRMATION, Ctx, first_open_invoice, invoice_title
from bot.billing import offers, payment_links
from bot.store.models import Instalment, Invoice

# the proposals the dialogue answers (``actions.dialogue.PROPOSALS``): the offer made after a reason, and the one
# made instead of the plan options (after a «no», the options are shown)
AFTER_REASON = "offer"
INSTEAD_OF_PLAN = "offer_plan"

YES_NO = [
    {"title": "Sí, envíeme el link", "payload": "/affirm"},
    {"title": "No, gracias", "payload": "/deny"},
]


def propose(
    ctx: Ctx, reason: str | None, proposal: str, kinds: tuple[str, ...] = offers.KINDS, invoice: Invoice | None = None
) -> bool:
    """Propose the offer that fits ``invoice`` (default: the one in hand, else the oldest open) now, of ``kinds``;
    False when there is none to propose (not verified, nothing open, nothing fits, or this invoice's offer was
    already declined, let lapse or used). The request goes on about the offer's invoice."""
    if ctx.debtor is None or not ctx.verified:
        return False
    invoice = invoice or first_open_invoice(ctx)
    if invoice is None:
        return False
    offer = offers.to_propose(ctx.session, ctx.debtor, invoice, reason, ctx.today, kinds)
    if offer is None:
        return False
    if offer.kind == "discount":
        ctx.utter(
            "utter_offer_discount",
            until=offer.valid_until,
            discount=ctx.money(offer.balance - offer.amount, offer.currency),
            amount=ctx.money(offer.amount, offer.currency),
            balance=ctx.money(offer.balance, offer.currency),
            invoice=invoice_title(invoice),
            buttons=YES_NO,
        )
    else:
        plan = offers.plan_preview(offer, ctx.today)
        if plan is None:
            return False  # the plan policy no longer allows it: the usual options instead
        ctx.utter(
            "utter_offer_first_instalment",
            count=plan.count,
            first=ctx.money(plan.first_amount, plan.currency),
            other=ctx.money(plan.other_amount, plan.currency),
            until=plan.dates[0],
            invoice=invoice_title(invoice),
            buttons=YES_NO,
        )
    ctx.set(PENDING_CONFIRMATION, proposal)
    ctx.set(CHOSEN_INVOICES, [invoice.external_id])
    return True


def accept(ctx: Ctx) -> bool:
    """«Sí» to the offer: the link for exactly the offered amount (a discount), or the plan with the larger first
    instalment and its link. False (after saying so) when the offer no longer stands: the caller offers the
    usual help."""
    offer = offers.proposed(ctx.session, ctx.debtor, ctx.today)
    try:
        if offer is None:
            raise offers.OfferError("offer_closed")
        link = offers.accept(ctx.session, offer, ctx.today)
    except offers.OfferError:
        ctx.utter("utter_offer_closed")
        return False
    invoice = ctx.session.get(Invoice, offer.invoice_id)
    invoice_id = invoice_title(invoice) if invoice is not None else ""
    if offer.kind == "discount":
        # the day to pay by: the offer's last day, or the link's if it ends sooner (a link lives some days only)
        link_ends = link.expires_at.astimezone(zoneinfo.ZoneInfo(ctx.debtor.timezone or "UTC")).date()
        ctx.utter(
            "utter_offer_discount_link",
            amount=ctx.money(link.amount, link.currency),
            url=payment_links.link_url(link),
            invoice=invoice_id,
            until=min(offer.valid_until, link_ends),
        )
        return True
    first = ctx.session.get(Instalment, link.instalment_id) if link.instalment_id else None
    ctx.utter(
        "utter_plan_saved",
        count=offer.instalments,
        first=ctx.money(link.amount, link.currency),
        first_date=first.due_date if first is not None else offer.valid_until,
    )
    ctx.utter(
        "utter_payment_link_instalment",
        amount=ctx.money(link.amount, link.currency),
        url=payment_links.link_url(link),
        invoice=invoice_id,
        expires=first.due_date if first is not None else offer.valid_until,
    )
    return True


def decline(ctx: Ctx, quietly: bool = False) -> None:
    """«No» to the offer: closed (not proposed again) and, unless ``quietly`` (the debtor asked for something
    else in its place), acknowledged without pressure; the caller says what else, about the offer's invoice."""
    offer = offers.proposed(ctx.session, ctx.debtor, ctx.today)
    if offer is not None:
        offers.decline(ctx.session, offer)
        invoice = ctx.session.get(Invoice, offer.invoice_id)
        if invoice is not None and invoice.status == "open":
            ctx.set(CHOSEN_INVOICES, [invoice.external_id])
    if not quietly:
        ctx.utter("utter_offer_declined")
