"""Stored XSS, in real chromium: hostile debtor text is shown as text in the console and the dashboard.

Debtors write through the real inbound path (a signed Twilio webhook: signature check, store, queue) messages
carrying ``<script>``, ``<img onerror>``, ``<svg onload>``, ``javascript:`` links, and right-to-left override
and zero-width tricks; one debtor's name (as a billing system could send it), an entity the bot read and a
non-payment reason it recorded carry markup too. An agent
opens the queue and the conversation (one more message arrives while the page is open, drawn by console.js);
a manager opens the transcript and searches for the messages. Everywhere: no payload runs (each would set
``window.__xss`` or open a dialog), no markup from them reaches the DOM, each is shown literally, and text
with a bidi override cannot reorder anything but itself.

The Content-Security-Policy would stop inline scripts on its own; the pages are loaded with it bypassed, so
what is tested is the escaping, not the second line of defence.
"""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from tests.browser.conftest import CHROMIUM, LAUNCH_ARGS, free_port
from tests.console.helpers import PASSWORD

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)"
)

MARK = "comprobante"  # every payload carries this word, so the manager's search finds them all
PAYLOADS = [
    f"{MARK} <script>window.__xss='script';alert('script')</script>",
    f"{MARK} <img src=x onerror=\"window.__xss='img';alert('img')\">",
    f"{MARK} <svg onload=\"window.__xss='svg'\"></svg>",
    f"{MARK} <a href=\"javascript:window.__xss='link'\">pagar aquí</a>",
    f"{MARK} javascript:window.__xss='bare' y www.ejemplo.com/pago",
    f"{MARK} \"><script>window.__xss='attr'</script><input value=\"",
    f"{MARK} </textarea></title><img src=x onerror=window.__xss='close'>",
    f"{MARK} <scr\u200bipt>window.__xss='zw'</scr\u200bipt> java\u200bscript:window.__xss='zw2'",
    f"{MARK} factura \u202egnp.exe\u202c pagada \u2066<b>ok</b>\u2069",
    f"{MARK} \u202e <img src=x onerror=window.__xss='rlo'>",
]
RTL = PAYLOADS[8]
LATE = f"{MARK} <img src=x onerror=\"window.__xss='late'\"> llegó con la página abierta"
HOSTILE_NAME = "Ana <img src=x onerror=window.__xss='name'> Restrepo"
ENTITY = "<img src=x onerror=\"window.__xss='entity'\">"
REASON = "me quedé sin trabajo <script>window.__xss='reason'</script>"
PHONE = "+573001119900"


def _signed_inbound(client, phone: str, body: str, sid: str, media: tuple[str, ...] = ()) -> None:
    from twilio.request_validator import RequestValidator

    from bot.platform.config import get_settings

    settings = get_settings()
    params = {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": settings.twilio_account_sid,
        "From": f"whatsapp:{phone}",
        "To": f"whatsapp:{settings.twilio_whatsapp_from}",
        "WaId": phone.lstrip("+"),
        "Body": body,
        "NumMedia": str(len(media)),
    }
    for i, url in enumerate(media):
        params.update({f"MediaUrl{i}": url, f"MediaContentType{i}": "image/jpeg"})
    path = "/webhooks/twilio/messages"
    signature = RequestValidator(settings.twilio_auth_token).compute_signature(settings.public_base_url + path, params)
    resp = client.post(
        path,
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)


@pytest.fixture()
def hostile(app, session, make_debtor, make_staff, redis_client):
    """The live server, and debtors whose messages carry the payloads: D-0 wrote them all (and was handed
    off), D-1... wrote one each."""
    from sqlalchemy import select
    from werkzeug.serving import make_server

    from bot.conversation import handoffs
    from bot.store.models import Conversation, Message, NonpaymentReason

    make_staff("agente", "agent")
    make_staff("gerente", "manager")
    first = make_debtor("XSS-0", phone=PHONE, name=HOSTILE_NAME)
    client = app.test_client()
    for i, body in enumerate(PAYLOADS):
        _signed_inbound(client, PHONE, body, f"SM{i:032d}")
        make_debtor(f"XSS-{i + 1}", phone=f"+57300112{i:04d}", name=f"Deudor {i + 1}")
        _signed_inbound(client, f"+57300112{i:04d}", body, f"SM{i + 100:032d}")
    session.expire_all()
    # What the bot read from the debtor's words, shown beside them: an entity value and a non-payment reason.
    read = session.execute(select(Message).where(Message.debtor_id == first.id).order_by(Message.id)).scalars().first()
    read.intent, read.confidence = "report_nonpayment_reason", 0.9
    read.entities = [{"entity": "reason", "value": ENTITY}]
    session.add(NonpaymentReason(debtor_id=first.id, reason="other", text=REASON))
    handoff, _ = handoffs.open(session, PHONE, first, "request_human", f"Pidió un agente: {PAYLOADS[1]}")
    session.commit()
    conv = session.get(Conversation, handoff.conversation_id)
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {
        "base": f"http://127.0.0.1:{server.server_port}",
        "handoff": handoff.id,
        "conversation": conv.id,
        "client": client,
    }
    server.shutdown()


