"""The web edge as an operator watches it: /readyz, /metrics (token), and JSON log lines that carry a turn's ids."""

from __future__ import annotations

import io
import json
import logging
import os
import time
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.environment import free_port
from tests.json_logs import json_lines
from tests.worker.doubles import inbound_params, post_inbound, set_env

METRICS_TOKEN = "metrics-token-for-tests"
PHONE = "+573001112233"


@pytest.fixture()
def env_restored() -> Iterator[None]:
    """Whatever a test sets with set_env is put back afterwards."""
    names = (
        "REDIS_URL",
        "RECOBRA_METRICS_TOKEN",
        "RECOBRA_READY_MAX_BACKLOG",
        "RECOBRA_READY_TIMEOUT",
    )
    saved = {n: os.environ.get(n) for n in names}
    yield
    set_env(**saved)


def sample(client, name: str, **labels: str) -> float:
    """One sample of /metrics (0 when absent)."""
    resp = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert resp.status_code == 200, resp.data
    for family in text_string_to_metric_families(resp.get_data(as_text=True)):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


# --- /readyz -----------------------------------------------------------------------------------------
def test_ready_when_store_redis_rasa_and_queue_answer(client, redis_client, rasa_double, env_restored):
    resp = client.get("/readyz")
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "redis", "rasa", "queue"}
    assert all(c["ok"] for c in body["checks"].values())
    assert body["checks"]["queue"]["backlog"] == 0


