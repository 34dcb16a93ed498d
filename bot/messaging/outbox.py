"""Outbound messages: pick the channel, record the message, send it exactly once, track its status.

The two steps keep a send idempotent:

1. ``prepare_text`` / ``prepare_template`` add ``Message`` rows with status ``pending`` to the
   caller's transaction (the inbound handler commits them together with the inbound message being
   marked processed, so a redelivered job never prepares the same reply twice).
2. ``deliver_pending`` sends a conversation's pending rows oldest first. A row that already has a
   provider sid is never sent again. Throttling (429/20429), 5xx and network failures are retried
   with exponential backoff and jitter, first in process, then by raising ``bot.platform.queue.Retry`` so the
   queue keeps the job (and the conversation's order) and tries later. Permanent errors (21211,
   21610, 21614, 30003–30007, 63016 ...) are recorded on the message and reflected in
   ``Debtor.contact_status``. Inside a queue job, a worker that lost the conversation's partition stops
   before the provider is called (``bot.platform.queue.fence``): the new holder sends the row instead.

Every row passes the contact gate (``bot.messaging.contact_gate``) as it is prepared, whoever writes it:
a row outside the debtor's allowed window (or over a cap) gets status ``held`` and ``hold_until``, and
``deliver_pending`` leaves it alone; ``bot.messaging.held`` releases it when its time comes.

WhatsApp's 24-hour window is read from ``Conversation.last_whatsapp_inbound_at``: outside it only an
approved template goes out on WhatsApp (``config/whatsapp_templates.yml``), or the text falls back to
SMS where the debtor allows it. Status callbacks never move a message's status backwards.
Sends are throttled per sender across every worker process with a Redis token bucket.

The provider comes from ``bot.providers.factory`` and is driven through its port
(``bot.providers.ports.MessagingProvider``). ``messaging_provider`` connects it to this service's hooks
(``HOOKS``): the sandbox, which plays Twilio's status callbacks itself, reports them to ``apply_statuses``
(the same ``apply_status`` the signed status webhook calls) and shows templates with ``templates.preview``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.messaging import choices as offers
from bot.messaging import contact_gate, templates
from bot.messaging import sms as sms_format
from bot.messaging.rate_limit import Slot, limiter
from bot.platform import metrics
from bot.platform.config import env_float, get_settings
from bot.platform.masking import mask_phone
from bot.platform.queue import Retry, fence
from bot.providers import factory
from bot.providers.ports import (
    AMBIGUOUS,
    FAILED_STATUSES,
    MessagingHooks,
    MessagingProvider,
    ProviderError,
    status_moves_forward,
)
from bot.store import audit
from bot.store.db import session_scope
from bot.store.models import Conversation, Debtor, Message

log = logging.getLogger(__name__)
T = TypeVar("T")

WHATSAPP_WINDOW = timedelta(hours=24)

# Permanent Twilio errors and what they say about the debtor's phone.
ERROR_CONTACT_STATUS = {
    "21211": "invalid_number",  # invalid To
    "21610": "unsubscribed",  # the recipient replied STOP to Twilio
    "21614": "landline",  # not a mobile number
    "30003": "unreachable",  # handset off / out of coverage
    "30004": "unsubscribed",  # blocked by the recipient
    "30005": "invalid_number",  # unknown destination
    "30006": "landline",  # landline or unreachable carrier
    "30007": "unreachable",  # filtered by the carrier
}
WINDOW_CLOSED = "63016"  # WhatsApp free-form outside the 24-hour window
NO_SMS_STATUSES = frozenset({"invalid_number", "landline", "unsubscribed", "wrong_number"})


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# --- Database contention ---------------------------------------------------------------------------
def _locked(exc: OperationalError) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in text or "database table is locked" in text


def begin_write(session: Session) -> None:
    """On SQLite, take the write lock now (``BEGIN IMMEDIATE``, which waits its turn) so that a
    transaction that reads and then writes never fails to upgrade; elsewhere, nothing."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return
    raw = conn.connection.dbapi_connection if hasattr(conn.connection, "dbapi_connection") else conn.connection
    if not raw.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def retry_on_lock(session: Session, fn: Callable[[], T], attempts: int = 12) -> T:
    """Run ``fn`` (which commits); when SQLite says "database is locked" (another writer, or a read
    transaction that cannot be upgraded), roll back, wait a little and run it again. ``fn`` must be
    safe to repeat: everything here is (sid dedupe, replayed Rasa turns, idempotent services)."""
    for attempt in range(attempts):
        try:
            return fn()
        except OperationalError as exc:
            session.rollback()
            if attempt + 1 >= attempts or not _locked(exc):
                raise
            time.sleep(min(0.5, 0.01 * 2**attempt) * random.uniform(0.5, 1.5))
    raise AssertionError("unreachable")


