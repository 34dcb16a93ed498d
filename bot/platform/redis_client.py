"""The Redis connection: REDIS_URL, or the project's own local Redis started by `make run`."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote

import redis

from bot.platform.config import get_settings
from bot.platform.queue import PartitionedQueue

LOCAL_REDIS_PORT = 6390


def redis_url() -> str:
    """REDIS_URL, or the bundled local Redis with its generated password (it refuses anyone without it)."""
    settings = get_settings()
    if settings.redis_url:
        return settings.redis_url
    return f"redis://:{quote(settings.redis_password, safe='')}@127.0.0.1:{LOCAL_REDIS_PORT}/0"


@lru_cache(maxsize=4)
def get_redis(url: str | None = None) -> redis.Redis:
    # protocol 2 (RESP2): the reply shapes the queue reads (bot/platform/queue.py), on any Redis a deployment
    # brings; redis-py 8 would otherwise ask for RESP3 and fall back, with a warning, on a server without it
    return redis.Redis.from_url(
        url or redis_url(), protocol=2, health_check_interval=30, socket_timeout=10, socket_connect_timeout=5
    )


def get_queue(name: str = "inbound"):
    return PartitionedQueue(get_redis(), name=name, partitions=get_settings().queue_partitions)


@lru_cache(maxsize=4)
def probe_redis(timeout: float, url: str | None = None) -> redis.Redis:
    """A client for health checks: it gives up after ``timeout`` seconds (the shared one waits 10 s)."""
    return redis.Redis.from_url(url or redis_url(), socket_timeout=timeout, socket_connect_timeout=timeout)


def ping(timeout: float) -> None:
    """Redis answers within ``timeout`` seconds (readiness)."""
    probe_redis(timeout, redis_url()).ping()


def probe_queue(timeout: float, name: str = "inbound") -> PartitionedQueue:
    """The queue on the probe client: readiness and metrics read its levels without waiting 10 s for Redis."""
    return PartitionedQueue(probe_redis(timeout, redis_url()), name=name, partitions=get_settings().queue_partitions)
