"""``POST /webhooks/mercadopago``: Mercado Pago's payment notifications.

The ``x-signature`` header (``ts=...,v1=...``) is checked with the SDK's ``WebhookSignatureValidator``
against the manifest ``id:{data.id};request-id:{x-request-id};ts:{ts};`` (``data.id`` from the query
string, lower-cased when alphanumeric) and ``MERCADOPAGO_WEBHOOK_SECRET``, with a timestamp tolerance;
a missing, forged or stale signature gets 403 and changes nothing. A genuine notification is queued
(job ``mp_notification``) and acknowledged at once; the worker fetches the payment from the provider
(the body is never trusted) and applies it once. The same delivery twice (same ``x-request-id``) is
queued once; Redis down means 503, so Mercado Pago delivers it again later.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time

from flask import Blueprint, Flask, jsonify, request

from bot.platform.config import get_settings
from bot.platform.redis_client import get_queue, get_redis
from bot.web.errors import error_response

log = logging.getLogger(__name__)

bp = Blueprint("mercadopago", __name__, url_prefix="/webhooks")

NOTIFICATION_JOB = "mp_notification"
TOLERANCE_SECONDS = 300
DEDUPE_SECONDS = 24 * 3600
PAYMENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def register(app: Flask) -> None:
    app.register_blueprint(bp)


def manifest_id(data_id: str | None) -> str | None:
    """``data.id`` as it goes into the manifest: lower-cased when alphanumeric."""
    if data_id is None:
        return None
    return data_id.lower() if data_id.isalnum() else data_id


def sign(data_id: str | None, request_id: str | None, secret: str, ts: int | None = None) -> str:
    """The ``x-signature`` value Mercado Pago would send (used by the sandbox checkout and tests)."""
    ts = int(time.time()) if ts is None else int(ts)
    parts = []
    if data_id:
        parts.append(f"id:{manifest_id(data_id)}")
    if request_id:
        parts.append(f"request-id:{request_id}")
    parts.append(f"ts:{ts}")
    manifest = ";".join(parts) + ";"
    digest = hmac.new(secret.encode(), manifest.encode(), hashlib.sha256).hexdigest()
    return f"ts={ts},v1={digest}"


def signature_ok(data_id: str | None, now: float | None = None) -> bool:
    from mercadopago.webhook import InvalidWebhookSignatureError, WebhookSignatureValidator

    secret = get_settings().mercadopago_webhook_secret
    if not secret:
        return False
    try:
        WebhookSignatureValidator.validate(
            request.headers.get("x-signature"),
            request.headers.get("x-request-id"),
            manifest_id(data_id),
            secret,
            tolerance_seconds=TOLERANCE_SECONDS,
            now=(lambda: int(now * 1000)) if now is not None else None,
        )
    except InvalidWebhookSignatureError as exc:
        log.warning("Mercado Pago notification refused (%s), request id %s", exc.reason.value, exc.request_id)
        return False
    return True


def _topic() -> str:
    body = request.get_json(silent=True) if request.is_json else None
    body = body if isinstance(body, dict) else {}
    return str(request.args.get("type") or request.args.get("topic") or body.get("type") or body.get("topic") or "")


@bp.post("/mercadopago")
def notification():
    data_id = request.args.get("data.id") or request.args.get("id")
    if not signature_ok(data_id):
        return error_response(403, "forbidden", "The x-signature of this notification is not valid.")
    topic = _topic()
    if topic and topic != "payment":
        return jsonify({"status": "ignored", "reason": f"topic {topic!r} is not handled"}), 200
    if not data_id or not PAYMENT_ID.match(data_id):
        return jsonify({"status": "ignored", "reason": "no payment id"}), 200

    request_id = request.headers.get("x-request-id") or ""
    provider = get_settings().payments_provider
    try:
        dedupe = f"recobra:mp:seen:{data_id}:{hashlib.sha256(request_id.encode()).hexdigest()[:16]}"
        if request_id and not get_redis().set(dedupe, 1, nx=True, ex=DEDUPE_SECONDS):
            return jsonify({"status": "duplicate"}), 200
        get_queue().enqueue(
            f"mp:{data_id}", NOTIFICATION_JOB, {"payment_id": data_id, "provider": provider, "request_id": request_id}
        )
    except Exception:  # Redis down: Mercado Pago retries the delivery later; nothing is lost
        log.exception("could not queue Mercado Pago notification for payment %s", data_id)
        try:
            get_redis().delete(dedupe)
        except Exception:
            pass
        return error_response(503, "unavailable", "Try again later.")
    return jsonify({"status": "queued"}), 200
