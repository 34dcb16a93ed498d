"""An agent works a hand-off in the console, in real chromium against a live server and a real worker.

The agent signs in, sees a new hand-off appear without reloading, claims it, sees the debtor's next
message arrive, replies (the reply reaches the sandbox outbox through the worker), and gives the
conversation back to the bot.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from tests.browser.conftest import CHROMIUM, LAUNCH_ARGS, free_port

PASSWORD = "clave-del-agente-1"
PHONE = "+573001118899"


@pytest.fixture()
def live_console(app, session, make_debtor, redis_client):
    """The web app on a free port, a queue worker sending through the sandbox provider, an agent."""
    from werkzeug.serving import make_server

    from bot.platform.queue import QueueWorker
    from bot.platform.redis_client import get_queue
    from bot.providers.factory import set_messaging_provider
    from bot.providers.sandbox_messaging import SandboxMessaging
    from bot.staff import users
    from bot.worker import jobs

    users.create_or_update(session, "laura", "agent", PASSWORD, name="Laura Gómez")
    session.commit()
    debtor = make_debtor("CO-7001", phone=PHONE, name="Ana María Restrepo")
    provider = SandboxMessaging(delays=(0.2, 0.4, 0.6))
    set_messaging_provider(provider)
    jobs.load_handlers()
    worker = QueueWorker(get_queue(), jobs.dispatch, consumer="console-browser-test", lease_ms=2000, block_ms=100)
    worker.start()
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", provider, debtor
    server.shutdown()
    worker.stop(5)
    set_messaging_provider(None)


def _debtor_writes(session, debtor, text: str):
    from bot.conversation import handoffs
    from bot.store.models import Message

    conv = handoffs.get_or_create_conversation(session, PHONE, debtor)
    session.flush()
    now = datetime.now(timezone.utc)
    conv.last_channel, conv.last_inbound_at, conv.last_whatsapp_inbound_at = "whatsapp", now, now
    session.add(
        Message(
            conversation_id=conv.id,
            debtor_id=debtor.id,
            direction="in",
            author="debtor",
            channel="whatsapp",
            from_phone=PHONE,
            body=text,
            status="processed",
        )
    )
    return conv


def test_agent_claims_replies_and_gives_back(live_console, session, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    from bot.conversation import handoffs
    from bot.store.models import Conversation, Handoff, Message

    base, provider, debtor = live_console
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="es-CO")
            page.goto(f"{base}/console/")
            expect(page).to_have_url(f"{base}/console/login?next=%2Fconsole%2F")
            page.locator("#username").fill("laura")
            page.locator("#password").fill(PASSWORD)
            page.get_by_role("button", name="Entrar").click()
            expect(page.locator("h1")).to_have_text("Conversaciones para atender")
            expect(page.locator("#queue-body")).to_contain_text("No hay conversaciones esperando")
            page.evaluate("window.__sameDocument = true")

            # The bot hands the conversation off while the page is open.
            _debtor_writes(session, debtor, "Ya pagué y me siguen cobrando, quiero hablar con alguien")
            handoff, _ = handoffs.open(session, PHONE, debtor, "claims_paid", "Dice que ya pagó")
            session.commit()

            row = page.locator(f'#queue-body tr[data-id="{handoff.id}"]')
            expect(row).to_contain_text("Ana María Restrepo", timeout=10_000)
            expect(row).to_contain_text("Dice que ya pagó")
            expect(row).to_contain_text("WhatsApp")
            expect(row).to_contain_text("Sin asignar")
            assert page.evaluate("window.__sameDocument") is True  # no reload
            page.screenshot(path=str(tmp_path / "queue.png"))

            row.get_by_role("button", name="Tomar").click()
            expect(page.locator("#handoff-state")).to_contain_text("Atiende: Laura Gómez")
            expect(page.locator("#summary")).to_contain_text("Ya pagué y me siguen cobrando")
            expect(page.locator("#transcript")).to_contain_text("Ya pagué y me siguen cobrando")
            page.evaluate("window.__sameDocument = true")

            # The debtor writes again: the message shows up in the open conversation.
            _debtor_writes(session, debtor, "Tengo el comprobante")
            session.commit()
            expect(page.locator("#transcript .msg.in").last).to_contain_text("Tengo el comprobante", timeout=10_000)
            assert page.evaluate("window.__sameDocument") is True

            page.locator("#reply-body").fill("Hola Ana, soy Laura. ¿Me envías el comprobante, por favor?")
            page.locator("#send").click()
            expect(page.locator(".flash.ok")).to_contain_text("Mensaje enviado")
            agent_msg = page.locator("#transcript .msg.agent").last
            expect(agent_msg).to_contain_text("¿Me envías el comprobante, por favor?")
            expect(agent_msg).to_contain_text("Laura Gómez")

            # The worker sent it on the debtor's channel through the sandbox provider.
            deadline = time.monotonic() + 15
            sent = []
            while time.monotonic() < deadline:
                sent = [m for m in provider.outbox(PHONE) if "comprobante, por favor" in m["body"]]
                if sent:
                    break
                time.sleep(0.2)
            assert sent and sent[0]["channel"] == "whatsapp"
            session.expire_all()
            rows = session.execute(select(Message).where(Message.direction == "out")).scalars().all()
            assert [(m.author, m.body[:9]) for m in rows] == [("agent", "Hola Ana,")]
            assert rows[0].agent_id is not None and rows[0].provider_sid == sent[0]["sid"]
            # Delivery receipts move the status on the page too (the sandbox plays sent, delivered, read).
            expect(agent_msg.locator(".status")).to_have_text("leído", timeout=10_000)

            page.screenshot(path=str(tmp_path / "console.png"), full_page=True)
            if os.environ.get("RECOBRA_SCREENSHOT"):
                page.screenshot(path=os.environ["RECOBRA_SCREENSHOT"], full_page=True)

            page.get_by_role("button", name="Devolver al bot").click()
            expect(page.locator(".flash.ok")).to_contain_text("Conversación devuelta al bot")
            expect(page.locator("#queue-body")).to_contain_text("No hay conversaciones esperando", timeout=10_000)
        finally:
            browser.close()

    session.expire_all()
    assert session.get(Handoff, handoff.id).status == "closed"
    assert session.get(Conversation, handoff.conversation_id).mode == "bot"
