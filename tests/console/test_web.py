"""The console over HTTP: sign-in, roles, CSRF, the login rate limit, audit rows, the pages and actions."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests import factories
from tests.console.helpers import PASSWORD, csrf_from, login, token

CONSOLE_PAGES = ["/console/", "/console/handoffs/1", "/console/admin/users"]


@pytest.mark.parametrize("path", CONSOLE_PAGES)
def test_anonymous_is_sent_to_login(client, path):
    resp = client.get(path)
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/console/login")


@pytest.mark.parametrize("path", ["/console/api/queue", "/console/api/handoffs/1/messages"])
def test_anonymous_json_is_401(client, path):
    resp = client.get(path)
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "path",
    ["/console/handoffs/1/claim", "/console/handoffs/1/reply", "/console/handoffs/1/give-back", "/console/admin/users"],
)
def test_anonymous_posts_are_refused(client, path):
    resp = client.post(path, data={})
    assert resp.status_code in (302, 400, 401)
    assert resp.status_code != 200


def test_static_needs_no_login(client):
    assert client.get("/console/static/console.js").status_code == 200


def test_login_and_logout(client, agent):
    resp = login(client, "agente")
    assert resp.status_code == 302 and resp.headers["Location"] == "/console/"
    page = client.get("/console/")
    assert page.status_code == 200
    assert "Conversaciones para atender" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    resp = client.post("/console/logout", data={"csrf_token": token(client)})
    assert resp.status_code == 302
    assert client.get("/console/").status_code == 302


def test_wrong_password_is_401(client, agent):
    resp = login(client, "agente", "not-the-password")
    assert resp.status_code == 401
    assert "incorrectos" in resp.get_data(as_text=True)


def test_deactivated_user_cannot_log_in_and_is_signed_out(client, agent, session):
    assert login(client, "agente").status_code == 302
    agent.active = False
    session.commit()
    assert client.get("/console/").status_code == 302
    assert login(client, "agente").status_code == 401


def test_next_only_to_own_site(client, agent):
    page = client.get("/console/login?next=https://evil.example/")
    tok = csrf_from(page.get_data(as_text=True))
    resp = client.post(
        "/console/login?next=https://evil.example/",
        data={"username": "agente", "password": PASSWORD, "csrf_token": tok},
    )
    assert resp.headers["Location"] == "/console/"


def test_login_without_csrf_is_400(client, agent):
    resp = client.post("/console/login", data={"username": "agente", "password": PASSWORD})
    assert resp.status_code == 400


def test_console_form_without_csrf_is_400(client, agent, make_handoff):
    h = make_handoff()
    login(client, "agente")
    resp = client.post(f"/console/handoffs/{h.id}/claim", data={})
    assert resp.status_code == 400
    resp = client.post(f"/console/handoffs/{h.id}/claim", data={"csrf_token": "forged"})
    assert resp.status_code == 400


def test_webhooks_and_api_stay_csrf_exempt(client, api_headers):
    resp = client.put(
        "/api/v1/debtors/X-1",
        headers=api_headers,
        json={
            "name": "Ana",
            "phone": "+573001112299",
            "whatsapp": True,
            "country": "CO",
            "timezone": "America/Bogota",
            "document_last4": "1234",
            "invoices": [{"external_id": "F1", "amount": "1000.00", "currency": "COP", "due_date": "2026-11-10"}],
        },
    )
    assert resp.status_code in (200, 201)


def test_login_rate_limit(client, agent, redis_client):
    for _ in range(5):
        assert login(client, "agente", "wrong-password").status_code == 401
    resp = login(client, "agente")  # even the right password, for 15 minutes
    assert resp.status_code == 429
    assert "15 minutos" in resp.get_data(as_text=True)
    ttl = max(redis_client.ttl(k) for k in redis_client.keys("recobra:login:fail:*"))
    assert 800 < ttl <= 900
    redis_client.flushdb()  # the 15 minutes are over
    assert login(client, "agente").status_code == 302


@pytest.mark.parametrize("hops", [0, 1])
def test_behind_a_proxy_the_limit_counts_each_client_not_the_proxy(db, agent, redis_client, hops):
    from bot.web import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": db, "WTF_CSRF_ENABLED": True, "PROXY_HOPS": hops})
    attacker, colleague = app.test_client(), app.test_client()  # both arrive from the proxy's address
    for c, ip in ((attacker, "203.0.113.7"), (colleague, "198.51.100.20")):
        c.environ_base["HTTP_X_FORWARDED_FOR"] = ip
    for _ in range(5):
        assert login(attacker, "agente", "wrong-password").status_code == 401
    assert login(attacker, "agente").status_code == 429
    # With RECOBRA_PROXY_HOPS=1 the colleague is another client; with 0 the header is not trusted.
    assert login(colleague, "agente").status_code == (302 if hops else 429)


def test_agent_gets_403_on_user_admin(client, agent):
    login(client, "agente")
    assert client.get("/console/admin/users").status_code == 403
    tok = token(client)
    resp = client.post(
        "/console/admin/users", data={"username": "x", "role": "admin", "password": "x" * 12, "csrf_token": tok}
    )
    assert resp.status_code == 403


def test_manager_gets_403_on_user_admin(client, manager):
    login(client, "gerente")
    assert client.get("/console/admin/users").status_code == 403


def test_admin_creates_and_deactivates_users(client, admin, session):
    from bot.store.models import User

    login(client, "admin")
    page = client.get("/console/admin/users")
    assert page.status_code == 200
    tok = csrf_from(page.get_data(as_text=True))
    resp = client.post(
        "/console/admin/users",
        data={
            "username": "Nuevo",
            "name": "Nuevo Agente",
            "role": "agent",
            "password": "una-clave-larga",
            "csrf_token": tok,
        },
    )
    assert resp.status_code == 302
    user = session.execute(select(User).where(User.username == "nuevo")).scalar_one()
    assert user.role == "agent" and user.active and user.password_hash.startswith("scrypt:")
    short = client.post(
        "/console/admin/users",
        data={"username": "otro", "role": "agent", "password": "corta", "csrf_token": tok},
        follow_redirects=True,
    )
    assert "al menos" in short.get_data(as_text=True)
    resp = client.post(f"/console/admin/users/{user.id}/deactivate", data={"csrf_token": tok})
    assert resp.status_code == 302
    session.expire_all()
    assert session.get(User, user.id).active is False
    me = session.execute(select(User).where(User.username == "admin")).scalar_one()
    client.post(f"/console/admin/users/{me.id}/deactivate", data={"csrf_token": tok})
    session.expire_all()
    assert session.get(User, me.id).active is True


def test_queue_json_lists_handoffs(client, agent, make_handoff):
    make_handoff("D-1", reason="request_human")
    make_handoff(
        "D-2",
        reason="dispute",
        phone="+573001112244",
        invoices=[
            {"external_id": "F1", "amount": "100.00", "currency": "USD", "due_date": "2026-01-10"},
            {"external_id": "F2", "amount": "50000.00", "currency": "COP", "due_date": "2026-01-10"},
        ],
    )
    login(client, "agente")
    data = client.get("/console/api/queue").get_json()
    assert [i["reason"] for i in data["items"]] == ["dispute", "request_human"]
    assert {o["currency"] for o in data["items"][0]["overdue"]} == {"COP", "USD"}
    assert data["poll_seconds"] <= 3


def test_viewing_a_debtor_is_audited(client, agent, make_handoff, session):
    from bot.store.models import AuditLog

    h = make_handoff()
    login(client, "agente")
    page = client.get(f"/console/handoffs/{h.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Quiero hablar con una persona" in html and "Ana María Restrepo" in html
    rows = list(session.execute(select(AuditLog).where(AuditLog.action == "debtor_viewed")).scalars())
    assert len(rows) == 1
    assert rows[0].user_id == agent.id and rows[0].target_id == str(h.debtor_id)
    assert rows[0].details["handoff_id"] == h.id


def test_polling_new_messages_is_audited(client, agent, make_handoff, session):
    from bot.store.models import AuditLog, Message

    h = make_handoff()
    login(client, "agente")
    last = session.execute(select(Message.id).order_by(Message.id.desc()).limit(1)).scalar_one()
    data = client.get(f"/console/api/handoffs/{h.id}/messages?after={last}").get_json()
    assert data["messages"] == [] and data["status"] == "open"
    assert session.execute(select(AuditLog).where(AuditLog.action == "transcript_viewed")).first() is None
    data = client.get(f"/console/api/handoffs/{h.id}/messages?after=0").get_json()
    assert [m["body"] for m in data["messages"]] == ["Hola", "Quiero hablar con una persona"]
    assert session.execute(select(AuditLog).where(AuditLog.action == "transcript_viewed")).first() is not None


def test_claim_reply_give_back_over_http(client, agent, make_handoff, session, redis_client):
    from bot.store.models import Conversation, Handoff, Message

    h = make_handoff()
    login(client, "agente")
    tok = token(client)
    resp = client.post(f"/console/handoffs/{h.id}/claim", data={"csrf_token": tok})
    assert resp.status_code == 302
    session.expire_all()
    assert session.get(Handoff, h.id).status == "claimed"
    resp = client.post(f"/console/handoffs/{h.id}/reply", data={"csrf_token": tok, "body": "Hola Ana, soy Laura."})
    assert resp.status_code == 302
    out = session.execute(select(Message).where(Message.direction == "out")).scalars().all()
    assert [(m.author, m.agent_id, m.body, m.channel) for m in out] == [
        ("agent", agent.id, "Hola Ana, soy Laura.", "whatsapp")
    ]
    assert redis_client.keys("*")  # the send_message job is queued
    resp = client.post(f"/console/handoffs/{h.id}/give-back", data={"csrf_token": tok})
    assert resp.status_code == 302
    session.expire_all()
    assert session.get(Handoff, h.id).status == "closed"
    assert session.get(Conversation, h.conversation_id).mode == "bot"


def test_second_agent_cannot_reply_on_a_claimed_handoff(client, agent, other_agent, make_handoff, session):
    from bot.desk import handoff_queue
    from bot.store.models import Message

    h = make_handoff()
    assert handoff_queue.claim(session, h.id, agent)
    session.commit()
    login(client, "agente2")
    resp = client.post(
        f"/console/handoffs/{h.id}/reply", data={"csrf_token": token(client), "body": "hola"}, follow_redirects=True
    )
    assert "Otra persona atiende" in resp.get_data(as_text=True)
    assert session.execute(select(Message).where(Message.direction == "out")).first() is None


def test_role_required_is_reusable_for_the_dashboard(db, redis_url, agent, manager):
    from flask import Blueprint

    from bot.web import create_app
    from bot.web.auth import csrf_protect, role_required
    from tests.console.helpers import login as sign_in

    app = create_app({"TESTING": True, "DATABASE_URL": db, "WTF_CSRF_ENABLED": True})
    bp = Blueprint("fake_manager", __name__, url_prefix="/manager-test")
    csrf_protect(bp)

    @bp.route("/", methods=["GET", "POST"])
    @role_required("manager", "admin")
    def home():
        return "panel"

    app.register_blueprint(bp)
    client = app.test_client()
    assert client.get("/manager-test/").status_code == 302
    sign_in(client, "agente")
    assert client.get("/manager-test/").status_code == 403
    client = app.test_client()
    sign_in(client, "gerente")
    assert client.get("/manager-test/").get_data(as_text=True) == "panel"
    assert client.post("/manager-test/").status_code == 400  # no CSRF token
    assert client.post("/manager-test/", data={"csrf_token": token(client)}).status_code == 200


def test_debtor_text_is_escaped_and_receipts_are_shown(client, agent, make_handoff, session):
    from bot.store.models import Conversation, Message

    h = make_handoff(texts=("<script>alert(1)</script>",))
    receipts = [
        {"url": "https://api.twilio.com/2010-04-01/Media/ME1", "content_type": "image/jpeg"},
        {"url": "https://api.twilio.com/2010-04-01/Media/ME2", "content_type": "application/pdf"},
    ]
    factories.message(session, session.get(Conversation, h.conversation_id), "debtor", media=receipts)
    session.commit()
    login(client, "agente")
    html = client.get(f"/console/handoffs/{h.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # shown through the console's media view (Twilio's URLs need the account's credentials), never directly
    media_id = session.execute(select(Message.id).where(Message.body == "")).scalar_one()
    assert f'<img src="/console/messages/{media_id}/media/0"' in html and "api.twilio.com" not in html
    assert f'href="/console/messages/{media_id}/media/1"' in html and "application/pdf" in html
    data = client.get(f"/console/api/handoffs/{h.id}/messages").get_json()
    assert data["messages"][-1]["media"][0] == {
        "url": f"/console/messages/{media_id}/media/0",
        "content_type": "image/jpeg",
        "image": True,
    }


def test_quick_actions_over_http(client, manager, make_handoff, session):
    from datetime import date, timedelta

    from bot.store.models import AgentNote, DueDateChange, Invoice, Message, PaymentLink, Promise

    h = make_handoff()
    invoice = session.execute(select(Invoice)).scalar_one()
    login(client, "gerente")
    tok = token(client)
    client.post(f"/console/handoffs/{h.id}/claim", data={"csrf_token": tok})
    resp = client.post(
        f"/console/handoffs/{h.id}/link", data={"csrf_token": tok, "invoice_id": invoice.id, "amount": ""}
    )
    assert resp.status_code == 302
    link = session.execute(select(PaymentLink)).scalar_one()
    assert link.amount == invoice.balance
    assert f"/p/{link.short_code}" in session.execute(select(Message.body).where(Message.direction == "out")).scalar()
    when = (date.today() + timedelta(days=4)).isoformat()
    client.post(
        f"/console/handoffs/{h.id}/promise",
        data={"csrf_token": tok, "invoice_id": invoice.id, "promised_date": when, "amount": "1000"},
    )
    assert session.execute(select(Promise.source)).scalar_one() == "agent"
    resp = client.post(
        f"/console/handoffs/{h.id}/due-date",
        data={"csrf_token": tok, "invoice_id": invoice.id, "new_date": "2027-06-01"},
        follow_redirects=True,
    )
    assert "La política no permite el cambio" in resp.get_data(as_text=True)
    client.post(
        f"/console/handoffs/{h.id}/due-date",
        data={
            "csrf_token": tok,
            "invoice_id": invoice.id,
            "new_date": "2027-06-01",
            "override_reason": "Acuerdo con la empresa",
        },
    )
    assert session.execute(select(DueDateChange.changed_by)).scalar_one() == "manager"
    client.post(f"/console/handoffs/{h.id}/note", data={"csrf_token": tok, "body": "Llamar el lunes"})
    page = client.get(f"/console/handoffs/{h.id}").get_data(as_text=True)
    assert "Llamar el lunes" in page and "Acuerdo con la empresa" in page
    assert {n.kind for n in session.execute(select(AgentNote)).scalars()} == {"note", "override"}


def test_unknown_number_handoff(client, agent, session):
    from bot.conversation import handoffs

    h, _ = handoffs.open(session, "+573009998877", None, "fallback")
    session.commit()
    login(client, "agente")
    item = client.get("/console/api/queue").get_json()["items"][0]
    assert item["debtor_name"] == "Número desconocido" and item["overdue"] == []
    assert client.get(f"/console/handoffs/{h.id}").status_code == 200


def test_missing_handoff_is_404(client, agent):
    login(client, "agente")
    assert client.get("/console/handoffs/424242").status_code == 404


def test_the_agent_sees_the_options_the_bot_offered_and_a_tapped_button(client, agent, make_handoff, session):
    """Issue #27 §2: on WhatsApp the options are buttons, not text: the transcript names them, and marks an answer
    that was a tap."""
    from bot.store.models import Conversation

    h = make_handoff()
    conv = session.get(Conversation, h.conversation_id)
    offered = [{"title": "Sí", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
    question = factories.message(session, conv, "bot", "¿Le envío el link?", status="read", choices=offered)
    factories.message(session, conv, "debtor", "Sí", button_payload=f"c{question.id}.1")
    session.commit()
    login(client, "agente")
    data = client.get(f"/console/api/handoffs/{h.id}/messages?after=0").get_json()
    asked, tapped = data["messages"][-2:]
    assert (asked["choices"], asked["tapped"]) == (["Sí", "No"], False)
    assert (tapped["choices"], tapped["tapped"]) == ([], True)
    html = client.get(f"/console/handoffs/{h.id}").get_data(as_text=True)
    assert 'Opciones: <span class="tag">Sí</span> <span class="tag">No</span>' in html and ">botón<" in html
