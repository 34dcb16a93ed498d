"""Sandbox only: the phone simulator (``/sandbox/phone``) and the outbox (``/api/v1/sandbox/outbox``).

The simulator plays a debtor's phone: its backend builds the webhook Twilio would send
(``MessageSid``, ``From`` as ``whatsapp:+521…`` or ``+52…``, ``Body`` ...), signs it with the auth
token against ``PUBLIC_BASE_URL`` exactly as Twilio does, and posts it to the real
``/webhooks/twilio/messages`` view, so signature check, dedupe, store and queue all run. Replies are
read from the store by polling (the page asks every second), with their delivery status (the sandbox
provider plays Twilio's status callbacks) and, on SMS, their encoding and segment count.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from sqlalchemy import or_, select

from bot.messaging import sms as sms_format
from bot.messaging.twilio_messages import whatsapp_wire_number
from bot.platform.config import get_settings
from bot.platform.phones import DEMO_RANGES, PhoneError, is_demo_number, normalise
from bot.providers.sandbox_messaging import SAMPLE_RECEIPT, SAMPLE_RECEIPT_PATH, SandboxMessaging
from bot.store.models import Conversation, Debtor, Message
from bot.web import api
from bot.web.db import get_session
from bot.web.errors import error_response

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")
api_bp = Blueprint("sandbox_api", __name__, url_prefix="/api/v1/sandbox")
api_bp.before_request(api.require_api_key)

MAX_BODY = 1600
PHONE_HTML = Path(__file__).with_name("sandbox_phone.html")


def register(app: Flask) -> None:
    if get_settings().messaging_provider != "sandbox" or get_settings().production:
        return
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)


# --- Outbox (docs/api.md) ----------------------------------------------------------------------
@api_bp.get("/outbox")
def outbox():
    to = request.args.get("to")
    if to:
        try:
            to = normalise(to)
        except PhoneError:
            return error_response(400, "bad_request", f"{to!r} is not an E.164 phone number.")
    items = SandboxMessaging(ticker=False).outbox(to)
    return jsonify(
        {
            "messages": [
                {
                    "to": m["to"],
                    "channel": m["channel"],
                    "body": m.get("body", ""),
                    "status": m.get("status", "queued"),
                    "created_at": m["created_at"],
                    "sid": m.get("sid"),
                    "content_sid": m.get("content_sid") or None,
                    "media_url": m.get("media_url") or None,  # the attachment Twilio would fetch (a /d/ PDF)
                    "media": [m["media_url"]] if m.get("media_url") else [],  # docs/api.md: a list of URLs
                }
                for m in items
            ]
        }
    )


# --- Phone simulator -----------------------------------------------------------------------------
@bp.get("/phone")
def phone_page() -> Response:
    return Response(PHONE_HTML.read_text(encoding="utf-8"), mimetype="text/html")


@bp.get("/phone/debtors")
def phone_debtors():
    """The fictitious demo people only (bot/platform/phones.py's demo range): the page is open to anyone who reaches
    the demo, so it never lists a real debtor's name, phone or document digits."""
    session = get_session()
    in_range = or_(*(Debtor.phone.startswith(prefix) for prefix in DEMO_RANGES))
    rows = session.execute(
        select(Debtor).where(in_range).order_by(Debtor.country, Debtor.external_id).limit(500)
    ).scalars()
    return jsonify(
        {
            "debtors": [
                {
                    "external_id": d.external_id,
                    "name": d.name,
                    "phone": d.phone,
                    "whatsapp": d.whatsapp,
                    "country": d.country,
                    "document_last4": d.document_last4,
                    "opted_out": d.opted_out,
                }
                for d in rows
                if is_demo_number(d.phone)
            ]
        }
    )


@bp.post("/phone/send")
def phone_send():
    from twilio.request_validator import RequestValidator

    data = request.get_json(silent=True) or {}
    body = data.get("body", "")
    channel = data.get("channel", "whatsapp")
    with_media = bool(data.get("media"))
    if channel not in ("whatsapp", "sms"):
        return error_response(400, "bad_request", "channel must be whatsapp or sms")
    if not isinstance(body, str) or len(body) > MAX_BODY or not (body.strip() or with_media):
        return error_response(400, "bad_request", f"body must be 1 to {MAX_BODY} characters")
    try:
        phone = normalise(str(data.get("phone", "")))
    except PhoneError:
        return error_response(400, "bad_request", "phone must be an E.164 number")
    settings = get_settings()
    sid = "SM" + secrets.token_hex(16)
    if channel == "whatsapp":
        wire = whatsapp_wire_number(phone)  # what WhatsApp really sends for a Mexican mobile
        params = {
            "From": f"whatsapp:{wire}",
            "To": f"whatsapp:{settings.twilio_whatsapp_from}",
            "WaId": wire.lstrip("+"),
            "ProfileName": str(data.get("profile_name") or "")[:60],
        }
    else:
        params = {"From": phone, "To": settings.twilio_sms_from}
    params.update(
        {
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "AccountSid": settings.twilio_account_sid,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": str(max(1, sms_format.segment_count(body))),
            "ApiVersion": "2010-04-01",
        }
    )
    if with_media:  # a photo of a payment receipt, as MMS/WhatsApp media
        params.update(
            {
                "NumMedia": "1",
                "MediaContentType0": "image/svg+xml",
                "MediaUrl0": settings.public_base_url + SAMPLE_RECEIPT_PATH,
            }
        )
    path = "/webhooks/twilio/messages"
    signature = RequestValidator(settings.twilio_auth_token).compute_signature(settings.public_base_url + path, params)
    # The real view, through the whole WSGI stack, in-process (no deadlock on a one-thread server).
    with current_app.test_client() as client:
        resp = client.post(
            path,
            data=urlencode(params),
            content_type="application/x-www-form-urlencoded",
            headers={"X-Twilio-Signature": signature},
        )
    if resp.status_code != 200:
        return error_response(502, "webhook_failed", f"the webhook answered {resp.status_code}")
    return jsonify({"sid": sid, "status": "sent"})


@bp.get(SAMPLE_RECEIPT_PATH.removeprefix("/sandbox"))
def sample_receipt() -> Response:
    return Response(SAMPLE_RECEIPT, mimetype="image/svg+xml")


@bp.get("/phone/messages")
def phone_messages():
    try:
        phone = normalise(request.args.get("phone", ""))
    except PhoneError:
        return error_response(400, "bad_request", "phone must be an E.164 number")
    session = get_session()
    conversation = session.execute(select(Conversation).where(Conversation.phone == phone)).scalar_one_or_none()
    if conversation is None:
        return jsonify({"messages": [], "mode": "bot"})
    rows = reversed(
        list(
            session.execute(
                select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id.desc()).limit(300)
            ).scalars()
        )
    )
    return jsonify(
        {
            "mode": conversation.mode,
            "messages": [
                {
                    "id": m.id,
                    "direction": m.direction,
                    "author": m.author,
                    "channel": m.channel,
                    "body": m.body,
                    "status": m.status,
                    "error_code": m.error_code,
                    "encoding": m.encoding,
                    "segments": m.segments,
                    "template": bool(m.content_sid),
                    "media": m.media or [],
                    "created_at": m.created_at.isoformat().replace("+00:00", "Z"),
                }
                for m in rows
            ],
        }
    )
