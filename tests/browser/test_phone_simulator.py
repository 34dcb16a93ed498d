"""A person on /sandbox/phone chats with the bot: a live server, a real worker, a fake Rasa, chromium."""

from __future__ import annotations

import os
import threading

import pytest

from tests.browser.conftest import CHROMIUM, LAUNCH_ARGS
from tests.worker.doubles import FakeRasa, set_env


@pytest.fixture()
def live_edge(app, make_debtor, redis_client):
    """The web app on a real port, a queue worker, the sandbox provider and a fake Rasa."""
    from werkzeug.serving import make_server

    from bot.platform.queue import QueueWorker
    from bot.platform.redis_client import get_queue
    from bot.providers.factory import set_messaging_provider
    from bot.providers.sandbox_messaging import SandboxMessaging
    from bot.worker import jobs

    # the simulator lists only the fictitious demo range (bot/platform/phones.py)
    make_debtor("CO-1001", phone="+573990011201", name="Ana María Restrepo", document_last4="4821")
    make_debtor(
        "MX-2001",
        phone="+524000123401",
        name="Guadalupe Hernández",
        country="MX",
        timezone="America/Mexico_City",
        document_last4="2045",
    )
    rasa = FakeRasa()
    set_env(RASA_URL=rasa.url)
    set_messaging_provider(SandboxMessaging(delays=(0.2, 0.4, 0.6)))
    jobs.load_handlers()
    worker = QueueWorker(get_queue(), jobs.dispatch, consumer="browser-test", lease_ms=2000, block_ms=100)
    worker.start()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", rasa
    server.shutdown()
    worker.stop(5)
    set_messaging_provider(None)
    set_env(RASA_URL=None)
    rasa.close()


def test_a_person_chats_on_whatsapp_and_sms(live_edge, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    base, rasa = live_edge
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 420, "height": 820}, locale="es-CO")
            page.goto(f"{base}/sandbox/phone")
            expect(page.locator("h1")).to_have_text("Simulador de teléfono")
            page.locator("#debtor").select_option("+524000123401")
            expect(page.locator("#hint")).to_contain_text("2045")

            page.locator("#text").fill("¡Hola! ¿Cuánto debo? 😀")
            page.locator("#text").press("Enter")
            mine = page.locator(".msg.in").last
            expect(mine).to_contain_text("¡Hola! ¿Cuánto debo? 😀")
            reply = page.locator(".msg.out").last
            expect(reply).to_contain_text("eco: ¡Hola! ¿Cuánto debo? 😀", timeout=10_000)
            expect(reply).to_have_attribute("data-status", "read", timeout=10_000)
            expect(reply.locator(".tick.read")).to_have_count(1)
            # The Mexican WhatsApp number (+521…) reached the bot as the debtor's +52… conversation.
            assert rasa.calls[0]["sender"] == "+524000123401"

            page.locator("#tab-sms").click()
            long_text = "Quisiera saber cuándo vence mi factura y si puedo pagar en dos partes " * 2
            page.locator("#text").fill(long_text)
            expect(page.locator("#counter")).to_contain_text("UCS-2")
            expect(page.locator("#counter")).to_contain_text("3 segmentos")
            page.locator("#send").click()
            sms_reply = page.locator(".msg.out").nth(1)
            expect(sms_reply).to_contain_text("eco: Quisiera saber cuando vence", timeout=10_000)
            expect(sms_reply).to_contain_text("seg. GSM-7")
            expect(sms_reply).to_have_attribute("data-status", "delivered", timeout=10_000)
            page.locator("#attach").click()  # a photo of a receipt: kept, and acknowledged without the bot
            expect(page.locator(".msg.in .media")).to_have_count(1)
            expect(page.locator(".msg.out").nth(2)).to_contain_text("Recibimos su archivo", timeout=10_000)
            assert len(rasa.calls) == 2
            page.screenshot(path=str(tmp_path / "phone.png"))
            if os.environ.get("RECOBRA_SCREENSHOT"):
                page.screenshot(path=os.environ["RECOBRA_SCREENSHOT"])
            assert os.path.getsize(tmp_path / "phone.png") > 0
        finally:
            browser.close()


