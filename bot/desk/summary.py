"""A hand-off readable in five seconds: why it was handed off, what the debtor said last, the reason
for not paying, what is overdue, the latest promises and payment links."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.billing.accounts import local_today
from bot.billing.money import format_money
from bot.desk import display, settings
from bot.platform import masking
from bot.store.models import Debtor, Handoff, Invoice, Message, NonpaymentReason, PaymentLink, Promise


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
    now = now or settings.utcnow()
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
        overdue = display.overdue_by_currency(invoices, local_today(debtor, now), debtor.country)
    country = debtor.country if debtor else None
    promise_lines = [
        f"{format_money(p.amount, p.currency, country)} para el {p.promised_date:%d/%m/%Y} "
        f"({display.PROMISE_LABELS.get(p.status, p.status)}{', por agente' if p.source == 'agent' else ''})"
        for p in promises or []
    ]
    link_lines = [
        f"{format_money(link.amount, link.currency, country)} ({display.LINK_LABELS.get(link.status, link.status)}, "
        f"enviado {link.created_at:%d/%m %H:%M} UTC)"
        for link in links or []
    ]
    s = Summary(
        reason=handoff.reason,
        reason_label=display.reason_label(handoff.reason),
        bot_summary=masking.mask_identity(
            masking.mask_cards(handoff.summary or ""), answer=handoff.reason == "failed_verification"
        ),
        last_debtor_message=display.preview(last, 280),
        last_debtor_message_at=display.iso(last.created_at) if last else None,
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
        s.lines.append(f"Razón de no pago: {display.NONPAYMENT_LABELS.get(s.nonpayment_reason, s.nonpayment_reason)}.")
    s.lines.append("En mora: " + (", ".join(o["text"] for o in overdue) if overdue else "nada vencido") + ".")
    s.lines.append("Promesas: " + ("; ".join(promise_lines[:2]) if promise_lines else "ninguna") + ".")
    s.lines.append("Enlaces: " + ("; ".join(link_lines[:2]) if link_lines else "ninguno") + ".")
    return s
