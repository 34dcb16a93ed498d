"""The worker process: queue consumers plus the periodic scheduler, stopped cleanly by a signal."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

from bot.platform import logs
from bot.platform.config import get_settings
from bot.platform.queue import QueueWorker
from bot.platform.redis_client import get_queue
from bot.worker import health, jobs

log = logging.getLogger(__name__)

# Periodic tasks (name -> (seconds, function)); other areas add theirs (reminders, reconciliation).
PERIODIC: dict[str, tuple[float, Callable[[], object]]] = {}


def periodic(name: str, seconds: float) -> Callable[[Callable[[], object]], Callable[[], object]]:
    def decorator(fn: Callable[[], object]) -> Callable[[], object]:
        PERIODIC[name] = (seconds, fn)
        return fn

    return decorator


def _run_periodic(stop: threading.Event) -> None:
    import time

    last: dict[str, float] = {}
    while not stop.is_set():
        now = time.monotonic()
        for name, (every, fn) in list(PERIODIC.items()):
            if now - last.get(name, 0.0) >= every:
                last[name] = now
                try:
                    fn()
                except Exception:
                    log.exception("periodic task %s failed", name)
        stop.wait(1.0)


def run(health_host: str | None = None, health_port: int | None = None) -> None:
    """Consume the queue and run the periodic tasks until SIGTERM/SIGINT; ``/healthz``, ``/readyz`` and
    ``/metrics`` on ``health_host:health_port`` (default RECOBRA_WORKER_HEALTH_HOST/_PORT)."""
    logs.configure("worker")
    settings = get_settings()
    handlers = jobs.load_handlers()
    log.info("worker handles %s", ", ".join(sorted(handlers)))
    queue = get_queue()
    worker = QueueWorker(queue, jobs.dispatch)
    health_server = health.HealthServer(
        settings.worker_health_host if health_host is None else health_host,
        settings.worker_health_port if health_port is None else health_port,
        worker.alive,
    ).start()  # before anything is consumed: a taken port stops the worker here
    stop = threading.Event()

    def _stop(signum, _frame) -> None:
        log.info("signal %s: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    worker.start()
    scheduler = threading.Thread(target=_run_periodic, args=(stop,), name="scheduler", daemon=True)
    scheduler.start()
    log.info("worker %s consuming %d partitions", worker.consumer, queue.partitions)
    stop.wait()
    worker.stop()
    health_server.stop()
    log.info("worker stopped")
