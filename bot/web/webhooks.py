"""Twilio's webhooks: inbound messages and delivery status callbacks.

Every request's ``X-Twilio-Signature`` is checked against the URL Twilio called, rebuilt from
``PUBLIC_BASE_URL`` + path (+ query) so it holds behind a proxy or tunnel; a bad or missing
signature gets 403 and changes nothing. An inbound message is written to the store (deduplicated
by ``MessageSid``: a repeat is acknowledged and dropped), its conversation updated, a job queued for
the worker, and Twilio answered at once with empty TwiML: the dialogue runs later, well inside
Twilio's 15-second limit whatever Rasa does.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.billing import debtors
from bot.conversation import handoffs
from bot.messaging import outbox
from bot.messaging.twilio_messages import EMPTY_TWIML, InboundError, InboundMessage, parse_inbound
from bot.platform import masking
from bot.platform.config import get_settings
from bot.store.models import Conversation, Message
from bot.web.db import get_session
from bot.web.errors import error_response

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks/twilio")

INBOUND_JOB = "inbound_message"


def register(app: Flask) -> None:
    app.register_blueprint(bp)


def public_url() -> str:
    """The URL Twilio called: our public base + the path and query it used."""
    url = get_settings().public_base_url + request.path
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    return url


def signature_ok() -> bool:
    from twilio.request_validator import RequestValidator

    signature = request.headers.get("X-Twilio-Signature", "")
    token = get_settings().twilio_auth_token
    if not signature or not token:
        return False
    return RequestValidator(token).validate(public_url(), request.form, signature)


def _twiml() -> Response:
    return Response(EMPTY_TWIML, status=200, mimetype="text/xml")


@bp.post("/messages")
def inbound():
    if not signature_ok():
        log.warning("inbound webhook with a bad signature from %s", request.remote_addr)
        return error_response(403, "forbidden", "The X-Twilio-Signature is not valid.")
    try:
        message = parse_inbound(request.form)
    except InboundError as exc:
        log.warning("unusable inbound webhook: %s", exc)
        return _twiml()  # acknowledged: Twilio retrying it would not make it usable
    session = get_session()
    stored = outbox.retry_on_lock(session, lambda: record_inbound(session, message))
    if stored is None:
        return _twiml()  # a repeat of a message we have: dropped
    try:
        enqueue_inbound(stored)
    except Exception:  # Redis down: the message is stored; the worker's sweeper will queue it
        log.exception("could not queue inbound message %s; the sweeper will pick it up", stored.id)
    return _twiml()


def enqueue_inbound(message: Message) -> str:
    from bot.platform.redis_client import get_queue

    return get_queue().enqueue(message.from_phone, INBOUND_JOB, {"message_id": message.id, "sid": message.provider_sid})


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


@bp.post("/status")
def status():
    if not signature_ok():
        log.warning("status webhook with a bad signature from %s", request.remote_addr)
        return error_response(403, "forbidden", "The X-Twilio-Signature is not valid.")
    sid = request.form.get("MessageSid") or request.form.get("SmsSid") or ""
    new_status = request.form.get("MessageStatus") or request.form.get("SmsStatus") or ""
    error_code = request.form.get("ErrorCode") or None
    if sid and new_status:
        session = get_session()

        def apply() -> None:
            outbox.begin_write(session)
            if outbox.apply_status(session, sid, new_status, error_code):
                session.commit()

        outbox.retry_on_lock(session, apply)
    return Response("", status=204)
