"""Mercado Pago: Checkout Pro links and payment look-ups through the official SDK.

``MercadoPagoProvider`` creates one Checkout Pro preference per payment link (the exact amount in the
invoice's currency; CLP as a whole number) with a stable ``x-idempotency-key`` derived from our
reference, so a retried creation gives the same preference. ``MERCADOPAGO_API_BASE`` points the SDK
at another host (a local double in tests, a proxy): a small ``HttpClient`` subclass swaps the base of
every URL the SDK builds, so the SDK's own request code still runs.

It implements ``bot.providers.ports.PaymentProvider`` and imports nothing but the ports and the platform;
``bot.providers.factory`` builds it when ``PAYMENTS_PROVIDER=mercadopago`` (or for a link made here).
The SDK and requests are imported where used, so an installation on the sandbox never loads them.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from bot.platform.config import get_settings
from bot.providers.ports import (
    LinkRequest,
    PaymentInfo,
    PaymentProviderError,
    ProviderLink,
    ProviderUnavailable,
)

log = logging.getLogger(__name__)

# The SDK warns that a preference's ``notification_url`` is deprecated in favour of account-level webhooks;
# a per-preference URL still works and keeps each installation self-contained. (A filter set once, not
# ``catch_warnings``, which is not thread-safe in the worker's threads.)
warnings.filterwarnings("ignore", message="notification_url is deprecated", category=DeprecationWarning)

MP_API_BASE = "https://api.mercadopago.com"
# Currencies without a minor unit: Mercado Pago takes them as whole numbers (whole amounts in any currency
# also go as integers).
WHOLE_UNIT_CURRENCIES = frozenset({"CLP"})
# Payment types paid later in cash (a ticket): the preference also sets ``date_of_expiration``.
CASH_PAYMENT_TYPES = frozenset({"ticket", "atm"})


def idempotency_key(reference: str, purpose: str = "preference") -> str:
    """The same key for every attempt at the same operation on the same reference (1–64 characters)."""
    digest = hashlib.sha256(f"recobra:{purpose}:{reference}".encode()).hexdigest()[:32]
    return f"rc-{purpose[:8]}-{digest}"


def wire_amount(amount: Decimal, currency: str) -> int | float:
    """The amount as Mercado Pago's JSON takes it: an integer for whole-unit currencies (CLP), else a
    number with at most two decimals (exact: a two-decimal Decimal round-trips through a float's repr)."""
    amount = Decimal(amount)
    if currency.upper() in WHOLE_UNIT_CURRENCIES or amount == amount.to_integral_value():
        if amount != amount.to_integral_value():
            raise ValueError(f"{currency} amounts are whole numbers: {amount}")
        return int(amount)
    return float(amount.quantize(Decimal("0.01")))


def mp_datetime(dt: datetime) -> str:
    """``2026-11-26T15:04:05.000-00:00``, the format Mercado Pago documents for preference dates."""
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}-00:00"


def parse_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def normalise_payment(raw: dict[str, Any]) -> PaymentInfo:
    """A provider payment as Recobra reads it (the same shape from Mercado Pago and the sandbox)."""
    details = raw.get("transaction_details") or {}
    amount = raw.get("transaction_amount")
    return {
        "id": str(raw.get("id") or ""),
        "status": str(raw.get("status") or ""),
        "status_detail": raw.get("status_detail") or None,
        "transaction_amount": Decimal(str(amount)) if amount is not None else Decimal("0"),
        "transaction_amount_refunded": Decimal(str(raw.get("transaction_amount_refunded") or 0)),
        "currency_id": str(raw.get("currency_id") or "").upper(),
        "external_reference": raw.get("external_reference") or None,
        "date_approved": parse_datetime(raw.get("date_approved")),
        "date_of_expiration": parse_datetime(raw.get("date_of_expiration")),
        "payment_method_id": raw.get("payment_method_id") or None,
        "payment_type_id": raw.get("payment_type_id") or None,
        "ticket_url": details.get("external_resource_url") or None,
    }


def _http_client_class():
    from mercadopago.http import HttpClient

    class BaseUrlHttpClient(HttpClient):
        """The SDK's own client, sending to ``base`` instead of api.mercadopago.com."""

        def __init__(self, base: str) -> None:
            super().__init__()
            self.base = base.rstrip("/")

        def request(self, method, url, maxretries=None, retry_on=None, backoff_factor=None, **kwargs):
            if url.startswith(MP_API_BASE):
                url = self.base + url[len(MP_API_BASE) :]
            return super().request(
                method, url, maxretries=maxretries, retry_on=retry_on, backoff_factor=backoff_factor, **kwargs
            )

    return BaseUrlHttpClient


