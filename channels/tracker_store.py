"""Rasa's SQL tracker store, same table and same behaviour, with less work per turn.

Why: under load the SQL tracker store was a third of the Rasa server's CPU (docs/performance.md). Every turn it
built an ORM object for each stored event only to read one column, counted the conversation's events again
before saving (it had just loaded them, under the conversation's lock), added the new events one ORM object at
a time, and opened a new connection to a SQLite file for each of these. Here a SQLite file keeps its
connections open, the load reads the ``data`` column alone, the count is the one the load saw (kept on the
tracker for the rest of the turn; a tracker this process did not load still asks the database), and the new
events go in one multi-row insert. The table, its columns and what they hold are Rasa's own, so Rasa's HTTP
API, ``rasa export`` and a plain ``SQLTrackerStore`` read what this one writes. Runs in the Rasa runtime.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool

# events of the latest session that are stored, as the load (or the last save) of this turn saw them
STORED = "_recobra_stored_events"


class LeanSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` that reads one column, counts once and inserts in one statement."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            # SQLAlchemy 1.4 opens and closes a file database's connection for every session (NullPool): keep a
            # few open instead (each turn is served on Rasa's event loop thread, one session at a time)
            self.engine = sa.create_engine(
                self.engine.url, poolclass=QueuePool, pool_size=2, connect_args={"check_same_thread": False}
            )
            self.sessionmaker = sessionmaker(bind=self.engine)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        with self.session_scope() as session:
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions=fetch_events_from_all_sessions)
            events = [json.loads(data) for (data,) in query.with_entities(self.SQLEvent.data).all()]
        if not (self.domain and events):
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        if not fetch_events_from_all_sessions:
            setattr(tracker, STORED, len(events))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        with self.session_scope() as session:
            stored = getattr(tracker, STORED, None)
            if stored is None:
                stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
            events = list(tracker.events)[stored:]
            if events:
                session.execute(self.SQLEvent.__table__.insert(), [row(tracker.sender_id, e) for e in events])
                session.commit()
        setattr(tracker, STORED, len(tracker.events))


def row(sender_id: str, event: Event) -> dict[str, Any]:
    """One ``events`` row, exactly as ``SQLTrackerStore.save`` writes it."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }
