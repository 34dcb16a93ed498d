"""The desk's settings (``config/console.yml``) and its clock.

One clock for the whole desk: the queue's waiting times, a claim's time, the summary's "today" and the
team's hours all read ``utcnow`` from here, so a test (or a demo) moves the desk's time in one place.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from bot.platform import policies

CONFIG = "console"


def config(cfg: dict[str, Any] | None = None) -> dict[str, Any]:
    return cfg if cfg is not None else policies.load(CONFIG)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def poll_seconds(cfg: dict[str, Any] | None = None) -> float:
    return min(3.0, float(config(cfg).get("poll_seconds", 3)))
