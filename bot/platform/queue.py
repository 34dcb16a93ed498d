"""The work queue: Redis Streams with a consumer group, partitioned by conversation.

Why partitions: a consumer group spreads entries over consumers, so two messages of one debtor
could be handled at once by two workers and answered out of order. Each conversation key maps to
one of N streams; a worker holds a lease on a partition before reading it, handles its entries
one after another, and different partitions run in parallel (threads here, processes across
machines). Entries are acknowledged only after the handler succeeded (at-least-once; handlers
are idempotent). When a worker dies its lease expires, another worker takes the partition and
claims the dead worker's pending entries with ``XAUTOCLAIM`` before reading new ones, so the
order within a conversation holds and nothing is lost.

The lease is only a promise if it outlives the work done under it: one entry can wait a minute for
Rasa and half a minute for the rate limiter, far past a 30 s lease renewed between polls, and a
second worker would then take the partition and answer the same debtor at the same time. So:

- a heartbeat thread renews every held lease every third of its length while the jobs run;
- each acquisition draws a fencing token (``INCR``), stored in the lease's value; the handler's side
  effects check it (``fence()``: the outbox before each send, the inbox before it commits an answer)
  and ``XACK`` runs in a script that acknowledges only while the value is still ours. A worker that
  lost its lease (a pause longer than the lease, Redis unreachable) raises ``LeaseLost`` there, stops
  its batch, and leaves the entries to the new holder;
- a new holder claims only entries idle longer than the lease (a live holder renews, so what it is
  working on is never stolen), and reads nothing new while another consumer's entries are pending.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import random
import socket
import threading
import time
import weakref
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import redis

from bot.platform import logs, metrics

log = logging.getLogger(__name__)

PREFIX = "recobra:q"
DEAD_LETTER = f"{PREFIX}:dead"


class Retry(Exception):
    """A transient failure (Rasa or a provider down): keep the entry and try again later, forever."""


class LeaseLost(BaseException):
    """This worker no longer holds the partition: another one may be handling the same entries now.

    A ``BaseException``, like ``asyncio.CancelledError``, so that no ``except Exception`` in a handler
    (which counts failures, writes error states, retries) can swallow it: the only right reaction is to
    roll back and stop, which ``with`` blocks and ``finally`` clauses still do."""


# --- The lease and its fencing token --------------------------------------------------------------
_ACQUIRE = """
if redis.call('exists', KEYS[1]) == 1 then return false end
local token = redis.call('incr', KEYS[2])
redis.call('set', KEYS[1], ARGV[1] .. '#' .. token, 'PX', ARGV[2])
return token
"""
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
# XACK only while the lease is ours: a worker that lost it must not acknowledge what the new holder handles.
# With fields after the first four arguments, the entry is also copied to the dead-letter stream (KEYS[3]).
_FENCED_ACK = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return -1 end
if #ARGV > 4 then
  redis.call('xadd', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', unpack(ARGV, 5))
end
return redis.call('xack', KEYS[2], ARGV[2], ARGV[3])
"""
DEAD_LETTER_MAXLEN = 100_000
ERROR_CHARS = 500  # of the last error, kept with a dead letter


