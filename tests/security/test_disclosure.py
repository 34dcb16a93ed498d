# ruff: noqa: F811 - fixtures imported from other conftests are parameters of the tests
"""Issue 22, part 3: nothing about a debt before verification, on any path.

Templates and campaign texts carry no name, amount or date; payment results tell details only to a debtor
verified in the open conversation; phones, card numbers and identity answers are masked the same way
everywhere; bearer codes stay out of the access log; a revoked certificate's PDF is not served.
"""

from __future__ import annotations

import io
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.messaging.sms import transliterate
from bot.store.models import AuditLog, Conversation, Handoff, Message, PaymentLink
from tests import factories
from tests.console.conftest import agent, make_handoff, make_user, manager  # noqa: F401  (fixtures)
from tests.console.helpers import login
from tests.payments.conftest import debtor_with_link, mercadopago_mode, mp_api, verify_debtor  # noqa: F401
from tests.worker.doubles import inbound_params, post_inbound, rasa_double, sandbox_provider  # noqa: F401

PHONE = "+573001112233"
CARD = "4111 1111 1111 1111"
DEBTOR_VALUES = {
    "name": "Ana",
    "business": "Financiera Aurora",
    "due_date": "10/12/2026",
    "promised_date": "12/12/2026",
    "amount": "$ 185.000",
}


def _outbound(session) -> list[str]:
    session.expire_all()
    return [
        m.body
        for m in session.execute(select(Message).where(Message.direction == "out").order_by(Message.id)).scalars()
    ]


# --- 1. templates and campaign texts --------------------------------------------------------------------------
def test_no_whatsapp_template_carries_a_name_amount_or_date():
    from bot.messaging import templates

    loaded = templates.load_templates()
    assert {"reengage", "payment_reminder", "overdue_notice", "promise_followup", "agent_followup"} <= set(loaded)
    for t in loaded.values():
        text = t.render(t.content_variables(DEBTOR_VALUES))
        assert "Financiera Aurora" in text and "{{" not in text, t.name
        assert "Ana" not in text and not re.search(r"\d", text), (t.name, text)


def test_a_template_with_a_debtor_variable_is_refused(tmp_path: Path):
    from bot.messaging import templates

    path = tmp_path / "templates.yml"
    path.write_text(
        "templates:\n  reengage:\n    content_sid: HX" + "0" * 31 + "1\n    variables: [name, business]\n"
        "    preview: 'Hola {{1}}, le escribe {{2}}.'\n",
        encoding="utf-8",
    )
    with pytest.raises(templates.TemplateError, match="name"):
        templates.load_templates(str(path))


def test_campaign_texts_use_only_the_sender_and_tell_nothing_agreed():
    from bot.outreach import campaigns

    config = campaigns.load()
    texts = [v.text for c in config.campaigns for s in c.stages for v in s.variants]
    texts += [v.text for v in config.followups.values()]
    assert texts
    for text in texts:
        rendered = text.format(business="Financiera Aurora")
        assert not re.search(r"\d", rendered), rendered
        for word in ("mañana", "ayer", "acordamos", "vence", "gestión especializada"):
            assert word not in rendered.lower(), rendered
    with pytest.raises(campaigns.CampaignConfigError):
        campaigns.check_text("D0", "{business}: Hola {name}, su saldo es {amount}")


def test_reopening_whatsapp_outside_the_window_does_not_name_the_debtor(session, make_debtor, sandbox_provider):
    from bot.conversation import handoffs
    from bot.messaging import outbox

    debtor = make_debtor("CO-1", phone=PHONE)
    debtor.contact_status = "landline"  # no SMS: only a template can go out
    conv = handoffs.get_or_create_conversation(session, PHONE, debtor)
    conv.last_channel = "whatsapp"
    conv.last_whatsapp_inbound_at = datetime.now(timezone.utc) - timedelta(days=2)
    session.commit()
    rows = outbox.prepare_text(session, conv, "Ana, su saldo es $ 185.000", author="agent")
    template = rows[-1]
    assert template.content_sid and template.status == "pending"
    assert "Ana" not in template.body and "Ana" not in str(template.content_variables)


