"""Parsing Twilio's inbound webhook; compliance keywords; WhatsApp templates."""

from __future__ import annotations

import pytest

from bot.conversation import keywords
from bot.messaging import templates
from bot.messaging.twilio_messages import InboundError, parse_inbound, whatsapp_wire_number


def test_whatsapp_inbound_with_media_and_profile():
    msg = parse_inbound(
        {
            "MessageSid": "SM1",
            "AccountSid": "AC1",
            "From": "whatsapp:+5215512342201",
            "To": "whatsapp:+15005550006",
            "Body": "¡Hola! ñandú 😀 ",
            "NumMedia": "2",
            "MediaUrl0": "https://m/0",
            "MediaContentType0": "image/jpeg",
            "MediaUrl1": "https://m/1",
            "MediaContentType1": "application/pdf",
            "ProfileName": "Lupita",
            "WaId": "5215512342201",
        }
    )
    assert msg.sid == "SM1" and msg.channel == "whatsapp"
    assert msg.from_phone == "+525512342201"  # one E.164 form per person
    assert msg.body == "¡Hola! ñandú 😀 "  # unchanged, not even stripped
    assert msg.media == [
        {"url": "https://m/0", "content_type": "image/jpeg"},
        {"url": "https://m/1", "content_type": "application/pdf"},
    ]
    assert msg.profile_name == "Lupita" and msg.to == "+15005550006"


def test_sms_inbound():
    msg = parse_inbound({"MessageSid": "SM2", "From": "+573001112233", "To": "+15005550006", "Body": "hola"})
    assert (msg.channel, msg.from_phone, msg.media) == ("sms", "+573001112233", [])


@pytest.mark.parametrize(
    "form", [{}, {"MessageSid": "SM1"}, {"MessageSid": "SM1", "From": "whatsapp:+1"}, {"From": "+573001112233"}]
)
def test_unusable_webhooks(form):
    with pytest.raises(InboundError):
        parse_inbound(form)


def test_a_nul_character_is_dropped_and_the_rest_kept_as_typed():
    message = parse_inbound({"MessageSid": "SM1", "From": "+573001112233", "Body": "hola\x00 ¿cuánto debo? 😊"})
    assert message.body == "hola ¿cuánto debo? 😊"


def test_whatsapp_wire_number_for_mexico():
    assert whatsapp_wire_number("+525512342201") == "+5215512342201"
    assert whatsapp_wire_number("+573001112233") == "+573001112233"


@pytest.mark.parametrize(
    "text,kind",
    [
        ("BAJA", "opt_out"),
        ("baja", "opt_out"),
        ("Bája", "opt_out"),
        ("¡BAJA!", "opt_out"),
        (" alto. ", "opt_out"),
        ("CANCELAR", "opt_out"),
        ("Salir", "opt_out"),
        ("STOP", "opt_out"),
        ("stop all", "opt_out"),
        ("Unsubscribe", "opt_out"),
        ("no más", "opt_out"),
        ("ALTA", "opt_in"),
        ("start", "opt_in"),
        ("UNSTOP", "opt_in"),
        ("ayuda", "help"),
        ("AYUDA?", "help"),
        ("Help", "help"),
        ("INFO", "help"),
        ("Información", "help"),
    ],
)
def test_keywords(text, kind):
    assert keywords.classify(text)[0] == kind


@pytest.mark.parametrize(
    "text",
    [
        "hola",
        "ya no me escriban",
        "quiero darme de baja del servicio",
        "stop llamarme",
        "necesito ayuda con mi pago",
        "",
    ],
)
def test_looser_wordings_are_not_keywords(text):
    assert keywords.classify(text) is None


def test_templates_file_is_valid_and_renders():
    loaded = templates.load_templates()
    assert {"reengage", "payment_reminder"} <= set(loaded)
    t = loaded["payment_reminder"]
    numbered = t.content_variables({"name": "Ana", "business": "Aurora", "due_date": "10/12"})
    assert numbered == {"1": "Aurora"}  # the sender only: nothing about the debtor before verification
    assert "Aurora" in t.render(numbered) and "{{" not in t.render(numbered)
    with pytest.raises(templates.TemplateError):
        t.content_variables({"name": "Ana"})
    assert templates.preview(t.content_sid, '{"1": "Aurora"}') == t.render(numbered)


def test_a_tapped_button_keeps_its_id_and_its_title_as_the_body():
    form = {"MessageSid": "SM2", "From": "whatsapp:+573001112233", "ButtonPayload": "c41.2", "ButtonText": "No"}
    msg = parse_inbound({**form, "Body": "No"})
    assert (msg.button_payload, msg.body) == ("c41.2", "No")
    assert parse_inbound(form).body == "No"  # no Body: the button's title
    listed = parse_inbound({"MessageSid": "SM3", "From": "whatsapp:+573001112233", "ListId": "c41.5", "ListTitle": "6"})
    assert (listed.button_payload, listed.body) == ("c41.5", "6")
    assert parse_inbound({"MessageSid": "SM4", "From": "+573001112233", "Body": "2"}).button_payload is None
