"""What an agent does on a claimed hand-off: reply, and the quick actions.

``reply`` and the quick actions (payment link, promise, due date, dispute outcome, notes) call the same
services the bot uses (the outbox, payment links, promises and due dates); ``give_back`` and ``close`` end
the hand-off and the conversation is the bot's again. Each checks ``access`` first, writes the audit log
with the agent's user id, and leaves the transaction to the caller: it commits, then queues the sending of
whatever outbound rows were prepared (``bot.messaging.send_queue.queue_send``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from bot.billing import due_dates, payment_links, promises
from bot.billing.accounts import local_today
from bot.billing.money import format_money
from bot.conversation import handoffs
from bot.desk import access
from bot.desk.access import DeskError
from bot.desk.transcript import conversation
from bot.messaging import held, outbox
from bot.store import audit
from bot.store.models import AgentNote, Debtor, DueDateChange, Handoff, Invoice, Message, PaymentLink, Promise, User

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


def reply(session: Session, handoff: Handoff, user: User, body: str, override_reason: str = "") -> list[Message]:
    """Prepare the agent's reply on the debtor's channel (bot.messaging.outbox handles WhatsApp's 24-hour
    window and the contact rules: outside the debtor's allowed hours it is held, see ``held_notice``); the
    caller commits and then queues the sending (``bot.messaging.send_queue.queue_send``).

    ``override_reason``: a manager or admin sends it now whatever the contact rules say; the reason is
    audited and left as a note on the hand-off, like a due date's override."""
    access.check_can_act(handoff, user)
    body = _message_text(body)
    conv = conversation(session, handoff)
    if conv is None:
        raise DeskError("Esta conversación no tiene teléfono.")
    override_reason = (override_reason or "").strip()
    override = bool(override_reason)
    if override and user.role not in access.SUPERVISORS:
        raise DeskError("Solo un gerente puede enviar fuera de las reglas de contacto.")
    try:
        rows = outbox.prepare_text(session, conv, body, author="agent", agent_id=user.id, reply=True, override=override)
    except outbox.NotSendable as exc:
        raise DeskError(f"No se puede enviar: {exc}") from exc
    details: dict[str, object] = {"messages": [r.id for r in rows]}
    held_rows = [r for r in rows if r.status == "held"]
    if held_rows:
        details["held_until"] = held_rows[0].hold_until.isoformat()
    audit.by_staff(
        session,
        user,
        action="agent_reply",
        target_type="handoff",
        target_id=handoff.id,
        details=details,
    )
    if override:
        _note(
            session,
            handoff,
            user,
            "override",
            f"Mensaje enviado fuera de las reglas de contacto. Motivo: {override_reason}",
        )
        audit.by_staff(
            session,
            user,
            action="contact_rules_override",
            target_type="handoff",
            target_id=handoff.id,
            details={"messages": [r.id for r in rows], "reason": override_reason[:500]},
        )
    return rows


def _note(session: Session, handoff: Handoff, user: User, kind: str, body: str) -> None:
    """A note on the hand-off that says why an agent went outside the rules or how a dispute ended."""
    session.add(
        AgentNote(handoff_id=handoff.id, debtor_id=handoff.debtor_id, user_id=user.id, kind=kind, body=body[:4000])
    )


def _message_text(body: str | None) -> str:
    body = (body or "").strip()
    if not body:
        raise DeskError("Escribe un mensaje.")
    if len(body) > 1600:
        raise DeskError("El mensaje es demasiado largo (máximo 1600 caracteres).")
    return body


def held_notice(rows: list[Message], debtor: Debtor | None) -> str | None:
    """What the agent is told when the reply was held: when it will go, in the debtor's time."""
    held_rows = [r for r in rows if r.status == "held" and r.hold_until]
    if not held_rows:
        return None
    when = held_rows[0].hold_until.astimezone(_zone(debtor))
    return (
        "Mensaje retenido: fuera del horario permitido para contactar al deudor. "
        f"Saldrá el {when:%d/%m/%Y %H:%M} (hora del deudor)."
    )


def _zone(debtor: Debtor | None) -> ZoneInfo:
    try:
        return ZoneInfo((debtor.timezone if debtor else None) or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def cancel_held(session: Session, handoff: Handoff, user: User, message_id: int) -> list[Message]:
    """Take back a held message before it goes."""
    access.check_can_act(handoff, user)
    try:
        rows = held.cancel(session, handoff.conversation_id, message_id)
    except held.HeldError as exc:
        raise DeskError(str(exc)) from exc
    audit.by_staff(
        session,
        user,
        action="held_message_cancelled",
        target_type="handoff",
        target_id=handoff.id,
        details={"messages": [r.id for r in rows]},
    )
    return rows


def edit_held(session: Session, handoff: Handoff, user: User, message_id: int, body: str) -> list[Message]:
    """Replace a held message's text; the new text passes the contact rules again."""
    access.check_can_act(handoff, user)
    body = _message_text(body)
    try:
        rows = held.edit(session, handoff.conversation_id, message_id, body)
    except held.HeldError as exc:
        raise DeskError(str(exc)) from exc
    audit.by_staff(
        session,
        user,
        action="held_message_edited",
        target_type="handoff",
        target_id=handoff.id,
        details={"replaced": message_id, "messages": [r.id for r in rows]},
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
    access.check_can_act(handoff, user)
    debtor = _debtor(session, handoff)
    invoice = _invoice(session, debtor, invoice_id)
    if invoice.status != "open" or invoice.balance <= 0:
        raise DeskError("La factura no tiene saldo por cobrar.")
    try:
        link, _reused = payment_links.create_link(session, debtor, invoice, _amount(amount), now=now)
    except ValueError as exc:
        raise DeskError("El monto debe ser mayor que cero y no superar el saldo.") from exc
    audit.by_staff(
        session,
        user,
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
    access.check_can_act(handoff, user)
    debtor = _debtor(session, handoff)
    invoice = _invoice(session, debtor, invoice_id)
    try:
        promise = promises.create(session, debtor, invoice, _date(promised_date), _amount(amount), source="agent")
    except promises.PromiseError as exc:
        limit = f" (hasta el {exc.max_date:%d/%m/%Y})" if exc.max_date else ""
        raise DeskError(f"No se puede registrar la promesa: {PROMISE_ERRORS.get(exc.code, exc.code)}{limit}.") from exc
    audit.by_staff(
        session,
        user,
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
    access.check_can_act(handoff, user)
    debtor = _debtor(session, handoff)
    invoice = _invoice(session, debtor, invoice_id)
    wanted = _date(new_date)
    today = today or local_today(debtor)
    decision = due_dates.apply(session, debtor, invoice, wanted, today, changed_by="agent")
    if decision.approved:
        assert wanted is not None  # the policy approves only a given date
        audit.by_staff(
            session,
            user,
            action="agent_due_date",
            target_type="invoice",
            target_id=invoice.id,
            details={"handoff_id": handoff.id, "new_date": wanted.isoformat()},
        )
        return decision
    why = DUE_DATE_REFUSALS.get(decision.reason or "", decision.reason or "")
    override_reason = (override_reason or "").strip()
    if user.role not in access.SUPERVISORS or not override_reason:
        hint = f" Lo más lejos que permite: {decision.latest_date:%d/%m/%Y}." if decision.latest_date else ""
        extra = (
            " Un gerente puede autorizarlo indicando el motivo."
            if user.role not in access.SUPERVISORS
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
    _note(
        session,
        handoff,
        user,
        "override",
        f"Cambio de fecha {old:%d/%m/%Y} → {wanted:%d/%m/%Y} fuera de política ({why}). Motivo: {override_reason}",
    )
    session.flush()
    audit.by_staff(
        session,
        user,
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
    access.check_can_act(handoff, user)
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
    _note(
        session,
        handoff,
        user,
        "dispute_outcome",
        f"Disputa de la factura {invoice.external_id}: {DISPUTE_OUTCOMES[outcome]}." + (f" {note}" if note else ""),
    )
    session.flush()
    audit.by_staff(
        session,
        user,
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
    if handoff.status == "claimed" and not access.can_act(handoff, user):
        raise DeskError("Otra persona atiende esta conversación.")
    note = AgentNote(handoff_id=handoff.id, debtor_id=handoff.debtor_id, user_id=user.id, kind="note", body=body[:4000])
    session.add(note)
    session.flush()
    audit.by_staff(
        session,
        user,
        action="agent_note",
        target_type="handoff",
        target_id=handoff.id,
        details={"note_id": note.id},
    )
    return note


def give_back(session: Session, handoff: Handoff, user: User) -> Handoff:
    """End the hand-off: the debtor's next message is the bot's again."""
    access.check_can_end(handoff, user)
    conv = conversation(session, handoff)
    audit.by_staff(
        session,
        user,
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
    access.check_can_end(handoff, user)
    return handoffs.close(session, handoff, actor=user.username, user_id=user.id)
