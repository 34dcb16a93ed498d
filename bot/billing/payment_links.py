"""Payment links for an exact amount: the balance, a promise, or the instalment due.

The provider is chosen by ``PAYMENTS_PROVIDER`` through ``bot.providers.factory``: ``sandbox`` (a
checkout page on our own web edge) or ``mercadopago``. This service speaks to it only through the port
(``bot.providers.ports.PaymentProvider``, ``LinkRequest``, ``ProviderLink``). A link for the same invoice
and amount that is still active and unexpired is reused, never duplicated.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.billing import payment_plans, promises
from bot.platform import policies
from bot.platform.config import get_settings
from bot.providers import factory
from bot.providers.ports import LinkRequest, PaymentProvider
from bot.store import audit
from bot.store.models import Debtor, Instalment, Invoice, PaymentLink, Promise

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
    expires_at = now + ttl()
    for _ in range(5):
        reference = f"RC{_token(14)}"
        request = LinkRequest(
            reference=reference,
            amount=amount,
            currency=invoice.currency,
            description=f"Pago factura {invoice.external_id}",
            expires_at=expires_at,
            debtor_external_id=debtor.external_id,
            invoice_external_id=invoice.external_id,
        )
        created = provider.create_link(request)
        try:
            with session.begin_nested():
                link = PaymentLink(
                    debtor_id=debtor.id,
                    invoice_id=invoice.id,
                    promise_id=promise.id if promise else None,
                    instalment_id=instalment.id if instalment else None,
                    reference=reference,
                    short_code=_token(8),
                    provider=provider.name,
                    provider_ref=created.provider_ref,
                    url=created.url,
                    amount=amount,
                    currency=invoice.currency,
                    status="active",
                    expires_at=expires_at,
                )
                session.add(link)
        except IntegrityError:  # a reference or short code collided: draw again
            continue
        audit.record(
            session,
            actor="bot",
            action="payment_link_created",
            target_type="payment_link",
            target_id=link.id,
            details={"invoice_id": invoice.id, "amount": str(amount)},
        )
        return link, False
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
    if instalment is not None and instalment.amount <= invoice.balance:
        link, _ = create_link(session, debtor, invoice, instalment.amount, instalment=instalment, now=now)
        return link, "instalment"
    promise = promises.open_promise(session, invoice.id)
    if promise is not None and promise.amount <= invoice.balance:
        link, _ = create_link(session, debtor, invoice, promise.amount, promise=promise, now=now)
        return link, "promise"
    link, _ = create_link(session, debtor, invoice, now=now)
    return link, "balance"


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
