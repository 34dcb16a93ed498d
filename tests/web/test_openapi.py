"""``GET /api/v1/openapi.json``: a valid OpenAPI 3.1 document that describes exactly the routes the app serves
under ``/api/v1`` and ``/webhooks``, and whose schemas the real responses match, field for field.

Response schemas are checked strictly here: every object that lists its properties is closed, so a field that
the code starts returning without a description fails (the published document itself leaves objects open:
integrators must accept new fields)."""

from __future__ import annotations

import copy
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker, RefResolver

from bot.web import openapi
from tests import factories as make

ROOT = Path(__file__).resolve().parents[2]
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
DEBTOR = {
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


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return openapi.build()


# --- The document is OpenAPI 3.1 ----------------------------------------------------------------------------
def _walk(node: Any, where: str = "#"):
    yield where, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{where}/{i}")


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"only local references: {ref}"
    node: Any = doc
    for part in ref[2:].split("/"):
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


TOP_LEVEL = {
    "openapi",
    "info",
    "jsonSchemaDialect",
    "servers",
    "paths",
    "webhooks",
    "components",
    "security",
    "tags",
    "externalDocs",
}
OPERATION = {
    "tags",
    "summary",
    "description",
    "externalDocs",
    "operationId",
    "parameters",
    "requestBody",
    "responses",
    "callbacks",
    "deprecated",
    "security",
    "servers",
}


def test_the_document_is_openapi_3_1(doc):
    assert re.fullmatch(r"3\.1\.\d+", doc["openapi"])
    assert set(doc) <= TOP_LEVEL, f"not OpenAPI 3.1 fields: {set(doc) - TOP_LEVEL}"
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["servers"][0]["url"].startswith("http")
    schemes = doc["components"]["securitySchemes"]
    operation_ids = []
    for path, item in doc["paths"].items():
        assert path.startswith("/") and "<" not in path, path
        operations = {m: op for m, op in item.items() if m in HTTP_METHODS}
        assert operations, f"{path} has no operation"
        declared_path_params = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        for method, op in operations.items():
            operation_ids.append(op["operationId"])
            assert set(op) <= OPERATION, f"{method} {path}: not operation fields: {set(op) - OPERATION}"
            assert op["responses"], f"{method} {path} has no responses"
            for code, response in op["responses"].items():
                response = _resolve(doc, response["$ref"]) if "$ref" in response else response
                assert response.get("description"), f"{method} {path} {code}: a response needs a description"
            for param in item.get("parameters", []) + op.get("parameters", []):
                assert param["in"] in {"path", "query", "header", "cookie"} and param["name"] and param["schema"]
                assert param["in"] != "path" or param.get("required") is True, f"{path}: path parameters are required"
            assert all(re.fullmatch(r"[1-5]\d\d|default", code) for code in op["responses"]), (method, path)
            params = declared_path_params | {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert params == set(re.findall(r"{(\w+)}", path)), f"{method} {path}: path parameters {params}"
            assert "security" in op, f"{method} {path}: say who may call it (security: [] when public)"
            for requirement in op["security"]:
                assert set(requirement) <= set(schemes), f"{method} {path}: unknown scheme in {requirement}"
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"
    # every $ref resolves, and every schema is a valid JSON Schema 2020-12 (OpenAPI 3.1's dialect)
    refs = [node["$ref"] for _, node in _walk(doc) if isinstance(node, dict) and "$ref" in node]
    assert refs
    for ref in refs:
        _resolve(doc, ref)
    for name, schema in doc["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)
        missing = set(schema.get("required", [])) - set(schema.get("properties", {}))
        assert not missing, f"{name}: required but not described: {missing}"


def test_the_document_version_is_the_projects():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1) == openapi.VERSION


# --- It describes exactly the routes the app serves ---------------------------------------------------------
def _served(app) -> set[tuple[str, str]]:
    out = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/v1/", "/webhooks/")):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            out |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return out


def _described(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, m) for path, item in doc["paths"].items() for m in item if m in HTTP_METHODS}


def test_every_api_and_webhook_route_is_described_and_nothing_else(app, client):
    doc = client.get("/api/v1/openapi.json").json
    served, described = _served(app), _described(doc)
    assert ("/api/v1/debtors/{external_id}", "put") in served and ("/webhooks/mercadopago", "post") in served
    assert not served - described, f"routes without a description in bot/web/openapi.py: {served - described}"
    assert not described - served, f"described but not served: {described - served}"


def test_without_the_sandbox_the_outbox_is_not_described(db, redis_url):
    from bot.web import create_app
    from tests.worker.doubles import set_env

    set_env(MESSAGING_PROVIDER="twilio")
    try:
        app = create_app({"TESTING": True, "DATABASE_URL": db})
        doc = app.test_client().get("/api/v1/openapi.json").json
    finally:
        set_env(MESSAGING_PROVIDER="sandbox")
    assert openapi.OUTBOX_PATH not in doc["paths"]
    assert _described(doc) == _served(app)


def test_the_document_is_public_and_served_as_json(client):
    r = client.get("/api/v1/openapi.json")  # no API key: it holds no data
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert r.json == openapi.build("http://localhost:8000")
    assert r.json["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    # the rest of /api/v1 still wants the key
    assert client.get("/api/v1/debtors/X").status_code == 401


# --- Real responses match their schemas ---------------------------------------------------------------------
def _closed(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy where every object schema that lists its properties allows no others."""
    strict = copy.deepcopy(doc)
    for _, node in _walk(strict["components"]["schemas"]):
        if isinstance(node, dict) and "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
    return strict


FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _utc_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return value.endswith("Z") and datetime.fromisoformat(value[:-1] + "+00:00") is not None


@FORMATS.checks("date", raises=ValueError)
def _day(value: object) -> bool:
    return not isinstance(value, str) or date.fromisoformat(value) is not None


def check(doc: dict[str, Any], path: str, method: str, resp) -> Any:
    """The response's status is one the operation declares, and its JSON body matches the declared schema."""
    responses = doc["paths"][path][method]["responses"]
    assert str(resp.status_code) in responses, f"{method} {path}: undeclared status {resp.status_code}"
    declared = responses[str(resp.status_code)]
    if "$ref" in declared:
        declared = _resolve(doc, declared["$ref"])
    content = declared.get("content", {})
    if "application/json" not in content:
        return None
    assert resp.mimetype == "application/json", f"{method} {path}: {resp.mimetype}"
    strict = _closed(doc)
    validator = Draft202012Validator(
        content["application/json"]["schema"], resolver=RefResolver("", strict), format_checker=FORMATS
    )
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(resp.json)]
    assert not errors, f"{method} {path} {resp.status_code} does not match its schema:\n" + "\n".join(errors)
    return resp.json


def _history(session, external_id: str) -> None:
    """One row of everything the debtor view and the transcript list, as the bot, agents and payments leave
    them."""
    from bot.store.models import (
        Debtor,
        DueDateChange,
        IdentityCheck,
        Invoice,
        PaymentAllocation,
        Settlement,
        SettlementOffer,
    )

    debtor = session.query(Debtor).filter_by(external_id=external_id).one()
    inv = session.query(Invoice).filter_by(debtor_id=debtor.id, external_id="INV-1").one()
    now = datetime.now(timezone.utc)
    conv = make.conversation(session, debtor, last_channel="sms")
    link = make.payment_link(session, debtor, inv, reference="ref-oa-1", short_code="oa1code", status="paid")
    payment = make.payment(
        session, debtor, inv, provider_id="PAY-1", amount=Decimal("3500.00"), status_detail="accredited", paid_at=now
    )
    make.promise(session, debtor, inv, promised_date=date(2026, 11, 20), status="kept")
    make.reason(session, debtor, inv, "income_delay", text="no me han pagado la quincena")
    make.handoff(session, conv, status="closed")
    session.add_all(
        [
            DueDateChange(
                debtor_id=debtor.id, invoice_id=inv.id, old_date=date(2026, 11, 15), new_date=date(2026, 11, 20)
            ),
            PaymentAllocation(
                payment_id=payment.id,
                debtor_id=debtor.id,
                invoice_id=inv.id,
                applied_amount=Decimal("3450.00"),
                credit_amount=Decimal("50.00"),
                currency="MXN",
            ),
            SettlementOffer(
                debtor_id=debtor.id,
                invoice_id=inv.id,
                name="pronto_pago",
                kind="discount",
                balance=Decimal("3450.00"),
                amount=Decimal("2760.00"),
                currency="MXN",
                discount_pct=Decimal("20"),
                valid_until=date(2026, 11, 25),
                status="paid",
                link_id=link.id,
                accepted_at=now,
                paid_at=now,
            ),
            Settlement(debtor_id=debtor.id, code="OA2345678ABC", fingerprint="e" * 64, details={}, pdf=b"%PDF-1.4\n"),
            IdentityCheck(debtor_id=debtor.id, failures=3, locked_until=now + timedelta(minutes=30)),
        ]
    )
    make.message(
        session,
        conv,
        "debtor",
        "no me han pagado",
        channel="whatsapp",
        from_phone=debtor.phone,
        status="received",
        intent="report_nonpayment_reason",
        confidence=0.93,
        entities=[{"entity": "reason", "value": "income_delay", "start": 0, "end": 16}],
        media=[{"url": "https://api.twilio.com/x.jpg", "content_type": "image/jpeg"}],
        provider_sid="SMoa1",
    )
    sms = {"to_phone": debtor.phone, "status": "failed", "error_code": "30003", "encoding": "GSM-7", "segments": 1}
    make.message(session, conv, "bot", "Gracias por avisarnos.", **sms)
    make.message(session, conv, "agent", "Hola, soy Laura.", channel="whatsapp", to_phone=debtor.phone, status="read")
    session.commit()


def test_debtor_and_transcript_responses_match_their_schemas(client, api_headers, session, doc):
    debtor_path, messages_path = "/api/v1/debtors/{external_id}", "/api/v1/conversations/{external_id}/messages"
    created = check(doc, debtor_path, "put", client.put("/api/v1/debtors/MX-1", json=DEBTOR, headers=api_headers))
    assert created["external_id"] == "MX-1"
    check(doc, debtor_path, "put", client.put("/api/v1/debtors/MX-1", json=DEBTOR, headers=api_headers))  # 200
    _history(session, "MX-1")
    r = client.get("/api/v1/debtors/MX-1", headers=api_headers)
    assert r.status_code == 200
    view = check(doc, debtor_path, "get", r)
    # every list holds an item, so every item schema was checked against a real one
    for key in (
        "invoices",
        "promises",
        "nonpayment_reasons",
        "due_date_changes",
        "payment_links",
        "payments",
        "handoffs",
        "settlements",
        "credit",
        "settlement_offers",
    ):
        assert view[key], key
    offers_path = "/api/v1/debtors/{external_id}/offers"
    offers = check(doc, offers_path, "get", client.get("/api/v1/debtors/MX-1/offers", headers=api_headers))["offers"]
    assert offers == view["settlement_offers"] and offers[0]["link_url"].endswith("/p/oa1code")
    assert view["identity_locked_until"] and view["credit"] == [{"currency": "MXN", "amount": "50.00"}]
    r = client.get("/api/v1/conversations/MX-1/messages", headers=api_headers)
    assert r.status_code == 200
    transcript = check(doc, messages_path, "get", r)["messages"]
    assert [(m["author"], m["channel"]) for m in transcript] == [
        ("debtor", "whatsapp"),
        ("bot", "sms"),
        ("agent", "whatsapp"),
    ]


def test_outbox_response_matches_its_schema(client, api_headers, redis_client, doc):
    from bot.providers.factory import set_messaging_provider
    from bot.providers.sandbox_messaging import SandboxMessaging

    provider = SandboxMessaging(delays=(0.05,))
    set_messaging_provider(provider)
    try:
        provider.send("+525512342201", "whatsapp", body="Hola")
        provider.send("+525512342201", "sms", body="Su saldo")
        r = client.get("/api/v1/sandbox/outbox", query_string={"to": "+525512342201"}, headers=api_headers)
    finally:
        set_messaging_provider(None)
    assert r.status_code == 200
    assert len(check(doc, openapi.OUTBOX_PATH, "get", r)["messages"]) == 2
    bad = client.get("/api/v1/sandbox/outbox", query_string={"to": "nadie"}, headers=api_headers)
    assert bad.status_code == 400
    check(doc, openapi.OUTBOX_PATH, "get", bad)


def test_errors_match_the_error_schema(client, api_headers, db, redis_client, doc):
    debtor_path = "/api/v1/debtors/{external_id}"
    assert check(doc, debtor_path, "get", client.get("/api/v1/debtors/MX-1"))["error"]["code"] == "unauthorized"
    missing = check(doc, debtor_path, "get", client.get("/api/v1/debtors/NOPE", headers=api_headers))
    assert missing["error"]["code"] == "not_found"
    invalid = client.put("/api/v1/debtors/MX-1", json={**DEBTOR, "country": "ZZ"}, headers=api_headers)
    assert invalid.status_code == 422 and check(doc, debtor_path, "put", invalid)["error"]["field"] == "country"
    not_json = client.put("/api/v1/debtors/MX-1", data="name=x", headers=api_headers)
    assert not_json.status_code == 415 and check(doc, debtor_path, "put", not_json)
    broken = client.put("/api/v1/debtors/MX-1", data="{", content_type="application/json", headers=api_headers)
    assert broken.status_code == 400 and check(doc, debtor_path, "put", broken)
    messages = client.get("/api/v1/conversations/NOPE/messages", headers=api_headers)
    assert messages.status_code == 404 and check(doc, "/api/v1/conversations/{external_id}/messages", "get", messages)
    # the webhooks refuse an unsigned call with the same error shape
    for path in ("/webhooks/twilio/messages", "/webhooks/twilio/status"):
        r = client.post(path, data={"MessageSid": "SM1", "From": "+525512342201", "Body": "hola"})
        assert r.status_code == 403 and check(doc, path, "post", r)
    r = client.post("/webhooks/mercadopago?data.id=123&type=payment", json={"type": "payment", "data": {"id": "123"}})
    assert r.status_code == 403 and check(doc, "/webhooks/mercadopago", "post", r)


def test_the_strict_check_notices_an_undescribed_field(doc):
    """The checker itself: a response with a field the document does not describe must fail."""

    class Fake:
        status_code, mimetype = 200, "application/json"
        json = {
            "messages": [
                {
                    "to": "+525512342201",
                    "channel": "sms",
                    "body": "x",
                    "status": "queued",
                    "created_at": "2026-11-10T12:00:00Z",
                    "secret": "nope",
                }
            ]
        }

    with pytest.raises(AssertionError, match="secret"):
        check(doc, openapi.OUTBOX_PATH, "get", Fake())
    Fake.json = {
        "messages": [
            {"to": "+525512342201", "channel": "sms", "body": "x", "status": "queued", "created_at": "2026-11-10 12:00"}
        ]
    }
    with pytest.raises(AssertionError, match="created_at"):
        check(doc, openapi.OUTBOX_PATH, "get", Fake())


def test_recorded_payment_responses_match_their_schemas(client, api_headers, redis_client, doc):
    path = "/api/v1/payments"
    assert client.put("/api/v1/debtors/MX-1", json=DEBTOR, headers=api_headers).status_code == 201
    payment = {
        "external_id": "BILL-1",
        "debtor_external_id": "MX-1",
        "invoices": [{"external_id": "INV-1", "amount": "3450.00"}, {"external_id": "INV-2", "amount": "100.00"}],
        "amount": "3550.00",
        "currency": "MXN",
        "paid_at": "2026-12-04T10:00:00-06:00",
        "method": "cash",
    }
    created = client.post(path, json=payment, headers=api_headers)
    assert created.status_code == 201 and len(check(doc, path, "post", created)["invoices"]) == 2
    repeat = client.post(path, json=payment, headers=api_headers)
    assert repeat.status_code == 200 and check(doc, path, "post", repeat) == created.json
    conflict = client.post(path, json={**payment, "method": None}, headers=api_headers)
    assert conflict.status_code == 409 and check(doc, path, "post", conflict)
    invalid = client.post(path, json={**payment, "external_id": "BILL-2", "currency": "COP"}, headers=api_headers)
    assert invalid.status_code == 422 and check(doc, path, "post", invalid)["error"]["field"] == "currency"
    view = check(doc, "/api/v1/debtors/{external_id}", "get", client.get("/api/v1/debtors/MX-1", headers=api_headers))
    assert [p["provider"] for p in view["payments"]] == ["billing"]
