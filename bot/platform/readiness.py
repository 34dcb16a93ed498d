"""Readiness: are the things a process needs answering now? Each check bounded by a short timeout.

``/healthz`` says only that the process is alive (a load balancer or Kubernetes restarts it when not);
``/readyz`` says whether it can do its work (the store, Redis, Rasa and the queue answer, the backlog is under
its bound), so traffic goes elsewhere, and an operator's probe says which one failed. The checks run at once,
each in a thread of its own: a store that hangs costs ``timeout`` seconds, never the probe's own deadline. The
answer names the failed checks and the exception's type only: the web's ``/readyz`` faces the internet, so the
details (addresses, messages) go to the log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from bot.platform.queue import PartitionedQueue

log = logging.getLogger(__name__)

Check = Callable[[], Mapping[str, Any] | None]


class NotReady(Exception):
    """A check that got an answer it does not like (a backlog over its bound); ``details`` go into the answer."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


def run(checks: Mapping[str, Check], timeout: float) -> tuple[bool, dict[str, Any]]:
    """Run every check at once; ``(ready, body)`` with ``body = {"status": "ready" | "not_ready", "checks":
    {name: {"ok": bool, "ms": int, ...}}}``. A check passes by returning (optionally a dict of details to show),
    fails by raising or by not answering within ``timeout`` seconds."""
    results: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()

    def one(name: str, check: Check) -> None:
        started = time.perf_counter()
        try:
            details = dict(check() or {})
            result: dict[str, Any] = {"ok": True, **details}
        except NotReady as exc:
            result = {"ok": False, "error": str(exc), **exc.details}
        except Exception as exc:
            log.warning("readiness check %s failed: %s: %s", name, type(exc).__name__, exc)
            result = {"ok": False, "error": type(exc).__name__}
        result["ms"] = round((time.perf_counter() - started) * 1000)
        with lock:
            results[name] = result

    threads = {
        name: threading.Thread(target=one, args=(name, check), name=f"readyz-{name}", daemon=True)
        for name, check in checks.items()
    }
    for thread in threads.values():
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads.values():
        thread.join(max(0.0, deadline - time.monotonic()))
    body: dict[str, Any] = {"checks": {}}
    with lock:
        for name in checks:
            found = results.get(name)
            if found is None:
                log.warning("readiness check %s did not answer within %.1f s", name, timeout)
                found = {"ok": False, "error": "timeout", "ms": round(timeout * 1000)}
            body["checks"][name] = found
    ready = all(c["ok"] for c in body["checks"].values())
    body = {"status": "ready" if ready else "not_ready", **body}
    if not ready:
        body["failed"] = [name for name, c in body["checks"].items() if not c["ok"]]
    return ready, body


def without(checks: Mapping[str, Check], skip: str | None) -> dict[str, Check]:
    """``checks`` less those named in ``skip`` (comma-separated: ``/readyz?skip=rasa``). Why: the web edge stores
    and queues a debtor's message whatever Rasa does, so a probe that takes every edge out of service while Rasa is
    down would turn a slow dialogue into lost webhooks; the operator chooses. An unknown name is a ValueError (the
    caller answers 400), so a typo never silently skips nothing."""
    names = [n.strip() for n in (skip or "").split(",") if n.strip()]
    unknown = [n for n in names if n not in checks]
    if unknown:
        raise ValueError(f"unknown check {', '.join(unknown)}: the checks are {', '.join(checks)}")
    return {name: check for name, check in checks.items() if name not in names}


class Shared:
    """Probes that arrive while one is running wait for its answer instead of running their own (the web's
    ``/readyz`` is public: a flood of calls must not become a flood of calls to the store, Redis and Rasa).
    Probes one after another each get a fresh answer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[tuple[str, ...], _Run] = {}

    def run(
        self, checks: Callable[[], Mapping[str, Check]], timeout: float, key: tuple[str, ...] = ()
    ) -> tuple[bool, dict[str, Any]]:
        """``key`` tells apart probes that run different checks (``?skip=``): only the same ones share a run."""
        with self._lock:
            current = self._running.get(key)
            leader = current is None
            if current is None:
                current = self._running[key] = _Run()
        if leader:
            try:
                current.result = run(checks(), timeout)
            finally:
                with self._lock:
                    self._running.pop(key, None)
                current.done.set()
        else:
            current.done.wait(timeout + 1.0)
        if current.result is None:
            return False, {"status": "not_ready", "checks": {}, "failed": ["probe"]}
        return current.result


class _Run:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: tuple[bool, dict[str, Any]] | None = None


def queue_check(queue: PartitionedQueue, max_backlog: int) -> Check:
    """The queue answers and holds at most ``max_backlog`` entries not yet handled."""

    def check() -> dict[str, Any]:
        backlog = queue.backlog()
        if backlog > max_backlog:
            raise NotReady("backlog over its bound", backlog=backlog, max_backlog=max_backlog)
        return {"backlog": backlog, "max_backlog": max_backlog}

    return check
