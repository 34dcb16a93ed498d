"""Rasa must not carry on with an empty conversation when its tracker store fails: the turn fails instead.

Why: Rasa wraps every tracker store in ``FailSafeTrackerStore``, which answers a failed *load* with "no such
conversation" (Rasa then starts an empty tracker: the debtor, verified a minute ago, is a stranger again and
the turn is answered as a first message) and a failed *save* by keeping the turn in the process's memory (the
next turn, loaded from the database again, has lost it). Both are silent resets. Measured by the faults harness
(tests/faults/run.py, PostgreSQL restarted under live conversations). Raising instead makes the ``recobra``
channel answer 500; the worker retries the turn with backoff, the channel replays a turn it already ran, and
nothing is reset. Imports only Rasa: this runs in the Rasa runtime.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

log = logging.getLogger(__name__)
_APPLIED: list[bool] = []


async def _retrieve(self: FailSafeTrackerStore, sender_id: str) -> DialogueStateTracker | None:
    try:
        return await self._tracker_store.retrieve(sender_id)
    except Exception:
        log.error("the tracker store could not load a conversation: the turn fails and is retried")
        raise


async def _retrieve_full_tracker(self: FailSafeTrackerStore, sender_id: str) -> DialogueStateTracker | None:
    try:
        return await self._tracker_store.retrieve_full_tracker(sender_id)
    except Exception:
        log.error("the tracker store could not load a conversation: the request fails")
        raise


async def _save(self: FailSafeTrackerStore, tracker: DialogueStateTracker) -> None:
    try:
        await self._tracker_store.save(tracker)
    except Exception:
        log.error("the tracker store could not save a turn: the turn fails and is retried")
        raise


def apply() -> None:
    """Once per process, before Rasa builds its agent."""
    if _APPLIED:
        return
    patched: dict[str, Any] = {
        "retrieve": _retrieve,
        "retrieve_full_tracker": _retrieve_full_tracker,
        "save": _save,
    }
    for name, function in patched.items():
        setattr(FailSafeTrackerStore, name, function)
    _APPLIED.append(True)
