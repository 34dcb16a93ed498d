"""Each user's time zone: chosen on the manager pages, saved with the user (every session and device), used for
the times shown and for the bounds of the periods; the configured zone until then."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from tests.console.helpers import csrf_from, login

DAY = "from=2026-11-05&to=2026-11-05"


def late_evening(session) -> int:
    """A conversation at 22:30 on 5 November in Bogotá: already 6 November in UTC."""
    from tests import factories

    at = datetime(2026, 11, 6, 3, 30, tzinfo=timezone.utc)
    times = {"created_at": at, "last_message_at": at, "last_inbound_at": at}
    conv = factories.conversation(session, None, phone="+573009990000", last_channel="sms", **times)
    factories.message(session, conv, "debtor", "hola", created_at=at)
    session.commit()
    return conv.id


def total(client, query: str = DAY) -> int:
    html = client.get(f"/manager/conversations?{query}").get_data(as_text=True)
    return int(re.search(r'id="total">(\d+) en el periodo', html).group(1))


def test_the_zone_is_saved_with_the_user_and_bounds_the_periods(app, client, manager, make_user, history, session):
    from bot.store.models import User

    conv_id = late_evening(session)
    login(client, "gerente")
    assert total(client) == 2  # MX-1 (10:00) and the late-evening one, in Bogotá (the configured zone)
    html = client.get(f"/manager/conversations/{conv_id}").get_data(as_text=True)
    assert "2026-11-05 22:30" in html
    client.post(
        "/manager/timezone",
        data={"tz": "UTC", "csrf_token": csrf_from(html), "next": f"/manager/conversations/{conv_id}"},
    )
    session.expire_all()
    assert session.get(User, manager.id).timezone == "UTC"
    assert total(client) == 1  # 03:30 on the 6th is outside the 5th in UTC
    # Another session (another browser, another day) of the same user: the same zone.
    other = app.test_client()
    login(other, "gerente")
    html = other.get(f"/manager/conversations/{conv_id}").get_data(as_text=True)
    assert "2026-11-06 03:30" in html, re.findall(r"2026-11-0\d \d\d:\d\d", html)
    assert '<option value="UTC" selected>' in other.get("/manager/").get_data(as_text=True)
    assert total(other) == 1
    # Another manager keeps the configured zone.
    make_user("gerente2", "manager")
    third = app.test_client()
    login(third, "gerente2")
    assert total(third) == 2


def test_only_offered_zones_are_saved(client, manager, session):
    from bot.store.models import User

    login(client, "gerente")
    token = csrf_from(client.get("/manager/").get_data(as_text=True))
    client.post("/manager/timezone", data={"tz": "Mars/Olympus", "csrf_token": token})
    session.expire_all()
    assert session.get(User, manager.id).timezone is None


def test_the_configured_zone_is_the_default(db, redis_url, manager, history, session):
    from bot.web import create_app

    conv_id = late_evening(session)
    app = create_app(
        {"TESTING": True, "DATABASE_URL": db, "WTF_CSRF_ENABLED": True, "MANAGER_TIMEZONE": "America/Mexico_City"}
    )
    client = app.test_client()
    login(client, "gerente")
    html = client.get(f"/manager/conversations/{conv_id}").get_data(as_text=True)
    assert "2026-11-05 21:30" in html
    assert '<option value="America/Mexico_City" selected>' in client.get("/manager/").get_data(as_text=True)
