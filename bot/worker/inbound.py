"""``inbound_message`` jobs: one debtor message through keywords, hand-off, the bot, and back out.

Order of decisions for a stored inbound message:

1. already processed → only send what is still pending (a redelivered job answers nothing twice);
2. a compliance keyword (BAJA/STOP…, ALTA/START…, AYUDA/HELP…) → recorded and answered here;
3. a number with no debtor → a polite answer that discloses nothing, no bot;
4. an opted-out debtor → reminded how to opt back in, no bot;
5. a conversation in human hands → kept for the agent console, no bot;
6. media with no text → kept on the message and acknowledged;
7. otherwise the bot: Rasa's ``recobra`` channel runs the turn and returns the answer and the parse.

The inbound message is marked ``processed`` in the same transaction that adds the answer's outbound
rows, then the rows are sent in order. Rasa down → ``Retry``: the job stays queued and is retried
with backoff; nothing is lost and nothing is answered twice (the channel also replays a turn it
already ran for the same ``message_id``).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import requests
import yaml
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.conversation import keywords
from bot.messaging import outbox
from bot.platform import masking
from bot.platform.config import ROOT, get_settings
from bot.platform.queue import Job, Retry
from bot.store.db import session_scope
from bot.store.models import AuditLog, Conversation, Debtor, Message
from bot.worker.jobs import handles
from bot.worker.main import periodic

log = logging.getLogger(__name__)

REPLIES_FILE = ROOT / "config" / "edge_replies.yml"
RASA_CHANNEL_PATH = "/webhooks/recobra/webhook"
SECRET_HEADER = "X-Recobra-Secret"
RASA_TIMEOUT = (3.05, 60.0)  # connect, read: a turn with actions can take a while
SWEEP_AFTER = timedelta(minutes=2)

PROCESSED = "processed"
MAX_ATTEMPTS = 5


@lru_cache(maxsize=1)
def _replies(path: str = str(REPLIES_FILE)) -> dict[str, dict[str, str]]:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def reply_text(key: str, language: str = "es") -> str:
    replies = _replies()
    text = (replies.get(language) or {}).get(key) or replies["es"][key]
    return text.format(business=get_settings().business_name)


_local = threading.local()


def _session() -> requests.Session:
    """One HTTP session (keep-alive to Rasa) per worker thread."""
    s = getattr(_local, "session", None)
    if s is None:
        s = _local.session = requests.Session()
    return s


@handles("inbound_message")
def handle_inbound(job: Job) -> None:
    message_id = int(job.payload["message_id"])
    with session_scope() as session:
        message = session.get(Message, message_id)
        if message is None:
            log.warning("inbound message %s is gone; nothing to do", message_id)
            return
        conversation_id = message.conversation_id
        # Everything of this conversation up to this message, oldest first: a message queued again
        # by the sweeper never overtakes an older one.
        todo = list(
            session.execute(
                select(Message.id)
                .where(
                    Message.conversation_id == conversation_id,
                    Message.direction == "in",
                    Message.status == "received",
                    Message.id <= message_id,
                )
                .order_by(Message.id)
            ).scalars()
        )
        for mid in todo:
            try:
                outbox.retry_on_lock(session, lambda mid=mid: process_message(mid, session))
            except (Retry, OperationalError):
                raise  # transient: the queue tries again later
            except Exception:
                _count_failure(session, mid)
                raise
        outbox.deliver_pending(session, conversation_id)


def _count_failure(session: Session, message_id: int) -> None:
    """A message that keeps failing (not a transient outage) is set aside after a few tries, so it
    does not hold up the rest of the conversation forever; it stays in the store for a person."""
    session.rollback()

    def count() -> None:
        message = session.get(Message, message_id)
        if message is None:
            return
        message.attempts = (message.attempts or 0) + 1
        if message.attempts >= MAX_ATTEMPTS:
            message.status = "error"
            log.error("inbound message %s set aside after %d failures", message_id, message.attempts)
        session.commit()

    outbox.retry_on_lock(session, count)


def process_message(message_id: int, session: Session | None = None) -> None:
    """Decide and record the answer to one inbound message (not yet sent). Idempotent; commits."""
    if session is None:
        with session_scope() as own:
            return process_message(message_id, own)
    message = session.get(Message, message_id)
    if message is None or message.status != "received":
        return
    try:
        conversation = session.get(Conversation, message.conversation_id)
        debtor = session.get(Debtor, conversation.debtor_id) if conversation.debtor_id else None
        answers, parse = decide(session, message, conversation, debtor)
        if message.status != "received":  # read again after Rasa: done meanwhile by another worker
            session.rollback()
            return
        if parse:
            message.intent = parse.get("intent")
            message.confidence = parse.get("confidence")
            message.entities = parse.get("entities") or []
            if debtor is not None and (
                masking.is_identity_answer(message.entities) or identity_checked(session, debtor, message)
            ):
                # Rasa has checked the digits: what is kept for people to read never shows them.
                message.body = masking.mask_identity(message.body, answer=True)
                message.entities = masking.mask_identity_entities(message.entities)
        message.status = PROCESSED
        for text, force in answers:
            try:
                outbox.prepare_text(
                    session,
                    conversation,
                    text,
                    author="bot" if not force else "system",
                    channel=message.channel,
                    reply=True,
                    force=force,
                )
            except outbox.NotSendable as exc:
                log.info("answer to message %s not sent: %s", message.id, exc)
        session.commit()  # processed + its answers, together
    except BaseException:
        session.rollback()
        raise


IDENTITY_ACTIONS = ("identity_verified", "identity_failed", "identity_locked")


def identity_checked(session: Session, debtor: Debtor, message: Message) -> bool:
    """Rasa checked document digits for this debtor while answering ``message`` (the conversation's turns
    run one at a time, so an identity check recorded since the message arrived is this message's)."""
    return (
        session.execute(
            select(AuditLog.id)
            .where(
                AuditLog.action.in_(IDENTITY_ACTIONS),
                AuditLog.target_type == "debtor",
                AuditLog.target_id == str(debtor.id),
                AuditLog.created_at >= message.created_at,
            )
            .limit(1)
        ).first()
        is not None
    )


def decide(
    session: Session, message: Message, conversation: Conversation, debtor: Debtor | None
) -> tuple[list[tuple[str, bool]], dict[str, Any] | None]:
    """The answers to send ([(text, force)]) and the parse result to store, if any."""
    from bot.conversation import optout

    keyword = keywords.classify(message.body) if not message.media or message.body else None
    if keyword is not None:
        kind, language = keyword
        if kind == keywords.OPT_OUT:
            if debtor is not None:
                optout.opt_out(session, debtor, actor="edge", channel=message.channel, text=message.body)
            return [(reply_text("opt_out", language), True)], {"intent": "opt_out", "confidence": 1.0, "entities": []}
        if kind == keywords.OPT_IN and debtor is not None and debtor.opted_out:
            optout.opt_in(session, debtor, actor="edge", channel=message.channel)
            return [(reply_text("opt_in", language), True)], None
        if kind == keywords.HELP:
            return [(reply_text("help", language), True)], None
    if debtor is None:
        return _once_a_day(session, conversation, reply_text("unknown_number")), None
    if debtor.opted_out:
        return _once_a_day(session, conversation, reply_text("opted_out")), None
    if conversation.mode == "human":
        return [], None  # the agent console shows it; the bot stays out
    if message.media and not message.body.strip():
        return [(reply_text("media_received"), False)], None
    payload = rasa_payload(message, conversation, debtor)
    # No transaction is held while Rasa thinks (hundreds of ms): on SQLite a read snapshot kept open
    # across the call could not be upgraded to a write once other workers had committed, and the
    # whole turn would be run again. Then the write lock is taken before anything is written.
    session.rollback()
    result = post_to_rasa(payload)
    outbox.begin_write(session)
    return [(text, False) for text in bot_texts(result.get("messages") or [])], result.get("parse") or None


def _once_a_day(session: Session, conversation: Conversation, text: str) -> list[tuple[str, bool]]:
    """A notice (unknown number, opted out) goes out at most once a day, however often they write."""
    since = outbox.utcnow() - timedelta(hours=24)
    already = session.execute(
        select(Message.id)
        .where(
            Message.conversation_id == conversation.id,
            Message.direction == "out",
            Message.author == "system",
            Message.created_at >= since,
            Message.body.in_(_bodies(text)),
        )
        .limit(1)
    ).first()
    return [] if already else [(text, True)]


def _bodies(text: str) -> list[str]:
    """The text as stored on any channel (SMS bodies are transliterated)."""
    from bot.messaging import sms

    return list({text, sms.format_for_sms(text, True), sms.format_for_sms(text, False)})


def rasa_payload(message: Message, conversation: Conversation, debtor: Debtor) -> dict[str, Any]:
    return {
        "sender": conversation.phone,
        "message": masking.mask_cards(message.body),  # a card number never reaches the tracker
        "metadata": {
            "channel": message.channel,
            "debtor_external_id": debtor.external_id,
            "message_id": message.provider_sid or str(message.id),
            "locale": f"{debtor.language or 'es'}-{debtor.country}",
            "media": message.media or [],
        },
    }


def post_to_rasa(payload: dict[str, Any]) -> dict[str, Any]:
    settings = get_settings()
    url = settings.rasa_url.rstrip("/") + RASA_CHANNEL_PATH
    try:
        resp = _session().post(
            url, json=payload, headers={SECRET_HEADER: settings.rasa_channel_secret}, timeout=RASA_TIMEOUT
        )
    except requests.RequestException as exc:
        raise Retry(f"Rasa unreachable: {exc}") from exc
    if resp.status_code in (401, 403):
        log.error("Rasa refused the channel secret (HTTP %s): check RASA_CHANNEL_SECRET", resp.status_code)
        raise Retry(f"Rasa refused the channel secret ({resp.status_code})")
    if resp.status_code >= 500 or resp.status_code in (404, 408, 429):
        raise Retry(f"Rasa answered HTTP {resp.status_code}")
    if resp.status_code >= 400:
        raise ValueError(f"Rasa rejected the message: HTTP {resp.status_code} {resp.text[:200]}")
    try:
        data = resp.json()
    except ValueError as exc:
        raise Retry("Rasa answered something that is not JSON") from exc
    if isinstance(data, list):  # Rasa's plain rest channel shape
        data = {"messages": data}
    return data


def bot_texts(messages: list[dict[str, Any]]) -> list[str]:
    """Plain texts for WhatsApp/SMS from the bot's messages: buttons become a numbered list."""
    out = []
    for m in messages:
        text = (m.get("text") or "").strip()
        buttons = m.get("buttons") or []
        if buttons:
            options = "\n".join(f"{i}. {b.get('title', '')}" for i, b in enumerate(buttons, start=1))
            text = f"{text}\n{options}" if text else options
        if m.get("image"):
            text = f"{text}\n{m['image']}" if text else m["image"]
        if text:
            out.append(text)
    return out


@periodic("inbound_sweeper", 60)
def sweep_unqueued() -> int:
    """Queue again inbound messages left unprocessed for a while (Redis was down when they came)."""
    from bot.web.webhooks import enqueue_inbound

    cutoff = outbox.utcnow() - SWEEP_AFTER
    with session_scope() as session:
        stale = list(
            session.execute(
                select(Message)
                .where(Message.direction == "in", Message.status == "received", Message.created_at < cutoff)
                .order_by(Message.id)
                .limit(500)
            ).scalars()
        )
        from bot.platform.redis_client import get_redis

        redis = get_redis()
        queued = 0
        for message in stale:
            if not message.from_phone:  # nobody to answer (a row not written by the webhook): set it aside
                message.status, message.error_code = "failed", "no_sender"
                continue
            # At most once per 10 minutes each, so a long backlog is not queued over and over.
            if redis.set(f"recobra:swept:{message.id}", 1, nx=True, ex=600):
                enqueue_inbound(message)
                queued += 1
    return queued