class Lease:
    """One worker's hold on one partition: a Redis key whose value is ``consumer#token``.

    The token grows with every acquisition of the partition (by anyone), so a value compared in Redis
    tells an old holder from the current one even when both carry the same consumer name."""

    def __init__(self, client: redis.Redis, key: str, consumer: str, lease_ms: int) -> None:
        self.redis = client
        self.key = key
        self.token_key = f"{key}:token"
        self.consumer = consumer
        self.lease_ms = lease_ms
        self.token = 0
        self.value = ""
        self.held = False
        self._renewed_at = 0.0

    def acquire(self) -> bool:
        """Renew the lease if we still hold it, else take the partition if nobody does (a new token)."""
        if self.held and self.renew():
            return True
        token = self.redis.eval(_ACQUIRE, 2, self.key, self.token_key, self.consumer, self.lease_ms)
        if not token:
            return False
        self.token = int(token)
        self.value = f"{self.consumer}#{self.token}"
        self.held = True
        self._renewed_at = time.monotonic()
        return True

    def renew(self) -> bool:
        """Extend the lease if it is still ours; otherwise mark it lost (the fence fails from now on)."""
        if not self.held:
            return False
        started = time.monotonic()
        try:
            ok = bool(self.redis.eval(_RENEW, 1, self.key, self.value, self.lease_ms))
        except redis.RedisError:
            # Unknown: it may still be ours until a whole lease has passed since the last renewal.
            if started - self._renewed_at >= self.lease_ms / 1000:
                self.held = False
            return self.held
        if ok:
            self._renewed_at = started
        else:
            self.held = False
            log.warning("lease %s (token %d) was lost before it could be renewed", self.key, self.token)
        return self.held

    def _still_ours(self) -> bool:
        try:
            return _decode(self.redis.get(self.key) or b"") == self.value
        except redis.RedisError:
            return False

    def holding(self) -> bool:
        """Ask Redis whether the lease is still ours (the fencing check, one round trip)."""
        if self.held and not self._still_ours():
            self.held = False
            log.warning("lease %s (token %d) was lost", self.key, self.token)
        return self.held

    def check(self) -> None:
        if not self.holding():
            raise LeaseLost(f"{self.key}: token {self.token} is no longer the holder")

    def ack(self, stream: str, group: str, entry_id: str, dead_letter: dict[str, str] | None = None) -> None:
        """Acknowledge ``entry_id`` only while the lease is ours (with ``dead_letter``: and set those fields
        aside in the dead-letter stream, in the same step); raises ``LeaseLost`` otherwise."""
        extra: list[str] = [item for pair in (dead_letter or {}).items() for item in pair]
        result = self.redis.eval(
            _FENCED_ACK, 3, self.key, stream, DEAD_LETTER, self.value, group, entry_id, DEAD_LETTER_MAXLEN, *extra
        )
        if int(result) < 0:
            self.held = False
            raise LeaseLost(f"{self.key}: token {self.token} lost the lease before acknowledging {entry_id}")

    def release(self) -> None:
        if self.value:
            self.redis.eval(_RELEASE, 1, self.key, self.value)
        self.held = False


_CURRENT_LEASE: ContextVar[Lease | None] = ContextVar("recobra_queue_lease", default=None)


def fence() -> None:
    """Raise ``LeaseLost`` when the job running in this thread no longer holds its partition.

    Called where a job's effects leave the process (before a message is handed to the provider, before an
    answer is committed): a worker that lost its lease must not act, the new holder will. Outside a
    queue job (the web, the command line, tests calling a handler directly) it does nothing."""
    lease = _CURRENT_LEASE.get()
    if lease is not None:
        lease.check()


@contextmanager
def fenced_by(lease: Lease) -> Iterator[None]:
    """Run the block as a job under ``lease``: ``fence()`` inside it checks that lease."""
    token = _CURRENT_LEASE.set(lease)
    try:
        yield
    finally:
        _CURRENT_LEASE.reset(token)


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
        fields: dict[Any, Any] = {"key": key, "kind": kind, "payload": json.dumps(payload, ensure_ascii=False)}
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
        return sum(self.backlogs().values())

    def backlogs(self) -> dict[int, int]:
        """Entries not yet acknowledged or not yet read, per partition."""
        self.ensure_groups()
        out: dict[int, int] = {}
        for p in range(self.partitions):
            total = 0
            try:
                groups = self.redis.xinfo_groups(self.stream(p))
            except redis.ResponseError as exc:
                if "no such key" not in str(exc).lower():
                    raise
                groups = []  # Redis lost the stream (restarted empty): nothing waits there
            if not any(_decode(g["name"]) == self.group for g in groups):
                # no group (Redis restarted empty, then a message came): every entry waits for the workers,
                # who create the group again from the stream's start
                out[p] = int(self.redis.xlen(self.stream(p))) if groups or self.redis.exists(self.stream(p)) else 0
                continue
            for group in groups:
                if _decode(group["name"]) != self.group:
                    continue
                total += int(group.get("pending", 0))
                if group.get("lag") is not None:
                    total += int(group["lag"])
                else:  # Redis < 7 reports no lag: count what lies after the last delivered entry
                    last = _decode(group.get("last-delivered-id") or "0-0")
                    total += len(stream_entries(self.redis.xrange(self.stream(p), min=f"({last}", max="+")))
            out[p] = total
        return out


