"""The agent desk: what the console shows and does, without Flask.

Services take a session and return plain values; the caller owns the transaction (commits, then
queues the sending of whatever outbound rows were prepared). Every change is written to the audit
log with the agent's user id.

- ``queue``: live hand-offs (open and claimed), most urgent and oldest first, with the debtor, the
  amount overdue per currency (never summed across currencies), the waiting time and the channel.
- ``claim``: one atomic ``UPDATE ... WHERE status = 'open'``; exactly one agent wins a race.
- ``summary``: a hand-off readable in five seconds.
- ``reply`` and the quick actions (payment link, promise, due date, dispute outcome, notes) call the
  same services the bot uses (the outbox, payment links, promises and due dates).
- ``give_back`` / ``close``: the hand-off ends and the conversation is the bot's again.
- ``out_of_hours_notice``: what to tell a debtor handed off while the team is away (config/console.yml).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.billing.accounts import local_today
from bot.billing.money import format_money
from bot.conversation import handoffs
from bot.messaging.twilio_messages import safe_media_url
from bot.platform import audit, masking, policies
from bot.store.models import (
    AgentNote,
    Conversation,
    Debtor,
    Handoff,
    Invoice,
    Message,
    NonpaymentReason,
    PaymentLink,
    Promise,
    User,
)

CONFIG = "console"
SUPERVISORS = ("manager", "admin")

HANDOFF_REASON_LABELS = {
    "request_human": "Pidió hablar con una persona",
    "dispute": "Disputa la deuda",
    "claims_paid": "Dice que ya pagó",
    "failed_verification": "No pasó la verificación de identidad",
    "fallback": "El bot no le entendió varias veces",
    "due_date_refused": "Cambio de fecha rechazado",
    "payment_reversed": "Pago revertido",
    "payment_plan": "Plan de pagos",
    "service_issue": "Problema con el servicio",
    "other": "Otro motivo",
}
NONPAYMENT_LABELS = {
    "job_loss": "Perdió el empleo",
    "income_delay": "Retraso en sus ingresos",
    "forgot": "Se le olvidó",
    "health": "Problemas de salud",
    "other_debts": "Otras deudas",
    "service_issue": "Problema con el servicio",
    "other": "Otro",
}
CHANNEL_LABELS = {"whatsapp": "WhatsApp", "sms": "SMS"}
PROMISE_LABELS = {"open": "vigente", "kept": "cumplida", "broken": "incumplida", "replaced": "reemplazada"}
LINK_LABELS = {"active": "activo", "paid": "pagado", "expired": "vencido"}
INVOICE_LABELS = {"open": "abierta", "paid": "pagada", "disputed": "en disputa", "cancelled": "anulada"}
MESSAGE_STATUS_LABELS = {
    "pending": "pendiente",
    "accepted": "aceptado",
    "queued": "en cola",
    "sending": "enviando",
    "sent": "enviado",
    "delivered": "entregado",
    "read": "leído",
    "failed": "falló",
    "undelivered": "no entregado",
    "received": "recibido",
    "processed": "recibido",
}
PAYMENT_LABELS = {
    "approved": "aprobado",
    "pending": "pendiente",
    "in_process": "en proceso",
    "rejected": "rechazado",
    "cancelled": "cancelado",
    "refunded": "devuelto",
    "charged_back": "contracargo",
    "in_mediation": "en mediación",
    "authorized": "autorizado",
}
DUE_DATE_REFUSALS = {
    "not_open": "la factura no está abierta",
    "too_overdue": "la factura tiene demasiados días de mora",
    "too_many_changes": "la fecha de esta factura ya se cambió el máximo de veces",
    "date_missing": "falta la nueva fecha",
    "date_too_soon": "la nueva fecha es demasiado cercana",
    "not_later": "la nueva fecha debe ser posterior a la actual",
    "too_far": "la nueva fecha está más lejos de lo que permite la política",
}
PROMISE_ERRORS = {
    "invoice_not_open": "la factura no está abierta",
    "date_missing": "falta la fecha",
    "date_in_past": "la fecha ya pasó",
    "date_too_far": "la fecha está más lejos de lo que permite la política",
    "amount_invalid": "el monto no es válido",
    "amount_too_high": "el monto supera el saldo",
}
DISPUTE_OUTCOMES = {
    "upheld": "Procede: la factura se anula y no se cobra",
    "rejected": "No procede: la factura vuelve a cobrarse",
}
DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")


class DeskError(ValueError):
    """Something the agent asked for that cannot be done; the message is for the agent (Spanish)."""


def config(cfg: dict[str, Any] | None = None) -> dict[str, Any]:
    return cfg if cfg is not None else policies.load(CONFIG)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def poll_seconds(cfg: dict[str, Any] | None = None) -> float:
    return min(3.0, float(config(cfg).get("poll_seconds", 3)))


def reason_label(reason: str | None) -> str:
    return HANDOFF_REASON_LABELS.get(reason or "", (reason or "otro").replace("_", " ").capitalize())


mask_phone = masking.mask_phone  # the one phone mask: the console and the manager show the same digits


def shown_body(message: Message) -> str:
    """A message as agents see it: a debtor's card number or identity answer stays hidden (stored ones are
    masked on arrival; this also covers messages stored before that)."""
    body = message.body or ""
    if message.direction != "in":
        return body
    return masking.mask_identity(masking.mask_cards(body), message.entities)


def waiting_text(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return "menos de 1 min"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


# --- Queue -------------------------------------------------------------------------------------
@dataclass
class QueueItem:
    id: int
    status: str
    reason: str
    reason_label: str
    urgency: int
    debtor_id: int | None
    debtor_name: str
    debtor_external_id: str | None
    phone: str
    channel: str | None
    channel_label: str
    overdue: list[dict[str, str]]  # [{"currency", "amount", "text"}] one per currency
    created_at: str
    waiting_seconds: int
    waiting: str
    flagged: bool  # open and unclaimed for longer than the configured time
    claimed_by: int | None
    claimed_by_name: str | None
    last_message: str
    last_message_at: str | None
    last_inbound_id: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def overdue_by_currency(invoices: list[Invoice], today: date, country: str | None = None) -> list[dict[str, str]]:
    """What is past due, one total per currency (amounts in different currencies never add up)."""
    totals: dict[str, Decimal] = {}
    for inv in invoices:
        if inv.status == "open" and inv.balance > 0 and inv.due_date < today:
            totals[inv.currency] = totals.get(inv.currency, Decimal("0.00")) + inv.balance
    return [
        {"currency": cur, "amount": f"{amt:.2f}", "text": format_money(amt, cur, country)}
        for cur, amt in sorted(totals.items())
    ]


def queue(session: Session, now: datetime | None = None, cfg: dict[str, Any] | None = None) -> list[QueueItem]:
    """Open and claimed hand-offs: open before claimed, then the most urgent reason, then the oldest."""
    now = now or utcnow()
    cfg = config(cfg)
    urgency = {str(k): int(v) for k, v in (cfg.get("urgency") or {}).items()}
    alert = timedelta(minutes=float(cfg.get("unclaimed_alert_minutes", 10)))
    live = list(
        session.execute(
            select(Handoff).where(Handoff.status.in_(("open", "claimed"))).order_by(Handoff.created_at, Handoff.id)
        ).scalars()
    )
    if not live:
        return []
    debtor_ids = {h.debtor_id for h in live if h.debtor_id}
    conv_ids = {h.conversation_id for h in live if h.conversation_id}
    user_ids = {h.claimed_by for h in live if h.claimed_by}
    debtors = {d.id: d for d in session.execute(select(Debtor).where(Debtor.id.in_(debtor_ids))).scalars()}
    convs = {c.id: c for c in session.execute(select(Conversation).where(Conversation.id.in_(conv_ids))).scalars()}
    users = {u.id: u for u in session.execute(select(User).where(User.id.in_(user_ids))).scalars()} if user_ids else {}
    invoices: dict[int, list[Invoice]] = {}
    for inv in session.execute(
        select(Invoice).where(Invoice.debtor_id.in_(debtor_ids), Invoice.status == "open", Invoice.balance > 0)
    ).scalars():
        invoices.setdefault(inv.debtor_id, []).append(inv)
    last_ids = dict(
        session.execute(
            select(Message.conversation_id, func.max(Message.id))
            .where(Message.conversation_id.in_(conv_ids), Message.direction == "in")
            .group_by(Message.conversation_id)
        ).all()
    )
    last_msgs = {
        m.id: m
        for m in session.execute(select(Message).where(Message.id.in_([i for i in last_ids.values() if i]))).scalars()
    }

    items = []
    for h in live:
        debtor = debtors.get(h.debtor_id) if h.debtor_id else None
        conv = convs.get(h.conversation_id) if h.conversation_id else None
        last = last_msgs.get(last_ids.get(h.conversation_id)) if h.conversation_id else None
        today = local_today(debtor, now) if debtor else now.date()
        waited = max(0, int((now - h.created_at).total_seconds()))
        claimer = users.get(h.claimed_by) if h.claimed_by else None
        items.append(
            QueueItem(
                id=h.id,
                status=h.status,
                reason=h.reason,
                reason_label=reason_label(h.reason),
                urgency=urgency.get(h.reason, 5),
                debtor_id=debtor.id if debtor else None,
                debtor_name=debtor.name if debtor else "Número desconocido",
                debtor_external_id=debtor.external_id if debtor else None,
                phone=mask_phone(conv.phone if conv else (debtor.phone if debtor else "")),
                channel=conv.last_channel if conv else None,
                channel_label=CHANNEL_LABELS.get(conv.last_channel if conv else "", "—"),
                overdue=overdue_by_currency(invoices.get(debtor.id, []), today, debtor.country) if debtor else [],
                created_at=_iso(h.created_at),
                waiting_seconds=waited,
                waiting=waiting_text(waited),
                flagged=h.status == "open" and now - h.created_at >= alert,
                claimed_by=h.claimed_by,
                claimed_by_name=(claimer.name or claimer.username) if claimer else None,
                last_message=_preview(last),
                last_message_at=_iso(last.created_at) if last else None,
                last_inbound_id=last.id if last else None,
            )
        )
    items.sort(key=lambda i: (i.status != "open", not i.flagged, i.urgency, i.created_at, i.id))
    return items


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if dt is not None else None


def _preview(message: Message | None, length: int = 120) -> str:
    if message is None:
        return ""
    text = shown_body(message).strip()
    if not text and message.media:
        text = "[adjunto]"
    return text if len(text) <= length else text[: length - 1] + "…"


# --- Claim -------------------------------------------------------------------------------------
def claim(session: Session, handoff_id: int, user: User, now: datetime | None = None) -> bool:
    """Take an open hand-off. Atomic: of two agents claiming at once exactly one gets True."""
    now = now or utcnow()
    result = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == "open")
        .values(status="claimed", claimed_by=user.id, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    handoff = session.get(Handoff, handoff_id)
    if handoff is not None:
        session.refresh(handoff)
    audit.record(
        session,
        actor=user.username,
        user_id=user.id,
        action="handoff_claimed",
        target_type="handoff",
        target_id=handoff_id,
    )
    return True


def release(session: Session, handoff: Handoff, user: User) -> bool:
    """Put a claimed hand-off back in the queue (the claimer or a supervisor)."""
    check_can_act(handoff, user)
    result = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff.id, Handoff.status == "claimed")
        .values(status="open", claimed_by=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    session.refresh(handoff)
    if result.rowcount == 1:
        audit.record(
            session,
            actor=user.username,
            user_id=user.id,
            action="handoff_released",
            target_type="handoff",
            target_id=handoff.id,
        )
    return result.rowcount == 1


def can_act(handoff: Handoff, user: User) -> bool:
    """Only who claimed the hand-off acts on it (a manager or admin may step in)."""
    if handoff.status != "claimed":
        return False
    return handoff.claimed_by == user.id or user.role in SUPERVISORS


def check_can_act(handoff: Handoff, user: User) -> None:
    if handoff.status == "closed":
        raise DeskError("Esta conversación ya se cerró.")
    if handoff.status == "open":
        raise DeskError("Primero toma la conversación.")
    if not can_act(handoff, user):
        raise DeskError("Otra persona atiende esta conversación.")


# --- Conversation ------------------------------------------------------------------------------
def conversation(session: Session, handoff: Handoff) -> Conversation | None:
    return session.get(Conversation, handoff.conversation_id) if handoff.conversation_id else None


def transcript(session: Session, conversation_id: int, after_id: int = 0) -> list[Message]:
    """The whole conversation (debtor, bot, agent), oldest first; only what came after ``after_id``."""
    return list(
        session.execute(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.id > after_id)
            .order_by(Message.created_at, Message.id)
        ).scalars()
    )


def message_dict(message: Message, agents: dict[int, str] | None = None) -> dict[str, Any]:
    # https only, whatever was stored before ingest checked it: a javascript: or data: URL never becomes a link
    media = [m for m in (message.media or []) if isinstance(m, dict) and safe_media_url(str(m.get("url") or ""))]
    return {
        "id": message.id,
        "direction": message.direction,
        "author": message.author,
        "author_label": {"debtor": "Deudor", "bot": "Bot", "agent": "Agente", "system": "Sistema"}.get(
            message.author, message.author
        ),
        "agent_name": (agents or {}).get(message.agent_id) if message.agent_id else None,
        "channel": message.channel,
        "body": shown_body(message),
        "status": message.status,
        "status_label": MESSAGE_STATUS_LABELS.get(message.status, message.status),
        "error_code": message.error_code,
        "template": bool(message.content_sid),
        "media": [
            {
                "url": m["url"],
                "content_type": m.get("content_type") or "",
                "image": str(m.get("content_type") or "").startswith("image/"),
            }
            for m in media
        ],
        "created_at": _iso(message.created_at),
    }


def outbound_statuses(session: Session, conversation_id: int, limit: int = 50) -> dict[str, str]:
    """The delivery status of the conversation's latest outbound messages (they move after sending)."""
    rows = session.execute(
        select(Message.id, Message.status)
        .where(Message.conversation_id == conversation_id, Message.direction == "out")
        .order_by(Message.id.desc())
        .limit(limit)
    ).all()
    return {str(i): MESSAGE_STATUS_LABELS.get(st, st) for i, st in rows}


