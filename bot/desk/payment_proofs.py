"""What an agent does with a debtor's proof of payment (``bot.conversation.payment_proofs`` opened the task):
confirm it, and the payment is recorded as if the billing system had reported it (``bot.billing.recorded_payments``:
balance, promise kept, instalments, the certificate at zero balance) and the debtor gets the usual confirmation; or
reject it, and the debtor is told why in a short, respectful message.

Both messages go out as the agent's (the agent holds the conversation); both check ``access`` first and write the
audit log with the agent's user id. The caller commits, then queues the sending.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.billing import money, recorded_payments
from bot.billing.accounts import local_today
from bot.billing.debtors import ValidationError
from bot.billing.payment_events import Notices, Outcome
from bot.conversation import payment_notices
from bot.desk import access
from bot.desk.access import DeskError
from bot.store import audit
from bot.store.models import Debtor, Handoff, Invoice, Message, Payment, PaymentProof, Settlement, User

PROVIDER = "proof"  # Payment.provider of a payment an agent confirmed from a debtor's proof
METHOD = "comprobante"
MAX_REASON = 300
STATUS_LABELS = {"pending": "por verificar", "confirmed": "confirmado", "rejected": "rechazado"}


@dataclass
class ProofItem:
    id: int
    status: str
    status_label: str
    message_id: int
    files: list[int]  # indexes into the message's media: what the console's media view shows
    content_types: list[str]
    created_at: datetime
    reason: str | None


def for_handoff(session: Session, handoff: Handoff) -> list[ProofItem]:
    """The debtor's proofs of payment, pending first, newest first within each."""
    if not handoff.debtor_id:
        return []
    rows = session.execute(
        select(PaymentProof, Message)
        .join(Message, Message.id == PaymentProof.message_id)
        .where(PaymentProof.debtor_id == handoff.debtor_id)
        .order_by(PaymentProof.id.desc())
    ).all()
    items = []
    for proof, message in rows:
        media = [m for m in (message.media or []) if isinstance(m, dict)]
        items.append(
            ProofItem(
                id=proof.id,
                status=proof.status,
                status_label=STATUS_LABELS.get(proof.status, proof.status),
                message_id=message.id,
                files=list(range(len(media))),
                content_types=[str(m.get("content_type") or "") for m in media],
                created_at=proof.created_at,
                reason=proof.reason,
            )
        )
    items.sort(key=lambda i: i.status != "pending")
    return items


def _proof(session: Session, handoff: Handoff, user: User, proof_id: Any) -> tuple[PaymentProof, Debtor]:
    access.check_can_act(handoff, user)
    try:
        proof = session.get(PaymentProof, int(proof_id))
    except (TypeError, ValueError):
        proof = None
    if proof is None or proof.debtor_id != handoff.debtor_id:
        raise DeskError("Ese comprobante no es de este deudor.")
    if proof.status != "pending":
        raise DeskError(f"Ese comprobante ya fue {STATUS_LABELS.get(proof.status, proof.status)}.")
    debtor = session.get(Debtor, proof.debtor_id)
    if debtor is None:
        raise DeskError("Este número no corresponde a ningún deudor.")
    return proof, debtor


class _AgentNotices:
    """``payment_notices``, but the debtor's messages go out as the agent's: the agent holds the conversation."""

    def __init__(self, agent_id: int) -> None:
        self.agent_id = agent_id

    def recorded(
        self,
        session: Session,
        debtor: Debtor,
        payment: Payment,
        invoices: list[Invoice],
        *,
        credit: Decimal,
        now: datetime,
        out: Outcome,
    ) -> None:
        payment_notices.confirm(
            session, debtor, payment, invoices, credit=credit, now=now, out=out, agent_id=self.agent_id
        )

    def settled(self, session: Session, debtor: Debtor, cert: Settlement, now: datetime, out: Outcome) -> None:
        payment_notices.settled(session, debtor, cert, now, out, agent_id=self.agent_id)

    def __getattr__(self, name: str) -> Any:  # the rest (never called for a recorded payment) as they are
        return getattr(payment_notices, name)


