"""Security suite fixtures: one small seeded world with a real id for every path parameter of the app,
a signed-in test client per role, and a fingerprint of the store to prove a refused request changed nothing.

The users, debtors and hand-offs come from the console's fixtures (``tests/console/conftest.py``); the rest
(an outbound bot message, a payment link, a settlement certificate) is added here, because the role matrix
fills every path parameter of ``app.url_map`` with an id that exists: a refusal must never be a 404 in
disguise.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.console.conftest import make_handoff  # noqa: F401  (fixture)
from tests.console.helpers import PASSWORD, csrf_from
from tests.environment import TEST_API_KEY

ROLES = ("anonymous", "api_key", "agent", "manager", "admin")
STAFF = {"agent": "agente", "manager": "gerente", "admin": "admin"}  # role -> username
DEBTOR_PHONE = "+573001112233"


@functools.lru_cache(maxsize=1)
def _password_hash() -> str:
    """One scrypt run for the whole session: the matrix signs in three users for each of its ~60 cases."""
    from werkzeug.security import generate_password_hash

    return generate_password_hash(PASSWORD)


@pytest.fixture()
def make_staff(session):
    """A committed, active user whose password is ``PASSWORD``: tests/console's make_user with a cached hash."""
    from bot.store.models import User

    def make(username: str, role: str = "agent") -> User:
        user = User(username=username, name=username.capitalize(), role=role, password_hash=_password_hash())
        session.add(user)
        session.commit()
        return user

    return make


@dataclass
class World:
    """Real ids for every path parameter the app's routes take."""

    handoff_id: int
    conversation_id: int
    outbound_message_id: int
    inbound_media_id: int
    proof_id: int
    target_user_id: int
    external_id: str
    certificate_code: str
    short_code: str
    reference: str
    document_token: str
    users: dict[str, int] = field(default_factory=dict)


@pytest.fixture()
def world(session, make_handoff, make_staff, redis_client) -> World:  # noqa: F811 (fixture)
    """A hand-off with a transcript, an outbound bot reply, a payment link, a certificate and four users."""
    from bot.billing import document_links
    from bot.store.models import Conversation, Handoff, PaymentProof, Settlement
    from tests import factories

    staff = {role: make_staff(username, role).id for role, username in STAFF.items()}
    target = make_staff("objetivo", "agent")
    handoff: Handoff = make_handoff("D-1", phone=DEBTOR_PHONE)
    conv = session.get(Conversation, handoff.conversation_id)
    now = datetime.now(timezone.utc)
    out = factories.message(session, conv, "bot", "¿En qué le puedo ayudar?", to_phone=DEBTOR_PHONE, created_at=now)
    link = factories.payment_link(
        session,
        handoff.debtor_id,
        reference="ref-sec-1",
        short_code="sec1code",
        amount=Decimal("185000.00"),
        expires_at=now + timedelta(days=3),
        created_at=now,
    )
    cert = Settlement(
        debtor_id=handoff.debtor_id,
        code="SEC2345678AB",
        fingerprint="f" * 64,
        issued_at=now,
        details={},
        pdf=b"%PDF-1.4\n%%EOF\n",
    )
    session.add(cert)
    receipt = [{"url": "http://localhost:8000/sandbox/phone/sample-receipt.svg", "content_type": "image/svg+xml"}]
    photo = factories.message(session, conv, "debtor", from_phone=DEBTOR_PHONE, media=receipt, created_at=now)
    proof = PaymentProof(
        debtor_id=handoff.debtor_id, conversation_id=conv.id, message_id=photo.id, handoff_id=handoff.id
    )
    session.add(proof)
    session.commit()
    return World(
        handoff_id=handoff.id,
        conversation_id=conv.id,
        outbound_message_id=out.id,
        inbound_media_id=photo.id,
        proof_id=proof.id,
        target_user_id=target.id,
        external_id="D-1",
        certificate_code=cert.code,
        short_code=link.short_code,
        reference=link.reference,
        document_token=document_links.token(document_links.STATEMENT, handoff.debtor_id),
        users=staff,
    )


