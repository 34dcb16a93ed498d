"""The Mercado Pago adapter, with the real SDK against the local API double."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bot.billing import accounts, payment_links
from bot.providers.mercadopago import MercadoPagoProvider, idempotency_key, wire_amount
from bot.providers.ports import LinkRequest, PaymentProviderError, ProviderUnavailable


def request(reference: str = "RCtest000000001", amount: str = "185000.00", currency: str = "COP") -> LinkRequest:
    return LinkRequest(
        reference=reference,
        amount=Decimal(amount),
        currency=currency,
        description="Pago factura F-1",
        expires_at=datetime.now(timezone.utc) + timedelta(hours=72),
        debtor_external_id="D-1",
        invoice_external_id="F-1",
    )


def test_preference_has_the_exact_amount_currency_and_urls(mp_api):
    link = MercadoPagoProvider().create_link(request())
    assert link.provider_ref == "123456789-00000001"
    assert link.url.startswith("https://www.mercadopago.com.co/checkout/v1/redirect?pref_id=")
    (sent,) = [r for r in mp_api.requests if r["path"] == "/checkout/preferences"]
    body = sent["body"]
    assert body["items"] == [
        {"id": "F-1", "title": "Pago factura F-1", "quantity": 1, "unit_price": 185000, "currency_id": "COP"}
    ]
    assert body["external_reference"] == "RCtest000000001"
    assert body["notification_url"] == "http://localhost:8000/webhooks/mercadopago"
    assert set(body["back_urls"]) == {"success", "failure", "pending"} and body["auto_return"] == "approved"
    assert body["expires"] is True and body["expiration_date_to"] and body["date_of_expiration"]
    assert sent["headers"]["authorization"] == "Bearer TEST-access-token"
    assert sent["headers"]["x-idempotency-key"] == idempotency_key("RCtest000000001")


def test_clp_goes_as_an_integer_and_cents_stay_exact(mp_api):
    MercadoPagoProvider().create_link(request("RCclp", "25990.00", "CLP"))
    MercadoPagoProvider().create_link(request("RCmxn", "1500.50", "MXN"))
    clp, mxn = [r["body"]["items"][0] for r in mp_api.requests]
    assert clp["unit_price"] == 25990 and isinstance(clp["unit_price"], int) and clp["currency_id"] == "CLP"
    assert mxn["unit_price"] == 1500.5 and mxn["currency_id"] == "MXN"
    with pytest.raises(ValueError):
        wire_amount(Decimal("10.50"), "CLP")


def test_retried_creation_gives_one_preference(mp_api):
    provider = MercadoPagoProvider()
    first = provider.create_link(request())
    again = MercadoPagoProvider().create_link(request())
    assert first == again
    assert len(mp_api.preferences) == 1
    keys = {r["headers"]["x-idempotency-key"] for r in mp_api.requests}
    assert len(keys) == 1 and 1 <= len(keys.pop()) <= 64
    other = provider.create_link(request("RCother"))
    assert other.provider_ref != first.provider_ref and len(mp_api.preferences) == 2


def test_payments_create_link_uses_the_sdk(mercadopago_mode, session, make_debtor):
    debtor = make_debtor()
    inv = accounts.primary_invoice(session, debtor)
    link, reused = payment_links.create_link(session, debtor, inv)
    session.commit()
    assert not reused and link.provider == "mercadopago"
    pref = mercadopago_mode.preferences[link.provider_ref]
    assert link.url == pref["init_point"] and pref["external_reference"] == link.reference
    assert pref["items"][0]["unit_price"] == 185000 and pref["items"][0]["currency_id"] == "COP"


def test_get_and_search_payments(mp_api):
    mp_api.add_payment("1001", "RCref", "185000.00", status="approved")
    mp_api.add_payment("1002", "RCref", 5000, status="rejected", status_detail="cc_rejected_insufficient_amount")
    provider = MercadoPagoProvider()
    got = provider.get_payment("1001")
    assert got["id"] == "1001" and got["status"] == "approved" and got["transaction_amount"] == Decimal("185000.00")
    assert got["currency_id"] == "COP" and got["external_reference"] == "RCref"
    assert got["date_approved"].tzinfo is not None and got["payment_method_id"] == "visa"
    assert {p["id"] for p in provider.search_payments("RCref")} == {"1001", "1002"}
    assert provider.search_payments("RCnone") == []
    with pytest.raises(PaymentProviderError):
        provider.get_payment("404404")


def test_provider_failures_are_retryable_or_not(mp_api):
    provider = MercadoPagoProvider()
    mp_api.fail_next = [503]
    with pytest.raises(ProviderUnavailable):
        provider.create_link(request())
    mp_api.fail_next = [400]
    with pytest.raises(PaymentProviderError) as exc:
        provider.create_link(request())
    assert not isinstance(exc.value, ProviderUnavailable)
    with pytest.raises(PaymentProviderError):
        MercadoPagoProvider(access_token="wrong").get_payment("1")
    with pytest.raises(ProviderUnavailable):
        MercadoPagoProvider(api_base="http://127.0.0.1:9", timeout=2).get_payment("1")
