"""The messaging provider: Twilio, or its sandbox twin, behind one ``send`` call.

``send(to_e164, channel, body=None, content_sid=None, content_variables=None, status_callback=None)``
returns a ``ProviderResult(sid, status, error_code)`` or raises ``ProviderError`` (``retryable`` for
429/20429, 5xx and connection failures; permanent otherwise, with Twilio's error code).

``TwilioMessaging`` uses the real twilio SDK. ``TWILIO_API_BASE`` (``settings.twilio_api_base``)
points the SDK at another base URL (tests run a local HTTP double of the Messages API), so the
SDK's own request code runs either way. ``SandboxMessaging`` records every send in a Redis outbox
(visible to every process) and plays Twilio's status callbacks queued → sent → delivered (→ read on
WhatsApp) through the same service function the signed status webhook uses.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from bot.platform.config import Settings, get_settings
from bot.platform.phones import is_demo_number

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
STATUS_CALLBACK_PATH = "/webhooks/twilio/status"


@dataclass(frozen=True)
class ProviderResult:
    sid: str | None
    status: str
    error_code: str | None = None


AMBIGUOUS = "ambiguous"  # the request may have reached Twilio but no answer came back


class ProviderError(Exception):
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


class MessagingProvider(Protocol):
    name: str
    rate_limited: bool

    def send(
        self,
        to_e164: str,
        channel: str,
        body: str | None = None,
        content_sid: str | None = None,
        content_variables: dict | str | None = None,
        status_callback: str | None = None,
    ) -> ProviderResult: ...


def _address(e164: str, channel: str) -> str:
    return f"whatsapp:{e164}" if channel == "whatsapp" else e164


def _check(channel: str, body: str | None, content_sid: str | None) -> None:
    if channel not in ("whatsapp", "sms"):
        raise ValueError(f"unknown channel {channel!r}")
    if content_sid and body:
        raise ValueError("a template send carries content_sid and variables, never a body")
    if not content_sid and not body:
        raise ValueError("nothing to send")
    if content_sid and channel != "whatsapp":
        raise ValueError("templates are a WhatsApp thing")


def default_status_callback(settings: Settings | None = None) -> str:
    return (settings or get_settings()).public_base_url + STATUS_CALLBACK_PATH


# --- Twilio ------------------------------------------------------------------------------------
def _rebased_http_client(base: str, timeout: float):
    from twilio.http.http_client import TwilioHttpClient

    class RebasedHttpClient(TwilioHttpClient):
        """Sends the SDK's requests for ``https://api.twilio.com`` to ``base`` instead."""

        def request(self, method, url, *args, **kwargs):
            if base and url.startswith(TWILIO_API):
                url = base.rstrip("/") + url[len(TWILIO_API) :]
            return super().request(method, url, *args, **kwargs)

    return RebasedHttpClient(timeout=timeout)


class TwilioMessaging:
    name = "twilio"
    rate_limited = True

    def __init__(self, settings: Settings | None = None, timeout: float = 15.0) -> None:
        self.settings = settings or get_settings()
        self.timeout = timeout
        self._client = None
        self._lock = threading.Lock()

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
    ) -> ProviderResult:
        import requests
        from twilio.base.exceptions import TwilioException, TwilioRestException

        _check(channel, body, content_sid)
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


# --- Sandbox -------------------------------------------------------------------------------------
OUTBOX_KEY = "recobra:sandbox:outbox"  # list of sids, oldest first
OUTBOX_ITEM = "recobra:sandbox:msg:"  # hash per sid
OUTBOX_TO = "recobra:sandbox:to:"  # list of sids per recipient E.164
PLAN_KEY = "recobra:sandbox:status-plan"  # zset "sid|status" scored by due time
OUTBOX_TTL = 7 * 24 * 3600

# Sandbox numbers that fail like Twilio's magic test numbers do (permanent errors).
SANDBOX_FAILURES = {
    "+15005550001": "21211",  # invalid number
    "+15005550004": "21610",  # unsubscribed (replied STOP)
    "+15005550009": "21614",  # not a mobile number
}


