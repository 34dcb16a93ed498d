"""Readiness checks run at once, each bounded: a hung dependency costs the timeout and is named."""

from __future__ import annotations

import threading
import time

from bot.platform import readiness


def test_every_check_passes_and_shows_its_details():
    ready, body = readiness.run({"a": lambda: None, "b": lambda: {"backlog": 3}}, timeout=1.0)
    assert ready and body["status"] == "ready" and "failed" not in body
    assert body["checks"]["b"]["backlog"] == 3 and body["checks"]["a"]["ok"]


def test_a_hung_check_is_a_timeout_and_the_others_still_answer():
    release = threading.Event()
    started = time.monotonic()
    ready, body = readiness.run(
        {"hangs": lambda: release.wait(10), "fine": lambda: None, "broken": lambda: 1 / 0}, timeout=0.3
    )
    release.set()
    assert time.monotonic() - started < 1.5  # the probe's deadline, not the hung call's
    assert not ready and body["status"] == "not_ready"
    assert body["failed"] == ["hangs", "broken"]
    assert body["checks"]["hangs"]["error"] == "timeout"
    assert body["checks"]["broken"]["error"] == "ZeroDivisionError"  # the type only: messages go to the log
    assert body["checks"]["fine"]["ok"]


def test_not_ready_carries_its_details():
    def over() -> None:
        raise readiness.NotReady("backlog over its bound", backlog=9, max_backlog=5)

    ready, body = readiness.run({"queue": over}, timeout=1.0)
    assert not ready
    assert body["checks"]["queue"] == {
        "ok": False,
        "error": "backlog over its bound",
        "backlog": 9,
        "max_backlog": 5,
        "ms": body["checks"]["queue"]["ms"],
    }


def test_concurrent_probes_share_one_run_and_later_ones_run_afresh():
    runs = []
    gate = threading.Event()

    def slow() -> None:
        runs.append(1)
        gate.wait(2)

    shared = readiness.Shared()
    answers = []
    threads = [
        threading.Thread(target=lambda: answers.append(shared.run(lambda: {"slow": slow}, timeout=3))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join(5)
    assert len(answers) == 8 and all(ready for ready, _ in answers)
    assert len(runs) == 1  # a flood of probes is one call to each dependency
    shared.run(lambda: {"slow": slow}, timeout=3)
    assert len(runs) == 2  # one after another: a fresh answer each time
