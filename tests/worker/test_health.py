"""The worker as an operator watches it: its own /healthz, /readyz and /metrics, and one debtor's turn followed
through the log lines of the web edge and the worker by the same ids."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests
from prometheus_client import REGISTRY
from sqlalchemy import select

from bot.store.models import Message
from bot.worker.health import HealthServer
from tests.environment import free_port
from tests.json_logs import json_lines
from tests.worker.doubles import inbound_params, post_inbound, set_env, wait_for

PHONE = "+573001112233"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture()
def health(db, redis_client) -> Iterator[tuple[HealthServer, dict[str, bool]]]:
    """The worker's health server on a free loopback port; ``state["consuming"]`` plays the queue consumers."""
    state = {"consuming": True}
    server = HealthServer("127.0.0.1", 0, lambda: state["consuming"]).start()
    yield server, state
    server.stop()


def url(server: HealthServer, path: str) -> str:
    return f"http://127.0.0.1:{server.port}{path}"


def test_healthz_and_readyz(health, rasa_double):
    server, state = health
    assert requests.get(url(server, "/healthz"), timeout=5).json() == {"status": "ok"}
    resp = requests.get(url(server, "/readyz"), timeout=5)
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "ready"
    assert set(resp.json()["checks"]) == {"database", "redis", "rasa", "queue", "consumers"}
    state["consuming"] = False  # the consumer threads died
    resp = requests.get(url(server, "/readyz"), timeout=5)
    assert resp.status_code == 503 and resp.json()["failed"] == ["consumers"]
    assert requests.get(url(server, "/nothing"), timeout=5).status_code == 404


def test_readyz_can_leave_a_check_out(health):
    server, _ = health
    saved = os.environ.get("RASA_URL")
    set_env(RASA_URL=f"http://127.0.0.1:{free_port()}")  # no Rasa
    try:
        assert requests.get(url(server, "/readyz"), timeout=5).status_code == 503
        resp = requests.get(url(server, "/readyz?skip=rasa"), timeout=5)
        assert resp.status_code == 200 and "rasa" not in resp.json()["checks"]
        assert requests.get(url(server, "/readyz?skip=rasa,nope"), timeout=5).status_code == 400
    finally:
        set_env(RASA_URL=saved)


def test_readyz_when_redis_is_down(health, rasa_double):
    server, _ = health
    saved = os.environ["REDIS_URL"]
    set_env(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    try:
        resp = requests.get(url(server, "/readyz"), timeout=10)
    finally:
        set_env(REDIS_URL=saved)
    assert resp.status_code == 503
    assert {"redis", "queue"} <= set(resp.json()["failed"]) and resp.json()["checks"]["database"]["ok"]


def test_metrics_open_on_loopback_and_token_checked_once_set(health):
    server, _ = health
    resp = requests.get(url(server, "/metrics"), timeout=5)
    assert resp.status_code == 200 and "recobra_queue_backlog" in resp.text
    set_env(RECOBRA_METRICS_TOKEN="worker-metrics-token")
    try:
        assert requests.get(url(server, "/metrics"), timeout=5).status_code == 403
        ok = requests.get(url(server, "/metrics"), headers={"Authorization": "Bearer worker-metrics-token"}, timeout=5)
        assert ok.status_code == 200
    finally:
        set_env(RECOBRA_METRICS_TOKEN=None)


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture()
def json_log() -> Iterator[io.StringIO]:
    with json_lines("worker") as stream:
        yield stream


def test_one_turn_is_followed_by_its_ids_and_moves_the_workers_metrics(
    client, session, make_debtor, rasa_double, sandbox_provider, run_worker, json_log
):
    make_debtor("CO-1", phone=PHONE)
    jobs_ok = {"queue": "inbound", "kind": "inbound_message", "outcome": "ok"}
    before = {
        "jobs": value("recobra_queue_jobs_total", **jobs_ok),
        "turns": value("recobra_rasa_seconds_count", call="turn", outcome="ok"),
        "sent": value("recobra_messages_sent_total", provider="sandbox", channel="whatsapp"),
    }
    params = inbound_params(PHONE, "hola")
    assert post_inbound(client, params).status_code == 200
    run_worker()

    def answered():
        session.expire_all()
        return session.execute(
            select(Message).where(Message.direction == "out", Message.provider_sid.isnot(None))
        ).first()

    wait_for(answered, timeout=15)
    wait_for(lambda: value("recobra_queue_jobs_total", **jobs_ok) == before["jobs"] + 1)
    assert value("recobra_rasa_seconds_count", call="turn", outcome="ok") == before["turns"] + 1
    assert value("recobra_messages_sent_total", provider="sandbox", channel="whatsapp") == before["sent"] + 1

    inbound = session.execute(select(Message).where(Message.direction == "in")).scalar_one()
    # Rasa is told the ids (the actions read them from the tracker's latest message)
    [call] = rasa_double.calls
    assert call["metadata"]["conversation_id"] == inbound.conversation_id
    assert call["metadata"]["message_sid"] == params["MessageSid"]
    # the web edge's line and the worker's lines carry the same ids
    lines = [json.loads(line) for line in json_log.getvalue().splitlines() if line.strip()]
    ours = [line for line in lines if line.get("message_sid") == params["MessageSid"]]
    by_logger = {line["logger"]: line for line in ours}
    assert {"bot.web.webhooks", "bot.conversation.inbox", "bot.messaging.outbox"} <= set(by_logger), ours
    for line in by_logger.values():
        assert line["conversation_id"] == inbound.conversation_id
    assert by_logger["bot.conversation.inbox"]["job_kind"] == "inbound_message"
    assert by_logger["bot.conversation.inbox"]["message_id"] == inbound.id
    text = json_log.getvalue()
    assert PHONE not in text and PHONE[1:] not in text


def test_a_worker_whose_health_port_is_taken_does_not_start():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "bot", "worker", "--health-port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1
    assert "RECOBRA_WORKER_HEALTH_PORT" in result.stderr and f"127.0.0.1:{port}" in result.stderr
