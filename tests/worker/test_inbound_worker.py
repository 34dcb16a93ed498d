"""The inbound job: keywords, hand-off, unknown numbers, media, the bot, and exactly-once answers."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.platform.queue import Job, Retry
from bot.store.models import Conversation, Debtor, Message
from tests.worker.doubles import inbound_params, post_inbound, set_env, wait_for

PHONE = "+573001112233"


def _handle(session, phone=PHONE):
    """Run the queued job for the newest inbound message, as the worker would."""
    from bot.worker.inbound import handle_inbound

    session.expire_all()
    m = session.execute(select(Message).where(Message.direction == "in").order_by(Message.id.desc())).scalars().first()
    handle_inbound(Job(id="1-0", partition=0, key=phone, kind="inbound_message", payload={"message_id": m.id}))
    session.expire_all()
    return m.id


def _out(session):
    session.expire_all()
    return list(session.execute(select(Message).where(Message.direction == "out").order_by(Message.id)).scalars())


def _say(client, session, text, phone=PHONE, channel="whatsapp", media=None):
    r = post_inbound(client, inbound_params(phone, text, channel, media=media))
    assert r.status_code == 200
    return _handle(session, phone)


def test_a_message_goes_to_the_bot_and_its_answer_goes_out(client, session, make_debtor, rasa_double, sandbox_provider):
    make_debtor("CO-1", phone=PHONE)
    mid = _say(client, session, "¡Hola! ¿cuánto debo?")
    [call] = rasa_double.calls
    assert call["sender"] == PHONE and call["message"] == "¡Hola! ¿cuánto debo?"
    assert call["metadata"]["channel"] == "whatsapp" and call["metadata"]["debtor_external_id"] == "CO-1"
    assert call["metadata"]["message_id"]
    inbound = session.get(Message, mid)
    assert (inbound.status, inbound.intent, inbound.confidence) == ("processed", "greet", 0.93)
    assert inbound.entities[0]["entity"] == "date"
    [reply] = _out(session)
    assert (reply.body, reply.channel, reply.author, reply.to_phone) == (
        "eco: ¡Hola! ¿cuánto debo?",
        "whatsapp",
        "bot",
        PHONE,
    )
    assert reply.provider_sid and reply.status == "queued"
    [sent] = sandbox_provider.outbox(PHONE)
    assert sent["body"] == "eco: ¡Hola! ¿cuánto debo?" and sent["channel"] == "whatsapp"
    wait_for(lambda: (session.expire_all(), session.get(Message, reply.id).status == "read")[1], timeout=5)


def test_a_turn_the_bot_answers_with_nothing_still_gets_a_reply(
    client, session, make_debtor, rasa_double, sandbox_provider
):
    """An action server killed mid-call: Rasa logs the failed action and answers nothing (issue #24 §3). The debtor
    is asked to write again rather than left waiting."""
    make_debtor("CO-1", phone=PHONE)
    rasa_double.reply = lambda payload: []
    mid = _say(client, session, "4321")
    assert session.get(Message, mid).status == "processed"
    [reply] = _out(session)
    assert (
        reply.body == "Disculpe, tuve un problema para responder su mensaje. ¿Me lo puede enviar de nuevo, por favor?"
    )
    assert [m["body"] for m in sandbox_provider.outbox(PHONE)] == [reply.body]


def test_reply_goes_out_on_the_channel_the_debtor_last_wrote_on(
    client, session, make_debtor, rasa_double, sandbox_provider
):
    make_debtor("CO-1", phone=PHONE)
    _say(client, session, "hola", channel="whatsapp")
    _say(client, session, "¿Cuánto está? ", channel="sms")
    replies = _out(session)
    assert [r.channel for r in replies] == ["whatsapp", "sms"]
    sms = replies[1]
    assert sms.body == "eco: ¿Cuanto esta?"  # transliterated: stays GSM-7
    assert (sms.encoding, sms.segments) == ("GSM-7", 1)


@pytest.mark.parametrize("text", ["BAJA", "baja", "Bája!", "  ALTO. ", "Stop", "cancelar", "UNSUBSCRIBE", "salir"])
def test_opt_out_keywords_are_handled_before_the_bot(client, session, make_debtor, rasa_double, sandbox_provider, text):
    debtor = make_debtor("CO-1", phone=PHONE)
    mid = _say(client, session, text)
    assert rasa_double.calls == []
    session.refresh(debtor)
    assert debtor.opted_out and debtor.opted_out_at is not None
    assert session.get(Message, mid).intent == "opt_out"
    [reply] = _out(session)
    assert "ALTA" in reply.body or "START" in reply.body
    assert reply.provider_sid


def test_opt_in_and_help_keywords(client, session, make_debtor, rasa_double, sandbox_provider):
    debtor = make_debtor("CO-1", phone=PHONE)
    _say(client, session, "BAJA")
    _say(client, session, "Alta")
    session.refresh(debtor)
    assert not debtor.opted_out
    _say(client, session, "AYUDA")
    _say(client, session, "help")
    assert rasa_double.calls == []
    bodies = [m.body for m in _out(session)]
    assert "ALTA" in bodies[0] and "BAJA" in bodies[1] and "BAJA" in bodies[2] and "STOP" in bodies[3]


def test_an_opted_out_debtor_who_writes_first_gets_the_bot(client, session, make_debtor, rasa_double, sandbox_provider):
    """Issue #27 §6: BAJA stops automated outbound only; the debtor can still ask the bot (balance, link,
    certificate) without writing ALTA first, and stays opted out of reminders."""
    debtor = make_debtor("CO-1", phone=PHONE)
    _say(client, session, "BAJA")
    _say(client, session, "¿cuánto debo?")
    assert [c["message"] for c in rasa_double.calls] == ["¿cuánto debo?"]
    session.refresh(debtor)
    assert debtor.opted_out  # talking to the bot is not an opt-in
    bodies = [m["body"] for m in sandbox_provider.outbox(PHONE)]
    assert bodies[-1] == "eco: ¿cuánto debo?" and not any("escriba ALTA" in b for b in bodies[1:])
    # ... while an unprompted bot message (a reminder, a payment notice) is still refused
    from bot.conversation.handoffs import get_or_create_conversation
    from bot.messaging import outbox

    with pytest.raises(outbox.NotSendable):
        outbox.prepare_text(session, get_or_create_conversation(session, PHONE, debtor), "Recordatorio", author="bot")


def test_looser_wordings_and_ambiguous_opt_in_words_go_to_the_bot(
    client, session, make_debtor, rasa_double, sandbox_provider
):
    debtor = make_debtor("CO-1", phone=PHONE)
    _say(client, session, "ya no me escriban por favor")
    _say(client, session, "yes")  # not opted out: an answer to the bot, not an opt-in
    assert [c["message"] for c in rasa_double.calls] == ["ya no me escriban por favor", "yes"]
    session.refresh(debtor)
    assert not debtor.opted_out


def test_conversation_in_human_hands_is_not_sent_to_the_bot(
    client, session, make_debtor, rasa_double, sandbox_provider
):
    make_debtor("CO-1", phone=PHONE)
    _say(client, session, "hola")
    conv = session.execute(select(Conversation)).scalar_one()
    conv.mode = "human"
    session.commit()
    mid = _say(client, session, "quiero hablar con alguien")
    assert len(rasa_double.calls) == 1
    assert session.get(Message, mid).status == "processed"
    # The first message after the hand-off is acknowledged (not left in silence), then not every message.
    ack = _out(session)[-1]
    assert len(_out(session)) == 2 and "asesor" in ack.body and "Ana" not in ack.body and "185" not in ack.body
    _say(client, session, "hola??")
    assert len(_out(session)) == 2 and len(rasa_double.calls) == 1


def test_while_the_agent_is_on_it_the_debtor_hears_the_agent_only(
    client, session, make_debtor, rasa_double, sandbox_provider
):
    from bot.messaging import outbox

    make_debtor("CO-1", phone=PHONE)
    _say(client, session, "hola")
    conv = session.execute(select(Conversation)).scalar_one()
    conv.mode = "human"
    outbox.prepare_text(session, conv, "Hola Ana, soy Laura. Reviso su caso.", author="agent", reply=True)
    session.commit()
    _say(client, session, "gracias, espero")
    assert [m.author for m in _out(session)] == ["bot", "agent"]


def test_unknown_number_gets_a_polite_answer_that_discloses_nothing(
    client, session, make_debtor, rasa_double, sandbox_provider
):
    make_debtor("CO-1", phone=PHONE)
    _say(client, session, "hola, ¿cuánto debo?", phone="+573009998877")
    assert rasa_double.calls == []
    [reply] = _out(session)
    assert reply.to_phone == "+573009998877"
    assert "Ana" not in reply.body and "185" not in reply.body and "COP" not in reply.body
    _say(client, session, "¿hola?", phone="+573009998877", channel="sms")
    _say(client, session, "¿¿hola??", phone="+573009998877")
    assert len(_out(session)) == 1  # the notice goes out once a day, not to every message


def test_media_is_kept_and_acknowledged(client, session, make_debtor, rasa_double, sandbox_provider):
    make_debtor("CO-1", phone=PHONE)
    mid = _say(client, session, "", media=[("https://api.twilio.com/2010-04-01/Media/ME1", "image/jpeg")])
    assert rasa_double.calls == []
    assert session.get(Message, mid).media[0]["content_type"] == "image/jpeg"
    [reply] = _out(session)
    assert "archivo" in reply.body
    # A photo may be a proof of payment: an agent verifies it (tests/console/test_payment_proofs.py), the bot stays
    # out meanwhile. Other media with a caption: the bot gets the text and the media as metadata.
    _say(client, session, "mire", media=[("https://api.twilio.com/Media/ME2", "image/png")])
    assert rasa_double.calls == []
    make_debtor("CO-2", phone="+573001112244")
    _say(
        client,
        session,
        "le mando un audio",
        phone="+573001112244",
        media=[("https://api.twilio.com/Media/ME3", "audio/ogg")],
    )
    assert rasa_double.calls[0]["metadata"]["media"][0]["url"].endswith("ME3")


def test_rasa_down_retries_and_nothing_is_lost_or_answered_twice(
    client, session, make_debtor, rasa_double, sandbox_provider
):
    from bot.worker.inbound import handle_inbound

    make_debtor("CO-1", phone=PHONE)
    rasa_double.down = True
    post_inbound(client, inbound_params(PHONE, "hola"))
    session.expire_all()
    m = session.execute(select(Message)).scalar_one()
    job = Job(id="1-0", partition=0, key=PHONE, kind="inbound_message", payload={"message_id": m.id})
    with pytest.raises(Retry):
        handle_inbound(job)
    session.expire_all()
    assert session.get(Message, m.id).status == "received" and _out(session) == []
    rasa_double.down = False
    handle_inbound(job)
    handle_inbound(job)  # redelivered after success (ack lost): nothing twice
    assert len(_out(session)) == 1
    assert len(rasa_double.calls) == 1


def test_rasa_unreachable_is_a_retry(client, session, make_debtor, sandbox_provider):
    from bot.worker.inbound import handle_inbound

    make_debtor("CO-1", phone=PHONE)
    post_inbound(client, inbound_params(PHONE, "hola"))
    m = session.execute(select(Message)).scalar_one()
    set_env(RASA_URL="http://127.0.0.1:9")
    try:
        with pytest.raises(Retry):
            handle_inbound(Job(id="1-0", partition=0, key=PHONE, kind="inbound_message", payload={"message_id": m.id}))
    finally:
        set_env(RASA_URL=None)


@pytest.mark.slow
def test_rasa_down_then_up_through_the_queue(client, session, make_debtor, rasa_double, sandbox_provider, run_worker):
    make_debtor("CO-1", phone=PHONE)
    rasa_double.down = True
    run_worker()
    for text in ("uno", "dos", "tres"):
        post_inbound(client, inbound_params(PHONE, text))
    wait_for(lambda: rasa_double.refused >= 2, timeout=10)
    assert _out(session) == []
    rasa_double.down = False
    wait_for(lambda: len([m for m in _out(session) if m.provider_sid]) == 3, timeout=30)
    assert [m.body for m in _out(session)] == ["eco: uno", "eco: dos", "eco: tres"]
    assert [c["message"] for c in rasa_double.calls] == ["uno", "dos", "tres"]


def test_opted_out_debtor_gets_no_automated_message(session, make_debtor, sandbox_provider):
    from bot.conversation.handoffs import get_or_create_conversation
    from bot.messaging import outbox

    debtor = make_debtor("CO-1", phone=PHONE)
    debtor.opted_out = True
    conv = get_or_create_conversation(session, PHONE, debtor)
    session.commit()
    with pytest.raises(outbox.NotSendable):
        outbox.prepare_text(session, conv, "Recordatorio de pago", author="bot")
    assert session.execute(select(Debtor.opted_out)).scalar_one()


def test_a_message_that_keeps_failing_is_set_aside_and_does_not_block_the_next(
    client, session, make_debtor, rasa_double, sandbox_provider
):
    from bot.conversation.inbox import MAX_ATTEMPTS
    from bot.worker.inbound import handle_inbound

    make_debtor("CO-1", phone=PHONE)
    rasa_double.reject.add("veneno")
    bad = _post_only(client, session, "veneno")
    job = Job(id="1-0", partition=0, key=PHONE, kind="inbound_message", payload={"message_id": bad})
    for _ in range(MAX_ATTEMPTS):
        with pytest.raises(ValueError):
            handle_inbound(job)
    session.expire_all()
    assert session.get(Message, bad).status == "error"
    _say(client, session, "hola")
    assert [m.body for m in _out(session)] == ["eco: hola"]


def _post_only(client, session, text):
    post_inbound(client, inbound_params(PHONE, text))
    session.expire_all()
    return session.execute(select(Message.id).order_by(Message.id.desc())).scalars().first()


def test_other_workers_writing_while_rasa_thinks_do_not_make_the_turn_run_twice(
    client, session, make_debtor, rasa_double, sandbox_provider
):
    from bot.store import session_scope

    make_debtor("CO-1", phone=PHONE)
    other = make_debtor("CO-2", phone="+573001112244")
    reply = rasa_double.reply

    def busy_turn(payload):
        # Meanwhile another worker stores something (on SQLite: a commit after our snapshot began).
        with session_scope() as s:
            s.get(Debtor, other.id).name = "Otra Persona"
            s.commit()
        return reply(payload)

    rasa_double.reply = busy_turn
    mid = _say(client, session, "hola")
    assert len(rasa_double.calls) == 1, "the turn was sent to Rasa again"
    assert session.get(Message, mid).status == "processed"
    assert [m.body for m in _out(session)] == ["eco: hola"]
