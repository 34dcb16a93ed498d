"""The web edge's probes and metrics: ``/healthz``, ``/readyz``, ``/metrics``; request timing and log context.

- ``GET /healthz``: the process answers (liveness); says nothing else.
- ``GET /readyz``: 200 ``{"status": "ready", "checks": {...}}`` when the store, Redis, Rasa and the queue answer
  and the queue's backlog is under ``RECOBRA_READY_MAX_BACKLOG``; else 503 with the failed checks named. Each
  check is bounded by ``RECOBRA_READY_TIMEOUT`` (bot/platform/readiness.py).
- ``GET /metrics``: Prometheus's text format, added up over gunicorn's processes (bot/platform/metrics.py). The
  web edge faces the internet, so it needs ``Authorization: Bearer $RECOBRA_METRICS_TOKEN``: without a token
  configured the route answers 404 (there are no metrics to find), with a missing or wrong one 403.

Every request is timed (``recobra_http_request_seconds`` by endpoint) and starts with no log ids bound: gunicorn's
threads serve one request after another, and an id left from the previous one would mislabel the next.
"""

from __future__ import annotations

import hmac
import time

from flask import Flask, Response, current_app, g, jsonify, request

from bot.conversation import rasa_client
from bot.platform import logs, metrics, readiness, redis_client
from bot.platform.config import get_settings
from bot.platform.queue import dead_letter_count
from bot.review import rollups
from bot.store import db as store
from bot.web.db import get_session
from bot.web.errors import error_response


def register(app: Flask) -> None:
    app.add_url_rule("/healthz", "healthz", healthz, methods=["GET"])
    app.add_url_rule("/readyz", "readyz", readyz, methods=["GET"])
    app.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])
    app.before_request(_start)
    app.after_request(_observe)
    app.teardown_request(_forget)


def healthz() -> dict[str, str]:
    return {"status": "ok"}


def checks() -> dict[str, readiness.Check]:
    """What the web edge needs to do its work: the store, Redis, Rasa (CONTRACT: ready only when they answer) and
    the queue, under its bound."""
    s = get_settings()
    url = store_url()
    return {
        "database": lambda: store.ping(url),
        "redis": lambda: redis_client.ping(s.ready_timeout),
        "rasa": lambda: rasa_client.ping(s.ready_timeout),
        "queue": readiness.queue_check(redis_client.probe_queue(s.ready_timeout), s.ready_max_backlog),
    }


def store_url() -> str:
    return current_app.config.get("DATABASE_URL") or get_settings().database_url


PROBES = readiness.Shared()  # concurrent /readyz calls share one run of the checks


def readyz() -> tuple[Response, int]:
    skip = request.args.get("skip")
    try:
        chosen = readiness.without(checks(), skip)
    except ValueError as exc:
        return error_response(400, "bad_request", str(exc))
    ready, body = PROBES.run(lambda: chosen, get_settings().ready_timeout, key=tuple(sorted(chosen)))
    return jsonify(body), 200 if ready else 503


def metrics_view():
    token = get_settings().metrics_token
    if not token:
        return error_response(404, "not_found", "The requested URL was not found on the server.")
    scheme, _, given = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        return error_response(403, "forbidden", "Send Authorization: Bearer with the metrics token.")
    return Response(metrics.render(levels()), content_type=metrics.CONTENT_TYPE)


def levels() -> list[metrics.ScrapeCollector]:
    """What is read at scrape time: the queue's backlog and dead letters, the rollups' age."""
    queue = redis_client.probe_queue(get_settings().ready_timeout)

    def rollup_age():
        return metrics.rollup_age_family(rollups.age_seconds(get_session()))

    return [
        metrics.ScrapeCollector(
            "queue", lambda: metrics.queue_families(queue.name, queue.backlogs(), dead_letter_count(queue.redis))
        ),
        metrics.ScrapeCollector("rollups", rollup_age),
    ]


def _start() -> None:
    logs.clear()
    g.recobra_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.get("recobra_started")
    if started is not None:
        endpoint = request.endpoint or "unmatched"
        metrics.HTTP_SECONDS.labels(endpoint, request.method, str(response.status_code)).observe(
            time.perf_counter() - started
        )
    return response


def _forget(_exc: BaseException | None) -> None:
    logs.clear()
