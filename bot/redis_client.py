"""The Redis connection: REDIS_URL, or the project's own local Redis started by `make run`."""

from __future__ import annotations

from functools import lru_cache

import redis

from bot.config import get_settings

LOCAL_REDIS_PORT = 6390
LOCAL_REDIS_URL = f"redis://127.0.0.1:{LOCAL_REDIS_PORT}/0"


def redis_url() -> str:
    return get_settings().redis_url or LOCAL_REDIS_URL


@lru_cache(maxsize=4)
def get_redis(url: str | None = None) -> redis.Redis:
    return redis.Redis.from_url(url or redis_url(), health_check_interval=30, socket_timeout=10,
                                socket_connect_timeout=5)


def get_queue(name: str = "inbound"):  # noqa: ANN201
    from bot.queue import PartitionedQueue

    return PartitionedQueue(get_redis(), name=name, partitions=get_settings().queue_partitions)
