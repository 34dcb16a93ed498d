"""Repairs to Rasa Open Source 3.6's per-turn hot path, applied by ``channels/rasa_server.py`` before Rasa starts.

Why: a profile of the Rasa server under load (docs/performance.md) found a third of its CPU in checking the
*schema* of the action server's answer, not the answer: ``jsonschema.validate(instance, schema)`` re-validates
the schema against its meta-schema on every call, and Rasa calls it for every custom action. And one event in
twenty of every tracker it loads is resolved to its class by walking every subclass of ``Event`` afresh. And
the embedded tracker store's every commit waited for the disk inside Rasa's single event loop.
Rasa OSS is in maintenance mode (3.6.21 is its last release), so the repair lives here rather than upstream.

All keep Rasa's behaviour: the answer is still validated against the same schema, raising the same
``ValidationError`` with the same message; events resolve to the same classes. Imports only Rasa and
jsonschema: this runs in the Rasa runtime.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from sqlalchemy import event
from sqlalchemy.engine import Engine

_APPLIED: list[str] = []


@cache
def action_response_validator() -> Any:
    """The validator for the action server's answers, its schema checked once."""
    schema = RemoteAction.action_response_format_spec()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    error = best_match(action_response_validator().iter_errors(result))
    if error is not None:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the Action "
            f"endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


_resolve_by_type = Event.resolve_by_type
_EVENT_TYPES: dict[str, type[Event]] = {}


def _cached_resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    """Rasa's own lookup, remembered once it finds a class (event classes are defined at import, never removed)."""
    found = _EVENT_TYPES.get(type_name)
    if found is not None:
        return found
    found = _resolve_by_type(type_name, default)
    if found is not None and found is not default:
        _EVENT_TYPES[type_name] = found
    return found


def _sqlite_tracker_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """The embedded tracker store (SQLite) in write-ahead-log mode: a commit no longer waits for the disk, which
    under load held Rasa's one event loop still (every other debtor waited behind it), and two Rasa processes
    can share the file (readers never block the writer; a writer waits its turn instead of failing).
    PostgreSQL, the production tracker store, is untouched."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def apply() -> list[str]:
    """Applies both repairs once; returns their names (the server logs them)."""
    if not _APPLIED:
        RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
        Event.resolve_by_type = staticmethod(_cached_resolve_by_type)  # type: ignore[method-assign,assignment]
        event.listen(Engine, "connect", _sqlite_tracker_pragmas)
        _APPLIED.extend(
            [
                "action answers validated by a cached validator",
                "event types resolved from a cache",
                "the SQLite tracker store in WAL mode",
            ]
        )
    return list(_APPLIED)
