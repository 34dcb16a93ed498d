"""Sending pace per sender: a token bucket in Redis that every worker process shares.

Twilio queues what a sender sends faster than its number may (a long code: about one SMS segment a second;
WhatsApp: the sender's tier), and a queued message arrives late, after the debtor's next reply. Pacing here
keeps replies in order and lets the worker give the slot to another conversation instead of waiting.

A bucket of rate r and burst b lets through at most b + r messages in any one second, so the configured limit is
paced at 95 % with a burst of one: a campaign of 10,000 reminders measured at the Twilio double never had more
than the limit in any second (bench/outbound_bench.py); with the burst at the limit it had 110 against 80. A
caller that must wait reserves its slot (the bucket goes negative) and sleeps until it is due, so threads waking
late lose no slots and the pace holds at the rate.
"""

from __future__ import annotations

import time
from typing import Any

from bot.platform.config import env_float
from bot.platform.redis_client import get_redis

_TOKEN_BUCKET = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local max_wait = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens < math.min(cost, burst) then
  wait = (math.min(cost, burst) - tokens) / rate
end
local taken = 0
if wait <= max_wait then
  -- taken now, or a slot reserved `wait` seconds ahead (the bucket goes negative until then)
  tokens = tokens - cost
  taken = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(1000 * (burst + cost + math.max(0, -tokens)) / rate) + 1000)
return {taken, tostring(wait)}
"""


PACE = 0.95  # of the configured limit: scheduling jitter between the reserved slot and the send stays under it


# The hard guarantee: per sender, the sends in flight or finished in the last second. A send counts from its start
# until a second after its HTTP call ended, so one that reaches Twilio late (a new connection, the GIL, a commit)
# still counts when the next ones start: they cannot arrive together. The pace alone let 86 through against 80.
_WINDOW = """
local cap = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 1)
if redis.call('ZCARD', KEYS[1]) < cap then
  local n = redis.call('INCR', KEYS[1] .. ':n')
  -- in flight: counted until it ends (or, if its process died, until the provider's timeout has passed)
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), tostring(n))
  redis.call('PEXPIRE', KEYS[1], 1000 * (tonumber(ARGV[2]) + 2))
  redis.call('PEXPIRE', KEYS[1] .. ':n', 1000 * (tonumber(ARGV[2]) + 2))
  return {1, tostring(n)}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tostring(math.max(0.001, math.min(1.0, tonumber(oldest[2]) + 1 - now)))}
"""
_FINISHED = """
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], 'XX', tonumber(t[1]) + tonumber(t[2]) / 1000000, ARGV[1])
return 1
"""
IN_FLIGHT_S = 30  # the longest a provider call may take (the HTTP timeout): an orphan's entry lasts that long


class Slot:
    """A send's place in its sender's last second: truthy; ``finished()`` when the provider call has ended."""

    def __init__(self, limiter: RateLimiter | None = None, key: str = "", member: str = "") -> None:
        self._limiter, self._key, self._member = limiter, key, member

    def __bool__(self) -> bool:
        return True

    def finished(self) -> None:
        if self._limiter is not None and self._member:
            self._limiter._finish(self._key, self._member)


WINDOW_SHARE = 1.0  # of the limit: sends in flight or ended in the last second


class RateLimiter:
    """A token bucket per sender in Redis, shared by every worker process.

    WhatsApp: ``RECOBRA_RATE_WHATSAPP`` messages/s, the sender's limit (default 80); SMS: ``RECOBRA_RATE_SMS``
    segments/s (default 1, a long code); both paced at ``PACE`` of the limit, burst ``RECOBRA_BURST_*`` (default 1).
    A multi-segment SMS may borrow: the bucket goes negative and the next send waits until it has paid the debt.
    """

    def __init__(self, redis_client=None) -> None:
        self._redis = redis_client
        self._script: Any = None  # redis-py's Script, registered on first use
        self._window: Any = None
        self._finished: Any = None

    @property
    def redis(self):
        if self._redis is None:
            self._redis = get_redis()
        return self._redis

    @staticmethod
    def rate(channel: str) -> tuple[float, float]:
        """(refill rate, burst) for the channel: the sender's limit, paced at ``PACE``."""
        if channel == "whatsapp":
            limit = env_float("RECOBRA_RATE_WHATSAPP", 80.0)
            return limit * PACE, env_float("RECOBRA_BURST_WHATSAPP", 1.0)
        limit = env_float("RECOBRA_RATE_SMS", 1.0)
        return limit * PACE, env_float("RECOBRA_BURST_SMS", 1.0)

    def _reserve(self, sender: str, channel: str, cost: float, max_wait: float) -> tuple[bool, float]:
        rate, burst = self.rate(channel)
        if rate <= 0:
            return True, 0.0
        if self._script is None:
            self._script = self.redis.register_script(_TOKEN_BUCKET)
        taken, wait = self._script(keys=[f"recobra:rate:{channel}:{sender}"], args=[rate, burst, cost, max_wait])
        return bool(int(taken)), float(wait.decode() if isinstance(wait, bytes) else wait)

    def try_acquire(self, sender: str, channel: str, cost: float = 1.0) -> float:
        """Take ``cost`` tokens now; returns 0 when taken, else the seconds until they could be (nothing taken)."""
        taken, wait = self._reserve(sender, channel, cost, 0.0)
        return 0.0 if taken else max(wait, 1e-6)

    def acquire(self, sender: str, channel: str, cost: float = 1.0, max_wait: float = 30.0) -> Slot | None:
        """Take ``cost`` tokens, waiting for a reserved slot up to ``max_wait`` seconds; then a place among the
        last second's sends. None (nothing taken) when the next slot is further away; call ``finished()`` on the
        slot once the provider call has ended."""
        deadline = time.monotonic() + max_wait
        taken, wait = self._reserve(sender, channel, cost, max_wait)
        if not taken:
            return None
        if wait > 0:
            time.sleep(wait)
        rate, _ = self.rate(channel)
        if rate <= 0:
            return Slot()
        cap = max(1, int(rate / PACE * WINDOW_SHARE))
        if self._window is None:
            self._window = self.redis.register_script(_WINDOW)
        key = f"recobra:rate:{channel}:{sender}:sent"
        while True:  # the slot is ours: now the last second's sends must leave room
            placed, value = self._window(keys=[key], args=[cap, IN_FLIGHT_S])
            value = value.decode() if isinstance(value, bytes) else str(value)
            if int(placed):
                return Slot(self, key, value)
            if time.monotonic() > deadline + IN_FLIGHT_S:
                return Slot()  # never starve a reserved slot (orphaned entries expire within IN_FLIGHT_S)
            time.sleep(float(value))

    def _finish(self, key: str, member: str) -> None:
        if self._finished is None:
            self._finished = self.redis.register_script(_FINISHED)
        self._finished(keys=[key], args=[member])


_limiter: RateLimiter | None = None


def limiter() -> RateLimiter:
    global _limiter
    if _limiter is None:
        _limiter = RateLimiter()
    return _limiter
