"""The manager dashboard (``/manager``): outcomes and analytics, transcripts with filters and search, exports.

Managers and admins only (agents get 403, anonymous users the login page). The list, the dashboard and the
CSV export read one filter model (``bot.review.filters.Filters``) from the query string, so every figure links to
the conversations behind it. Every transcript view is written to the audit log; debtors' document and card
numbers are masked in pages and exports.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from bot.billing.money import format_money
from bot.desk import display
from bot.desk.display import MESSAGE_STATUS_LABELS
from bot.review import dashboard as review_dashboard
from bot.review import exports as review_exports
from bot.review import filters, masks, search, transcripts
from bot.review import offers as review_offers
from bot.store import audit
from bot.store.models import (
    Conversation,
    Debtor,
    DueDateChange,
    Handoff,
    Invoice,
    Message,
    NonpaymentReason,
    Payment,
    PaymentLink,
    PaymentPlan,
    Promise,
    User,
)
from bot.web import auth
from bot.web.auth import role_required
from bot.web.db import get_session

bp = Blueprint(
    "manager",
    __name__,
    url_prefix="/manager",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
auth.csrf_protect(bp)
auth.secure_headers(bp)

ROLES = ("manager", "admin")
TIMEZONES = (
    "America/Bogota",
    "America/Mexico_City",
    "America/Argentina/Buenos_Aires",
    "America/Santiago",
    "America/Lima",
    "UTC",
)


def register(app: Flask) -> None:
    auth.init_app(app)
    app.register_blueprint(bp)


@bp.before_request
def _managers_only():
    if request.endpoint == "manager.static":
        return None
    if not current_user.is_authenticated:
        return auth.login_manager.unauthorized()
    if current_user.role not in ROLES:
        abort(403)
    return None


def manager_tz() -> str:
    """The signed-in user's zone (chosen on the page, saved with the user: the same on every device and session),
    else the configured one (``RECOBRA_MANAGER_TIMEZONE``). Times shown and period bounds both use it."""
    chosen = getattr(current_user, "timezone", None)
    if chosen and valid_zone(chosen):
        return chosen
    configured = current_app.config.get("MANAGER_TIMEZONE") or ""
    return configured if valid_zone(configured) else filters.DEFAULT_TZ


def valid_zone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _filters() -> filters.Filters:
    return filters.Filters.from_args(request.args, tz=manager_tz())


def _audit(action: str, target_type: str | None = None, target_id: Any = None, **details: Any) -> None:
    audit.by_staff(
        get_session(),
        current_user,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=details,
    )


def _offered(tz: str) -> tuple[str, ...]:
    """The zones of the picker: the usual ones, plus the current one if it came from the configuration."""
    return TIMEZONES if tz in TIMEZONES else (tz, *TIMEZONES)


def _agents() -> list[tuple[int, str]]:
    return [
        (u.id, u.name or u.username)
        for u in get_session()
        .execute(select(User).where(User.role.in_(("agent", "manager", "admin"))).order_by(User.name))
        .scalars()
    ]


@bp.context_processor
def _helpers() -> dict[str, Any]:
    tz = manager_tz()
    return {
        "outcome_labels": filters.OUTCOMES,
        "reason_labels": filters.REASON_LABELS,
        "country_labels": filters.COUNTRIES,
        "channel_labels": filters.CHANNELS,
        "intents": filters.INTENTS,
        "local": lambda dt: filters.local(dt, tz),
        "tz": tz,
        "timezones": _offered(tz),
        "mask": masks.mask,
        "mask_phone": masks.mask_phone,
        "money": _money,
        "status_label": lambda st: MESSAGE_STATUS_LABELS.get(st, st),
        "pct": _pct,
    }


CURRENCY_COUNTRY = {"COP": "CO", "MXN": "MX", "ARS": "AR", "CLP": "CL", "PEN": "PE", "UYU": "UY", "BRL": "BR"}


def _money(amount, currency: str) -> str:
    """Written the way the currency's own country writes it ($ 200.000 in Colombia, $1,500 in Mexico)."""
    return format_money(amount, currency, CURRENCY_COUNTRY.get(currency))


