"""CSRF: every state-changing route of the session pages refuses a request without a valid token.

The routes come from the app's ``url_map``: every POST/PUT/PATCH/DELETE under ``/console`` (login and logout
included) and ``/manager``. Each is called by an admin (a role every one of them lets through) without a
token, with a garbage token and with the token of another session: 400 and nothing changed. The same call
with the caller's own token gets through, so the refusal is the token's doing. The app keeps
``WTF_CSRF_ENABLED`` on (``tests/conftest.py``).

Every other state-changing route must be listed in ``EXEMPT`` with the reason it needs no CSRF token, and
that reason is tested: webhooks refuse unsigned calls, ``/api/v1`` refuses calls without the bearer key,
and the sandbox pages exist only when the providers are sandboxes.
"""

from __future__ import annotations

import fnmatch
import json
from urllib.parse import urlencode

import pytest

from tests.environment import TEST_API_KEY
from tests.security.conftest import UNSAFE, app_routes, login_client, route_url, store_fingerprint
from tests.security.test_role_matrix import rule_for

SESSION_PAGES = ("/console", "/manager")
EXEMPT = {
    "webhooks.*": "Twilio signs every call (X-Twilio-Signature); there is no session to ride on",
    "mercadopago.notification": "Mercado Pago signs every call (x-signature); there is no session to ride on",
    "api.*": "the bearer key is sent by the caller, never by a browser on its own",
    "sandbox.*": "the sandbox phone: registered only while messaging is a sandbox; no session to ride on",
    "sandbox_checkout.*": "the sandbox checkout: registered only while payments are a sandbox",
}

ROUTES = [case for case in app_routes() if case[1] in UNSAFE]
SESSION_ROUTES = [case for case in ROUTES if case[0].startswith(SESSION_PAGES)]


def exemption(endpoint: str) -> str | None:
    return next((why for pattern, why in EXEMPT.items() if fnmatch.fnmatchcase(endpoint, pattern)), None)


def test_every_state_changing_route_is_csrf_checked_or_exempt_for_a_reason():
    assert SESSION_ROUTES, "no session routes found: the url_map filter is wrong"
    neither = [f"{m} {p} ({e})" for p, m, e in ROUTES if not p.startswith(SESSION_PAGES) and exemption(e) is None]
    assert not neither, f"state-changing routes neither under {SESSION_PAGES} nor in EXEMPT: {neither}"
    odd = [f"{m} {p} ({e})" for p, m, e in SESSION_ROUTES if exemption(e) is not None]
    assert not odd, f"session pages must not be exempt from CSRF: {odd}"


def _call(client, url: str, method: str, form: dict[str, str], token: str | None):
    data = dict(form)
    if token is not None:
        data["csrf_token"] = token
    return client.open(url, method=method, data=data, headers={"Accept": "text/html"})


@pytest.mark.parametrize(
    ("path", "method", "endpoint"), SESSION_ROUTES, ids=[f"{m} {p}" for p, m, _e in SESSION_ROUTES]
)
def test_session_route_refuses_a_missing_or_foreign_token(path, method, endpoint, app, world, db):
    url = route_url(app, world, path, method, endpoint)
    rule = rule_for(method, endpoint)
    form = dict(rule.form or {}) if rule else {}
    if endpoint == "auth.login":
        form = {"username": "admin", "password": "correct-horse-battery"}
    admin = login_client(app, "admin") if endpoint != "auth.login" else login_client(app, None)
    other = login_client(app, "gerente")
    before = store_fingerprint(db)
    for label, token in (("no token", None), ("a garbage token", "x" * 40), ("another session's token", other.csrf)):
        resp = _call(admin, url, method, form, token)
        assert resp.status_code == 400, f"{method} {url} with {label}: {resp.status_code}, expected 400"
        assert store_fingerprint(db) == before, f"{method} {url} with {label} changed the store"
    if endpoint == "auth.logout":
        assert admin.get("/console/").status_code == 200, "a logout without a token signed the user out"
    if endpoint == "auth.login":
        assert admin.get("/console/").status_code == 302, "a login without a token signed the user in"
    resp = _call(admin, url, method, form, admin.csrf)
    assert resp.status_code != 400, f"{method} {url} refused its own session's token too: the test proves nothing"


