"""/api/v1 as integrators use it: upsert, read back, and a clear JSON error for every bad input."""

import copy

import pytest


def debtor_body(**overrides):
    body = {
        "name": "Guadalupe Hernández",
        "phone": "+525512342201",
        "whatsapp": True,
        "country": "MX",
        "timezone": "America/Mexico_City",
        "document_last4": "2045",
        "language": "es",
        "invoices": [
            {"external_id": "INV-1", "amount": "3450.00", "currency": "MXN", "due_date": "2026-11-15"},
            {"external_id": "INV-2", "amount": "899.50", "currency": "MXN", "due_date": "2026-12-01"},
        ],
    }
    body.update(overrides)
    return body


def test_upsert_creates_then_reads_back_everything(client, api_headers):
    r = client.put("/api/v1/debtors/MX-1", json=debtor_body(), headers=api_headers)
    assert r.status_code == 201
    r = client.get("/api/v1/debtors/MX-1", headers=api_headers)
    assert r.status_code == 200
    d = r.json
    assert d["external_id"] == "MX-1"
    assert d["phone"] == "+525512342201" and d["whatsapp"] is True and d["country"] == "MX"
    assert d["timezone"] == "America/Mexico_City"
    assert [i["external_id"] for i in d["invoices"]] == ["INV-1", "INV-2"]
    inv = d["invoices"][0]
    assert inv == {
        "external_id": "INV-1",
        "amount": "3450.00",
        "balance": "3450.00",
        "currency": "MXN",
        "description": None,
        "original_due_date": "2026-11-15",
        "due_date": "2026-11-15",
        "status": "open",
    }
    for key in ("promises", "nonpayment_reasons", "due_date_changes", "payment_links", "payments", "handoffs"):
        assert d[key] == []
    assert d["opted_out"] is False


def test_second_put_updates_and_never_duplicates(client, api_headers):
    client.put("/api/v1/debtors/MX-1", json=debtor_body(), headers=api_headers)
    changed = debtor_body(name="Guadalupe Hernández López", whatsapp=False)
    changed["invoices"][1]["amount"] = "950.00"
    changed["invoices"].append({"external_id": "INV-3", "amount": "10.00", "currency": "MXN", "due_date": "2027-01-01"})
    r = client.put("/api/v1/debtors/MX-1", json=changed, headers=api_headers)
    assert r.status_code == 200
    d = client.get("/api/v1/debtors/MX-1", headers=api_headers).json
    assert d["name"] == "Guadalupe Hernández López" and d["whatsapp"] is False
    assert [(i["external_id"], i["amount"], i["balance"]) for i in d["invoices"]] == [
        ("INV-1", "3450.00", "3450.00"),
        ("INV-2", "950.00", "950.00"),
        ("INV-3", "10.00", "10.00"),
    ]
    again = client.put("/api/v1/debtors/MX-1", json=changed, headers=api_headers)
    assert again.status_code == 200
    assert client.get("/api/v1/debtors/MX-1", headers=api_headers).json["invoices"] == d["invoices"]


def test_an_invoice_s_concept_is_stored_read_back_and_kept_when_an_update_leaves_it_out(client, api_headers):
    body = debtor_body()
    body["invoices"][0]["description"] = "Celular Samsung A15"
    assert client.put("/api/v1/debtors/MX-1", json=body, headers=api_headers).status_code == 201
    d = client.get("/api/v1/debtors/MX-1", headers=api_headers).json
    assert [i["description"] for i in d["invoices"]] == ["Celular Samsung A15", None]
    assert client.put("/api/v1/debtors/MX-1", json=debtor_body(), headers=api_headers).status_code == 200
    d = client.get("/api/v1/debtors/MX-1", headers=api_headers).json
    assert d["invoices"][0]["description"] == "Celular Samsung A15"  # older integrators never send it


def test_mexican_whatsapp_number_is_stored_in_its_sms_form(client, api_headers):
    r = client.put("/api/v1/debtors/MX-2", json=debtor_body(phone="whatsapp:+5215512342201"), headers=api_headers)
    assert r.status_code == 201
    assert r.json["phone"] == "+525512342201"


def test_timezone_defaults_from_country(client, api_headers):
    body = debtor_body(country="CO", phone="+573001112233")
    del body["timezone"]
    for inv in body["invoices"]:
        inv["currency"] = "COP"
    r = client.put("/api/v1/debtors/CO-9", json=body, headers=api_headers)
    assert r.status_code == 201 and r.json["timezone"] == "America/Bogota"


