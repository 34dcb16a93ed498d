"""The agent desk services: claim races, queue order, summary, replies, quick actions, give-back."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.desk import commands, handoff_queue, settings, summary, team_hours, transcript
from bot.desk.access import DeskError


def _fresh(session, obj):
    session.expire_all()
    return session.get(type(obj), obj.id)


# --- Claim -----------------------------------------------------------------------------------------
def test_two_agents_claiming_at_once_only_one_wins(db, session, make_handoff, agent, other_agent):
    from bot.store.db import get_sessionmaker
    from bot.store.models import Handoff, User

    handoff_ids = [make_handoff(f"D-{i}", phone=f"+5730011122{i:02d}").id for i in range(8)]
    maker = get_sessionmaker(db)
    for handoff_id in handoff_ids:
        barrier = threading.Barrier(2)
        results: dict[str, bool] = {}

        def claim(
            username: str,
            handoff_id: int = handoff_id,
            barrier: threading.Barrier = barrier,
            results: dict[str, bool] = results,
        ) -> None:
            s = maker()
            try:
                user = s.execute(select(User).where(User.username == username)).scalar_one()
                s.commit()  # no transaction open while waiting at the barrier
                barrier.wait(5)
                results[username] = handoff_queue.claim(s, handoff_id, user)
                s.commit()
            finally:
                s.close()

        threads = [threading.Thread(target=claim, args=(name,)) for name in ("agente", "agente2")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(results.values()) == [False, True], results
        winner = next(name for name, won in results.items() if won)
        h = _fresh(session, session.get(Handoff, handoff_id))
        assert h.status == "claimed"
        assert h.claimed_by == (agent.id if winner == "agente" else other_agent.id)
        assert h.claimed_at is not None


def test_claim_only_open_handoffs(session, make_handoff, agent, other_agent):
    from bot.store.models import AuditLog

    h = make_handoff()
    assert handoff_queue.claim(session, h.id, agent) is True
    session.commit()
    assert handoff_queue.claim(session, h.id, other_agent) is False
    assert handoff_queue.claim(session, h.id, agent) is False
    assert handoff_queue.claim(session, 999_999, agent) is False
    row = session.execute(select(AuditLog).where(AuditLog.action == "handoff_claimed")).scalar_one()
    assert row.user_id == agent.id and row.target_id == str(h.id)


def test_release_puts_it_back_in_the_queue(session, make_handoff, agent, other_agent):
    h = make_handoff()
    handoff_queue.claim(session, h.id, agent)
    with pytest.raises(DeskError):
        handoff_queue.release(session, h, other_agent)
    assert handoff_queue.release(session, h, agent) is True
    session.commit()
    assert _fresh(session, h).status == "open" and _fresh(session, h).claimed_by is None
    assert handoff_queue.claim(session, h.id, other_agent) is True


# --- Queue -----------------------------------------------------------------------------------------
def test_queue_order_flags_and_amounts(session, make_handoff, agent):
    old_human = make_handoff("D-1", reason="request_human", phone="+573001110001", age_minutes=30)
    new_dispute = make_handoff("D-2", reason="dispute", phone="+573001110002", age_minutes=1)
    new_human = make_handoff("D-3", reason="request_human", phone="+573001110003", age_minutes=2)
    claimed = make_handoff("D-4", reason="payment_reversed", phone="+573001110004", age_minutes=60)
    closed = make_handoff(
        "D-5",
        reason="dispute",
        phone="+573001110005",
        invoices=[
            {"external_id": "A", "amount": "100.50", "currency": "USD", "due_date": "2026-01-10"},
            {"external_id": "B", "amount": "20000.00", "currency": "COP", "due_date": "2026-01-10"},
            {"external_id": "C", "amount": "30000.00", "currency": "COP", "due_date": "2026-01-12"},
            {"external_id": "D", "amount": "99.00", "currency": "USD", "due_date": "2999-01-01"},
        ],
    )
    handoff_queue.claim(session, claimed.id, agent)
    session.commit()
    items = handoff_queue.queue(
        session, cfg={"unclaimed_alert_minutes": 10, "urgency": {"dispute": 1, "request_human": 3}}
    )
    assert [i.id for i in items] == [old_human.id, new_dispute.id, closed.id, new_human.id, claimed.id]
    first = items[0]
    assert first.flagged and not items[1].flagged and not items[-1].flagged
    assert first.reason_label == "Pidió hablar con una persona"
    assert first.channel == "whatsapp" and first.last_message == "Quiero hablar con una persona"
    assert first.waiting_seconds >= 30 * 60
    assert items[-1].claimed_by_name == "Agente"
    by_cur = {o["currency"]: o["amount"] for o in items[2].overdue}
    assert by_cur == {"COP": "50000.00", "USD": "100.50"}  # per currency, never summed; not-yet-due left out
    assert first.phone == "+57••••••0001"  # the one phone mask: country code and last four (bot/platform/masking.py)

    from bot.conversation import handoffs

    handoffs.close(session, closed, actor="test")
    session.commit()
    assert closed.id not in [i.id for i in handoff_queue.queue(session)]


# --- Summary ---------------------------------------------------------------------------------------
def test_summary_reads_in_five_seconds(session, make_handoff, agent):
    from bot.billing import payment_links, promises
    from bot.conversation import reasons
    from bot.store.models import Debtor, Invoice

    h = make_handoff(texts=("Perdí el trabajo", "Necesito hablar con alguien"))
    debtor = session.get(Debtor, h.debtor_id)
    invoice = session.execute(select(Invoice).where(Invoice.debtor_id == debtor.id)).scalar_one()
    reasons.record(session, debtor, "job_loss", "Perdí el trabajo", invoice)
    promises.create(session, debtor, invoice, date.today() + timedelta(days=5), Decimal("50000"), today=date.today())
    payment_links.create_link(session, debtor, invoice)
    session.commit()
    s = summary.summary(session, h)
    text = " ".join(s.lines)
    assert "Pidió hablar con una persona" in text
    assert "Necesito hablar con alguien" in text
    assert "Perdió el empleo" in text
    assert "50.000" in text and "vigente" in text
    assert "activo" in text
    assert s.bot_summary == "Motivo: request_human"
    assert s.overdue[0]["currency"] == "COP"


# --- Reply and actions -----------------------------------------------------------------------------
def test_reply_needs_the_claim_and_goes_out_as_the_agent(session, make_handoff, agent, other_agent, manager):
    from bot.store.models import Message

    h = make_handoff()
    with pytest.raises(DeskError, match="Primero toma"):
        commands.reply(session, h, agent, "hola")
    handoff_queue.claim(session, h.id, agent)
    with pytest.raises(DeskError, match="Otra persona"):
        commands.reply(session, h, other_agent, "hola")
    with pytest.raises(DeskError):
        commands.reply(session, h, agent, "   ")
    rows = commands.reply(session, h, agent, "Hola Ana, te ayudo con gusto.")
    rows += commands.reply(session, h, manager, "Soy la gerente.")  # a supervisor may step in
    session.commit()
    out = session.execute(select(Message).where(Message.direction == "out").order_by(Message.id)).scalars().all()
    assert [(m.author, m.agent_id, m.channel, m.status, m.to_phone) for m in out] == [
        ("agent", agent.id, "whatsapp", "pending", "+573001112233"),
        ("agent", manager.id, "whatsapp", "pending", "+573001112233"),
    ]


def test_reply_outside_the_whatsapp_window_falls_back_to_sms(session, make_handoff, agent):
    from bot.store.models import Conversation, Message

    h = make_handoff()
    conv = session.get(Conversation, h.conversation_id)
    conv.last_whatsapp_inbound_at = datetime.now(timezone.utc) - timedelta(days=2)
    handoff_queue.claim(session, h.id, agent)
    commands.reply(session, h, agent, "Hola de nuevo")
    session.commit()
    out = session.execute(select(Message).where(Message.direction == "out")).scalars().all()
    assert [m.channel for m in out] == ["sms"]


def test_send_payment_link(session, make_handoff, agent):
    from bot.store.models import Invoice, Message, PaymentLink

    h = make_handoff()
    invoice = session.execute(select(Invoice)).scalar_one()
    handoff_queue.claim(session, h.id, agent)
    with pytest.raises(DeskError, match="saldo"):
        commands.send_payment_link(session, h, agent, invoice.id, "999999999")
    link, rows = commands.send_payment_link(session, h, agent, invoice.id, "50000")
    session.commit()
    assert link.amount == Decimal("50000.00") and link.currency == "COP"
    assert session.execute(select(PaymentLink)).scalar_one().id == link.id
    msg = session.execute(select(Message).where(Message.direction == "out")).scalar_one()
    assert f"/p/{link.short_code}" in msg.body and msg.author == "agent"


def test_action_on_another_debtors_invoice_is_refused(session, make_handoff, make_debtor, agent):
    from bot.store.models import Invoice

    h = make_handoff()
    other = make_debtor("OTHER", phone="+573009990000")
    foreign = session.execute(select(Invoice).where(Invoice.debtor_id == other.id)).scalar_one()
    handoff_queue.claim(session, h.id, agent)
    with pytest.raises(DeskError, match="factura del deudor"):
        commands.send_payment_link(session, h, agent, foreign.id)


def test_record_promise(session, make_handoff, agent):
    from bot.store.models import Invoice, Promise

    h = make_handoff()
    invoice = session.execute(select(Invoice)).scalar_one()
    handoff_queue.claim(session, h.id, agent)
    with pytest.raises(DeskError, match="ya pasó"):
        commands.record_promise(session, h, agent, invoice.id, "2020-01-01")
    with pytest.raises(DeskError, match="fecha no es válida"):
        commands.record_promise(session, h, agent, invoice.id, "mañana")
    when = date.today() + timedelta(days=3)
    commands.record_promise(session, h, agent, invoice.id, when.isoformat())
    session.commit()
    p = session.execute(select(Promise)).scalar_one()
    assert p.source == "agent" and p.amount == invoice.balance and p.status == "open"


def test_due_date_policy_applies_and_managers_may_override(session, make_handoff, agent, manager):
    from bot.store.models import DueDateChange, Handoff, Invoice

    h = make_handoff()
    invoice = session.execute(select(Invoice)).scalar_one()
    today = date(2026, 11, 20)  # the invoice fell due on 2026-11-10
    handoff_queue.claim(session, h.id, agent)
    with pytest.raises(DeskError, match="política"):
        commands.move_due_date(session, h, agent, invoice.id, "2026-12-31", "me lo pidió", today=today)
    decision = commands.move_due_date(session, h, agent, invoice.id, "2026-11-24", today=today)
    assert decision.approved and invoice.due_date == date(2026, 11, 24)
    # A second change is outside the policy (one per invoice); the manager overrides with a reason.
    h = session.get(Handoff, h.id)
    with pytest.raises(DeskError, match="indica el motivo"):
        commands.move_due_date(session, h, manager, invoice.id, "2026-12-05", today=today)
    decision = commands.move_due_date(session, h, manager, invoice.id, "2026-12-05", "Hospitalizado", today=today)
    session.commit()
    assert decision.approved and invoice.due_date == date(2026, 12, 5)
    changes = session.execute(select(DueDateChange).order_by(DueDateChange.id)).scalars().all()
    assert [(c.changed_by, c.new_date) for c in changes] == [
        ("agent", date(2026, 11, 24)),
        ("manager", date(2026, 12, 5)),
    ]
    assert "Hospitalizado" in changes[1].note
    assert any(n.kind == "override" for n in transcript.notes(session, h))


def test_dispute_outcome(session, make_handoff, agent):
    from bot.billing import accounts
    from bot.store.models import Invoice

    h = make_handoff(reason="dispute")
    invoice = session.execute(select(Invoice)).scalar_one()
    accounts.mark_disputed(session, invoice, "no reconozco")
    handoff_queue.claim(session, h.id, agent)
    with pytest.raises(DeskError):
        commands.record_dispute_outcome(session, h, agent, invoice.id, "maybe")
    commands.record_dispute_outcome(session, h, agent, invoice.id, "rejected", "Factura válida")
    assert invoice.status == "open" and invoice.reminders_paused is False
    commands.record_dispute_outcome(session, h, agent, invoice.id, "upheld")
    session.commit()
    assert invoice.status == "cancelled" and invoice.reminders_paused is True
    kinds = [n.kind for n in transcript.notes(session, h)]
    assert kinds == ["dispute_outcome", "dispute_outcome"]


def test_notes(session, make_handoff, agent, other_agent):
    h = make_handoff()
    note = commands.add_note(session, h, agent, "Llamar el lunes")
    session.commit()
    assert note.user_id == agent.id and note.debtor_id == h.debtor_id
    handoff_queue.claim(session, h.id, agent)
    with pytest.raises(DeskError):
        commands.add_note(session, h, other_agent, "yo también")
    assert [n.body for n in transcript.notes(session, h)] == ["Llamar el lunes"]


# --- Give back / close -----------------------------------------------------------------------------
def test_give_back_returns_the_conversation_to_the_bot(session, make_handoff, agent, other_agent):
    from bot.conversation import handoffs
    from bot.store.models import Conversation

    h = make_handoff()
    conv = session.get(Conversation, h.conversation_id)
    assert conv.mode == "human"
    with pytest.raises(DeskError, match="Primero toma"):
        commands.give_back(session, h, agent)
    handoff_queue.claim(session, h.id, agent)
    with pytest.raises(DeskError, match="Otra persona"):
        commands.give_back(session, h, other_agent)
    commands.give_back(session, h, agent)
    session.commit()
    assert _fresh(session, h).status == "closed"
    assert _fresh(session, conv).mode == "bot"
    assert handoffs.live(session, conv.id) is None
    with pytest.raises(DeskError, match="ya se cerró"):
        commands.reply(session, _fresh(session, h), agent, "hola")


def test_close_and_a_new_handoff_can_open_later(session, make_handoff, agent):
    from bot.conversation import handoffs
    from bot.store.models import Conversation, Debtor

    h = make_handoff()
    handoff_queue.claim(session, h.id, agent)
    commands.close(session, h, agent)
    session.commit()
    conv = _fresh(session, session.get(Conversation, h.conversation_id))
    assert conv.mode == "bot"
    again, created = handoffs.open(session, conv.phone, session.get(Debtor, h.debtor_id), "dispute")
    session.commit()
    assert created and again.id != h.id
    assert [i.id for i in handoff_queue.queue(session)] == [again.id]


def test_supervisor_may_close_an_unclaimed_handoff(session, make_handoff, agent, manager):
    h = make_handoff()
    with pytest.raises(DeskError):
        commands.close(session, h, agent)
    commands.close(session, h, manager)
    assert h.status == "closed"


# --- Working hours -----------------------------------------------------------------------------------
HOURS = {
    "working_hours": {
        "timezone": "America/Bogota",
        "label": "hora de Colombia",
        "holidays": "CO",
        "days": {
            "mon": ["08:00", "18:00"],
            "tue": ["08:00", "18:00"],
            "wed": ["08:00", "18:00"],
            "thu": ["08:00", "18:00"],
            "fri": ["08:00", "18:00"],
            "sat": ["09:00", "13:00"],
        },
    }
}


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "now, expected",
    [
        ("2026-11-24T15:00:00", None),  # Tuesday 10:00 in Bogotá
        ("2026-11-24T12:30:00", "hoy a partir de las 8:00"),  # Tuesday 07:30
        ("2026-11-24T23:30:00", "mañana a partir de las 8:00"),  # Tuesday 18:30
        ("2026-11-27T23:30:00", "mañana a partir de las 9:00"),  # Friday 18:30 -> Saturday 9:00
        ("2026-11-28T19:00:00", "el lunes a partir de las 8:00"),  # Saturday 14:00
        ("2026-12-08T15:00:00", "mañana a partir de las 8:00"),  # a holiday (Inmaculada Concepción)
    ],
)
def test_out_of_hours_notice(now, expected):
    notice = team_hours.out_of_hours_notice(_utc(now), HOURS)
    if expected is None:
        assert notice is None
    else:
        assert expected in notice and "hora de Colombia" in notice


def test_no_hours_configured_means_always_staffed():
    assert team_hours.out_of_hours_notice(_utc("2026-11-29T03:00:00"), {}) is None


def test_the_shipped_config_is_valid():
    cfg = settings.config()
    assert settings.poll_seconds(cfg) <= 3
    assert team_hours.next_opening(_utc("2026-11-29T03:00:00"), cfg) is not None


def test_notify_out_of_hours_once_per_handoff(session, make_handoff):
    from bot.store.models import Message

    h = make_handoff()
    assert team_hours.notify_out_of_hours(session, h, _utc("2026-11-24T15:00:00"), HOURS) == []  # staffed
    rows = team_hours.notify_out_of_hours(session, h, _utc("2026-11-24T23:30:00"), HOURS)
    assert len(rows) == 1 and "mañana a partir de las 8:00" in rows[0].body and rows[0].author == "system"
    assert team_hours.notify_out_of_hours(session, h, _utc("2026-11-24T23:40:00"), HOURS) == []
    session.commit()
    out = session.execute(select(Message).where(Message.direction == "out")).scalars().all()
    assert [m.channel for m in out] == ["whatsapp"]
