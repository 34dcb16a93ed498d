"""A debtor's proof of payment: a photo or PDF they send (a transfer's receipt, a bank deposit slip) opens a task
for an agent to verify it, instead of waiting for the next campaign run to call the promise broken.

The task is a ``PaymentProof`` row (which message, which file) on a hand-off of reason ``payment_proof``: the agent
desk is where people work from (``bot.desk.handoff_queue``), and while a person looks the bot and the campaigns stay
out of the conversation (``mode == "human"``). An earlier live hand-off (say ``claims_paid``) takes the task as it
is. What the agent decides (confirm: the payment is recorded; reject: the debtor is told why) is
``bot.desk.payment_proofs``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.conversation import handoffs
from bot.store import audit
from bot.store.models import Conversation, Debtor, Message, PaymentProof

PROOF_TYPES = ("image/", "application/pdf")


def proof_media(message: Message) -> list[dict[str, str]]:
    """The message's files that may be a proof of payment: images and PDFs (not audio, video or contacts)."""
    return [
        m
        for m in (message.media or [])
        if isinstance(m, dict) and str(m.get("content_type") or "").lower().startswith(PROOF_TYPES)
    ]


def open_task(session: Session, message: Message, conversation: Conversation, debtor: Debtor) -> PaymentProof | None:
    """The verification task for the message's files (once per message), or None when it carries none."""
    if not proof_media(message) or debtor.erased_at is not None:
        return None
    existing = session.execute(select(PaymentProof).where(PaymentProof.message_id == message.id)).scalar_one_or_none()
    if existing is not None:
        return existing
    files = len(proof_media(message))
    handoff, _created = handoffs.open(
        session,
        conversation.phone,
        debtor,
        "payment_proof",
        summary=f"El deudor envió {'un comprobante' if files == 1 else f'{files} archivos'} de pago para verificar."
        + (f" Escribió: {message.body.strip()[:300]}" if (message.body or "").strip() else ""),
    )
    proof = PaymentProof(
        debtor_id=debtor.id,
        conversation_id=conversation.id,
        message_id=message.id,
        handoff_id=handoff.id,
        status="pending",
    )
    session.add(proof)
    session.flush()
    audit.record(
        session,
        actor="bot",
        action="payment_proof_received",
        target_type="payment_proof",
        target_id=proof.id,
        details={"message_id": message.id, "handoff_id": handoff.id, "files": files},
    )
    return proof