def test_full_document_number_is_never_returned(client, api_headers):
    r = client.put("/api/v1/debtors/MX-3", json=debtor_body(document="GOHL800101HDFRRN09"), headers=api_headers)
    assert r.status_code == 201
    text = r.get_data(as_text=True)
    assert "GOHL800101HDFRRN09" not in text
    assert r.json["document_last4"] in ("2045",)  # the explicit last4 wins


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.update(country="XX"), "country"),
        (lambda b: b.update(country="Colombia"), "country"),
        (lambda b: b["invoices"][0].update(currency="EUR"), "invoices[0].currency"),
        (lambda b: b["invoices"][0].update(currency="pesos"), "invoices[0].currency"),
        (lambda b: b.update(phone="12345"), "phone"),
        (lambda b: b.update(phone="+57 300"), "phone"),
        (lambda b: b.update(phone=None), "phone"),
        (lambda b: b["invoices"][0].update(amount="-10.00"), "invoices[0].amount"),
        (lambda b: b["invoices"][0].update(amount="mil pesos"), "invoices[0].amount"),
        (lambda b: b["invoices"][0].update(amount=12.5), "invoices[0].amount"),
        (lambda b: b["invoices"][0].update(amount="NaN"), "invoices[0].amount"),
        (lambda b: b["invoices"][0].update(amount="10.001"), "invoices[0].amount"),
        (lambda b: b["invoices"][0].update(amount="1e400"), "invoices[0].amount"),
        (lambda b: b["invoices"][0].update(amount="Infinity"), "invoices[0].amount"),
        (lambda b: b["invoices"][0].update(due_date="15/11/2026"), "invoices[0].due_date"),
        (lambda b: b["invoices"][0].update(due_date="2026-02-30"), "invoices[0].due_date"),
        (lambda b: b["invoices"][0].pop("due_date"), "invoices[0].due_date"),
        (lambda b: b.update(timezone="Bogota"), "timezone"),
        (lambda b: b.update(whatsapp="yes"), "whatsapp"),
        (lambda b: b.update(document_last4="12a4"), "document_last4"),
        (lambda b: b.pop("name"), "name"),
        (lambda b: b.update(name="Ana\x00María"), "name"),
        (lambda b: b["invoices"][0].update(external_id="F-1\n"), "invoices[0].external_id"),
        (lambda b: b.update(invoices="INV-1"), "invoices"),
        (lambda b: b["invoices"][0].update(description=""), "invoices[0].description"),
        (lambda b: b["invoices"][0].update(description="x" * 201), "invoices[0].description"),
        (lambda b: b["invoices"][0].update(description=7), "invoices[0].description"),
    ],
)
def test_bad_fields_get_a_json_422_naming_the_field(client, api_headers, mutate, field):
    body = copy.deepcopy(debtor_body())
    mutate(body)
    r = client.put("/api/v1/debtors/MX-1", json=body, headers=api_headers)
    assert r.status_code == 422
    assert r.is_json
    assert r.json["error"]["code"] == "validation_error"
    assert r.json["error"]["field"] == field
    assert field in r.json["error"]["message"]
    assert client.get("/api/v1/debtors/MX-1", headers=api_headers).status_code == 404


def test_malformed_json(client, api_headers):
    r = client.put(
        "/api/v1/debtors/MX-1", data='{"name": "Ana",', headers={**api_headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json["error"]["code"] == "malformed_json"


def test_json_that_is_not_an_object(client, api_headers):
    r = client.put("/api/v1/debtors/MX-1", json=["a"], headers=api_headers)
    assert r.status_code == 422 and r.json["error"]["field"] == "body"


def test_not_json(client, api_headers):
    r = client.put(
        "/api/v1/debtors/MX-1",
        data="name=Ana",
        headers={**api_headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 415 and r.is_json


def test_body_too_large(client, api_headers, app):
    big = debtor_body(name="A" * 100)
    big["padding"] = "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    r = client.put("/api/v1/debtors/MX-1", json=big, headers=api_headers)
    assert r.status_code == 413 and r.is_json and "error" in r.json


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong-key"}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}]
)
def test_missing_or_wrong_key_is_401(client, headers):
    for r in (
        client.put("/api/v1/debtors/MX-1", json=debtor_body(), headers=headers),
        client.get("/api/v1/debtors/MX-1", headers=headers),
        client.get("/api/v1/conversations/MX-1/messages", headers=headers),
    ):
        assert r.status_code == 401
        assert r.json["error"]["code"] == "unauthorized"


def test_unknown_debtor_is_404_json(client, api_headers):
    for path in ("/api/v1/debtors/NOPE", "/api/v1/conversations/NOPE/messages"):
        r = client.get(path, headers=api_headers)
        assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


def test_unknown_api_path_and_method_are_json(client, api_headers):
    assert client.get("/api/v1/nothing", headers=api_headers).json["error"]["code"] == "not_found"
    r = client.patch("/api/v1/debtors/MX-1", headers=api_headers)  # (DELETE erases: docs/api.md)
    assert r.status_code == 405 and r.is_json


def test_transcript_is_oldest_first_with_intents(client, api_headers, session):
    from datetime import datetime, timedelta, timezone

    from tests import factories

    client.put("/api/v1/debtors/MX-1", json=debtor_body(), headers=api_headers)
    from bot.billing import debtors

    debtor = debtors.get_by_external_id(session, "MX-1")
    conv = factories.conversation(session, debtor)
    t0 = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)
    # written newest first: the transcript orders by time, not by id
    factories.message(session, conv, "bot", "¿Me confirma los últimos 4 dígitos?", created_at=t0 + timedelta(seconds=2))
    factories.message(
        session,
        conv,
        "debtor",
        "hola cuánto debo",
        status="received",
        intent="check_balance",
        confidence=0.97,
        created_at=t0,
    )
    session.commit()
    r = client.get("/api/v1/conversations/MX-1/messages", headers=api_headers)
    assert r.status_code == 200
    msgs = r.json["messages"]
    assert [m["author"] for m in msgs] == ["debtor", "bot"]
    assert msgs[0]["intent"] == "check_balance" and msgs[0]["confidence"] == pytest.approx(0.97)
    assert msgs[0]["direction"] == "in" and msgs[0]["channel"] == "whatsapp"
    assert msgs[0]["created_at"] == "2026-11-20T15:00:00Z"
    assert msgs[1]["body"] == "¿Me confirma los últimos 4 dígitos?"
    assert "intent" not in msgs[1]
