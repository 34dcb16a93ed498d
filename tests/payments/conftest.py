"""Payments fixtures: the Mercado Pago API double (``tests/payments/helpers.py``) that the real SDK talks
to through ``MERCADOPAGO_API_BASE``, provider switching, signed notifications, a debtor with a link."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from bot.config import reset_settings
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
def signed():  # noqa: ANN201
    """Headers of a notification signed the way Mercado Pago signs it."""
    from bot.web.mercadopago import sign

    def make(data_id: str, request_id: str = "req-1", secret: str = "test-mp-secret",
             ts: int | None = None) -> dict[str, str]:
        return {"x-request-id": request_id, "x-signature": sign(data_id, request_id, secret, ts),
                "Content-Type": "application/json"}

    return make


@pytest.fixture()
def debtor_with_link(session, make_debtor, redis_client):  # noqa: ANN001, ANN201
    """A debtor (COP 185.000 invoice) and a payment link for the whole balance, committed."""
    from bot import accounts, payments

    def make(external_id: str = "D-1", amount: Any = None, provider=None, **overrides: Any):  # noqa: ANN001
        debtor = make_debtor(external_id, **overrides)
        inv = accounts.primary_invoice(session, debtor)
        from decimal import Decimal

        link, _ = payments.create_link(session, debtor, inv, Decimal(amount) if amount is not None else None,
                                       provider=provider)
        session.commit()
        return debtor, inv, link

    return make
