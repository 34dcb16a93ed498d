"""Payment-plan follow-ups sent by the worker: the broken-plan message still reaches the debtor although the
plan's own hand-off put the conversation in human hands; a reminder for an instalment paid meanwhile does not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.billing import payment_plans
from bot.outreach import campaigns
from bot.store.models import ContactAttempt, Conversation, Handoff
from bot.worker import campaigns as campaign_jobs
from tests.worker.doubles import set_env
from tests.worker.test_campaign_send import AT, PHONE, FakeRasaApi, send

TODAY = AT.date()


@pytest.fixture()
def rasa_api():
    api = FakeRasaApi()
    set_env(RASA_URL=api.http.url)
    yield api
    set_env(RASA_URL=None)
    api.http.close()


@pytest.fixture()
def clock(monkeypatch):
    monkeypatch.setattr(campaign_jobs, "now", lambda: AT)


def debtor_with_plan(session, make_debtor, first_due):
    debtor = make_debtor(
        "A",
        whatsapp=False,
        invoices=[{"external_id": "F1", "amount": "300000.00", "currency": "COP", "due_date": "2026-10-20"}],
    )
    plan = payment_plans.create(session, debtor, debtor.invoices[0], 3, first_due - timedelta(days=3))
    session.commit()
    return debtor, plan


def run(session):
    queued: list[int] = []
    campaigns.execute(session, campaigns.plan(session, at=AT), enqueue=lambda phone, a: queued.append(a))
    return queued


def test_broken_plan_message_goes_out_once_and_the_agent_keeps_the_conversation(
    session, make_debtor, rasa_api, sandbox_provider, clock
):
    debtor_with_plan(session, make_debtor, TODAY - timedelta(days=10))
    [attempt_id] = run(session)
    send(attempt_id)
    send(attempt_id)
    [sent] = sandbox_provider.outbox(PHONE)
    assert "imprevistos" in sent["body"] and "300" not in sent["body"]
    session.expire_all()
    assert session.get(ContactAttempt, attempt_id).status == "sent"
    conv = session.scalars(select(Conversation).where(Conversation.phone == PHONE)).one()
    assert conv.mode == "human"  # the debtor's reply goes to the agent
    assert [h.reason for h in session.scalars(select(Handoff))] == ["plan_broken"]


def test_no_broken_plan_message_when_an_agent_already_had_the_debtor_for_something_else(
    session, make_debtor, rasa_api, sandbox_provider, clock
):
    debtor, _ = debtor_with_plan(session, make_debtor, TODAY - timedelta(days=10))
    [attempt_id] = run(session)
    session.execute(select(Handoff)).scalar_one().reason = "dispute"
    session.commit()
    send(attempt_id)
    assert sandbox_provider.outbox(PHONE) == []
    session.expire_all()
    assert session.get(ContactAttempt, attempt_id).reason == "in_human_hands"


def test_a_reminder_for_an_instalment_paid_since_planning_is_not_sent(
    session, make_debtor, rasa_api, sandbox_provider, clock
):
    debtor, plan = debtor_with_plan(session, make_debtor, TODAY + timedelta(days=1))
    [attempt_id] = run(session)
    plan.instalments[0].status = "paid"
    session.commit()
    send(attempt_id)
    assert sandbox_provider.outbox(PHONE) == [] and rasa_api.calls == []
    session.expire_all()
    attempt = session.get(ContactAttempt, attempt_id)
    assert (attempt.status, attempt.reason) == ("suppressed", "plan_settled")


def test_a_reminder_goes_out_with_the_followup_text(session, make_debtor, rasa_api, sandbox_provider, clock):
    debtor_with_plan(session, make_debtor, TODAY + timedelta(days=1))
    [attempt_id] = run(session)
    send(attempt_id)
    [sent] = sandbox_provider.outbox(PHONE)
    assert "recordatorio" in sent["body"] and "300" not in sent["body"]
    assert rasa_api.calls[0][1]["entities"]["campaign_stage"] == "instalment_reminder"


def test_a_plan_over_two_invoices_is_reminded_once_though_its_oldest_invoice_was_paid_since(
    session, make_debtor, rasa_api, sandbox_provider, clock
):
    debtor = make_debtor(
        "A",
        whatsapp=False,
        invoices=[
            {"external_id": "F1", "amount": "50000.00", "currency": "COP", "due_date": "2026-10-20"},
            {"external_id": "F2", "amount": "250000.00", "currency": "COP", "due_date": "2026-10-25"},
        ],
    )
    plan = payment_plans.create_for_invoices(session, debtor, list(debtor.invoices), 3, TODAY - timedelta(days=2))
    session.commit()
    [attempt_id] = run(session)  # one reminder for the instalment, not one per invoice
    oldest = debtor.invoices[0]
    oldest.balance, oldest.status = 0, "paid"  # 50.000 paid: the first instalment (100.000) is still owed
    session.commit()
    assert plan.instalments[0].status == "pending"
    send(attempt_id)
    [sent] = sandbox_provider.outbox(PHONE)
    assert "recordatorio" in sent["body"]
