"""A database or Redis that is away makes a job wait, not fail: five failures go by in six seconds and send the
message to the dead letters, which is what a PostgreSQL restart did to every message that arrived meanwhile
(issue #24 §3, tests/faults/run.py)."""

from __future__ import annotations

import pytest
import redis
from sqlalchemy.exc import OperationalError

from bot.platform.queue import Job, Retry
from bot.worker import jobs


def _job(kind: str) -> Job:
    return Job(id="1-0", partition=0, key="+573001112233", kind=kind, payload={})


@pytest.fixture
def handler(monkeypatch):
    def install(exc: Exception) -> str:
        def fail(job: Job) -> None:
            raise exc

        monkeypatch.setitem(jobs._HANDLERS, "test_fault", fail)
        return "test_fault"

    return install


@pytest.mark.parametrize(
    "exc",
    [
        OperationalError("SELECT 1", {}, Exception("the database system is starting up")),
        redis.ConnectionError("Connection refused"),
    ],
)
def test_an_unavailable_store_is_retried_without_counting_a_failure(handler, exc):
    with pytest.raises(Retry):
        jobs.dispatch(_job(handler(exc)))


def test_a_real_failure_still_counts_toward_the_dead_letters(handler):
    with pytest.raises(KeyError):
        jobs.dispatch(_job(handler(KeyError("message_id"))))
