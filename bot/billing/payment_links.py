"""Payment links for an exact amount: the balance, a promise, or the instalment due.

The provider is chosen by ``PAYMENTS_PROVIDER`` through ``bot.providers.factory``: ``sandbox`` (a
checkout page on our own web edge) or ``mercadopago``. This service speaks to it only through the port
(``bot.providers.ports.PaymentProvider``, ``LinkRequest``, ``ProviderLink``). A link for the same invoice
and amount that is still active and unexpired is reused, never duplicated.

A debtor with several open invoices gets one link for all of them (``link_for_invoices``: one Mercado Pago
preference with one item per invoice, recorded as ``PaymentLinkItem`` rows; the link itself names no single
invoice). The allocation rule, applied by ``bot.billing.payment_events``: a payment of such a link settles each
item's invoice by the item's amount, oldest due date first; a short payment fills the oldest first and leaves the
newest owed; an over-payment is the debtor's credit. No invoice is ever left out of a link for "the whole balance".
An instalment of a plan over several invoices gets one link for its amount whose items split it over the plan's
invoices the same way, oldest due first (``link_for_instalment``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.billing import payment_plans, promises
from bot.platform import policies
from bot.platform.config import get_settings
from bot.providers import factory
from bot.providers.ports import LinkItem, LinkRequest, PaymentProvider
from bot.store import audit
from bot.store.models import Debtor, Instalment, Invoice, PaymentLink, PaymentLinkItem, Promise

SHORT_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"


def ttl(pol: dict | None = None) -> timedelta:
    pol = pol if pol is not None else policies.load("payments")
    return timedelta(hours=int(pol.get("link_ttl_hours", 72)))


def _token(n: int) -> str:
    return "".join(secrets.choice(SHORT_ALPHABET) for _ in range(n))


def reusable(
    session: Session, invoice_id: int | None, amount: Decimal, provider: str, now: datetime
) -> PaymentLink | None:
    return (
        session.execute(
            select(PaymentLink)
            .where(
                PaymentLink.invoice_id == invoice_id,
                PaymentLink.amount == amount,
                PaymentLink.status == "active",
                PaymentLink.provider == provider,
                PaymentLink.expires_at > now,
            )
            .order_by(PaymentLink.id.desc())
            .limit(1)
        )
        .scalars()
        .first()
    )


def create_link(
    session: Session,
    debtor: Debtor,
    invoice: Invoice,
    amount: Decimal | None = None,
    *,
    promise: Promise | None = None,
    instalment: Instalment | None = None,
    provider: PaymentProvider | None = None,
    now: datetime | None = None,
) -> tuple[PaymentLink, bool]:
    """A link for exactly ``amount`` (default: the balance); returns (link, reused)."""
    now = now or datetime.now(timezone.utc)
    provider = provider or factory.payment_provider()
    amount = (invoice.balance if amount is None else amount).quantize(Decimal("0.01"))
    if amount <= 0 or amount > invoice.balance:
        raise ValueError("a payment link is for more than zero and at most the balance")
    existing = reusable(session, invoice.id, amount, provider.name, now)
    if existing is not None:
        return existing, True
    link = _new_link(
        session,
        debtor,
        provider,
        lambda reference, expires_at: LinkRequest(
            reference=reference,
            amount=amount,
            currency=invoice.currency,
            description=f"Pago factura {invoice.external_id}",
            expires_at=expires_at,
            debtor_external_id=debtor.external_id,
            invoice_external_id=invoice.external_id,
        ),
        {
            "invoice_id": invoice.id,
            "promise_id": promise.id if promise else None,
            "instalment_id": instalment.id if instalment else None,
            "amount": amount,
            "currency": invoice.currency,
        },
        {"invoice_id": invoice.id, "amount": str(amount)},
        now,
    )
    return link, False


def _new_link(
    session: Session,
    debtor: Debtor,
    provider: PaymentProvider,
    request: Callable[[str, datetime], LinkRequest],
    fields: dict[str, Any],
    details: dict[str, Any],
    now: datetime,
    items: Callable[[PaymentLink], list[PaymentLinkItem]] | None = None,
) -> PaymentLink:
    """Ask the provider for a link under a fresh reference and keep it (with its ``items``), drawing again when a
    reference or short code collides."""
    expires_at = now + ttl()
    for _ in range(5):
        reference = f"RC{_token(14)}"
        created = provider.create_link(request(reference, expires_at))
        try:
            with session.begin_nested():
                link = PaymentLink(
                    debtor_id=debtor.id,
                    reference=reference,
                    short_code=_token(8),
                    provider=provider.name,
                    provider_ref=created.provider_ref,
                    url=created.url,
                    status="active",
                    expires_at=expires_at,
                    **fields,
                )
                session.add(link)
                if items is not None:
                    session.flush()
                    session.add_all(items(link))
                session.flush()
        except IntegrityError:  # a reference or short code collided: draw again
            continue
        audit.record(
            session,
            actor="bot",
            action="payment_link_created",
            target_type="payment_link",
            target_id=link.id,
            details=details,
        )
        return link
    raise RuntimeError("could not draw a unique payment reference")


def link_url(link: PaymentLink) -> str:
    """The short URL on our own domain that redirects to the provider's checkout (fits an SMS).

    Built from the link's ``short_code`` drawn above; every message and view that shows a link uses it."""
    return f"{get_settings().public_base_url}/p/{link.short_code}"


