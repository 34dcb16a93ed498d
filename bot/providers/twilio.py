"""Twilio: the messaging provider for real phones, through the official twilio SDK.

``TwilioMessaging.send`` returns a ``ProviderResult(sid, status, error_code)`` or raises ``ProviderError``
(``retryable`` for 429/20429, 5xx and connection failures; ``AMBIGUOUS`` when the request may have reached
Twilio; permanent otherwise, with Twilio's error code). ``TWILIO_API_BASE`` (``settings.twilio_api_base``)
points the SDK at another base URL (tests run a local HTTP double of the Messages API), so the SDK's own
request code runs either way.

Delivery statuses come back from Twilio to the signed status webhook (``STATUS_CALLBACK_PATH``), so this
adapter needs none of the service's hooks. It implements ``bot.providers.ports.MessagingProvider`` and
imports nothing but the ports and the platform.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

from bot.platform.config import Settings, get_settings
from bot.platform.phones import is_demo_number
from bot.providers import twilio_content
from bot.providers.ports import (
    AMBIGUOUS,
    MAX_MEDIA_BYTES,
    MediaFile,
    MediaUnavailable,
    MessagingHooks,
    ProviderError,
    ProviderResult,
    check_send,
)

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
CONTENT_API = "https://content.twilio.com"  # the Content API (WhatsApp buttons: bot/providers/twilio_content.py)
STATUS_CALLBACK_PATH = "/webhooks/twilio/status"


def _address(e164: str, channel: str) -> str:
    return f"whatsapp:{e164}" if channel == "whatsapp" else e164


def default_status_callback(settings: Settings | None = None) -> str:
    return (settings or get_settings()).public_base_url + STATUS_CALLBACK_PATH


# The SDK (and requests) are imported where they are used: importing twilio costs about a second, and the
# sandbox, the web edge and the tests that never talk to Twilio should not pay it.
def _rebased_http_client(base: str, timeout: float):
    from twilio.http.http_client import TwilioHttpClient

    class RebasedHttpClient(TwilioHttpClient):
        """Sends the SDK's requests for ``https://api.twilio.com`` to ``base`` instead."""

        def request(self, method, url, *args, **kwargs):
            for host in (TWILIO_API, CONTENT_API):
                if base and url.startswith(host):
                    url = base.rstrip("/") + url[len(host) :]
            return super().request(method, url, *args, **kwargs)

    return RebasedHttpClient(timeout=timeout)


