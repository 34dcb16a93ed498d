"""Who may call what: every route of the Flask app × (anonymous, API key, agent, manager, admin).

The cases are generated from the app's own ``url_map``; the expected answers come from the table of rules
below (by endpoint, first match wins). A route that no rule covers fails the suite, so a new route cannot
land without someone deciding who may call it. Every path parameter is filled with a real id from the
seeded world, so a refusal is never a 404 in disguise; every refused call is checked to have changed
nothing in the store.

Expected answers:
- an integer: exactly that status code;
- ``LOGIN``: 302 to the login page with ``next=`` (Flask-Login's answer to an anonymous visitor);
- ``OK``: let through: 2xx, or a 3xx that is not the login page (a form that redirects back).

Every page of the console and the dashboard that answers 200 must also be uncacheable and unframeable, with
a Content-Security-Policy that allows no inline script.

State-changing requests carry a valid CSRF token of the caller's own session, so a refusal is the role's
doing, not CSRF's (``test_csrf.py`` covers the token itself).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.security.conftest import ROLES, UNSAFE, app_routes, is_login_redirect, route_url, store_fingerprint

LOGIN, OK = "login", "ok"
REFUSALS = {LOGIN, 401, 403}


def every(expected: Any) -> dict[str, Any]:
    return dict.fromkeys(ROLES, expected)


def signed_in(agent: Any, manager: Any, admin: Any, *, anonymous: Any = LOGIN) -> dict[str, Any]:
    """Session pages: the API key is not a session, so its caller is as anonymous as anyone."""
    return {"anonymous": anonymous, "api_key": anonymous, "agent": agent, "manager": manager, "admin": admin}


def api_only(expected: Any = 200) -> dict[str, Any]:
    """``/api/v1``: the bearer key only; a signed-in console session is no substitute."""
    return {**every(401), "api_key": expected}


@dataclass(frozen=True)
class Rule:
    methods: tuple[str, ...]
    endpoint: str  # fnmatch pattern on the endpoint name
    expect: dict[str, Any]
    why: str
    form: dict[str, str] | None = None
    json: Any = None
    query: dict[str, str] = field(default_factory=dict)
    writes_when_refused: bool = False  # a failed login is audited: that is the point of it


DEBTOR_PAYLOAD = {
    "name": "Ana María Restrepo",
    "phone": "+573001112233",
    "whatsapp": True,
    "country": "CO",
    "timezone": "America/Bogota",
    "document_last4": "4821",
    "invoices": [{"external_id": "D-1-F1", "amount": "185000.00", "currency": "COP", "due_date": "2026-11-10"}],
}

RULES: tuple[Rule, ...] = (
    # Public on purpose.
    Rule(("GET",), "healthz", every(200), "liveness probe, says nothing"),
    # readiness names the failed checks only (no addresses, no messages); Rasa is not running in this test
    Rule(("GET",), "readyz", every(503), "readiness probe, says which dependency is down"),
    Rule(("GET",), "metrics", every(404), "no RECOBRA_METRICS_TOKEN here: no metrics (tests/web/test_observe.py)"),
    Rule(("GET",), "static", every(200), "CSS and JavaScript"),
    Rule(("GET",), "console.static", every(200), "CSS and JavaScript"),
    Rule(("GET",), "manager.static", every(200), "CSS and JavaScript"),
    Rule(("GET",), "payment_pages.short_link", every(302), "the short code is the bearer secret of a debtor's link"),
    Rule(("GET",), "openapi.document", every(200), "the OpenAPI description: shapes only, no data"),
    Rule(
        ("GET",),
        "payment_pages.*",
        every(200),
        "payment results, a certificate by its unguessable code, code verification, a statement by its signed link",
    ),
    # Login and logout.
    Rule(("GET",), "auth.login", signed_in(302, 302, 302, anonymous=200), "the form; signed-in users go home"),
    Rule(
        ("POST",),
        "auth.login",
        every(401),
        "wrong credentials are wrong whoever sends them",
        form={"username": "nadie-{role}", "password": "no-es-la-clave"},
        writes_when_refused=True,
    ),
    Rule(("POST",), "auth.logout", signed_in(OK, OK, OK), "only a session can be closed"),
    # Console: staff; user administration: admins; JSON polling answers 401 instead of a redirect.
    Rule(("GET", "POST"), "console.admin_*", signed_in(403, 403, OK), "user administration is for admins", form={}),
    Rule(("GET",), "console.*_json", signed_in(200, 200, 200, anonymous=401), "polled by console.js"),
    Rule(("GET",), "console.*", signed_in(200, 200, 200), "the agent console: any staff role"),
    Rule(("POST",), "console.*", signed_in(OK, OK, OK), "console actions: any staff role", form={}),
    # Manager dashboard: managers and admins.
    Rule(("GET",), "manager.*", signed_in(403, 200, 200), "the dashboard, transcripts and exports"),
    Rule(("POST",), "manager.*", signed_in(403, OK, OK), "tags, flags and the time zone", form={}),
    # /api/v1: the bearer key.
    Rule(("GET",), "api.*", api_only(), "billing systems, with the bearer key"),
    Rule(("PUT",), "api.put_debtor", api_only(), "billing systems, with the bearer key", json=DEBTOR_PAYLOAD),
    Rule(
        ("POST",),
        "api.post_payment",
        api_only(201),
        "a payment the billing system recorded: the bearer key only",
        json={
            "external_id": "SEC-PAY-1",
            "debtor_external_id": "D-1",
            "invoices": [{"external_id": "D-1-F1", "amount": "1000.00"}],
            "amount": "1000.00",
            "currency": "COP",
            "paid_at": "2026-12-01",
        },
    ),
    Rule(("DELETE",), "api.erase_debtor", api_only(), "erasure on the debtor's request: the bearer key only"),
    Rule(("GET",), "sandbox_api.outbox", api_only(), "the sandbox outbox, with the bearer key"),
    # Webhooks: signed by the provider, whoever else asks.
    Rule(
        ("POST",),
        "webhooks.*",
        every(403),
        "Twilio signs every call (X-Twilio-Signature)",
        form={"MessageSid": "SM1", "From": "whatsapp:+573001112233", "Body": "hola"},
    ),
    Rule(
        ("POST",),
        "mercadopago.notification",
        every(403),
        "Mercado Pago signs every call (x-signature)",
        json={"type": "payment", "data": {"id": "123"}},
        query={"data.id": "123", "type": "payment"},
    ),
    # Sandbox only (not registered when a provider is real): the debtor's simulated phone and checkout.
    Rule(("GET",), "sandbox.phone_messages", every(200), "the simulated phone", query={"phone": "+573001112233"}),
    Rule(("GET",), "sandbox.*", every(200), "the simulated phone"),
    Rule(("POST",), "sandbox.phone_send", every(400), "the simulated phone (an empty message is refused)", json={}),
    Rule(("GET",), "sandbox_checkout.*", every(200), "the sandbox checkout"),
    Rule(
        ("POST",),
        "sandbox_checkout.sandbox_pay",
        every(400),
        "the sandbox checkout (no such outcome)",
        form={"outcome": "nada"},
    ),
    Rule(
        ("POST",),
        "sandbox_checkout.sandbox_refund",
        every(404),
        "the sandbox checkout (no such payment)",
        form={"payment_id": "0"},
    ),
)


CASES = app_routes()


def rule_for(method: str, endpoint: str) -> Rule | None:
    return next((r for r in RULES if method in r.methods and fnmatch.fnmatchcase(endpoint, r.endpoint)), None)


SESSION_PAGES = ("/console", "/manager")


def header_problems(resp) -> list[str]:
    """What a page with debtor data must say to the browser: not cached, not framed, no inline script."""
    csp = resp.headers.get("Content-Security-Policy", "")
    problems = []
    if "no-store" not in resp.headers.get("Cache-Control", ""):
        problems.append("Cache-Control without no-store")
    if resp.headers.get("X-Frame-Options") != "DENY" or "frame-ancestors 'none'" not in csp:
        problems.append("may be framed")
    if "script-src 'self'" not in csp or "unsafe-inline" in csp:
        problems.append(f"weak Content-Security-Policy: {csp!r}")
    if resp.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("X-Content-Type-Options is not nosniff")
    return problems


def check(resp, expected: Any) -> bool:
    if expected == LOGIN:
        return is_login_redirect(resp)
    if expected == OK:
        return 200 <= resp.status_code < 400 and not is_login_redirect(resp)
    return resp.status_code == expected and not (expected == 302 and is_login_redirect(resp))


def test_the_rule_table_covers_every_route_and_nothing_else():
    uncovered = [
        f"{method} {path} ({endpoint})" for path, method, endpoint in CASES if rule_for(method, endpoint) is None
    ]
    assert not uncovered, "routes without a rule in RULES (decide who may call them): " + ", ".join(uncovered)
    unused = [f"{r.methods} {r.endpoint}" for r in RULES if not any(rule_for(m, e) is r for _p, m, e in CASES)]
    assert not unused, f"rules that match no route (stale): {unused}"


@pytest.mark.parametrize(("path", "method", "endpoint"), CASES, ids=[f"{m} {p}" for p, m, _e in CASES])
def test_route_answers_each_role_as_the_table_says(path, method, endpoint, app, world, clients, db):
    rule = rule_for(method, endpoint)
    assert rule is not None, f"{method} {path} ({endpoint}) has no rule in RULES: decide who may call it"
    url = route_url(app, world, path, method, endpoint)
    wrong = []
    for role in ROLES:
        client, expected = clients[role], rule.expect[role]
        kwargs: dict[str, Any] = {"query_string": rule.query, "headers": {"Accept": "text/html"}}
        if method in UNSAFE:
            kwargs["headers"]["X-CSRFToken"] = client.csrf
            if rule.json is not None:
                kwargs["json"] = rule.json
            else:
                form = {k: v.format(role=role) for k, v in (rule.form or {}).items()}  # one username per role:
                kwargs["data"] = {**form, "csrf_token": client.csrf}  # the login limit is not what is tested
        refused = expected in REFUSALS and not rule.writes_when_refused
        before = store_fingerprint(db) if refused else None
        resp = client.open(url, method=method, **kwargs)
        if not check(resp, expected):
            wrong.append(f"{role}: expected {expected}, got {resp.status_code} {resp.headers.get('Location', '')}")
        elif resp.status_code == 200 and path.startswith(SESSION_PAGES) and not endpoint.endswith(".static"):
            wrong += [f"{role}: {problem}" for problem in header_problems(resp)]
        elif refused and store_fingerprint(db) != before:
            wrong.append(f"{role}: refused with {resp.status_code} but the store changed")
    assert not wrong, f"{method} {url} ({rule.why}):\n  " + "\n  ".join(wrong)
