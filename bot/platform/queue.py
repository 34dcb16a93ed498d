"""The work queue: Redis Streams with a consumer group, partitioned by conversation.

Why partitions: a consumer group spreads entries over consumers, so two messages of one debtor
could be handled at once by two workers and answered out of order. Each conversation key maps to
one of N streams; a worker holds a lease on a partition before reading it, handles its entries
one after another, and different partitions run in parallel (threads here, processes across
machines). Entries are acknowledged only after the handler succeeded (at-least-once; handlers
are idempotent). When a worker dies its lease expires, another worker takes the partition and
claims the dead worker's pending entries with ``XAUTOCLAIM`` before reading new ones, so the
order within a conversation holds and nothing is lost.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
import time
import weakref
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

log = logging.getLogger(__name__)

PREFIX = "recobra:q"
DEAD_LETTER = f"{PREFIX}:dead"


class Retry(Exception):
    """A transient failure (Rasa or a provider down): keep the entry and try again later, forever."""


@dataclass(frozen=True)
class Job:
    id: str
    partition: int
    key: str
    kind: str
    payload: dict[str, Any]
    deliveries: int = 1


Handler = Callable[[Job], None]

# Streams whose consumer group is known to exist, per Redis client: creating the groups is 16 round
# trips, and the web process makes a new queue object for every webhook it enqueues.
_READY: weakref.WeakKeyDictionary[redis.Redis, set[str]] = weakref.WeakKeyDictionary()
_READY_LOCK = threading.Lock()


class PartitionedQueue:
    def __init__(
        self,
        client: redis.Redis,
        name: str = "inbound",
        partitions: int = 16,
        group: str = "workers",
        maxlen: int = 200_000,
    ) -> None:
        self.redis = client
        self.name = name
        self.partitions = partitions
        self.group = group
        self.maxlen = maxlen

    def stream(self, partition: int) -> str:
        return f"{PREFIX}:{self.name}:{partition}"

    def lease_key(self, partition: int) -> str:
        return f"{PREFIX}:{self.name}:{partition}:lease"

    def partition_of(self, key: str) -> int:
        return zlib.crc32(key.encode()) % self.partitions

    def _ready_key(self) -> str:
        return f"{self.name}/{self.partitions}/{self.group}"

    def ensure_groups(self, force: bool = False) -> None:
        """Create the consumer groups once per client (again with ``force``: Redis lost them)."""
        with _READY_LOCK:
            ready = _READY.setdefault(self.redis, set())
            if self._ready_key() in ready and not force:
                return
        for p in range(self.partitions):
            try:
                self.redis.xgroup_create(self.stream(p), self.group, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        with _READY_LOCK:
            ready.add(self._ready_key())

    def enqueue(self, key: str, kind: str, payload: dict[str, Any]) -> str:
        """Append a job for conversation ``key``; returns the stream entry id."""
        self.ensure_groups()
        fields = {"key": key, "kind": kind, "payload": json.dumps(payload, ensure_ascii=False)}
        entry_id = self.redis.xadd(self.stream(self.partition_of(key)), fields, maxlen=self.maxlen, approximate=True)
        return entry_id.decode() if isinstance(entry_id, bytes) else entry_id

    def pending_count(self) -> int:
        self.ensure_groups()
        total = 0
        for p in range(self.partitions):
            info = self.redis.xpending(self.stream(p), self.group)
            total += int(info["pending"] if isinstance(info, dict) else info[0])
        return total

    def backlog(self) -> int:
        """Entries not yet acknowledged or not yet read, over all partitions."""
        self.ensure_groups()
        total = 0
        for p in range(self.partitions):
            for group in self.redis.xinfo_groups(self.stream(p)):
                if _decode(group["name"]) != self.group:
                    continue
                total += int(group.get("pending", 0))
                if group.get("lag") is not None:
                    total += int(group["lag"])
                else:  # Redis < 7 reports no lag: count what lies after the last delivered entry
                    last = _decode(group.get("last-delivered-id") or "0-0")
                    total += len(self.redis.xrange(self.stream(p), min=f"({last}", max="+"))
        return total


def _decode(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class PartitionConsumer:
    """Handles one partition while holding its lease. Run by a worker thread."""

    def __init__(
        self,
        queue: PartitionedQueue,
        partition: int,
        handler: Handler,
        consumer: str,
        lease_ms: int = 30_000,
        block_ms: int = 1_000,
        max_failures: int = 5,
        max_backoff: float = 30.0,
    ) -> None:
        self.q = queue
        self.partition = partition
        self.handler = handler
        self.consumer = consumer
        self.lease_ms = lease_ms
        self.block_ms = block_ms
        self.max_failures = max_failures
        self.max_backoff = max_backoff
        self._failures: dict[str, int] = {}
        self._retry_at = 0.0
        self._retries = 0
        self._claimed = False

    # --- lease ---------------------------------------------------------------------------
    def acquire(self) -> bool:
        key = self.q.lease_key(self.partition)
        r = self.q.redis
        if r.set(key, self.consumer, nx=True, px=self.lease_ms):
            self._claimed = False
            return True
        # Renew only if it is still ours (compare-and-expire in one step).
        renewed = r.eval(
            "if redis.call('get', KEYS[1]) == ARGV[1] then "
            "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end",
            1,
            key,
            self.consumer,
            self.lease_ms,
        )
        return bool(renewed)

    def release(self) -> None:
        self.q.redis.eval(
            "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end",
            1,
            self.q.lease_key(self.partition),
            self.consumer,
        )

    # --- work ----------------------------------------------------------------------------
    def _entries(self, raw: Any) -> list[tuple[str, dict]]:
        out = []
        for entry_id, fields in raw or []:
            if fields is None:  # deleted while pending
                continue
            out.append((_decode(entry_id), {_decode(k): _decode(v) for k, v in fields.items()}))
        return out

    def _take_over_pending(self) -> list[tuple[str, dict]]:
        """Claim what a previous holder of this partition left unacknowledged (it died)."""
        stream = self.q.stream(self.partition)
        claimed: list[tuple[str, dict]] = []
        start = "0-0"
        while True:
            result = self.q.redis.xautoclaim(
                stream, self.q.group, self.consumer, min_idle_time=0, start_id=start, count=100
            )
            next_id, entries = result[0], result[1]
            claimed.extend(self._entries(entries))
            if _decode(next_id) == "0-0" or not entries:
                break
            start = _decode(next_id)
        claimed.sort(key=lambda e: tuple(int(x) for x in e[0].split("-")))
        return claimed

    def poll(self) -> int:
        """Handle what is there now; returns how many entries were acknowledged."""
        if time.monotonic() < self._retry_at:
            time.sleep(min(0.2, self._retry_at - time.monotonic()))
            return 0
        r = self.q.redis
        stream = self.q.stream(self.partition)
        if not self._claimed:
            entries = self._take_over_pending()
            self._claimed = True
        else:
            # Our own pending entries first (a retried one), then new ones.
            entries = self._entries(r.xreadgroup(self.q.group, self.consumer, {stream: "0"}, count=50)[0][1])
        if not entries:
            result = r.xreadgroup(self.q.group, self.consumer, {stream: ">"}, count=20, block=self.block_ms)
            entries = self._entries(result[0][1]) if result else []
        done = 0
        for entry_id, fields in entries:
            if not self._handle(entry_id, fields):
                break  # keep order: nothing after a failed entry runs before it
            done += 1
        return done

    def _handle(self, entry_id: str, fields: dict) -> bool:
        stream = self.q.stream(self.partition)
        try:
            payload = json.loads(fields.get("payload", "{}"))
        except json.JSONDecodeError:
            payload = {"raw": fields.get("payload")}
        job = Job(
            id=entry_id,
            partition=self.partition,
            key=fields.get("key", ""),
            kind=fields.get("kind", ""),
            payload=payload,
            deliveries=self._failures.get(entry_id, 0) + 1,
        )
        try:
            self.handler(job)
        except Retry as exc:
            self._retries += 1
            delay = min(self.max_backoff, 0.5 * 2 ** min(self._retries, 10)) * random.uniform(0.7, 1.3)
            log.warning("job %s (%s) will be retried in %.1fs: %s", entry_id, job.kind, delay, exc)
            self._retry_at = time.monotonic() + delay
            return False
        except Exception:
            failures = self._failures.get(entry_id, 0) + 1
            self._failures[entry_id] = failures
            log.exception("job %s (%s) failed (%d/%d)", entry_id, job.kind, failures, self.max_failures)
            if failures < self.max_failures:
                self._retry_at = time.monotonic() + min(self.max_backoff, 0.2 * 2**failures)
                return False
            self.q.redis.xadd(DEAD_LETTER, {**fields, "stream": stream, "entry_id": entry_id}, maxlen=100_000)
            log.error("job %s moved to the dead-letter stream after %d failures", entry_id, failures)
        self.q.redis.xack(stream, self.q.group, entry_id)
        self._failures.pop(entry_id, None)
        self._retries = 0
        return True


class QueueWorker:
    """Runs a thread per partition; each handles its partition while it holds the lease."""

    def __init__(
        self,
        queue: PartitionedQueue,
        handler: Handler,
        consumer: str | None = None,
        lease_ms: int = 30_000,
        block_ms: int = 1_000,
    ) -> None:
        self.queue = queue
        self.handler = handler
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self.lease_ms = lease_ms
        self.block_ms = block_ms
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []

    def _run_partition(self, partition: int) -> None:
        pc = PartitionConsumer(
            self.queue, partition, self.handler, self.consumer, lease_ms=self.lease_ms, block_ms=self.block_ms
        )
        holding = False
        while not self.stop_event.is_set():
            try:
                if not pc.acquire():
                    holding = False
                    self.stop_event.wait(min(1.0, self.lease_ms / 3000))
                    continue
                if not holding:
                    holding = True
                    pc._claimed = False
                pc.poll()
            except redis.ConnectionError as exc:
                log.warning("redis unavailable for partition %d: %s", partition, exc)
                self.stop_event.wait(1.0)
            except redis.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    log.exception("partition %d loop error", partition)
                    self.stop_event.wait(1.0)
                    continue
                # Redis restarted without its data: make the groups again (from the stream's start).
                log.warning("partition %d: the consumer group is gone; creating it again", partition)
                self.queue.ensure_groups(force=True)
                pc._claimed = False
            except Exception:  # never let a thread die: log and go on
                log.exception("partition %d loop error", partition)
                self.stop_event.wait(1.0)
        try:
            pc.release()
        except redis.RedisError:
            pass

    def start(self) -> None:
        self.queue.ensure_groups()
        for p in range(self.queue.partitions):
            t = threading.Thread(target=self._run_partition, args=(p,), name=f"queue-p{p}", daemon=True)
            t.start()
            self.threads.append(t)

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout)
