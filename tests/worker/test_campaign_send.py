"""A planned campaign contact, sent by the worker: through Rasa (EXTERNAL_reminder) and the provider."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.outreach import campaigns
from bot.platform.queue import Job, Retry
from bot.store.models import ContactAttempt, Message, Promise
from bot.worker import campaigns as campaign_jobs
from tests import factories
from tests.worker.doubles import HttpDouble, set_env

BOGOTA = ZoneInfo("America/Bogota")
AT = datetime(2026, 11, 24, 10, 0, tzinfo=BOGOTA)  # a Tuesday, inside Colombia's hours
PHONE = "+573001112233"


class FakeRasaApi:
    """Rasa's HTTP API as the campaign sender uses it: trigger_intent returns the bot's messages."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.then: list[dict] = []  # what the bot says after the reminder (a question with its buttons)
        self.down = False
        self.http = HttpDouble(self._handle)

    def _handle(self, method, path, headers, body):
        if self.down:
            return 503, {"error": "down"}
        if "/trigger_intent" not in path:
            return 404, {}
        payload = json.loads(body)
        sender = path.split("/conversations/")[1].split("/")[0]
        self.calls.append((sender, payload))
        reminder = {"recipient_id": sender, "text": payload["entities"]["reminder_text"]}
        return 200, {"messages": [reminder, *self.then]}


@pytest.fixture()
def rasa_api():
    api = FakeRasaApi()
    set_env(RASA_URL=api.http.url)
    yield api
    set_env(RASA_URL=None)
    api.http.close()


@pytest.fixture()
def clock(monkeypatch):
    moment = {"now": AT}
    monkeypatch.setattr(campaign_jobs, "now", lambda: moment["now"])
    return moment


def plan_one(session, at=AT):
    ids = []
    campaigns.execute(session, campaigns.plan(session, at=at), enqueue=lambda phone, attempt: ids.append(attempt))
    assert len(ids) == 1
    return ids[0]


def send(attempt_id):
    campaign_jobs.campaign_send(
        Job(id="1-0", partition=0, key=PHONE, kind="campaign_send", payload={"attempt_id": attempt_id})
    )


def invoice(dpd):
    return [
        {
            "external_id": "F1",
            "amount": "185000.00",
            "currency": "COP",
            "due_date": (AT.date() - timedelta(days=dpd)).isoformat(),
        }
    ]


def test_sms_reminder_goes_out_once_with_the_campaign_text(session, make_debtor, rasa_api, sandbox_provider, clock):
    make_debtor("A", whatsapp=False, invoices=invoice(7))
    attempt_id = plan_one(session)
    send(attempt_id)
    send(attempt_id)  # a redelivered job sends nothing more
    [(sender, payload)] = rasa_api.calls
    assert sender == PHONE and payload["name"] == "EXTERNAL_reminder"
    assert payload["entities"]["campaign_stage"] == "D+7"
    outbox = sandbox_provider.outbox(PHONE)
    assert len(outbox) == 1
    body = outbox[0]["body"]
    assert body.startswith("Financiera Aurora") and "BAJA" in body
    assert "185" not in body, "a reminder discloses no amount before identity is verified"
    session.expire_all()
    attempt = session.get(ContactAttempt, attempt_id)
    assert attempt.status == "sent" and attempt.channel == "sms" and attempt.rules_version
    assert session.get(Message, attempt.message_id).author == "bot"


def test_a_reminders_question_goes_with_its_choices_numbered_on_sms(
    session, make_debtor, rasa_api, sandbox_provider, clock
):
    """Issue #27 §2: the bot's question after a reminder (a verified debtor: «¿le envío el link?») keeps its
    choices: numbered on SMS, and kept on the message so that a bare "1" answers it."""
    make_debtor("A", whatsapp=False, invoices=invoice(7))
    rasa_api.then = [
        {
            "text": "¿Le envío el link para pagar?",
            "buttons": [{"title": "Sí", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}],
        }
    ]
    send(plan_one(session))
    bodies = [m["body"] for m in sandbox_provider.outbox(PHONE)]
    assert bodies[-1] == "¿Le envio el link para pagar?\n1. Si\n2. No\nResponda 1 o 2."
    session.expire_all()
    question = session.execute(select(Message).where(Message.choices.is_not(None))).scalar_one()
    assert [o["payload"] for o in question.choices] == ["/affirm", "/deny"]


def test_whatsapp_outside_the_window_uses_the_approved_template(
    session, make_debtor, rasa_api, sandbox_provider, clock
):
    make_debtor("A", whatsapp=True, invoices=invoice(3))
    attempt_id = plan_one(session)
    send(attempt_id)
    session.expire_all()
    message = session.get(Message, session.get(ContactAttempt, attempt_id).message_id)
    assert message.channel == "whatsapp" and message.content_sid and message.content_sid.startswith("HX")
    [sent] = sandbox_provider.outbox(PHONE)
    assert sent["channel"] == "whatsapp"


