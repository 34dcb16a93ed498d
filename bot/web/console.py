"""The agent console (``/console``): the hand-off queue, the conversation view, quick actions, users.

Every page needs a signed-in user (agents, managers and admins); user administration is for admins.
Every state change is a POST with a CSRF token, done by ``bot.desk`` and committed here; the
debtor's data shown is written to the audit log. The pages poll small JSON endpoints every few
seconds (``static/console.js``), so new hand-offs and new debtor messages appear without a reload.
"""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from bot.billing import accounts
from bot.billing.money import format_money
from bot.desk import access, commands, display, handoff_queue, payment_proofs, settings, summary, transcript
from bot.messaging import send_queue
from bot.providers import factory
from bot.providers.ports import MediaUnavailable
from bot.staff import users
from bot.store import audit
from bot.store.models import ROLES, Debtor, Handoff, Invoice, Message, User
from bot.web import auth, debtor_view
from bot.web.auth import current_db_user, role_required
from bot.web.db import get_session

log = logging.getLogger(__name__)

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
auth.csrf_protect(bp)
auth.secure_headers(bp)

PUBLIC_ENDPOINTS = {"console.static"}


def register(app: Flask) -> None:
    auth.init_app(app)
    app.register_blueprint(bp)


@bp.before_request
def _signed_in():
    if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
        return None
    if request.path.startswith("/console/api/"):
        return jsonify({"error": {"code": "unauthorized", "message": "sign in first"}}), 401
    return auth.login_manager.unauthorized()


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "fmt_money": _fmt_money,
        "invoice_labels": display.INVOICE_LABELS,
        "promise_labels": display.PROMISE_LABELS,
        "plan_labels": display.PLAN_LABELS,
        "link_labels": display.LINK_LABELS,
        "offer_labels": display.OFFER_LABELS,
        "offer_kind_labels": display.OFFER_KIND_LABELS,
        "payment_labels": display.PAYMENT_LABELS,
    }


@bp.app_context_processor
def _layout() -> dict[str, Any]:
    """For base.html on every page that extends it (the manager dashboard's too)."""
    return {"has_dashboard": any(rule.rule.startswith("/manager") for rule in current_app.url_map.iter_rules())}


def _fmt_money(amount: str, currency: str, country: str | None = None) -> str:
    try:
        return format_money(Decimal(amount), currency, country)
    except (InvalidOperation, TypeError, ValueError):
        return f"{amount} {currency}"


def _handoff(handoff_id: int) -> Handoff:
    handoff = get_session().get(Handoff, handoff_id)
    if handoff is None:
        abort(404)
    return handoff


def _audit_view(handoff: Handoff, action: str, details: dict[str, Any] | None = None) -> None:
    audit.by_staff(
        get_session(),
        current_user,
        action=action,
        target_type="debtor" if handoff.debtor_id else "handoff",
        target_id=handoff.debtor_id or handoff.id,
        details={"handoff_id": handoff.id, **(details or {})},
    )


def _queue_send(handoff: Handoff) -> None:
    """After the commit: the worker sends the prepared rows in order (the sweeper retries if Redis is down)."""
    conv = transcript.conversation(get_session(), handoff)
    if conv is None:
        return
    try:
        send_queue.queue_send(conv)
    except Exception:
        log.warning("could not queue the agent's message for %s; the outbound sweeper will", conv.id, exc_info=True)


def _media_url(message_id: int, index: int) -> str:
    """Debtors' files go through ``media``, never from the provider's URL (it wants the account's credentials)."""
    return url_for("console.media", inbound_id=message_id, index=index)


def _back(handoff_id: int, anchor: str = ""):
    return redirect(url_for("console.handoff", handoff_id=handoff_id) + (f"#{anchor}" if anchor else ""))


# --- Queue -------------------------------------------------------------------------------------
@bp.get("/")
def index():
    return render_template("console/queue.html", poll_seconds=settings.poll_seconds())


@bp.get("/api/queue")
def queue_json():
    items = handoff_queue.queue(get_session())
    return jsonify(
        {"items": [i.to_dict() for i in items], "poll_seconds": settings.poll_seconds(), "me": current_user.id}
    )


@bp.post("/handoffs/<int:handoff_id>/claim")
def claim(handoff_id: int):
    db = get_session()
    _handoff(handoff_id)
    if handoff_queue.claim(db, handoff_id, current_db_user()):
        db.commit()
        flash("Conversación tomada: ahora la atiendes tú.", "ok")
    else:
        db.rollback()
        flash("Otra persona tomó esta conversación antes.", "error")
    return _back(handoff_id)


