"""A manager reviews outcomes in real chromium against a live server.

The manager signs in, sees the dashboard for November (its A/B results loaded after it), filters the
transcripts to broken promises ("Promesa incumplida"), opens one and reads the debtor's messages with the
intents the bot read.
"""

from __future__ import annotations

import os
import re
import threading

import pytest

from tests.browser.conftest import CHROMIUM, LAUNCH_ARGS, free_port
from tests.manager.conftest import history  # noqa: F401  (fixture)

PASSWORD = "clave-del-gerente-1"


@pytest.fixture()
def live_manager(app, session, history, redis_client):  # noqa: F811
    from werkzeug.serving import make_server

    from bot.staff import users

    users.create_or_update(session, "marta", "manager", PASSWORD, name="Marta Gerente")
    session.commit()
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", history
    server.shutdown()


def test_manager_filters_broken_promises_and_reads_a_transcript(live_manager, session, tmp_path):
    from playwright.sync_api import expect, sync_playwright
    from sqlalchemy import select

    from bot.store.models import AuditLog

    base, data = live_manager
    broken = data["convs"]["MX-1"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="es-CO")
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{base}/manager/?from=2026-11-01&to=2026-11-30")
            expect(page).to_have_url(f"{base}/console/login?next=%2Fmanager%2F%3Ffrom%3D2026-11-01%26to%3D2026-11-30")
            page.locator("#username").fill("marta")
            page.locator("#password").fill(PASSWORD)
            page.get_by_role("button", name="Entrar").click()
            expect(page.locator("h1")).to_contain_text("Resultados")
            expect(page.locator("#fig-promise_broken .value")).to_have_text("1")
            expect(page.locator("#reasons")).to_contain_text("Perdió el empleo")
            # The A/B results load into the dashboard once it is shown (manager.js), with their CSV link.
            ab = page.locator("#ab[data-loaded]")
            expect(ab.locator("tr[data-variant='B']")).to_contain_text("100.0 %")
            expect(ab.locator("#ab-csv")).to_have_attribute("href", re.compile(r"^/manager/ab\.csv\?"))
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

            page.get_by_role("link", name="Conversaciones", exact=True).click()
            expect(page.locator("#total")).to_contain_text("5 en el periodo")
            # Choosing an outcome applies the filter at once (manager.js); no inline script is needed.
            page.wait_for_load_state("load")  # manager.js is attached (a loaded machine can be slow)
            page.locator("#f-outcome").select_option(label="Promesa incumplida")
            expect(page.locator("#total")).to_contain_text("1 en el periodo")
            expect(page).to_have_url(re.compile(r"[?&]outcome=promise_broken(&|$)"))
            assert "country=" not in page.url  # empty filters are left out of the URL
            rows = page.locator("#conversations tbody tr")
            expect(rows).to_have_count(1)
            expect(rows.first).to_contain_text("Deudor MX-1")
            expect(rows.first).to_contain_text("Promesa incumplida")

            rows.first.get_by_role("link", name="Deudor MX-1").click()
            expect(page.locator("h1")).to_contain_text("Deudor MX-1")
            transcript = page.locator("#transcript")
            expect(transcript.locator(".msg.in .intent").first).to_have_text("check_balance")
            expect(transcript).to_contain_text("report_nonpayment_reason")
            expect(transcript).to_contain_text("reason=job_loss")
            expect(transcript).to_contain_text("••••••••••••1234")
            expect(transcript).not_to_contain_text("4111-1111")
            expect(page.locator("#outcome")).to_contain_text("incumplida")
            page.screenshot(path=str(tmp_path / "transcript.png"), full_page=True)
            if os.environ.get("RECOBRA_SCREENSHOT"):
                page.screenshot(path=os.environ["RECOBRA_SCREENSHOT"], full_page=True)

            page.locator("#back").click()
            expect(page.locator("#total")).to_contain_text("1 en el periodo")
            assert not [e for e in errors if "Content Security Policy" in e], errors
        finally:
            browser.close()

    session.expire_all()
    views = session.execute(select(AuditLog).where(AuditLog.action == "transcript_viewed")).scalars().all()
    assert [(v.actor, v.target_id) for v in views] == [("marta", str(broken.id))]
