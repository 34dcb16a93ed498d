"""Sends as an operator counts them: accepted, refused by the provider's error code, retried, paced, failed later."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from bot.conversation.handoffs import get_or_create_conversation
from bot.messaging import outbox
from bot.providers.factory import set_messaging_provider
from bot.providers.twilio import TwilioMessaging
from tests.worker import test_campaign_send as campaign_case
from tests.worker.doubles import set_env
from tests.worker.test_campaign_send import clock, rasa_api  # noqa: F401  (fixtures)

PHONE = "+573001112233"


@pytest.fixture()
def twilio(twilio_double, redis_client):
    set_env(TWILIO_API_BASE=twilio_double.url, MESSAGING_PROVIDER="twilio", RECOBRA_RATE_WHATSAPP="1000")
    from bot.platform.config import get_settings

    set_messaging_provider(TwilioMessaging(get_settings()))
    yield twilio_double
    set_messaging_provider(None)
    set_env(TWILIO_API_BASE=None, MESSAGING_PROVIDER="sandbox", RECOBRA_RATE_WHATSAPP=None)


def total(name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    return sum(
        s.value
        for family in REGISTRY.collect()
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def conversation(session, make_debtor):
    debtor = make_debtor("CO-1", phone=PHONE)
    conv = get_or_create_conversation(session, PHONE, debtor)
    conv.last_channel = "whatsapp"
    conv.last_whatsapp_inbound_at = outbox.utcnow() - timedelta(hours=1)
    session.commit()
    return conv


def send(session, conv, text: str):
    [row] = outbox.prepare_text(session, conv, text, reply=True)
    session.commit()
    outbox.deliver_pending(session, conv.id, attempts=3)
    session.refresh(row)
    return row


def test_sends_and_failures_are_counted_by_the_providers_error_code(session, make_debtor, twilio, monkeypatch):
    monkeypatch.setattr(outbox, "backoff_delay", lambda attempt: 0.0)
    conv = conversation(session, make_debtor)
    sent = {"provider": "twilio", "channel": "whatsapp"}
    before = {
        "sent": total("recobra_messages_sent_total", **sent),
        "invalid": total("recobra_message_send_failures_total", code="21211", retryable="false"),
        "retried": total("recobra_message_send_failures_total", retryable="true"),
        "paced": total("recobra_rate_limit_wait_seconds_count", channel="whatsapp"),
        "undelivered": total("recobra_message_delivery_failures_total", status="undelivered", code="30003"),
    }
    twilio.script = [429]  # throttled once, then accepted
    row = send(session, conv, "hola")
    assert row.provider_sid
    assert total("recobra_message_send_failures_total", retryable="true") == before["retried"] + 1
    assert total("recobra_messages_sent_total", **sent) == before["sent"] + 1
    assert total("recobra_rate_limit_wait_seconds_count", channel="whatsapp") == before["paced"] + 2  # each attempt

    twilio.script = [(400, {"code": 21211, "message": "invalid To"})]
    assert send(session, conv, "otra").status == "failed"
    assert total("recobra_message_send_failures_total", code="21211", retryable="false") == before["invalid"] + 1
    assert total("recobra_messages_sent_total", **sent) == before["sent"] + 1

    # Twilio's status callback, later: the first message did not arrive
    outbox.apply_status(session, row.provider_sid, "undelivered", "30003")
    session.commit()
    assert (
        total("recobra_message_delivery_failures_total", status="undelivered", code="30003")
        == before["undelivered"] + 1
    )


@pytest.mark.usefixtures("rasa_api", "sandbox_provider", "clock")
def test_campaign_decisions_and_sends_are_counted(session, make_debtor):
    invoice, plan_one, send_now = campaign_case.invoice, campaign_case.plan_one, campaign_case.send
    before = {
        "queued": total("recobra_campaign_decisions_total", outcome="queued"),
        "sent": total("recobra_campaign_sends_total", outcome="sent"),
        "suppressed": total("recobra_campaign_sends_total", outcome="suppressed", reason="opted_out"),
    }
    make_debtor("A", whatsapp=False, invoices=invoice(7))
    send_now(plan_one(session))
    assert total("recobra_campaign_decisions_total", outcome="queued") == before["queued"] + 1
    assert total("recobra_campaign_sends_total", outcome="sent") == before["sent"] + 1
    b = make_debtor("B", phone="+573001112299", whatsapp=False, invoices=invoice(7))
    attempt_id = plan_one(session)
    b.opted_out = True  # between the plan and the send
    session.commit()
    send_now(attempt_id)
    assert total("recobra_campaign_sends_total", outcome="suppressed", reason="opted_out") == before["suppressed"] + 1