@bp.post("/handoffs/<int:handoff_id>/release")
def release(handoff_id: int):
    return _act(
        handoff_id, lambda db, h, u: handoff_queue.release(db, h, u), "La conversación volvió a la cola.", to_queue=True
    )


# --- Conversation ------------------------------------------------------------------------------
@bp.get("/handoffs/<int:handoff_id>")
def handoff(handoff_id: int):
    db = get_session()
    h = _handoff(handoff_id)
    conv = transcript.conversation(db, h)
    debtor = db.get(Debtor, h.debtor_id) if h.debtor_id else None
    messages = transcript.transcript(db, conv.id) if conv else []
    names = transcript.agent_names(db, messages)
    account = debtor_view.serialize(db, debtor) if debtor else None
    invoices = (
        list(
            db.execute(
                select(Invoice).where(Invoice.debtor_id == debtor.id).order_by(Invoice.due_date, Invoice.id)
            ).scalars()
        )
        if debtor
        else []
    )
    balances = []
    if debtor:
        totals = accounts.totals(accounts.owed(db, debtor))
        balances = [format_money(amount, cur, debtor.country) for cur, amount in sorted(totals.items())]
    notes = transcript.notes(db, h)
    note_authors = (
        {
            u.id: u.name or u.username
            for u in db.execute(select(User).where(User.id.in_({n.user_id for n in notes if n.user_id}))).scalars()
        }
        if notes
        else {}
    )
    claimer = db.get(User, h.claimed_by) if h.claimed_by else None
    _audit_view(h, "debtor_viewed")
    db.commit()
    return render_template(
        "console/handoff.html",
        h=h,
        conv=conv,
        debtor=debtor,
        account=account,
        invoices=invoices,
        balances=balances,
        summary=summary.summary(db, h),
        messages=[transcript.message_dict(m, names, _media_url) for m in messages],
        proofs=payment_proofs.for_handoff(db, h),
        media_url=_media_url,
        last_id=max((m.id for m in messages), default=0),
        notes=notes,
        note_authors=note_authors,
        claimer=claimer,
        can_act=access.can_act(h, current_user),
        supervisor=current_user.role in access.SUPERVISORS,
        reason_label=display.reason_label,
        nonpayment_labels=display.NONPAYMENT_LABELS,
        channel_labels=display.CHANNEL_LABELS,
        dispute_outcomes=commands.DISPUTE_OUTCOMES,
        poll_seconds=settings.poll_seconds(),
        mask_phone=display.mask_phone,
    )


@bp.get("/api/handoffs/<int:handoff_id>/messages")
def messages_json(handoff_id: int):
    db = get_session()
    h = _handoff(handoff_id)
    after = request.args.get("after", default=0, type=int)
    conv = transcript.conversation(db, h)
    messages = transcript.transcript(db, conv.id, after) if conv else []
    if messages:
        _audit_view(h, "transcript_viewed", {"after": after, "messages": len(messages)})
        db.commit()
    claimer = db.get(User, h.claimed_by) if h.claimed_by else None
    names = transcript.agent_names(db, messages)
    return jsonify(
        {
            "messages": [transcript.message_dict(m, names, _media_url) for m in messages],
            "status": h.status,
            "mode": conv.mode if conv else None,
            "statuses": transcript.outbound_statuses(db, conv.id) if conv else {},
            "claimed_by": h.claimed_by,
            "claimed_by_name": (claimer.name or claimer.username) if claimer else None,
        }
    )


def _act(handoff_id: int, fn, done: str, anchor: str = "", send: bool = False, to_queue: bool = False):
    db = get_session()
    h = _handoff(handoff_id)
    try:
        fn(db, h, current_db_user())
    except access.DeskError as exc:
        db.rollback()
        flash(str(exc), "error")
        return _back(handoff_id, anchor)
    db.commit()
    if send:
        _queue_send(h)
    flash(done, "ok")
    return redirect(url_for("console.index")) if to_queue else _back(handoff_id, anchor)


def _send(handoff_id: int, command, sent: str, anchor: str):
    """An agent's outbound message: ``command(db, handoff, user)`` prepares its rows; the flash says when it goes
    (now, or when the debtor's contact window opens: the contact gate may hold it)."""
    db = get_session()
    h = _handoff(handoff_id)
    try:
        rows = command(db, h, current_db_user())
    except access.DeskError as exc:
        db.rollback()
        flash(str(exc), "error")
        return _back(handoff_id, anchor)
    notice = commands.held_notice(rows, db.get(Debtor, h.debtor_id) if h.debtor_id else None)
    db.commit()
    _queue_send(h)
    flash(notice or sent, "ok")
    return _back(handoff_id, anchor)


