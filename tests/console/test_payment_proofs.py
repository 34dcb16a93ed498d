# ruff: noqa: F811 - fixtures imported from tests/worker/doubles.py are parameters of the tests
"""A photo or PDF the debtor sends as proof of payment (issue #27 §4): it opens a "verify payment" task, the agent
sees the file in the console (through a view that fetches it with the provider's credentials) and confirms it (the
payment is recorded with every effect) or rejects it with a reason the debtor is told."""

from __future__ import annotations

import base64
import threading
from datetime import date, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from bot.billing import accounts, promises
from bot.platform.queue import Job
from bot.store.models import Conversation, Handoff, Invoice, Message, Payment, PaymentProof, Promise, Settlement
from tests import factories
from tests.console.helpers import login, token
from tests.worker.doubles import inbound_params, post_inbound, rasa_double, sandbox_provider, set_env  # noqa: F401

PHONE = "+573001112233"
RECEIPT = "http://localhost:8000/sandbox/phone/sample-receipt.svg"  # the phone simulator's photo
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def send_media(client, session, media, text=""):
    """The debtor's message through the signed webhook, then the worker's inbound job."""
    from bot.worker.inbound import handle_inbound

    assert post_inbound(client, inbound_params(PHONE, text, media=media)).status_code == 200
    session.expire_all()
    m = session.execute(select(Message).where(Message.direction == "in").order_by(Message.id.desc())).scalars().first()
    handle_inbound(Job(id="1-0", partition=0, key=PHONE, kind="inbound_message", payload={"message_id": m.id}))
    session.expire_all()
    return m


@pytest.fixture()
def proof(client, session, make_debtor, rasa_double, sandbox_provider):
    """A debtor with an open promise sent the simulator's receipt photo: returns (debtor, invoice, promise, proof)."""
    debtor = make_debtor("D-1", phone=PHONE)
    inv = accounts.primary_invoice(session, debtor)
    promise = promises.create(session, debtor, inv, date.today() + timedelta(days=3), today=date.today())
    session.commit()
    message = send_media(client, session, [(RECEIPT, "image/svg+xml")])
    task = session.execute(select(PaymentProof)).scalar_one()
    assert task.message_id == message.id
    return debtor, inv, promise, task


def test_a_receipt_photo_opens_a_verify_payment_task_and_is_acknowledged(session, proof, rasa_double, sandbox_provider):
    debtor, _inv, _promise, task = proof
    assert task.status == "pending"
    handoff = session.get(Handoff, task.handoff_id)
    assert (handoff.reason, handoff.status, handoff.debtor_id) == ("payment_proof", "open", debtor.id)
    assert rasa_double.calls == []  # a person looks at it; the bot stays out
    [ack] = [m["body"] for m in sandbox_provider.outbox(PHONE)]
    assert "comprobante de pago, lo revisaremos" in ack


def test_audio_is_not_a_proof_of_payment(client, session, make_debtor, rasa_double, sandbox_provider):
    make_debtor("D-1", phone=PHONE)
    send_media(
        client, session, [("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", "audio/ogg")]
    )
    assert session.execute(select(PaymentProof)).first() is None
    assert session.execute(select(Handoff)).first() is None


def open_console(client, agent, handoff_id):
    login(client, agent.username)
    csrf = token(client)
    assert client.post(f"/console/handoffs/{handoff_id}/claim", data={"csrf_token": csrf}).status_code == 302
    page = client.get(f"/console/handoffs/{handoff_id}").get_data(as_text=True)
    return csrf, page


def test_the_agent_sees_the_receipt_and_confirms_the_payment(client, session, proof, agent, sandbox_provider):
    debtor, inv, promise, task = proof
    csrf, page = open_console(client, agent, task.handoff_id)
    # the file is shown through the console's own view, never from the provider's URL
    media_path = f"/console/messages/{task.message_id}/media/0"
    assert f'src="{media_path}"' in page and RECEIPT not in page and 'id="proofs"' in page
    shown = client.get(media_path)
    assert shown.status_code == 200 and shown.mimetype == "image/svg+xml" and b"Comprobante de pago" in shown.data
    assert (
        "sandbox" in shown.headers["Content-Security-Policy"] and shown.headers["X-Content-Type-Options"] == "nosniff"
    )
    # confirming without the CSRF token changes nothing
    url = f"/console/handoffs/{task.handoff_id}/proofs/{task.id}/confirm"
    form = {"invoice_id": str(inv.id), "amount": "185000", "paid_on": date.today().isoformat()}
    assert client.post(url, data=form).status_code == 400
    session.expire_all()
    assert session.execute(select(Payment)).first() is None
    r = client.post(url, data={**form, "csrf_token": csrf})
    assert r.status_code == 302 and r.headers["Location"].endswith("#proofs")
    session.expire_all()
    payment = session.execute(select(Payment)).scalar_one()
    assert (payment.provider, payment.provider_id, payment.amount, payment.method) == (
        "proof",
        f"proof-{task.id}",
        Decimal("185000.00"),
        "comprobante",
    )
    assert session.get(Invoice, inv.id).status == "paid" and session.get(Promise, promise.id).status == "kept"
    assert session.get(PaymentProof, task.id).status == "confirmed"
    assert session.execute(select(Settlement)).first() is not None
    # the debtor is told, as the agent's answer (not verified in this conversation: the discreet wording)
    told = session.execute(select(Message).where(Message.author == "agent")).scalars().all()
    assert [m.agent_id for m in told] == [agent.id] and "recibimos un pago" in told[0].body
    # a second click cannot record it twice
    client.post(url, data={**form, "csrf_token": csrf})
    session.expire_all()
    assert len(session.execute(select(Payment)).all()) == 1


