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


# --- Several workers: the lease is kept alive, fenced, and taken over only from the dead (issue #24 §1) ----
@pytest.mark.slow
def test_a_job_slower_than_the_lease_keeps_it_and_nobody_else_gets_in(queue, redis_client):
    """The heartbeat renews the lease while one job outlives it three times over; before it, another
    worker took the partition after 300 ms and handled the same entry at the same time."""
    handled: list[str] = []
    intruders: list[int] = []
    key = "+573001112233"
    lease_key = queue.lease_key(queue.partition_of(key))

    def slow(job):
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:  # what a second worker would try meanwhile
            if redis_client.set(lease_key, "intruder", nx=True, px=300):
                intruders.append(1)
                redis_client.delete(lease_key)
            time.sleep(0.05)
        handled.append(job.id)

    queue.enqueue(key, "test", {"n": 1})
    w = QueueWorker(queue, slow, consumer="w", lease_ms=300, block_ms=100)
    w.start()
    try:
        assert wait_for(lambda: len(handled) == 1, timeout=10)
        assert wait_for(lambda: queue.pending_count() == 0, timeout=5)
    finally:
        w.stop()
    assert not intruders, "the lease expired while the job ran"


def _consumer(queue, handler, consumer="a", lease_ms=5_000):
    from bot.platform.queue import PartitionConsumer

    pc = PartitionConsumer(queue, 0, handler, consumer, lease_ms=lease_ms, block_ms=50)
    assert pc.acquire()
    return pc


@pytest.fixture()
def one_partition(redis_client):
    return PartitionedQueue(redis_client, name="one", partitions=1)


def _steal(queue, redis_client):
    """Another worker holds the partition now (ours expired while we were paused)."""
    redis_client.set(queue.lease_key(0), "thief#999", px=60_000)


def test_a_worker_that_lost_its_lease_stops_before_acting_and_does_not_acknowledge(one_partition, redis_client):
    from bot.platform.queue import fence

    q = one_partition
    started: list[int] = []
    acted: list[int] = []

    def handler(job):
        started.append(job.payload["n"])
        _steal(q, redis_client)  # ... while Rasa was thinking
        fence()  # where the outbox would send
        acted.append(job.payload["n"])

    for n in range(3):
        q.enqueue("+573001112233", "test", {"n": n})
    pc = _consumer(q, handler)
    assert pc.poll() == 0
    assert started == [0] and acted == [], "acted, or went on with the batch, without the lease"
    assert q.pending_count() == 3, "nothing may be acknowledged by a worker that lost the lease"
    assert not pc.acquire(), "the thief holds it"


def test_the_acknowledgement_itself_is_fenced(one_partition, redis_client):
    q = one_partition
    q.enqueue("+573001112233", "test", {"n": 0})
    q.enqueue("+573001112233", "test", {"n": 1})
    handled: list[int] = []

    def handler(job):
        handled.append(job.payload["n"])
        _steal(q, redis_client)  # a job with no fenced effect: the XACK must still refuse

    pc = _consumer(q, handler)
    assert pc.poll() == 0
    assert handled == [0]
    assert q.pending_count() == 2


def test_every_acquisition_draws_a_larger_fencing_token(one_partition, redis_client):
    from bot.platform.queue import Lease

    tokens = []
    for name in ("a", "b", "a"):
        lease = Lease(redis_client, one_partition.lease_key(0), name, 5_000)
        assert lease.acquire()
        tokens.append(lease.token)
        assert redis_client.get(one_partition.lease_key(0)).decode() == f"{name}#{lease.token}"
        lease.release()
    assert tokens == sorted(tokens) and len(set(tokens)) == 3
    old, new = Lease(redis_client, one_partition.lease_key(0), "a", 5_000), None
    assert old.acquire()
    redis_client.delete(one_partition.lease_key(0))  # expired
    new = Lease(redis_client, one_partition.lease_key(0), "a", 5_000)  # the same name, a new token
    assert new.acquire() and new.token > old.token
    assert not old.holding() and new.holding()


@pytest.mark.slow
def test_a_takeover_claims_only_entries_idle_longer_than_the_lease_and_keeps_the_order(one_partition, redis_client):
    q = one_partition
    q.ensure_groups()
    q.enqueue("+573001112233", "test", {"n": 1})
    redis_client.xreadgroup(q.group, "other", {q.stream(0): ">"}, count=10)  # in another worker's hands
    q.enqueue("+573001112233", "test", {"n": 2})
    handled: list[int] = []
    pc = _consumer(q, lambda job: handled.append(job.payload["n"]), consumer="b", lease_ms=600)
    assert pc.poll() == 0 and pc.poll() == 0
    assert handled == [], "took an entry another worker may still be handling, or overtook it"
    for _ in range(7):  # now idle longer than a lease: its holder is gone (ours is renewed meanwhile)
        time.sleep(0.1)
        assert pc.acquire()
    while pc.poll():
        pass
    assert handled == [1, 2]
    assert q.pending_count() == 0


