"""Rasa's tracker store, as retention and erasure see it: the ``events`` table of Rasa's ``SQLTrackerStore``
(``channels/tracker_store.py`` writes the same table), in ``var/rasa_tracker.db`` beside a SQLite store or in the
store's own PostgreSQL database (``bot.platform.launcher.tracker_store``). The conversation id (``sender_id``) is
the debtor's phone in E.164.

Rasa reads a conversation from its latest ``session_started`` event on (``SQLTrackerStore._event_query``): events
before it are history Rasa never loads again, so pruning them cannot change what the bot remembers in a
conversation that is still going on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from bot.platform.config import Settings

TABLE = "events"
SESSION_STARTED = "session_started"

_metadata = sa.MetaData()
events = sa.Table(
    TABLE,
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255)),
    sa.Column("type_name", sa.String(255)),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)


def tracker_url(settings: Settings) -> str:
    """Where Rasa keeps its events for these settings (the launcher's choice, as a SQLAlchemy URL)."""
    if settings.database_url.startswith("sqlite"):
        return f"sqlite:///{settings.var_dir / 'rasa_tracker.db'}"
    return settings.database_url


def tracker_engine(settings: Settings) -> Engine | None:
    """The tracker store's engine, or None when Rasa has not created its SQLite file yet (opening it would)."""
    url = tracker_url(settings)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    return engine_for(url)


@lru_cache(maxsize=4)
def engine_for(url: str) -> Engine:
    """No pool: retention and erasure open it rarely, and Rasa owns the file's locking."""
    return sa.create_engine(url, future=True, poolclass=NullPool)


def has_events(conn: Connection) -> bool:
    return sa.inspect(conn).has_table(TABLE)


@dataclass(frozen=True)
class Cut:
    """Events of one conversation older than ``before`` (a Unix time) may go."""

    sender_id: str
    before: float


def prunable(conn: Connection, cutoff: float, keep: set[str]) -> list[Cut]:
    """Per conversation not in ``keep``: its events older than ``cutoff`` that Rasa no longer loads (a conversation
    silent since the cutoff goes whole; one still going keeps its latest session)."""
    if not has_events(conn):
        return []
    rows = conn.execute(
        sa.select(
            events.c.sender_id,
            sa.func.max(events.c.timestamp),
            sa.func.max(sa.case((events.c.type_name == SESSION_STARTED, events.c.timestamp), else_=None)),
        )
        .where(events.c.sender_id.in_(sa.select(events.c.sender_id).where(events.c.timestamp < cutoff)))
        .group_by(events.c.sender_id)
    ).all()
    cuts = []
    for sender_id, last_event, last_session in rows:
        if sender_id in keep:
            continue
        if last_event is not None and last_event < cutoff:
            cuts.append(Cut(sender_id, cutoff))
        elif last_session is not None:
            cuts.append(Cut(sender_id, min(cutoff, last_session)))
    return cuts


def _chunks(cuts: Sequence[Cut], size: int = 200) -> Iterable[Sequence[Cut]]:
    for i in range(0, len(cuts), size):
        yield cuts[i : i + size]


def _matching(chunk: Sequence[Cut]):
    return sa.or_(*(sa.and_(events.c.sender_id == c.sender_id, events.c.timestamp < c.before) for c in chunk))


def count(conn: Connection, cuts: Sequence[Cut]) -> int:
    total = 0
    for chunk in _chunks(cuts):
        total += conn.execute(sa.select(sa.func.count()).select_from(events).where(_matching(chunk))).scalar_one()
    return total


def delete(conn: Connection, cuts: Sequence[Cut]) -> int:
    total = 0
    for chunk in _chunks(cuts):
        total += conn.execute(events.delete().where(_matching(chunk))).rowcount or 0
    return total


def delete_conversations(conn: Connection, sender_ids: Iterable[str]) -> int:
    """Every event of these conversations (an erasure)."""
    ids = [s for s in sender_ids if s]
    if not ids or not has_events(conn):
        return 0
    return conn.execute(events.delete().where(events.c.sender_id.in_(ids))).rowcount or 0


def conversation(conn: Connection, sender_id: str) -> list[dict[str, Any]]:
    """The conversation's events as Rasa stored them (an export), oldest first."""
    if not has_events(conn):
        return []
    rows = conn.execute(sa.select(events.c.data).where(events.c.sender_id == sender_id).order_by(events.c.id)).scalars()
    return [json.loads(data) for data in rows]


def deleter(settings: Settings) -> Callable[[set[str]], int] | None:
    """Deletes whole Rasa conversations in their own transaction (an erasure); None without a tracker store."""
    engine = tracker_engine(settings)
    if engine is None:
        return None

    def delete_phones(phones: set[str]) -> int:
        with engine.begin() as conn:
            return delete_conversations(conn, phones)

    return delete_phones


def reader(settings: Settings) -> Callable[[str], list[dict[str, Any]]] | None:
    """Reads one Rasa conversation (an export); None without a tracker store."""
    engine = tracker_engine(settings)
    if engine is None:
        return None

    def read(sender_id: str) -> list[dict[str, Any]]:
        with engine.connect() as conn:
            return conversation(conn, sender_id)

    return read