# --- Status ----------------------------------------------------------------------------------
def apply_status(session: Session, sid: str, status: str, error_code: str | None = None) -> bool:
    """Apply a status callback (Twilio's or the sandbox's); returns whether anything changed."""
    message = session.execute(select(Message).where(Message.provider_sid == sid)).scalar_one_or_none()
    changed = _apply(session, message, status, error_code)
    if changed:
        session.flush()
    return changed


def _apply(session: Session, message: Message | None, status: str, error_code: str | None) -> bool:
    status = (status or "").strip().lower()
    if message is None or message.direction != "out":
        return False
    if not status_moves_forward(message.status, status):
        return False
    message.status = status
    if status in FAILED_STATUSES:
        metrics.DELIVERY_FAILURES.labels(metrics.label(message.channel), status, metrics.label(error_code)).inc()
    if error_code and status in FAILED_STATUSES:
        message.error_code = str(error_code)
        _reflect_error(session, message, str(error_code))
    if status in ("delivered", "read") and message.debtor_id:
        debtor = session.get(Debtor, message.debtor_id)
        if debtor is not None and debtor.contact_status == "unreachable":
            debtor.contact_status = "ok"
    return True


def apply_statuses(statuses: list[tuple[str, str]]) -> None:
    """Statuses the sandbox played (it has no webhook to post them to): what ``apply_status`` does for the
    signed status webhook, in one transaction, the messages read in one query (a reply's sent, delivered and
    read come in the same batch; one query and one flush each was a third of the worker's CPU under load)."""
    with session_scope() as session:
        begin_write(session)
        sids = {sid for sid, _ in statuses}
        messages = {
            m.provider_sid: m for m in session.execute(select(Message).where(Message.provider_sid.in_(sids))).scalars()
        }
        # their debtors too, in one query (held here: the session's identity map keeps only what is referenced)
        debtor_ids = {m.debtor_id for m in messages.values() if m.debtor_id}
        debtors = list(session.execute(select(Debtor).where(Debtor.id.in_(debtor_ids))).scalars()) if debtor_ids else []
        for sid, status in statuses:
            _apply(session, messages.get(sid), status, None)
        del debtors


def _reflect_error(session: Session, message: Message, code: str) -> None:
    contact_status = ERROR_CONTACT_STATUS.get(code)
    if contact_status is None or not message.debtor_id:
        return
    debtor = session.get(Debtor, message.debtor_id)
    if debtor is None or debtor.contact_status in (contact_status, "wrong_number", "erased"):
        return
    previous = debtor.contact_status
    debtor.contact_status = contact_status
    audit.record(
        session,
        actor="worker",
        action="contact_status_changed",
        target_type="debtor",
        target_id=debtor.id,
        details={"from": previous, "to": contact_status, "error_code": code, "channel": message.channel},
    )


# --- Routing ---------------------------------------------------------------------------------
def in_whatsapp_window(conversation: Conversation, now: datetime | None = None) -> bool:
    last = conversation.last_whatsapp_inbound_at
    return last is not None and (now or utcnow()) - last < WHATSAPP_WINDOW


