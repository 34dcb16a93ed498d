"""Job kinds and their handlers. Modules register handlers with ``@handles("kind")``."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

from bot.platform.queue import Job

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


def dispatch(job: Job) -> None:
    handler = _HANDLERS.get(job.kind)
    if handler is None:
        raise ValueError(f"no handler for job kind {job.kind!r}")
    handler(job)


@handles("noop")
def _noop(job: Job) -> None:
    """Used by `python -m bot queue-check` and tests to see the pipeline move."""
    log.info("noop job %s for %s", job.id, job.key)