def _pct(part: int, whole: int) -> str:
    return "—" if not whole else f"{100.0 * part / whole:.1f} %"


# --- Dashboard ----------------------------------------------------------------------------------------
def _cached(kind: str, f: filters.Filters, compute):
    """Figures kept for ``MANAGER_CACHE_SECONDS`` (default 60) per kind (dashboard, A/B), segment and zone in this
    process: on 100,000 conversations a cold computation takes a few hundred milliseconds on a small machine,
    and managers reload and go back and forth. ``?fresh=1`` recomputes. Returns (figures, age in seconds)."""
    import time

    ttl = float(current_app.config.get("MANAGER_CACHE_SECONDS", 60))
    cache = current_app.extensions.setdefault("manager_dashboard_cache", {})
    key = (kind, tuple(sorted(f.to_args().items())), f.tz)
    now = time.monotonic()
    hit = cache.get(key)
    if ttl > 0 and hit and now - hit[1] < ttl and not request.args.get("fresh"):
        return hit[0], now - hit[1]
    data = compute()
    if ttl > 0:
        if len(cache) > 200:
            cache.clear()
        cache[key] = (data, now)
    return data, 0.0


@bp.get("/")
@role_required(*ROLES)
def dashboard():
    """Every figure but the A/B results: those come from ``/manager/ab/fragment`` once the page is shown
    (manager.js; without JavaScript, a link to ``/manager/ab``), so the page does not wait for them."""
    f = _filters()
    data, age = _cached("dashboard", f, lambda: review_dashboard.dashboard(get_session(), f, ab=False))
    top = max((n for _r, n in data.reasons), default=0)
    return render_template(
        "manager/dashboard.html",
        f=f,
        d=data,
        agents=_agents(),
        reason_max=top,
        presets=_presets(f),
        age=int(age),
        fresh=1 if request.args.get("fresh") else None,
    )


def _ab(f: filters.Filters) -> tuple[list[dict[str, Any]], float]:
    return _cached("ab", f, lambda: review_dashboard.ab_table(get_session(), f))


@bp.get("/ab")
@role_required(*ROLES)
def ab():
    """The campaigns' A/B results under the dashboard's filters: their own page (and CSV)."""
    f = _filters()
    results, age = _ab(f)
    return render_template("manager/ab.html", f=f, ab=results, agents=_agents(), presets=_presets(f), age=int(age))


@bp.get("/ab/fragment")
@role_required(*ROLES)
def ab_fragment():
    """The A/B tables alone, for the dashboard to load after it is shown."""
    f = _filters()
    results, _age = _ab(f)
    return render_template("manager/_ab.html", f=f, ab=results)


@bp.get("/ab.csv")
@role_required(*ROLES)
def ab_csv():
    db = get_session()
    f = _filters()
    results, _age = _ab(f)
    _audit("ab_results_exported", "ab_results", None, filters=f.to_args())
    db.commit()
    return _csv_response(review_exports.ab_csv(results), "pruebas_ab.csv")


def _presets(f: filters.Filters) -> list[tuple[str, dict[str, str]]]:
    from datetime import datetime, timedelta

    today = datetime.now(filters.zone(f.tz)).date()
    month_start = today.replace(day=1)
    last_month_end = month_start - timedelta(days=1)
    return [
        ("Este mes", f.to_args(**{"from": month_start.isoformat(), "to": today.isoformat()})),
        (
            "Mes pasado",
            f.to_args(**{"from": last_month_end.replace(day=1).isoformat(), "to": last_month_end.isoformat()}),
        ),
        ("Últimos 7 días", f.to_args(**{"from": (today - timedelta(days=6)).isoformat(), "to": today.isoformat()})),
        ("Últimos 60 días", f.to_args(**{"from": (today - timedelta(days=59)).isoformat(), "to": today.isoformat()})),
    ]