def sms_allowed(debtor: Debtor | None) -> bool:
    return debtor is not None and not debtor.opted_out and debtor.contact_status not in NO_SMS_STATUSES


class NotSendable(Exception):
    """The message may not go out (opted out, wrong number): nothing was recorded."""


@dataclass(frozen=True)
class Route:
    channel: str
    template: str | None = None  # a WhatsApp template instead of the text (window closed, no SMS)


def route(
    conversation: Conversation, debtor: Debtor | None, channel: str | None = None, now: datetime | None = None
) -> Route:
    """The channel to answer on: the one asked for, else the one the debtor last wrote on."""
    channel = channel or conversation.last_channel or ("whatsapp" if debtor is not None and debtor.whatsapp else "sms")
    if channel == "whatsapp" and not in_whatsapp_window(conversation, now):
        if sms_allowed(debtor):
            return Route("sms")
        return Route("whatsapp", template="reengage")
    return Route(channel)


PDF = "application/pdf"


def media_url_of(message: Message) -> str | None:
    """The attachment an outbound row carries (``prepare_text``'s ``media_url``), if any."""
    media = message.media or []
    return str(media[0].get("url")) if media and isinstance(media[0], dict) and media[0].get("url") else None


def buttons_of(message: Message) -> list[dict[str, str]] | None:
    """The WhatsApp buttons a row carries, as the provider sends them: each with an id (a reply's comes back as
    ``ButtonPayload`` when tapped: the row and the option, never the intent), a link with its URL too; None on SMS
    (the numbers are in the text) or where WhatsApp cannot show them (``choices.as_buttons``). An approved template's
    are its own quick replies with their static ids (``bot.messaging.templates``): Twilio shows them from the
    approved content, the sandbox from these."""
    if message.channel != "whatsapp" or not message.choices:
        return None
    if message.content_sid:
        return [
            {"id": str(o["id"]), "title": str(o["title"])} for o in offers.replies(message.choices) if o.get("id")
        ] or None
    if not offers.as_buttons(message.body, message.choices, media_url_of(message)):
        return None  # written in the text already (``prepare_text``)
    answers = offers.replies(message.choices)
    out = [{"id": offers.button_id(message.id, i), "title": str(o["title"])} for i, o in enumerate(answers)]
    out += [
        {"id": offers.button_id(message.id, len(answers) + i), "title": str(o["title"]), "url": str(o["url"])}
        for i, o in enumerate(offers.links(message.choices))
    ]
    return out or None


def _sender(channel: str) -> str:
    s = get_settings()
    return s.twilio_whatsapp_from if channel == "whatsapp" else s.twilio_sms_from


def _check_allowed(debtor: Debtor | None, author: str, reply: bool, force: bool) -> None:
    if force or debtor is None:
        return
    if author == "bot" and not reply and debtor.opted_out:
        raise NotSendable("the debtor opted out of automated messages")
    if author == "bot" and not reply and debtor.contact_status == "wrong_number":
        raise NotSendable("this number is not the debtor's")


