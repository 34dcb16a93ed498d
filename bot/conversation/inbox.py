"""The inbox: what one inbound debtor message does, from the webhook's row to the answers in the outbox.

The web edge calls ``record_inbound`` (store it, deduplicated by the provider's sid, and update the
conversation) and ``enqueue_inbound`` (an ``inbound_message`` job keyed by the debtor's phone); the worker's
job handler calls ``answer``, then sends what was prepared. Both entry points stay thin; the decisions are
here. Order of decisions for a stored inbound message:

1. already processed → only send what is still pending (a redelivered job answers nothing twice);
2. a compliance keyword (BAJA/STOP…, ALTA/START…, AYUDA/HELP…) → recorded and answered here;
3. a number with no debtor → a polite answer that discloses nothing, no bot;
4. a conversation in human hands → kept for the agent console, no bot (a photo or PDF also opens its task, below);
   the first message after the hand-off (and one after two quiet hours) is acknowledged, so the debtor is not
   left wondering whether anyone read it, until the agent writes;
5. a photo or PDF (a proof of payment, ``bot.conversation.payment_proofs``) → a "verify payment" task for an
   agent (a hand-off), acknowledged, no bot;
6. other media with no text → kept on the message and acknowledged;
7. otherwise the bot: Rasa's ``recobra`` channel runs the turn (``bot.conversation.rasa_client``) and
   returns the answer and the parse.

A debtor who opted out (BAJA) and writes first still gets the bot (balance, link, certificate): the opt-out stops
automated outbound only (campaigns, follow-ups, unprompted payment notices; ``bot.messaging.outbox`` refuses an
unprompted bot message to them), as the contact rules intend. ALTA turns reminders back on; it is not needed to talk.

The inbound message is marked ``processed`` in the same transaction that adds the answer's outbound
rows; the caller then sends the rows in order. Rasa down → ``Retry``: the job stays queued and is
retried with backoff; nothing is lost and nothing is answered twice (the channel also replays a turn
it already ran for the same ``message_id``).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from bot.billing import debtors
from bot.conversation import handoffs, keywords, optout, payment_proofs, rasa_client
from bot.messaging import outbox, sms
from bot.messaging.twilio_messages import InboundMessage
from bot.platform import logs, masking
from bot.platform.config import ROOT, get_settings
from bot.platform.queue import Retry, fence
from bot.platform.redis_client import get_queue, get_redis
from bot.store.db import session_scope
from bot.store.models import AuditLog, Conversation, Debtor, Message

log = logging.getLogger(__name__)

INBOUND_JOB = "inbound_message"
REPLIES_FILE = ROOT / "config" / "edge_replies.yml"
SWEEP_AFTER = timedelta(minutes=2)

PROCESSED = "processed"
MAX_ATTEMPTS = 5


# --- Arrival (the web edge) ------------------------------------------------------------------------
def record_inbound(session: Session, inbound: InboundMessage) -> Message | None:
    """Store the inbound message and update its conversation; None when the sid is already stored.

    A card number typed by the debtor is masked before anything is stored (``bot.platform.masking``)."""
    outbox.begin_write(session)  # SQLite: one writer at a time, waiting its turn, never failing half-way
    if session.execute(select(Message.id).where(Message.provider_sid == inbound.sid)).first():
        return None
    debtor = debtors.get_by_phone(session, inbound.from_phone)
    conversation = handoffs.get_or_create_conversation(session, inbound.from_phone, debtor)
    now = outbox.utcnow()
    try:
        with session.begin_nested():
            row = Message(
                conversation_id=conversation.id,
                debtor_id=conversation.debtor_id,
                direction="in",
                author="debtor",
                channel=inbound.channel,
                from_phone=inbound.from_phone,
                to_phone=inbound.to,
                body=masking.mask_cards(inbound.body),
                media=inbound.media,
                provider_sid=inbound.sid,
                status="received",
                created_at=now,
            )
            session.add(row)
    except IntegrityError:  # the same sid arrived on another connection a moment ago
        session.rollback()
        return None
    _touch(conversation, inbound.channel, now)
    if debtor is not None and debtor.contact_status in ("unreachable",):
        debtor.contact_status = "ok"  # they just wrote from it
    session.commit()
    return row


def _touch(conversation: Conversation, channel: str, now) -> None:
    conversation.last_channel = channel
    conversation.last_inbound_at = now
    conversation.last_message_at = now
    if channel == "whatsapp":
        conversation.last_whatsapp_inbound_at = now


def enqueue_inbound(message: Message) -> str:
    """Queue the ``inbound_message`` job for a stored message (keyed by the sender: their messages stay in order)."""
    return get_queue().enqueue(message.from_phone, INBOUND_JOB, {"message_id": message.id, "sid": message.provider_sid})


def requeue_unqueued() -> int:
    """Queue again inbound messages left unprocessed for a while (Redis was down when they came)."""
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


# --- Answering (the worker) ------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _replies(path: str = str(REPLIES_FILE)) -> dict[str, dict[str, str]]:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def reply_text(key: str, language: str = "es") -> str:
    replies = _replies()
    text = (replies.get(language) or {}).get(key) or replies["es"][key]
    return text.format(business=get_settings().business_name)


def answer(session: Session, message_id: int) -> int | None:
    """Decide and record the answers to ``message_id`` and to every older unanswered message of its
    conversation; returns the conversation's id (its pending rows are the caller's to send), or None when
    the message is gone.

    Oldest first: a message queued again by the sweeper never overtakes an older one. A transient failure
    (``Retry``, a locked database) propagates untouched so the queue tries again; any other failure is
    counted on the message before it propagates (``MAX_ATTEMPTS``)."""
    message = session.get(Message, message_id)
    if message is None:
        log.warning("inbound message %s is gone; nothing to do", message_id)
        return None
    conversation_id = message.conversation_id
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
            outbox.retry_on_lock(session, partial(process_message, mid, session))
        except (Retry, OperationalError):
            raise  # transient: the queue tries again later
        except Exception:
            _count_failure(session, mid)
            raise
    return conversation_id


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
    # The same ids as the webhook's lines (bot/platform/logs.py); the queue runs each job in a context of its own.
    logs.bind(conversation_id=message.conversation_id, message_id=message.id, message_sid=message.provider_sid)
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
        for text, force, media_url in answers:
            try:
                outbox.prepare_text(
                    session,
                    conversation,
                    text,
                    author="bot" if not force else "system",
                    channel=message.channel,
                    reply=True,
                    force=force,
                    media_url=media_url,
                )
            except outbox.NotSendable as exc:
                log.info("answer to message %s not sent: %s", message.id, exc)
        fence()  # a worker that lost the conversation's partition records nothing: the new holder answers
        session.commit()  # processed + its answers, together
        log.info("message answered: %d replies, intent %s", len(answers), (parse or {}).get("intent") or "-")
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


# one answer to send: its text, whether it goes out whatever the debtor's state (a compliance notice), and the
# document attached to it (a signed /d/ link), if any
Answer = tuple[str, bool, str | None]


def decide(
    session: Session, message: Message, conversation: Conversation, debtor: Debtor | None
) -> tuple[list[Answer], dict[str, Any] | None]:
    """The answers to send ([(text, force, attachment URL or None)]) and the parse result to store, if any."""
    keyword = keywords.classify(message.body) if not message.media or message.body else None
    if keyword is not None:
        kind, language = keyword
        if kind == keywords.OPT_OUT:
            if debtor is not None:
                optout.opt_out(session, debtor, actor="edge", channel=message.channel, text=message.body)
            return [(reply_text("opt_out", language), True, None)], {
                "intent": "opt_out",
                "confidence": 1.0,
                "entities": [],
            }
        if kind == keywords.OPT_IN and debtor is not None and debtor.opted_out:
            optout.opt_in(session, debtor, actor="edge", channel=message.channel)
            return [(reply_text("opt_in", language), True, None)], None
        if kind == keywords.HELP:
            return [(reply_text("help", language), True, None)], None
    if debtor is None:
        return _once_a_day(session, conversation, reply_text("unknown_number")), None
    if conversation.mode == "human":
        payment_proofs.open_task(session, message, conversation, debtor)  # the agent sees it, and a task to verify
        return _while_a_person_has_it(session, conversation), None  # the agent console shows it; the bot stays out
    if payment_proofs.open_task(session, message, conversation, debtor) is not None:
        return [(reply_text("media_received"), False, None)], None  # an agent verifies it; the bot stays out meanwhile
    if message.media and not message.body.strip():
        return [(reply_text("media_received"), False, None)], None
    payload = rasa_client.turn_payload(message, conversation, debtor)
    # No transaction is held while Rasa thinks (hundreds of ms): on SQLite a read snapshot kept open
    # across the call could not be upgraded to a write once other workers had committed, and the
    # whole turn would be run again. Then the write lock is taken before anything is written.
    session.rollback()
    result = rasa_client.post_turn(payload)
    outbox.begin_write(session)
    answers = rasa_client.bot_answers(result.get("messages") or [])
    if not answers:
        # Rasa ran the turn but said nothing: a custom action failed (an action server that died mid-call; Rasa
        # logs it and goes on without the action's answer). Silence would leave the debtor waiting for ever.
        log.warning("the bot answered nothing to message %s: asking the debtor to write again", message.id)
        return [(reply_text("no_answer"), False, None)], result.get("parse") or None
    return [(text, False, media) for text, media in answers], result.get("parse") or None


WAITING_QUIET = timedelta(hours=2)


def _while_a_person_has_it(session: Session, conversation: Conversation) -> list[Answer]:
    """What a debtor hears while a hand-off waits for a person: one acknowledgement after the hand-off, then
    silence while the agent is on it (an agent's message within two hours) or it was said lately."""
    since = outbox.utcnow() - WAITING_QUIET
    handoff = handoffs.live(session, conversation.id)
    if handoff is not None and handoff.created_at is not None:
        since = max(since, handoff.created_at)
    text = reply_text("waiting_for_agent")
    said = session.execute(
        select(Message.id)
        .where(
            Message.conversation_id == conversation.id,
            Message.direction == "out",
            Message.created_at >= since,
            (Message.author == "agent") | Message.body.in_(_bodies(text)),
        )
        .limit(1)
    ).first()
    return [] if said else [(text, False, None)]


def _once_a_day(session: Session, conversation: Conversation, text: str) -> list[Answer]:
    """A notice (an unknown number's) goes out at most once a day, however often they write."""
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
    return [] if already else [(text, True, None)]


def _bodies(text: str) -> list[str]:
    """The text as stored on any channel (SMS bodies are transliterated)."""
    return list({text, sms.format_for_sms(text, True), sms.format_for_sms(text, False)})