def _twilio_signed(path: str, params: dict[str, str]) -> dict[str, str]:
    from twilio.request_validator import RequestValidator

    from bot.platform.config import get_settings

    settings = get_settings()
    signature = RequestValidator(settings.twilio_auth_token).compute_signature(settings.public_base_url + path, params)
    return {"X-Twilio-Signature": signature}


def test_twilio_webhooks_need_no_token_because_they_refuse_unsigned_calls(client, db, redis_client):
    from bot.store.models import Message

    params = {
        "MessageSid": "SM" + "a" * 32,
        "From": "whatsapp:+573001112233",
        "To": "whatsapp:+14155238886",
        "Body": "hola",
        "NumMedia": "0",
        "AccountSid": "AC" + "1" * 32,
    }
    for path in ("/webhooks/twilio/messages", "/webhooks/twilio/status"):
        unsigned = client.post(path, data=params)
        assert unsigned.status_code == 403, f"{path} accepted an unsigned call"
        forged = client.post(path, data=params, headers={"X-Twilio-Signature": "Zm9yZ2Vk"})
        assert forged.status_code == 403, f"{path} accepted a forged signature"
    from bot.store.db import get_sessionmaker

    with get_sessionmaker(db)() as s:
        assert s.query(Message).count() == 0
    signed = client.post(
        "/webhooks/twilio/messages",
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers=_twilio_signed("/webhooks/twilio/messages", params),
    )
    assert signed.status_code == 200, "a signed Twilio call without a CSRF token must be accepted"
    with get_sessionmaker(db)() as s:
        assert s.query(Message).count() == 1


def test_mercadopago_webhook_needs_no_token_because_it_refuses_unsigned_calls(client, redis_client):
    from bot.platform.config import get_settings
    from bot.web.mercadopago import sign

    url = "/webhooks/mercadopago?data.id=123456&type=payment"
    body = json.dumps({"type": "payment", "data": {"id": "123456"}})
    unsigned = client.post(url, data=body, content_type="application/json")
    assert unsigned.status_code == 403
    forged = client.post(
        url,
        data=body,
        content_type="application/json",
        headers={"x-request-id": "r1", "x-signature": sign("123456", "r1", "not-the-secret")},
    )
    assert forged.status_code == 403
    assert redis_client.keys("*") == [], "a refused notification queued something"
    signed = client.post(
        url,
        data=body,
        content_type="application/json",
        headers={"x-request-id": "r2", "x-signature": sign("123456", "r2", get_settings().mercadopago_webhook_secret)},
    )
    assert signed.status_code == 200 and signed.get_json()["status"] == "queued"


def test_api_needs_no_token_because_it_refuses_calls_without_the_bearer_key(app, world, clients, db):
    from tests.security.test_role_matrix import DEBTOR_PAYLOAD

    payload = {**DEBTOR_PAYLOAD, "name": "Nombre Cambiado"}
    before = store_fingerprint(db)
    signed_in = clients["admin"]  # a console session (and its CSRF token) is not an API credential
    for headers in ({}, {"Authorization": "Bearer wrong-key"}, {"X-CSRFToken": signed_in.csrf}):
        resp = signed_in.put("/api/v1/debtors/D-1", json=payload, headers=headers)
        assert resp.status_code == 401, f"PUT /api/v1 with {headers or 'a session only'}: {resp.status_code}"
    assert store_fingerprint(db) == before
    resp = app.test_client().put(
        "/api/v1/debtors/D-1", json=payload, headers={"Authorization": f"Bearer {TEST_API_KEY}"}
    )
    assert resp.status_code == 200 and resp.get_json()["name"] == "Nombre Cambiado"


def test_sandbox_pages_are_not_served_when_the_providers_are_real(monkeypatch):
    from bot.platform.config import reset_settings
    from bot.web import create_app

    monkeypatch.setenv("MESSAGING_PROVIDER", "twilio")
    monkeypatch.setenv("PAYMENTS_PROVIDER", "mercadopago")
    reset_settings()
    try:
        paths = {rule.rule for rule in create_app({"TESTING": True}).url_map.iter_rules()}
    finally:
        monkeypatch.undo()
        reset_settings()
    sandboxed = [p for p, _m, e in ROUTES if e.startswith(("sandbox.", "sandbox_checkout."))]
    assert sandboxed, "no sandbox routes in the test app: this test proves nothing"
    assert not [p for p in sandboxed if p in paths], "sandbox pages served with real providers"
