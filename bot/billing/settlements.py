"""Settlement certificates ("paz y salvo").

When everything a debtor owed is paid (no invoice left with a balance), a certificate is issued once
for that set of settled invoices (``fingerprint``; a unique index makes "once" hold under concurrency
too): a PDF naming the creditor, the debtor (document masked to its last four digits), the invoices
settled, the payments and their dates, and an unguessable verification code. The debtor gets a link to
the PDF; anyone can check a code at ``/certificados/verificar`` and sees only whether it is genuine and
when it was issued. A payment later refunded or charged back revokes the certificates that listed it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.billing import money, pdf
from bot.platform.config import get_settings
from bot.store import audit
from bot.store.models import Debtor, Invoice, Payment, PaymentAllocation, Settlement

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud or typed from paper
CODE_LENGTH = 12  # 32**12 = 2**60 codes
SETTLED = "paid"
IGNORED = ("cancelled",)


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str | None) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())[:32]


def certificate_url(code: str) -> str:
    return f"{get_settings().public_base_url}/certificados/{code}.pdf"


def verify_url() -> str:
    return f"{get_settings().public_base_url}/certificados/verificar"


def mask_document(last4: str | None) -> str:
    return f"****{last4}" if last4 else "no registrado"


def _invoices(session: Session, debtor: Debtor) -> list[Invoice]:
    return list(
        session.execute(
            select(Invoice).where(Invoice.debtor_id == debtor.id).order_by(Invoice.due_date, Invoice.id)
        ).scalars()
    )


def is_settled(invoices: list[Invoice]) -> bool:
    counted = [inv for inv in invoices if inv.status not in IGNORED]
    return bool(counted) and all(inv.balance == 0 and inv.status == SETTLED for inv in counted)


def fingerprint(invoices: list[Invoice]) -> str:
    parts = sorted(f"{inv.id}:{inv.external_id}:{money.to_str(inv.amount)}:{inv.currency}" for inv in invoices)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def maybe_issue(session: Session, debtor: Debtor, now: datetime | None = None) -> Settlement | None:
    """Issue the certificate if the debtor owes nothing now and none was issued for these invoices.
    Returns the new certificate, or None. Does not commit."""
    now = now or datetime.now(timezone.utc)
    invoices = _invoices(session, debtor)
    if not is_settled(invoices):
        return None
    settled = [inv for inv in invoices if inv.status == SETTLED]
    fp = fingerprint(settled)
    exists = session.execute(
        select(Settlement.id).where(Settlement.debtor_id == debtor.id, Settlement.fingerprint == fp)
    ).first()
    if exists is not None:
        return None
    details = _details(session, debtor, settled, now)
    for _ in range(5):
        code = new_code()
        try:
            with session.begin_nested():
                cert = Settlement(
                    debtor_id=debtor.id,
                    code=code,
                    fingerprint=fp,
                    issued_at=now,
                    details=details,
                    pdf=render_pdf(debtor, details, code, now),
                )
                session.add(cert)
        except IntegrityError:
            if session.execute(
                select(Settlement.id).where(Settlement.debtor_id == debtor.id, Settlement.fingerprint == fp)
            ).first():
                return None  # issued by someone else at the same moment
            continue  # the code collided: draw again
        audit.record(
            session,
            actor="worker",
            action="settlement_issued",
            target_type="settlement",
            target_id=cert.id,
            details={"debtor_id": debtor.id, "invoices": len(settled)},
        )
        return cert
    raise RuntimeError("could not draw a unique settlement code")


def _details(session: Session, debtor: Debtor, invoices: list[Invoice], now: datetime) -> dict[str, Any]:
    ids = [inv.id for inv in invoices]
    pays = (
        list(
            session.execute(
                select(Payment)
                .where(
                    Payment.debtor_id == debtor.id,
                    Payment.applied.is_(True),
                    # a payment the billing system split over several invoices has one allocation each: listed once
                    Payment.id.in_(
                        select(PaymentAllocation.payment_id).where(
                            PaymentAllocation.reversed_at.is_(None), PaymentAllocation.invoice_id.in_(ids)
                        )
                    ),
                )
                .order_by(Payment.paid_at, Payment.id)
            ).scalars()
        )
        if ids
        else []
    )
    by_id = {inv.id: inv.external_id for inv in invoices}
    return {
        "creditor": get_settings().business_name,
        "debtor_name": debtor.name,
        "debtor_external_id": debtor.external_id,
        "document": mask_document(debtor.document_last4),
        "invoices": [
            {
                "external_id": inv.external_id,
                "amount": money.to_str(inv.amount),
                "currency": inv.currency,
                "original_due_date": inv.original_due_date.isoformat(),
            }
            for inv in invoices
        ],
        "payments": [
            {
                "provider_id": p.provider_id,
                "invoice_external_id": by_id.get(p.invoice_id),
                "amount": money.to_str(p.amount),
                "currency": p.currency,
                "method": p.method,
                "paid_at": (p.paid_at or now).astimezone(timezone.utc).isoformat(),
            }
            for p in pays
        ],
    }


def _money_text(amount: str, currency: str, country: str | None) -> str:
    return money.format_money(Decimal(amount), currency, country) + f" {currency}"


def _day(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime("%d/%m/%Y")
    except ValueError:
        return iso


def render_pdf(debtor: Debtor, details: dict[str, Any], code: str, issued_at: datetime) -> bytes:
    doc = pdf.new_document(f"Paz y salvo {code}", details["creditor"])
    pdf.heading(doc, "Certificado de paz y salvo")
    pdf.centred(doc, details["creditor"])
    doc.ln(6)
    day = issued_at.astimezone(timezone.utc).strftime("%d/%m/%Y")
    body = (
        f"{details['creditor']} certifica que {details['debtor_name']}, documento de identidad "
        f"{details['document']}, se encuentra a paz y salvo por las obligaciones que se detallan a "
        f"continuación, a la fecha {day}."
    )
    pdf.paragraph(doc, body, size=11)
    doc.ln(4)
    pdf.section(doc, "Obligaciones saldadas")
    for inv in details["invoices"]:
        pdf.paragraph(
            doc,
            f"Factura {inv['external_id']}  -  valor {_money_text(inv['amount'], inv['currency'], debtor.country)}"
            f"  -  vencimiento original {_day(inv['original_due_date'])}",
        )
    doc.ln(3)
    pdf.section(doc, "Pagos recibidos")
    if not details["payments"]:
        pdf.paragraph(doc, "Saldado directamente con el acreedor.")
    for p in details["payments"]:
        when = datetime.fromisoformat(p["paid_at"]).strftime("%d/%m/%Y")
        pdf.paragraph(
            doc,
            f"{when}  -  {_money_text(p['amount'], p['currency'], debtor.country)}  -  "
            f"factura {p['invoice_external_id'] or '-'}  -  operación {p['provider_id']}",
        )
    doc.ln(6)
    pdf.paragraph(doc, f"Código de verificación: {code}", size=11, height=8, bold=True)
    pdf.paragraph(
        doc,
        f"Verifique la autenticidad de este certificado en {verify_url()} con el código "
        f"de verificación. Emitido el {day} (UTC).",
        size=9,
        height=5,
    )
    return pdf.output(doc)


def by_code(session: Session, code: str | None) -> Settlement | None:
    code = normalise_code(code)
    if len(code) < CODE_LENGTH:
        return None
    return session.execute(select(Settlement).where(Settlement.code == code)).scalar_one_or_none()


def is_revoked(cert: Settlement) -> bool:
    return bool((cert.details or {}).get("revoked_at"))


def revoke_for_payment(
    session: Session, debtor: Debtor, payment: Payment, now: datetime | None = None, reason: str | None = None
) -> int:
    """Revoke the debtor's certificates that listed ``payment`` (it was refunded or charged back)."""
    now = now or datetime.now(timezone.utc)
    revoked = 0
    for cert in session.execute(select(Settlement).where(Settlement.debtor_id == debtor.id)).scalars():
        details = dict(cert.details or {})
        if details.get("revoked_at"):
            continue
        if any(p.get("provider_id") == payment.provider_id for p in details.get("payments") or []):
            details["revoked_at"] = now.isoformat()
            details["revoked_reason"] = reason or payment.status
            cert.details = details
            revoked += 1
            audit.record(
                session,
                actor="worker",
                action="settlement_revoked",
                target_type="settlement",
                target_id=cert.id,
                details={"payment": payment.provider_id},
            )
    return revoked


def serialize(session: Session, debtor: Debtor) -> list[dict[str, Any]]:
    """The debtor's certificates as ``GET /api/v1/debtors/{external_id}`` lists them."""
    rows = session.execute(
        select(Settlement).where(Settlement.debtor_id == debtor.id).order_by(Settlement.id)
    ).scalars()
    return [
        {
            "code": c.code,
            "url": certificate_url(c.code),
            "issued_at": c.issued_at.isoformat().replace("+00:00", "Z"),
            "status": "revoked" if is_revoked(c) else "valid",
        }
        for c in rows
    ]
