"""Fixtures of the data-lifecycle tests: Rasa's tracker store where the product looks for it, and a few rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.engine import Engine

from bot.lifecycle import tracker_events

AT = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)  # the fixed clock of these tests


def days_ago(days: float) -> datetime:
    return AT - timedelta(days=days)


@pytest.fixture()
def tracker(db: str) -> Iterator[Engine]:
    """Rasa's ``events`` table where retention and erasure look for it (``tracker_events.tracker_url``): a SQLite
    file beside a SQLite store, the store's own database on PostgreSQL."""
    from bot.platform.config import get_settings

    tracker_events.engine_for.cache_clear()
    engine = tracker_events.engine_for(tracker_events.tracker_url(get_settings()))
    tracker_events.events.metadata.drop_all(engine)
    tracker_events.events.metadata.create_all(engine)
    yield engine
    tracker_events.events.metadata.drop_all(engine)
    engine.dispose()
    tracker_events.engine_for.cache_clear()


def add_events(engine: Engine, sender_id: str, events: list[tuple[str, datetime]]) -> None:
    """Rows as Rasa's SQL tracker store writes them (type, Unix timestamp, the event as JSON)."""
    with engine.begin() as conn:
        for type_name, at in events:
            data = {"event": type_name, "timestamp": at.timestamp()}
            if type_name == "user":
                data["text"] = "hola, quiero pagar"
            conn.execute(
                tracker_events.events.insert().values(
                    sender_id=sender_id, type_name=type_name, timestamp=at.timestamp(), data=json.dumps(data)
                )
            )


def events_of(engine: Engine, sender_id: str) -> list[tuple[str, float]]:
    with engine.connect() as conn:
        rows = conn.execute(
            tracker_events.events.select()
            .where(tracker_events.events.c.sender_id == sender_id)
            .order_by(tracker_events.events.c.id)
        ).all()
    return [(r.type_name, r.timestamp) for r in rows]
