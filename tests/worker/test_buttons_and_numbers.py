"""Issue #27 §2: the bot's choices as WhatsApp buttons (the phone simulator's and Twilio's Content API) or numbered
SMS lines, and the debtor's pick (a tapped button, a bare number) read against the open question, without the NLU."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.messaging import choices as offers
from bot.platform.queue import Job
from bot.store.models import Message
from tests.worker.doubles import inbound_params, post_inbound

PHONE = "+573001112233"
YES_NO = [{"title": "Sí", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
COUNTS = [{"title": f"{n} cuotas", "payload": f'/inform{{"installments":"{n}"}}'} for n in (3, 6, 12)]


def _handle(session, phone=PHONE):
    from bot.worker.inbound import handle_inbound

    session.expire_all()
    m = session.execute(select(Message).where(Message.direction == "in").order_by(Message.id.desc())).scalars().first()
    handle_inbound(Job(id="1-0", partition=0, key=phone, kind="inbound_message", payload={"message_id": m.id}))
    session.expire_all()
    return m.id


def _say(client, session, text, channel="whatsapp", button=None):
    params = inbound_params(PHONE, text, channel)
    if button is not None:
        params.update({"ButtonPayload": button[0], "ButtonText": button[1]})
    assert post_inbound(client, params).status_code == 200
    return _handle(session)


def _asks(rasa_double, buttons, text="¿Le envío el link para pagar?"):
    """The bot's next turn answers with this question and its buttons (as Rasa's channel returns them)."""
    rasa_double.reply = lambda p: [{"recipient_id": p["sender"], "text": text, "buttons": buttons}]


def _echoes(rasa_double):
    rasa_double.reply = lambda p: [{"recipient_id": p["sender"], "text": f"eco: {p['message']}"}]


def _last_out(session):
    session.expire_all()
    return (
        session.execute(select(Message).where(Message.direction == "out").order_by(Message.id.desc())).scalars().first()
    )


def test_whatsapp_buttons_go_to_the_phone_and_a_tap_is_the_options_payload(
    client, session, make_debtor, rasa_double, sandbox_provider, api_headers
):
    make_debtor("CO-1", phone=PHONE)
    _asks(rasa_double, YES_NO)
    _say(client, session, "cuánto debo")
    question = _last_out(session)
    assert question.body == "¿Le envío el link para pagar?" and question.choices == YES_NO
    [sent] = sandbox_provider.outbox(PHONE)
    ids = [f"c{question.id}.1", f"c{question.id}.2"]
    assert json.loads(sent["choices"]) == [{"id": ids[0], "title": "Sí"}, {"id": ids[1], "title": "No"}]
    [listed] = client.get("/api/v1/sandbox/outbox?to=%2B573001112233", headers=api_headers).json["messages"]
    assert listed["buttons"] == [{"id": ids[0], "title": "Sí"}, {"id": ids[1], "title": "No"}]
    assert sent["body"] == "¿Le envío el link para pagar?"  # no numbers on WhatsApp: the buttons show

    _echoes(rasa_double)
    mid = _say(client, session, "No", button=(ids[1], "No"))
    call = rasa_double.calls[-1]
    assert call["message"] == "/deny"  # the option's payload, not the NLU's reading of "No"
    assert call["metadata"]["choice"] == {"question": question.id, "option": 2, "title": "No"}
    inbound = session.get(Message, mid)
    assert (inbound.body, inbound.button_payload) == ("No", ids[1])  # what the debtor saw and tapped


def test_a_button_of_an_older_question_is_answered_and_not_carried_out(
    client, session, make_debtor, rasa_double, sandbox_provider
):
    make_debtor("CO-1", phone=PHONE)
    _asks(rasa_double, YES_NO)
    _say(client, session, "cuánto debo")
    old = _last_out(session)
    _asks(rasa_double, COUNTS, "¿En cuántas cuotas?")
    _say(client, session, "quiero cuotas")
    calls = len(rasa_double.calls)
    _say(client, session, "Sí", button=(f"c{old.id}.1", "Sí"))
    assert len(rasa_double.calls) == calls  # nothing of the old question reaches the bot
    assert _last_out(session).body.startswith("Esa opción era de una pregunta anterior.")

    # the latest question's own button is current, even though an older one was tapped in between
    new = session.execute(select(Message).where(Message.choices.is_not(None)).order_by(Message.id.desc())).scalar()
    assert new.id != old.id
    _say(client, session, "6 cuotas", button=(f"c{new.id}.2", "6 cuotas"))
    assert rasa_double.calls[-1]["message"] == '/inform{"installments":"6"}'


def test_an_older_option_that_says_what_it_is_is_still_carried_out(
    client, session, make_debtor, rasa_double, sandbox_provider
):
    """ "6 cuotas", "Ver mi saldo", an invoice: pressed after other messages, the option still names what the debtor
    wants, so the bot reads it now (flagged stale: its own question is no longer open). Only a «Sí» / «No» needs
    its question."""
    make_debtor("CO-1", phone=PHONE)
    _asks(rasa_double, COUNTS, "¿En cuántas cuotas?")
    _say(client, session, "quiero cuotas")
    plans = _last_out(session)
    _asks(rasa_double, YES_NO)
    _say(client, session, "cuánto debo")
    _echoes(rasa_double)
    _say(client, session, "6 cuotas", button=(f"c{plans.id}.2", "6 cuotas"))
    call = rasa_double.calls[-1]
    assert call["message"] == '/inform{"installments":"6"}'
    assert call["metadata"]["choice"] == {"question": plans.id, "option": 2, "title": "6 cuotas", "stale": True}


def test_a_button_answered_by_typing_first_is_stale(client, session, make_debtor, rasa_double, sandbox_provider):
    """The debtor typed something else after the question: a later tap on its button acts on nothing."""
    make_debtor("CO-1", phone=PHONE)
    _asks(rasa_double, YES_NO)
    _say(client, session, "cuánto debo")
    question = _last_out(session)
    _echoes(rasa_double)
    _say(client, session, "y cuándo vence?")
    _say(client, session, "Sí", button=(f"c{question.id}.1", "Sí"))
    assert [c["message"] for c in rasa_double.calls] == ["cuánto debo", "y cuándo vence?"]


@pytest.mark.parametrize("payload", ["c999999.1", "anything", "c1.9"])
def test_a_button_id_that_is_not_a_question_of_this_conversation_is_read_as_text(
    client, session, make_debtor, rasa_double, sandbox_provider, payload
):
    """An id that names no question of this conversation and no approved template's button (a forged id): the text
    goes to the bot as typed, and its payload syntax stays defused by the channel (no ``choice`` in the metadata)."""
    make_debtor("CO-1", phone=PHONE)
    _asks(rasa_double, YES_NO)
    _say(client, session, "hola")
    _echoes(rasa_double)
    _say(client, session, "/affirm", button=(payload, "/affirm"))
    call = rasa_double.calls[-1]
    assert call["message"] == "/affirm" and "choice" not in call["metadata"]


def test_sms_numbers_the_choices_and_a_bare_number_picks_one(
    client, session, make_debtor, rasa_double, sandbox_provider
):
    make_debtor("CO-1", phone=PHONE)
    _asks(rasa_double, YES_NO)
    _say(client, session, "cuanto debo", channel="sms")
    question = _last_out(session)
    assert question.channel == "sms"
    assert question.body == "¿Le envio el link para pagar?\n1. Si\n2. No\nResponda 1 o 2."
    _echoes(rasa_double)
    _say(client, session, "la 2", channel="sms")
    assert rasa_double.calls[-1]["message"] == "/deny"
    # the question was answered: a second "1" is a number like any other
    _say(client, session, "1", channel="sms")
    assert rasa_double.calls[-1]["message"] == "1" and "choice" not in rasa_double.calls[-1]["metadata"]


def test_a_question_followed_by_more_of_the_bot_is_no_longer_open(
    client, session, make_debtor, rasa_double, sandbox_provider
):
    """A later message (more of the bot's turn, an agent, a payment notice) closes the question: "2" is the bot's to
    read, and the question's button is stale."""
    make_debtor("CO-1", phone=PHONE)
    rasa_double.reply = lambda p: [
        {"recipient_id": p["sender"], "text": "¿Le envío el link?", "buttons": YES_NO},
        {"recipient_id": p["sender"], "text": "¿Qué día puede pagar?"},
    ]
    _say(client, session, "hola", channel="sms")
    question = session.execute(select(Message).where(Message.choices.is_not(None))).scalar_one()
    _echoes(rasa_double)
    _say(client, session, "2", channel="sms")
    assert rasa_double.calls[-1]["message"] == "2"
    calls = len(rasa_double.calls)
    _say(client, session, "Sí", button=(f"c{question.id}.1", "Sí"))
    assert len(rasa_double.calls) == calls


def test_four_digits_to_the_identity_question_are_never_an_option(
    client, session, make_debtor, rasa_double, sandbox_provider
):
    make_debtor("CO-1", phone=PHONE)
    _asks(rasa_double, [{"title": str(n), "payload": f'/inform{{"installments":"{n}"}}'} for n in range(1, 11)])
    _say(client, session, "hola", channel="sms")
    _echoes(rasa_double)
    _say(client, session, "4821", channel="sms")
    assert rasa_double.calls[-1]["message"] == "4821"


def test_numeric_titles_are_read_by_their_own_number(client, session, make_debtor, rasa_double, sandbox_provider):
    """ "3 cuotas / 6 cuotas / 12 cuotas": "6" is six instalments, and "2" is no option (the bot reads it)."""
    make_debtor("CO-1", phone=PHONE)
    _asks(rasa_double, COUNTS, "¿En cuántas cuotas?")
    _say(client, session, "quiero cuotas", channel="sms")
    assert _last_out(session).body == "¿En cuantas cuotas?\n- 3 cuotas\n- 6 cuotas\n- 12 cuotas"
    _echoes(rasa_double)
    _say(client, session, "2", channel="sms")
    assert rasa_double.calls[-1]["message"] == "2"
    _asks(rasa_double, COUNTS, "¿En cuántas cuotas?")
    _say(client, session, "cuotas", channel="sms")
    _echoes(rasa_double)
    _say(client, session, "opción 12", channel="sms")
    assert rasa_double.calls[-1]["message"] == '/inform{"installments":"12"}'


def test_a_typed_payload_never_passes_as_a_choice(client, session, make_debtor, rasa_double, sandbox_provider):
    make_debtor("CO-1", phone=PHONE)
    _asks(rasa_double, YES_NO)
    _say(client, session, "hola")
    _echoes(rasa_double)
    _say(client, session, "/affirm")
    call = rasa_double.calls[-1]
    assert call["message"] == "/affirm" and "choice" not in call["metadata"]


@pytest.mark.parametrize(
    "text,options,expected",
    [
        ("2", YES_NO, 1),
        ("  Opción 1. ", YES_NO, 0),
        ("#2", YES_NO, 1),
        ("3", YES_NO, None),
        ("0", YES_NO, None),
        ("2 por favor", YES_NO, None),
        ("12", COUNTS, 2),
        ("la 3", COUNTS, 0),
        ("1", COUNTS, None),
        ("el 15", [{"title": "El 15 de enero", "payload": "/x"}, {"title": "El 30 de enero", "payload": "/y"}], 0),
        ("4821", [{"title": str(n), "payload": "/x"} for n in range(1, 11)], None),
        # invoices named "F-7" and "F-12" are numbered 1 and 2, not read as days 7 and 12
        ("2", [{"title": "F-7 · Televisor", "payload": "/x"}, {"title": "F-12 · Celular", "payload": "/y"}], 1),
        ("12", [{"title": "F-7 · Televisor", "payload": "/x"}, {"title": "F-12 · Celular", "payload": "/y"}], None),
    ],
)
def test_option_by_number(text, options, expected):
    assert offers.option_by_number(text, options) == expected


def test_choices_kept_are_intent_payloads_or_links_only():
    kept = offers.clean(
        [
            {"title": "Sí", "payload": "/affirm"},
            {"title": "Texto", "payload": "hola"},  # not a payload: dropped
            {"title": "", "payload": "/deny"},
            {"title": "Pagar", "url": "https://pagos.example/p/abc"},
            {"title": "Raro", "url": "javascript:alert(1)"},
            "no",
        ]
    )
    assert kept == [{"title": "Sí", "payload": "/affirm"}, {"title": "Pagar", "url": "https://pagos.example/p/abc"}]


# --- Twilio's Content API: the real twilio SDK against the local double ---------------------------------------
@pytest.fixture()
def twilio(twilio_double, redis_client):
    from bot.platform.config import get_settings
    from bot.providers.factory import set_messaging_provider
    from bot.providers.twilio import TwilioMessaging
    from tests.worker.doubles import set_env

    set_env(TWILIO_API_BASE=twilio_double.url, MESSAGING_PROVIDER="twilio", RECOBRA_RATE_WHATSAPP="1000")
    set_messaging_provider(TwilioMessaging(get_settings()))
    yield twilio_double
    set_messaging_provider(None)
    set_env(TWILIO_API_BASE=None, MESSAGING_PROVIDER="sandbox", RECOBRA_RATE_WHATSAPP=None)


def _conversation(session, make_debtor, channel="whatsapp"):
    from datetime import timedelta

    from bot.conversation.handoffs import get_or_create_conversation
    from bot.messaging import outbox

    d = make_debtor("CO-1", phone=PHONE)
    conv = get_or_create_conversation(session, PHONE, d)
    conv.last_channel = channel
    conv.last_whatsapp_inbound_at = outbox.utcnow() - timedelta(hours=1)
    session.commit()
    return conv


def _send(session, conv, body, options):
    from bot.messaging import outbox

    rows = outbox.prepare_text(session, conv, body, reply=True, choices=options)
    session.commit()
    outbox.deliver_pending(session, conv.id)
    session.refresh(rows[-1])
    return rows[-1]


def test_quick_replies_are_session_content_created_once_per_shape(session, make_debtor, twilio):
    conv = _conversation(session, make_debtor)
    first = _send(session, conv, "¿Le envío el link para pagar?", YES_NO)
    [created] = twilio.contents
    quick = created["types"]["twilio/quick-reply"]
    assert quick["body"] == "{{1}}" and [a["type"] for a in quick["actions"]] == ["QUICK_REPLY", "QUICK_REPLY"]
    [req] = twilio.requests
    assert "Body" not in req and req["ContentSid"][0].startswith("HX")
    values = json.loads(req["ContentVariables"][0])
    assert values == {
        "1": "¿Le envío el link para pagar?",
        "2": "Sí",
        "3": f"c{first.id}.1",
        "4": "No",
        "5": f"c{first.id}.2",
    }
    assert first.provider_sid and first.body == "¿Le envío el link para pagar?"

    second = _send(session, conv, "¿Confirmo su promesa de pago?", YES_NO)
    assert len(twilio.contents) == 1  # the same shape: the same content
    assert twilio.requests[1]["ContentSid"] == req["ContentSid"]
    assert json.loads(twilio.requests[1]["ContentVariables"][0])["3"] == f"c{second.id}.1"


def test_more_than_three_options_go_as_a_list_and_a_link_as_a_call_to_action(session, make_debtor, twilio):
    conv = _conversation(session, make_debtor)
    five = [{"title": f"{n} cuotas", "payload": f'/inform{{"installments":"{n}"}}'} for n in (2, 3, 4, 6, 12)]
    _send(session, conv, "¿En cuántas cuotas?", five)
    picker = twilio.contents[0]["types"]["twilio/list-picker"]
    assert len(picker["items"]) == 5 and picker["button"] == "Ver opciones"
    _send(session, conv, "Su link de pago por $185.000", [{"title": "Pagar", "url": "https://pagos.example/p/Ab12"}])
    cta = twilio.contents[1]["types"]["twilio/call-to-action"]
    assert cta["actions"] == [{"type": "URL", "title": "{{2}}", "url": "https://pagos.example/{{3}}"}]
    assert json.loads(twilio.requests[1]["ContentVariables"][0])["3"] == "p/Ab12"


def test_a_list_pickers_rows_are_written_in_the_text_too_and_a_number_or_a_tap_answers(session, make_debtor, twilio):
    """A list picker hides its rows behind «Ver opciones»: the question shows the invoices at a glance."""
    conv = _conversation(session, make_debtor)
    invoices = [
        {"title": "F-2026-009 · Televisor ($300.000)", "payload": '/inform{"invoice": "F-2026-009"}'},
        {"title": "F-2026-014 · Celular ($120.000)", "payload": '/inform{"invoice": "F-2026-014"}'},
        {"title": "Todas", "payload": '/inform{"invoice": "all"}'},
    ]
    row = _send(session, conv, "¿De cuál de sus facturas se trata? Responda con el número:", invoices)
    assert row.body == (
        "¿De cuál de sus facturas se trata? Responda con el número:\n"
        "1. F-2026-009 · Televisor ($300.000)\n2. F-2026-014 · Celular ($120.000)\n3. Todas"
    )
    picker = twilio.contents[0]["types"]["twilio/list-picker"]
    assert len(picker["items"]) == 3
    yes_no = _send(session, conv, "¿Le envío el link para pagar?", YES_NO)
    assert yes_no.body == "¿Le envío el link para pagar?"  # quick replies show their titles: nothing added


def test_content_twilio_refuses_goes_out_as_numbered_text(session, make_debtor, twilio):
    conv = _conversation(session, make_debtor)
    twilio.content_script = [400]
    row = _send(session, conv, "¿Le envío el link para pagar?", YES_NO)
    [req] = twilio.requests
    assert req["Body"] == ["¿Le envío el link para pagar?\n1. Sí\n2. No"] and "ContentSid" not in req
    assert row.provider_sid  # the message went, without buttons


def test_content_twilio_cannot_create_now_is_retried_later(session, make_debtor, twilio):
    from bot.platform.queue import Retry

    conv = _conversation(session, make_debtor)
    twilio.content_script = [503, 503, 503]
    with pytest.raises(Retry):
        _send(session, conv, "¿Le envío el link para pagar?", YES_NO)
    assert twilio.requests == []  # nothing sent without its buttons while Twilio is away


def test_more_than_ten_options_are_written_in_the_text(session, make_debtor, twilio):
    conv = _conversation(session, make_debtor)
    many = [{"title": f"Factura {n}", "payload": "/affirm"} for n in range(11)]
    row = _send(session, conv, "¿Cuál factura?", many)
    assert twilio.contents == [] and "11. Factura 10" in twilio.requests[0]["Body"][0]
    assert row.choices == many  # "11" still picks the eleventh


def test_a_long_text_takes_more_variables_not_a_content_of_its_own():
    """Twilio takes at most 255 characters in a variable: a longer text is cut into several, so that every plan
    offer (a few lines) still shares one content."""
    from bot.providers import twilio_content

    choices = [{"id": "c7.1", "title": "Sí"}, {"id": "c7.2", "title": "No"}]
    short = twilio_content.build("¿Le envío el link?", choices)
    assert short.key == "quick-reply:2:1:es" and short.variables["1"] == "¿Le envío el link?"
    long_text = "Su saldo es de $185.000. " * 12 + "¿Le envío el link?"  # over 255
    long = twilio_content.build(long_text, choices)
    assert long.types["twilio/quick-reply"]["body"] == "{{1}}{{2}}"
    assert long.variables["1"] + long.variables["2"] == long_text and len(long.variables["1"]) == 255
    assert long.types["twilio/quick-reply"]["actions"][1] == {"type": "QUICK_REPLY", "title": "{{5}}", "id": "{{6}}"}
    assert long.variables["6"] == "c7.2"
    other = twilio_content.build("Otro texto, tan largo como haga falta. " * 8, choices)
    assert other.key == long.key == "quick-reply:2:2:es"  # the same shape: the same content
    path = "p/" + "x" * 300  # a link's path too long for a variable: written in, a content of its own
    cta = twilio_content.build("Pague aquí", [{"id": "c9.1", "title": "Pagar", "url": "https://pagos.example/" + path}])
    assert cta.variables == {} and cta.types["twilio/call-to-action"]["actions"][0]["url"].endswith(path)
    with pytest.raises(twilio_content.NoContent):
        twilio_content.build("Pague aquí", [{"id": "c9.1", "title": "Pagar", "url": "http://localhost:8000/p/x"}])
    with pytest.raises(twilio_content.NoContent):
        twilio_content.build("x" * 1025, choices)


def test_titles_too_long_for_a_button_go_as_a_list_with_their_whole_title():
    from bot.providers import twilio_content

    invoices = [
        {"id": "c5.1", "title": "Celular Samsung A15 ($185.000)"},
        {"id": "c5.2", "title": "F-2026-014 ($60.000)"},
    ]
    content = twilio_content.build("¿Cuál factura?", invoices)
    [first, second] = content.types["twilio/list-picker"]["items"]
    assert content.variables[first["item"][2:-2]] == "Celular Samsung A15 ($18"  # a row holds 24 characters
    assert content.variables[first["description"][2:-2]] == "Celular Samsung A15 ($185.000)"
    assert content.variables[second["id"][2:-2]] == "c5.2" and content.key == "list-picker:2:described:1:es"