@bp.post("/handoffs/<int:handoff_id>/reply")
def reply(handoff_id: int):
    body = request.form.get("body", "")
    reason = request.form.get("override_reason", "")
    return _send(
        handoff_id,
        lambda db, h, user: commands.reply(db, h, user, body, override_reason=reason),
        "Mensaje enviado.",
        "reply",
    )


@bp.post("/handoffs/<int:handoff_id>/held/<int:message_id>/cancel")
def cancel_held(handoff_id: int, message_id: int):
    return _act(
        handoff_id,
        lambda db, h, u: commands.cancel_held(db, h, u, message_id),
        "Mensaje retenido cancelado: no se enviará.",
        "reply",
    )


@bp.post("/handoffs/<int:handoff_id>/held/<int:message_id>/edit")
def edit_held(handoff_id: int, message_id: int):
    body = request.form.get("body", "")
    return _act(
        handoff_id,
        lambda db, h, u: commands.edit_held(db, h, u, message_id, body),
        "Mensaje retenido corregido.",
        "reply",
        send=True,
    )


@bp.post("/handoffs/<int:handoff_id>/link")
def send_link(handoff_id: int):
    f = request.form
    return _send(
        handoff_id,
        lambda db, h, user: commands.send_payment_link(db, h, user, f.get("invoice_id"), f.get("amount"))[1],
        "Enlace de pago enviado.",
        "actions",
    )


@bp.post("/handoffs/<int:handoff_id>/promise")
def promise(handoff_id: int):
    f = request.form
    return _act(
        handoff_id,
        lambda db, h, u: commands.record_promise(
            db, h, u, f.get("invoice_id"), f.get("promised_date"), f.get("amount")
        ),
        "Promesa de pago registrada.",
        "actions",
    )


@bp.post("/handoffs/<int:handoff_id>/due-date")
def due_date(handoff_id: int):
    f = request.form
    return _act(
        handoff_id,
        lambda db, h, u: commands.move_due_date(
            db, h, u, f.get("invoice_id"), f.get("new_date"), f.get("override_reason", "")
        ),
        "Fecha de vencimiento cambiada.",
        "actions",
    )


@bp.post("/handoffs/<int:handoff_id>/dispute")
def dispute(handoff_id: int):
    f = request.form
    return _act(
        handoff_id,
        lambda db, h, u: commands.record_dispute_outcome(
            db, h, u, f.get("invoice_id"), f.get("outcome", ""), f.get("note", "")
        ),
        "Resultado de la disputa registrado.",
        "actions",
    )


@bp.post("/handoffs/<int:handoff_id>/proofs/<int:proof_id>/confirm")
def confirm_proof(handoff_id: int, proof_id: int):
    f = request.form
    return _act(
        handoff_id,
        lambda db, h, u: payment_proofs.confirm(
            db, h, u, proof_id, f.get("invoice_id"), f.get("amount"), f.get("paid_on")
        ),
        "Pago confirmado y registrado; el deudor recibe la confirmación.",
        "proofs",
        send=True,
    )


@bp.post("/handoffs/<int:handoff_id>/proofs/<int:proof_id>/reject")
def reject_proof(handoff_id: int, proof_id: int):
    reason = request.form.get("reason", "")
    return _act(
        handoff_id,
        lambda db, h, u: payment_proofs.reject(db, h, u, proof_id, reason),
        "Comprobante rechazado; el deudor recibe el motivo.",
        "proofs",
        send=True,
    )


# Shown inline only when the browser cannot be made to run them; anything else is a download.
INLINE_MEDIA = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf", "image/svg+xml"})