def prepare_text(
    session: Session,
    conversation: Conversation,
    body: str,
    author: str = "bot",
    channel: str | None = None,
    agent_id: int | None = None,
    reply: bool = False,
    force: bool = False,
    now: datetime | None = None,
    override: bool = False,
    gate: contact_gate.Gate | None = None,
    media_url: str | None = None,
    choices: list[dict] | None = None,
) -> list[Message]:
    """Add the outbound rows for ``body`` (several when an SMS must be split); nothing is sent yet.

    ``choices``: the options the message offers (``bot.messaging.choices``), kept on its last row: WhatsApp buttons
    when it is sent (up to ten), numbered lines in the text on SMS (and beyond ten). Outside the WhatsApp window
    the approved template goes instead, with its own quick replies (if it was approved with any), not these.

    ``media_url``: a document for the debtor (a signed ``/d/`` link to a PDF): attached to the last WhatsApp
    row (Twilio fetches it), or written at the end of the body on SMS (unless the body already gives it), which
    carries no attachment.

    ``reply``: an answer to the debtor's own message (allowed even if the turn opted them out);
    ``force``: a compliance answer (the opt-out confirmation) that goes out whatever the state.
    ``override``: a supervisor sends outside the contact rules (the caller checked the role and audits the
    reason); ``gate``: the caller decided already (a campaign send, a held message being released).
    The rows are ``held`` when the contact gate says not now (see ``contact_gate``).
    """
    body = (body or "").strip()
    if not body:
        return []
    debtor = session.get(Debtor, conversation.debtor_id) if conversation.debtor_id else None
    _check_allowed(debtor, author, reply, force)
    r = route(conversation, debtor, channel, now)
    # The channel the message will really go on (an SMS fallback is gated as SMS).
    gate = gate or contact_gate.check(
        session, conversation, debtor, author, r.channel, reply=reply, force=force, override=override, now=now
    )
    rows: list[Message] = []
    if r.template:
        closed = _row(conversation, debtor, author, agent_id, "whatsapp", body)
        closed.status, closed.error_code = "failed", WINDOW_CLOSED
        rows.append(closed)
        session.add(closed)
        template_row = _template_row(session, conversation, debtor, r.template, author, agent_id)
        if template_row is not None:
            _apply_gate(template_row, gate)
            rows.append(template_row)
        session.flush()
        return rows
    offered = offers.clean(choices) or None
    if offered and (r.channel == "sms" or not offers.as_buttons(body, offered, media_url)):
        body = offers.numbered_text(body, offered)
    elif offered and offers.behind_a_list(offered):  # the list picker's rows are written in the text too
        numbered = offers.numbered_text(body, offered)
        if offers.as_buttons(numbered, offered, media_url):
            body = numbered
    if r.channel == "sms":
        if media_url and media_url not in body:
            body = f"{body}\n{media_url}"
        for part, info in sms_format.prepare_sms(body, get_settings().sms_transliterate):
            row = _row(conversation, debtor, author, agent_id, "sms", part)
            row.encoding, row.segments = info.encoding, info.segments
            rows.append(row)
    else:
        rows = [
            _row(conversation, debtor, author, agent_id, "whatsapp", part) for part in sms_format.prepare_whatsapp(body)
        ]
        if media_url and rows:
            rows[-1].media = [{"url": media_url, "content_type": PDF}]
    if offered and rows:
        rows[-1].choices = offered
    for row in rows:
        _apply_gate(row, gate)
    session.add_all(rows)
    session.flush()
    return rows


def _apply_gate(row: Message, gate: contact_gate.Gate) -> None:
    row.contact_kind = gate.kind
    if gate.at is not None:
        row.created_at = gate.at  # the gate's clock: the caps count contacts from it
    if not gate.send_now:
        row.status, row.hold_until = "held", gate.hold_until


def prepare_template(
    session: Session,
    conversation: Conversation,
    name: str,
    values: dict[str, object],
    author: str = "bot",
    agent_id: int | None = None,
    force: bool = False,
    gate: contact_gate.Gate | None = None,
) -> Message:
    """A WhatsApp template message (content_sid + variables, no body): valid outside the window. Its quick replies,
    if it was approved with any, are kept as the row's choices."""
    debtor = session.get(Debtor, conversation.debtor_id) if conversation.debtor_id else None
    _check_allowed(debtor, author, False, force)
    gate = gate or contact_gate.check(session, conversation, debtor, author, "whatsapp", force=force)
    template = templates.get_template(name)
    variables = template.content_variables(values)
    row = _row(conversation, debtor, author, agent_id, "whatsapp", template.render(variables))
    row.content_sid, row.content_variables = template.content_sid, variables
    row.choices = template.choices()  # its approved quick replies: shown, and read back when tapped
    _apply_gate(row, gate)
    session.add(row)
    session.flush()
    return row