# --- 2. payment results ---------------------------------------------------------------------------------------
def test_approved_payment_to_an_unverified_phone_tells_no_detail(
    mercadopago_mode,
    session,
    debtor_with_link,
    redis_client,
):
    from bot.worker.payments import process_payment

    debtor, inv, link = debtor_with_link(verified=False)
    mercadopago_mode.add_payment("9001", link.reference, "185000.00")
    outcome = process_payment("9001")
    assert outcome.action == "applied" and outcome.settlement_code  # the account is settled all the same
    (text,) = _outbound(session)  # one message: no certificate link
    assert "recibimos un pago" in text and "4 digitos del documento" in transliterate(text)
    for secret in ("Ana", "185", inv.external_id, "/certificados/", outcome.settlement_code):
        assert secret not in text


def test_a_verification_from_an_expired_session_does_not_count(
    mercadopago_mode,
    session,
    debtor_with_link,
    verify_debtor,
    redis_client,
):
    from bot.worker.payments import process_payment

    debtor, inv, link = debtor_with_link(verified=False)
    verify_debtor(debtor, at=datetime.now(timezone.utc) - timedelta(minutes=90))  # Rasa's session (60) is over
    mercadopago_mode.add_payment("9002", link.reference, "40000.00")
    process_payment("9002")
    (text,) = _outbound(session)
    assert "recibimos un pago" in text and "145.000" not in text and "Ana" not in text


def test_a_session_kept_alive_by_messages_still_counts(session, make_debtor, verify_debtor):
    from bot.conversation import disclosure, handoffs

    debtor = make_debtor("CO-1", phone=PHONE)
    now = datetime.now(timezone.utc)
    verify_debtor(debtor, at=now - timedelta(minutes=100))
    conv = handoffs.get_or_create_conversation(session, PHONE, debtor)
    for minutes in (50, 5):  # never 60 minutes of silence since the check
        factories.message(
            session, conv, "debtor", "ok", channel="whatsapp", created_at=now - timedelta(minutes=minutes)
        )
    session.commit()
    assert disclosure.verified_conversation(session, debtor, now)
    assert not disclosure.verified_conversation(session, debtor, now + timedelta(minutes=61))


def test_rejected_and_pending_payments_to_an_unverified_phone(
    mercadopago_mode,
    session,
    debtor_with_link,
    redis_client,
):
    from bot.worker.payments import process_payment

    debtor, inv, link = debtor_with_link(verified=False)
    mercadopago_mode.add_payment(
        "9003", link.reference, "185000.00", status="rejected", status_detail="cc_rejected_insufficient_amount"
    )
    assert process_payment("9003").action == "rejected"
    mercadopago_mode.add_payment(
        "9004",
        link.reference,
        "185000.00",
        status="pending",
        status_detail="pending",
        method="efecty",
        payment_type="ticket",
    )
    process_payment("9004")
    rejected, pending = _outbound(session)
    assert "no se pudo completar" in rejected and "en proceso" in pending
    for text in (rejected, pending):
        assert "/p/" not in text and "185" not in text and "Ana" not in text and "fondos" not in text
    assert session.execute(select(PaymentLink).where(PaymentLink.status == "active")).first()  # kept for later


# --- 3. masking ------------------------------------------------------------------------------------------------
def test_one_phone_mask_everywhere():
    from bot.desk import display
    from bot.platform import masking
    from bot.review import masks

    assert display.mask_phone(PHONE) == masks.mask_phone(PHONE) == masking.mask_phone(PHONE) == "+57••••••2233"
    assert masking.mask_phone("whatsapp:+5215512345678") == "+52•••••••5678"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mi tarjeta es 4111 1111 1111 1111 gracias", "mi tarjeta es [tarjeta oculta] gracias"),
        ("5500-0000-0000-0004", "[tarjeta oculta]"),
        ("378282246310005 y ya", "[tarjeta oculta] y ya"),
        ("4111111111111112", "4111111111111112"),  # fails the Luhn check: not a card
        ("pagué 1.250.000 el 10/12", "pagué 1.250.000 el 10/12"),
        ("mi número +57 300 111 2233", "mi número +57 300 111 2233"),
    ],
)
def test_card_numbers(text, expected):
    from bot.platform import masking

    assert masking.mask_cards(text) == expected


