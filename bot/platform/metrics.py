"""Every Prometheus metric of Recobra, defined once (``prometheus-client``), and how a process exposes them.

One module so that the services record what happened with a plain call (``metrics.MESSAGES_SENT.labels(...)
.inc()``) and know nothing of HTTP: the web edge serves them at ``/metrics`` (bearer token), the worker and the
action server on their own small servers. Labels take values from short, closed sets (channels, Twilio error
codes, job kinds, suppression reasons): never a phone, a debtor or a message id, which would make one time
series per debtor.

Several gunicorn workers serve the web edge, each with its own counters in memory: a scrape would see one of
them. ``python -m bot web`` therefore sets ``PROMETHEUS_MULTIPROC_DIR`` (a private folder under the var dir,
emptied at start) before gunicorn starts, so prometheus-client keeps each process's values in a file there and
``render`` adds them up (its multiprocess mode). Gauges do not add up across processes, so the web records
counters and histograms only; what is a level (the queue's backlog, the rollups' age) is read when scraped, by
``ScrapeCollector``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Seconds: from a few ms (a webhook that stores and queues) to a minute (a Rasa turn with slow actions).
FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SLOW = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

# --- The web edge ------------------------------------------------------------------------------------
HTTP_SECONDS = Histogram(
    "recobra_http_request_seconds",
    "Time to answer an HTTP request at the web edge, by Flask endpoint (webhooks.inbound is Twilio's inbound "
    "webhook), method and status.",
    ["endpoint", "method", "status"],
    buckets=FAST,
)
WEBHOOKS = Counter(
    "recobra_webhooks_total",
    "Provider webhooks by what became of them (queued, duplicate, bad_signature, unusable, queue_failed, applied).",
    ["webhook", "outcome"],
)
LOGIN_FAILURES = Counter(
    "recobra_login_failures_total",
    "Refused console/dashboard sign-ins: bad_credentials, locked (too many attempts), unavailable (no Redis).",
    ["reason"],
)

# --- The queue and the worker ------------------------------------------------------------------------
QUEUE_JOBS = Counter(
    "recobra_queue_jobs_total",
    "Queue entries handled, by job kind and outcome (ok, retry, failed; recobra_queue_dead_lettered_total counts "
    "those set aside).",
    ["queue", "kind", "outcome"],
)
QUEUE_JOB_SECONDS = Histogram(
    "recobra_queue_job_seconds", "Time a job's handler ran, by job kind.", ["queue", "kind"], buckets=SLOW
)
DEAD_LETTERED = Counter(
    "recobra_queue_dead_lettered_total",
    "Entries set aside in the dead-letter stream after repeated failures, by the partition they came from.",
    ["queue", "partition", "kind"],
)

# --- Rasa and the actions ----------------------------------------------------------------------------
RASA_SECONDS = Histogram(
    "recobra_rasa_seconds",
    "Time of a call to Rasa (turn: one debtor message through the recobra channel, actions included; "
    "trigger_intent: a campaign reminder), by outcome (ok, retry, refused).",
    ["call", "outcome"],
    buckets=SLOW,
)
ACTION_SECONDS = Histogram(
    "recobra_action_seconds",
    "Time of one custom action in the action server, by action and outcome (ok, error).",
    ["action", "outcome"],
    buckets=SLOW,
)

# --- Messages out ------------------------------------------------------------------------------------
MESSAGES_SENT = Counter(
    "recobra_messages_sent_total", "Messages the provider accepted, by provider and channel.", ["provider", "channel"]
)
SEND_FAILURES = Counter(
    "recobra_message_send_failures_total",
    "Sends the provider refused or that failed, by the provider's error code (Twilio's 21211, 21610, 63016 ..., "
    "rate_limited, ambiguous) and whether they are retried.",
    ["provider", "channel", "code", "retryable"],
)
DELIVERY_FAILURES = Counter(
    "recobra_message_delivery_failures_total",
    "Messages a status callback reported failed or undelivered, by channel and error code.",
    ["channel", "status", "code"],
)
RATE_LIMIT_WAIT = Histogram(
    "recobra_rate_limit_wait_seconds",
    "Time a send waited for its sender's slot (bot/messaging/rate_limit.py), by channel.",
    ["channel"],
    buckets=(0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
RATE_LIMIT_REFUSED = Counter(
    "recobra_rate_limit_refused_total",
    "Sends given no slot within the wait allowed (retried later), by channel.",
    ["channel"],
)

# --- Campaigns ---------------------------------------------------------------------------------------
CAMPAIGN_DECISIONS = Counter(
    "recobra_campaign_decisions_total",
    "Planned campaign contacts by decision (queued, deferred, suppressed, skipped) and reason.",
    ["campaign", "outcome", "reason"],
)
CAMPAIGN_SENDS = Counter(
    "recobra_campaign_sends_total",
    "Campaign contacts at the moment of sending: sent, or suppressed/deferred/failed (something changed since "
    "they were planned), by reason.",
    ["campaign", "outcome", "reason"],
)


def label(value: object, default: str = "none") -> str:
    """A label value: the text, or ``default`` for nothing."""
    text = "" if value is None else str(value)
    return text or default


class ScrapeCollector(Collector):
    """Gauges read when Prometheus scrapes (``read`` yields metric families), for levels that live elsewhere (the
    queue in Redis, the rollups in the store) and so are the same whichever process is asked. A failing ``read``
    costs its own metrics, never the scrape: ``recobra_scrape_error{collector}`` says which one failed."""

    def __init__(self, name: str, read: Callable[[], Iterable[Metric]]) -> None:
        self.name = name
        self.read = read

    def describe(self) -> list[Metric]:
        return []  # nothing read at registration

    def collect(self) -> Iterator[Metric]:
        error = GaugeMetricFamily("recobra_scrape_error", "1 when a level could not be read.", labels=["collector"])
        try:
            found = list(self.read())
        except Exception as exc:
            log.warning("metrics: %s could not be read: %s", self.name, type(exc).__name__)
            found = []
            error.add_metric([self.name], 1)
        else:
            error.add_metric([self.name], 0)
        yield from found
        yield error


def queue_families(queue: str, backlogs: dict[int, int], dead_letters: int) -> list[Metric]:
    """The queue's levels: entries not yet handled per partition, and the dead letters waiting for a person."""
    backlog = GaugeMetricFamily(
        "recobra_queue_backlog",
        "Entries not yet read or not yet acknowledged, per partition.",
        labels=["queue", "partition"],
    )
    for partition, count in sorted(backlogs.items()):
        backlog.add_metric([queue, str(partition)], count)
    dead = GaugeMetricFamily(
        "recobra_queue_dead_letters",
        "Entries in the dead-letter stream (python -m bot queue dead-letters lists and replays them).",
    )
    dead.add_metric([], dead_letters)
    return [backlog, dead]


def rollup_age_family(seconds: float | None) -> list[Metric]:
    """How long ago the dashboard's rollups were refreshed (none yet: no sample)."""
    family = GaugeMetricFamily(
        "recobra_rollups_age_seconds",
        "Seconds since the dashboard rollups were last refreshed (bot/review/rollups.py).",
    )
    if seconds is not None:
        family.add_metric([], seconds)
    return [family]


class _ThisProcess(Collector):
    """The default registry (this process's metrics) inside the registry ``render`` builds per scrape."""

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def multiprocess() -> bool:
    """Metrics of several processes added up from ``PROMETHEUS_MULTIPROC_DIR`` (the gunicorn web edge)."""
    return bool(os.environ.get(MULTIPROC_ENV))


def render(extra: Iterable[Collector] = ()) -> bytes:
    """The text exposition of this process's metrics (or of every process sharing the multiprocess folder) plus
    the scrape-time ``extra`` collectors."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess():
        prometheus_multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    for collector in extra:
        registry.register(collector)
    return generate_latest(registry)
