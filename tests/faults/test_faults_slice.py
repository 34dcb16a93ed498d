"""CI's slice of `make faults` (issue #24 §3): a worker killed mid-conversation, Twilio timing out after accepting a
message, and Mercado Pago failing with duplicate, out-of-order notifications, against `make run-scaled` with a few
debtors. Nothing may be lost, doubled or reset. The whole set (every process kind, Redis, PostgreSQL, Twilio 500 and
429, a killed campaign run; 50 debtors each) is `make faults`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.scaled_stack import SCALED_STACK_MARKS

ROOT = Path(__file__).resolve().parents[2]

pytestmark = SCALED_STACK_MARKS


def test_a_killed_worker_a_twilio_timeout_and_mercado_pagos_retries_lose_and_double_nothing(tmp_path: Path):
    out = tmp_path / "faults.json"
    command = [sys.executable, "-m", "tests.faults.run", "--debtors", "6", "--json", str(out)]
    for scenario in ("kill-worker", "twilio-timeout", "mercadopago"):
        command += ["--only", scenario]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert out.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(out.read_text())
    scenarios = {s["scenario"]: s for s in report["scenarios"]}
    assert sorted(scenarios) == ["kill-worker", "mercadopago", "twilio-timeout"]
    for name, s in scenarios.items():
        zeros = {k: s[k] for k in ("inbound_lost", "replies_duplicated", "replies_missing", "reset", "promises_twice")}
        assert zeros == dict.fromkeys(zeros, 0), (name, s["notes"])
        assert s["messages"] > 0, name
    assert scenarios["kill-worker"]["back_after_s"] is not None and scenarios["kill-worker"]["back_after_s"] < 60
    assert scenarios["mercadopago"]["payments_twice"] == 0 and scenarios["mercadopago"]["payments_missing"] == 0
    assert report["verdict"] == "OK" and result.returncode == 0, result.stdout[-3000:]