class SandboxMessaging:
    """Twilio's twin for demos and tests: nothing leaves the machine."""

    name = "sandbox"
    rate_limited = False

    def __init__(
        self, redis_client: Any = None, delays: tuple[float, ...] = (0.3, 0.8, 1.5), ticker: bool = True
    ) -> None:
        self._redis = redis_client
        self.delays = delays
        self.ticker = ticker

    @property
    def redis(self):
        if self._redis is None:
            from bot.platform.redis_client import get_redis

            return get_redis()
        return self._redis

    def send(
        self,
        to_e164: str,
        channel: str,
        body: str | None = None,
        content_sid: str | None = None,
        content_variables: dict | str | None = None,
        status_callback: str | None = None,
    ) -> ProviderResult:
        _check(channel, body, content_sid)
        if to_e164 in SANDBOX_FAILURES:
            code = SANDBOX_FAILURES[to_e164]
            raise ProviderError(f"sandbox: Twilio would refuse {to_e164} ({code})", code=code, http_status=400)
        sid = "SM" + secrets.token_hex(16)
        now = datetime.now(timezone.utc)
        if isinstance(content_variables, dict):
            content_variables = json.dumps(content_variables, ensure_ascii=False)
        shown = body
        if content_sid:
            from bot.messaging.templates import preview

            shown = preview(content_sid, content_variables)
        item = {
            "sid": sid,
            "to": to_e164,
            "channel": channel,
            "body": shown or "",
            "content_sid": content_sid or "",
            "content_variables": content_variables or "",
            "status": "queued",
            "created_at": now.isoformat().replace("+00:00", "Z"),
        }
        r = self.redis
        pipe = r.pipeline()
        pipe.hset(OUTBOX_ITEM + sid, mapping=item)
        pipe.expire(OUTBOX_ITEM + sid, OUTBOX_TTL)
        pipe.rpush(OUTBOX_KEY, sid)
        pipe.rpush(OUTBOX_TO + to_e164, sid)
        pipe.expire(OUTBOX_TO + to_e164, OUTBOX_TTL)
        chain = ["sent", "delivered"] + (["read"] if channel == "whatsapp" else [])
        t = time.time()
        for status, delay in zip(chain, self.delays, strict=False):
            pipe.zadd(PLAN_KEY, {f"{sid}|{status}": t + delay})
        pipe.execute()
        if self.ticker:
            _ensure_ticker(self)
        return ProviderResult(sid=sid, status="queued")

    # The outbox, as GET /api/v1/sandbox/outbox shows it.
    def outbox(self, to_e164: str | None = None, limit: int = 500) -> list[dict[str, str]]:
        r = self.redis
        key = OUTBOX_TO + to_e164 if to_e164 else OUTBOX_KEY
        sids = [s.decode() if isinstance(s, bytes) else s for s in r.lrange(key, -limit, -1)]
        pipe = r.pipeline()
        for sid in sids:
            pipe.hgetall(OUTBOX_ITEM + sid)
        out = []
        for raw in pipe.execute():
            if raw:
                out.append(
                    {
                        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                        for k, v in raw.items()
                    }
                )
        return out

    def advance(self, now: float | None = None) -> int:
        """Play the status callbacks that are due; each one is taken by exactly one process."""
        from bot.messaging.outbox import status_moves_forward

        r = self.redis
        now = time.time() if now is None else now
        due = r.zrangebyscore(PLAN_KEY, 0, now, start=0, num=200)
        taken: list[tuple[str, str]] = []
        for raw in due:
            member = raw.decode() if isinstance(raw, bytes) else raw
            if not r.zrem(PLAN_KEY, member):
                continue  # another process took it
            sid, _, status = member.partition("|")
            current = r.hget(OUTBOX_ITEM + sid, "status")
            current = current.decode() if isinstance(current, bytes) else current
            if status_moves_forward(current, status):
                r.hset(OUTBOX_ITEM + sid, "status", status)
            taken.append((sid, status))
        if taken:
            try:
                _apply_statuses(taken)
            except Exception:  # statuses for messages the store no longer has: harmless
                log.exception("sandbox statuses not applied")
        return len(taken)


def _apply_statuses(statuses: list[tuple[str, str]]) -> None:
    """The same service function the signed status webhook calls, in one transaction."""
    from bot.messaging import outbox
    from bot.store.db import session_scope

    with session_scope() as session:
        outbox.begin_write(session)
        for sid, status in statuses:
            outbox.apply_status(session, sid, status, None)


_ticker_lock = threading.Lock()
_ticker: tuple[threading.Thread, threading.Event] | None = None


def _ensure_ticker(provider: SandboxMessaging, every: float = 0.25) -> None:
    """One daemon thread per process that plays due sandbox status callbacks."""
    global _ticker
    with _ticker_lock:
        if _ticker is not None and _ticker[0].is_alive():
            return
        stop = threading.Event()

        def run() -> None:
            while not stop.is_set():
                try:
                    SandboxMessaging(ticker=False).advance()
                except Exception as exc:
                    log.debug("sandbox ticker: %s", exc)
                stop.wait(every)

        _ticker = (threading.Thread(target=run, name="sandbox-status", daemon=True), stop)
        _ticker[0].start()


def stop_ticker(timeout: float = 5.0) -> None:
    """Stop this process's status ticker after the batch it is applying, so nothing writes behind a shutdown
    (or behind a test emptying the store); the next sandbox send starts a new one."""
    global _ticker
    with _ticker_lock:
        ticker, _ticker = _ticker, None
    if ticker is not None:
        ticker[1].set()
        ticker[0].join(timeout)


_provider_lock = threading.Lock()
_providers: dict[str, MessagingProvider] = {}


def get_provider(settings: Settings | None = None) -> MessagingProvider:
    settings = settings or get_settings()
    key = f"{settings.messaging_provider}|{settings.twilio_api_base}|{settings.twilio_account_sid}"
    with _provider_lock:
        if key not in _providers:
            if settings.messaging_provider == "twilio":
                _providers[key] = TwilioMessaging(settings)
            elif settings.messaging_provider == "sandbox":
                _providers[key] = SandboxMessaging()
            else:
                raise ValueError(f"MESSAGING_PROVIDER must be sandbox or twilio, not {settings.messaging_provider!r}")
        return _providers[key]


def set_provider(provider: MessagingProvider | None) -> None:
    """Tests: use this provider for every send (None: back to the configured one)."""
    with _provider_lock:
        _providers.clear()
        if provider is not None:
            _providers["override"] = provider


def current_provider() -> MessagingProvider:
    with _provider_lock:
        override = _providers.get("override")
    return override or get_provider()
