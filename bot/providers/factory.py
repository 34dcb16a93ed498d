"""The one place a provider is chosen: from the settings, never from a registry filled by imports.

``MESSAGING_PROVIDER`` is ``sandbox`` or ``twilio``; ``PAYMENTS_PROVIDER`` is ``sandbox`` or
``mercadopago``. The services ask here and get an object that satisfies a port
(``bot.providers.ports``); they never name an adapter, and no adapter registers itself.

Messaging providers are kept, one per set-up (provider, API base, account), because the Twilio adapter holds
an SDK client and its connection pool. ``set_messaging_provider`` puts one provider in front of the
configured one for every send (the tests' sandbox with fast statuses, or Twilio against a local double).

Payment providers are built on each call, as before: they read their settings (token, API base) when built,
and links and payments name the provider they came from, so a job asks for that one by name.
"""

from __future__ import annotations

import threading

from bot.platform.config import Settings, get_settings
from bot.providers.mercadopago import MercadoPagoProvider
from bot.providers.ports import MessagingProvider, PaymentProvider
from bot.providers.sandbox_messaging import SandboxMessaging
from bot.providers.sandbox_payments import SandboxPayments
from bot.providers.twilio import TwilioMessaging

MESSAGING_PROVIDERS = ("sandbox", "twilio")
PAYMENT_PROVIDERS = {"sandbox": SandboxPayments, "mercadopago": MercadoPagoProvider}

_lock = threading.Lock()
_messaging: dict[str, MessagingProvider] = {}
_override: MessagingProvider | None = None


def configured_messaging_provider(settings: Settings | None = None) -> MessagingProvider:
    """The provider ``MESSAGING_PROVIDER`` names, one per set-up; raises ``ValueError`` for an unknown name."""
    settings = settings or get_settings()
    key = f"{settings.messaging_provider}|{settings.twilio_api_base}|{settings.twilio_account_sid}"
    with _lock:
        if key not in _messaging:
            if settings.messaging_provider == "twilio":
                _messaging[key] = TwilioMessaging(settings)
            elif settings.messaging_provider == "sandbox":
                _messaging[key] = SandboxMessaging()
            else:
                raise ValueError(f"MESSAGING_PROVIDER must be sandbox or twilio, not {settings.messaging_provider!r}")
        return _messaging[key]


def messaging_provider() -> MessagingProvider:
    """The provider every send goes through: the one set with ``set_messaging_provider``, else the configured."""
    with _lock:
        override = _override
    return override or configured_messaging_provider()


def set_messaging_provider(provider: MessagingProvider | None) -> None:
    """Tests: use this provider for every send (None: back to the configured one, built afresh)."""
    global _override
    with _lock:
        _messaging.clear()
        _override = provider


def payment_provider(name: str | None = None) -> PaymentProvider:
    """The payments provider by name (default: ``PAYMENTS_PROVIDER``); raises ``LookupError`` for an unknown
    name (a link or payment stored under a provider this installation does not know)."""
    name = name or get_settings().payments_provider
    provider = PAYMENT_PROVIDERS.get(name)
    if provider is None:
        raise LookupError(f"unknown payments provider {name!r}")
    return provider()