def link_for_invoice(
    session: Session, debtor: Debtor, invoice: Invoice, now: datetime | None = None
) -> tuple[PaymentLink, str]:
    """The link for what is due now on the invoice: the instalment due, else the open promise's
    amount, else the balance. Returns (link, kind) with kind ``instalment``/``promise``/``balance``."""
    instalment = payment_plans.next_instalment(session, invoice.id)
    if instalment is not None and instalment.plan.invoice_id is None:  # a plan over several invoices
        return link_for_instalment(session, debtor, instalment, now=now), "instalment"
    if instalment is not None and instalment.amount <= invoice.balance:
        link, _ = create_link(session, debtor, invoice, instalment.amount, instalment=instalment, now=now)
        return link, "instalment"
    promise = promises.open_promise(session, invoice.id)
    if promise is not None and promise.amount <= invoice.balance:
        link, _ = create_link(session, debtor, invoice, promise.amount, promise=promise, now=now)
        return link, "promise"
    link, _ = create_link(session, debtor, invoice, now=now)
    return link, "balance"


def items_of(session: Session, link: PaymentLink) -> list[PaymentLinkItem]:
    """The invoices a link for several pays, in the order a payment settles them (empty for a one-invoice link)."""
    return list(
        session.execute(
            select(PaymentLinkItem).where(PaymentLinkItem.link_id == link.id).order_by(PaymentLinkItem.position)
        ).scalars()
    )


def link_for_invoices(
    session: Session,
    debtor: Debtor,
    invoices: list[Invoice],
    *,
    provider: PaymentProvider | None = None,
    now: datetime | None = None,
) -> PaymentLink:
    """One link that pays the whole balance of ``invoices`` (one currency), one provider item per invoice, oldest due
    first (the order a payment settles them). A single invoice gets the ordinary link for its balance. An
    active, unexpired link for the same invoices and amounts is reused."""
    invoices = sorted(invoices, key=lambda inv: (inv.due_date, inv.id))
    if len({inv.currency for inv in invoices}) != 1:
        raise ValueError("one link pays invoices of one currency")
    if len(invoices) == 1:
        return create_link(session, debtor, invoices[0], provider=provider, now=now)[0]
    if any(inv.balance <= 0 for inv in invoices):
        raise ValueError("every invoice of a link has something to pay")
    return _link_for_shares(
        session,
        debtor,
        [(inv, inv.balance.quantize(Decimal("0.01"))) for inv in invoices],
        f"Pago de {len(invoices)} facturas",
        provider=provider,
        now=now,
    )


def split_oldest_first(invoices: list[Invoice], amount: Decimal) -> list[tuple[Invoice, Decimal]]:
    """``amount`` over ``invoices`` as a payment is applied: the oldest due first, each up to its balance."""
    out = []
    left = amount
    for inv in sorted(invoices, key=lambda i: (i.due_date, i.id)):
        share = min(left, inv.balance).quantize(Decimal("0.01"))
        if share > 0:
            out.append((inv, share))
        left -= share
    return out


