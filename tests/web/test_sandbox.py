"""Sandbox: the outbox API (docs/api.md) and the phone simulator's backend."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.store.models import Message
from tests.worker.doubles import FakeRasa, set_env, wait_for


@pytest.fixture()
def sandbox(redis_client):
    from bot.providers.factory import set_messaging_provider
    from bot.providers.sandbox_messaging import SandboxMessaging

    provider = SandboxMessaging(delays=(0.05, 0.1, 0.15))
    set_messaging_provider(provider)
    yield provider
    set_messaging_provider(None)


def test_outbox_needs_the_api_key(client, redis_client):
    r = client.get("/api/v1/sandbox/outbox")
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    r = client.get("/api/v1/sandbox/outbox", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401


def test_outbox_lists_sends_oldest_first_in_e164(client, api_headers, sandbox):
    sandbox.send("+573001112233", "whatsapp", body="uno")
    sandbox.send("+573001112233", "sms", body="dos")
    sandbox.send("+525512342201", "whatsapp", body="otro")
    r = client.get("/api/v1/sandbox/outbox?to=%2B573001112233", headers=api_headers)
    assert r.status_code == 200
    items = r.json["messages"]
    assert [(m["to"], m["channel"], m["body"]) for m in items] == [
        ("+573001112233", "whatsapp", "uno"),
        ("+573001112233", "sms", "dos"),
    ]
    assert {"to", "channel", "body", "status", "created_at"} <= set(items[0])
    assert items[0]["created_at"].endswith("Z")
    # A WhatsApp-style +521 number finds the same person.
    r = client.get("/api/v1/sandbox/outbox", query_string={"to": "whatsapp:+5215512342201"}, headers=api_headers)
    assert [m["body"] for m in r.json["messages"]] == ["otro"]
    assert len(client.get("/api/v1/sandbox/outbox", headers=api_headers).json["messages"]) == 3
    assert client.get("/api/v1/sandbox/outbox?to=abc", headers=api_headers).status_code == 400


def test_outbox_status_follows_the_simulated_callbacks(client, api_headers, sandbox):
    sandbox.send("+573001112233", "whatsapp", body="uno")

    def read():
        r = client.get("/api/v1/sandbox/outbox?to=%2B573001112233", headers=api_headers)
        return r.json["messages"][0]["status"] == "read"

    wait_for(read, timeout=5)


def test_not_registered_when_messaging_is_twilio(db, redis_url):
    from bot.web import create_app

    set_env(MESSAGING_PROVIDER="twilio")
    try:
        app = create_app({"TESTING": True, "DATABASE_URL": db})
        client = app.test_client()
        assert client.get("/sandbox/phone").status_code == 404
        assert client.get("/api/v1/sandbox/outbox", headers={"Authorization": "Bearer x"}).status_code in (401, 404)
    finally:
        set_env(MESSAGING_PROVIDER="sandbox")


def test_phone_page_and_debtor_list(client, make_debtor, redis_client):
    make_debtor("MX-1", phone="+524000123401", country="MX", timezone="America/Mexico_City", document_last4="2045")
    make_debtor(
        "MX-2",
        phone="+525512342201",
        country="MX",
        timezone="America/Mexico_City",
        document_last4="7777",
        name="Persona Real",
    )
    r = client.get("/sandbox/phone")
    assert r.status_code == 200 and "Simulador de teléfono" in r.get_data(as_text=True)
    # anyone who reaches the demo sees the fictitious demo people only, never a real debtor's data
    body = client.get("/sandbox/phone/debtors")
    [d] = body.json["debtors"]
    assert (d["external_id"], d["phone"], d["document_last4"]) == ("MX-1", "+524000123401", "2045")
    text = body.get_data(as_text=True)
    assert "Persona Real" not in text and "7777" not in text and "5512342201" not in text


def test_phone_send_posts_a_signed_webhook_through_the_real_edge(client, session, make_debtor, redis_client):
    make_debtor("MX-1", phone="+525512342201", country="MX", timezone="America/Mexico_City")
    r = client.post(
        "/sandbox/phone/send", json={"phone": "+525512342201", "channel": "whatsapp", "body": "¡Hola! ¿cuánto debo?"}
    )
    assert r.status_code == 200
    [m] = session.execute(select(Message)).scalars()
    assert m.provider_sid == r.json["sid"] and m.body == "¡Hola! ¿cuánto debo?"
    assert (m.channel, m.from_phone, m.status) == ("whatsapp", "+525512342201", "received")
    r = client.post("/sandbox/phone/send", json={"phone": "+525512342201", "channel": "sms", "body": "hola"})
    assert r.status_code == 200
    msgs = client.get("/sandbox/phone/messages?phone=%2B525512342201").json["messages"]
    assert [(x["direction"], x["channel"]) for x in msgs] == [("in", "whatsapp"), ("in", "sms")]


@pytest.mark.parametrize(
    "body",
    [
        {"phone": "+525512342201", "channel": "fax", "body": "x"},
        {"phone": "+525512342201", "channel": "sms", "body": ""},
        {"phone": "nope", "channel": "sms", "body": "hola"},
    ],
)
def test_phone_send_validates(client, db, redis_client, body):
    assert client.post("/sandbox/phone/send", json=body).status_code == 400


def test_phone_conversation_end_to_end_with_a_worker(client, session, make_debtor, sandbox, run_worker_here):
    make_debtor("CO-1", phone="+573001112233")
    client.post("/sandbox/phone/send", json={"phone": "+573001112233", "channel": "sms", "body": "¿Cuánto debo?"})

    def answered():
        msgs = client.get("/sandbox/phone/messages?phone=%2B573001112233").json["messages"]
        outs = [x for x in msgs if x["direction"] == "out"]
        return outs and outs[0]["status"] == "delivered" and outs[0]

    out = wait_for(answered, timeout=15)
    assert out["body"] == "eco: ¿Cuanto debo?" and out["encoding"] == "GSM-7" and out["segments"] == 1


@pytest.fixture()
def run_worker_here(redis_client):
    from bot.platform.queue import QueueWorker
    from bot.platform.redis_client import get_queue
    from bot.worker import jobs

    rasa = FakeRasa()
    set_env(RASA_URL=rasa.url)
    jobs.load_handlers()
    worker = QueueWorker(get_queue(), jobs.dispatch, consumer="web-test", lease_ms=2000, block_ms=100)
    worker.start()
    yield worker
    worker.stop(5)
    set_env(RASA_URL=None)
    rasa.close()


def test_phone_send_with_a_receipt_photo(client, session, make_debtor, redis_client):
    make_debtor("CO-1", phone="+573001112233")
    r = client.post("/sandbox/phone/send", json={"phone": "+573001112233", "channel": "whatsapp", "media": True})
    assert r.status_code == 200
    [m] = session.execute(select(Message)).scalars()
    assert m.body == "" and m.media[0]["content_type"] == "image/svg+xml"
    assert client.get("/sandbox/phone/sample-receipt.svg").mimetype == "image/svg+xml"
    [shown] = client.get("/sandbox/phone/messages?phone=%2B573001112233").json["messages"]
    assert shown["media"] == m.media


def test_phone_shows_the_bots_buttons_and_a_click_posts_them_as_twilio_does(
    client, session, make_debtor, sandbox, redis_client
):
    """Issue #27 §2: the simulator shows WhatsApp's buttons under the bot's question; a click posts ButtonPayload
    and ButtonText through the signed webhook, and the bot gets the option's payload."""
    from bot.platform.queue import QueueWorker
    from bot.platform.redis_client import get_queue
    from bot.worker import jobs

    rasa = FakeRasa()
    rasa.reply = lambda p: [
        {
            "recipient_id": p["sender"],
            "text": "¿Le envío el link?",
            "buttons": [{"title": "Sí", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}],
        }
    ]
    set_env(RASA_URL=rasa.url)
    jobs.load_handlers()
    worker = QueueWorker(get_queue(), jobs.dispatch, consumer="web-test", lease_ms=2000, block_ms=100)
    worker.start()
    try:
        make_debtor("CO-1", phone="+573001112233")
        client.post("/sandbox/phone/send", json={"phone": "+573001112233", "channel": "whatsapp", "body": "hola"})

        def question():
            msgs = client.get("/sandbox/phone/messages?phone=%2B573001112233").json["messages"]
            return next((x for x in msgs if x["direction"] == "out" and x["status"] != "pending"), None)

        shown = wait_for(question, timeout=15)
        assert [b["title"] for b in shown["buttons"]] == ["Sí", "No"]
        assert shown["buttons"][0]["id"] == f"c{shown['id']}.1"
        r = client.post(
            "/sandbox/phone/send",
            json={"phone": "+573001112233", "channel": "whatsapp", "button": shown["buttons"][0]},
        )
        assert r.status_code == 200
        wait_for(lambda: len(rasa.calls) == 2, timeout=15)
        assert rasa.calls[1]["message"] == "/affirm" and rasa.calls[1]["metadata"]["choice"]["title"] == "Sí"
        tapped = session.execute(select(Message).where(Message.button_payload.is_not(None))).scalar_one()
        assert (tapped.body, tapped.button_payload) == ("Sí", shown["buttons"][0]["id"])
    finally:
        worker.stop(5)
        set_env(RASA_URL=None)
        rasa.close()


@pytest.mark.parametrize(
    "button",
    [{"id": "c1.1"}, {"id": 5, "title": "Sí"}, {"id": "", "title": "Sí"}, "c1.1"],
)
def test_phone_button_clicks_are_validated(client, db, redis_client, button):
    r = client.post("/sandbox/phone/send", json={"phone": "+573001112233", "channel": "whatsapp", "button": button})
    assert r.status_code == 400 and r.json["error"]["code"] == "bad_request"
    sms = {"phone": "+573001112233", "channel": "sms", "button": {"id": "c1.1", "title": "Sí"}}
    assert client.post("/sandbox/phone/send", json=sms).status_code == 400  # SMS has no buttons
