"""Issue #27 §2: approved WhatsApp templates with quick-reply buttons. A debtor reached outside the 24-hour window (a
campaign reminder, the re-engagement) taps "Ver mi saldo" instead of typing: the template's static button id comes
back as ButtonPayload and is its intent, without the NLU, whenever it comes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.messaging import templates
from bot.store.models import Message
from tests.worker.doubles import inbound_params, post_inbound

PHONE = "+573001112233"
ROOT = Path(__file__).resolve().parents[2]
REQUESTS = [
    {"id": "recobra.check_balance", "title": "Ver mi saldo"},
    {"id": "recobra.claim_already_paid", "title": "Ya pagué"},
    {"id": "recobra.request_human", "title": "Hablar con un asesor"},
]


def _closed_window_conversation(session, make_debtor):
    """A debtor the bot has not heard from on WhatsApp for days: only an approved template may reach them."""
    from bot.conversation.handoffs import get_or_create_conversation

    debtor = make_debtor("CO-1", phone=PHONE)
    conv = get_or_create_conversation(session, PHONE, debtor)
    conv.last_channel = "whatsapp"
    conv.last_whatsapp_inbound_at = None
    session.commit()
    return conv


def _remind(session, conv, name="payment_reminder"):
    """What a campaign stage does outside the window (bot/worker/campaigns.py): the approved template, sent."""
    from bot.messaging import outbox

    row = outbox.prepare_template(session, conv, name, {"business": "Financiera Aurora"}, force=True)
    session.commit()
    outbox.deliver_pending(session, conv.id)
    session.refresh(row)
    return row


def _tap(client, session, button_id, title):
    """The debtor taps a button: Twilio's signed webhook with ButtonPayload/ButtonText, then the worker's job."""
    from bot.platform.queue import Job
    from bot.worker.inbound import handle_inbound

    params = inbound_params(PHONE, title, "whatsapp")
    params.update({"ButtonPayload": button_id, "ButtonText": title})
    assert post_inbound(client, params).status_code == 200
    session.expire_all()
    m = session.execute(select(Message).where(Message.direction == "in").order_by(Message.id.desc())).scalars().first()
    handle_inbound(Job(id="1-0", partition=0, key=PHONE, kind="inbound_message", payload={"message_id": m.id}))
    session.expire_all()
    return m


def _echoes(rasa_double):
    rasa_double.reply = lambda p: [{"recipient_id": p["sender"], "text": f"eco: {p['message']}"}]


def test_a_reminder_shows_its_approved_buttons_and_a_tap_is_its_intent_without_the_nlu(
    client, session, make_debtor, rasa_double, sandbox_provider, api_headers
):
    conv = _closed_window_conversation(session, make_debtor)
    reminder = _remind(session, conv)
    assert reminder.content_sid == templates.get_template("payment_reminder").content_sid
    [sent] = sandbox_provider.outbox(PHONE)
    assert json.loads(sent["choices"]) == REQUESTS  # the static ids approved with the template, not c<row>.<n>
    [listed] = client.get("/api/v1/sandbox/outbox?to=%2B573001112233", headers=api_headers).json["messages"]
    assert listed["buttons"] == REQUESTS and listed["body"].startswith("Hola, le saluda Financiera Aurora")
    # the phone simulator draws them under the template (its page reads this)
    shown = client.get("/sandbox/phone/messages?phone=%2B573001112233").json["messages"]
    assert [(m["template"], m["buttons"]) for m in shown] == [(True, REQUESTS)]

    _echoes(rasa_double)
    inbound = _tap(client, session, "recobra.check_balance", "Ver mi saldo")
    call = rasa_double.calls[-1]
    assert call["message"] == "/check_balance"  # the button's intent: the identity check comes first in the bot
    assert call["metadata"]["choice"] == {
        "question": reminder.id,
        "option": 1,
        "title": "Ver mi saldo",
        "template": "payment_reminder",
    }
    assert (inbound.body, inbound.button_payload) == ("Ver mi saldo", "recobra.check_balance")
    answer = session.execute(select(Message).where(Message.direction == "out").order_by(Message.id.desc())).scalar()
    assert answer.body == "eco: /check_balance" and answer.content_sid is None  # the tap opened the window


def test_the_reengagement_template_outside_the_window_has_the_buttons_too(
    client, session, make_debtor, rasa_double, sandbox_provider
):
    """A reply that can no longer go (window closed, SMS refused by the phone): the re-engagement goes, with buttons."""
    from bot.messaging import outbox
    from bot.store.models import Debtor

    conv = _closed_window_conversation(session, make_debtor)
    session.get(Debtor, conv.debtor_id).contact_status = "unsubscribed"  # STOP to SMS at Twilio
    rows = outbox.prepare_text(session, conv, "Su saldo es…", reply=True)
    session.commit()
    outbox.deliver_pending(session, conv.id)
    assert [r.status for r in rows[:1]] == ["failed"] and rows[1].content_sid
    [sent] = sandbox_provider.outbox(PHONE)
    assert json.loads(sent["choices"]) == REQUESTS

    _echoes(rasa_double)
    _tap(client, session, "recobra.request_human", "Hablar con un asesor")
    call = rasa_double.calls[-1]
    assert call["message"] == "/request_human"
    assert call["metadata"]["choice"]["template"] == "reengage"


def test_a_template_button_tapped_long_after_is_still_carried_out(
    client, session, make_debtor, rasa_double, sandbox_provider
):
    """A template button is a request that names itself: after other turns (even a newer question) it still asks for
    what it says, as the conversation stands now, and is not flagged stale."""
    conv = _closed_window_conversation(session, make_debtor)
    reminder = _remind(session, conv, "overdue_notice")
    rasa_double.reply = lambda p: [
        {
            "recipient_id": p["sender"],
            "text": "¿Le envío el link para pagar?",
            "buttons": [{"title": "Sí", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}],
        }
    ]
    _tap(client, session, "recobra.check_balance", "Ver mi saldo")
    _echoes(rasa_double)
    _tap(client, session, "recobra.claim_already_paid", "Ya pagué")
    call = rasa_double.calls[-1]
    assert call["message"] == "/claim_already_paid"
    assert call["metadata"]["choice"] == {
        "question": reminder.id,
        "option": 2,
        "title": "Ya pagué",
        "template": "overdue_notice",
    }


def test_a_template_button_whose_message_is_not_found_still_names_its_request(
    client, session, make_debtor, rasa_double, sandbox_provider
):
    """The template went long ago (or from a number this conversation no longer holds): the static id alone says what
    the debtor asks for."""
    make_debtor("CO-1", phone=PHONE)
    _echoes(rasa_double)
    _tap(client, session, "recobra.request_human", "Hablar con un asesor")
    call = rasa_double.calls[-1]
    assert call["message"] == "/request_human"
    assert call["metadata"]["choice"] == {
        "question": None,
        "option": 3,
        "title": "Hablar con un asesor",
        "template": "reengage",
    }


def test_a_number_after_a_template_and_an_undeclared_id_are_read_as_text(
    client, session, make_debtor, rasa_double, sandbox_provider
):
    conv = _closed_window_conversation(session, make_debtor)
    _remind(session, conv)
    _echoes(rasa_double)
    _tap(client, session, "recobra.something_else", "/affirm")  # no template declares it: text, defused by Rasa
    assert rasa_double.calls[-1]["message"] == "/affirm" and "choice" not in rasa_double.calls[-1]["metadata"]

    _remind(session, conv)  # another reminder, days later
    from bot.platform.queue import Job
    from bot.worker.inbound import handle_inbound

    assert post_inbound(client, inbound_params(PHONE, "1", "whatsapp")).status_code == 200
    session.expire_all()
    m = session.execute(select(Message).where(Message.direction == "in").order_by(Message.id.desc())).scalars().first()
    handle_inbound(Job(id="2-0", partition=0, key=PHONE, kind="inbound_message", payload={"message_id": m.id}))
    # the template's buttons are not numbered in its text: "1" is not "Ver mi saldo"
    assert rasa_double.calls[-1]["message"] == "1" and "choice" not in rasa_double.calls[-1]["metadata"]


# --- Twilio: the approved content carries the buttons ---------------------------------------------------------
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


def test_through_twilio_a_template_with_buttons_is_its_content_sid_and_nothing_is_created(session, make_debtor, twilio):
    """The real twilio SDK against the local double: the approved content shows its own buttons; Recobra sends the
    ContentSid and the business's name, no body and no session content."""
    conv = _closed_window_conversation(session, make_debtor)
    row = _remind(session, conv)
    [req] = twilio.requests
    assert req["ContentSid"] == [templates.get_template("payment_reminder").content_sid] and "Body" not in req
    assert json.loads(req["ContentVariables"][0]) == {"1": "Financiera Aurora"}
    assert twilio.contents == [] and row.provider_sid


