"""Sessions and redirects: no session fixation, logout ends the session, and ``next=`` never leaves the site.

Flask keeps the session in a signed cookie, so "the session identifier" is the cookie itself: a cookie
obtained (or planted) before login must not carry the signed-in identity afterwards, a cookie copied to
another browser must not work there (Flask-Login's "strong" session protection), and a cookie captured before
logout must not keep working after it.

Redirect targets are judged as a browser would read the ``Location`` header (tabs and newlines dropped,
backslashes read as slashes, resolved against the page's address): they must stay on the site.
"""

from __future__ import annotations

from urllib.parse import quote, urljoin, urlsplit

import pytest

from tests.console.helpers import PASSWORD, csrf_from
from tests.security.conftest import is_login_redirect, login_client

SITES = ("https://localhost/console/login", "http://localhost/console/login")  # production, and the demo

NEXT_VARIANTS = [
    "//evil.com",
    "https://evil.com",
    "http://evil.com/console/",
    "/\\evil.com",
    "\\/evil.com",
    "\\\\evil.com",
    "http:evil.com",
    "https:/evil.com",
    "%2F%2Fevil.com",
    "%2f%2fevil.com",
    "/%2F/evil.com",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    " //evil.com",
    "\t//evil.com",
    "\n//evil.com",
    "/\t/evil.com",
    "/\n/evil.com",
    "///evil.com",
    "////evil.com",
    "/ /evil.com",
    "\x00//evil.com",
    "//evil.com@localhost",
    "https://localhost@evil.com",
    "//localhost.evil.com",
    "/%09/evil.com",
    "/%5Cevil.com",
    "%00//evil.com",
    "\u3002/evil.com",
    "／／evil.com",
]


def browser_target(location: str, base: str) -> str:
    """The host a browser would go to for this ``Location`` header on page ``base`` (WHATWG URL parsing, closely
    enough: C0 controls and spaces trimmed, tabs and newlines dropped, backslashes read as slashes, and an
    http(s) URL of the other scheme taking whatever follows the colon as its host, slashes or not)."""
    cleaned = location.strip("".join(map(chr, range(0x21))))
    cleaned = "".join(ch for ch in cleaned if ch not in "\t\n\r").replace("\\", "/")
    scheme = urlsplit(cleaned).scheme.lower()
    if scheme in ("http", "https"):
        rest = cleaned[len(scheme) + 1 :]
        if scheme != urlsplit(base).scheme:
            cleaned = f"{scheme}://" + rest.lstrip("/")
        elif not rest.startswith("//"):
            cleaned = rest  # same scheme without "//": relative to the page
    return urlsplit(urljoin(base, cleaned)).hostname or ""


def assert_stays_on_site(resp, variant: str) -> None:
    assert resp.status_code == 302, f"next={variant!r}: {resp.status_code}"
    location = resp.headers["Location"]
    for base in SITES:
        host = browser_target(location, base)
        assert host == "localhost", f"next={variant!r} sent the browser on {base} to {location!r} ({host})"


def test_the_judge_itself_sees_an_off_site_redirect():
    """The checks below are only worth something if ``browser_target`` spots the classic tricks."""
    for location in (
        "//evil.com",
        "/\\evil.com",
        "\\/evil.com",
        "https://evil.com",
        " //evil.com",
        "/\t/evil.com",
        "\x00//evil.com",
    ):
        for base in SITES:
            assert browser_target(location, base) == "evil.com", (location, base)
    assert browser_target("http:evil.com", SITES[0]) == "evil.com"  # on an https page: off to evil.com
    assert browser_target("https:/evil.com", SITES[0]) == "localhost"  # same scheme: a path on the site
    assert browser_target("javascript:alert(1)", SITES[0]) == ""  # not a place on the site either
    assert browser_target("/console/", SITES[0]) == "localhost"


def _login_with_next(client, raw_next: str, *, encode: bool):
    page = client.get("/console/login").get_data(as_text=True)
    query = "next=" + (quote(raw_next, safe="") if encode else raw_next)
    return client.post(
        f"/console/login?{query}", data={"username": "agente", "password": PASSWORD, "csrf_token": csrf_from(page)}
    )


@pytest.mark.parametrize("variant", NEXT_VARIANTS, ids=[repr(v) for v in NEXT_VARIANTS])
def test_login_next_never_leaves_the_site(variant, app, world):
    for encode in (True, False):
        client = app.test_client()
        assert_stays_on_site(_login_with_next(client, variant, encode=encode), variant)
        # Already signed in, the login page sends the user on at once: the same rule holds.
        query = "next=" + (quote(variant, safe="") if encode else variant)
        assert_stays_on_site(client.get(f"/console/login?{query}"), variant)