def confirm(
    session: Session,
    handoff: Handoff,
    user: User,
    proof_id: Any,
    invoice_id: Any,
    amount: str | None,
    paid_on: str | None = None,
    now: datetime | None = None,
) -> Outcome:
    """The proof shows a real payment of ``amount`` to the invoice: recorded once (the proof's own id is the payment's
    id), with every effect of a payment and the debtor's confirmation."""
    proof, debtor = _proof(session, handoff, user, proof_id)
    now = now or datetime.now(timezone.utc)
    try:
        invoice = session.get(Invoice, int(invoice_id)) if invoice_id not in (None, "") else None
    except (TypeError, ValueError):
        invoice = None
    if invoice is None or invoice.debtor_id != debtor.id:
        raise DeskError("Elige una factura del deudor.")
    try:
        value = money.parse_amount((amount or "").strip().replace(",", "."), invoice.currency)
    except money.MoneyError as exc:
        raise DeskError("Escribe el monto pagado (un número mayor que cero).") from exc
    if value <= 0:
        raise DeskError("El monto debe ser mayor que cero.")
    try:
        day = date.fromisoformat(paid_on.strip()) if paid_on and paid_on.strip() else local_today(debtor, now)
    except ValueError as exc:
        raise DeskError("La fecha del pago no es válida (AAAA-MM-DD).") from exc
    data = recorded_payments.RecordedPayment(
        external_id=f"proof-{proof.id}",
        debtor_external_id=debtor.external_id,
        shares=(recorded_payments.Share(invoice.external_id, value),),
        amount=value,
        currency=invoice.currency,
        paid_at=day,
        method=METHOD,
    )
    try:
        payment, _created, outcome = recorded_payments.record(
            session,
            data,
            notices=cast(Notices, _AgentNotices(user.id)),
            now=now,
            actor=user.username,
            provider=PROVIDER,
        )
    except ValidationError as exc:
        if exc.field == "paid_at":
            raise DeskError("La fecha del pago no puede ser futura.") from exc
        raise DeskError(f"No se puede registrar el pago ({exc.field}: {exc.message}).") from exc
    except (recorded_payments.Conflict, recorded_payments.DebtorErased) as exc:
        raise DeskError("No se puede registrar el pago de este comprobante.") from exc
    proof = session.get(PaymentProof, proof.id)  # read again: recording locked the debtor and re-read everything
    proof.status, proof.payment_id, proof.decided_by, proof.decided_at = "confirmed", payment.id, user.id, now
    audit.by_staff(
        session,
        user,
        action="payment_proof_confirmed",
        target_type="payment_proof",
        target_id=proof.id,
        details={"handoff_id": handoff.id, "payment_id": payment.id, "invoice_id": invoice.id, "amount": str(value)},
    )
    session.flush()
    return outcome


def reject(session: Session, handoff: Handoff, user: User, proof_id: Any, reason: str | None) -> Outcome:
    """The proof shows no payment we can confirm: the debtor is told why (the agent's words, in a fixed frame)."""
    proof, debtor = _proof(session, handoff, user, proof_id)
    reason = " ".join((reason or "").split())
    if not reason:
        raise DeskError("Escribe el motivo: se le dirá al deudor.")
    if len(reason) > MAX_REASON:
        raise DeskError(f"El motivo es demasiado largo (máximo {MAX_REASON} caracteres).")
    out = Outcome(payment_id=f"proof-{proof.id}", status="rejected", action="rejected", debtor_id=debtor.id)
    payment_notices.proof_rejected(session, debtor, reason, user.id, out)
    now = datetime.now(timezone.utc)
    proof.status, proof.reason, proof.decided_by, proof.decided_at = "rejected", reason, user.id, now
    audit.by_staff(
        session,
        user,
        action="payment_proof_rejected",
        target_type="payment_proof",
        target_id=proof.id,
        details={"handoff_id": handoff.id, "reason": reason},
    )
    session.flush()
    return out
