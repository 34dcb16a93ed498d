"""The whole edge under load and under failure: many debtors at once, a worker killed mid-message."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.store.models import Message
from tests.worker.doubles import inbound_params, post_inbound, wait_for

ROOT = Path(__file__).resolve().parents[2]


def _replies_by_phone(session):
    session.expire_all()
    out: dict[str, list[Message]] = {}
    for m in session.execute(select(Message).where(Message.direction == "out").order_by(Message.id)).scalars():
        out.setdefault(m.to_phone, []).append(m)
    return out


@pytest.mark.slow
def test_fifty_debtors_writing_at_once_each_get_their_replies_in_order(
    app, session, make_debtor, rasa_double, sandbox_provider, run_worker
):
    rasa_double.delay = 0.01
    phones = [f"+5730011{i:05d}" for i in range(50)]
    for i, phone in enumerate(phones):
        make_debtor(f"LOAD-{i}", phone=phone)
    run_worker()
    per_debtor = 3
    errors: list[Exception] = []

    def debtor(phone: str) -> None:
        client = app.test_client()
        try:
            for n in range(per_debtor):
                channel = "whatsapp" if n % 2 == 0 else "sms"
                r = post_inbound(client, inbound_params(phone, f"{phone} mensaje {n}", channel))
                assert r.status_code == 200
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=debtor, args=(p,)) for p in phones]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors

    def all_sent():
        replies = _replies_by_phone(session)
        return sum(1 for rows in replies.values() for m in rows if m.provider_sid) == len(phones) * per_debtor

    wait_for(all_sent, timeout=120, every=0.25)
    replies = _replies_by_phone(session)
    for phone in phones:
        rows = replies[phone]
        assert [m.body for m in rows] == [f"eco: {phone} mensaje {n}" for n in range(per_debtor)]
        assert [m.channel for m in rows] == ["whatsapp", "sms", "whatsapp"]
        outbox = sandbox_provider.outbox(phone)
        assert [o["body"] for o in outbox] == [m.body for m in rows]  # handed to the provider in order
    assert len(rasa_double.calls) == len(phones) * per_debtor


WORKER = """
import logging, sys, time
logging.basicConfig(level=logging.WARNING)
from bot.providers.factory import set_messaging_provider
from bot.providers.sandbox_messaging import SandboxMessaging
from bot.platform.queue import QueueWorker
from bot.platform.redis_client import get_queue
from bot.worker import jobs
jobs.load_handlers()
set_messaging_provider(SandboxMessaging(delays=(0.05, 0.1, 0.15)))
QueueWorker(get_queue(), jobs.dispatch, consumer="doomed", lease_ms=1000, block_ms=100).start()
time.sleep(600)
"""


@pytest.mark.slow
def test_a_worker_killed_mid_message_is_replaced_and_the_message_answered_once(
    client, session, make_debtor, rasa_double, sandbox_provider, run_worker, redis_url
):
    phone = "+573001112233"
    make_debtor("CO-1", phone=phone)
    rasa_double.delay = 30  # the doomed worker hangs in the dialogue turn
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        post_inbound(client, inbound_params(phone, "hola, ¿cuánto debo?"))
        wait_for(lambda: len(rasa_double.started) == 1, timeout=60)
        proc.send_signal(signal.SIGKILL)  # mid-message: read from the stream, not acknowledged
        proc.wait(10)
        rasa_double.delay = 0
        # The Rasa turn ran once (the double records it); the channel replays it for the same message_id.
        rasa_double.turns[rasa_double.started[0]["metadata"]["message_id"]] = {
            "messages": [{"recipient_id": phone, "text": "eco: hola, ¿cuánto debo?"}],
            "parse": {"intent": "check_balance", "confidence": 0.9, "entities": []},
        }
        run_worker(consumer="survivor")

        def answered():
            return [m for m in _replies_by_phone(session).get(phone, []) if m.provider_sid]

        wait_for(answered, timeout=30)
        import time

        time.sleep(1.5)  # anything duplicated would show up by now
        rows = _replies_by_phone(session)[phone]
        assert [m.body for m in rows] == ["eco: hola, ¿cuánto debo?"]
        assert len(sandbox_provider.outbox(phone)) == 1
        inbound = session.execute(select(Message).where(Message.direction == "in")).scalar_one()
        assert (inbound.status, inbound.intent) == ("processed", "check_balance")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_a_job_redelivered_after_the_answer_was_recorded_sends_it_once(
    client, session, make_debtor, rasa_double, sandbox_provider
):
    """A worker that died after recording the answer but before sending it: the redelivery sends it."""
    from bot.conversation.inbox import process_message
    from bot.platform.queue import Job
    from bot.worker.inbound import handle_inbound

    make_debtor("CO-1", phone="+573001112233")
    post_inbound(client, inbound_params("+573001112233", "hola"))
    m = session.execute(select(Message)).scalar_one()
    process_message(m.id)  # ... and the process died here
    assert _replies_by_phone(session)["+573001112233"][0].provider_sid is None
    job = Job(id="1-0", partition=0, key="+573001112233", kind="inbound_message", payload={"message_id": m.id})
    handle_inbound(job)
    handle_inbound(job)
    [reply] = _replies_by_phone(session)["+573001112233"]
    assert reply.provider_sid and len(rasa_double.calls) == 1
    assert len(sandbox_provider.outbox("+573001112233")) == 1
