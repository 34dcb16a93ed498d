"""The hand-off queue: which conversations wait for a person, in what order, and who takes each.

- ``queue``: live hand-offs (open and claimed), most urgent and oldest first, with the debtor, the amount
  overdue per currency (never summed across currencies), the waiting time and the channel.
- ``claim``: one atomic ``UPDATE ... WHERE status = 'open'``; exactly one agent wins a race.
- ``release``: a claimed hand-off goes back to the queue.

The caller owns the transaction; every change is written to the audit log with the agent's user id.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.billing.accounts import local_today
from bot.desk import access, display, settings
from bot.store import audit
from bot.store.models import Conversation, Debtor, Handoff, Invoice, Message, User


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
    created_at: str | None
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


def queue(session: Session, now: datetime | None = None, cfg: dict[str, Any] | None = None) -> list[QueueItem]:
    """Open and claimed hand-offs: open before claimed, then the most urgent reason, then the oldest."""
    now = now or settings.utcnow()
    cfg = settings.config(cfg)
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
                reason_label=display.reason_label(h.reason),
                urgency=urgency.get(h.reason, 5),
                debtor_id=debtor.id if debtor else None,
                debtor_name=debtor.name if debtor else "Número desconocido",
                debtor_external_id=debtor.external_id if debtor else None,
                phone=display.mask_phone(conv.phone if conv else (debtor.phone if debtor else "")),
                channel=conv.last_channel if conv else None,
                channel_label=display.CHANNEL_LABELS.get(conv.last_channel if conv else "", "—"),
                overdue=display.overdue_by_currency(invoices.get(debtor.id, []), today, debtor.country)
                if debtor
                else [],
                created_at=display.iso(h.created_at),
                waiting_seconds=waited,
                waiting=display.waiting_text(waited),
                flagged=h.status == "open" and now - h.created_at >= alert,
                claimed_by=h.claimed_by,
                claimed_by_name=(claimer.name or claimer.username) if claimer else None,
                last_message=display.preview(last),
                last_message_at=display.iso(last.created_at) if last else None,
                last_inbound_id=last.id if last else None,
            )
        )
    items.sort(key=lambda i: (i.status != "open", not i.flagged, i.urgency, i.created_at, i.id))
    return items


def claim(session: Session, handoff_id: int, user: User, now: datetime | None = None) -> bool:
    """Take an open hand-off. Atomic: of two agents claiming at once exactly one gets True."""
    now = now or settings.utcnow()
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
    audit.by_staff(
        session,
        user,
        action="handoff_claimed",
        target_type="handoff",
        target_id=handoff_id,
    )
    return True


def release(session: Session, handoff: Handoff, user: User) -> bool:
    """Put a claimed hand-off back in the queue (the claimer or a supervisor)."""
    access.check_can_act(handoff, user)
    result = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff.id, Handoff.status == "claimed")
        .values(status="open", claimed_by=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    session.refresh(handoff)
    if result.rowcount == 1:
        audit.by_staff(
            session,
            user,
            action="handoff_released",
            target_type="handoff",
            target_id=handoff.id,
        )
    return result.rowcount == 1