def agent_names(session: Session, messages: list[Message]) -> dict[int, str]:
    ids = {m.agent_id for m in messages if m.agent_id}
    if not ids:
        return {}
    return {u.id: u.name or u.username for u in session.execute(select(User).where(User.id.in_(ids))).scalars()}


def notes(session: Session, handoff: Handoff) -> list[AgentNote]:
    """Internal notes about the debtor (this hand-off and earlier ones), oldest first."""
    where = AgentNote.debtor_id == handoff.debtor_id if handoff.debtor_id else AgentNote.handoff_id == handoff.id
    return list(session.execute(select(AgentNote).where(where).order_by(AgentNote.id)).scalars())


# --- Summary -----------------------------------------------------------------------------------
@dataclass
class Summary:
    reason: str
    reason_label: str
    bot_summary: str
    last_debtor_message: str
    last_debtor_message_at: str | None
    nonpayment_reason: str | None
    nonpayment_reason_text: str
    overdue: list[dict[str, str]]
    promises: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summary(session: Session, handoff: Handoff, now: datetime | None = None) -> Summary:
    """Why it was handed off, what the debtor said last, the reason for not paying, promises and links."""
    now = now or utcnow()
    debtor = session.get(Debtor, handoff.debtor_id) if handoff.debtor_id else None
    last = None
    if handoff.conversation_id:
        last = session.execute(
            select(Message)
            .where(Message.conversation_id == handoff.conversation_id, Message.direction == "in")
            .order_by(Message.id.desc())
            .limit(1)
        ).scalar_one_or_none()
    reason_row = promises = links = None
    overdue: list[dict[str, str]] = []
    if debtor is not None:
        reason_row = session.execute(
            select(NonpaymentReason)
            .where(NonpaymentReason.debtor_id == debtor.id)
            .order_by(NonpaymentReason.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        promises = list(
            session.execute(
                select(Promise).where(Promise.debtor_id == debtor.id).order_by(Promise.id.desc()).limit(3)
            ).scalars()
        )
        links = list(
            session.execute(
                select(PaymentLink).where(PaymentLink.debtor_id == debtor.id).order_by(PaymentLink.id.desc()).limit(3)
            ).scalars()
        )
        invoices = list(session.execute(select(Invoice).where(Invoice.debtor_id == debtor.id)).scalars())
        overdue = overdue_by_currency(invoices, local_today(debtor, now), debtor.country)
    country = debtor.country if debtor else None
    promise_lines = [
        f"{format_money(p.amount, p.currency, country)} para el {p.promised_date:%d/%m/%Y} "
        f"({PROMISE_LABELS.get(p.status, p.status)}{', por agente' if p.source == 'agent' else ''})"
        for p in promises or []
    ]
    link_lines = [
        f"{format_money(link.amount, link.currency, country)} ({LINK_LABELS.get(link.status, link.status)}, "
        f"enviado {link.created_at:%d/%m %H:%M} UTC)"
        for link in links or []
    ]
    s = Summary(
        reason=handoff.reason,
        reason_label=reason_label(handoff.reason),
        bot_summary=masking.mask_identity(
            masking.mask_cards(handoff.summary or ""), answer=handoff.reason == "failed_verification"
        ),
        last_debtor_message=_preview(last, 280),
        last_debtor_message_at=_iso(last.created_at) if last else None,
        nonpayment_reason=reason_row.reason if reason_row else None,
        nonpayment_reason_text=(reason_row.text or "") if reason_row else "",
        overdue=overdue,
        promises=promise_lines,
        links=link_lines,
    )
    s.lines = [f"Motivo: {s.reason_label}."]
    s.lines.append(
        f"Último mensaje: «{s.last_debtor_message}»." if s.last_debtor_message else "El deudor no ha escrito."
    )
    if s.nonpayment_reason:
        s.lines.append(f"Razón de no pago: {NONPAYMENT_LABELS.get(s.nonpayment_reason, s.nonpayment_reason)}.")
    s.lines.append("En mora: " + (", ".join(o["text"] for o in overdue) if overdue else "nada vencido") + ".")
    s.lines.append("Promesas: " + ("; ".join(promise_lines[:2]) if promise_lines else "ninguna") + ".")
    s.lines.append("Enlaces: " + ("; ".join(link_lines[:2]) if link_lines else "ninguno") + ".")
    return s


# --- Actions -----------------------------------------------------------------------------------
def _debtor(session: Session, handoff: Handoff) -> Debtor:
    debtor = session.get(Debtor, handoff.debtor_id) if handoff.debtor_id else None
    if debtor is None:
        raise DeskError("Este número no corresponde a ningún deudor.")
    return debtor


def _invoice(session: Session, debtor: Debtor, invoice_id: int | str | None) -> Invoice:
    try:
        invoice = session.get(Invoice, int(invoice_id)) if invoice_id not in (None, "") else None
    except (TypeError, ValueError):
        invoice = None
    if invoice is None or invoice.debtor_id != debtor.id:
        raise DeskError("Elige una factura del deudor.")
    return invoice


def _amount(value: str | None) -> Decimal | None:
    value = (value or "").strip().replace(",", ".")
    if not value:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise DeskError("El monto no es un número.") from exc
    if not amount.is_finite() or amount <= 0:
        raise DeskError("El monto debe ser mayor que cero.")
    return amount


def _date(value: str | date | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise DeskError("La fecha no es válida (AAAA-MM-DD).") from exc


def reply(session: Session, handoff: Handoff, user: User, body: str) -> list[Message]:
    """Prepare the agent's reply on the debtor's channel (bot.messaging.outbox handles WhatsApp's 24-hour
    window); the caller commits and then queues the sending (``bot.worker.outbound.queue_send``)."""
    from bot.messaging import outbox

    check_can_act(handoff, user)
    body = (body or "").strip()
    if not body:
        raise DeskError("Escribe un mensaje.")
    if len(body) > 1600:
        raise DeskError("El mensaje es demasiado largo (máximo 1600 caracteres).")
    conv = conversation(session, handoff)
    if conv is None:
        raise DeskError("Esta conversación no tiene teléfono.")
    try:
        rows = outbox.prepare_text(session, conv, body, author="agent", agent_id=user.id, reply=True)
    except outbox.NotSendable as exc:
        raise DeskError(f"No se puede enviar: {exc}") from exc
    audit.record(
        session,
        actor=user.username,
        user_id=user.id,
        action="agent_reply",
        target_type="handoff",
        target_id=handoff.id,
        details={"messages": [r.id for r in rows]},
    )
    return rows


def send_payment_link(
    session: Session,
    handoff: Handoff,
    user: User,
    invoice_id: int | str | None,
    amount: str | None = None,
    now: datetime | None = None,
) -> tuple[PaymentLink, list[Message]]:
    """Create (or reuse) an exact-amount link with bot.billing.payment_links and send it to the debtor."""
    from bot.billing import payment_links

    check_can_act(handoff, user)
    debtor = _debtor(session, handoff)
    invoice = _invoice(session, debtor, invoice_id)
    if invoice.status != "open" or invoice.balance <= 0:
        raise DeskError("La factura no tiene saldo por cobrar.")
    try:
        link, _reused = payment_links.create_link(session, debtor, invoice, _amount(amount), now=now)
    except ValueError as exc:
        raise DeskError("El monto debe ser mayor que cero y no superar el saldo.") from exc
    audit.record(
        session,
        actor=user.username,
        user_id=user.id,
        action="agent_payment_link",
        target_type="payment_link",
        target_id=link.id,
        details={"handoff_id": handoff.id, "invoice_id": invoice.id, "amount": f"{link.amount:.2f}"},
    )
    text = (
        f"Este es tu enlace de pago por {format_money(link.amount, link.currency, debtor.country)} "
        f"(factura {invoice.external_id}): {payment_links.link_url(link)}"
    )
    return link, reply(session, handoff, user, text)


def record_promise(
    session: Session,
    handoff: Handoff,
    user: User,
    invoice_id: int | str | None,
    promised_date: str | date | None,
    amount: str | None = None,
) -> Promise:
    from bot.billing import promises

    check_can_act(handoff, user)
    debtor = _debtor(session, handoff)
    invoice = _invoice(session, debtor, invoice_id)
    try:
        promise = promises.create(session, debtor, invoice, _date(promised_date), _amount(amount), source="agent")
    except promises.PromiseError as exc:
        limit = f" (hasta el {exc.max_date:%d/%m/%Y})" if exc.max_date else ""
        raise DeskError(f"No se puede registrar la promesa: {PROMISE_ERRORS.get(exc.code, exc.code)}{limit}.") from exc
    audit.record(
        session,
        actor=user.username,
        user_id=user.id,
        action="agent_promise",
        target_type="promise",
        target_id=promise.id,
        details={"handoff_id": handoff.id},
    )
    return promise


def move_due_date(
    session: Session,
    handoff: Handoff,
    user: User,
    invoice_id: int | str | None,
    new_date: str | date | None,
    override_reason: str = "",
    today: date | None = None,
):
    """Move the due date within the policy (bot.billing.due_dates); a manager or admin may override a
    refusal by giving a reason. Returns the ``Decision``."""
    from bot.billing import due_dates
    from bot.store.models import DueDateChange

    check_can_act(handoff, user)
    debtor = _debtor(session, handoff)
    invoice = _invoice(session, debtor, invoice_id)
    wanted = _date(new_date)
    today = today or local_today(debtor)
    decision = due_dates.apply(session, debtor, invoice, wanted, today, changed_by="agent")
    if decision.approved:
        audit.record(
            session,
            actor=user.username,
            user_id=user.id,
            action="agent_due_date",
            target_type="invoice",
            target_id=invoice.id,
            details={"handoff_id": handoff.id, "new_date": wanted.isoformat()},
        )
        return decision
    why = DUE_DATE_REFUSALS.get(decision.reason or "", decision.reason or "")
    override_reason = (override_reason or "").strip()
    if user.role not in SUPERVISORS or not override_reason:
        hint = f" Lo más lejos que permite: {decision.latest_date:%d/%m/%Y}." if decision.latest_date else ""
        extra = (
            " Un gerente puede autorizarlo indicando el motivo."
            if user.role not in SUPERVISORS
            else " Para autorizarlo de todos modos, indica el motivo."
        )
        raise DeskError(f"La política no permite el cambio: {why}.{hint}{extra}")
    if wanted is None or wanted <= today or invoice.status != "open":
        raise DeskError("Ni con autorización: la nueva fecha debe ser futura y la factura estar abierta.")
    old = invoice.due_date
    invoice.due_date = wanted
    session.add(
        DueDateChange(
            debtor_id=debtor.id,
            invoice_id=invoice.id,
            old_date=old,
            new_date=wanted,
            changed_by=user.role,
            note=f"Autorizado por {user.username}: {override_reason}"[:2000],
        )
    )
    session.add(
        AgentNote(
            handoff_id=handoff.id,
            debtor_id=debtor.id,
            user_id=user.id,
            kind="override",
            body=f"Cambio de fecha {old:%d/%m/%Y} → {wanted:%d/%m/%Y} fuera de política "
            f"({why}). Motivo: {override_reason}"[:4000],
        )
    )
    session.flush()
    audit.record(
        session,
        actor=user.username,
        user_id=user.id,
        action="due_date_override",
        target_type="invoice",
        target_id=invoice.id,
        details={
            "handoff_id": handoff.id,
            "old_date": old.isoformat(),
            "new_date": wanted.isoformat(),
            "refusal": decision.reason,
            "reason": override_reason[:500],
        },
    )
    return due_dates.Decision(True, None, old, wanted, decision.latest_date)


def record_dispute_outcome(
    session: Session, handoff: Handoff, user: User, invoice_id: int | str | None, outcome: str, note: str = ""
) -> Invoice:
    """``upheld``: the debtor is right, the invoice is cancelled; ``rejected``: it is collected again."""
    check_can_act(handoff, user)
    if outcome not in DISPUTE_OUTCOMES:
        raise DeskError("Elige el resultado de la disputa.")
    debtor = _debtor(session, handoff)
    invoice = _invoice(session, debtor, invoice_id)
    if invoice.status in ("paid",):
        raise DeskError("La factura ya está pagada.")
    before = invoice.status
    if outcome == "upheld":
        invoice.status, invoice.reminders_paused = "cancelled", True
    else:
        invoice.status, invoice.reminders_paused = "open", False
    note = (note or "").strip()
    session.add(
        AgentNote(
            handoff_id=handoff.id,
            debtor_id=debtor.id,
            user_id=user.id,
            kind="dispute_outcome",
            body=f"Disputa de la factura {invoice.external_id}: {DISPUTE_OUTCOMES[outcome]}."
            + (f" {note}" if note else ""),
        )
    )
    session.flush()
    audit.record(
        session,
        actor=user.username,
        user_id=user.id,
        action="dispute_outcome",
        target_type="invoice",
        target_id=invoice.id,
        details={
            "handoff_id": handoff.id,
            "outcome": outcome,
            "from": before,
            "to": invoice.status,
            "note": note[:500],
        },
    )
    return invoice


def add_note(session: Session, handoff: Handoff, user: User, body: str) -> AgentNote:
    body = (body or "").strip()
    if not body:
        raise DeskError("La nota está vacía.")
    if handoff.status == "claimed" and not can_act(handoff, user):
        raise DeskError("Otra persona atiende esta conversación.")
    note = AgentNote(handoff_id=handoff.id, debtor_id=handoff.debtor_id, user_id=user.id, kind="note", body=body[:4000])
    session.add(note)
    session.flush()
    audit.record(
        session,
        actor=user.username,
        user_id=user.id,
        action="agent_note",
        target_type="handoff",
        target_id=handoff.id,
        details={"note_id": note.id},
    )
    return note


def give_back(session: Session, handoff: Handoff, user: User) -> Handoff:
    """End the hand-off: the debtor's next message is the bot's again."""
    _check_can_end(handoff, user)
    conv = conversation(session, handoff)
    audit.record(
        session,
        actor=user.username,
        user_id=user.id,
        action="handoff_given_back",
        target_type="handoff",
        target_id=handoff.id,
    )
    if conv is not None:
        handoffs.give_back(session, conv.phone, actor=user.username, user_id=user.id)
    else:
        handoffs.close(session, handoff, actor=user.username, user_id=user.id)
    session.refresh(handoff)
    return handoff


def close(session: Session, handoff: Handoff, user: User) -> Handoff:
    """Close the hand-off (resolved); the conversation goes back to the bot too."""
    _check_can_end(handoff, user)
    return handoffs.close(session, handoff, actor=user.username, user_id=user.id)


def _check_can_end(handoff: Handoff, user: User) -> None:
    if handoff.status == "closed":
        raise DeskError("Esta conversación ya se cerró.")
    if handoff.status == "open" and user.role not in SUPERVISORS:
        raise DeskError("Primero toma la conversación.")
    if handoff.status == "claimed" and not can_act(handoff, user):
        raise DeskError("Otra persona atiende esta conversación.")


# --- Working hours -----------------------------------------------------------------------------
def _hours(cfg: dict[str, Any]) -> tuple[zoneinfo.ZoneInfo, dict[int, tuple[time, time]], str]:
    wh = cfg.get("working_hours") or {}
    tz = zoneinfo.ZoneInfo(wh.get("timezone") or "UTC")
    days: dict[int, tuple[time, time]] = {}
    for key, span in (wh.get("days") or {}).items():
        key = str(key).lower()[:3]
        if key in DAY_KEYS and span:
            start, end = (time.fromisoformat(str(s)) for s in span)
            days[DAY_KEYS.index(key)] = (start, end)
    return tz, days, str(wh.get("label") or "")


def _holiday(day: date, cfg: dict[str, Any]) -> bool:
    country = (cfg.get("working_hours") or {}).get("holidays")
    if not country:
        return False
    import holidays

    try:
        return day in holidays.country_holidays(str(country), years=day.year)
    except (KeyError, NotImplementedError):
        return False


def is_working_time(now: datetime | None = None, cfg: dict[str, Any] | None = None) -> bool:
    cfg = config(cfg)
    tz, days, _ = _hours(cfg)
    if not days:
        return True  # no hours configured: always staffed
    local = (now or utcnow()).astimezone(tz)
    span = days.get(local.weekday())
    return span is not None and not _holiday(local.date(), cfg) and span[0] <= local.time() < span[1]


def next_opening(now: datetime | None = None, cfg: dict[str, Any] | None = None) -> datetime | None:
    """When the team is next at work (aware, in the team's time zone); None when always staffed."""
    cfg = config(cfg)
    tz, days, _ = _hours(cfg)
    if not days:
        return None
    local = (now or utcnow()).astimezone(tz)
    for offset in range(0, 15):
        day = local.date() + timedelta(days=offset)
        span = days.get(day.weekday())
        if span is None or _holiday(day, cfg):
            continue
        opening = datetime.combine(day, span[0], tzinfo=tz)
        if offset == 0 and local.time() >= span[0]:
            continue
        return opening
    return None


def _clock(t: datetime) -> str:
    return f"{t.hour}:{t.minute:02d}"


def out_of_hours_notice(now: datetime | None = None, cfg: dict[str, Any] | None = None) -> str | None:
    """What to tell a debtor whose conversation goes to a person while the team is away, or None
    during working hours. The hand-off opener / messaging edge sends it after opening a hand-off."""
    cfg = config(cfg)
    now = now or utcnow()
    if is_working_time(now, cfg):
        return None
    opening = next_opening(now, cfg)
    if opening is None:
        return None
    tz, _, label = _hours(cfg)
    local = now.astimezone(tz)
    days_ahead = (opening.date() - local.date()).days
    if days_ahead == 0:
        when = f"hoy a partir de las {_clock(opening)}"
    elif days_ahead == 1:
        when = f"mañana a partir de las {_clock(opening)}"
    else:
        when = f"el {DAY_NAMES[opening.weekday()]} a partir de las {_clock(opening)}"
    zone = f" ({label})" if label else ""
    return (
        f"En este momento nuestro equipo no está disponible; una persona le responderá {when}{zone}. "
        f"Su conversación queda registrada."
    )


def notify_out_of_hours(
    session: Session, handoff: Handoff, now: datetime | None = None, cfg: dict[str, Any] | None = None
) -> list[Message]:
    """Outside working hours, prepare (once per hand-off) the notice telling the debtor when a person
    will answer, on the debtor's channel. The caller commits and queues the sending, as for any reply.
    For whoever opens hand-offs: ``if created: agent_desk.notify_out_of_hours(session, handoff)``."""
    from bot.messaging import outbox
    from bot.store.models import AuditLog

    notice = out_of_hours_notice(now, cfg)
    conv = conversation(session, handoff)
    if notice is None or conv is None or handoff.status == "closed":
        return []
    already = session.execute(
        select(AuditLog.id)
        .where(
            AuditLog.action == "out_of_hours_notice",
            AuditLog.target_type == "handoff",
            AuditLog.target_id == str(handoff.id),
        )
        .limit(1)
    ).first()
    if already:
        return []
    try:
        rows = outbox.prepare_text(session, conv, notice, author="system", reply=True)
    except outbox.NotSendable:
        return []
    audit.record(
        session,
        actor="system",
        action="out_of_hours_notice",
        target_type="handoff",
        target_id=handoff.id,
        details={"messages": [r.id for r in rows]},
    )
    return rows
