"""Console fixtures: users of each role, hand-offs with a transcript, a signed-in test client."""

from __future__ import annotations

import pytest

from tests.console.helpers import PASSWORD
from tests.worker.doubles import sandbox_provider  # noqa: F401  (the held messages' sends)


@pytest.fixture()
def make_user(session):
    from bot.staff import users

    def make(username: str, role: str = "agent", password: str = PASSWORD):
        user = users.create_or_update(session, username, role, password, name=username.capitalize())
        session.commit()
        return user

    return make


@pytest.fixture()
def agent(make_user):
    return make_user("agente", "agent")


@pytest.fixture()
def other_agent(make_user):
    return make_user("agente2", "agent")


@pytest.fixture()
def manager(make_user):
    return make_user("gerente", "manager")


@pytest.fixture()
def admin(make_user):
    return make_user("admin", "admin")


@pytest.fixture()
def make_handoff(session, make_debtor):
    """A debtor who wrote on WhatsApp and was handed off; returns the committed Handoff."""
    from datetime import datetime, timedelta, timezone

    from bot.conversation import handoffs
    from tests import factories

    def make(
        external_id: str = "D-1",
        reason: str = "request_human",
        phone: str = "+573001112233",
        texts: tuple[str, ...] = ("Hola", "Quiero hablar con una persona"),
        age_minutes: float = 0,
        **debtor_fields,
    ):
        debtor = make_debtor(external_id, phone=phone, **debtor_fields)
        conv = handoffs.get_or_create_conversation(session, phone, debtor)
        session.flush()
        now = datetime.now(timezone.utc)
        conv.last_channel = "whatsapp"
        conv.last_inbound_at = conv.last_whatsapp_inbound_at = now
        for i, text in enumerate(texts):
            at = now - timedelta(seconds=len(texts) - i)
            factories.message(session, conv, "debtor", text, debtor_id=debtor.id, from_phone=phone, created_at=at)
        handoff, _ = handoffs.open(session, phone, debtor, reason, f"Motivo: {reason}")
        if age_minutes:
            handoff.created_at = now - timedelta(minutes=age_minutes)
        session.commit()
        return handoff

    return make