def _template_row(
    session: Session, conversation: Conversation, debtor: Debtor | None, name: str, author: str, agent_id: int | None
) -> Message | None:
    values: dict[str, object] = {"business": get_settings().business_name}  # no name: the phone may not be the debtor's
    try:
        template = templates.get_template(name)
        variables = template.content_variables(values)
    except templates.TemplateError as exc:
        log.error("cannot reopen the WhatsApp window: %s", exc)
        return None
    row = _row(conversation, debtor, author, agent_id, "whatsapp", template.render(variables))
    row.content_sid, row.content_variables = template.content_sid, variables
    row.choices = template.choices()
    session.add(row)
    return row


def _row(
    conversation: Conversation, debtor: Debtor | None, author: str, agent_id: int | None, channel: str, body: str
) -> Message:
    return Message(
        conversation_id=conversation.id,
        debtor_id=debtor.id if debtor else conversation.debtor_id,
        direction="out",
        author=author,
        agent_id=agent_id,
        channel=channel,
        to_phone=conversation.phone,
        from_phone=_sender(channel),
        body=body,
        media=[],
        status="pending",
        attempts=0,
    )


# --- Delivery --------------------------------------------------------------------------------
# What this service lends a provider that plays Twilio's part itself (the sandbox): see MessagingHooks.
HOOKS = MessagingHooks(statuses=apply_statuses, preview=templates.preview)


def messaging_provider(provider: MessagingProvider | None = None) -> MessagingProvider:
    """``provider``, else the factory's, connected to this service's hooks before it sends."""
    provider = provider or factory.messaging_provider()
    provider.connect(HOOKS)
    return provider


IN_PROCESS_ATTEMPTS = int(env_float("RECOBRA_SEND_ATTEMPTS", 3))
BACKOFF_BASE = env_float("RECOBRA_SEND_BACKOFF", 0.25)


def backoff_delay(attempt: int, base: float = BACKOFF_BASE, cap: float = 30.0) -> float:
    """Exponential backoff with full jitter."""
    return random.uniform(0, min(cap, base * 2**attempt))


