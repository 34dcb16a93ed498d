"""Job kinds and their handlers. Modules register handlers with ``@handles("kind")``."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

import redis
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError

from bot.platform.queue import Job, Retry

log = logging.getLogger(__name__)

_HANDLERS: dict[str, Callable[[Job], None]] = {}

# Modules that define handlers; imported lazily so that a missing area does not stop the worker.
HANDLER_MODULES = (
    "bot.worker.inbound",
    "bot.worker.payments",
    "bot.worker.outbound",
    "bot.worker.campaigns",
    "bot.worker.rollups",
    "bot.worker.retention",
)


def handles(kind: str) -> Callable[[Callable[[Job], None]], Callable[[Job], None]]:
    def decorator(fn: Callable[[Job], None]) -> Callable[[Job], None]:
        _HANDLERS[kind] = fn
        return fn

    return decorator


def load_handlers() -> dict[str, Callable[[Job], None]]:
    for name in HANDLER_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return dict(_HANDLERS)


def unavailable(exc: BaseException) -> bool:
    """The database or Redis is away (restarting, failing over, refusing connections): the job waits for it.

    Why not a failure: a failure counts toward the dead-letter stream, and five of them go by in six seconds;
    a PostgreSQL restart then set aside every message that arrived meanwhile (found by tests/faults/run.py)."""
    if isinstance(exc, OperationalError | DisconnectionError | redis.ConnectionError | redis.TimeoutError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def dispatch(job: Job) -> None:
    handler = _HANDLERS.get(job.kind)
    if handler is None:
        raise ValueError(f"no handler for job kind {job.kind!r}")
    try:
        handler(job)
    except Exception as exc:
        if unavailable(exc):
            raise Retry(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}") from exc
        raise


@handles("noop")
def _noop(job: Job) -> None:
    """Used by `python -m bot queue-check` and tests to see the pipeline move."""
    log.info("noop job %s for %s", job.id, job.key)
