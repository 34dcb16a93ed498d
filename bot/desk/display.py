"""How the desk shows things to agents: labels in Spanish, masked bodies, waiting times, amounts overdue.

Shared by the queue, the transcript and the summary, so a label or a mask reads the same everywhere in the
console (and in the manager's views, which take the message status labels from here).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from bot.billing.money import format_money
from bot.platform import masking
from bot.store.models import Invoice, Message

HANDOFF_REASON_LABELS = {
    "request_human": "Pidió hablar con una persona",
    "dispute": "Disputa la deuda",
    "claims_paid": "Dice que ya pagó",
    "payment_proof": "Envió un comprobante de pago por verificar",
    "failed_verification": "No pasó la verificación de identidad",
    "fallback": "El bot no le entendió varias veces",
    "due_date_refused": "Cambio de fecha rechazado",
    "plan_broken": "Plan de pagos incumplido",
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
PLAN_LABELS = {
    "active": "al día",
    "late": "atrasado",
    "broken": "incumplido",
    "completed": "completado",
    "cancelled": "cancelado",
}
LINK_LABELS = {"active": "activo", "paid": "pagado", "expired": "vencido"}
OFFER_LABELS = {
    "offered": "ofrecida",
    "accepted": "aceptada",
    "paid": "pagada",
    "expired": "vencida",
    "declined": "rechazada",
    "refunded": "reembolsada (descuento revertido)",
}
OFFER_KIND_LABELS = {"discount": "descuento por pago total", "first_instalment": "primera cuota mayor"}
INVOICE_LABELS = {"open": "abierta", "paid": "pagada", "disputed": "en disputa", "cancelled": "anulada"}
MESSAGE_STATUS_LABELS = {
    "pending": "pendiente",
    "held": "retenido",
    "cancelled": "cancelado",
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


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if dt is not None else None


def preview(message: Message | None, length: int = 120) -> str:
    if message is None:
        return ""
    text = shown_body(message).strip()
    if not text and message.media:
        text = "[adjunto]"
    return text if len(text) <= length else text[: length - 1] + "…"


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