def deliver(session: Session, message: Message, provider: MessagingProvider | None = None) -> Message:
    """Send one pending message once. Commits. Raises ``ProviderError`` (retryable) to the caller."""
    if message.provider_sid or message.status != "pending":
        return message  # sent already (or given up): never twice
    provider = messaging_provider(provider)
    if message.error_code == AMBIGUOUS and hasattr(provider, "find_sent"):
        # The last attempt got no answer: Twilio may have the message already. Ask before resending.
        candidates = provider.find_sent(
            message.to_phone,
            message.channel,
            None if message.content_sid else message.body,
            message.content_sid,
            message.updated_at or message.created_at,
        )
        known = set(
            session.execute(
                select(Message.provider_sid).where(Message.provider_sid.in_([c.sid for c in candidates] or [""]))
            ).scalars()
        )
        found = next((c for c in candidates if c.sid not in known), None)  # not another message of ours
        if found is not None:

            def adopt(m: Message) -> None:
                m.error_code = None
                _record_result(session, m, found)

            _save(session, message, adopt)
            return message
        _save(session, message, lambda m: setattr(m, "error_code", None))
    slot = Slot()
    if getattr(provider, "rate_limited", False):
        cost = (message.segments or 1) if message.channel == "sms" else 1
        waited = time.perf_counter()
        acquired = limiter().acquire(message.from_phone or "", message.channel, cost)
        metrics.RATE_LIMIT_WAIT.labels(message.channel).observe(time.perf_counter() - waited)
        if acquired is None:
            metrics.RATE_LIMIT_REFUSED.labels(message.channel).inc()
            raise ProviderError("rate limit: sender busy", code="rate_limited", retryable=True)
        slot = acquired
    attempts = (message.attempts or 0) + 1  # saved with the outcome
    # Marked "may have gone out" before the provider is called, and committed (nothing of ours is held open while
    # it answers: SQLite has no read snapshot to upgrade). If recording the outcome then fails (the database went
    # away right after Twilio accepted the message, or the process died), the next attempt asks Twilio before it
    # sends again instead of sending twice: found by tests/faults/run.py, PostgreSQL restarted mid-conversation.
    _save(session, message, lambda m: setattr(m, "error_code", AMBIGUOUS))
    # The last moment to find out that this worker lost its queue partition (the rate limiter may have
    # waited half a minute): the new holder sends this row, so we must not (LeaseLost stops the job).
    fence()
    try:
        try:
            # only what the row has (a provider that never attaches or shows buttons need not take the words)
            extra: dict[str, Any] = {}
            if attachment := media_url_of(message):
                extra["media_url"] = attachment
            if buttons := buttons_of(message):
                extra["choices"] = buttons
            result = provider.send(
                message.to_phone,
                message.channel,
                body=None if message.content_sid else message.body,
                content_sid=message.content_sid,
                content_variables=message.content_variables,
                **extra,
            )
        finally:
            slot.finished()  # it counts for its sender's last second from here, not from its start
    except ProviderError as exc:
        error = exc
        metrics.SEND_FAILURES.labels(
            _provider_name(), message.channel, metrics.label(error.code, "unknown"), str(error.retryable).lower()
        ).inc()
        if error.retryable:

            def transient(m: Message) -> None:
                m.attempts = attempts
                m.error_code = AMBIGUOUS if error.ambiguous else None  # ambiguous: look it up before the next attempt

            _save(session, message, transient)
            raise

        def permanent(m: Message) -> None:
            m.attempts, m.status, m.error_code = attempts, "failed", error.code
            if error.code:
                _reflect_error(session, m, error.code)

        _save(session, message, permanent)
        log.warning(
            "message %s to %s failed permanently: %s (%s)", message.id, mask_phone(message.to_phone), exc, exc.code
        )
        return message

    def sent(m: Message) -> None:
        m.attempts, m.error_code = attempts, None
        _record_result(session, m, result)

    _save(session, message, sent)  # the sid must be recorded: retried through any lock contention
    if result.error_code:
        metrics.SEND_FAILURES.labels(_provider_name(), message.channel, result.error_code, "false").inc()
    else:
        metrics.MESSAGES_SENT.labels(_provider_name(), message.channel).inc()
    log.info("message %s sent to %s on %s: %s", message.id, mask_phone(message.to_phone), message.channel, result.sid)
    return message


def _provider_name() -> str:
    return get_settings().messaging_provider


def _save(session: Session, message: Message, change: Callable[[Message], None]) -> None:
    def run() -> None:
        begin_write(session)
        change(message)
        session.commit()

    retry_on_lock(session, run)


def _record_result(session: Session, message: Message, result) -> None:
    message.provider_sid = result.sid
    if result.error_code:
        message.status, message.error_code = "failed", result.error_code
        _reflect_error(session, message, result.error_code)
    elif status_moves_forward("pending", result.status):
        message.status = result.status
    else:
        message.status = "queued"


def pending_messages(session: Session, conversation_id: int) -> list[Message]:
    return list(
        session.execute(
            select(Message)
            .where(
                Message.conversation_id == conversation_id,
                Message.direction == "out",
                Message.status == "pending",
                Message.provider_sid.is_(None),
            )
            .order_by(Message.id)
        ).scalars()
    )


def deliver_pending(
    session: Session, conversation_id: int, provider: MessagingProvider | None = None, attempts: int | None = None
) -> int:
    """Send the conversation's pending messages in order. Raises ``bot.platform.queue.Retry`` when the
    provider keeps failing transiently; what was sent stays sent, the rest waits its turn."""
    attempts = IN_PROCESS_ATTEMPTS if attempts is None else attempts
    sent = 0
    for message in pending_messages(session, conversation_id):
        for attempt in range(attempts):
            try:
                deliver(session, message, provider)
                break
            except ProviderError as exc:
                if attempt + 1 >= attempts:
                    raise Retry(f"provider: {exc} ({exc.code})") from exc
                time.sleep(backoff_delay(attempt))
        sent += 1
    return sent