def test_what_changed_since_planning_is_respected(session, make_debtor, rasa_api, sandbox_provider, clock):
    debtor = make_debtor("A", whatsapp=False, invoices=invoice(7))
    attempt_id = plan_one(session)
    debtor.opted_out = True
    session.commit()
    send(attempt_id)
    assert rasa_api.calls == [] and sandbox_provider.outbox(PHONE) == []
    session.expire_all()
    attempt = session.get(ContactAttempt, attempt_id)
    assert (attempt.status, attempt.reason) == ("suppressed", "opted_out")


def test_a_send_that_the_clock_no_longer_allows_is_deferred(session, make_debtor, rasa_api, sandbox_provider, clock):
    make_debtor("A", whatsapp=False, invoices=invoice(7))
    attempt_id = plan_one(session)
    clock["now"] = AT.replace(hour=19, minute=30)  # the worker got to it after hours
    send(attempt_id)
    assert sandbox_provider.outbox(PHONE) == []
    session.expire_all()
    attempt = session.get(ContactAttempt, attempt_id)
    assert attempt.status == "deferred"
    assert attempt.scheduled_for.astimezone(BOGOTA) == datetime(2026, 11, 25, 7, 0, tzinfo=BOGOTA)


def test_an_agents_contact_that_day_counts_toward_the_campaigns_cap(
    session, make_debtor, rasa_api, sandbox_provider, clock, monkeypatch
):
    from bot.conversation.handoffs import get_or_create_conversation
    from bot.messaging import contact_gate
    from bot.messaging import outbox as messages

    debtor = make_debtor("A", whatsapp=False, invoices=invoice(7))
    attempt_id = plan_one(session)
    monkeypatch.setattr(contact_gate, "utcnow", lambda: AT.replace(hour=8))
    conv = get_or_create_conversation(session, PHONE, debtor)
    [row] = messages.prepare_text(session, conv, "Hola, te escribe Laura de Financiera Aurora.", author="agent")
    session.commit()
    assert (row.status, row.contact_kind) == ("pending", "contact")  # 08:00 in Bogotá: allowed, and counted
    send(attempt_id)  # 10:00: Colombia allows one contact a day
    assert rasa_api.calls == []
    session.expire_all()
    attempt = session.get(ContactAttempt, attempt_id)
    assert (attempt.status, attempt.reason) == ("deferred", "daily_cap")
    assert attempt.scheduled_for.astimezone(BOGOTA) == datetime(2026, 11, 25, 7, 0, tzinfo=BOGOTA)


def test_rasa_down_keeps_the_job_for_later(session, make_debtor, rasa_api, sandbox_provider, clock):
    make_debtor("A", whatsapp=False, invoices=invoice(7))
    attempt_id = plan_one(session)
    rasa_api.down = True
    with pytest.raises(Retry):
        send(attempt_id)
    session.expire_all()
    assert session.get(ContactAttempt, attempt_id).status == "planned"
    rasa_api.down = False
    send(attempt_id)
    assert len(sandbox_provider.outbox(PHONE)) == 1


def promise_in(session, debtor, days: int) -> Promise:
    """An open promise of the debtor's invoice due ``days`` from today (negative: already missed)."""
    promise = factories.promise(session, debtor, debtor.invoices[0], promised_date=AT.date() + timedelta(days=days))
    session.commit()
    return promise


def test_broken_promise_follow_up_marks_the_promise_broken(session, make_debtor, rasa_api, sandbox_provider, clock):
    debtor = make_debtor("A", whatsapp=False, invoices=invoice(10))
    promise_in(session, debtor, -1)
    attempt_id = plan_one(session)
    send(attempt_id)
    session.expire_all()
    assert session.get(ContactAttempt, attempt_id).stage == "promise_broken"
    assert session.execute(select(Promise)).scalar_one().status == "broken"
    from bot.messaging.sms import transliterate
    from bot.outreach import campaigns

    body = sandbox_provider.outbox(PHONE)[0]["body"]  # the follow-up's own text, which tells nothing agreed
    expected = campaigns.load().followups["promise_broken"].text.format(business="Financiera Aurora")
    assert body == transliterate(expected)  # by SMS, GSM-7


def test_undelivered_whatsapp_goes_again_by_sms(session, make_debtor, rasa_api, sandbox_provider, clock):
    from bot.messaging import outbox

    make_debtor("A", whatsapp=True, invoices=invoice(3))
    attempt_id = plan_one(session)
    send(attempt_id)
    session.expire_all()
    first = session.get(ContactAttempt, attempt_id)
    message = session.get(Message, first.message_id)
    outbox.apply_status(session, message.provider_sid, "undelivered", "63016")
    session.commit()
    later = AT + timedelta(minutes=10)
    sms_id = plan_one(session, at=later)
    clock["now"] = later
    send(sms_id)
    session.expire_all()
    sms = session.get(ContactAttempt, sms_id)
    assert (sms.channel, sms.stage, sms.status) == ("sms", "D+3", "sent")
    assert session.get(ContactAttempt, attempt_id).status == "failed"
    assert [m["channel"] for m in sandbox_provider.outbox(PHONE)] == ["whatsapp", "sms"]
    # And only once.
    assert campaigns.plan(session, at=later + timedelta(minutes=10)).items == []


