"""Recobra's own Rasa input channel, mounted in the Rasa server (``credentials.yml``).

``POST /webhooks/recobra/webhook`` with the shared secret in ``X-Recobra-Secret`` and a JSON body
``{"sender": "+57…", "message": "…", "metadata": {"channel", "debtor_external_id", "message_id",
"locale", "media", "conversation_id", "message_sid", "choice"}}`` runs one dialogue turn and answers with what the bot
said plus how the message was understood::

    {"messages": [{"recipient_id", "text", ...}], "parse": {"intent", "confidence", "entities", ...},
     "replayed": false}

Rasa never sends anything itself and never holds Twilio credentials: the worker sends the
messages. Unlike Rasa's ``rest`` channel, a failed turn is an HTTP error (so the worker retries)
rather than an empty 200, the action server is checked before the turn (Rasa would otherwise
carry on without the action's events), and a turn is never run twice: a ``message_id`` already in
the tracker replays that turn's bot messages instead of running the dialogue again.

Logs: each turn writes one line with ``conversation_id`` and ``message_sid`` bound (structlog contextvars, which
Rasa's own structlog events merge too); with ``RECOBRA_LOG_FORMAT=json`` (or in production) this module's lines are
JSON like the rest of Recobra's (``configure_log``). The sender's phone shows as its last four digits only.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import sys
import time
import unicodedata
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Recobra-Secret"
MAX_TEXT = 4096
_BOT_DATA_KEYS = ("image", "buttons", "attachment", "custom", "quick_replies", "elements")


class RecobraInput(InputChannel):
    """The ``recobra`` channel: authenticated by a shared secret, answers in the HTTP response."""

    @classmethod
    def name(cls) -> str:
        return "recobra"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        secret = (credentials or {}).get("secret")
        if not secret or str(secret).startswith("${"):
            cls.raise_missing_credentials_exception()
        configure_log()
        return cls(str(secret))

    def __init__(self, secret: str, action_health_ttl: float = 5.0, health_timeout: float = 5.0) -> None:
        self.secret = secret
        self.action_health_ttl = action_health_ttl
        # Generous: under load the event loop itself is busy with other turns' NLU, and a slow answer
        # from a live action server must not turn every waiting message into a 503 and a retry.
        self.health_timeout = health_timeout
        self._action_ok_until = 0.0
        self._health_check: asyncio.Future[bool] | None = None

    # --- the turn, independent of Sanic (unit-tested directly) -------------------------------
    async def handle(
        self, secret: str | None, payload: Any, agent: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> tuple[int, dict[str, Any]]:
        if not secret or not hmac.compare_digest(secret.encode(), self.secret.encode()):
            return 401, _error("unauthorized", f"missing or wrong {SECRET_HEADER}")
        if not isinstance(payload, dict):
            return 400, _error("bad_request", "send a JSON object")
        sender = payload.get("sender")
        text = payload.get("message")
        metadata = payload.get("metadata")
        metadata = {} if metadata is None else metadata
        if not isinstance(sender, str) or not sender.strip():
            return 400, _error("bad_request", "sender is required")
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            return 400, _error("bad_request", f"message must be a string of at most {MAX_TEXT} characters")
        if not isinstance(metadata, dict):
            return 400, _error("bad_request", "metadata must be an object")
        if agent is None or not _is_ready(agent):
            return 503, _error("not_ready", "no model loaded yet")
        if not picked_choice(metadata, text):
            text = defuse_intent_syntax(text)
        message_id = str(metadata["message_id"]) if metadata.get("message_id") not in (None, "") else None

        if message_id:
            tracker = await agent.tracker_store.retrieve(sender)
            replay = replay_turn(tracker, message_id, sender)
            if replay is not None:
                return 200, {**replay, "replayed": True}

        if not await self._action_server_up(agent):
            return 503, _error("action_server_unavailable", "the action server does not answer")

        collector = CollectingOutputChannel()
        started = time.perf_counter()
        # The turn's ids on every structlog line of this task: ours below, and Rasa's own (its structlog chain
        # merges contextvars), so the worker's and the actions' lines of the same message can be matched.
        with structlog.contextvars.bound_contextvars(**turn_ids(metadata)):
            try:
                await on_new_message(
                    UserMessage(
                        text, collector, sender, input_channel=self.name(), message_id=message_id, metadata=metadata
                    )
                )
            except Exception:  # the worker retries; a replay returns what was said before the failure
                log.exception("recobra turn failed for a message of %s", _mask(sender))
                return 500, _error("turn_failed", "the dialogue turn failed")
            parse: dict[str, Any] = {}
            tracker = await agent.tracker_store.retrieve(sender)
            if tracker is not None:
                event = _find_user_event(tracker, message_id) if message_id else tracker.latest_message
                parse = parse_summary(getattr(event, "parse_data", None) or {})
            log.info(
                "recobra turn of %s: %d messages, intent %s, %.0f ms",
                _mask(sender),
                len(collector.messages),
                parse.get("intent") or "-",
                (time.perf_counter() - started) * 1000,
            )
        return 200, {"messages": collector.messages, "parse": parse, "replayed": False}

    async def _action_server_up(self, agent: Any) -> bool:
        endpoint = getattr(agent, "action_endpoint", None)
        url = getattr(endpoint, "url", None)
        if not url:
            return True
        if time.monotonic() < self._action_ok_until:
            return True
        # One check at a time: the turns that arrive meanwhile wait for its answer instead of each
        # opening a connection of its own (50 debtors at once would be 50 checks).
        if self._health_check is None or self._health_check.done():
            self._health_check = asyncio.ensure_future(self._check_action_server(url))
        return await asyncio.shield(self._health_check)

    async def _check_action_server(self, url: str) -> bool:
        import aiohttp

        health = url.rstrip("/")
        if health.endswith("/webhook"):
            health = health[: -len("/webhook")]
        try:
            timeout = aiohttp.ClientTimeout(total=self.health_timeout)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.get(health + "/health") as resp:
                    ok = resp.status == 200
        except Exception as exc:
            log.warning("action server health check failed: %s", exc)
            ok = False
        if ok:
            self._action_ok_until = time.monotonic() + self.action_health_ttl
        return ok

    # --- Sanic ----------------------------------------------------------------------------
    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("custom_webhook_RecobraInput", __name__)

        @bp.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                payload = request.json
            except Exception:
                payload = None
            agent = getattr(request.app.ctx, "agent", None)
            status, body = await self.handle(request.headers.get(SECRET_HEADER), payload, agent, on_new_message)
            return response.json(body, status=status, ensure_ascii=False)

        return bp


def turn_ids(metadata: dict[str, Any]) -> dict[str, Any]:
    """The ids the worker puts in the metadata (``conversation_id``, ``message_sid``: see bot/platform/logs.py)."""
    found = {"conversation_id": metadata.get("conversation_id"), "message_sid": metadata.get("message_sid")}
    return {k: v for k, v in found.items() if v not in (None, "")}


def json_logs(environ: Any = os.environ) -> bool:
    """As bot/platform/config.py decides: RECOBRA_LOG_FORMAT=json|text, else JSON in production."""
    chosen = environ.get("RECOBRA_LOG_FORMAT", "").strip().lower()
    if chosen in ("json", "text"):
        return chosen == "json"
    return environ.get("RECOBRA_ENV", "").strip().lower() == "production"


def configure_log(stream: Any = None, environ: Any = os.environ) -> None:
    """In JSON mode, this channel's lines as the rest of Recobra writes them (one JSON object a line with the bound
    ids; structlog, which Rasa itself depends on); otherwise Rasa's own logging, as before. Only this module's
    logger: Rasa's handlers and format stay Rasa's."""
    for handler in list(log.handlers):
        if getattr(handler, "_recobra_handler", False):
            log.removeHandler(handler)
    if not json_logs(environ):
        log.propagate = True
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._recobra_handler = True  # type: ignore[attr-defined]
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(ensure_ascii=False),
            ],
            foreign_pre_chain=[
                structlog.contextvars.merge_contextvars,
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                lambda _l, _m, event: {**event, "process": "rasa"},
            ],
        )
    )
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


# the metadata key the worker sets when the debtor picked one of the bot's own choices (bot/messaging/choices.py)
CHOICE_KEY = "choice"


def picked_choice(metadata: dict[str, Any], text: str) -> bool:
    """The text is the intent payload of a choice the bot offered (a WhatsApp button, "2" on SMS), read by the worker
    from the bot's own stored options, not typed: it goes to Rasa as the payload it is. Only the worker can say so
    (this channel is behind its secret); any other text that looks like a payload is defused."""
    return isinstance(metadata.get(CHOICE_KEY), dict) and text.startswith("/") and "\n" not in text


def defuse_intent_syntax(text: str) -> str:
    """``text`` unable to pick an intent: Rasa reads a message starting "/" as "/intent{entities}" once it
    has stripped it (``str.strip``: every Unicode whitespace, NBSP and ideographic space included), so a
    debtor typing " /opt_out" or "\u00a0/EXTERNAL_payment_confirmed" must not steer the bot. Invisible
    format characters (zero-width spaces, joiners, BOM, direction marks) in front are looked through too,
    in case any layer drops them. Such a text gets one zero-width space in front, which ``strip`` keeps and
    which changes nothing the debtor or an agent sees; any other text is left alone."""
    start = 0
    while start < len(text) and (text[start].isspace() or unicodedata.category(text[start]) == "Cf"):
        start += 1
    if not text.startswith("/", start):
        return text
    return "\u200b" + text[start:]


def _is_ready(agent: Any) -> bool:
    is_ready = getattr(agent, "is_ready", None)
    return bool(is_ready()) if callable(is_ready) else True


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _mask(sender: str) -> str:
    """The last four digits only: never more than bot.platform.masking.mask_phone shows (combined, masks must not
    add up to the whole number); no import of bot/ here, this runs in the Rasa runtime."""
    return "••••" + sender[-4:] if len(sender) > 4 else "••••"


def _find_user_event(tracker: Any, message_id: str | None) -> UserUttered | None:
    for event in reversed(list(tracker.events)):
        if isinstance(event, UserUttered) and event.message_id == message_id:
            return event
    return None


def replay_turn(tracker: Any, message_id: str, sender: str) -> dict[str, Any] | None:
    """The bot messages and parse of an already-processed ``message_id``, or None if it is new."""
    if tracker is None:
        return None
    events = list(tracker.events)
    start = None
    for i in range(len(events) - 1, -1, -1):
        if isinstance(events[i], UserUttered) and events[i].message_id == message_id:
            start = i
            break
    if start is None:
        return None
    messages = []
    for event in events[start + 1 :]:
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered):
            item: dict[str, Any] = {"recipient_id": sender}
            if event.text is not None:
                item["text"] = event.text
            for key in _BOT_DATA_KEYS:
                value = (event.data or {}).get(key)
                if value is not None:
                    item[key] = value
            messages.append(item)
    return {"messages": messages, "parse": parse_summary(events[start].parse_data or {})}


def parse_summary(parse_data: dict[str, Any]) -> dict[str, Any]:
    """Intent, confidence and entities as the store keeps them (and the retrieval intent, if any)."""
    intent = parse_data.get("intent") or {}
    name = intent.get("name")
    out: dict[str, Any] = {
        "intent": name,
        "confidence": float(intent["confidence"]) if intent.get("confidence") is not None else None,
        "entities": [
            {k: e[k] for k in ("entity", "value", "start", "end", "role", "group", "extractor") if k in e}
            for e in parse_data.get("entities") or []
        ],
    }
    selector = parse_data.get("response_selector") or {}
    chosen = selector.get(name or "") or selector.get("default") if isinstance(selector, dict) else None
    if isinstance(chosen, dict):
        key = (chosen.get("response") or {}).get("intent_response_key")
        if key:
            out["retrieval_intent"] = key
    return out
