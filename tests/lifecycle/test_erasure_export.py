"""A debtor's data on request: exported whole, or erased (personal data gone, the books kept, audited, idempotent),
through /api/v1 and its bearer key."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.billing import debtors
from bot.lifecycle import erased_phones
from bot.store.models import (
    AgentNote,
    AuditLog,
    Conversation,
    Handoff,
    IdentityCheck,
    Message,
    NonpaymentReason,
    Payment,
    PaymentPlan,
)
from tests import factories as make
from tests.lifecycle.conftest import add_events, events_of

PHONE = "+525512342201"
NAME = "Guadalupe Hernández"
BODY = {
    "name": NAME,
    "phone": PHONE,
    "whatsapp": True,
    "country": "MX",
    "timezone": "America/Mexico_City",
    "document_last4": "2045",
    "invoices": [{"external_id": "INV-1", "amount": "3450.00", "currency": "MXN", "due_date": "2026-11-15"}],
}
SAID = "me quedé sin trabajo, mi hermana me ayuda"


@pytest.fixture()
def debtor(client, api_headers, session):
    """A debtor with a conversation, words, a hand-off, a promise, a plan and a payment."""
    assert client.put("/api/v1/debtors/MX-1", json=BODY, headers=api_headers).status_code == 201
    d = debtors.get_by_external_id(session, "MX-1")
    inv = d.invoices[0]
    conv = make.conversation(session, d, tags=["vip"])
    make.message(session, conv, "debtor", SAID, from_phone=PHONE, intent="report_nonpayment_reason")
    make.message(session, conv, "bot", f"Hola {NAME}, lamento escuchar eso.", to_phone=PHONE)
    make.reason(session, d, inv, "job_loss", text=SAID)
    make.promise(session, d, inv, promised_date=date(2026, 12, 20), amount=Decimal("1000.00"))
    session.add_all(
        [
            PaymentPlan(
                debtor_id=d.id, invoice_id=inv.id, total=Decimal("2450.00"), currency="MXN", instalment_count=2
            ),
            IdentityCheck(debtor_id=d.id, failures=1),
        ]
    )
    paid_at = datetime(2026, 11, 20, tzinfo=timezone.utc)
    make.payment(session, d, inv, provider_id="PAY-77", amount=Decimal("1000.00"), paid_at=paid_at)
    handoff = make.handoff(session, conv, summary=f"{NAME}: {SAID}")
    session.add(AgentNote(handoff_id=handoff.id, debtor_id=d.id, body="Dice que su hermana le ayuda"))
    session.commit()
    return d


def test_the_export_holds_everything_about_the_debtor(client, api_headers, debtor, tracker):
    add_events(tracker, PHONE, [("session_started", datetime(2026, 11, 1, tzinfo=timezone.utc))])
    add_events(tracker, "+525500000000", [("user", datetime(2026, 11, 1, tzinfo=timezone.utc))])  # someone else
    r = client.get("/api/v1/debtors/MX-1/export", headers=api_headers)
    assert r.status_code == 200
    data = r.json
    assert data["profile"]["name"] == NAME and data["profile"]["phone"] == PHONE
    assert data["profile"]["document_last4"] == "2045" and "document_hash" not in data["profile"]
    assert [(i["external_id"], i["amount"]) for i in data["invoices"]] == [("INV-1", "3450.00")]
    assert [(p["provider_id"], p["amount"]) for p in data["payments"]] == [("PAY-77", "1000.00")]
    assert [m["body"] for m in data["messages"]] == [SAID, f"Hola {NAME}, lamento escuchar eso."]
    assert data["promises"][0]["promised_date"] == "2026-12-20"
    assert data["payment_plans"][0]["total"] == "2450.00" and data["payment_plans"][0]["instalments"] == []
    assert data["nonpayment_reasons"][0]["text"] == SAID
    assert data["handoffs"][0]["reason"] == "request_human" and data["agent_notes"][0]["body"]
    assert data["consent"]["opted_out"] is False and data["consent"]["erased_at"] is None
    assert data["identity_checks"][0]["failures"] == 1
    assert [e["event"] for e in data["rasa_tracker"][PHONE]] == ["session_started"]
    assert "+525500000000" not in json.dumps(data)
    assert any(a["action"] == "debtor.upsert" for a in data["audit"])


def test_the_export_is_audited_and_answers_404_for_an_unknown_debtor(client, api_headers, debtor, session):
    assert client.get("/api/v1/debtors/MX-1/export", headers=api_headers).status_code == 200
    entry = session.execute(select(AuditLog).where(AuditLog.action == "debtor.export")).scalar_one()
    assert (entry.actor, entry.target_id) == ("api", "MX-1")
    r = client.get("/api/v1/debtors/NOPE/export", headers=api_headers)
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


@pytest.mark.parametrize("method", ["get", "delete"])
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-key"}, {"Authorization": "Basic x"}])
def test_export_and_erasure_need_the_api_key(client, debtor, session, method, headers):
    path = "/api/v1/debtors/MX-1/export" if method == "get" else "/api/v1/debtors/MX-1"
    r = getattr(client, method)(path, headers=headers)
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    session.expire_all()
    assert debtors.get_by_external_id(session, "MX-1").erased_at is None


def test_erasure_removes_personal_data_and_keeps_the_books(client, api_headers, debtor, session, tracker):
    add_events(tracker, PHONE, [("session_started", datetime(2026, 11, 1, tzinfo=timezone.utc))])
    add_events(tracker, "+525500000000", [("user", datetime(2026, 11, 1, tzinfo=timezone.utc))])
    r = client.delete("/api/v1/debtors/MX-1", headers=api_headers)
    assert r.status_code == 200, r.json
    assert r.json["status"] == "erased" and r.json["removed"]["messages"] == 2
    assert r.json["removed"]["tracker_events"] == 1

    session.expire_all()
    d = debtors.get_by_external_id(session, "MX-1")
    assert d.name != NAME and PHONE not in d.phone and d.document_last4 is None and d.document_hash is None
    assert d.opted_out and d.contact_status == "erased" and d.erased_at is not None
    assert [m.body for m in session.execute(select(Message)).scalars()] == ["", ""]
    assert all(m.from_phone is None and m.to_phone is None for m in session.execute(select(Message)).scalars())
    assert session.execute(select(NonpaymentReason.text)).scalar_one() == ""
    handoff = session.execute(select(Handoff)).scalar_one()
    assert handoff.summary == "" and handoff.status == "closed"
    assert session.execute(select(AgentNote.body)).scalar_one() == ""
    assert session.execute(select(IdentityCheck)).first() is None
    assert PHONE not in set(session.execute(select(Conversation.phone)).scalars())
    assert events_of(tracker, PHONE) == [] and len(events_of(tracker, "+525500000000")) == 1
    assert erased_phones.is_erased(session, PHONE)

    # the books: the invoice, its balance, the payment and its amount, still the debtor's (an anonymised link)
    pay = session.execute(select(Payment)).scalar_one()
    assert (pay.debtor_id, pay.amount, pay.provider_id) == (d.id, Decimal("1000.00"), "PAY-77")
    read = client.get("/api/v1/debtors/MX-1", headers=api_headers).json
    assert read["invoices"][0]["amount"] == "3450.00" and read["payments"][0]["amount"] == "1000.00"
    dumped = json.dumps(client.get("/api/v1/debtors/MX-1/export", headers=api_headers).json, ensure_ascii=False)
    for personal in (NAME, PHONE, SAID, "2045", "hermana"):
        assert personal not in dumped, personal

    entry = session.execute(select(AuditLog).where(AuditLog.action == "debtor.erase")).scalar_one()
    assert (entry.actor, entry.target_id) == ("api", "MX-1") and entry.created_at is not None
    assert entry.details["removed"]["messages"] == 2


def test_erasing_twice_says_already_erased_and_changes_nothing(client, api_headers, debtor, session):
    first = client.delete("/api/v1/debtors/MX-1", headers=api_headers)
    second = client.delete("/api/v1/debtors/MX-1", headers=api_headers)
    assert second.status_code == 200
    assert second.json == {"external_id": "MX-1", "status": "already_erased", "erased_at": first.json["erased_at"]}
    assert len(session.execute(select(AuditLog).where(AuditLog.action == "debtor.erase")).scalars().all()) == 1
    r = client.delete("/api/v1/debtors/NOPE", headers=api_headers)
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


def test_an_erased_debtor_cannot_be_pushed_again_under_the_same_id(client, api_headers, debtor):
    client.delete("/api/v1/debtors/MX-1", headers=api_headers)
    r = client.put("/api/v1/debtors/MX-1", json=BODY, headers=api_headers)
    assert r.status_code == 409 and r.json["error"]["code"] == "debtor_erased"
    assert client.get("/api/v1/debtors/MX-1", headers=api_headers).json["name"] != NAME


def test_erasure_and_export_answers_match_the_openapi_document(client, api_headers, debtor, tracker):
    from bot.web import openapi
    from tests.web.test_openapi import check

    doc = openapi.build()
    debtor_path, export_path = "/api/v1/debtors/{external_id}", "/api/v1/debtors/{external_id}/export"
    check(doc, export_path, "get", client.get("/api/v1/debtors/MX-1/export", headers=api_headers))
    check(doc, debtor_path, "delete", client.delete("/api/v1/debtors/MX-1", headers=api_headers))
    check(doc, debtor_path, "delete", client.delete("/api/v1/debtors/MX-1", headers=api_headers))
    assert check(doc, debtor_path, "get", client.get("/api/v1/debtors/MX-1", headers=api_headers))["erased_at"]
    check(doc, export_path, "get", client.get("/api/v1/debtors/MX-1/export", headers=api_headers))
    check(doc, debtor_path, "put", client.put("/api/v1/debtors/MX-1", json=BODY, headers=api_headers))  # 409
    check(doc, export_path, "get", client.get("/api/v1/debtors/NOPE/export", headers=api_headers))
    check(doc, debtor_path, "delete", client.delete("/api/v1/debtors/NOPE", headers=api_headers))
    check(doc, export_path, "get", client.get("/api/v1/debtors/MX-1/export"))


def test_a_settlement_certificate_loses_the_name_and_keeps_the_sums(client, api_headers, debtor, session):
    from bot.billing.settlements import render_pdf
    from bot.store.models import Settlement

    pypdf = pytest.importorskip("pypdf")  # requirements/service-dev.in: the embedded font's text, read back

    def text(data: bytes) -> str:
        return " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)

    details = {
        "creditor": "Financiera Aurora",
        "debtor_name": NAME,
        "debtor_external_id": "MX-1",
        "document": "****2045",
        "invoices": [
            {"external_id": "INV-1", "amount": "3450.00", "currency": "MXN", "original_due_date": "2026-11-15"}
        ],
        "payments": [],
    }
    issued = datetime(2026, 11, 30, tzinfo=timezone.utc)
    pdf = render_pdf(debtor, details, "CODE12345678", issued)
    session.add(Settlement(debtor_id=debtor.id, code="CODE12345678", fingerprint="a" * 64, details=details, pdf=pdf))
    session.commit()
    assert "Guadalupe" in text(pdf)  # the name is readable in the PDF, so its absence below means something

    client.delete("/api/v1/debtors/MX-1", headers=api_headers)
    session.expire_all()
    cert = session.execute(select(Settlement)).scalar_one()
    after = text(cert.pdf)
    assert "Guadalupe" not in after and "2045" not in after and "INV-1" in after
    assert cert.details["debtor_name"] != NAME and cert.details["invoices"][0]["amount"] == "3450.00"


def test_staff_pages_show_an_erased_conversation_without_the_person(client, api_headers, debtor, session, redis_client):
    from bot.staff import users
    from tests.console.helpers import PASSWORD, login

    users.create_or_update(session, "gerente", "manager", PASSWORD, name="Gerente")
    session.commit()
    conv_id = session.execute(select(Conversation.id)).scalar_one()
    login(client, "gerente")
    assert "hermana" in client.get(f"/manager/conversations/{conv_id}").get_data(as_text=True)  # before: the words
    client.delete("/api/v1/debtors/MX-1", headers=api_headers)
    for path in ("/manager/conversations", f"/manager/conversations/{conv_id}"):
        page = client.get(path)
        assert page.status_code == 200, path
        text = page.get_data(as_text=True)
        assert NAME not in text and "hermana" not in text and "2201" not in text, path
