"""Account statements and payment receipts, as PDFs rendered when their link is opened.

A statement ("estado de cuenta") lists the debtor's open invoices with what is left to pay, the due dates and
the total per currency, as of the moment it is generated; a receipt ("recibo") records one approved payment:
amount, date, invoice, operation number, and what the invoice owes after it. Both name the debtor by name and
the document by its last four digits only. Neither is stored: ``bot.billing.document_links`` signs a link that
names the debtor or the payment, and ``render`` builds the PDF from the store when Twilio (or the debtor)
fetches it, so a statement opened later shows the account as it is then.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.billing import accounts, document_links, money, pdf
from bot.billing.settlements import mask_document
from bot.platform.config import get_settings
from bot.store.models import Debtor, Invoice, Payment, PaymentAllocation

RECEIPT_STATUSES = ("approved",)  # a refunded or charged-back payment has no receipt any more


def statement_url(debtor: Debtor, now: datetime | None = None) -> str:
    return document_links.url(document_links.STATEMENT, debtor.id, now)


def receipt_url(payment: Payment, now: datetime | None = None) -> str:
    return document_links.url(document_links.RECEIPT, payment.id, now)


def _money(amount: Decimal, currency: str, debtor: Debtor) -> str:
    return f"{money.format_money(amount, currency, debtor.country)} {currency}"


def _local(debtor: Debtor, at: datetime) -> str:
    import zoneinfo

    try:
        zone = zoneinfo.ZoneInfo(debtor.timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    return at.astimezone(zone).strftime("%d/%m/%Y %H:%M")


def _header(doc, title: str, debtor: Debtor) -> None:
    creditor = get_settings().business_name
    pdf.heading(doc, title)
    pdf.centred(doc, creditor)
    doc.ln(4)
    pdf.paragraph(doc, f"Cliente: {debtor.name}", size=11)
    pdf.paragraph(doc, f"Documento de identidad: {mask_document(debtor.document_last4)}", size=11)
    doc.ln(2)


def render_statement(session: Session, debtor: Debtor, now: datetime | None = None) -> bytes:
    """The open invoices as of ``now``, one line each, and the total per currency."""
    now = now or datetime.now(timezone.utc)
    views = accounts.owed(session, debtor, accounts.local_today(debtor, now))
    doc = pdf.new_document("Estado de cuenta", get_settings().business_name)
    _header(doc, "Estado de cuenta", debtor)
    pdf.paragraph(doc, f"Generado el {_local(debtor, now)} (hora de {debtor.timezone or 'UTC'}).", size=9)
    doc.ln(3)
    pdf.section(doc, "Facturas pendientes")
    if not views:
        pdf.paragraph(doc, "¡No tiene facturas pendientes! Su cuenta está al día.")
    for v in views:
        state = f"vencida hace {v.days_overdue} días" if v.days_overdue > 0 else "por vencer"
        concept = f" ({v.description})" if v.description else ""
        pdf.paragraph(
            doc,
            f"Factura {v.external_id}{concept}  -  valor original {_money(v.amount, v.currency, debtor)}  -  "
            f"saldo {_money(v.balance, v.currency, debtor)}  -  vence el {v.due_date:%d/%m/%Y} ({state})",
        )
    if views:
        doc.ln(2)
        for currency, total in accounts.totals(views).items():
            pdf.paragraph(doc, f"Total pendiente: {_money(total, currency, debtor)}", size=11, bold=True)
    doc.ln(6)
    pdf.paragraph(
        doc,
        "¿Dudas sobre su saldo? Responda a nuestro mensaje y le ayudamos. Los pagos en proceso pueden tardar en "
        "reflejarse.",
        size=9,
        height=5,
    )
    return pdf.output(doc)


def render_receipt(session: Session, payment: Payment) -> bytes | None:
    """The receipt of an approved payment (None for a payment that is not, or no longer, approved)."""
    if payment.status not in RECEIPT_STATUSES or not payment.applied:
        return None
    debtor = session.get(Debtor, payment.debtor_id)
    if debtor is None:
        return None
    invoice = session.get(Invoice, payment.invoice_id) if payment.invoice_id else None
    doc = pdf.new_document(f"Recibo de pago {payment.provider_id}", get_settings().business_name)
    _header(doc, "Recibo de pago", debtor)
    pdf.section(doc, "Pago recibido")
    paid_at = payment.paid_at or payment.created_at
    pdf.paragraph(doc, f"Valor: {_money(payment.amount, payment.currency, debtor)}", size=11, bold=True)
    pdf.paragraph(doc, f"Fecha: {_local(debtor, paid_at)} (hora de {debtor.timezone or 'UTC'})")
    pdf.paragraph(doc, f"Operación: {payment.provider_id}")
    if payment.method:
        pdf.paragraph(doc, f"Medio de pago: {payment.method}")
    if invoice is not None:
        pdf.paragraph(doc, f"Factura: {invoice.external_id}")
        left = (
            "pagada por completo"
            if invoice.balance <= 0
            else f"saldo pendiente {_money(invoice.balance, invoice.currency, debtor)}"
        )
        pdf.paragraph(doc, f"Estado de la factura tras el pago: {left}")
    else:  # a payment of several invoices (a link for several, or one the billing system recorded): each one
        for inv, applied in session.execute(
            select(Invoice, PaymentAllocation.applied_amount)
            .join(PaymentAllocation, PaymentAllocation.invoice_id == Invoice.id)
            .where(PaymentAllocation.payment_id == payment.id, PaymentAllocation.reversed_at.is_(None))
            .order_by(PaymentAllocation.id)
        ).all():
            left = "pagada" if inv.balance <= 0 else f"queda {_money(inv.balance, inv.currency, debtor)}"
            pdf.paragraph(doc, f"Factura {inv.external_id}: {_money(applied, inv.currency, debtor)} ({left})")
    doc.ln(6)
    pdf.paragraph(doc, "¡Gracias por su pago! Conserve este recibo como comprobante.", size=9, height=5)
    return pdf.output(doc)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "", name or "")[:40] or "pago"


def render(
    session: Session, document: document_links.Document, now: datetime | None = None
) -> tuple[bytes, str] | None:
    """The PDF a link names and the file name to give it, or None when there is nothing to show."""
    if document.kind == document_links.STATEMENT:
        debtor = session.get(Debtor, document.id)
        if debtor is None:
            return None
        day = (now or datetime.now(timezone.utc)).strftime("%Y%m%d")
        return render_statement(session, debtor, now), f"estado-de-cuenta-{day}.pdf"
    payment = session.get(Payment, document.id)
    body = render_receipt(session, payment) if payment is not None else None
    return (body, f"recibo-{_safe(payment.provider_id)}.pdf") if body is not None and payment is not None else None
