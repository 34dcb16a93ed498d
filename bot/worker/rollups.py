"""The dashboard's rollups, refreshed every minute by one worker process at a time (``bot.review.rollups``).

The first run writes every conversation's rows (about 20 s on 100,000 conversations on a small machine); later
runs write only the conversations changed since the previous one. Between runs the dashboard computes the changed
conversations itself, so its figures never wait for this job.
"""

from __future__ import annotations

import logging

from bot.platform.redis_client import get_redis
from bot.review import rollups
from bot.store.db import session_scope
from bot.worker.main import periodic

log = logging.getLogger(__name__)

EVERY = 60
LOCK = "recobra:lock:dashboard_rollups"


def refresh_rollups(full: bool = False) -> rollups.RefreshReport:
    with session_scope() as session:
        report = rollups.refresh(session, full=full)
    if report.full or report.conversations:
        log.info(
            "dashboard rollups: %s conversations, %s rows written in %.1f s (%s rows in all)",
            report.conversations,
            report.rows,
            report.seconds,
            report.total_rows,
        )
    return report


@periodic("dashboard_rollups", EVERY)
def rollups_job() -> None:
    """Every minute, in one worker process at a time (a Redis lock shared by all of them)."""
    if not get_redis().set(LOCK, 1, nx=True, ex=600):
        return
    try:
        refresh_rollups()
    finally:
        get_redis().delete(LOCK)
