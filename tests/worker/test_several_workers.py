"""Two worker processes on one queue, a Rasa slower than the queue's lease (issue #24 §1).

Before the heartbeat and the fence, a partition's lease was renewed only between polls: a turn longer
than the lease let the other worker take the partition and claim the entries the first was still
handling, and both answered the same debtor, twice and out of order."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.store.models import Message
from tests.worker.doubles import inbound_params, post_inbound, set_env, wait_for

ROOT = Path(__file__).resolve().parents[2]
LEASE_MS = 1_000
RASA_SECONDS = 1.5  # every turn outlives the lease
PARTITIONS = 32
DEBTORS, MESSAGES = 20, 5

WORKER = f"""
import logging, sys, time
logging.basicConfig(level=logging.WARNING)
from bot.providers.factory import set_messaging_provider
from bot.providers.sandbox_messaging import SandboxMessaging
from bot.platform.queue import QueueWorker
from bot.platform.redis_client import get_queue
from bot.worker import jobs
jobs.load_handlers()
set_messaging_provider(SandboxMessaging(delays=(0.05, 0.1, 0.15)))
queue = get_queue()
queue.redis.set("test:ready:" + sys.argv[1], 1)
while not queue.redis.exists("test:go"):  # both start together, and race for the partitions
    time.sleep(0.01)
QueueWorker(queue, jobs.dispatch, consumer=sys.argv[1], lease_ms={LEASE_MS}, block_ms=100).start()
time.sleep(600)
"""


def _phones(queue) -> list[str]:
    """Debtors on partitions of their own, so that the test's length is one conversation's, not a queue's."""
    phones, taken = [], set()
    n = 0
    while len(phones) < DEBTORS:
        phone = f"+5730022{n:05d}"
        n += 1
        if queue.partition_of(phone) not in taken:
            taken.add(queue.partition_of(phone))
            phones.append(phone)
    return phones


@pytest.mark.slow
def test_two_workers_and_a_rasa_slower_than_the_lease_answer_each_message_once_and_in_order(
    client, session, make_debtor, rasa_double, sandbox_provider, redis_client, tmp_path
):
    from bot.platform.redis_client import get_queue

    set_env(RECOBRA_QUEUE_PARTITIONS=str(PARTITIONS))
    procs: list[subprocess.Popen] = []
    try:
        queue = get_queue()
        phones = _phones(queue)
        for i, phone in enumerate(phones):
            make_debtor(f"MW-{i}", phone=phone)
        rasa_double.delay = RASA_SECONDS
        for name in ("w1", "w2"):
            with open(tmp_path / f"{name}.log", "w") as log:  # a file: a full pipe would block the worker
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-c", WORKER, name], cwd=ROOT, env=dict(os.environ), stdout=log, stderr=log
                    )
                )

        def holders() -> Counter:
            values = [redis_client.get(queue.lease_key(p)) for p in range(PARTITIONS)]
            return Counter(v.decode().split("#")[0] for v in values if v)

        wait_for(lambda: all(redis_client.exists(f"test:ready:{name}") for name in ("w1", "w2")), timeout=30)
        redis_client.set("test:go", 1)
        wait_for(lambda: sum(holders().values()) == PARTITIONS, timeout=30)
        # Usually both hold some; either way the other one asks for every partition three times a lease.

        for n in range(MESSAGES):  # all at once: each partition's poll reads a batch far longer than the lease
            for phone in phones:
                assert post_inbound(client, inbound_params(phone, f"{phone} mensaje {n}")).status_code == 200

        def all_sent() -> bool:
            return sum(len(sandbox_provider.outbox(p)) for p in phones) >= DEBTORS * MESSAGES

        wait_for(all_sent, timeout=60, every=0.25)
        time.sleep(LEASE_MS / 1000 * 2)  # anything handled twice would show up by now

        for phone in phones:
            expected = [f"eco: {phone} mensaje {n}" for n in range(MESSAGES)]
            sent = [o["body"] for o in sandbox_provider.outbox(phone)]
            assert sent == expected, f"{phone}: replies missing, doubled or out of order"
        turns = Counter(c["metadata"]["message_id"] for c in rasa_double.started)
        assert len(turns) == DEBTORS * MESSAGES
        assert [mid for mid, times in turns.items() if times > 1] == [], "a message was handled twice"
        session.expire_all()
        statuses = Counter(session.execute(select(Message.status).where(Message.direction == "in")).scalars())
        assert statuses == {"processed": DEBTORS * MESSAGES}
        assert queue.pending_count() == 0
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(10)
        set_env(RECOBRA_QUEUE_PARTITIONS=None)