def _decode(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def stream_entries(reply: Any) -> list[tuple[Any, dict[Any, Any]]]:
    """XRANGE's reply in RESP2 (the protocol get_redis speaks): [(id, {field: value}), ...]. redis-py types it for
    RESP3 too (and as possibly None), hence the one place that says which it is."""
    return list(reply or [])


def stream_reply(reply: Any) -> list[Any]:
    """XREADGROUP's reply in RESP2: [[stream, [(id, fields), ...]], ...] (empty when nothing came)."""
    return list(reply or [])


# --- Dead letters: entries set aside after ``max_failures``, to be read and replayed by a person -------
@dataclass(frozen=True)
class DeadLetter:
    id: str  # in the dead-letter stream (its first part: when it was set aside, in ms)
    stream: str  # where it came from
    entry_id: str
    key: str
    kind: str
    payload: dict[str, Any]
    error: str  # the last failure, as ``Type: message`` (empty for entries set aside before it was kept)
    failures: int

    @property
    def when(self) -> datetime:
        return datetime.fromtimestamp(int(self.id.split("-")[0]) / 1000, tz=timezone.utc)


def _dead_letter(entry_id: Any, raw: dict) -> DeadLetter:
    fields = {_decode(k): _decode(v) for k, v in raw.items()}
    try:
        payload = json.loads(fields.get("payload", "{}"))
    except json.JSONDecodeError:
        payload = {"raw": fields.get("payload")}
    return DeadLetter(
        id=_decode(entry_id),
        stream=fields.get("stream", ""),
        entry_id=fields.get("entry_id", ""),
        key=fields.get("key", ""),
        kind=fields.get("kind", ""),
        payload=payload if isinstance(payload, dict) else {"raw": payload},
        error=fields.get("error", ""),
        failures=int(fields.get("failures") or 0),
    )


def dead_letter_count(client: redis.Redis) -> int:
    """How many dead letters wait for a person."""
    return int(client.xlen(DEAD_LETTER))


def dead_letters(client: redis.Redis, count: int = 1000) -> list[DeadLetter]:
    """The dead letters, oldest first."""
    return [_dead_letter(i, f) for i, f in stream_entries(client.xrange(DEAD_LETTER, count=count))]


# Move one dead letter back into a partition and out of the dead-letter stream, in one step (two people
# replaying the same letter at once queue it once).
_REPLAY = """
local found = redis.call('xrange', KEYS[1], ARGV[1], ARGV[1])
if #found == 0 then return false end
local id = redis.call('xadd', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'key', ARGV[3], 'kind', ARGV[4], 'payload', ARGV[5])
redis.call('xdel', KEYS[1], ARGV[1])
return id
"""


def replay_dead_letter(queue: PartitionedQueue, dead_id: str) -> str | None:
    """Queue a dead letter again, on the partition its key maps to now; returns the new entry id, or None
    when there is no such dead letter. Jobs are idempotent, so a replay of what did succeed is harmless."""
    found = stream_entries(queue.redis.xrange(DEAD_LETTER, min=dead_id, max=dead_id))
    if not found:
        return None
    letter = _dead_letter(*found[0])
    raw = {_decode(k): v for k, v in found[0][1].items()}
    payload = _decode(raw.get("payload", "{}"))  # as it was queued, byte for byte
    target = queue
    name = letter.stream[len(PREFIX) + 1 :].rpartition(":")[0] if letter.stream.startswith(PREFIX + ":") else ""
    if name and name != queue.name:
        target = PartitionedQueue(queue.redis, name=name, partitions=queue.partitions, group=queue.group)
    target.ensure_groups()
    stream = target.stream(target.partition_of(letter.key))
    new_id = queue.redis.eval(_REPLAY, 2, DEAD_LETTER, stream, dead_id, target.maxlen, letter.key, letter.kind, payload)
    return _decode(new_id) if new_id else None


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
        self.lease = Lease(queue.redis, queue.lease_key(partition), consumer, lease_ms)
        self._failures: dict[str, int] = {}
        self._retry_at = 0.0
        self._retries = 0
        self._claimed = False

    # --- lease ---------------------------------------------------------------------------
    def acquire(self) -> bool:
        """Take or renew the lease; a fresh acquisition (a new token) starts with the take-over."""
        token = self.lease.token if self.lease.held else None
        if not self.lease.acquire():
            return False
        if self.lease.token != token:
            self._claimed = False
        return True

    def release(self) -> None:
        self.lease.release()

    # --- work ----------------------------------------------------------------------------
    def _entries(self, raw: Any) -> list[tuple[str, dict]]:
        out = []
        for entry_id, fields in raw or []:
            if fields is None:  # deleted while pending: nothing to do but acknowledge it
                self.lease.ack(self.q.stream(self.partition), self.q.group, _decode(entry_id))
                continue
            out.append((_decode(entry_id), {_decode(k): _decode(v) for k, v in fields.items()}))
        return out

    def _take_over_pending(self) -> bool:
        """Claim what a previous holder of this partition left unacknowledged (it died, or lost the lease).

        Only entries idle longer than the lease: a holder renews its lease while it works, so an entry idle
        for less may still be in someone's hands. Until every other consumer's entry is ours nothing is
        handled (an older entry of a conversation must not be overtaken); returns whether that is so."""
        stream = self.q.stream(self.partition)
        start = "0-0"
        while True:
            result = self.q.redis.xautoclaim(
                stream, self.q.group, self.consumer, min_idle_time=self.lease_ms, start_id=start, count=100
            )
            next_id = _decode(result[0])
            if next_id == "0-0":
                break
            start = next_id
        summary = self.q.redis.xpending(stream, self.q.group)
        if not any(_decode(c["name"]) != self.consumer for c in summary.get("consumers") or []):
            return True
        others = [
            p
            for p in self.q.redis.xpending_range(stream, self.q.group, min="-", max="+", count=1000)
            if _decode(p["consumer"]) != self.consumer
        ]
        if not others:
            return True
        # XPENDING lists in id order: the oldest entry decides (it must be handled first).
        oldest = others[0]
        log.info(
            "partition %d: entry %s of %s is %d ms idle; waiting for it to pass the lease",
            self.partition,
            _decode(oldest["message_id"]),
            _decode(oldest["consumer"]),
            int(oldest["time_since_delivered"]),
        )
        return False

    def poll(self) -> int:
        """Handle what is there now; returns how many entries were acknowledged."""
        if time.monotonic() < self._retry_at:
            time.sleep(min(0.2, self._retry_at - time.monotonic()))
            return 0
        r = self.q.redis
        stream = self.q.stream(self.partition)
        if not self._claimed:
            if not self._take_over_pending():
                time.sleep(min(1.0, self.lease_ms / 3000))
                return 0
            self._claimed = True
        # Our own pending entries first (claimed, or a retried one), then new ones.
        entries = self._entries(stream_reply(r.xreadgroup(self.q.group, self.consumer, {stream: "0"}, count=50))[0][1])
        if not entries:
            result = stream_reply(
                r.xreadgroup(self.q.group, self.consumer, {stream: ">"}, count=20, block=self.block_ms)
            )
            entries = self._entries(result[0][1]) if result else []
        done = 0
        try:
            for entry_id, fields in entries:
                self.lease.check()  # lost meanwhile: not one more entry (the new holder has them)
                with fenced_by(self.lease):
                    if not self._handle(entry_id, fields):
                        break  # keep order: nothing after a failed entry runs before it
                done += 1
        except LeaseLost as exc:
            log.warning("partition %d: %s; stopping this batch", self.partition, exc)
            self._claimed = False
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
        started = time.perf_counter()
        try:
            # A copy of the context per job: the ids a job binds for its log lines (bot.platform.logs) end with it.
            contextvars.copy_context().run(self._run, job)
        except Retry as exc:
            self._count(job, "retry", started)
            self._retries += 1
            delay = min(self.max_backoff, 0.5 * 2 ** min(self._retries, 10)) * random.uniform(0.7, 1.3)
            log.warning("job %s (%s) will be retried in %.1fs: %s", entry_id, job.kind, delay, exc)
            self._retry_at = time.monotonic() + delay
            return False
        except Exception as exc:
            failures = self._failures.get(entry_id, 0) + 1
            self._failures[entry_id] = failures
            log.exception("job %s (%s) failed (%d/%d)", entry_id, job.kind, failures, self.max_failures)
            self._count(job, "failed", started)
            if failures < self.max_failures:
                self._retry_at = time.monotonic() + min(self.max_backoff, 0.2 * 2**failures)
                return False
            error = f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]
            dead = {**fields, "stream": stream, "entry_id": entry_id, "error": error, "failures": str(failures)}
            self.lease.ack(stream, self.q.group, entry_id, dead_letter=dead)  # set aside and acked, or neither
            metrics.DEAD_LETTERED.labels(self.q.name, str(self.partition), job.kind or "none").inc()
            log.error("job %s moved to the dead-letter stream after %d failures", entry_id, failures)
        else:
            self._count(job, "ok", started)
            self.lease.ack(stream, self.q.group, entry_id)
        self._failures.pop(entry_id, None)
        self._retries = 0
        return True

    def _run(self, job: Job) -> None:
        with logs.bound(job_id=job.id, job_kind=job.kind, partition=job.partition):
            self.handler(job)

    def _count(self, job: Job, outcome: str, started: float) -> None:
        kind = job.kind or "none"
        metrics.QUEUE_JOBS.labels(self.q.name, kind, outcome).inc()
        metrics.QUEUE_JOB_SECONDS.labels(self.q.name, kind).observe(time.perf_counter() - started)


