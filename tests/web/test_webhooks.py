"""Twilio webhooks at the edge: signatures, dedupe, conversations, status callbacks."""

from __future__ import annotations

from sqlalchemy import select

from bot.store.models import Conversation, Message
from tests import factories
from tests.worker.doubles import PUBLIC_BASE_URL, inbound_params, post_inbound, set_env, sign


def _messages(session):
    session.expire_all()
    return list(session.execute(select(Message).order_by(Message.id)).scalars())


def _queued(redis_client):
    """Entries in the inbound streams (the bundled Redis 6 has no consumer-group ``lag``)."""
    from bot.platform.redis_client import get_queue

    q = get_queue()
    return sum(redis_client.xlen(q.stream(p)) for p in range(q.partitions))


def test_signed_inbound_is_stored_queued_and_answered_with_empty_twiml(client, session, make_debtor, redis_client):
    debtor = make_debtor("CO-1", phone="+573001112233")
    params = inbound_params("+573001112233", "¡Hola! ¿Cuánto debo? señor 😀")
    r = post_inbound(client, params)
    assert r.status_code == 200
    assert r.mimetype == "text/xml"
    assert b"<Response/>" in r.data
    [m] = _messages(session)
    assert m.body == "¡Hola! ¿Cuánto debo? señor 😀"
    assert (m.direction, m.author, m.channel, m.status) == ("in", "debtor", "whatsapp", "received")
    assert m.provider_sid == params["MessageSid"]
    assert m.debtor_id == debtor.id
    conv = session.execute(select(Conversation)).scalar_one()
    assert conv.phone == "+573001112233" and conv.last_channel == "whatsapp"
    assert conv.last_whatsapp_inbound_at is not None and conv.last_inbound_at is not None
    assert _queued(redis_client) == 1


def test_forged_signature_is_refused_and_changes_nothing(client, session, make_debtor, redis_client):
    make_debtor("CO-1", phone="+573001112233")
    params = inbound_params("+573001112233", "hola")
    forged = sign(PUBLIC_BASE_URL + "/webhooks/twilio/messages", params, token="not-the-token")
    assert post_inbound(client, params, signature=forged).status_code == 403
    assert post_inbound(client, params, signature="").status_code == 403
    tampered = dict(params, Body="págame a otra cuenta")
    assert (
        post_inbound(
            client, tampered, signature=sign(PUBLIC_BASE_URL + "/webhooks/twilio/messages", params)
        ).status_code
        == 403
    )
    assert _messages(session) == []
    assert session.execute(select(Conversation)).first() is None


def test_signature_uses_public_base_url_not_the_proxied_host(client, session, make_debtor, redis_client):
    make_debtor("CO-1", phone="+573001112233")
    params = inbound_params("+573001112233", "hola")
    # Signed for the internal URL the proxy forwarded to: refused (Twilio signs the public one).
    internal = sign("http://10.0.0.5:8000/webhooks/twilio/messages", params)
    assert post_inbound(client, params, signature=internal).status_code == 403
    set_env(PUBLIC_BASE_URL="https://cobranza.example.com")
    try:
        good = sign("https://cobranza.example.com/webhooks/twilio/messages?x=1", params)
        r = post_inbound(client, params, signature=good, path="/webhooks/twilio/messages?x=1")
        assert r.status_code == 200
    finally:
        set_env(PUBLIC_BASE_URL=PUBLIC_BASE_URL)
    assert len(_messages(session)) == 1


def test_replayed_webhook_is_acknowledged_and_dropped(client, session, make_debtor, redis_client):
    make_debtor("CO-1", phone="+573001112233")
    params = inbound_params("+573001112233", "hola")
    for _ in range(3):
        r = post_inbound(client, params)
        assert r.status_code == 200 and b"<Response/>" in r.data
    assert len(_messages(session)) == 1
    assert _queued(redis_client) == 1


def test_mexican_whatsapp_521_and_sms_52_are_one_conversation(client, session, make_debtor, redis_client):
    debtor = make_debtor("MX-1", phone="+525512342201", country="MX", timezone="America/Mexico_City")
    post_inbound(client, inbound_params("+5215512342201", "hola por whatsapp", "whatsapp"))
    post_inbound(client, inbound_params("+525512342201", "hola por sms", "sms"))
    msgs = _messages(session)
    assert [m.from_phone for m in msgs] == ["+525512342201", "+525512342201"]
    assert [m.channel for m in msgs] == ["whatsapp", "sms"]
    assert {m.debtor_id for m in msgs} == {debtor.id}
    convs = list(session.execute(select(Conversation)).scalars())
    assert len(convs) == 1 and convs[0].last_channel == "sms"
    assert convs[0].last_whatsapp_inbound_at is not None


def test_media_is_kept_on_the_message(client, session, make_debtor, redis_client):
    make_debtor("CO-1", phone="+573001112233")
    params = inbound_params("+573001112233", "", media=[("https://api.twilio.com/media/ME1", "image/jpeg")])
    assert post_inbound(client, params).status_code == 200
    [m] = _messages(session)
    assert m.media == [{"url": "https://api.twilio.com/media/ME1", "content_type": "image/jpeg"}]


def test_unknown_number_is_stored_without_a_debtor(client, session, redis_client):
    post_inbound(client, inbound_params("+573009998877", "hola"))
    [m] = _messages(session)
    assert m.debtor_id is None


def _outbound(session, sid="SMout1", channel="whatsapp", debtor=None):
    unknown = {} if debtor else {"phone": "+573001112233"}
    conv = factories.conversation(session, debtor, last_channel=None, mode="bot", **unknown)
    m = factories.message(
        session, conv, "bot", "hola", channel=channel, to_phone=conv.phone, provider_sid=sid, status="queued"
    )
    session.commit()
    return m


def _status(client, sid, status, error=None, signature=None):
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "1" * 32}
    if error:
        params["ErrorCode"] = error
    return post_inbound(client, params, signature=signature, path="/webhooks/twilio/status")


def test_status_callbacks_never_move_backwards(client, session, redis_client, db):
    m = _outbound(session)
    for status, expected in [
        ("sent", "sent"),
        ("delivered", "delivered"),
        ("sent", "delivered"),
        ("queued", "delivered"),
        ("read", "read"),
        ("delivered", "read"),
        ("undelivered", "read"),
    ]:
        assert _status(client, "SMout1", status).status_code == 204
        session.refresh(m)
        assert m.status == expected, (status, m.status)


def test_failed_is_terminal_and_reflected_in_contact_status(client, session, make_debtor, redis_client):
    debtor = make_debtor("CO-1", phone="+573001112233")
    m = _outbound(session, debtor=debtor, channel="sms")
    _status(client, "SMout1", "failed", error="21614")
    _status(client, "SMout1", "delivered")
    session.refresh(m)
    session.refresh(debtor)
    assert (m.status, m.error_code) == ("failed", "21614")
    assert debtor.contact_status == "landline"


def test_status_callback_needs_a_signature(client, session, redis_client):
    m = _outbound(session)
    assert _status(client, "SMout1", "delivered", signature="bad").status_code == 403
    session.refresh(m)
    assert m.status == "queued"


def test_status_for_unknown_sid_is_acknowledged(client, db, redis_client):
    assert _status(client, "SMnope", "delivered").status_code == 204