@bp.get("/messages/<int:inbound_id>/media/<int:index>")
def media(inbound_id: int, index: int):
    """A file a debtor sent, fetched from the provider with the account's credentials (Twilio's media URLs need
    them): the browser sees only this page, never the URL's credentials. Audited like any view of debtor data."""
    db = get_session()
    message = db.get(Message, inbound_id)
    files = [m for m in (message.media or []) if isinstance(m, dict)] if message is not None else []
    if message is None or message.direction != "in" or not 0 <= index < len(files):
        abort(404)
    url = str(files[index].get("url") or "")
    provider = factory.messaging_provider()
    fetch = getattr(provider, "fetch_media", None)
    if fetch is None:
        abort(404)
    try:
        found = fetch(url)
    except MediaUnavailable as exc:
        log.warning("media %s of message %s not shown: %s", index, message.id, exc)
        return Response("No se pudo obtener el archivo.", status=502, mimetype="text/plain")
    audit.by_staff(
        db,
        current_user,
        action="media_viewed",
        target_type="message",
        target_id=message.id,
        details={"index": index, "debtor_id": message.debtor_id},
    )
    db.commit()
    inline = found.content_type in INLINE_MEDIA
    resp = Response(found.content, mimetype=found.content_type if inline else "application/octet-stream")
    resp.headers["Content-Disposition"] = "inline" if inline else f'attachment; filename="adjunto-{message.id}-{index}"'
    resp.headers["X-Content-Type-Options"] = "nosniff"
    # an SVG or PDF opened on its own runs nothing of ours, and nothing of its own
    policy = "default-src 'none'; img-src data:; script-src 'self'; frame-ancestors 'none'"
    # (a sandboxed document gets no PDF viewer in Chromium: a PDF goes without it, and still loads nothing)
    resp.headers["Content-Security-Policy"] = (
        policy if found.content_type == "application/pdf" else policy + "; sandbox"
    )
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.post("/handoffs/<int:handoff_id>/note")
def note(handoff_id: int):
    body = request.form.get("body", "")
    return _act(handoff_id, lambda db, h, u: commands.add_note(db, h, u, body), "Nota guardada.", "notes")


@bp.post("/handoffs/<int:handoff_id>/give-back")
def give_back(handoff_id: int):
    return _act(
        handoff_id, lambda db, h, u: commands.give_back(db, h, u), "Conversación devuelta al bot.", to_queue=True
    )


@bp.post("/handoffs/<int:handoff_id>/close")
def close(handoff_id: int):
    return _act(handoff_id, lambda db, h, u: commands.close(db, h, u), "Conversación cerrada.", to_queue=True)


# --- Users (admins) ----------------------------------------------------------------------------
USER_ERRORS = {
    "role": "Elige un rol válido.",
    "password": f"La contraseña debe tener al menos {users.MIN_PASSWORD_LENGTH} caracteres.",
    "username": "El usuario es obligatorio.",
}


@bp.get("/admin/users")
@role_required("admin")
def admin_users():
    rows = list(get_session().execute(select(User).order_by(User.active.desc(), User.username)).scalars())
    return render_template(
        "console/admin_users.html",
        users=rows,
        roles=ROLES,
        role_labels=auth.ROLE_LABELS,
        min_password=users.MIN_PASSWORD_LENGTH,
    )


@bp.post("/admin/users")
@role_required("admin")
def admin_create_user():
    f = request.form
    db = get_session()
    username = (f.get("username") or "").strip().lower()
    if db.execute(select(User).where(User.username == username)).scalar_one_or_none() is not None:
        flash("Ya existe un usuario con ese nombre.", "error")
        return redirect(url_for("console.admin_users"))
    try:
        user = users.create_or_update(db, username, f.get("role", ""), f.get("password", ""), name=f.get("name", ""))
    except users.UserError as exc:
        db.rollback()
        key = next((k for k in USER_ERRORS if k in str(exc)), None)
        flash(USER_ERRORS.get(key, str(exc)), "error")
        return redirect(url_for("console.admin_users"))
    audit.by_staff(
        db,
        current_user,
        action="user_created",
        target_type="user",
        target_id=user.id,
        details={"username": user.username, "role": user.role},
    )
    db.commit()
    flash(f"Usuario {user.username} creado.", "ok")
    return redirect(url_for("console.admin_users"))


@bp.post("/admin/users/<int:user_id>/<any(deactivate, activate):verb>")
@role_required("admin")
def admin_toggle_user(user_id: int, verb: str):
    db = get_session()
    user = db.get(User, user_id)
    if user is None:
        abort(404)
    if user.id == current_user.id and verb == "deactivate":
        flash("No puedes desactivar tu propio usuario.", "error")
        return redirect(url_for("console.admin_users"))
    user.active = verb == "activate"
    if not user.active:
        users.end_sessions(user)  # a cookie kept from before must not come back to life on re-activation
    audit.by_staff(
        db,
        current_user,
        action=f"user_{verb}d",
        target_type="user",
        target_id=user.id,
    )
    db.commit()
    flash(f"Usuario {user.username} {'activado' if user.active else 'desactivado'}.", "ok")
    return redirect(url_for("console.admin_users"))
