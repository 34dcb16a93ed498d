"""Payments fixtures: the Mercado Pago API double (``tests/payments/helpers.py``) that the real SDK talks
to through ``MERCADOPAGO_API_BASE``, provider switching, signed notifications, a debtor with a link."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from bot.platform.config import reset_settings
from tests.payments.helpers import MercadoPagoDouble


@pytest.fixture()
def mp_api() -> Iterator[MercadoPagoDouble]:
    double = MercadoPagoDouble()
    old = os.environ.get("MERCADOPAGO_API_BASE")
    os.environ["MERCADOPAGO_API_BASE"] = double.url
    reset_settings()
    yield double
    double.close()
    if old is None:
        os.environ.pop("MERCADOPAGO_API_BASE", None)
    else:
        os.environ["MERCADOPAGO_API_BASE"] = old
    reset_settings()


@pytest.fixture()
def mercadopago_mode(mp_api: MercadoPagoDouble) -> Iterator[MercadoPagoDouble]:
    """PAYMENTS_PROVIDER=mercadopago against the double."""
    os.environ["PAYMENTS_PROVIDER"] = "mercadopago"
    reset_settings()
    yield mp_api
    os.environ["PAYMENTS_PROVIDER"] = "sandbox"
    reset_settings()


@pytest.fixture()
def signed():
    """Headers of a notification signed the way Mercado Pago signs it."""
    from bot.web.mercadopago import sign

    def make(
        data_id: str, request_id: str = "req-1", secret: str = "test-mp-secret", ts: int | None = None
    ) -> dict[str, str]:
        return {
            "x-request-id": request_id,
            "x-signature": sign(data_id, request_id, secret, ts),
            "Content-Type": "application/json",
        }

    return make


@pytest.fixture()
def verify_debtor(session):
    """The debtor wrote from their phone and passed the identity check just now (``bot.conversation.disclosure``)."""
    from bot.conversation import handoffs
    from bot.store import audit
    from bot.store.models import Message

    def verify(debtor, at=None):
        from datetime import datetime, timezone

        at = at or datetime.now(timezone.utc)
        conv = handoffs.get_or_create_conversation(session, debtor.phone, debtor)
        session.flush()
        session.add(
            Message(
                conversation_id=conv.id,
                debtor_id=debtor.id,
                direction="in",
                author="debtor",
                channel="whatsapp",
                from_phone=debtor.phone,
                body="••••",
                status="processed",
                created_at=at,
            )
        )
        entry = audit.record(
            session, actor="bot", action="identity_verified", target_type="debtor", target_id=debtor.id
        )
        entry.created_at = at
        session.commit()

    return verify


@pytest.fixture()
def debtor_with_link(session, make_debtor, redis_client, verify_debtor):
    """A debtor (COP 185.000 invoice) and a payment link for the whole balance, committed; verified in an
    open conversation unless ``verified=False`` (payment results tell details only then)."""
    from bot.billing import accounts, payment_links

    def make(external_id: str = "D-1", amount: Any = None, provider=None, verified: bool = True, **overrides: Any):
        debtor = make_debtor(external_id, **overrides)
        if verified:
            verify_debtor(debtor)
        inv = accounts.primary_invoice(session, debtor)
        from decimal import Decimal

        link, _ = payment_links.create_link(
            session, debtor, inv, Decimal(amount) if amount is not None else None, provider=provider
        )
        session.commit()
        return debtor, inv, link

    return make
