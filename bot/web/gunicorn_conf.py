"""gunicorn's settings file for ``python -m bot web`` (``-c python:bot.web.gunicorn_conf``): its server hooks.

The web's metrics are kept per process in ``PROMETHEUS_MULTIPROC_DIR`` (bot/platform/metrics.py). When gunicorn
replaces a worker process (it died, or ``--max-requests``), the dead process's live gauges must stop counting:
prometheus-client's ``mark_process_dead`` does that; its counters and histograms stay, added up as before.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import multiprocess


def child_exit(_server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
