"""The sandbox messaging provider: Twilio's twin for demos and tests, nothing leaves the machine.

Every send is recorded in a Redis outbox (visible to every process: ``GET /api/v1/sandbox/outbox`` and the
phone simulator read it) and planned to move queued → sent → delivered (→ read on WhatsApp), the status
callbacks Twilio would post. A daemon thread per process (the ticker) plays the due ones, each taken by
exactly one process, and hands them to the ``statuses`` hook the messaging service lent with ``connect``:
the outbox's ``apply_statuses``, which ends in the same ``apply_status`` the signed status webhook calls.
A template send shows the text the service's ``preview`` hook renders.

The hooks come in, rather than this module importing the outbox, so that the adapter depends on the ports
only (``bot.providers.ports``) and the service on the adapter only through the factory.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from datetime import datetime, timezone
from typing import Any

from bot.platform.config import get_settings
from bot.platform.redis_client import get_redis
from bot.providers.ports import (
    MediaFile,
    MediaUnavailable,
    MessagingHooks,
    ProviderError,
    ProviderResult,
    check_send,
    status_moves_forward,
)

log = logging.getLogger(__name__)

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


# The phone simulator's "photo of a receipt" (``/sandbox/phone/sample-receipt.svg`` serves it; the agent console
# shows it through ``fetch_media``, as it shows a real one from Twilio).
SAMPLE_RECEIPT_PATH = "/sandbox/phone/sample-receipt.svg"
SAMPLE_RECEIPT = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="240" height="320"><rect width="240" height="320" '
    b'fill="#fff" stroke="#999"/><text x="20" y="40" font-size="18">Comprobante de pago</text>'
    b'<text x="20" y="80" font-size="14">Referencia 000123</text></svg>'
)


class SandboxMessaging:
    """Twilio's twin for demos and tests: nothing leaves the machine."""

    name = "sandbox"
    rate_limited = False

    def __init__(
        self,
        redis_client: Any = None,
        delays: tuple[float, ...] = (0.3, 0.8, 1.5),
        ticker: bool = True,
        hooks: MessagingHooks | None = None,
    ) -> None:
        self._redis = redis_client
        self.delays = delays
        self.ticker = ticker
        self.hooks = hooks

    def connect(self, hooks: MessagingHooks) -> None:
        """Take the service's hooks; they also become this process's ticker's (there is one per process)."""
        self.hooks = hooks
        _ticker_hooks(hooks)

    @property
    def redis(self):
        if self._redis is None:
            return get_redis()
        return self._redis

    def fetch_media(self, url: str) -> MediaFile:
        """The simulator's sample receipt (the only media the sandbox phone sends); nothing else is fetched."""
        if url == get_settings().public_base_url.rstrip("/") + SAMPLE_RECEIPT_PATH:
            return MediaFile(SAMPLE_RECEIPT, "image/svg+xml")
        raise MediaUnavailable("the sandbox has no such file")

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
        check_send(channel, body, content_sid)
        if to_e164 in SANDBOX_FAILURES:
            code = SANDBOX_FAILURES[to_e164]
            raise ProviderError(f"sandbox: Twilio would refuse {to_e164} ({code})", code=code, http_status=400)
        sid = "SM" + secrets.token_hex(16)
        now = datetime.now(timezone.utc)
        if isinstance(content_variables, dict):
            content_variables = json.dumps(content_variables, ensure_ascii=False)
        shown = body
        if content_sid:
            shown = self.hooks.preview(content_sid, content_variables) if self.hooks else ""
        item = {
            "sid": sid,
            "to": to_e164,
            "channel": channel,
            "body": shown or "",
            "content_sid": content_sid or "",
            "content_variables": content_variables or "",
            "media_url": media_url or "",  # the phone simulator shows it as an attachment
            # the WhatsApp buttons Twilio would show ([{"id", "title"}], a link's with "url"), as JSON
            "choices": json.dumps(choices, ensure_ascii=False) if choices and channel == "whatsapp" else "",
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
            _ensure_ticker(self.hooks)
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
        """Play the status callbacks that are due; each one is taken by exactly one process. The Redis outbox
        moves here; the store moves through the ``statuses`` hook (no hook yet: the Redis outbox only)."""
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
        if taken and self.hooks is not None:
            try:
                self.hooks.statuses(taken)
            except Exception:  # statuses for messages the store no longer has: harmless
                log.exception("sandbox statuses not applied")
        return len(taken)


_ticker_lock = threading.Lock()
_ticker: tuple[threading.Thread, threading.Event] | None = None
_hooks: MessagingHooks | None = None  # the hooks this process's ticker hands statuses to


def _ticker_hooks(hooks: MessagingHooks | None) -> None:
    global _hooks
    if hooks is not None:
        with _ticker_lock:
            _hooks = hooks


def _ensure_ticker(hooks: MessagingHooks | None, every: float = 0.25) -> None:
    """One daemon thread per process that plays due sandbox status callbacks (with the latest hooks)."""
    global _ticker
    _ticker_hooks(hooks)
    with _ticker_lock:
        if _ticker is not None and _ticker[0].is_alive():
            return
        stop = threading.Event()

        def run() -> None:
            while not stop.is_set():
                try:
                    SandboxMessaging(ticker=False, hooks=_hooks).advance()
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