def test_a_person_taps_the_bots_buttons(live_edge, tmp_path):
    """Issue #27 §2: the bot's question shows WhatsApp's buttons; a click is a tap (ButtonPayload, ButtonText)."""
    from playwright.sync_api import expect, sync_playwright

    base, rasa = live_edge
    yes_no = [{"title": "Sí", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
    rasa.reply = lambda p: [
        {"recipient_id": p["sender"], "text": "¿Le envío el link?", "buttons": yes_no}
        if not p["message"].startswith("/")
        else {"recipient_id": p["sender"], "text": f"recibido: {p['message']}"}
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 420, "height": 820}, locale="es-CO")
            page.goto(f"{base}/sandbox/phone")
            page.locator("#debtor").select_option("+573990011201")
            page.locator("#text").fill("hola")
            page.locator("#text").press("Enter")
            question = page.locator(".msg.out").last
            expect(question).to_contain_text("¿Le envío el link?", timeout=10_000)
            expect(question.locator("button.choice")).to_have_text(["Sí", "No"], timeout=10_000)
            question.locator("button.choice", has_text="No").click()
            expect(page.locator(".msg.in").last).to_contain_text("No", timeout=10_000)
            expect(page.locator(".msg.out").last).to_contain_text("recibido: /deny", timeout=10_000)
            assert rasa.calls[-1]["metadata"]["choice"]["title"] == "No"
            page.screenshot(path=str(tmp_path / "buttons.png"))
            if os.environ.get("RECOBRA_BUTTONS_SCREENSHOT"):
                page.screenshot(path=os.environ["RECOBRA_BUTTONS_SCREENSHOT"])
        finally:
            browser.close()


def test_a_person_taps_a_reminders_template_button(live_edge, tmp_path):
    """A campaign reminder outside the 24-hour window is an approved template: its own quick replies show under it,
    and a click posts the static id, which the bot reads as its intent ("Ver mi saldo": /check_balance)."""
    from playwright.sync_api import expect, sync_playwright

    from bot.billing import debtors
    from bot.conversation.handoffs import get_or_create_conversation
    from bot.messaging import outbox
    from bot.store.db import session_scope

    base, rasa = live_edge
    rasa.reply = lambda p: [{"recipient_id": p["sender"], "text": f"recibido: {p['message']}"}]
    with session_scope() as session:
        phone = "+573990011201"
        conv = get_or_create_conversation(session, phone, debtors.get_by_phone(session, phone))
        session.commit()
        outbox.prepare_template(session, conv, "payment_reminder", {"business": "Financiera Aurora"}, force=True)
        session.commit()
        outbox.deliver_pending(session, conv.id)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 420, "height": 820}, locale="es-CO")
            page.goto(f"{base}/sandbox/phone")
            page.locator("#debtor").select_option("+573990011201")
            reminder = page.locator(".msg.out").last
            expect(reminder).to_contain_text("Plantilla", timeout=10_000)
            expect(reminder.locator("button.choice")).to_have_text(
                ["Ver mi saldo", "Ya pagué", "Hablar con un asesor"], timeout=10_000
            )
            reminder.locator("button.choice", has_text="Ver mi saldo").click()
            expect(page.locator(".msg.out").last).to_contain_text("recibido: /check_balance", timeout=10_000)
            assert rasa.calls[-1]["metadata"]["choice"]["template"] == "payment_reminder"
            page.screenshot(path=str(tmp_path / "template-buttons.png"))
            if os.environ.get("RECOBRA_TEMPLATE_SCREENSHOT"):
                page.screenshot(path=os.environ["RECOBRA_TEMPLATE_SCREENSHOT"])
        finally:
            browser.close()
