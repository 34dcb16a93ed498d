"""The manager pages over HTTP: access control, the list, the transcript (audited), tags, flags, exports."""

from __future__ import annotations

import re

import pytest
import yaml
from sqlalchemy import select

from tests import factories
from tests.console.helpers import csrf_from, login

NOV = "from=2026-11-01&to=2026-11-30"
PAGES = [
    "/manager/",
    f"/manager/conversations?{NOV}",
    "/manager/conversations.csv",
    "/manager/export",
    f"/manager/offers?{NOV}",
    "/manager/export/messages.csv",
    "/manager/flags/export.yml",
    f"/manager/ab?{NOV}",
    f"/manager/ab/fragment?{NOV}",
    f"/manager/ab.csv?{NOV}",
]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_goes_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/console/login" in response.headers["Location"]


@pytest.mark.parametrize("path", PAGES)
def test_agents_are_forbidden(client, agent, path):
    login(client, "agente")
    assert client.get(path).status_code == 403


def test_agent_cannot_open_a_transcript_or_tag(client, agent, history):
    login(client, "agente")
    conv = history["convs"]["MX-1"]
    assert client.get(f"/manager/conversations/{conv.id}").status_code == 403
    assert client.post(f"/manager/conversations/{conv.id}/tags", data={"tag": "x"}).status_code in (400, 403)


@pytest.mark.parametrize("who", ["manager", "admin"])
def test_managers_and_admins_see_every_page(client, manager, admin, history, who):
    login(client, "gerente" if who == "manager" else "admin")
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store"
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_list_filters_and_links(client, manager, history):
    login(client, "gerente")
    html = client.get(f"/manager/conversations?{NOV}&country=MX&outcome=promise_broken").get_data(as_text=True)
    assert "Deudor MX-1" in html and "Deudor MX-2" not in html
    assert 'id="total">1 en el periodo' in html
    html = client.get(f"/manager/conversations?{NOV}&q=cuanto").get_data(as_text=True)
    assert "Deudor MX-1" in html and "<mark>Hola, ¿cuánto debo?</mark>" in html
    assert "<script>" not in html  # no inline scripts (CSP)