def login_client(app, username: str | None, *, user_agent: str = "pytest-security", password: str = PASSWORD):
    """A test client signed in as ``username`` through the real form (None: anonymous), with the CSRF token
    of its own session kept on ``client.csrf``."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    page = client.get("/console/login").get_data(as_text=True)
    if username is not None:
        resp = client.post(
            "/console/login", data={"username": username, "password": password, "csrf_token": csrf_from(page)}
        )
        assert resp.status_code == 302, f"{username} could not sign in ({resp.status_code})"
        page = client.get("/console/").get_data(as_text=True)
    client.csrf = csrf_from(page)
    return client


@pytest.fixture()
def clients(app, world):
    """role -> a test client: anonymous, anonymous with the API key, and one signed in per staff role."""
    out = {role: login_client(app, STAFF.get(role)) for role in ROLES}
    out["api_key"].environ_base["HTTP_AUTHORIZATION"] = f"Bearer {TEST_API_KEY}"
    return out


def store_fingerprint(db_url: str) -> list[Any]:
    """Every row of every table, read on a connection of its own: equal before and after means nothing changed."""
    from sqlalchemy import select

    from bot.store.db import get_engine
    from bot.store.models import Base

    with get_engine(db_url).connect() as conn:
        return [(t.name, sorted(map(repr, conn.execute(select(t)).all()))) for t in Base.metadata.sorted_tables]


def is_login_redirect(resp) -> bool:
    """A 302 to the login page carrying ``next=``: Flask-Login sending an anonymous visitor to sign in."""
    location = resp.headers.get("Location", "")
    return resp.status_code == 302 and bool(re.match(r"^(https?://[^/]+)?/console/login\?next=", location))


UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def app_routes() -> list[tuple[str, str, str]]:
    """(path, method, endpoint) of every route of the app as ``make run`` builds it (sandbox providers, as in the
    test environment), HEAD and OPTIONS aside. Read at collection time, so each becomes a test case."""
    from bot.web import create_app

    rules = sorted(create_app({"TESTING": True}).url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))
    return [
        (rule.rule, method, rule.endpoint) for rule in rules for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]


def _static_file(app, endpoint: str) -> str:
    folder = app.static_folder if endpoint == "static" else app.blueprints[endpoint.split(".")[0]].static_folder
    return sorted(p.name for p in Path(folder).iterdir() if p.is_file())[0]


def path_values(app, world: World, endpoint: str, arguments: set[str]) -> dict[str, Any]:
    """A real value for each path parameter; a new parameter name fails here until the world seeds one."""
    from bot.review import exports

    known = {
        "handoff_id": world.handoff_id,
        "conversation_id": world.conversation_id,
        "message_id": world.outbound_message_id,
        "inbound_id": world.inbound_media_id,
        "index": 0,
        "proof_id": world.proof_id,
        "user_id": world.target_user_id,
        "verb": "deactivate",
        "external_id": world.external_id,
        "code": world.certificate_code,
        "short_code": world.short_code,
        "reference": world.reference,
        "token": world.document_token,
        "result": "exito",
        "name": exports.EXPORT_TABLES[0],
    }
    if "filename" in arguments:
        known["filename"] = _static_file(app, endpoint)
    missing = arguments - known.keys()
    assert not missing, f"{endpoint}: no seeded value for path parameter(s) {sorted(missing)}; add one to the world"
    return {name: known[name] for name in arguments}


def route_url(app, world: World, path: str, method: str, endpoint: str) -> str:
    url_rule = next(r for r in app.url_map.iter_rules(endpoint) if r.rule == path)
    return app.url_map.bind("localhost").build(
        endpoint, path_values(app, world, endpoint, set(url_rule.arguments)), method=method
    )