@bp.post("/timezone")
@role_required(*ROLES)
def set_timezone():
    """Save the zone the user picked (one of the offered ones) on the user: every page, session and device."""
    tz = request.form.get("tz", "")
    if tz in TIMEZONES:
        db = get_session()
        user = db.get(User, current_user.id)
        user.timezone = tz
        _audit("timezone_changed", "user", user.id, timezone=tz)
        db.commit()
    target = request.form.get("next") or url_for("manager.dashboard")
    return redirect(target if target.startswith("/manager") else url_for("manager.dashboard"))


# --- Transcripts --------------------------------------------------------------------------------------
@bp.get("/conversations")
@role_required(*ROLES)
def conversations():
    db = get_session()
    f = _filters()
    page = max(request.args.get("page", default=1, type=int) or 1, 1)
    total = transcripts.count(db, f)
    rows = transcripts.conversations(db, f, page=page)
    snippets = search.snippets(db, [r.id for r in rows], f.q) if f.q else {}
    pages = max((total + transcripts.PAGE_SIZE - 1) // transcripts.PAGE_SIZE, 1)
    return render_template(
        "manager/conversations.html",
        f=f,
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        snippets=_snippets(db, rows, snippets),
        agents=_agents(),
        presets=_presets(f),
    )


def _snippets(db, rows, snippets: dict[int, str]) -> dict[int, str]:
    """Search hits as a manager may read them: no card number, no document digits of the debtor."""
    if not snippets:
        return {}
    debtor_ids = {r.id: r.debtor_id for r in rows if r.id in snippets}
    last4 = dict(
        db.execute(
            select(Debtor.id, Debtor.document_last4).where(Debtor.id.in_({d for d in debtor_ids.values() if d}))
        ).all()
    )
    return {k: masks.staff_text(v, None, last4.get(debtor_ids.get(k))) for k, v in snippets.items()}


@bp.get("/conversations.csv")
@role_required(*ROLES)
def conversations_csv():
    db = get_session()
    f = _filters()
    _audit("conversations_exported", "conversation_list", None, filters=f.to_args())
    db.commit()
    return _csv_response(review_exports.list_csv(db, f), "conversaciones.csv", db)


@bp.get("/conversations/<int:conversation_id>")
@role_required(*ROLES)
def transcript(conversation_id: int):
    db = get_session()
    conv = _get_or_404(db, Conversation, conversation_id)
    debtor = db.get(Debtor, conv.debtor_id) if conv.debtor_id else None
    messages = list(
        db.execute(
            select(Message).where(Message.conversation_id == conv.id).order_by(Message.created_at, Message.id)
        ).scalars()
    )
    agent_names = {
        u.id: u.name or u.username
        for u in db.execute(select(User).where(User.id.in_({m.agent_id for m in messages if m.agent_id}))).scalars()
    }
    account = _account(db, debtor) if debtor else None
    flags = transcripts.flags_for(db, conv.id)
    _audit("transcript_viewed", "conversation", conv.id, debtor_id=conv.debtor_id, messages=len(messages))
    db.commit()
    back = request.args.get("back", "")
    return render_template(
        "manager/transcript.html",
        conv=conv,
        debtor=debtor,
        messages=messages,
        agent_names=agent_names,
        account=account,
        flags=flags,
        back=back if back.startswith("/manager/conversations") else url_for("manager.conversations"),
        entities=masks.mask_entities,
        shown=lambda m: masks.staff_text(m.body, m.entities, debtor.document_last4 if debtor else None),
    )


def _get_or_404(db, model, key: int):
    row = db.get(model, key)
    if row is None:
        abort(404)
    return row


def _account(db, debtor: Debtor) -> dict[str, list]:
    def rows(model, order):
        return list(db.execute(select(model).where(model.debtor_id == debtor.id).order_by(order)).scalars())

    invoices = rows(Invoice, Invoice.due_date)
    by_invoice = {i.id: i.external_id for i in invoices}
    return {
        "invoices": invoices,
        "by_invoice": by_invoice,
        "promises": rows(Promise, Promise.created_at),
        "payments": rows(Payment, Payment.created_at),
        "links": rows(PaymentLink, PaymentLink.created_at),
        "plans": rows(PaymentPlan, PaymentPlan.created_at),
        "moves": rows(DueDateChange, DueDateChange.created_at),
        "reasons": rows(NonpaymentReason, NonpaymentReason.created_at),
        "handoffs": rows(Handoff, Handoff.created_at),
    }


@bp.post("/conversations/<int:conversation_id>/tags")
@role_required(*ROLES)
def tag(conversation_id: int):
    db = get_session()
    conv = _get_or_404(db, Conversation, conversation_id)
    value = request.form.get("tag", "")
    on = request.form.get("action", "add") != "remove"
    if not transcripts.clean_tag(value):
        flash("Escribe una etiqueta.", "error")
    else:
        transcripts.set_tag(conv, value, on)
        _audit(
            "conversation_tagged" if on else "conversation_untagged",
            "conversation",
            conv.id,
            tag=transcripts.clean_tag(value),
        )
        db.commit()
        flash("Etiqueta guardada." if on else "Etiqueta quitada.", "ok")
    return redirect(url_for("manager.transcript", conversation_id=conv.id) + "#tags")


@bp.post("/messages/<int:message_id>/flag")
@role_required(*ROLES)
def flag(message_id: int):
    db = get_session()
    message = db.get(Message, message_id)
    if message is None or message.direction != "out":
        abort(404)
    transcripts.flag_message(
        db, message, current_user.id, request.form.get("expected_intent", ""), request.form.get("note", "")
    )
    _audit(
        "bot_reply_flagged",
        "message",
        message.id,
        conversation_id=message.conversation_id,
        expected_intent=request.form.get("expected_intent", ""),
    )
    db.commit()
    flash("Respuesta marcada como errónea: irá a la exportación para reentrenar.", "ok")
    return redirect(url_for("manager.transcript", conversation_id=message.conversation_id) + f"#m{message.id}")


@bp.get("/flags/export.yml")
@role_required(*ROLES)
def flags_export():
    db = get_session()
    body = review_exports.nlu_export(db)
    _audit("nlu_flags_exported", "message_flags")
    db.commit()
    return Response(
        body,
        mimetype="application/x-yaml",
        headers={"Content-Disposition": 'attachment; filename="recobra_nlu_flags.yml"'},
    )


# --- Settlement offers -------------------------------------------------------------------------------


@bp.get("/offers")
@role_required(*ROLES)
def offers():
    """Every settlement offer made in the period (the filters' dates, the manager's zone): accepted, paid, and what
    each offer collected against the discount it gave up."""
    f = _filters()
    data = review_offers.report(get_session(), f.date_from, f.date_to, manager_tz())
    return render_template(
        "manager/offers.html",
        f=f,
        r=data,
        offer_status=display.OFFER_LABELS,
        offer_kind=display.OFFER_KIND_LABELS,
    )


# --- Exports ------------------------------------------------------------------------------------------
@bp.get("/export")
@role_required(*ROLES)
def exports():
    return render_template("manager/exports.html", tables=review_exports.EXPORT_TABLES, f=_filters())


@bp.get("/export/<name>.csv")
@role_required(*ROLES)
def export_table(name: str):
    if name not in review_exports.EXPORT_TABLES:
        abort(404)
    db = get_session()
    _audit("table_exported", "table", name)
    db.commit()
    return _csv_response(review_exports.table_csv(db, name), f"{name}.csv", db)


def _csv_response(lines, filename: str, db=None) -> Response:
    """A streamed CSV. The stream reads the store after the view returned: it ends its own transaction, or
    on PostgreSQL the connection stays idle in a transaction that blocks migrations and truncations."""

    def stream():
        try:
            yield from lines
        finally:
            if db is not None:
                db.close()

    return Response(
        stream_with_context(stream()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
