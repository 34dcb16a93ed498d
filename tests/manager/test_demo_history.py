"""The demo history: realistic, consistent with the store's rules, and seeded only once."""

from __future__ import annotations

from sqlalchemy import func, select

from bot import demo_history, reporting
from bot.store.models import Conversation, Message, Promise


def test_generate_writes_a_history_the_dashboard_can_read(session):
    written = demo_history.generate(session, n=200, seed=3)
    assert written["conversations"] == 200 and written["messages"] > 600
    assert demo_history.generate(session, n=200) == {}  # seeding again adds nothing
    assert session.execute(select(func.count()).select_from(Conversation)).scalar() == 200
    statuses = set(session.execute(select(Promise.status)).scalars())
    assert {"kept", "broken"} <= statuses
    # Every conversation's last_inbound_at is its latest debtor message (what the edge keeps).
    latest = dict(session.execute(select(Message.conversation_id, func.max(Message.created_at))
                                  .where(Message.direction == "in").group_by(Message.conversation_id)).all())
    for conv in session.execute(select(Conversation)).scalars():
        assert conv.last_inbound_at == latest.get(conv.id)
    d = reporting.dashboard(session, reporting.Filters.from_args({"from": "2000-01-01"}))
    assert d.conversations == 200 and d.counts["promise"] > 0 and d.reasons and d.recovered
    assert {cur for cur, _ in d.recovered} <= {"COP", "MXN", "ARS", "CLP", "PEN"}
    assert d.ab and {v["variant"] for v in d.ab[0]["variants"]} == {"A", "B"}