class MercadoPagoProvider:
    """Checkout Pro links and payment look-ups with the ``mercadopago`` SDK."""

    name = "mercadopago"

    def __init__(self, access_token: str | None = None, api_base: str | None = None, timeout: float = 10.0) -> None:
        settings = get_settings()
        self.access_token = access_token or settings.mercadopago_access_token
        self.api_base = (api_base if api_base is not None else settings.mercadopago_api_base) or ""
        self.timeout = float(timeout)
        self._sdk = None

    @property
    def sdk(self):
        if self._sdk is None:
            import mercadopago
            from mercadopago.config import RequestOptions

            http_client = _http_client_class()(self.api_base) if self.api_base else None
            options = RequestOptions(connection_timeout=self.timeout, max_retries=2)
            self._sdk = mercadopago.SDK(self.access_token, http_client=http_client, request_options=options)
        return self._sdk

    def _options(self, **headers: str):
        from mercadopago.config import RequestOptions

        return RequestOptions(
            access_token=self.access_token,
            connection_timeout=self.timeout,
            max_retries=2,
            custom_headers=headers or None,
        )

    def _call(self, what: str, fn, *args, **kwargs) -> dict[str, Any]:
        import requests

        try:
            result = fn(*args, **kwargs)
        except requests.RequestException as exc:
            raise ProviderUnavailable(f"Mercado Pago {what}: {exc}") from exc
        except Exception as exc:  # the SDK raises its own errors for unparseable answers
            raise ProviderUnavailable(f"Mercado Pago {what}: {exc}") from exc
        status = int(result.get("status") or 0)
        body = result.get("response")
        if status == 429 or status >= 500 or status == 0:
            raise ProviderUnavailable(f"Mercado Pago {what}: HTTP {status}")
        if status >= 400:
            message = body.get("message") if isinstance(body, dict) else body
            raise PaymentProviderError(f"Mercado Pago {what}: HTTP {status}: {message}")
        return body if isinstance(body, dict) else {"results": body}

    # --- links -------------------------------------------------------------------------------------------
    def preference_data(self, request: LinkRequest, now: datetime | None = None) -> dict[str, Any]:
        now = now or datetime.now(timezone.utc)
        base = get_settings().public_base_url
        currency = request.currency.upper()
        back = f"{base}/pago"
        return {
            "items": [
                {
                    "id": item.invoice_external_id,
                    "title": item.description[:250],
                    "quantity": 1,
                    "unit_price": wire_amount(item.amount, currency),
                    "currency_id": currency,
                }
                for item in request.items
            ]
            or [
                {
                    "id": request.invoice_external_id or request.reference,
                    "title": request.description[:250],
                    "quantity": 1,
                    "unit_price": wire_amount(request.amount, currency),
                    "currency_id": currency,
                }
            ],
            "external_reference": request.reference,
            "notification_url": f"{base}/webhooks/mercadopago",
            "back_urls": {"success": f"{back}/exito", "failure": f"{back}/error", "pending": f"{back}/pendiente"},
            "auto_return": "approved",
            "expires": True,
            "expiration_date_from": mp_datetime(now - timedelta(minutes=5)),
            "expiration_date_to": mp_datetime(request.expires_at),
            "date_of_expiration": mp_datetime(request.expires_at),  # cash tickets (OXXO, Efecty, PagoFácil)
            "statement_descriptor": get_settings().business_name[:22],
            "metadata": {
                "debtor": request.debtor_external_id,
                "invoice": request.invoice_external_id,
                **({"invoices": [item.invoice_external_id for item in request.items]} if request.items else {}),
                "reference": request.reference,
            },
        }

    def create_link(self, request: LinkRequest) -> ProviderLink:
        data = self.preference_data(request)
        options = self._options(**{"x-idempotency-key": idempotency_key(request.reference)})
        body = self._call("preference", self.sdk.preference().create, data, options)
        url = body.get("init_point") or body.get("sandbox_init_point")
        if not url or not body.get("id"):
            raise PaymentProviderError("Mercado Pago preference without id or init_point")
        return ProviderLink(url=url, provider_ref=str(body["id"]))

    # --- payments ----------------------------------------------------------------------------------------
    def get_payment(self, payment_id: str) -> PaymentInfo:
        body = self._call("payment", self.sdk.payment().get, str(payment_id), self._options())
        return normalise_payment(body)

    def search_payments(self, external_reference: str) -> list[PaymentInfo]:
        filters = {"external_reference": external_reference, "sort": "date_created", "criteria": "desc", "limit": 50}
        body = self._call("payment search", self.sdk.payment().search, filters, self._options())
        return [normalise_payment(r) for r in body.get("results") or []]
