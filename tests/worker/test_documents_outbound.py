"""Documents to the phone: a PDF the bot attaches goes to Twilio as ``MediaUrl`` on WhatsApp, as a link on SMS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.conversation.handoffs import get_or_create_conversation
from bot.messaging import outbox
from bot.platform.queue import Job
from bot.providers.factory import set_messaging_provider
from bot.providers.twilio import TwilioMessaging
from bot.store.models import Message
from tests.worker.doubles import inbound_params, post_inbound, set_env

PHONE = "+573001112233"
DOC = "http://localhost:8000/d/e1-abc123-AAAAAAAAAAAAAAAAAAAAAA"


@pytest.fixture()
def twilio(twilio_double, redis_client):
    set_env(
        TWILIO_API_BASE=twilio_double.url,
        MESSAGING_PROVIDER="twilio",
        RECOBRA_RATE_WHATSAPP="1000",
        RECOBRA_RATE_SMS="1000",
    )
    from bot.platform.config import get_settings

    set_messaging_provider(TwilioMessaging(get_settings()))
    yield twilio_double
    set_messaging_provider(None)
    set_env(TWILIO_API_BASE=None, MESSAGING_PROVIDER="sandbox", RECOBRA_RATE_WHATSAPP=None, RECOBRA_RATE_SMS=None)


def _conversation(session, make_debtor, channel="whatsapp", window_open=True):
    d = make_debtor("CO-1", phone=PHONE)
    conv = get_or_create_conversation(session, PHONE, d)
    conv.last_channel = channel
    conv.last_whatsapp_inbound_at = outbox.utcnow() - (timedelta(hours=1) if window_open else timedelta(hours=30))
    session.commit()
    return d, conv


def test_whatsapp_document_goes_to_twilio_as_media_url(session, make_debtor, twilio):
    _, conv = _conversation(session, make_debtor)
    [row] = outbox.prepare_text(session, conv, "Ana, le envío su estado de cuenta en PDF.", reply=True, media_url=DOC)
    session.commit()
    assert outbox.deliver_pending(session, conv.id) == 1
    [req] = twilio.requests
    assert req["MediaUrl"] == [DOC] and req["Body"] == ["Ana, le envío su estado de cuenta en PDF."]
    session.refresh(row)
    assert row.media == [{"url": DOC, "content_type": "application/pdf"}] and row.provider_sid


def test_sms_gets_the_document_as_a_link_in_the_text(session, make_debtor, twilio):
    _, conv = _conversation(session, make_debtor, channel="sms")
    rows = outbox.prepare_text(session, conv, "Ana, le envío su estado de cuenta en PDF.", reply=True, media_url=DOC)
    session.commit()
    outbox.deliver_pending(session, conv.id)
    assert all("MediaUrl" not in req for req in twilio.requests)
    sent = "".join(req["Body"][0] for req in twilio.requests)
    assert DOC in sent and sent.startswith("Ana, le envio su estado de cuenta")  # transliterated, link intact
    assert all(not r.media for r in rows)


def test_a_text_that_gives_the_link_already_is_not_given_it_twice(session, make_debtor, twilio):
    _, conv = _conversation(session, make_debtor, channel="sms")
    rows = outbox.prepare_text(session, conv, f"Su estado de cuenta: {DOC}", reply=True, media_url=DOC)
    assert "".join(r.body for r in rows).count(DOC) == 1


def test_whatsapp_window_closed_falls_back_to_sms_with_the_link(session, make_debtor, twilio):
    _, conv = _conversation(session, make_debtor, window_open=False)
    rows = outbox.prepare_text(session, conv, "Su recibo en PDF.", reply=True, media_url=DOC)
    assert [r.channel for r in rows] == ["sms"] and DOC in rows[0].body


def test_the_bots_attachment_reaches_the_phone_simulator(
    client, session, make_debtor, rasa_double, sandbox_provider, api_headers
):
    """Rasa answers the text and, as a message of its own, the attachment (``utter_message(attachment=…)``)."""
    from bot.worker.inbound import handle_inbound

    make_debtor("CO-1", phone=PHONE)
    rasa_double.reply = lambda p: [
        {"recipient_id": p["sender"], "text": "Ana, le envío su estado de cuenta en PDF."},
        {"recipient_id": p["sender"], "text": None, "attachment": DOC},
    ]
    assert post_inbound(client, inbound_params(PHONE, "mándeme la factura", "whatsapp")).status_code == 200
    inbound = session.execute(select(Message).where(Message.direction == "in")).scalar_one()
    handle_inbound(Job(id="1-0", partition=0, key=PHONE, kind="inbound_message", payload={"message_id": inbound.id}))
    session.expire_all()
    [reply] = session.execute(select(Message).where(Message.direction == "out")).scalars()
    assert reply.body == "Ana, le envío su estado de cuenta en PDF." and reply.media[0]["url"] == DOC
    [sent] = sandbox_provider.outbox(PHONE)
    assert sent["media_url"] == DOC
    listed = client.get("/api/v1/sandbox/outbox?to=%2B573001112233", headers=api_headers).get_json()["messages"]
    assert listed[-1]["media_url"] == DOC and listed[-1]["media"] == [DOC]