def link_for_instalment(
    session: Session,
    debtor: Debtor,
    instalment: Instalment,
    *,
    provider: PaymentProvider | None = None,
    now: datetime | None = None,
) -> PaymentLink:
    """The link for an instalment of a plan over several invoices: one link for the instalment's amount (at most what
    they still owe), its items the plan's invoices by that amount split oldest due first, so that a payment settles
    them by the allocation rule. Falling on one invoice, it is that invoice's ordinary link for the amount."""
    plan = instalment.plan
    owed = [inv for inv in payment_plans.plan_invoices(session, plan) if inv.status == "open" and inv.balance > 0]
    if not owed:
        raise ValueError("the plan's invoices are paid")
    shares = split_oldest_first(owed, instalment.amount)
    if len(shares) == 1:
        return create_link(
            session, debtor, shares[0][0], shares[0][1], instalment=instalment, provider=provider, now=now
        )[0]
    return _link_for_shares(
        session,
        debtor,
        shares,
        f"Cuota {instalment.number} de {plan.instalment_count}",
        provider=provider,
        now=now,
        instalment=instalment,
    )


def _link_for_shares(
    session: Session,
    debtor: Debtor,
    shares: list[tuple[Invoice, Decimal]],
    description: str,
    *,
    provider: PaymentProvider | None = None,
    now: datetime | None = None,
    instalment: Instalment | None = None,
) -> PaymentLink:
    """One link paying ``shares`` (invoice, amount; oldest due first, one currency): one provider item each. An
    active, unexpired link for the same invoices, amounts and instalment is reused."""
    now = now or datetime.now(timezone.utc)
    provider = provider or factory.payment_provider()
    wanted = [(inv.id, amount) for inv, amount in shares]
    total = sum((amount for _, amount in wanted), Decimal("0.00"))
    instalment_id = instalment.id if instalment is not None else None
    for candidate in session.execute(
        select(PaymentLink).where(
            PaymentLink.debtor_id == debtor.id,
            PaymentLink.invoice_id.is_(None),
            PaymentLink.amount == total,
            PaymentLink.status == "active",
            PaymentLink.provider == provider.name,
            PaymentLink.expires_at > now,
        )
    ).scalars():
        if (
            candidate.instalment_id == instalment_id
            and [(item.invoice_id, item.amount) for item in items_of(session, candidate)] == wanted
        ):
            return candidate
    currency = shares[0][0].currency
    items = tuple(
        LinkItem(
            invoice_external_id=inv.external_id,
            description=f"Factura {inv.external_id}" + (f" · {inv.description}" if inv.description else ""),
            amount=amount,
        )
        for inv, amount in shares
    )
    return _new_link(
        session,
        debtor,
        provider,
        lambda reference, expires_at: LinkRequest(
            reference=reference,
            amount=total,
            currency=currency,
            description=description,
            expires_at=expires_at,
            debtor_external_id=debtor.external_id,
            invoice_external_id=None,
            items=items,
        ),
        {"invoice_id": None, "amount": total, "currency": currency, "instalment_id": instalment_id},
        {"invoice_ids": [inv.id for inv, _ in shares], "amount": str(total), "instalment_id": instalment_id},
        now,
        items=lambda link: [
            PaymentLinkItem(
                link_id=link.id,
                invoice_id=inv.id,
                position=position,
                amount=amount,
                promise_id=(p.id if (p := promises.open_promise(session, inv.id)) else None),
                instalment_id=instalment_id,
            )
            for position, (inv, amount) in enumerate(shares)
        ],
    )


def expire_links(session: Session, now: datetime | None = None) -> int:
    """Mark active links past their expiry as expired (the worker runs this)."""
    now = now or datetime.now(timezone.utc)
    links = (
        session.execute(select(PaymentLink).where(PaymentLink.status == "active", PaymentLink.expires_at <= now))
        .scalars()
        .all()
    )
    for link in links:
        link.status = "expired"
    return len(links)
