"""The lean tracker store writes exactly what Rasa's own SQL tracker store writes and reads it back the same:
a conversation saved turn by turn through it is the same conversation to Rasa's store, across a new session.
(The Rasa runtime's tests: that the launcher configures this store is tests/unit/test_runtimes.py's.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.utils.endpoints import EndpointConfig

from channels.tracker_store import STORED, LeanSQLTrackerStore

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet, inform]
slots:
  verified:
    type: bool
    influence_conversation: false
    mappings: [{type: custom}]
"""
)
SENDER = "+573001112233"


def store_from_launcher(tmp_path: Path) -> TrackerStore:
    """The store as the launcher's endpoints file names it on SQLite (bot.platform.launcher.tracker_store)."""
    config = {"type": "channels.tracker_store.LeanSQLTrackerStore", "dialect": "sqlite"}
    return TrackerStore.create(EndpointConfig.from_dict(config | {"db": str(tmp_path / "rasa_tracker.db")}), DOMAIN)


def turn(text: str, intent: str, reply: str) -> list:
    return [
        UserUttered(text, {"name": intent, "confidence": 0.98}),
        ActionExecuted("action_reply"),
        BotUttered(reply),
        SlotSet("verified", True),
        ActionExecuted("action_listen"),
    ]


def test_rasa_builds_the_lean_store_from_its_name(tmp_path: Path) -> None:
    store = store_from_launcher(tmp_path)
    inner = getattr(store, "_tracker_store", store)
    assert isinstance(inner, LeanSQLTrackerStore)


def test_what_it_writes_is_what_rasas_store_reads(tmp_path: Path) -> None:
    async def scenario() -> None:
        lean = store_from_launcher(tmp_path)
        tracker = await lean.get_or_create_tracker(SENDER)
        for event in [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]:
            tracker.update(event)
        for event in turn("hola", "greet", "Hola, ¿me confirma los 4 últimos dígitos?"):
            tracker.update(event)
        await lean.save(tracker)

        again = await lean.retrieve(SENDER)  # the next turn loads it, adds to it, saves
        assert getattr(again, STORED) == len(again.events) > 0  # what the load saw: no count query on save
        for event in turn("4321", "inform", "Gracias, verificamos su identidad."):
            again.update(event)
        await lean.save(again)
        await lean.save(again)  # a second save in the same turn adds nothing

        rasa = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "rasa_tracker.db"))
        theirs = await rasa.retrieve(SENDER)
        assert [e.as_dict() for e in theirs.events] == [e.as_dict() for e in again.events]
        assert theirs.get_slot("verified") is True
        mine = await lean.retrieve(SENDER)
        assert [e.as_dict() for e in mine.events] == [e.as_dict() for e in theirs.events]
        with rasa.session_scope() as session:
            rows = session.query(rasa.SQLEvent).filter_by(sender_id=SENDER).all()
        full = await rasa.retrieve_full_tracker(SENDER)
        assert [r.type_name for r in rows] == [e.type_name for e in full.events]
        assert [r.intent_name for r in rows if r.type_name == "user"] == ["greet", "inform"]

    asyncio.run(scenario())


def test_a_new_session_keeps_the_old_one_and_stores_only_the_new_events(tmp_path: Path) -> None:
    async def scenario() -> None:
        lean = store_from_launcher(tmp_path)
        tracker = await lean.get_or_create_tracker(SENDER)
        for event in [SessionStarted(), *turn("hola", "greet", "Hola")]:
            tracker.update(event)
        await lean.save(tracker)
        loaded = await lean.retrieve(SENDER)
        for event in [ActionExecuted("action_session_start"), SessionStarted(), *turn("4321", "inform", "Gracias")]:
            loaded.update(event)
        await lean.save(loaded)
        rasa = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "rasa_tracker.db"))
        full = await rasa.retrieve_full_tracker(SENDER)
        # the first load left out the action_listen stored before the first session; nothing is stored twice
        assert [e.as_dict() for e in full.events][1:] == [e.as_dict() for e in loaded.events]
        latest = await lean.retrieve(SENDER)
        assert latest.latest_message.text == "4321"
        assert sum(isinstance(e, SessionStarted) for e in latest.events) == 1

    asyncio.run(scenario())