def test_dashboard_figures_link_to_the_list(client, manager, history):
    login(client, "gerente")
    html = client.get(f"/manager/?{NOV}&country=MX").get_data(as_text=True)
    assert "Perdió el empleo" in html
    m = re.search(r'id="fig-promise_kept" href="([^"]+)">\s*<span class="value">(\d+)</span>', html)
    assert m and m.group(2) == "1"
    listed = client.get(m.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert 'id="total">1 en el periodo' in listed and "Deudor MX-2" in listed
    assert "$1,500" in html or "1,500" in html


def test_ab_results_have_their_own_page_fragment_and_csv(client, manager, history):
    login(client, "gerente")
    dashboard = client.get(f"/manager/?{NOV}&country=MX").get_data(as_text=True)
    # The dashboard does not wait for the A/B table: it loads it (manager.js), with a plain link without JS.
    assert 'data-variant="A"' not in dashboard
    m = re.search(r'id="ab" data-fragment="([^"]+)"', dashboard)
    assert m and "country=MX" in m.group(1) and "fresh" not in m.group(1)
    # "recalcular" recomputes the A/B tables too, not only the figures around them
    fresh = client.get(f"/manager/?{NOV}&country=MX&fresh=1").get_data(as_text=True)
    assert "fresh=1" in re.search(r'id="ab" data-fragment="([^"]+)"', fresh).group(1)
    link = re.search(r'id="ab-link" href="([^"]+)"', dashboard).group(1).replace("&amp;", "&")
    assert link.startswith("/manager/ab?") and "country=MX" in link
    for path in (f"/manager/ab?{NOV}", f"/manager/ab/fragment?{NOV}"):
        html = client.get(path).get_data(as_text=True)
        assert 'data-variant="A"' in html and 'data-variant="B"' in html and "preventiva" in html
        # "The conversations behind this number": the list with the same filters plus the variant.
        behind = re.search(r'<tr data-variant="B">.*?href="([^"]+)"', html, re.S).group(1).replace("&amp;", "&")
        assert "campaign=preventiva" in behind and "variant=B" in behind
        listed = client.get(behind).get_data(as_text=True)
        assert 'id="total">2 en el periodo' in listed
        csv_link = re.search(r'id="ab-csv" href="([^"]+)"', html).group(1).replace("&amp;", "&")
        assert csv_link.startswith("/manager/ab.csv?") and "from=2026-11-01" in csv_link
    assert "<html" not in client.get(f"/manager/ab/fragment?{NOV}").get_data(as_text=True)
    response = client.get(f"/manager/ab.csv?{NOV}")
    assert response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("campaign,variant,reached,replied")
    assert lines[1].startswith("preventiva,A,2,1,50.0,1,50.0,0,0.0,")
    assert lines[2].startswith("preventiva,B,2,2,100.0,1,50.0,2,100.0,200000.00 COP 1500.00 MXN,")


def test_transcript_shows_intents_masks_and_is_audited(client, manager, history, session):
    from bot.store.models import AuditLog

    login(client, "gerente")
    conv = history["convs"]["MX-1"]
    html = client.get(f"/manager/conversations/{conv.id}").get_data(as_text=True)
    assert "check_balance" in html and "91 %" in html and "reason=job_loss" in html
    assert "4111-1111" not in html and "••••••••••••1234" in html
    assert "2026-11-05 10:05" in html  # Bogotá time
    assert "incumplida" in html
    entry = session.execute(select(AuditLog).where(AuditLog.action == "transcript_viewed")).scalar_one()
    assert entry.actor == "gerente" and entry.target_id == str(conv.id)
    # The manager's own time zone.
    token = csrf_from(html)
    client.post("/manager/timezone", data={"tz": "America/Mexico_City", "csrf_token": token})
    assert "2026-11-05 09:05" in client.get(f"/manager/conversations/{conv.id}").get_data(as_text=True)


def test_tags_and_tag_filter(client, manager, history, session):
    from bot.store.models import Conversation

    login(client, "gerente")
    conv = history["convs"]["CO-1"]
    token = csrf_from(client.get(f"/manager/conversations/{conv.id}").get_data(as_text=True))
    assert client.post(f"/manager/conversations/{conv.id}/tags", data={"tag": "buen ejemplo"}).status_code == 400
    client.post(f"/manager/conversations/{conv.id}/tags", data={"tag": "Buen ejemplo", "csrf_token": token})
    session.expire_all()
    assert session.get(Conversation, conv.id).tags == ["buen ejemplo"]
    html = client.get(f"/manager/conversations?{NOV}&tag=buen+ejemplo").get_data(as_text=True)
    assert 'id="total">1 en el periodo' in html and "Deudor CO-1" in html
    client.post(
        f"/manager/conversations/{conv.id}/tags", data={"tag": "buen ejemplo", "action": "remove", "csrf_token": token}
    )
    session.expire_all()
    assert session.get(Conversation, conv.id).tags == []


def test_flag_a_bot_reply_and_export_nlu(client, manager, history, session):
    from bot.store.models import Message, MessageFlag

    login(client, "gerente")
    conv = history["convs"]["MX-1"]
    reply = session.execute(
        select(Message).where(Message.conversation_id == conv.id, Message.body.like("Lo siento%"))
    ).scalar_one()
    token = csrf_from(client.get(f"/manager/conversations/{conv.id}").get_data(as_text=True))
    client.post(
        f"/manager/messages/{reply.id}/flag",
        data={"expected_intent": "report_nonpayment_reason", "note": "ok", "csrf_token": token},
    )
    flag = session.execute(select(MessageFlag)).scalar_one()
    debtor_msg = session.get(Message, flag.debtor_message_id)
    assert debtor_msg.body.startswith("me quedé sin trabajo")
    response = client.get("/manager/flags/export.yml")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    data = yaml.safe_load(text)
    assert data["version"] == "3.1"
    [block] = data["nlu"]
    assert block["intent"] == "report_nonpayment_reason"
    assert block["examples"].strip() == "- me quedé sin trabajo, mi tarjeta es ••••••••••••1234"


def test_csv_export_of_the_filtered_list(client, manager, history):
    login(client, "gerente")
    response = client.get(f"/manager/conversations.csv?{NOV}&country=MX")
    assert response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert len(lines) == 3 and "MX-1" in lines[1] + lines[2]
    assert client.get("/manager/export/users.csv").status_code == 404


def test_transcript_names_the_options_offered_and_a_tapped_answer(client, manager, history, session):
    """Issue #27 §2: on WhatsApp the options are buttons, not text: the manager reads them in the transcript."""
    from bot.store.models import Message

    conv = history["convs"]["MX-1"]
    last = (
        session.execute(select(Message).where(Message.conversation_id == conv.id).order_by(Message.id.desc()))
        .scalars()
        .first()
    )
    offered = [{"title": "Sí", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
    at = last.created_at
    question = factories.message(
        session, conv, "bot", "¿Le envío el link?", status="read", choices=offered, created_at=at
    )
    tap = {"button_payload": f"c{question.id}.2", "intent": "deny", "confidence": 1.0}
    factories.message(session, conv, "debtor", "No", created_at=at, **tap)
    session.commit()
    login(client, "gerente")
    html = client.get(f"/manager/conversations/{conv.id}").get_data(as_text=True)
    assert 'Opciones: <span class="tag">Sí</span> <span class="tag">No</span>' in html
    assert '<span class="tag">botón</span>' in html
