"""Twilio's webhooks: inbound messages and delivery status callbacks.

Every request's ``X-Twilio-Signature`` is checked against the URL Twilio called, rebuilt from
``PUBLIC_BASE_URL`` + path (+ query) so it holds behind a proxy or tunnel; a bad or missing
signature gets 403 and changes nothing. An inbound message is handed to the inbox
(``bot.conversation.inbox``): written to the store (deduplicated by ``MessageSid``: a repeat is
acknowledged and dropped), its conversation updated, a job queued for the worker; Twilio is answered
at once with empty TwiML: the dialogue runs later, well inside Twilio's 15-second limit whatever Rasa does.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, request

from bot.conversation import inbox
from bot.messaging import outbox
from bot.messaging.twilio_messages import EMPTY_TWIML, InboundError, parse_inbound
from bot.platform import logs, masking, metrics
from bot.platform.config import get_settings
from bot.web.db import get_session
from bot.web.errors import error_response

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks/twilio")


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


def _outcome(webhook: str, outcome: str) -> None:
    metrics.WEBHOOKS.labels(webhook, outcome).inc()


@bp.post("/messages")
def inbound():
    logs.bind(message_sid=request.form.get("MessageSid") or None)  # every line of this request carries it
    if not signature_ok():
        _outcome("twilio_messages", "bad_signature")
        log.warning("inbound webhook with a bad signature from %s", request.remote_addr)
        return error_response(403, "forbidden", "The X-Twilio-Signature is not valid.")
    try:
        message = parse_inbound(request.form)
    except InboundError as exc:
        _outcome("twilio_messages", "unusable")
        log.warning("unusable inbound webhook: %s", exc)
        return _twiml()  # acknowledged: Twilio retrying it would not make it usable
    session = get_session()
    stored = outbox.retry_on_lock(session, lambda: inbox.record_inbound(session, message))
    if stored is None:
        _outcome("twilio_messages", "duplicate")
        log.info("inbound message already stored: dropped")
        return _twiml()  # a repeat of a message we have: dropped
    logs.bind(conversation_id=stored.conversation_id, message_id=stored.id)
    try:
        inbox.enqueue_inbound(stored)
    except Exception:  # Redis down: the message is stored; the worker's sweeper will queue it
        _outcome("twilio_messages", "queue_failed")
        log.exception("could not queue inbound message %s; the sweeper will pick it up", stored.id)
        return _twiml()
    _outcome("twilio_messages", "queued")
    log.info("inbound %s message from %s stored and queued", message.channel, masking.mask_phone(message.from_phone))
    return _twiml()


@bp.post("/status")
def status():
    if not signature_ok():
        _outcome("twilio_status", "bad_signature")
        log.warning("status webhook with a bad signature from %s", request.remote_addr)
        return error_response(403, "forbidden", "The X-Twilio-Signature is not valid.")
    sid = request.form.get("MessageSid") or request.form.get("SmsSid") or ""
    new_status = request.form.get("MessageStatus") or request.form.get("SmsStatus") or ""
    error_code = request.form.get("ErrorCode") or None
    logs.bind(message_sid=sid or None)
    _outcome("twilio_status", "applied" if sid and new_status else "unusable")
    if sid and new_status:
        session = get_session()

        def apply() -> None:
            outbox.begin_write(session)
            if outbox.apply_status(session, sid, new_status, error_code):
                session.commit()

        outbox.retry_on_lock(session, apply)
    return Response("", status=204)
