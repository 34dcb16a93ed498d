"""The partitioned Redis Streams queue: per-conversation order, parallel conversations, redelivery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest

from bot.platform.queue import PartitionedQueue, QueueWorker, Retry

ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def run_until(queue, handler, done, timeout):
    """Three jobs of one conversation, one worker, until ``done()`` holds."""
    for n in range(3):
        queue.enqueue("+573001112233", "test", {"n": n})
    w = QueueWorker(queue, handler, consumer="w", lease_ms=5000, block_ms=100)
    w.start()
    try:
        assert wait_for(done, timeout=timeout)
    finally:
        w.stop()


@pytest.fixture()
def queue(redis_client):
    return PartitionedQueue(redis_client, name="t", partitions=4)


def test_messages_of_one_conversation_are_handled_in_order_and_conversations_in_parallel(queue):
    seen: dict[str, list[int]] = defaultdict(list)
    active: dict[str, int] = defaultdict(int)
    overlap = []
    concurrent = []
    running = [0]
    lock = threading.Lock()

    def handler(job):
        key = job.key
        with lock:
            active[key] += 1
            running[0] += 1
            concurrent.append(running[0])
            if active[key] > 1:
                overlap.append(key)
        time.sleep(0.01)
        with lock:
            seen[key].append(job.payload["n"])
            active[key] -= 1
            running[0] -= 1

    keys = [f"+5730011122{i:02d}" for i in range(12)]
    for n in range(15):
        for key in keys:
            queue.enqueue(key, "test", {"n": n})
    workers = [QueueWorker(queue, handler, consumer=f"w{i}", lease_ms=5000, block_ms=100) for i in range(2)]
    for w in workers:
        w.start()
    try:
        assert wait_for(lambda: sum(len(v) for v in seen.values()) == 15 * len(keys))
    finally:
        for w in workers:
            w.stop()
    assert not overlap, "two messages of one conversation ran at once"
    for key in keys:
        assert seen[key] == list(range(15)), f"{key} out of order: {seen[key]}"
    assert max(concurrent) > 1, "different conversations should run in parallel"
    assert queue.pending_count() == 0


@pytest.mark.slow
def test_transient_failure_keeps_the_message_and_order(queue):
    calls: list[int] = []
    fail = {"left": 2}

    def handler(job):
        if job.payload["n"] == 0 and fail["left"]:
            fail["left"] -= 1
            raise Retry("rasa is down")
        calls.append(job.payload["n"])

    run_until(queue, handler, lambda: len(calls) == 3, timeout=30)
    assert calls == [0, 1, 2]
    assert fail["left"] == 0


@pytest.mark.slow
def test_a_poison_message_is_dead_lettered_and_the_rest_go_on(queue, redis_client):
    calls: list[int] = []

    def handler(job):
        if job.payload["n"] == 1:
            raise ValueError("cannot parse")
        calls.append(job.payload["n"])

    run_until(queue, handler, lambda: len(calls) == 2, timeout=40)
    assert calls == [0, 2]
    assert redis_client.xlen("recobra:q:dead") == 1


WORKER_SCRIPT = textwrap.dedent(
    """
    import sys, time, redis
    from bot.platform.queue import PartitionedQueue, QueueWorker
    client = redis.Redis.from_url(sys.argv[1])
    q = PartitionedQueue(client, name="t", partitions=4)
    def handler(job):
        client.rpush("started", job.payload["n"])
        time.sleep(3600)  # killed here, mid-message
    w = QueueWorker(q, handler, consumer="doomed", lease_ms=1500, block_ms=100)
    w.start()
    time.sleep(3600)
    """
)


@pytest.mark.slow
def test_a_killed_workers_message_is_redelivered_once(queue, redis_client, redis_url):
    queue.enqueue("+573001112233", "test", {"n": 7})
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT, redis_url], env=env, cwd=ROOT)
    try:
        assert wait_for(lambda: redis_client.llen("started") == 1, timeout=30)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert queue.pending_count() == 1  # read, never acknowledged

    handled: list[int] = []
    w = QueueWorker(
        queue, lambda job: handled.append(job.payload["n"]), consumer="survivor", lease_ms=1500, block_ms=100
    )
    w.start()
    try:
        assert wait_for(lambda: handled == [7], timeout=20)
        time.sleep(1.0)
    finally:
        w.stop()
    assert handled == [7], "redelivered exactly once"
    assert queue.pending_count() == 0


def test_the_consumer_groups_are_made_once_not_on_every_enqueue(redis_client):
    def xgroup_calls() -> int:
        return int(
            redis_client.info("commandstats").get("cmdstat_xgroup|create", {}).get("calls", 0)
            or redis_client.info("commandstats").get("cmdstat_xgroup", {}).get("calls", 0)
        )

    before = xgroup_calls()
    for n in range(50):  # as the web does: a new queue object for every webhook
        PartitionedQueue(redis_client, name="t", partitions=4).enqueue(f"+57300111{n:04d}", "test", {"n": n})
    assert xgroup_calls() - before == 4
    q = PartitionedQueue(redis_client, name="t", partitions=4)
    assert sum(redis_client.xlen(q.stream(p)) for p in range(4)) == 50
    assert q.backlog() == 50  # none read yet (counted without XINFO's lag on Redis 6)


def test_a_redis_that_lost_its_data_gets_its_groups_back_and_work_goes_on(queue, redis_client):
    seen: list[int] = []
    queue.enqueue("+573001112233", "test", {"n": 1})
    w = QueueWorker(queue, lambda job: seen.append(job.payload["n"]), consumer="w", lease_ms=5000, block_ms=100)
    w.start()
    try:
        assert wait_for(lambda: seen == [1])
        redis_client.flushdb()  # a restart without persistence: streams, groups and leases are gone
        queue.enqueue("+573001112233", "test", {"n": 2})
        assert wait_for(lambda: seen == [1, 2], timeout=15)
    finally:
        w.stop()


def test_backlog_counts_what_is_unread_and_what_is_read_but_not_done(redis_client):
    q = PartitionedQueue(redis_client, name="b", partitions=1)
    for n in range(5):
        q.enqueue("+573001112233", "test", {"n": n})
    read = redis_client.xreadgroup(q.group, "w", {q.stream(0): ">"}, count=2)[0][1]
    redis_client.xack(q.stream(0), q.group, read[0][0])
    assert q.backlog() == 4  # one read and not acknowledged, three never read
