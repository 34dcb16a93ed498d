"""``/api/v1``: what billing systems and scripts call (docs/api.md; described by ``/api/v1/openapi.json``).

Bearer key on every call."""

from __future__ import annotations

import hmac
from datetime import datetime, timezone

from flask import Blueprint, abort, current_app, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.billing import debtors, recorded_payments
from bot.conversation import payment_notices
from bot.lifecycle import erasure, tracker_events
from bot.lifecycle import export as debtor_export
from bot.messaging.send_queue import enqueue_send
from bot.store import audit
from bot.store.models import Debtor, Message
from bot.web import debtor_view
from bot.web.db import get_session
from bot.web.errors import error_response

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _pushed_debtor(session, external_id: str) -> Debtor:
    """The debtor the billing system pushed under ``external_id``; otherwise the request ends with a JSON 404."""
    debtor = debtors.get_by_external_id(session, external_id)
    if debtor is None:
        response, status = error_response(404, "not_found", f"No debtor with external_id {external_id!r}.")
        response.status_code = status
        abort(response)
    return debtor


@bp.before_request
def require_api_key():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return error_response(401, "unauthorized", "Send the API key as 'Authorization: Bearer <key>'.")
    expected = current_app.config["RECOBRA_API_KEY"] or ""
    if not expected or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        return error_response(401, "unauthorized", "The API key is not valid.")
    return None


def json_body() -> object:
    """The request's JSON, or a JSON 4xx that says what is wrong with it."""
    if request.content_length is not None and request.content_length > current_app.config["MAX_CONTENT_LENGTH"]:
        raise _BadRequest(413, "payload_too_large", "The request body is too large.")
    if not request.is_json:
        raise _BadRequest(415, "unsupported_media_type", "Send JSON with 'Content-Type: application/json'.")
    data = request.get_json(silent=True)
    if data is None:
        raise _BadRequest(400, "malformed_json", "The request body is not valid JSON.")
    return data