def test_a_card_number_is_masked_before_it_is_stored_or_reaches_rasa(
    client,
    session,
    make_debtor,
    rasa_double,
    sandbox_provider,
):
    from bot.platform.queue import Job
    from bot.worker.inbound import handle_inbound

    make_debtor("CO-1", phone=PHONE)
    assert post_inbound(client, inbound_params(PHONE, f"le pago con la {CARD}, vence 12/29")).status_code == 200
    stored = session.execute(select(Message).where(Message.direction == "in")).scalar_one()
    handle_inbound(Job(id="1-0", partition=0, key=PHONE, kind="inbound_message", payload={"message_id": stored.id}))
    session.expire_all()
    assert session.get(Message, stored.id).body == "le pago con la [tarjeta oculta], vence 12/29"
    [call] = rasa_double.calls
    assert "1111" not in call["message"] and "[tarjeta oculta]" in call["message"]


def test_identity_answers_are_kept_masked_and_managers_never_see_them(
    app,
    client,
    session,
    make_debtor,
    rasa_double,
    sandbox_provider,
    manager,
):
    """The debtor answers the identity question; Rasa checks it (the audit records it); what the store keeps,
    the manager's transcript and every export show no digits of the document."""
    from bot.platform.queue import Job
    from bot.store import audit
    from bot.store.db import get_sessionmaker
    from bot.worker.inbound import handle_inbound

    debtor = make_debtor("CO-1", phone=PHONE)

    def rasa_checks_the_digits(payload: dict) -> list[dict]:
        with get_sessionmaker()() as s:
            audit.record(s, actor="bot", action="identity_verified", target_type="debtor", target_id=debtor.id)
            s.commit()
        return [{"recipient_id": payload["sender"], "text": "Gracias, ya verifiqué su identidad."}]

    rasa_double.reply = rasa_checks_the_digits
    post_inbound(client, inbound_params(PHONE, "termina en 48 21"))
    mid = session.execute(select(Message.id).where(Message.direction == "in")).scalar_one()
    handle_inbound(Job(id="1-0", partition=0, key=PHONE, kind="inbound_message", payload={"message_id": mid}))
    session.expire_all()
    stored = session.get(Message, mid)
    assert stored.body == "termina en ••••" and rasa_double.calls[0]["message"] == "termina en 48 21"
    # an answer stored before this change (raw) is still hidden from managers
    conv = session.get(Conversation, stored.conversation_id)
    digits = [{"entity": "document_digits", "value": "4821"}]
    said = {"debtor_id": debtor.id, "channel": "whatsapp", "created_at": datetime.now(timezone.utc)}
    factories.message(session, conv, "debtor", "es 4821", entities=digits, **said)
    session.commit()

    login(client, "gerente")
    page = client.get(f"/manager/conversations/{stored.conversation_id}").get_data(as_text=True)
    assert "es ••••" in page and not re.search(r"(?<!\d)48 ?21(?!\d)", page)
    for table in ("messages", "debtors", "settlements", "audit_log"):
        csv = client.get(f"/manager/export/{table}.csv").get_data(as_text=True)
        assert not re.search(r"(?<!\d)48 ?21(?!\d)", csv), table  # (a timestamp's microseconds may hold 4821)
        assert "document_last4" not in csv.splitlines()[0], table
    listed = client.get("/manager/conversations.csv").get_data(as_text=True)
    assert not re.search(r"(?<!\d)48 ?21(?!\d)", listed) and "3001112233" not in listed