def test_login_next_keeps_a_local_target(app, world):
    resp = _login_with_next(app.test_client(), "/console/handoffs/1", encode=True)
    assert resp.headers["Location"] == "/console/handoffs/1"


@pytest.mark.parametrize("variant", NEXT_VARIANTS[:12], ids=[repr(v) for v in NEXT_VARIANTS[:12]])
def test_manager_redirects_never_leave_the_site(variant, app, world):
    client = login_client(app, "gerente")
    resp = client.post("/manager/timezone", data={"tz": "UTC", "next": variant, "csrf_token": client.csrf})
    assert_stays_on_site(resp, variant)
    page = client.get(f"/manager/conversations/{world.conversation_id}?back={quote(variant, safe='')}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "evil.com" not in html and "javascript:" not in html.lower(), "a back link off the site"


def test_a_cookie_from_before_login_does_not_carry_the_identity(app, world):
    victim = app.test_client()
    page = victim.get("/console/login").get_data(as_text=True)
    planted = victim.get_cookie("session").value  # what an attacker could have set in the victim's browser
    old_token = csrf_from(page)
    resp = victim.post("/console/login", data={"username": "agente", "password": PASSWORD, "csrf_token": old_token})
    assert resp.status_code == 302
    assert victim.get_cookie("session").value != planted, "the session cookie did not change at login"
    attacker = app.test_client()
    attacker.set_cookie("session", planted)
    assert is_login_redirect(attacker.get("/console/")), "the pre-login cookie is signed in"
    # Nothing set in the session before login survives it: the pre-login CSRF token is dead too.
    refused = victim.post("/console/logout", data={"csrf_token": old_token})
    assert refused.status_code == 400
    with victim.session_transaction() as s:
        assert str(s.get("_user_id")).split(":")[0] == str(world.users["agent"])  # "id:session version"


def test_the_session_cookie_is_httponly_samesite_and_secure_behind_https(app, world, monkeypatch):
    from bot.platform.config import reset_settings
    from bot.web import create_app

    client = app.test_client()
    page = client.get("/console/login").get_data(as_text=True)
    resp = client.post(
        "/console/login", data={"username": "agente", "password": PASSWORD, "csrf_token": csrf_from(page)}
    )
    cookie = next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://cobros.example.com")
    reset_settings()
    try:
        live = create_app({"TESTING": True})
    finally:
        monkeypatch.undo()
        reset_settings()
    assert live.config["SESSION_COOKIE_SECURE"] is True and live.config["REMEMBER_COOKIE_SECURE"] is True


def test_a_cookie_copied_to_another_browser_is_refused(app, world):
    victim = login_client(app, "agente", user_agent="Mozilla/5.0 (Windows NT 10.0) Firefox/128.0")
    stolen = victim.get_cookie("session").value
    thief = app.test_client()
    thief.environ_base["HTTP_USER_AGENT"] = "curl/8.5.0"
    thief.set_cookie("session", stolen)
    assert is_login_redirect(thief.get("/console/")), "a stolen cookie works from another user agent"
    assert victim.get("/console/").status_code == 200


def test_logout_clears_the_session(app, world):
    client = login_client(app, "agente")
    resp = client.post("/console/logout", data={"csrf_token": client.csrf})
    assert resp.status_code == 302
    with client.session_transaction() as s:
        assert "_user_id" not in s and "csrf_token" not in s, dict(s)
    assert is_login_redirect(client.get("/console/"))


def test_a_cookie_captured_before_logout_is_dead_after_it(app, world):
    client = login_client(app, "agente")
    captured = client.get_cookie("session").value
    client.post("/console/logout", data={"csrf_token": client.csrf})
    replay = app.test_client()
    replay.environ_base["HTTP_USER_AGENT"] = "pytest-security"
    replay.set_cookie("session", captured)
    assert is_login_redirect(replay.get("/console/")), "the cookie captured before logout still signs in"


def test_a_new_password_or_a_deactivation_ends_every_open_session(app, world, session):
    from sqlalchemy import select

    from bot.staff import users
    from bot.store.models import User

    client = login_client(app, "agente")
    assert client.get("/console/").status_code == 200
    users.create_or_update(session, "agente", "agent", "another-password-456")
    session.commit()
    assert is_login_redirect(client.get("/console/")), "the session outlived a password change"

    client = login_client(app, "agente", password="another-password-456")
    agent = session.execute(select(User).where(User.username == "agente")).scalar_one()
    admin = login_client(app, "admin")
    for verb in ("deactivate", "activate"):
        r = admin.post(f"/console/admin/users/{agent.id}/{verb}", data={"csrf_token": admin.csrf})
        assert r.status_code == 302
    assert is_login_redirect(client.get("/console/")), "a cookie from before a deactivation came back to life"
