"""Sending pace per sender: a token bucket in Redis that every worker process shares.

Twilio queues what a sender sends faster than its number may (a long code: about one SMS segment a second;
WhatsApp: the sender's tier), and a queued message arrives late, after the debtor's next reply. Pacing here
keeps replies in order and lets the worker give the slot to another conversation instead of waiting.
"""

from __future__ import annotations

import random
import time
from typing import Any

from bot.platform.config import env_float
from bot.platform.redis_client import get_redis

_TOKEN_BUCKET = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= math.min(cost, burst) then
  tokens = tokens - cost
else
  wait = (math.min(cost, burst) - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(1000 * (burst + cost) / rate) + 1000)
return tostring(wait)
"""


class RateLimiter:
    """A token bucket per sender in Redis, shared by every worker process.

    WhatsApp: ``RECOBRA_RATE_WHATSAPP`` messages/s (default 80); SMS: ``RECOBRA_RATE_SMS`` segments/s
    (default 1, a long code). A multi-segment SMS may borrow: the bucket goes negative and the next
    send waits until it has paid the debt.
    """

    def __init__(self, redis_client=None) -> None:
        self._redis = redis_client
        self._script: Any = None  # redis-py's Script, registered on first use

    @property
    def redis(self):
        if self._redis is None:
            self._redis = get_redis()
        return self._redis

    @staticmethod
    def rate(channel: str) -> tuple[float, float]:
        if channel == "whatsapp":
            rate = env_float("RECOBRA_RATE_WHATSAPP", 80.0)
            return rate, env_float("RECOBRA_BURST_WHATSAPP", rate)
        rate = env_float("RECOBRA_RATE_SMS", 1.0)
        return rate, env_float("RECOBRA_BURST_SMS", max(1.0, rate))

    def try_acquire(self, sender: str, channel: str, cost: float = 1.0) -> float:
        """Take ``cost`` tokens; returns 0 when taken, else the seconds to wait before trying again."""
        rate, burst = self.rate(channel)
        if rate <= 0:
            return 0.0
        if self._script is None:
            self._script = self.redis.register_script(_TOKEN_BUCKET)
        wait = self._script(keys=[f"recobra:rate:{channel}:{sender}"], args=[rate, burst, cost])
        return float(wait.decode() if isinstance(wait, bytes) else wait)

    def acquire(self, sender: str, channel: str, cost: float = 1.0, max_wait: float = 30.0) -> bool:
        deadline = time.monotonic() + max_wait
        while True:
            wait = self.try_acquire(sender, channel, cost)
            if wait <= 0:
                return True
            if time.monotonic() + wait > deadline:
                return False
            time.sleep(wait * random.uniform(1.0, 1.2))


_limiter: RateLimiter | None = None


def limiter() -> RateLimiter:
    global _limiter
    if _limiter is None:
        _limiter = RateLimiter()
    return _limiter