# --- The config the operator fills ------------------------------------------------------------------------------
def test_every_template_button_asks_for_an_intent_the_bot_knows_and_discloses_nothing():
    known = set(yaml.safe_load((ROOT / "domain" / "intents.yml").read_text(encoding="utf-8"))["intents"])
    loaded = templates.load_templates()
    with_buttons = {name for name, t in loaded.items() if t.quick_replies}
    assert {"reengage", "payment_reminder", "overdue_notice"} <= with_buttons  # reminders and re-engagement
    for t in loaded.values():
        for q in t.quick_replies:
            assert q.payload[1:] in known, (t.name, q.payload)
            assert not any(ch.isdigit() for ch in q.title) and "Ana" not in q.title, (t.name, q.title)


def _load(tmp_path, replies):
    path = tmp_path / "templates.yml"
    spec = {"content_sid": "HX" + "0" * 31 + "1", "variables": ["business"], "quick_replies": replies}
    path.write_text(yaml.safe_dump({"templates": {"reengage": spec}}), encoding="utf-8")
    return templates.load_templates(str(path))


@pytest.mark.parametrize(
    ("replies", "said"),
    [
        ([{"id": "recobra.yes", "title": "Sí", "intent": "/affirm"}], "request"),
        ([{"id": "c12.1", "title": "Ver", "intent": "/check_balance"}], "static id"),
        ([{"id": "recobra.balance", "title": "Ver mi saldo de {{1}}", "intent": "/check_balance"}], "no variable"),
        ([{"id": "recobra.balance", "title": "Ver mi saldo", "intent": 'check_balance{"x":1}'}], "request"),
        ([{"id": f"recobra.r{n}", "title": "Ver", "intent": "/check_balance"} for n in range(4)], "at most 3"),
    ],
)
def test_a_button_the_bot_could_not_read_safely_is_refused_at_load(tmp_path, replies, said):
    with pytest.raises(templates.TemplateError, match=said):
        _load(tmp_path, replies)


def test_one_id_means_one_intent_in_every_template(tmp_path):
    path = tmp_path / "templates.yml"
    one = {"content_sid": "HX" + "0" * 31 + "1", "variables": ["business"]}
    two = {"content_sid": "HX" + "0" * 31 + "2", "variables": ["business"]}
    one["quick_replies"] = [{"id": "recobra.help", "title": "Ayuda", "intent": "/request_human"}]
    two["quick_replies"] = [{"id": "recobra.help", "title": "Ayuda", "intent": "/check_balance"}]
    path.write_text(yaml.safe_dump({"templates": {"a": one, "b": two}}), encoding="utf-8")
    with pytest.raises(templates.TemplateError, match="recobra.help"):
        templates.load_templates(str(path))