DOM_REPORT = """(root) => {
  const el = document.querySelector(root) || document.body;
  const bad = [];
  for (const node of el.querySelectorAll('*')) {
    for (const attr of node.attributes) {
      const name = attr.name.toLowerCase(), value = attr.value.replace(/[\\s\\u0000-\\u001f]/g, '').toLowerCase();
      if (name.startsWith('on')) bad.push(node.tagName + ' ' + name);
      if (['href', 'src', 'action', 'formaction', 'xlink:href'].includes(name) && value.startsWith('javascript:'))
        bad.push(node.tagName + ' ' + name + '=' + attr.value);
    }
    if (['SCRIPT', 'SVG', 'IFRAME', 'OBJECT', 'EMBED', 'TEXTAREA', 'B'].includes(node.tagName.toUpperCase())
        && (node.textContent.includes('__xss') || node.outerHTML.includes('__xss') || node.textContent === 'ok'))
      bad.push('element ' + node.tagName);
    if (node.tagName === 'IMG' && node.getAttribute('src') === 'x') bad.push('img src=x');
  }
  for (const s of document.querySelectorAll('script')) if (s.textContent.includes('__xss')) bad.push('script');
  return bad;
}"""

BIDI_REPORT = """([root, text]) => {
  // The nearest ancestor that ends a bidi paragraph or isolates: all it holds must be the debtor's own text.
  const holders = [];
  const walker = document.createTreeWalker(document.querySelector(root), NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    if (!walker.currentNode.data.includes('\\u202e')) continue;
    let el = walker.currentNode.parentElement;
    while (el) {
      const style = getComputedStyle(el);
      const isolates = ['isolate', 'plaintext', 'isolate-override'].includes(style.unicodeBidi);
      if (!style.display.startsWith('inline') || isolates
          || el.tagName === 'BDI' || el.hasAttribute('dir')) break;
      el = el.parentElement;
    }
    holders.push(el.textContent.trim());
  }
  return holders;
}"""


def _expect_inert(page, root: str, texts: list[str], dialogs: list[str]) -> None:
    from playwright.sync_api import expect

    for text in texts:
        expect(page.locator(root)).to_contain_text(text.strip(), use_inner_text=False)
    page.wait_for_timeout(300)  # any onerror/onload would have fired by now
    assert page.evaluate("window.__xss") is None, f"a payload ran: {page.evaluate('window.__xss')}"
    assert not dialogs, f"a payload opened a dialog: {dialogs}"
    assert page.evaluate(DOM_REPORT, root) == [], "debtor text became markup"


def _login(browser, base: str, username: str, dialogs: list[str]):
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900}, locale="es-CO")
    page = context.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{base}/console/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_load_state()
    return page


@pytest.mark.browser
@needs_chromium
def test_hostile_debtor_text_stays_text_in_console_and_dashboard(hostile):
    from playwright.sync_api import expect, sync_playwright

    base = hostile["base"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            dialogs: list[str] = []
            page = _login(browser, base, "agente", dialogs)
            # The queue (drawn by console.js from JSON): the debtor's name and last message.
            _expect_inert(page, "#queue-body", [HOSTILE_NAME, PAYLOADS[-1]], dialogs)
            assert page.evaluate(BIDI_REPORT, ["#queue-body", RTL]) == [PAYLOADS[-1].strip()]

            # The conversation, rendered by the server; one more message arrives while it is open.
            page.goto(f"{base}/console/handoffs/{hostile['handoff']}")
            _expect_inert(page, "#transcript", PAYLOADS, dialogs)
            _expect_inert(page, "main", [HOSTILE_NAME, REASON], dialogs)
            _signed_inbound(hostile["client"], PHONE, LATE, "SM" + "9" * 32)
            _expect_inert(page, "#transcript", [LATE], dialogs)
            assert page.evaluate(BIDI_REPORT, ["#transcript", RTL]) == [RTL.strip(), PAYLOADS[9].strip()]

            dialogs = []
            page = _login(browser, base, "gerente", dialogs)
            page.goto(f"{base}/manager/conversations/{hostile['conversation']}")
            _expect_inert(page, "#transcript", [*PAYLOADS, LATE], dialogs)
            _expect_inert(page, "main", [HOSTILE_NAME, REASON, f"reason={ENTITY}"], dialogs)
            assert page.evaluate(BIDI_REPORT, ["#transcript", RTL]) == [RTL.strip(), PAYLOADS[9].strip()]

            # Search results: one row per debtor, each showing its matching message.
            page.goto(f"{base}/manager/conversations?q={quote(MARK)}")
            expect(page.locator("#conversations tbody tr")).to_have_count(len(PAYLOADS) + 1)
            _expect_inert(page, "#conversations", [*PAYLOADS, HOSTILE_NAME], dialogs)
            holders = page.evaluate(BIDI_REPORT, ["#conversations", RTL])
            assert RTL.strip() in holders and all(h in (RTL.strip(), PAYLOADS[9].strip()) for h in holders), holders
        finally:
            browser.close()


HOSTILE_MEDIA = (
    "javascript:window.__xss='media'",
    "data:text/html,<script>window.__xss='data'</script>",
    "  JavaScript:window.__xss='spaced'",
)


def test_a_media_url_that_is_not_https_never_becomes_a_link(app, make_debtor, make_staff, redis_client, session):
    """Whatever the inbound webhook says a media URL is, the console links only to https."""
    from bot.conversation import handoffs
    from tests.security.conftest import login_client

    make_staff("agente", "agent")
    debtor = make_debtor("XSS-M", phone=PHONE)
    _signed_inbound(app.test_client(), PHONE, "mire el comprobante", "SM" + "7" * 32, media=HOSTILE_MEDIA)
    handoff, _ = handoffs.open(session, PHONE, debtor, "request_human", "")
    session.commit()
    agent = login_client(app, "agente")
    html = agent.get(f"/console/handoffs/{handoff.id}").get_data(as_text=True)
    polled = agent.get(f"/console/api/handoffs/{handoff.id}/messages").get_json()
    urls = [m["url"] for msg in polled["messages"] for m in msg["media"]]
    assert not [u for u in urls if not u.startswith("https://")], f"non-https media URLs served: {urls}"
    assert "javascript:" not in html.lower() and "data:text/html" not in html, "a hostile media URL in the page"
