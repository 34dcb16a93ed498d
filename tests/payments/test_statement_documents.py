"""Statements and receipts as PDFs behind signed, expiring ``/d/`` links; every Spanish character rendered."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.billing import document_links, pdf, statements
from bot.store.models import Message, Payment
from bot.worker.payments import process_payment


def text_of(data: bytes) -> str:
    """The PDF's text as a reader copies it, spaces squeezed (justified lines stretch them). pypdf is a test
    dependency (requirements/service-dev.in): where it is missing, the checks up to here have run."""
    pypdf = pytest.importorskip("pypdf")
    return " ".join(" ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages).split())


def token_of(url: str) -> str:
    return url.rsplit("/d/", 1)[1]


def test_every_spanish_character_is_rendered():
    doc = pdf.new_document("Prueba", "Financiera Aurora")
    pdf.paragraph(doc, "¿Cuánto debe Ñuño Peña? ¡Ya pagó! Cobro de 15 € — “Üñí” ç")
    text = text_of(pdf.output(doc))
    assert "¿Cuánto debe Ñuño Peña? ¡Ya pagó! Cobro de 15 € — “Üñí” ç" in text


def test_statement_lists_the_open_invoices_in_a_signed_link(client, session, make_debtor):
    debtor = make_debtor(
        name="José Ñúñez Peña",
        invoices=[
            {"external_id": "F-100", "amount": "185000.00", "currency": "COP", "due_date": "2026-11-10"},
            {"external_id": "F-200", "amount": "90000.00", "currency": "COP", "due_date": "2099-01-15",
             "description": "Celular Samsung A15"},
        ],
    )  # fmt: skip
    url = statements.statement_url(debtor)
    assert url.startswith("http://localhost:8000/d/") and len(url) < 80  # short enough for an SMS
    r = client.get(url.removeprefix("http://localhost:8000"))
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
    assert "no-store" in r.headers["Cache-Control"]
    text = text_of(r.data)
    assert "Estado de cuenta" in text and "José Ñúñez Peña" in text and "****4821" in text
    assert "F-100" in text and "F-200" in text and "275.000" in text  # both invoices and the total
    assert "Factura F-200 (Celular Samsung A15)" in text  # what it is for, when the lender said
    assert "¿Dudas sobre su saldo?" in text


def test_forged_altered_or_expired_links_show_no_document(client, session, make_debtor):
    debtor = make_debtor()
    good = token_of(statements.statement_url(debtor))
    other_debtor = good.replace(f"e{debtor.id:d}-", f"e{debtor.id + 1:d}-", 1)
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    old = document_links.token(document_links.STATEMENT, debtor.id, datetime.now(timezone.utc) - timedelta(days=4))
    for token in (forged, other_debtor, old, "nada", "e1-zz-" + "A" * 22):
        r = client.get(f"/d/{token}")
        assert r.status_code == 404 and r.mimetype == "text/html", token
        assert b"%PDF" not in r.data and "no es válido o ya venció" in r.get_data(as_text=True)
    assert document_links.read(old) is None
    assert document_links.read(good) is not None


def test_links_stop_working_at_their_expiry():
    issued = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    token = document_links.token(document_links.RECEIPT, 42, issued)
    assert document_links.read(token, issued + timedelta(days=2, hours=23)).id == 42
    assert document_links.read(token, issued + document_links.LIFETIME) is None


def test_the_access_log_hides_the_token():
    from bot.web.access_log import _PATHS, REDACTED

    assert REDACTED in _PATHS.sub(lambda m: m.group(1) + REDACTED, "GET /d/e1-abc-" + "x" * 22 + " HTTP/1.1")


def _out(session) -> list[Message]:
    session.expire_all()
    return list(session.execute(select(Message).where(Message.direction == "out").order_by(Message.id)).scalars())


def _document_url(message: Message) -> str | None:
    if message.media:
        return message.media[0]["url"]
    return next((word for word in message.body.split() if "/d/" in word), None)


def test_an_approved_payment_comes_with_its_receipt(mercadopago_mode, client, session, debtor_with_link, redis_client):
    debtor, inv, link = debtor_with_link(amount="85000.00")
    mercadopago_mode.add_payment("3001", link.reference, "85000.00")
    assert process_payment("3001").action == "applied"
    [confirmation] = _out(session)
    assert "Recibimos su pago" in confirmation.body and "recibo en PDF" in confirmation.body
    url = _document_url(confirmation)
    assert url is not None
    r = client.get(url.removeprefix("http://localhost:8000"))
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert 'filename="recibo-3001.pdf"' in r.headers["Content-Disposition"]
    text = text_of(r.data)
    assert "Recibo de pago" in text and "Ana María Restrepo" in text and "3001" in text
    assert "85.000" in text and inv.external_id in text and "100.000" in text  # what the invoice still owes

    payment = session.execute(select(Payment)).scalar_one()
    payment.status = "refunded"  # reversed later: the receipt is no longer shown
    session.commit()
    assert client.get(url.removeprefix("http://localhost:8000")).status_code == 404


def test_no_receipt_before_the_identity_check(mercadopago_mode, session, debtor_with_link, redis_client):
    debtor, inv, link = debtor_with_link(verified=False)
    mercadopago_mode.add_payment("3002", link.reference, "185000.00")
    process_payment("3002")
    for message in _out(session):
        assert _document_url(message) is None and not message.media
        assert "185" not in message.body


def test_the_settlement_certificate_renders_accents_with_the_embedded_font(
    mercadopago_mode, client, session, debtor_with_link, redis_client
):
    debtor, inv, link = debtor_with_link(name="Íñigo Muñoz Peña")
    mercadopago_mode.add_payment("3003", link.reference, "185000.00")
    code = process_payment("3003").settlement_code
    r = client.get(f"/certificados/{code}.pdf")
    text = text_of(r.data)
    assert "Íñigo Muñoz Peña" in text and "continuación" in text and "Código de verificación" in text
    assert Decimal("185000.00") and "185.000" in text
