"""Agents within the contact law too (issue #27 §7): an agent's reply, its SMS fallback and the system's own
notices pass the same per-country rules as campaign sends; outside the debtor's hours they are held, shown in
the console with the moment they will go, and sent by the worker (once) when the window opens."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.desk import commands, handoff_queue
from bot.desk.access import DeskError
from bot.messaging import contact_gate, held, outbox
from bot.store.models import AgentNote, AuditLog, Conversation, Debtor, Invoice, Message
from bot.worker import outbound
from tests.console.helpers import login, token

BOGOTA = ZoneInfo("America/Bogota")
MEXICO = ZoneInfo("America/Mexico_City")
PHONE = "+573001112233"


@pytest.fixture()
def clock(monkeypatch):
    """One clock for the gate, the outbox's WhatsApp window and the worker's release."""
    moment = {"now": datetime(2026, 11, 24, 21, 0, tzinfo=BOGOTA)}  # Tuesday 21:00 in Bogotá: after hours

    def now() -> datetime:
        return moment["now"].astimezone(timezone.utc)

    monkeypatch.setattr(contact_gate, "utcnow", now)
    monkeypatch.setattr(outbox, "utcnow", now)
    return moment


def _claimed(session, make_handoff, user, clock, wrote_minutes_ago: float = 180, whatsapp_hours_ago=None, **debtor):
    """A hand-off the agent holds; the debtor last wrote ``wrote_minutes_ago`` before the clock."""
    h = make_handoff(**debtor)
    conv = session.get(Conversation, h.conversation_id)
    conv.last_inbound_at = clock["now"] - timedelta(minutes=wrote_minutes_ago)
    hours = wrote_minutes_ago / 60 if whatsapp_hours_ago is None else whatsapp_hours_ago
    conv.last_whatsapp_inbound_at = clock["now"] - timedelta(hours=hours)
    handoff_queue.claim(session, h.id, user)
    session.commit()
    return h


def _out(session) -> list[Message]:
    session.commit()  # a fresh read: the workers wrote in their own sessions
    session.expire_all()
    return list(session.execute(select(Message).where(Message.direction == "out").order_by(Message.id)).scalars())


def _send_all(session, conversation_id: int) -> None:
    session.commit()
    session.expire_all()
    outbox.deliver_pending(session, conversation_id)


def test_agent_reply_after_hours_is_held_shown_and_sent_when_the_window_opens(
    session, make_handoff, agent, clock, sandbox_provider, redis_client, client
):
    h = _claimed(session, make_handoff, agent, clock)
    rows = commands.reply(session, h, agent, "Hola Ana, mañana revisamos tu caso.")
    session.commit()
    [row] = _out(session)
    opens = datetime(2026, 11, 25, 7, 0, tzinfo=BOGOTA)  # Wednesday 07:00, Ley 2300's first hour
    assert (row.status, row.hold_until, row.contact_kind) == ("held", opens, "contact")
    assert "25/11/2026 07:00" in (commands.held_notice(rows, session.get(Debtor, h.debtor_id)) or "")
    _send_all(session, h.conversation_id)  # a send job now sends nothing
    assert sandbox_provider.outbox(PHONE) == []
    assert outbound.release_held() == 0  # its time has not come

    login(client, "agente")
    page = client.get(f"/console/handoffs/{h.id}").get_data(as_text=True)
    assert "Retenido por las reglas de contacto" in page and "2026-11-25T12:00:00Z" in page  # 07:00 in Bogotá
    polled = client.get(f"/console/api/handoffs/{h.id}/messages").get_json()["messages"]
    assert [(m["status"], m["hold_until"]) for m in polled if m["direction"] == "out"] == [
        ("held", "2026-11-25T12:00:00Z")
    ]

    clock["now"] = opens + timedelta(minutes=1)
    assert outbound.release_held() == 1
    assert redis_client.keys("*")  # its send job is queued
    _send_all(session, h.conversation_id)
    assert [m["body"] for m in sandbox_provider.outbox(PHONE)] == ["Hola Ana, mañana revisamos tu caso."]
    [row] = _out(session)
    assert row.status != "held" and row.provider_sid


def test_an_answer_within_minutes_goes_where_the_country_allows_it(session, make_handoff, agent, clock):
    # Mexico (replies_outside_hours: true): the debtor wrote at 22:05, after CONDUSEF's 22:00; the agent answers.
    clock["now"] = datetime(2026, 11, 24, 22, 10, tzinfo=MEXICO)
    h = _claimed(
        session,
        make_handoff,
        agent,
        clock,
        wrote_minutes_ago=5,
        phone="+5215512342201",
        country="MX",
        timezone="America/Mexico_City",
    )
    commands.reply(session, h, agent, "Claro, te ayudo ahora.")
    session.commit()
    assert [(m.status, m.contact_kind) for m in _out(session)] == [("pending", "answer")]


def test_an_answer_after_hours_is_held_where_the_country_does_not_allow_it(session, make_handoff, agent, clock):
    # Colombia (replies_outside_hours: false): the debtor wrote at 19:50, the agent answers at 19:55.
    clock["now"] = datetime(2026, 11, 24, 19, 55, tzinfo=BOGOTA)
    h = _claimed(session, make_handoff, agent, clock, wrote_minutes_ago=5)
    commands.reply(session, h, agent, "Claro, te ayudo.")
    session.commit()
    [row] = _out(session)
    assert row.status == "held" and row.hold_until == datetime(2026, 11, 25, 7, 0, tzinfo=BOGOTA)


def test_answers_in_hours_are_not_capped_but_agent_follow_ups_are(session, make_handoff, agent, clock):
    clock["now"] = datetime(2026, 11, 24, 10, 0, tzinfo=BOGOTA)
    h = _claimed(session, make_handoff, agent, clock, wrote_minutes_ago=2)
    commands.reply(session, h, agent, "Hola Ana.")
    commands.reply(session, h, agent, "¿En qué te ayudo?")  # a live conversation: answers, not contacts
    session.commit()
    assert [(m.status, m.contact_kind) for m in _out(session)] == [("pending", "answer"), ("pending", "answer")]

    clock["now"] = datetime(2026, 11, 24, 11, 0, tzinfo=BOGOTA)  # the debtor went quiet: a follow-up is a contact
    commands.reply(session, h, agent, "Ana, ¿pudiste revisar?")
    commands.reply(session, h, agent, "Te dejo el enlace cuando quieras.")  # the same burst: one contact
    session.commit()
    assert [(m.status, m.contact_kind) for m in _out(session)[2:]] == [("pending", "contact")] * 2

    clock["now"] = datetime(2026, 11, 24, 15, 0, tzinfo=BOGOTA)  # Colombia: once a day
    commands.reply(session, h, agent, "Ana, sigo atento.")
    session.commit()
    last = _out(session)[-1]
    assert last.status == "held" and last.hold_until == datetime(2026, 11, 25, 7, 0, tzinfo=BOGOTA)
    assert contact_gate.check(
        session, session.get(Conversation, h.conversation_id), session.get(Debtor, h.debtor_id), "bot", "whatsapp"
    ).reasons == ("daily_cap",)  # and the campaign's send that day sees the agent's contact too


def test_the_sms_fallback_of_an_agent_message_is_gated(session, make_handoff, agent, clock, sandbox_provider):
    h = _claimed(session, make_handoff, agent, clock, whatsapp_hours_ago=30)  # WhatsApp's window closed
    commands.reply(session, h, agent, "Hola Ana, te escribo por SMS.")
    session.commit()
    [row] = _out(session)
    assert (row.channel, row.status) == ("sms", "held")
    _send_all(session, h.conversation_id)
    assert sandbox_provider.outbox(PHONE) == []


def test_a_held_whatsapp_message_whose_window_closed_meanwhile_goes_by_sms(session, make_handoff, agent, clock):
    h = _claimed(session, make_handoff, agent, clock, whatsapp_hours_ago=20)
    commands.reply(session, h, agent, "Hola Ana.")
    session.commit()
    assert [(m.channel, m.status) for m in _out(session)] == [("whatsapp", "held")]
    clock["now"] = datetime(2026, 11, 25, 7, 5, tzinfo=BOGOTA)  # 30 hours after the debtor's last WhatsApp
    assert held.release(session, h.conversation_id).sent == 1
    assert [(m.channel, m.status, m.error_code) for m in _out(session)] == [
        ("whatsapp", "cancelled", "rerouted"),
        ("sms", "pending", None),
    ]


def test_a_held_question_rerouted_to_sms_keeps_its_options_numbered_once(session, make_debtor, clock):
    """A bot follow-up with choices held overnight goes by SMS when WhatsApp's window closed: its options are
    numbered in the text (once, even where the WhatsApp text listed them) and a bare number still answers."""
    from bot.conversation import handoffs

    debtor = make_debtor("D-8", phone=PHONE)
    conv = handoffs.get_or_create_conversation(session, PHONE, debtor)
    conv.last_channel, conv.last_whatsapp_inbound_at = "whatsapp", clock["now"] - timedelta(hours=20)
    invoices = [
        {"title": "Televisor LG ($300.000)", "payload": '/inform{"invoice":"F-2026-009"}'},
        {"title": "Celular Samsung ($120.000)", "payload": '/inform{"invoice":"F-2026-014"}'},
    ]
    [row] = outbox.prepare_text(session, conv, "¿De cuál factura se trata? Responda con el número:", choices=invoices)
    session.commit()
    assert row.status == "held" and row.body.count("1. Televisor LG") == 1  # a list picker: numbered in the text
    clock["now"] = datetime(2026, 11, 25, 7, 5, tzinfo=BOGOTA)
    assert held.release(session, conv.id).sent == 1
    sms = [m for m in _out(session) if m.channel == "sms"]
    assert len(sms) == 1 and sms[0].choices == invoices
    assert sms[0].body.count("1. Televisor LG ($300.000)") == 1 and sms[0].body.count("2. Celular Samsung") == 1


def test_a_system_notice_is_gated(session, make_debtor, clock, sandbox_provider):
    from bot.billing.payment_events import Outcome
    from bot.conversation import handoffs, payment_notices

    clock["now"] = datetime(2026, 11, 24, 23, 30, tzinfo=BOGOTA)  # a payment reversed at night
    debtor = make_debtor("D-9", phone=PHONE)
    conv = handoffs.get_or_create_conversation(session, PHONE, debtor)
    conv.last_channel, conv.last_whatsapp_inbound_at = "whatsapp", clock["now"] - timedelta(hours=2)
    out = Outcome("p-1", "charged_back", "reversed", debtor.id)
    assert payment_notices.notify(session, debtor, "Tu pago fue revertido por el banco.", out)
    session.commit()
    [row] = _out(session)
    assert (row.author, row.status, row.hold_until) == ("bot", "held", datetime(2026, 11, 25, 7, 0, tzinfo=BOGOTA))
    _send_all(session, conv.id)
    assert sandbox_provider.outbox(PHONE) == []


def test_what_changed_overnight_is_checked_at_release(session, make_handoff, agent, clock):
    h = _claimed(session, make_handoff, agent, clock)
    other = _claimed(session, make_handoff, agent, clock, external_id="D-2", phone="+573001119999")
    commands.reply(session, h, agent, "Hola Ana.")
    commands.reply(session, other, agent, "Hola de nuevo.")
    session.commit()
    session.get(Debtor, h.debtor_id).opted_out = True  # wrote STOP during the night
    for invoice in session.execute(select(Invoice).where(Invoice.debtor_id == other.debtor_id)).scalars():
        invoice.balance, invoice.status = 0, "paid"  # paid during the night
    session.commit()
    clock["now"] = datetime(2026, 11, 25, 7, 1, tzinfo=BOGOTA)
    assert outbound.release_held() == 0
    assert [(m.status, m.error_code) for m in _out(session)] == [("cancelled", "opted_out"), ("cancelled", "paid")]


def test_a_cap_filled_meanwhile_holds_it_further(session, make_handoff, agent, clock):
    h = _claimed(session, make_handoff, agent, clock)
    commands.reply(session, h, agent, "Hola Ana.")
    session.commit()
    clock["now"] = datetime(2026, 11, 25, 6, 30, tzinfo=BOGOTA)
    other = outbox.prepare_text(
        session, session.get(Conversation, h.conversation_id), "Aviso", author="system", override=True
    )  # something else reached the debtor first thing (an override counts as a contact)
    session.commit()
    clock["now"] = datetime(2026, 11, 25, 7, 2, tzinfo=BOGOTA)
    assert held.release(session, h.conversation_id).held_again == 1
    first = _out(session)[0]
    assert first.status == "held" and first.hold_until == datetime(2026, 11, 26, 7, 0, tzinfo=BOGOTA)
    assert other[0].status == "pending"


def test_two_workers_release_a_held_message_once(session, make_handoff, agent, clock, sandbox_provider, monkeypatch):
    h = _claimed(session, make_handoff, agent, clock)
    commands.reply(session, h, agent, "Hola Ana, ya abrió el horario.")
    session.commit()
    clock["now"] = datetime(2026, 11, 25, 7, 0, tzinfo=BOGOTA)
    start, queued = threading.Barrier(2), []
    monkeypatch.setattr(outbound, "enqueue_send", lambda phone, conversation_id: queued.append(conversation_id))

    def worker() -> None:  # the periodic job of two worker processes, at the same moment
        start.wait()
        outbound.release_held()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert queued == [h.conversation_id]  # one of them released it and queued its send
    for conversation_id in queued * 2:  # and a redelivered send job sends nothing twice
        _send_all(session, conversation_id)
    assert [m["body"] for m in sandbox_provider.outbox(PHONE)] == ["Hola Ana, ya abrió el horario."]


def test_a_supervisor_may_send_now_with_a_reason_and_it_is_audited(session, make_handoff, agent, manager, clock):
    h = _claimed(session, make_handoff, agent, clock)
    with pytest.raises(DeskError, match="gerente"):
        commands.reply(session, h, agent, "Hola", override_reason="urgente")
    rows = commands.reply(session, h, manager, "Tu pago fue revertido; llámanos.", override_reason="fraude reportado")
    session.commit()
    assert [(r.status, r.contact_kind) for r in rows] == [("pending", "override")]
    [entry] = session.execute(select(AuditLog).where(AuditLog.action == "contact_rules_override")).scalars()
    assert entry.actor == "gerente" and entry.details["reason"] == "fraude reportado"
    note = session.execute(select(AgentNote).where(AgentNote.kind == "override")).scalar_one()
    assert "fraude reportado" in note.body


def test_the_agent_cancels_or_edits_a_held_message_in_the_console(session, make_handoff, agent, clock, client):
    h = _claimed(session, make_handoff, agent, clock)
    login(client, "agente")
    tok = token(client)
    resp = client.post(
        f"/console/handoffs/{h.id}/reply", data={"csrf_token": tok, "body": "Hola Ana"}, follow_redirects=True
    )
    assert "Mensaje retenido" in resp.get_data(as_text=True) and "25/11/2026 07:00" in resp.get_data(as_text=True)
    [first] = _out(session)
    client.post(f"/console/handoffs/{h.id}/held/{first.id}/edit", data={"csrf_token": tok, "body": "Hola Ana María"})
    out = _out(session)
    assert [(m.body, m.status, m.error_code) for m in out] == [
        ("Hola Ana", "cancelled", "edited"),
        ("Hola Ana María", "held", None),
    ]
    client.post(f"/console/handoffs/{h.id}/held/{out[1].id}/cancel", data={"csrf_token": tok})
    assert [(m.status, m.error_code) for m in _out(session)][1] == ("cancelled", "by_agent")
    resp = client.post(
        f"/console/handoffs/{h.id}/held/{out[1].id}/cancel", data={"csrf_token": tok}, follow_redirects=True
    )
    assert "ya no está retenido" in resp.get_data(as_text=True)
    actions = set(session.execute(select(AuditLog.action)).scalars())
    assert {"held_message_edited", "held_message_cancelled"} <= actions
    clock["now"] = datetime(2026, 11, 25, 7, 1, tzinfo=BOGOTA)
    assert outbound.release_held() == 0  # nothing left to send