def test_the_fence_is_silent_outside_a_queue_job():
    from bot.platform.queue import fence

    fence()


def test_a_dead_letter_keeps_its_last_error_and_can_be_replayed_once(one_partition, redis_client):
    from bot.platform.queue import dead_letters, replay_dead_letter

    q = one_partition
    q.enqueue("+573001112233", "test", {"n": 1, "text": "hola"})

    def broken(job):
        raise ValueError(f"cannot parse {job.key}")

    pc = _consumer(q, broken)
    pc.max_failures = 1
    assert pc.poll() == 1
    [letter] = dead_letters(redis_client)
    assert (letter.kind, letter.key, letter.payload, letter.failures) == (
        "test",
        "+573001112233",
        {"n": 1, "text": "hola"},
        1,
    )
    assert letter.error == "ValueError: cannot parse +573001112233" and letter.stream == q.stream(0)
    new_id = replay_dead_letter(q, letter.id)
    assert new_id and replay_dead_letter(q, letter.id) is None, "replayed twice"
    assert dead_letters(redis_client) == []
    [(entry_id, fields)] = redis_client.xrange(q.stream(0), min=new_id, max=new_id)
    assert fields[b"payload"].decode() == '{"n": 1, "text": "hola"}' and fields[b"kind"] == b"test"


# --- python -m bot queue dead-letters ---------------------------------------------------------------------
def _dead(redis_client, key, error, kind="inbound_message", payload='{"message_id": 7}'):
    from bot.platform.queue import DEAD_LETTER

    fields = {"key": key, "kind": kind, "payload": payload, "stream": "recobra:q:inbound:3", "entry_id": "1-0"}
    return redis_client.xadd(DEAD_LETTER, {**fields, "error": error, "failures": "5"}).decode()


def _cli(*args):
    from click.testing import CliRunner

    from bot.__main__ import cli

    return CliRunner().invoke(cli, ["queue", "dead-letters", *args], catch_exceptions=False)


def test_the_dead_letters_are_listed_without_the_debtors_numbers(redis_client):
    import json

    assert "no dead letters" in _cli().output
    dead_id = _dead(redis_client, "+573001112233", "ValueError: rasa said 400 to +573001112233 (cédula 1023456789)")
    _dead(redis_client, "mp:555", "RuntimeError: payment not found", kind="payment_notification", payload='{"x": 1}')
    result = _cli()
    assert result.exit_code == 0
    out = result.output
    assert dead_id in out and "inbound_message" in out and "payment_notification" in out and "2 dead letters" in out
    assert "+57••••••2233" in out and "RuntimeError: payment not found" in out
    assert "3001112233" not in out and "1023456789" not in out and "(cédula ••••)" in out
    rows = json.loads(_cli("--json").output)
    assert [r["id"] for r in rows][0] == dead_id
    first = rows[0]
    assert (first["kind"], first["key"], first["failures"], first["payload"]) == (
        "inbound_message",
        "+57••••••2233",
        5,
        {"message_id": 7},
    )
    assert "3001112233" not in json.dumps(rows, ensure_ascii=False) and "1023456789" not in json.dumps(rows)


def test_dead_letters_are_replayed_to_their_partition_one_or_all(redis_client):
    from bot.platform.queue import dead_letters
    from bot.platform.redis_client import get_queue

    q = get_queue()
    q.ensure_groups(force=True)  # the shared client remembers groups an earlier test's flush removed
    first = _dead(redis_client, "+573001112233", "ValueError: x")
    _dead(redis_client, "+573001112244", "ValueError: y", payload='{"message_id": 8}')
    _dead(redis_client, "+573001112255", "ValueError: z", payload='{"message_id": 9}')
    result = _cli("--replay", first)
    assert result.exit_code == 0 and f"replayed {first}" in result.output
    [(entry_id, fields)] = redis_client.xrange(q.stream(q.partition_of("+573001112233")))
    assert fields[b"kind"] == b"inbound_message" and fields[b"payload"] == b'{"message_id": 7}'
    assert len(dead_letters(redis_client)) == 2
    missing = _cli_unchecked("--replay", first)
    assert missing.exit_code != 0 and "no dead letter" in missing.output
    assert "2 dead letters queued again" in _cli("--replay-all").output
    assert dead_letters(redis_client) == [] and q.backlog() == 3


def _cli_unchecked(*args):
    from click.testing import CliRunner

    from bot.__main__ import cli

    return CliRunner().invoke(cli, ["queue", "dead-letters", *args])
