"""Pages a debtor opens from a message: short payment links, payment results, settlement certificates,
and, with ``PAYMENTS_PROVIDER=sandbox``, the sandbox checkout.

- ``GET /p/<short_code>``: 302 to the link's checkout; a friendly page when it expired, was paid, or is
  unknown (404).
- ``GET /pago/<exito|error|pendiente>``: where Mercado Pago's checkout returns the debtor.
- ``GET /d/<token>``: a statement or a payment receipt, rendered now, behind a signed link that expires
  (``bot.billing.document_links``): what Twilio fetches as a WhatsApp attachment, what an SMS links to.
  404 (a page, no PDF) for a forged, altered or expired link, or a receipt whose payment was reversed.
- ``GET /certificados/<code>.pdf``: the settlement certificate (410, no PDF, once revoked);
  ``GET /certificados/verificar?code=``: only whether a code is genuine, and its issue date.
- ``GET/POST /sandbox/checkout/<reference>`` (sandbox only): approve, reject (with a reason) or leave a
  payment pending. It records a sandbox payment and posts a signed notification to the real
  ``/webhooks/mercadopago`` (over HTTP to ``PUBLIC_BASE_URL``; through the app itself in tests or when
  that address cannot be reached), so signature check, queue, worker and store all run.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

from flask import Blueprint, Flask, Response, current_app, redirect, render_template_string, request
from sqlalchemy import select

from bot.billing import document_links, money, payment_links, settlements, statements
from bot.platform.config import get_settings
from bot.store.models import Debtor, Invoice, PaymentLink, SandboxPayment
from bot.web.db import get_session
from bot.web.mercadopago import sign

log = logging.getLogger(__name__)

links_bp = Blueprint("payment_pages", __name__)
sandbox_bp = Blueprint("sandbox_checkout", __name__, url_prefix="/sandbox/checkout")

REJECTIONS = (
    ("cc_rejected_insufficient_amount", "Fondos insuficientes"),
    ("cc_rejected_bad_filled_security_code", "Código de seguridad incorrecto"),
    ("cc_rejected_bad_filled_date", "Fecha de vencimiento incorrecta"),
    ("cc_rejected_call_for_authorize", "El banco pide autorizar el pago"),
    ("cc_rejected_high_risk", "Rechazado por seguridad"),
    ("cc_rejected_other_reason", "Otro motivo"),
)
PENDING = (
    ("card", "Tarjeta en revisión (in_process)"),
    ("oxxo", "Efectivo en OXXO"),
    ("efecty", "Efectivo en Efecty"),
    ("pagofacil", "Efectivo en Pago Fácil"),
)


def register(app: Flask) -> None:
    app.register_blueprint(links_bp)
    if get_settings().payments_provider == "sandbox":
        app.register_blueprint(sandbox_bp)


PAGE = """<!doctype html>
<html lang="es"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f4f6f8;margin:0;color:#1d2733}
main{max-width:28rem;margin:3rem auto;background:#fff;border-radius:12px;padding:1.5rem 1.75rem;
box-shadow:0 2px 10px rgba(0,0,0,.08)}
h1{font-size:1.35rem;margin-top:0} .amount{font-size:2rem;font-weight:700;margin:.5rem 0}
.muted{color:#5b6673;font-size:.9rem} button{font-size:1rem;padding:.6rem 1rem;border-radius:8px;border:0;
cursor:pointer;margin:.25rem 0} .ok{background:#00a650;color:#fff} .bad{background:#d63c3c;color:#fff}
.wait{background:#f0b400;color:#1d2733} fieldset{border:1px solid #dde3ea;border-radius:8px;margin:.75rem 0}
input,select{font-size:1rem;padding:.4rem;max-width:100%} .good{color:#00803e} .warn{color:#b42318}
</style></head><body><main>{{ body|safe }}</main></body></html>"""


def page(title: str, body: str, status: int = 200) -> Response:
    return Response(render_template_string(PAGE, title=title, body=body), status=status, mimetype="text/html")


def _esc(text: object) -> str:
    from markupsafe import escape

    return str(escape(str(text)))


def _business() -> str:
    return _esc(get_settings().business_name)


# --- short links -------------------------------------------------------------------------------------------
@links_bp.get("/p/<short_code>")
def short_link(short_code: str):
    session = get_session()
    link = session.execute(select(PaymentLink).where(PaymentLink.short_code == short_code[:16])).scalar_one_or_none()
    if link is None:
        return page(
            "Enlace no encontrado",
            "<h1>No encontramos este enlace de pago</h1>"
            "<p>Revise que esté completo, tal como lo recibió en el mensaje. Si lo necesita, "
            "responda a nuestro mensaje y con gusto le enviamos uno nuevo.</p>",
            404,
        )
    if link.status == "paid":
        return page(
            "Enlace ya pagado",
            "<h1>Este enlace ya fue pagado</h1><p>¡Muchas gracias! Su pago quedó "
            "registrado. Si tiene alguna duda, responda a nuestro mensaje.</p>",
        )
    if link.status == "expired" or link.expires_at <= datetime.now(timezone.utc):
        return page(
            "Enlace vencido",
            "<h1>Este enlace de pago venció</h1><p>Por su seguridad, los enlaces de "
            "pago tienen una vigencia limitada. Para recibir uno nuevo, responda a nuestro mensaje por "
            "WhatsApp o SMS con la palabra <strong>pagar</strong> y se lo enviamos enseguida.</p>",
            410,
        )
    return redirect(link.url, code=302)


@links_bp.get("/pago/<result>")
def payment_result(result: str):
    texts = {
        "exito": (
            "¡Gracias por su pago!",
            "Estamos confirmando su pago. En unos momentos le llegará la confirmación por mensaje.",
        ),
        "pendiente": ("Su pago está en proceso", "Le avisaremos por mensaje apenas se confirme."),
        "error": (
            "El pago no se completó",
            "No se realizó ningún cobro. Puede intentarlo de nuevo desde el "
            "mismo enlace, o responder a nuestro mensaje si necesita ayuda.",
        ),
    }
    title, text = texts.get(result, texts["pendiente"])
    return page(title, f"<h1>{_esc(title)}</h1><p>{_esc(text)}</p><p class='muted'>{_business()}</p>")


# --- statements and receipts --------------------------------------------------------------------------------
@links_bp.get("/d/<token>")
def document_pdf(token: str):
    document = document_links.read(token)
    rendered = statements.render(get_session(), document) if document is not None else None
    if rendered is None:
        resp = page(
            "Documento no disponible",
            "<h1>Este enlace no es válido o ya venció</h1><p>Pida el documento de nuevo respondiendo a "
            "nuestro mensaje.</p>",
            404,
        )
        resp.headers.update({"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex"})
        return resp
    body, filename = rendered
    return Response(
        body,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "private, no-store",
            "X-Robots-Tag": "noindex",
        },
    )


# --- certificates ------------------------------------------------------------------------------------------
@links_bp.get("/certificados/<code>.pdf")
def certificate_pdf(code: str):
    cert = settlements.by_code(get_session(), code)
    if cert is None:
        return page(
            "Certificado no encontrado",
            "<h1>No encontramos este certificado</h1><p>Revise el enlace que recibió en el mensaje.</p>",
            404,
        )
    if settlements.is_revoked(cert):  # a payment behind it was reversed: the PDF would still read as valid
        resp = page(
            "Certificado anulado",
            "<h1>Este certificado fue anulado</h1><p>Un pago que respaldaba este "
            "certificado de paz y salvo fue reversado, por lo que ya no es válido. Si tiene dudas, "
            "responda a nuestro mensaje.</p>",
            410,
        )
        resp.headers.update({"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex"})
        return resp
    return Response(
        bytes(cert.pdf),
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="paz-y-salvo-{cert.code}.pdf"',
            "Cache-Control": "private, no-store",
            "X-Robots-Tag": "noindex",
        },
    )


@links_bp.get("/certificados/verificar")
def verify_certificate():
    code = request.args.get("code", "")
    result = ""
    if code.strip():
        cert = settlements.by_code(get_session(), code)
        if cert is None:
            result = (
                "<p class='warn'><strong>Código no válido.</strong> No existe un certificado emitido con "
                "ese código.</p>"
            )
        elif settlements.is_revoked(cert):
            result = (
                f"<p class='warn'><strong>Certificado anulado.</strong> El certificado {_esc(cert.code)} "
                f"fue emitido el {cert.issued_at:%d/%m/%Y} y luego anulado.</p>"
            )
        else:
            result = (
                f"<p class='good'><strong>Certificado auténtico.</strong> El certificado {_esc(cert.code)} "
                f"fue emitido el {cert.issued_at:%d/%m/%Y}.</p>"
            )
    body = (
        f"<h1>Verificar un certificado de paz y salvo</h1>{result}"
        "<form method='get'><label for='code'>Código de verificación</label><br>"
        f"<input id='code' name='code' value='{_esc(code[:40])}' maxlength='40' autocomplete='off' required> "
        "<button class='ok' type='submit'>Verificar</button></form>"
        f"<p class='muted'>{_business()}</p>"
    )
    resp = page("Verificar certificado", body)
    resp.headers["X-Robots-Tag"] = "noindex"
    return resp


# --- sandbox checkout --------------------------------------------------------------------------------------
def _sandbox_link(reference: str) -> tuple[PaymentLink | None, Debtor | None, Invoice | None]:
    session = get_session()
    link = session.execute(select(PaymentLink).where(PaymentLink.reference == reference[:64])).scalar_one_or_none()
    if link is None:
        return None, None, None
    return link, session.get(Debtor, link.debtor_id), session.get(Invoice, link.invoice_id) if link.invoice_id else None


def _invoices_paid(link: PaymentLink, invoice: Invoice | None) -> str:
    """The invoice the link pays, or each one of a link that pays several (oldest due first)."""
    session = get_session()
    items = payment_links.items_of(session, link)
    if not items:
        return f"Factura {_esc(invoice.external_id if invoice else '-')}"
    names = [(inv.external_id if (inv := session.get(Invoice, item.invoice_id)) else "-") for item in items]
    return "Facturas " + ", ".join(_esc(name) for name in names)


@sandbox_bp.get("/<reference>")
def sandbox_checkout(reference: str):
    link, debtor, invoice = _sandbox_link(reference)
    if link is None:
        return page("Pago no encontrado", "<h1>No encontramos este pago</h1>", 404)
    amount = money.format_money(link.amount, link.currency, debtor.country if debtor else None)
    state = ""
    if link.status != "active" or link.expires_at <= datetime.now(timezone.utc):
        state = f"<p class='warn'>Este enlace está <strong>{_esc(link.status)}</strong>.</p>"
    rejections = "".join(f"<option value='{k}'>{_esc(v)}</option>" for k, v in REJECTIONS)
    pendings = "".join(f"<option value='{k}'>{_esc(v)}</option>" for k, v in PENDING)
    body = f"""<p class='muted'>Checkout de prueba (sandbox) · no se mueve dinero</p>
<h1>{_business()}</h1>
<p>{_invoices_paid(link, invoice)}</p>
<div class='amount' data-testid='amount'>{_esc(amount)} <span class='muted'>{_esc(link.currency)}</span></div>
{state}
<form method='post'>
<fieldset><legend>Aprobar</legend>
<label>Monto pagado <input name='amount' value='{_esc(money.to_str(link.amount))}' inputmode='decimal'></label><br>
<button class='ok' name='outcome' value='approved'>Aprobar pago</button></fieldset>
<fieldset><legend>Rechazar</legend><select name='status_detail'>{rejections}</select><br>
<button class='bad' name='outcome' value='rejected'>Rechazar pago</button></fieldset>
<fieldset><legend>Dejar pendiente</legend><select name='method'>{pendings}</select><br>
<button class='wait' name='outcome' value='pending'>Dejar pendiente</button></fieldset>
</form>"""
    return page("Checkout sandbox", body)


@sandbox_bp.post("/<reference>")
def sandbox_pay(reference: str):
    link, debtor, _invoice = _sandbox_link(reference)
    if link is None:
        return page("Pago no encontrado", "<h1>No encontramos este pago</h1>", 404)
    outcome = request.form.get("outcome", "approved")
    try:
        amount = money.parse_amount(request.form.get("amount") or money.to_str(link.amount), link.currency)
    except money.MoneyError:
        return page("Monto no válido", "<h1>El monto no es válido</h1>", 400)
    if outcome not in ("approved", "rejected", "pending"):
        return page("Opción no válida", "<h1>Opción no válida</h1>", 400)
    payment = record_sandbox_payment(
        link, outcome, amount, request.form.get("status_detail"), request.form.get("method")
    )
    get_session().commit()
    delivered = deliver_notification(payment.provider_id)
    labels = {"approved": "aprobado", "rejected": "rechazado", "pending": "pendiente"}
    body = (
        f"<h1>Pago {labels[outcome]}</h1><p>Operación <code>{_esc(payment.provider_id)}</code> por "
        f"{_esc(money.format_money(amount, link.currency, debtor.country if debtor else None))}.</p>"
        f"<p class='muted'>Notificación enviada a /webhooks/mercadopago: HTTP {delivered}.</p>"
    )
    if outcome == "approved":
        body += (
            f"<form method='post' action='{_esc(reference)}/refund'>"
            f"<input type='hidden' name='payment_id' value='{_esc(payment.provider_id)}'>"
            "<button class='bad' name='kind' value='refunded'>Simular reembolso</button> "
            "<button class='bad' name='kind' value='charged_back'>Simular contracargo</button></form>"
        )
    return page("Resultado del pago", body)


@sandbox_bp.post("/<reference>/refund")
def sandbox_refund(reference: str):
    """Refund (or charge back) an approved sandbox payment, as Mercado Pago would notify it."""
    session = get_session()
    payment = session.execute(
        select(SandboxPayment).where(
            SandboxPayment.reference == reference[:64], SandboxPayment.provider_id == request.form.get("payment_id", "")
        )
    ).scalar_one_or_none()
    if payment is None or payment.status != "approved":
        return page("Pago no encontrado", "<h1>No hay un pago aprobado con ese número</h1>", 404)
    charged_back = request.form.get("kind") == "charged_back"
    payment.status = "charged_back" if charged_back else "refunded"
    payment.status_detail = "settled" if charged_back else "refunded"
    session.commit()
    delivered = deliver_notification(payment.provider_id)
    return page(
        "Pago reversado",
        f"<h1>Pago {'con contracargo' if charged_back else 'reembolsado'}</h1>"
        f"<p>Operación <code>{_esc(payment.provider_id)}</code>.</p>"
        f"<p class='muted'>Notificación enviada a /webhooks/mercadopago: HTTP {delivered}.</p>",
    )


def record_sandbox_payment(
    link: PaymentLink,
    outcome: str,
    amount: Decimal | None = None,
    status_detail: str | None = None,
    method: str | None = None,
) -> SandboxPayment:
    """Add a sandbox payment for the link to the request's session (the caller commits)."""
    now = datetime.now(timezone.utc)
    amount = link.amount if amount is None else Decimal(amount)
    if outcome == "approved":
        status, detail, method_id, type_id = "approved", "accredited", "visa", "credit_card"
    elif outcome == "rejected":
        allowed = {k for k, _ in REJECTIONS}
        status, method_id, type_id = "rejected", "visa", "credit_card"
        detail = status_detail if status_detail in allowed else "cc_rejected_other_reason"
    else:
        if method in ("oxxo", "efecty", "pagofacil"):
            status, detail, method_id, type_id = "pending", "pending_waiting_payment", method, "ticket"
        else:
            status, detail, method_id, type_id = "in_process", "pending_contingency", "visa", "credit_card"
    try:
        amount = amount.quantize(Decimal("0.01"))
    except InvalidOperation:
        amount = link.amount
    payment = SandboxPayment(
        provider_id=str(10**11 + secrets.randbelow(9 * 10**11)),
        reference=link.reference,
        amount=amount,
        currency=link.currency,
        status=status,
        status_detail=detail,
        payment_method_id=method_id,
        payment_type_id=type_id,
        date_approved=now if status == "approved" else None,
    )
    get_session().add(payment)
    get_session().flush()
    return payment


def notification_headers(payment_id: str) -> dict[str, str]:
    request_id = secrets.token_hex(16)
    return {
        "x-request-id": request_id,
        "x-signature": sign(payment_id, request_id, get_settings().mercadopago_webhook_secret),
        "Content-Type": "application/json",
    }


def deliver_notification(payment_id: str) -> int:
    """Post a signed payment notification to ``/webhooks/mercadopago``, as Mercado Pago would."""
    import json

    path = f"/webhooks/mercadopago?data.id={payment_id}&type=payment"
    body = json.dumps({"action": "payment.updated", "type": "payment", "data": {"id": payment_id}})
    if not current_app.testing:
        import requests

        try:
            resp = requests.post(
                get_settings().public_base_url + path, data=body, headers=notification_headers(payment_id), timeout=10
            )
            return resp.status_code
        except requests.RequestException as exc:
            log.warning(
                "could not post the sandbox notification to %s (%s); delivering it in-process",
                get_settings().public_base_url,
                exc,
            )
    with current_app.test_client() as client:
        return client.post(path, data=body, headers=notification_headers(payment_id)).status_code