def test_the_agent_rejects_the_receipt_with_a_reason_the_debtor_is_told(client, session, proof, agent):
    _debtor, inv, promise, task = proof
    csrf, _page = open_console(client, agent, task.handoff_id)
    url = f"/console/handoffs/{task.handoff_id}/proofs/{task.id}/reject"
    assert client.post(url, data={"csrf_token": csrf, "reason": "  "}).status_code == 302  # no reason: refused
    session.expire_all()
    assert session.get(PaymentProof, task.id).status == "pending"
    client.post(url, data={"csrf_token": csrf, "reason": "el comprobante no muestra la fecha ni el monto."})
    session.expire_all()
    proof_row = session.get(PaymentProof, task.id)
    assert (proof_row.status, proof_row.reason) == ("rejected", "el comprobante no muestra la fecha ni el monto.")
    [told] = session.execute(select(Message).where(Message.author == "agent")).scalars().all()
    assert told.body == (
        "Revisamos el comprobante que nos envió y no pudimos confirmar el pago: el comprobante no muestra la fecha "
        "ni el monto. Si cree que es un error, responda a este mensaje y lo revisamos de nuevo."
    )
    assert session.execute(select(Payment)).first() is None
    assert session.get(Invoice, inv.id).balance == Decimal("185000.00")
    assert session.get(Promise, promise.id).status == "open"


def test_an_agent_who_has_not_claimed_it_cannot_decide(client, session, proof, agent):
    _debtor, inv, _promise, task = proof
    login(client, agent.username)
    csrf = token(client)
    url = f"/console/handoffs/{task.handoff_id}/proofs/{task.id}/confirm"
    client.post(url, data={"csrf_token": csrf, "invoice_id": str(inv.id), "amount": "185000"})
    session.expire_all()
    assert session.get(PaymentProof, task.id).status == "pending" and session.execute(select(Payment)).first() is None


class _TwilioMedia:
    """Twilio's media URL as the console's view meets it: the file only with the account's basic auth."""

    def __init__(self) -> None:
        self.auth: list[str | None] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.auth.append(self.headers.get("Authorization"))
                expected = "Basic " + base64.b64encode(b"AC" + b"1" * 32 + b":test-twilio-token").decode()
                ok = self.headers.get("Authorization") == expected
                data = PNG if ok else b'{"message": "Authenticate"}'
                self.send_response(200 if ok else 401)
                self.send_header("Content-Type", "image/png" if ok else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_twilio_media_is_fetched_with_the_accounts_credentials_which_never_reach_the_browser(
    client, session, make_handoff, agent
):
    twilio = _TwilioMedia()
    set_env(MESSAGING_PROVIDER="twilio", TWILIO_API_BASE=twilio.url)
    try:
        handoff = make_handoff("D-1", reason="payment_proof")
        media_url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
        conv = session.get(Conversation, handoff.conversation_id)
        media = [
            {"url": media_url, "content_type": "image/png"},
            {"url": "https://evil.example/x.png", "content_type": "image/png"},
        ]
        message = factories.message(session, conv, "debtor", from_phone=PHONE, media=media)
        session.commit()
        login(client, agent.username)
        page = client.get(f"/console/handoffs/{handoff.id}").get_data(as_text=True)
        assert media_url not in page and "test-twilio-token" not in page
        shown = client.get(f"/console/messages/{message.id}/media/0")
        assert shown.status_code == 200 and shown.data == PNG and shown.mimetype == "image/png"
        assert twilio.auth and twilio.auth[0].startswith("Basic ")
        # a URL that is not Twilio's never gets the credentials
        calls = len(twilio.auth)
        assert client.get(f"/console/messages/{message.id}/media/1").status_code == 502
        assert len(twilio.auth) == calls
        assert client.get(f"/console/messages/{message.id}/media/9").status_code == 404
        client.get("/console/logout")
    finally:
        set_env(MESSAGING_PROVIDER="sandbox", TWILIO_API_BASE=None)
        twilio.close()


def test_the_media_view_needs_a_signed_in_user(client, session, proof):
    _debtor, _inv, _promise, task = proof
    r = client.get(f"/console/messages/{task.message_id}/media/0")
    assert r.status_code in (302, 401) and b"Comprobante" not in r.data