@pytest.mark.parametrize("scheduled", ["true", "false"])
def test_the_scheduled_campaign_run_can_be_switched_off(session, make_debtor, monkeypatch, redis_client, scheduled):
    make_debtor("CO-1", phone=PHONE, invoices=invoice(7))
    real_plan = campaigns.plan
    monkeypatch.setattr(campaigns, "plan", lambda s, **kw: real_plan(s, at=AT))
    set_env(RECOBRA_CAMPAIGNS_SCHEDULED=scheduled)
    try:
        campaign_jobs.run_campaigns()
    finally:
        set_env(RECOBRA_CAMPAIGNS_SCHEDULED=None)
    session.expire_all()
    attempts = session.execute(select(ContactAttempt)).scalars().all()
    assert len(attempts) == (1 if scheduled == "true" else 0)


def test_a_promise_reminder_is_not_sent_once_the_promise_was_kept(
    session, make_debtor, rasa_api, sandbox_provider, clock
):
    debtor = make_debtor("A", whatsapp=False, invoices=invoice(10))
    promise = promise_in(session, debtor, 1)
    attempt_id = plan_one(session)
    promise.status = "kept"  # paid between the plan and the send
    session.commit()
    send(attempt_id)
    session.expire_all()
    attempt = session.get(ContactAttempt, attempt_id)
    assert (attempt.stage, attempt.status, attempt.reason) == ("promise_reminder", "suppressed", "promise_settled")
    assert sandbox_provider.outbox(PHONE) == []


def test_a_dispute_after_planning_stops_the_promise_follow_up(session, make_debtor, rasa_api, sandbox_provider, clock):
    debtor = make_debtor("A", whatsapp=False, invoices=invoice(10))
    promise_in(session, debtor, -1)
    attempt_id = plan_one(session)
    debtor.invoices[0].reminders_paused = True  # the debtor disputed the debt before the worker sent it
    session.commit()
    send(attempt_id)
    session.expire_all()
    assert session.get(ContactAttempt, attempt_id).reason == "reminders_paused"
    assert session.execute(select(Promise)).scalar_one().status == "broken"
    assert sandbox_provider.outbox(PHONE) == []


def test_a_batch_of_sandbox_statuses_lands_like_the_status_webhook(
    session, make_debtor, rasa_api, sandbox_provider, clock
):
    """Sent, delivered and read of a reminder in one batch (as the sandbox plays them), an unknown sid and a
    backwards status among them: the message ends read, an unreachable debtor is reachable again."""
    from bot.messaging import outbox

    debtor = make_debtor("A", whatsapp=False, invoices=invoice(7))
    attempt_id = plan_one(session)
    send(attempt_id)
    session.expire_all()
    message = session.get(Message, session.get(ContactAttempt, attempt_id).message_id)
    session.get(type(debtor), debtor.id).contact_status = "unreachable"
    session.commit()
    sid = message.provider_sid
    outbox.apply_statuses([(sid, "sent"), ("SM-no-such", "delivered"), (sid, "read"), (sid, "delivered")])
    session.expire_all()
    assert session.get(Message, message.id).status == "read"
    assert session.get(type(debtor), debtor.id).contact_status == "ok"


def test_a_stage_planned_at_a_pretend_clock_is_not_sent_before_its_day(
    session, make_debtor, rasa_api, sandbox_provider, clock
):
    """The issue's D0 for a due date 11 days ahead, planned at that day's clock (as `campaign run --at` once
    did for real sends) and handed to the worker today: the debtor gets nothing 11 days early."""
    make_debtor("A", whatsapp=False, invoices=invoice(-11))
    attempt_id = plan_one(session, at=AT + timedelta(days=11))
    send(attempt_id)  # the worker's clock is the real one: AT
    assert rasa_api.calls == [] and sandbox_provider.outbox(PHONE) == []
    session.expire_all()
    attempt = session.get(ContactAttempt, attempt_id)
    assert (attempt.stage, attempt.status, attempt.reason) == ("D0", "suppressed", "before_stage_day")
    # and no later run brings it back
    assert not [i for i in campaigns.plan(session, at=AT + timedelta(hours=1)).items if i.stage == "D0"]


def test_a_due_date_moved_after_planning_stops_an_overdue_notice(
    session, make_debtor, rasa_api, sandbox_provider, clock
):
    debtor = make_debtor("A", whatsapp=False, invoices=invoice(7))
    attempt_id = plan_one(session)
    debtor.invoices[0].due_date = AT.date() + timedelta(days=10)  # a new date agreed before the worker sent it
    session.commit()
    send(attempt_id)
    assert sandbox_provider.outbox(PHONE) == []
    session.expire_all()
    assert session.get(ContactAttempt, attempt_id).reason == "before_stage_day"


def test_a_stage_deferred_to_a_later_day_still_goes_out(session, make_debtor, rasa_api, sandbox_provider, clock):
    # later than its day is fine: the contact policy defers, never drops
    make_debtor("A", whatsapp=False, invoices=invoice(7))
    attempt_id = plan_one(session)
    clock["now"] = AT + timedelta(days=1)
    send(attempt_id)
    assert len(sandbox_provider.outbox(PHONE)) == 1
