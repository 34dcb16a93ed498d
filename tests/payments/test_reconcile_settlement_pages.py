"""Reconciliation, settlement certificates, short links, and the sandbox checkout end to end."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select

from bot.billing import accounts, payment_links, settlements
from bot.store.models import Invoice, Payment, PaymentLink, SandboxPayment, Settlement
from bot.worker.payments import handle_notification, process_payment, reconcile
from tests.payments.helpers import job, queued


def fresh(session, model, id_):
    session.expire_all()
    return session.get(model, id_)


# --- reconciliation ---------------------------------------------------------------------------------------
def test_reconciliation_finds_a_payment_whose_notification_was_lost(
    mercadopago_mode, session, debtor_with_link, redis_client
):
    debtor, inv, link = debtor_with_link()
    mercadopago_mode.add_payment("6001", link.reference, "185000.00")  # approved; no notification came
    counts = reconcile()
    assert counts["links_checked"] == 1 and counts["changed"] == 1 and counts["errors"] == 0
    assert fresh(session, Invoice, inv.id).balance == Decimal("0.00")
    assert fresh(session, PaymentLink, link.id).status == "paid"
    assert reconcile()["changed"] == 0  # nothing new: nothing applied twice
    assert len(session.execute(select(Payment)).scalars().all()) == 1


def test_reconciliation_follows_pending_payments(mercadopago_mode, session, debtor_with_link, redis_client):
    debtor, inv, link = debtor_with_link()
    mercadopago_mode.add_payment(
        "6002", link.reference, "185000.00", status="in_process", status_detail="pending_contingency"
    )
    process_payment("6002")
    session.execute(select(PaymentLink)).scalars().all()
    # The link leaves the search window (paid elsewhere, say); the pending payment is still followed.
    fresh(session, PaymentLink, link.id).status = "paid"
    session.commit()
    mercadopago_mode.add_payment("6002", link.reference, "185000.00")
    counts = reconcile()
    assert counts["payments_checked"] == 1 and counts["changed"] == 1
    assert fresh(session, Invoice, inv.id).balance == Decimal("0.00")


def test_reconciliation_expires_old_links(mercadopago_mode, session, make_debtor, redis_client):
    debtor = make_debtor()
    inv = accounts.primary_invoice(session, debtor)
    old, _ = payment_links.create_link(session, debtor, inv, now=datetime.now(timezone.utc) - timedelta(days=4))
    session.commit()
    counts = reconcile()
    assert counts["expired"] == 1 and fresh(session, PaymentLink, old.id).status == "expired"


def test_reconciliation_survives_a_provider_outage(mercadopago_mode, session, debtor_with_link, redis_client):
    debtor_with_link()
    mercadopago_mode.fail_next = [503]
    counts = reconcile()
    assert counts["errors"] == 1


# --- settlement certificates ------------------------------------------------------------------------------
def _settle(mp, session, debtor_with_link, pid: str = "7001"):
    debtor, inv, link = debtor_with_link()
    mp.add_payment(pid, link.reference, "185000.00")
    outcome = process_payment(pid)
    return debtor, inv, outcome


def test_certificate_issued_once_at_zero_balance(mercadopago_mode, session, debtor_with_link, redis_client):
    debtor, inv, outcome = _settle(mercadopago_mode, session, debtor_with_link)
    assert outcome.settlement_code and len(outcome.settlement_code) >= 10
    process_payment("7001")
    session.expire_all()
    assert settlements.maybe_issue(session, session.get(type(debtor), debtor.id)) is None
    (cert,) = session.execute(select(Settlement)).scalars().all()
    assert cert.code == outcome.settlement_code
    details = cert.details
    assert details["creditor"] == "Financiera Aurora" and details["document"] == "****4821"
    assert [i["external_id"] for i in details["invoices"]] == ["D-1-F1"]
    assert [p["provider_id"] for p in details["payments"]] == ["7001"]


def test_no_certificate_while_something_is_owed(mercadopago_mode, session, make_debtor, redis_client):
    debtor = make_debtor(
        invoices=[
            {"external_id": "A", "amount": "1000.00", "currency": "COP", "due_date": "2026-11-01"},
            {"external_id": "B", "amount": "2000.00", "currency": "COP", "due_date": "2026-11-20"},
        ]
    )
    inv_a = accounts.primary_invoice(session, debtor)
    link, _ = payment_links.create_link(session, debtor, inv_a)
    session.commit()
    mercadopago_mode.add_payment("7101", link.reference, "1000.00")
    assert process_payment("7101").settlement_code is None
    inv_b = accounts.primary_invoice(session, fresh(session, type(debtor), debtor.id))
    link_b, _ = payment_links.create_link(session, debtor, inv_b)
    session.commit()
    mercadopago_mode.add_payment("7102", link_b.reference, "2000.00")
    code = process_payment("7102").settlement_code
    assert code
    cert = session.execute(select(Settlement)).scalar_one()
    assert sorted(i["external_id"] for i in cert.details["invoices"]) == ["A", "B"]


def test_certificate_listed_served_and_verifiable(
    mercadopago_mode, app, session, debtor_with_link, redis_client, api_headers
):
    debtor, inv, outcome = _settle(mercadopago_mode, session, debtor_with_link)
    client = app.test_client()
    data = client.get(f"/api/v1/debtors/{debtor.external_id}", headers=api_headers).get_json()
    (listed,) = data["settlements"]
    assert listed["code"] == outcome.settlement_code
    assert listed["url"] == f"http://localhost:8000/certificados/{outcome.settlement_code}.pdf"
    assert listed["issued_at"].endswith("Z")
    pdf = client.get(f"/certificados/{outcome.settlement_code}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF") and outcome.settlement_code.encode() in pdf.data  # in its title
    # its text (an embedded Unicode font): tests/payments/test_statement_documents.py reads it back
    assert client.get("/certificados/AAAAAAAAAAAA.pdf").status_code == 404

    page = client.get(f"/certificados/verificar?code={outcome.settlement_code.lower()}").get_data(as_text=True)
    assert "Certificado auténtico" in page and datetime.now(timezone.utc).strftime("%d/%m/%Y") in page
    assert "Ana" not in page and "4821" not in page and "185" not in page  # nothing but genuine + date
    bad = client.get("/certificados/verificar?code=ZZZZZZZZZZZZ").get_data(as_text=True)
    assert "Código no válido" in bad
    form = client.get("/certificados/verificar")
    assert form.status_code == 200 and "<form" in form.get_data(as_text=True)


def test_refund_revokes_the_certificate(mercadopago_mode, app, session, debtor_with_link, redis_client):
    debtor, inv, outcome = _settle(mercadopago_mode, session, debtor_with_link)
    link = session.execute(select(PaymentLink)).scalars().first()
    mercadopago_mode.add_payment("7001", link.reference, "185000.00", status="refunded", status_detail="refunded")
    process_payment("7001")
    page = app.test_client().get(f"/certificados/verificar?code={outcome.settlement_code}").get_data(as_text=True)
    assert "anulado" in page


# --- short links ------------------------------------------------------------------------------------------
def test_short_link_redirects_to_checkout(client, session, debtor_with_link, redis_client):
    debtor, inv, link = debtor_with_link()
    resp = client.get(f"/p/{link.short_code}")
    assert resp.status_code == 302 and resp.headers["Location"] == link.url


def test_unknown_and_expired_short_links(client, session, debtor_with_link, redis_client):
    resp = client.get("/p/nothere1")
    assert resp.status_code == 404 and "No encontramos este enlace" in resp.get_data(as_text=True)
    debtor, inv, link = debtor_with_link()
    link.status = "expired"
    session.commit()
    resp = client.get(f"/p/{link.short_code}")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 410 and "venció" in text and "nuevo" in text
    link.status = "paid"
    session.commit()
    assert "ya fue pagado" in client.get(f"/p/{link.short_code}").get_data(as_text=True)


# --- sandbox checkout end to end --------------------------------------------------------------------------
def test_sandbox_checkout_through_the_webhook_and_the_worker(client, session, debtor_with_link, redis_client):
    debtor, inv, link = debtor_with_link()
    assert link.provider == "sandbox" and link.url.endswith(f"/sandbox/checkout/{link.reference}")
    page = client.get(f"/sandbox/checkout/{link.reference}").get_data(as_text=True)
    assert "185.000" in page and "Aprobar pago" in page and "cc_rejected_insufficient_amount" in page
    resp = client.post(f"/sandbox/checkout/{link.reference}", data={"outcome": "approved", "amount": "185000.00"})
    assert resp.status_code == 200 and "HTTP 200" in resp.get_data(as_text=True)
    sp = session.execute(select(SandboxPayment)).scalar_one()
    assert sp.status == "approved" and sp.amount == Decimal("185000.00")
    (payload,) = queued(redis_client, "mp_notification")
    assert payload["payment_id"] == sp.provider_id and payload["provider"] == "sandbox"
    handle_notification(job("mp_notification", payload, key=payload["key"]))
    assert fresh(session, Invoice, inv.id).balance == Decimal("0.00")
    assert fresh(session, PaymentLink, link.id).status == "paid"
    assert session.execute(select(Settlement)).scalar_one()


def test_sandbox_rejection_and_pending(client, session, debtor_with_link, redis_client):
    from bot.store.models import Message

    debtor, inv, link = debtor_with_link()
    client.post(
        f"/sandbox/checkout/{link.reference}",
        data={"outcome": "rejected", "status_detail": "cc_rejected_call_for_authorize"},
    )
    client.post(f"/sandbox/checkout/{link.reference}", data={"outcome": "pending", "method": "efecty"})
    for payload in queued(redis_client, "mp_notification"):
        handle_notification(job("mp_notification", payload, key=payload["key"]))
    session.expire_all()
    bodies = [
        m.body
        for m in session.execute(select(Message).where(Message.direction == "out").order_by(Message.id)).scalars()
    ]
    assert len(bodies) == 2
    (rejected,) = [b for b in bodies if "autorice" in b]
    assert re.search(r"/p/\w+", rejected)
    assert any("en efectivo en Efecty" in b for b in bodies)
    assert fresh(session, Invoice, inv.id).balance == Decimal("185000.00")


def test_sandbox_checkout_only_in_sandbox_mode(mercadopago_mode, app):
    assert app.test_client().get("/sandbox/checkout/RCanything").status_code == 404
    assert app.test_client().get("/certificados/verificar").status_code == 200


def test_sandbox_refund_through_the_webhook(client, session, debtor_with_link, redis_client):
    from bot.store.models import Handoff

    def run_queued() -> None:
        for payload in queued(redis_client, "mp_notification"):
            handle_notification(job("mp_notification", payload, key=payload["key"]))
        redis_client.flushdb()

    debtor, inv, link = debtor_with_link()
    resp = client.post(f"/sandbox/checkout/{link.reference}", data={"outcome": "approved"})
    assert "Simular reembolso" in resp.get_data(as_text=True)
    run_queued()
    assert fresh(session, Invoice, inv.id).balance == Decimal("0.00")
    sp = session.execute(select(SandboxPayment)).scalar_one()
    resp = client.post(
        f"/sandbox/checkout/{link.reference}/refund", data={"payment_id": sp.provider_id, "kind": "charged_back"}
    )
    assert resp.status_code == 200
    run_queued()
    assert fresh(session, Invoice, inv.id).balance == Decimal("185000.00")
    assert session.execute(select(Payment.status)).scalar_one() == "charged_back"
    assert session.execute(select(Handoff.reason)).scalar_one() == "payment_reversed"


def test_sandbox_checkout_posts_over_real_http(db, redis_client, session, debtor_with_link):
    """Outside tests the checkout posts the signed notification over HTTP to PUBLIC_BASE_URL (a live server)."""
    import os
    import threading

    import requests
    from werkzeug.serving import make_server

    from bot.platform.config import reset_settings
    from bot.web import create_app

    server = make_server("127.0.0.1", 0, None, threaded=True)  # a port first, then the app that knows it
    port = server.server_port
    server.server_close()
    os.environ["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    reset_settings()
    live = None
    try:
        app = create_app({"DATABASE_URL": db})
        live = make_server("127.0.0.1", port, app, threaded=True)
        thread = threading.Thread(target=live.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        debtor, inv, link = debtor_with_link()
        assert link.url == f"http://127.0.0.1:{port}/sandbox/checkout/{link.reference}"
        resp = requests.post(link.url, data={"outcome": "approved"}, timeout=20)
        assert resp.status_code == 200 and "HTTP 200" in resp.text
        (payload,) = queued(redis_client, "mp_notification")
        handle_notification(job("mp_notification", payload, key=payload["key"]))
        assert fresh(session, Invoice, inv.id).balance == Decimal("0.00")
        short = requests.get(f"http://127.0.0.1:{port}/p/{link.short_code}", allow_redirects=False, timeout=10)
        assert "ya fue pagado" in short.text
    finally:
        if live is not None:
            live.shutdown()
            live.server_close()
        os.environ["PUBLIC_BASE_URL"] = "http://localhost:8000"
        reset_settings()


def test_worker_wiring_and_one_reconciliation_at_a_time(db, redis_client, monkeypatch):
    from bot.worker import jobs, main
    from bot.worker import payments as worker_payments

    assert "mp_notification" in jobs.load_handlers()
    seconds, fn = main.PERIODIC["payments_reconcile"]
    assert seconds == 300 and fn is worker_payments.reconcile_job
    runs = []
    monkeypatch.setattr(worker_payments, "reconcile", lambda: runs.append(1))
    worker_payments.reconcile_job()
    worker_payments.reconcile_job()  # another worker process in the same 5 minutes: skipped
    assert runs == [1]