class TwilioMessaging:
    """The real thing: every send is a request to Twilio's Messages API (or ``TWILIO_API_BASE``)."""

    name = "twilio"
    rate_limited = True

    def __init__(self, settings: Settings | None = None, timeout: float = 15.0) -> None:
        self.settings = settings or get_settings()
        self.timeout = timeout
        self._client = None
        self._lock = threading.Lock()
        self.contents = twilio_content.ContentCache()

    @property
    def client(self):
        with self._lock:
            if self._client is None:
                from twilio.rest import Client

                s = self.settings
                self._client = Client(
                    s.twilio_account_sid,
                    s.twilio_auth_token,
                    http_client=_rebased_http_client(s.twilio_api_base, self.timeout),
                )
            return self._client

    def connect(self, hooks: MessagingHooks) -> None:
        """Nothing to take: Twilio renders templates itself and posts statuses to the signed webhook."""

    def sender(self, channel: str) -> str:
        return self.settings.twilio_whatsapp_from if channel == "whatsapp" else self.settings.twilio_sms_from

    def send(
        self,
        to_e164: str,
        channel: str,
        body: str | None = None,
        content_sid: str | None = None,
        content_variables: dict | str | None = None,
        status_callback: str | None = None,
        media_url: str | None = None,
        choices: list[dict[str, str]] | None = None,
    ) -> ProviderResult:
        import requests
        from twilio.base.exceptions import TwilioException, TwilioRestException

        check_send(channel, body, content_sid)
        if choices and channel == "whatsapp" and body and not content_sid and not media_url:
            buttons = self._buttons(body, choices)
            if buttons is not None:
                content_sid, content_variables = buttons
                body = None
            else:
                body = written_choices(body, choices)
        if is_demo_number(to_e164):
            # Demo data must never reach a real phone, whatever else went wrong (bot/platform/phones.py).
            raise ProviderError(
                f"{to_e164[:6]}… is a fictitious demo number: not sent through Twilio", code="21211", retryable=False
            )
        kwargs: dict[str, Any] = {
            "to": _address(to_e164, channel),
            "from_": _address(self.sender(channel), channel),
            "status_callback": status_callback or default_status_callback(self.settings),
        }
        if content_sid:
            kwargs["content_sid"] = content_sid
            if content_variables:
                kwargs["content_variables"] = (
                    content_variables
                    if isinstance(content_variables, str)
                    else json.dumps(content_variables, ensure_ascii=False)
                )
        else:
            kwargs["body"] = body
        if media_url and channel == "whatsapp":
            kwargs["media_url"] = [media_url]  # Twilio fetches it (a signed /d/ link) and attaches it
        try:
            message = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            code = str(exc.code) if exc.code is not None else None
            retryable = exc.status == 429 or code == "20429" or (exc.status or 0) >= 500
            raise ProviderError(
                exc.msg or str(exc), code=code or str(exc.status), http_status=exc.status, retryable=retryable
            ) from exc
        except (requests.exceptions.ConnectTimeout, requests.exceptions.SSLError) as exc:
            raise ProviderError(f"Twilio unreachable: {exc}", code="network", retryable=True) from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            if _never_sent(exc):
                raise ProviderError(f"Twilio unreachable: {exc}", code="network", retryable=True) from exc
            # The request may have reached Twilio and the answer got lost: the caller looks the message
            # up (find_sent) before sending it again, so a lost answer does not become a duplicate.
            raise ProviderError(f"no answer from Twilio: {exc}", code=AMBIGUOUS, retryable=True) from exc
        except TwilioException as exc:
            raise ProviderError(str(exc), code="twilio", retryable=False) from exc
        error_code = str(message.error_code) if getattr(message, "error_code", None) else None
        return ProviderResult(sid=message.sid, status=message.status or "queued", error_code=error_code)

    def _buttons(self, body: str, choices: list[dict[str, str]]) -> tuple[str, dict[str, str]] | None:
        """The session content that shows ``choices`` as WhatsApp buttons, created once per shape: ``(content_sid,
        variables)``, or None when WhatsApp cannot show them (then they are written in the text). Twilio away or
        throttling: ``ProviderError`` (retryable), as for a send."""
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            content = twilio_content.build(body, choices)
        except twilio_content.NoContent:
            return None
        sid = self.contents.get(content.key)
        if sid is None:
            try:
                sid = twilio_content.create(self.client, content)
            except TwilioRestException as exc:
                if exc.status == 429 or (exc.status or 0) >= 500:
                    raise ProviderError(
                        f"Twilio content: {exc.msg}", code=str(exc.code or exc.status), retryable=True
                    ) from exc
                log.error("Twilio refused the buttons' content (%s): sent as text", exc.code)
                return None
            except (TwilioException, OSError) as exc:
                raise ProviderError(f"Twilio content unreachable: {exc}", code="network", retryable=True) from exc
            except twilio_content.NoContent:
                return None
            self.contents.put(content.key, sid)
        return sid, content.variables

    def fetch_media(self, url: str) -> MediaFile:
        """The file behind an inbound ``MediaUrlN``: Twilio's media URLs answer only with the account's basic auth,
        which goes to Twilio's own API host and nowhere else (Twilio redirects to its media store with a signed URL;
        requests drops the credentials when a redirect leaves the host)."""
        import requests

        if not url.startswith(TWILIO_API + "/"):
            raise MediaUnavailable("not a Twilio media URL")
        s = self.settings
        target = s.twilio_api_base.rstrip("/") + url[len(TWILIO_API) :] if s.twilio_api_base else url
        try:
            with requests.get(
                target, auth=(s.twilio_account_sid, s.twilio_auth_token), timeout=self.timeout, stream=True
            ) as resp:
                if resp.status_code != 200:
                    raise MediaUnavailable(f"Twilio answered {resp.status_code}")
                content = resp.raw.read(MAX_MEDIA_BYTES + 1, decode_content=True)
                content_type = (resp.headers.get("Content-Type") or "application/octet-stream").split(";")[0]
        except requests.RequestException as exc:
            raise MediaUnavailable(f"Twilio could not be reached: {exc}") from exc
        if len(content) > MAX_MEDIA_BYTES:
            raise MediaUnavailable("the file is too large")
        return MediaFile(content, content_type.strip().lower())

    def find_sent(
        self, to_e164: str, channel: str, body: str | None, content_sid: str | None, since: datetime
    ) -> list[ProviderResult]:
        """Messages Twilio accepted for this recipient with this body since ``since``, newest first
        (after an ambiguous failure). Raises ProviderError (retryable) when Twilio cannot be asked."""
        from twilio.base.exceptions import TwilioException

        try:
            recent = self.client.messages.list(
                to=_address(to_e164, channel), from_=_address(self.sender(channel), channel), limit=50
            )
        except Exception as exc:
            code = "network" if not isinstance(exc, TwilioException) else "lookup"
            raise ProviderError(f"cannot look the message up: {exc}", code=code, retryable=True) from exc
        since = since - timedelta(seconds=60)  # the request's own duration and clock skew
        found = []
        for m in recent:
            created = m.date_created
            if created is not None and created.tzinfo is None:
                created = created.replace(tzinfo=timezone.utc)
            if created is not None and created < since:
                continue
            if content_sid or (m.body or "") == (body or ""):
                found.append(
                    ProviderResult(
                        sid=m.sid, status=m.status or "queued", error_code=str(m.error_code) if m.error_code else None
                    )
                )
        return found


def written_choices(body: str, choices: list[dict[str, str]]) -> str:
    """The choices as lines of the text, when they cannot be buttons: numbered replies, a link's URL."""
    replies = [c["title"] for c in choices if c.get("id") and not c.get("url")]
    lines = [body] + [f"{i}. {title}" for i, title in enumerate(replies, start=1)]
    lines += [f"{c['title']}: {c['url']}" for c in choices if c.get("url") and c["url"] not in body]
    return "\n".join(lines)


def _never_sent(exc: Exception) -> bool:
    """A connection refused or a DNS failure: the request never left."""
    text = repr(exc)
    return any(
        s in text
        for s in (
            "NewConnectionError",
            "ConnectionRefusedError",
            "NameResolutionError",
            "Failed to establish a new connection",
        )
    )
