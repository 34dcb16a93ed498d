"""The worker's probes and metrics on a small HTTP server of its own (the standard library's).

The worker serves nothing else, so it needs an address for these alone: ``RECOBRA_WORKER_HEALTH_HOST``
(default 127.0.0.1) and ``RECOBRA_WORKER_HEALTH_PORT`` (default 8010), or ``python -m bot worker --health-port``.
Two workers on one machine need two ports (`make run-scaled` gives 8010 and 8011); a port already taken stops the
worker at start, since a probe answered by another process would describe the wrong worker.

- ``GET /healthz``: 200 while the process runs.
- ``GET /readyz``: 200 ``{"status": "ready", "checks": {...}}`` when the store, Redis, Rasa and the queue answer,
  the backlog is under ``RECOBRA_READY_MAX_BACKLOG`` and the queue consumers run; else 503 naming the failed
  checks. Each check is bounded by ``RECOBRA_READY_TIMEOUT``.
- ``GET /metrics``: this process's metrics plus the queue's and the rollups' levels. Loopback by default; when
  ``RECOBRA_METRICS_TOKEN`` is set it asks for ``Authorization: Bearer`` with it (403 otherwise), as the web does.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.conversation import rasa_client
from bot.platform import metrics, readiness, redis_client
from bot.platform.config import get_settings
from bot.platform.queue import dead_letter_count
from bot.review import rollups
from bot.store import db as store
from bot.store.db import session_scope

log = logging.getLogger(__name__)


def checks(consuming: Callable[[], bool]) -> dict[str, readiness.Check]:
    """The web's checks, and one of the worker's own: its queue consumers run (``consuming``)."""
    s = get_settings()

    def consumers() -> None:
        if not consuming():
            raise readiness.NotReady("the queue consumers are not running")

    return {
        "database": store.ping,
        "redis": lambda: redis_client.ping(s.ready_timeout),
        "rasa": lambda: rasa_client.ping(s.ready_timeout),
        "queue": readiness.queue_check(redis_client.probe_queue(s.ready_timeout), s.ready_max_backlog),
        "consumers": consumers,
    }


def _rollup_age() -> list[Any]:
    with session_scope() as session:
        return metrics.rollup_age_family(rollups.age_seconds(session))


def levels() -> list[metrics.ScrapeCollector]:
    queue = redis_client.probe_queue(get_settings().ready_timeout)
    return [
        metrics.ScrapeCollector(
            "queue", lambda: metrics.queue_families(queue.name, queue.backlogs(), dead_letter_count(queue.redis))
        ),
        metrics.ScrapeCollector("rollups", _rollup_age),
    ]


class PortTaken(RuntimeError):
    """The health server could not listen on its address (another worker has it?)."""


class HealthServer:
    """``/healthz``, ``/readyz`` and ``/metrics`` on ``host:port`` in a daemon thread; ``port`` 0 picks a free one
    (``self.port`` says which). Binding happens in the constructor, so a taken port fails at start (``PortTaken``)."""

    def __init__(self, host: str, port: int, consuming: Callable[[], bool]) -> None:
        outer = self
        self.consuming = consuming
        self.probes = readiness.Shared()  # concurrent /readyz calls share one run of the checks

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body, content_type = outer.answer(self.path, self.headers.get("Authorization"))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:  # probes every few seconds: not worth a line each
                pass

        try:
            self.server = ThreadingHTTPServer((host, port), Handler)
        except OSError as exc:
            raise PortTaken(f"{host}:{port}: {exc.strerror or exc}") from exc
        self.server.daemon_threads = True
        self.host, self.port = host, int(self.server.server_address[1])
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, name="health", daemon=True
        )

    def start(self) -> HealthServer:
        self.thread.start()
        log.info("worker health on http://%s:%d (/healthz, /readyz, /metrics)", self.host, self.port)
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, target: str, authorization: str | None) -> tuple[int, bytes, str]:
        url = urlsplit(target)
        path = url.path
        if path == "/healthz":
            return _json(200, {"status": "ok"})
        if path == "/readyz":
            skip = ",".join(parse_qs(url.query).get("skip", []))
            try:
                chosen = readiness.without(checks(self.consuming), skip)
            except ValueError as exc:
                return _json(400, {"error": {"code": "bad_request", "message": str(exc)}})
            ready, body = self.probes.run(lambda: chosen, get_settings().ready_timeout, key=tuple(sorted(chosen)))
            return _json(200 if ready else 503, body)
        if path == "/metrics":
            token = get_settings().metrics_token
            if token:
                scheme, _, given = (authorization or "").partition(" ")
                if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
                    return _json(403, {"error": {"code": "forbidden", "message": "Send the metrics token."}})
            return 200, metrics.render(levels()), metrics.CONTENT_TYPE
        return _json(404, {"error": {"code": "not_found", "message": "Only /healthz, /readyz and /metrics here."}})


def _json(status: int, body: dict[str, Any]) -> tuple[int, bytes, str]:
    return status, json.dumps(body).encode(), "application/json"
