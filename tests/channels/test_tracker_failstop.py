"""When the tracker store fails, Rasa's turn fails (the worker retries it) instead of going on with an empty
conversation or keeping the turn in memory only: the silent reset the faults harness found (issue #24 §3)."""

from __future__ import annotations

import asyncio

import pytest
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from channels import tracker_failstop

SENDER = "+573001112233"


class DatabaseDown(InMemoryTrackerStore):
    """A store whose database went away after the conversation began."""

    down = False

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        if self.down:
            raise ConnectionError("server closed the connection unexpectedly")
        return await super().retrieve(sender_id)

    async def retrieve_full_tracker(self, sender_id: str) -> DialogueStateTracker | None:
        return await self.retrieve(sender_id)

    async def save(self, tracker: DialogueStateTracker) -> None:
        if self.down:
            raise ConnectionError("server closed the connection unexpectedly")
        await super().save(tracker)


def test_a_conversation_is_not_reset_when_its_store_fails():
    tracker_failstop.apply()
    primary = DatabaseDown(Domain.empty())
    store = FailSafeTrackerStore(primary)
    tracker = DialogueStateTracker(SENDER, [])
    tracker.update(UserUttered("hola"))
    asyncio.run(store.save(tracker))
    primary.down = True
    with pytest.raises(ConnectionError):
        asyncio.run(store.retrieve(SENDER))  # not None: Rasa would start an empty conversation
    with pytest.raises(ConnectionError):
        asyncio.run(store.retrieve_full_tracker(SENDER))
    tracker.update(UserUttered("4321"))
    with pytest.raises(ConnectionError):
        asyncio.run(store.save(tracker))  # not kept in this process's memory only
    assert store._fallback_tracker_store is None
    primary.down = False
    kept = asyncio.run(store.retrieve(SENDER))
    assert kept is not None and [e.text for e in kept.events if isinstance(e, UserUttered)] == ["hola"]
