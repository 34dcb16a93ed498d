"""Retention in the worker: every hour, in one worker process at a time, prune what is past its period
(``bot.lifecycle.retention``, ``config/retention.yml``). Cheap when there is nothing to prune; hourly so that a
period ends within the hour whatever time the worker started."""

from __future__ import annotations

import logging

from bot.lifecycle import retention, tracker_events
from bot.platform.config import get_settings
from bot.platform.redis_client import get_redis
from bot.store.db import session_scope
from bot.worker.main import periodic

log = logging.getLogger(__name__)

EVERY = 3600
LOCK = "recobra:lock:retention"


def prune() -> retention.Report:
    with session_scope() as session:
        report = retention.run(session, tracker=tracker_events.tracker_engine(get_settings()), actor="worker")
    pruned = {kind: report.total(kind) for kind in retention.KINDS if report.total(kind)}
    if pruned:
        log.info("retention: pruned %s", ", ".join(f"{k}={v}" for k, v in pruned.items()))
    return report


@periodic("retention", EVERY)
def retention_job() -> None:
    """Hourly, one worker at a time (a Redis lock shared by all of them); off when config says ``scheduled: false``."""
    if not retention.load_policy().scheduled:
        return
    if not get_redis().set(LOCK, 1, nx=True, ex=1800):
        return
    try:
        prune()
    finally:
        get_redis().delete(LOCK)