def test_the_agent_console_hides_identity_answers_of_a_failed_check(client, session, make_handoff, agent):
    handoff = make_handoff(reason="failed_verification", texts=("1234", "5678", "es 4821"))
    session.get(Handoff, handoff.id).summary = "Motivo: failed_verification | Últimos mensajes: 1234 / 5678 / es 4821"
    for m in session.execute(select(Message).where(Message.direction == "in")).scalars():
        m.entities = [{"entity": "document_digits", "value": m.body[-4:]}]
    session.commit()
    login(client, "agente")
    client.post(f"/console/handoffs/{handoff.id}/claim", data={"csrf_token": _csrf(client)})
    page = client.get(f"/console/handoffs/{handoff.id}").get_data(as_text=True)
    assert "es ••••" in page
    for digits in ("1234", "5678", "4821", "3001112233"):
        assert not re.search(rf"(?<!\d){digits}(?!\d)", page), digits


def _csrf(client) -> str:
    from tests.console.helpers import csrf_from

    return csrf_from(client.get("/console/").get_data(as_text=True))


# --- 4. access log and revoked certificates ----------------------------------------------------------------------
class _Resp:
    status = "200 OK"
    sent = 10
    headers: list = []


def _access_line(path: str, query: str = "", referer: str = "-") -> str:
    from gunicorn.config import Config

    from bot.web.access_log import RedactingLogger

    cfg = Config()
    logger = RedactingLogger(cfg)
    stream = io.StringIO()
    import logging

    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.access_log.handlers = [handler]
    logger.access_log.setLevel(logging.INFO)
    logger._access_log_enabled = True
    raw = path + ("?" + query if query else "")
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": raw,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_REFERER": referer,
    }
    logger.access(_Resp(), {"Referer": referer}, environ, timedelta(milliseconds=5))
    return stream.getvalue()


@pytest.mark.parametrize(
    ("path", "query", "secret"),
    [
        ("/p/Xk3Fq9Lm2P", "", "Xk3Fq9Lm2P"),
        ("/certificados/ABCDEFGHJKLM.pdf", "", "ABCDEFGHJKLM"),
        ("/certificados/verificar", "code=ABCDEFGHJKLM", "ABCDEFGHJKLM"),
        ("/sandbox/checkout/RC7f3a9c2d", "", "RC7f3a9c2d"),
        ("/pago/exito", "payment_id=1&external_reference=RC7f3a9c2d", "RC7f3a9c2d"),
    ],
)
def test_bearer_codes_stay_out_of_the_access_log(path, query, secret):
    line = _access_line(path, query, referer=f"https://example.com/p/{secret}")
    assert "GET" in line and "200" in line and "[redactado]" in line
    assert secret not in line


def test_the_web_command_runs_gunicorn_with_the_redacting_logger(monkeypatch):
    from click.testing import CliRunner

    import bot.__main__ as main

    seen: list[tuple[list[str], dict[str, str]]] = []
    monkeypatch.setattr("os.execvpe", lambda exe, argv, env: seen.append((argv, env)))
    CliRunner().invoke(main.cli, ["web", "--port", "8999"], catch_exceptions=False)
    ((argv, env),) = seen
    assert argv[argv.index("--logger-class") + 1] == "bot.web.access_log.RedactingLogger"
    # gunicorn's processes add up their metrics in a private folder of this edge's own (bot/web/gunicorn_conf.py)
    assert argv[argv.index("--config") + 1] == "python:bot.web.gunicorn_conf"
    assert env["PROMETHEUS_MULTIPROC_DIR"].endswith("prometheus/web-8999")
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ  # this process's own metrics stay its own


def test_a_revoked_certificate_is_not_served(mercadopago_mode, app, session, debtor_with_link, redis_client):
    from bot.worker.payments import process_payment

    debtor, inv, link = debtor_with_link()
    mercadopago_mode.add_payment("9101", link.reference, "185000.00")
    code = process_payment("9101").settlement_code
    client = app.test_client()
    assert client.get(f"/certificados/{code}.pdf").mimetype == "application/pdf"
    mercadopago_mode.add_payment("9101", link.reference, "185000.00", status="refunded", status_detail="refunded")
    process_payment("9101")
    resp = client.get(f"/certificados/{code}.pdf")
    assert resp.status_code == 410 and not resp.data.startswith(b"%PDF")
    assert "anulado" in resp.get_data(as_text=True) and resp.headers["Cache-Control"] == "private, no-store"
    assert session.execute(select(AuditLog).where(AuditLog.action == "settlement_revoked")).first()