class _BadRequest(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@bp.errorhandler(_BadRequest)
def _bad_request(exc: _BadRequest):
    return error_response(exc.status, exc.code, exc.message)


@bp.errorhandler(debtors.ValidationError)
def _invalid(exc: debtors.ValidationError):
    return error_response(422, "validation_error", f"{exc.field}: {exc.message}", field=exc.field)


@bp.put("/debtors/<external_id>")
def put_debtor(external_id: str):
    data = debtors.parse_debtor(external_id, json_body())
    session = get_session()
    erased = debtors.get_by_external_id(session, external_id)
    if erased is not None and erased.erased_at is not None:
        return error_response(
            409,
            "debtor_erased",
            f"The debtor {external_id!r} was erased on request; their data cannot be stored again under this id.",
        )
    debtor, created = debtors.upsert(session, data)
    audit.record(
        session,
        actor="api",
        action="debtor.upsert",
        target_type="debtor",
        target_id=external_id,
        details={"created": created, "invoices": len(data.invoices)},
    )
    session.commit()
    return jsonify(debtor_view.serialize(session, debtor)), 201 if created else 200


@bp.get("/debtors/<external_id>")
def get_debtor(external_id: str):
    session = get_session()
    debtor = _pushed_debtor(session, external_id)
    return jsonify(debtor_view.serialize(session, debtor))


@bp.delete("/debtors/<external_id>")
def erase_debtor(external_id: str):
    """Erase the debtor's personal data (``bot.lifecycle.erasure``); 200 the first time and every time after
    (``status`` says ``erased`` or ``already_erased``), 404 for an id never pushed."""
    session = get_session()
    debtor = _pushed_debtor(session, external_id)
    done = erasure.erase(
        session,
        debtor,
        at=datetime.now(timezone.utc),
        actor="api",
        delete_tracker=tracker_events.deleter(current_app.config["SETTINGS"]),
        details={"remote_addr": request.remote_addr},
    )
    session.commit()
    return jsonify(done.as_json())


@bp.get("/debtors/<external_id>/export")
def export_debtor(external_id: str):
    """Everything held about the debtor, as JSON (a data-access request); the read is audited."""
    session = get_session()
    debtor = _pushed_debtor(session, external_id)
    data = debtor_export.export(
        session,
        debtor,
        at=datetime.now(timezone.utc),
        tracker_events=tracker_events.reader(current_app.config["SETTINGS"]),
    )
    audit.record(
        session,
        actor="api",
        action="debtor.export",
        target_type="debtor",
        target_id=external_id,
        details={"remote_addr": request.remote_addr},
    )
    session.commit()
    return jsonify(data)


@bp.post("/payments")
def post_payment():
    """A payment the billing system recorded outside Mercado Pago (a transfer, cash at the office), applied once
    with a Mercado Pago payment's effects (``bot.billing.recorded_payments``). 201 when recorded, 200 for a repeat
    (the same answer), 409 when the id was used for another payment."""
    data = recorded_payments.parse(json_body())
    session = get_session()
    try:
        payment, created, outcome = recorded_payments.record(session, data, notices=payment_notices)
    except recorded_payments.Conflict as exc:
        session.rollback()
        return error_response(409, "payment_conflict", f"{exc}; send a new external_id for a new payment.")
    except recorded_payments.DebtorErased:
        session.rollback()
        return error_response(
            409, "debtor_erased", f"The debtor {data.debtor_external_id!r} was erased on request; nothing is recorded."
        )
    except debtors.ValidationError:
        session.rollback()
        raise
    except IntegrityError:  # the same id recorded for another debtor at this very moment
        session.rollback()
        return error_response(409, "payment_conflict", f"payment {data.external_id!r} was recorded for another debtor.")
    body = recorded_payments.view(session, payment)
    session.commit()
    for conversation_id, phone in outcome.conversations:
        try:
            enqueue_send(phone, conversation_id)
        except Exception:  # Redis down: the outbound sweeper sends what stayed pending
            current_app.logger.warning("could not queue the payment confirmation for conversation %s", conversation_id)
    return jsonify(body), 201 if created else 200


@bp.get("/debtors/<external_id>/offers")
def get_offers(external_id: str):
    """The settlement offers made to the debtor, oldest first; ``?status=`` keeps those in one status."""
    status = request.args.get("status")
    if status is not None and status not in debtor_view.OFFER_STATUSES:
        return error_response(
            400, "bad_request", f"status must be one of {', '.join(debtor_view.OFFER_STATUSES)}, not {status!r}."
        )
    session = get_session()
    debtor = _pushed_debtor(session, external_id)
    return jsonify({"offers": debtor_view.offers_of(session, debtor, status=status)})


@bp.get("/conversations/<external_id>/messages")
def get_messages(external_id: str):
    session = get_session()
    debtor = _pushed_debtor(session, external_id)
    rows = session.execute(
        select(Message).where(Message.debtor_id == debtor.id).order_by(Message.created_at, Message.id)
    ).scalars()
    return jsonify({"messages": [serialize_message(m) for m in rows]})


def serialize_message(m: Message) -> dict[str, object]:
    item: dict[str, object] = {
        "id": m.id,
        "direction": m.direction,
        "author": m.author,
        "channel": m.channel,
        "body": m.body,
        "status": m.status,
        "error_code": m.error_code,
        "media": m.media or [],
        "created_at": m.created_at.isoformat().replace("+00:00", "Z"),
    }
    if m.status == "held" and m.hold_until is not None:
        item["hold_until"] = m.hold_until.isoformat().replace("+00:00", "Z")  # when the contact rules let it go
    if m.direction == "out" and m.channel == "sms":
        item["encoding"] = m.encoding
        item["segments"] = m.segments
    if m.author == "debtor":
        item["intent"] = m.intent
        item["confidence"] = m.confidence
        item["entities"] = m.entities or []
    return item
