"""The ports: what the services ask of a messaging or payments provider, and the values they exchange.

The services (``bot.messaging.outbox``, ``bot.billing.payment_links``, ``bot.billing.payment_events``, the
payment jobs) drive a provider only through the Protocols here; the adapters (``twilio``,
``sandbox_messaging``, ``mercadopago``, ``sandbox_payments``) implement them. Both sides import this module
and nothing of each other, so dependencies point one way: services -> providers.ports <- adapters, and an
adapter never reaches back into a service. ``bot.providers.factory`` picks the adapter from the settings.

The values live here, not in a service, because both sides speak them: a ``LinkRequest`` is built by the
billing service and read by Mercado Pago's adapter; Twilio's delivery statuses are recorded by the
outbox and played by the sandbox.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

# --- Messaging -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderResult:
    """What the provider answered for one send (or found when asked after a lost answer)."""

    sid: str | None
    status: str
    error_code: str | None = None


AMBIGUOUS = "ambiguous"  # the request may have reached Twilio but no answer came back


class ProviderError(Exception):
    """A send failed: ``retryable`` for throttling, 5xx and network failures; permanent otherwise, with
    Twilio's error code (the outbox records it and reflects it on the debtor's contact status)."""

    def __init__(
        self, message: str, code: str | None = None, http_status: int | None = None, retryable: bool = False
    ) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status
        self.retryable = retryable

    @property
    def ambiguous(self) -> bool:
        return self.code == AMBIGUOUS


CHANNELS = ("whatsapp", "sms")


def check_send(channel: str, body: str | None, content_sid: str | None) -> None:
    """What every adapter refuses before sending: a send is a body or a template, on a known channel."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if content_sid and body:
        raise ValueError("a template send carries content_sid and variables, never a body")
    if not content_sid and not body:
        raise ValueError("nothing to send")
    if content_sid and channel != "whatsapp":
        raise ValueError("templates are a WhatsApp thing")


# Delivery statuses in the order they happen; callbacks may arrive out of order. Here because the outbox
# records them and the sandbox plays them, and both must agree on what "later" means.
STATUS_RANK = {
    "pending": 0,
    "accepted": 1,
    "scheduled": 1,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "read": 5,
}
FAILED_STATUSES = frozenset({"failed", "undelivered", "canceled"})


def status_moves_forward(current: str | None, new: str) -> bool:
    """True when ``new`` is later than ``current``: never backwards; failed/undelivered are final,
    and a failure reported after delivery does not undo the delivery."""
    if current in FAILED_STATUSES:
        return False
    if new in FAILED_STATUSES:
        return current not in ("delivered", "read")
    if new not in STATUS_RANK:
        return False
    return STATUS_RANK[new] > STATUS_RANK.get(current or "", -1)


# ``[(sid, status), ...]``: delivery statuses to record, in one go.
StatusSink = Callable[[list[tuple[str, str]]], None]
# ``(content_sid, content_variables) -> text``: what a template send shows the recipient.
TemplatePreview = Callable[[str | None, str | dict | None], str]


@dataclass(frozen=True)
class MessagingHooks:
    """What the messaging service lends a provider that plays Twilio's part itself (the sandbox).

    Twilio renders approved templates and posts delivery statuses to the signed status webhook, which calls
    the outbox. The sandbox has neither: it shows the template's text through ``preview`` and reports the
    statuses it plays through ``statuses``, the same service function the webhook ends in. Passing them in
    keeps the adapter free of any import of the service.
    """

    statuses: StatusSink
    preview: TemplatePreview


class MessagingProvider(Protocol):
    """Sends one WhatsApp or SMS message (a body, or an approved template's content SID and variables).

    ``send`` returns a ``ProviderResult`` or raises ``ProviderError``. ``media_url`` (WhatsApp only): a public
    address the provider fetches and attaches to the message (Twilio's ``MediaUrl``), e.g. a statement PDF.
    A provider may also offer ``find_sent(to_e164, channel, body, content_sid, since) -> list[ProviderResult]``:
    the outbox asks it after an ``AMBIGUOUS`` failure before sending again.
    """

    name: str
    rate_limited: bool  # True: sends are paced by the per-sender token bucket

    def send(
        self,
        to_e164: str,
        channel: str,
        body: str | None = None,
        content_sid: str | None = None,
        content_variables: dict | str | None = None,
        status_callback: str | None = None,
        media_url: str | None = None,
    ) -> ProviderResult: ...

    def connect(self, hooks: MessagingHooks) -> None:
        """Take the service's hooks (see ``MessagingHooks``); a provider that needs none ignores them."""
        ...


@dataclass(frozen=True)
class MediaFile:
    """A file a debtor sent (a photo or PDF of a payment receipt), as fetched from the provider."""

    content: bytes
    content_type: str


MAX_MEDIA_BYTES = 16 * 1024 * 1024  # WhatsApp's own limit for a document is 100 MB; a receipt is far smaller


class MediaUnavailable(Exception):
    """The file cannot be fetched (not the provider's URL, gone, too large, the provider down)."""


class MediaSource(Protocol):
    """What a messaging provider may also offer: the file behind an inbound media URL, fetched with the account's
    own credentials (Twilio's media URLs want them), so that a person sees it without the browser ever holding them.
    ``fetch_media`` refuses a URL that is not the provider's own (the credentials go nowhere else)."""

    def fetch_media(self, url: str) -> MediaFile: ...


# --- Payments --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkItem:
    """One invoice of a checkout that pays several: a line of its own on the provider's page."""

    invoice_external_id: str
    description: str
    amount: Decimal


@dataclass(frozen=True)
class LinkRequest:
    """A checkout for exactly ``amount``: what the billing service asks a provider to create. A checkout for
    several invoices lists them in ``items`` (their amounts add up to ``amount``) and has no
    ``invoice_external_id``."""

    reference: str
    amount: Decimal
    currency: str
    description: str
    expires_at: datetime
    debtor_external_id: str
    invoice_external_id: str | None
    items: tuple[LinkItem, ...] = ()


@dataclass(frozen=True)
class ProviderLink:
    url: str  # the checkout URL the debtor opens
    provider_ref: str | None = None  # e.g. a Mercado Pago preference id


# A provider's payment as Recobra reads it, the same shape from every provider: ``id``, ``status``,
# ``status_detail``, ``transaction_amount`` (Decimal), ``transaction_amount_refunded``, ``currency_id``,
# ``external_reference`` (our link's reference), ``date_approved``, ``date_of_expiration`` (aware datetimes
# or None), ``payment_method_id``, ``payment_type_id``, ``ticket_url``.
PaymentInfo = dict[str, Any]

# Statuses a payment can still move from (the reconciliation re-checks them).
OPEN_STATUSES = frozenset({"pending", "in_process", "authorized", "in_mediation"})


class PaymentProviderError(Exception):
    """The provider refused the request (bad data, bad credentials): retrying will not help."""


class ProviderUnavailable(PaymentProviderError):
    """The provider could not be reached or failed on its side: try again later."""


class PaymentProvider(Protocol):
    """Creates checkout links and answers what became of a payment (a notification's body is never trusted:
    the payment is always fetched). Failures raise ``PaymentProviderError`` or ``ProviderUnavailable``."""

    name: str  # stored on links and payments: the factory finds the provider again by it

    def create_link(self, request: LinkRequest) -> ProviderLink: ...

    def get_payment(self, payment_id: str) -> PaymentInfo: ...

    def search_payments(self, external_reference: str) -> list[PaymentInfo]: ...
