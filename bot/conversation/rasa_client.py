"""The one Rasa client: every call the bot's processes make to the Rasa server goes through here.

Two doors into the same server, for two reasons to talk to the bot:

- ``post_turn``: a debtor's message runs one turn on Recobra's own input channel
  (``channels/recobra_input.py``), which answers with the bot's messages *and* the parse (intent,
  confidence, entities) for the store. The channel checks a shared secret in a header.
- ``trigger_intent``: the worker's scheduler injects an ``EXTERNAL_`` intent (a campaign reminder) into
  a debtor's conversation through Rasa's HTTP API, so the debtor's reply is understood in context.

Why a JWT in a header for the HTTP API, not Rasa's ``?token=`` query parameter: a token in a URL ends up in
logs, proxies and error messages. Rasa 3.6 also accepts a JWT signed with ``--jwt-secret``
(channels/rasa_server.py passes it from the environment) in ``Authorization: Bearer``; the worker signs one
per call, valid for a few minutes.

What counts as transient is decided here, once: Rasa unreachable or overloaded raises
``bot.platform.queue.Retry`` (the queue keeps the job and tries again later); a refusal that retrying cannot
change does not.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import jwt
import requests

from bot.messaging import choices
from bot.platform import logs, masking, metrics
from bot.platform.config import Settings, get_settings
from bot.platform.queue import Retry
from bot.store.models import Conversation, Debtor, Message

log = logging.getLogger(__name__)

# --- Rasa's HTTP API (trigger_intent) ------------------------------------------------------------
JWT_METHOD = "HS256"
LIFETIME_S = 300
TRIGGER_TIMEOUT = 30


def auth_headers(settings: Settings | None = None, now: float | None = None) -> dict[str, str]:
    settings = settings or get_settings()
    issued = int(now if now is not None else time.time())
    claims = {"user": {"username": "recobra-worker", "role": "admin"}, "iat": issued, "exp": issued + LIFETIME_S}
    return {"Authorization": "Bearer " + jwt.encode(claims, settings.rasa_jwt_secret, algorithm=JWT_METHOD)}


def trigger_intent(sender: str, name: str, entities: dict[str, Any]) -> list[str]:
    """Inject the intent ``name`` into ``sender``'s conversation; returns the bot's texts."""
    return [text for text, _offered in trigger_intent_answers(sender, name, entities)]


def trigger_intent_answers(
    sender: str, name: str, entities: dict[str, Any]
) -> list[tuple[str, list[dict[str, Any]] | None]]:
    """Inject the intent ``name`` into ``sender``'s conversation; returns the bot's texts with the choices each
    offers (``bot.messaging.choices``: a reminder's «¿le envío el link?» with «Sí» / «No»).

    Rasa down or failing (5xx) → ``Retry``; a request Rasa refuses (4xx) is logged and answers nothing,
    since sending it again would be refused again."""
    s = get_settings()
    started = time.perf_counter()
    try:
        response = requests.post(
            f"{s.rasa_url}/conversations/{sender}/trigger_intent",
            headers=auth_headers(s),
            json={"name": name, "entities": entities},
            timeout=TRIGGER_TIMEOUT,
        )
    except requests.RequestException as exc:
        _observe("trigger_intent", "retry", started)
        raise Retry(f"rasa unreachable: {exc}") from exc
    if response.status_code >= 500:
        _observe("trigger_intent", "retry", started)
        raise Retry(f"rasa answered {response.status_code}")
    if response.status_code >= 400:
        _observe("trigger_intent", "refused", started)
        log.error("rasa refused %s for %s: %s", name, masking.mask_phone(sender), response.text[:200])
        return []
    _observe("trigger_intent", "ok", started)
    return [(text, offered) for text, _attachment, offered in bot_answers(response.json().get("messages") or [])]


def _observe(call: str, outcome: str, started: float) -> None:
    metrics.RASA_SECONDS.labels(call, outcome).observe(time.perf_counter() - started)


def ping(timeout: float) -> None:
    """Rasa answers with a model loaded (``GET /status``, which needs the API's JWT; 409 while no model is)."""
    s = get_settings()
    response = requests.get(f"{s.rasa_url.rstrip('/')}/status", headers=auth_headers(s), timeout=timeout)
    if response.status_code != 200:
        raise ConnectionError(f"Rasa answered /status with HTTP {response.status_code}")


# --- Recobra's input channel (one debtor message, one turn) ---------------------------------------
CHANNEL_PATH = "/webhooks/recobra/webhook"
SECRET_HEADER = "X-Recobra-Secret"
TURN_TIMEOUT = (3.05, 60.0)  # connect, read: a turn with actions can take a while

_local = threading.local()


def _session() -> requests.Session:
    """One HTTP session (keep-alive to Rasa) per worker thread."""
    s = getattr(_local, "session", None)
    if s is None:
        s = _local.session = requests.Session()
    return s


def turn_payload(
    message: Message, conversation: Conversation, debtor: Debtor, picked: choices.Pick | None = None
) -> dict[str, Any]:
    """What the channel is told about one debtor message (the shape ``channels/recobra_input.py`` reads).

    ``picked``: the debtor chose one of the bot's own options (a button, or "2" on SMS): the turn's text is that
    option's intent payload, and ``metadata.choice`` tells the channel it comes from the bot's choices (the channel
    defuses any other text that looks like a payload)."""
    metadata: dict[str, Any] = {}
    if picked is not None and picked.acts:
        metadata[choices.METADATA_KEY] = picked.metadata()
    return {
        "sender": conversation.phone,
        # a card number never reaches the tracker
        "message": picked.payload if picked is not None and picked.acts else masking.mask_cards(message.body),
        "metadata": {
            **metadata,
            "channel": message.channel,
            "debtor_external_id": debtor.external_id,
            "message_id": message.provider_sid or str(message.id),
            # for the log lines of Rasa and the actions (bot/platform/logs.py): the edge's and the worker's ids
            logs.CONVERSATION_ID: conversation.id,
            logs.MESSAGE_SID: message.provider_sid,
            "locale": f"{debtor.language or 'es'}-{debtor.country}",
            "media": message.media or [],
        },
    }


def post_turn(payload: dict[str, Any]) -> dict[str, Any]:
    """Run one turn; returns ``{"messages": [...], "parse": {...}}`` (``parse`` may be missing)."""
    settings = get_settings()
    url = settings.rasa_url.rstrip("/") + CHANNEL_PATH
    started = time.perf_counter()
    try:
        resp = _session().post(
            url, json=payload, headers={SECRET_HEADER: settings.rasa_channel_secret}, timeout=TURN_TIMEOUT
        )
    except requests.RequestException as exc:
        _observe("turn", "retry", started)
        raise Retry(f"Rasa unreachable: {exc}") from exc
    if resp.status_code in (401, 403):
        _observe("turn", "retry", started)
        log.error("Rasa refused the channel secret (HTTP %s): check RASA_CHANNEL_SECRET", resp.status_code)
        raise Retry(f"Rasa refused the channel secret ({resp.status_code})")
    if resp.status_code >= 500 or resp.status_code in (404, 408, 429):
        _observe("turn", "retry", started)
        raise Retry(f"Rasa answered HTTP {resp.status_code}")
    if resp.status_code >= 400:
        _observe("turn", "refused", started)
        raise ValueError(f"Rasa rejected the message: HTTP {resp.status_code} {resp.text[:200]}")
    _observe("turn", "ok", started)
    try:
        data = resp.json()
    except ValueError as exc:
        raise Retry("Rasa answered something that is not JSON") from exc
    if isinstance(data, list):  # Rasa's plain rest channel shape
        data = {"messages": data}
    return data


def bot_answers(messages: list[dict[str, Any]]) -> list[tuple[str, str | None, list[dict[str, Any]] | None]]:
    """The bot's messages as ``(text, attachment URL or None, choices or None)``. Rasa sends an ``attachment`` as a
    message of its own after the text it came with (``utter_message(attachment=…)``): it goes with that text (a
    WhatsApp caption, or the link at the end of an SMS). The buttons stay choices (``bot.messaging.choices``): the
    outbox sends them as WhatsApp buttons or numbered SMS lines."""
    out: list[tuple[str, str | None, list[dict[str, Any]] | None]] = []
    for m in messages:
        attachment = m.get("attachment")
        offered = choices.clean(m.get("buttons")) or None
        texts = bot_texts([{k: v for k, v in m.items() if k not in ("attachment", "buttons")}])
        if offered and not texts:
            texts = ["\u2026"]  # choices on their own: WhatsApp needs some body
        out.extend((text, None, offered if i == len(texts) - 1 else None) for i, text in enumerate(texts))
        if isinstance(attachment, str) and attachment.startswith(("https://", "http://")):
            if out and out[-1][1] is None:
                out[-1] = (out[-1][0], attachment, out[-1][2])
            else:
                out.append(("\U0001f4c4", attachment, None))  # an attachment on its own: WhatsApp needs some body
    return out


def bot_texts(messages: list[dict[str, Any]]) -> list[str]:
    """Plain texts from the bot's messages; buttons, where a caller keeps them here, become numbered lines."""
    out = []
    for m in messages:
        text = (m.get("text") or "").strip()
        offered = choices.clean(m.get("buttons"))
        if offered:
            text = choices.numbered_text(text, offered)
        if m.get("image"):
            text = f"{text}\n{m['image']}" if text else m["image"]
        if text:
            out.append(text)
    return out