def test_not_ready_when_redis_is_down_and_the_answer_names_it_without_addresses(
    client, redis_client, rasa_double, env_restored
):
    set_env(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")  # nobody listens there
    resp = client.get("/readyz")
    assert resp.status_code == 503
    body = resp.json
    assert body["status"] == "not_ready"
    assert "redis" in body["failed"] and "queue" in body["failed"]
    assert body["checks"]["database"]["ok"] and body["checks"]["rasa"]["ok"]
    assert body["checks"]["redis"]["error"] == "ConnectionError"
    assert "127.0.0.1" not in resp.get_data(as_text=True)  # the edge faces the internet: no addresses


def test_not_ready_when_the_store_is_down(db, redis_client, rasa_double, env_restored):
    from bot.web import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": f"postgresql://nobody:x@127.0.0.1:{free_port()}/none"})
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.json["failed"] == ["database"]
    assert "nobody" not in resp.get_data(as_text=True)


def test_not_ready_when_the_backlog_passes_its_bound(client, redis_client, rasa_double, env_restored):
    from bot.platform.redis_client import get_queue

    set_env(RECOBRA_READY_MAX_BACKLOG="1")
    get_queue().enqueue("+573001112233", "noop", {})
    assert client.get("/readyz").status_code == 200
    get_queue().enqueue("+573009998877", "noop", {})
    resp = client.get("/readyz")
    assert resp.status_code == 503 and resp.json["failed"] == ["queue"]
    assert resp.json["checks"]["queue"]["backlog"] == 2 and resp.json["checks"]["queue"]["max_backlog"] == 1


def test_a_check_that_hangs_costs_the_timeout_not_the_probe(client, redis_client, rasa_double, env_restored):
    set_env(RECOBRA_READY_TIMEOUT="0.3")
    rasa_double.status_delay = 3.0
    started = time.monotonic()
    resp = client.get("/readyz")
    assert time.monotonic() - started < 2.0
    assert resp.status_code == 503
    # requests' own timeout or the probe's deadline, whichever comes first
    assert resp.json["checks"]["rasa"]["error"] in ("ReadTimeout", "timeout") and resp.json["failed"] == ["rasa"]


def test_the_operator_may_leave_rasa_out_of_the_edges_readiness(client, redis_client, env_restored):
    """The edge stores and queues messages while Rasa is down: a probe may say so (``?skip=rasa``)."""
    set_env(RASA_URL=f"http://127.0.0.1:{free_port()}")  # no Rasa
    try:
        assert client.get("/readyz").status_code == 503
        resp = client.get("/readyz?skip=rasa")
        assert resp.status_code == 200 and set(resp.json["checks"]) == {"database", "redis", "queue"}
        bad = client.get("/readyz?skip=rasa,nope")
        assert bad.status_code == 400 and "nope" in bad.json["error"]["message"]
    finally:
        set_env(RASA_URL=None)


# --- /metrics ----------------------------------------------------------------------------------------
def test_metrics_need_the_token(client, env_restored):
    set_env(RECOBRA_METRICS_TOKEN=None)
    assert client.get("/metrics").status_code == 404  # no token configured: no metrics on the public edge
    set_env(RECOBRA_METRICS_TOKEN=METRICS_TOKEN)
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": f"Basic {METRICS_TOKEN}"}).status_code == 403
    resp = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert resp.status_code == 200 and resp.content_type.startswith("text/plain")


def test_a_signed_webhook_moves_the_metrics(client, session, make_debtor, redis_client, env_restored):
    set_env(RECOBRA_METRICS_TOKEN=METRICS_TOKEN)
    make_debtor("CO-1", phone=PHONE)
    queued = {"webhook": "twilio_messages", "outcome": "queued"}
    timed = {"endpoint": "webhooks.inbound", "method": "POST", "status": "200"}
    before_count = sample(client, "recobra_webhooks_total", **queued)
    before_timed = sample(client, "recobra_http_request_seconds_count", **timed)
    before_forged = sample(client, "recobra_webhooks_total", webhook="twilio_messages", outcome="bad_signature")

    params = inbound_params(PHONE, "hola")
    assert post_inbound(client, params).status_code == 200
    assert post_inbound(client, params).status_code == 200  # Twilio's retry: a duplicate
    assert post_inbound(client, inbound_params(PHONE, "x"), signature="forged").status_code == 403

    assert sample(client, "recobra_webhooks_total", **queued) == before_count + 1
    assert sample(client, "recobra_http_request_seconds_count", **timed) == before_timed + 2
    assert sample(client, "recobra_webhooks_total", webhook="twilio_messages", outcome="bad_signature") == (
        before_forged + 1
    )
    # the queue's level, read at scrape time: the message waits on its conversation's partition
    from bot.platform.redis_client import get_queue

    partition = str(get_queue().partition_of(PHONE))
    assert sample(client, "recobra_queue_backlog", queue="inbound", partition=partition) == 1
    assert sample(client, "recobra_scrape_error", collector="queue") == 0


def test_failed_logins_are_counted(client, db, redis_client, env_restored):
    set_env(RECOBRA_METRICS_TOKEN=METRICS_TOKEN)
    before = sample(client, "recobra_login_failures_total", reason="bad_credentials")
    page = client.get("/console/login")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    resp = client.post("/console/login", data={"username": "nadie", "password": "mal", "csrf_token": token})
    assert resp.status_code == 401
    assert sample(client, "recobra_login_failures_total", reason="bad_credentials") == before + 1


# --- logs ----------------------------------------------------------------------------------------------
@pytest.fixture()
def json_log() -> Iterator[io.StringIO]:
    with json_lines("web") as stream:
        yield stream


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_the_webhooks_log_line_carries_the_ids_and_no_full_phone(client, session, make_debtor, redis_client, json_log):
    from bot.store.models import Message

    make_debtor("CO-1", phone=PHONE)
    params = inbound_params(PHONE, "hola")
    assert post_inbound(client, params).status_code == 200
    stored = session.query(Message).one()
    found = [line for line in lines(json_log) if line.get("message_sid") == params["MessageSid"]]
    assert found, json_log.getvalue()
    line = found[-1]
    assert line["conversation_id"] == stored.conversation_id and line["message_id"] == stored.id
    assert line["level"] == "info" and line["logger"] == "bot.web.webhooks" and line["process"] == "web"
    assert "+57••••••2233" in line["event"]
    text = json_log.getvalue()
    assert PHONE not in text and PHONE[1:] not in text and "3001112233" not in text


def test_the_masking_net_catches_a_phone_logged_by_mistake(json_log):
    logging.getLogger("bot.somewhere").warning(
        "sent to +57 300 111 2233 and 573001112233; stream entry 1733400000000-0, sid SM0123456789abcdef"
    )
    [line] = lines(json_log)
    assert "300 111 2233" not in line["event"] and "573001112233" not in line["event"]
    assert line["event"].count("2233") == 2  # the last four, as bot.platform.masking shows a phone
    assert "1733400000000-0" in line["event"] and "SM0123456789abcdef" in line["event"]


def test_a_job_id_that_passes_the_luhn_check_stays_readable_and_a_card_beside_it_does_not(json_log):
    logging.getLogger("bot.worker").info("job 1733400000001-0 paid with 4111 1111 1111 1111")
    [line] = lines(json_log)
    assert "job 1733400000001-0 paid with [tarjeta oculta]" == line["event"]


def test_ids_bound_in_one_request_do_not_leak_into_the_next(client, session, make_debtor, redis_client, json_log):
    make_debtor("CO-1", phone=PHONE)
    params = inbound_params(PHONE, "hola")
    assert post_inbound(client, params).status_code == 200
    json_log.truncate(0)
    json_log.seek(0)
    logging.getLogger("bot.web").info("after the request")
    client.get("/healthz")
    assert all("message_sid" not in line for line in lines(json_log))