class QueueWorker:
    """Runs a thread per partition; each handles its partition while it holds the lease.

    One more thread, the heartbeat, renews every held lease each third of its length, so that a job
    slower than the lease (Rasa thinking, the rate limiter waiting) does not let another worker in."""

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
        self.consumers: list[PartitionConsumer] = []

    def _heartbeat(self) -> None:
        while not self.stop_event.wait(self.lease_ms / 3000):
            for pc in self.consumers:
                try:
                    if pc.lease.held:
                        pc.lease.renew()
                except Exception:  # never let the heartbeat die: the fence catches what it misses
                    log.exception("heartbeat of partition %d", pc.partition)

    def _run_partition(self, pc: PartitionConsumer) -> None:
        partition = pc.partition
        while not self.stop_event.is_set():
            try:
                if not pc.acquire():
                    self.stop_event.wait(min(1.0, self.lease_ms / 3000))
                    continue
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
            except LeaseLost as exc:
                log.warning("partition %d: %s", partition, exc)
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
            pc = PartitionConsumer(
                self.queue, p, self.handler, self.consumer, lease_ms=self.lease_ms, block_ms=self.block_ms
            )
            self.consumers.append(pc)
            t = threading.Thread(target=self._run_partition, args=(pc,), name=f"queue-p{p}", daemon=True)
            t.start()
            self.threads.append(t)
        heartbeat = threading.Thread(target=self._heartbeat, name="queue-heartbeat", daemon=True)
        heartbeat.start()
        self.threads.append(heartbeat)

    def alive(self) -> bool:
        """Started, not stopping, and every partition thread and the heartbeat still running."""
        return bool(self.threads) and not self.stop_event.is_set() and all(t.is_alive() for t in self.threads)

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout)
