"""``python -m bot web`` as it runs in production: gunicorn's processes add up their metrics (multiprocess mode),
and every line it writes (the app's, gunicorn's access log) is JSON when asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.environment import free_port
from tests.worker.doubles import PUBLIC_BASE_URL, inbound_params, sign

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "gunicorn-metrics-token"
PHONE = "+573001112233"


def queued(base: str) -> float:
    resp = requests.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert resp.status_code == 200, resp.text
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            if s.name == "recobra_webhooks_total" and s.labels == {"webhook": "twilio_messages", "outcome": "queued"}:
                return s.value
    return 0.0


@pytest.mark.slow
def test_gunicorns_processes_add_up_and_log_json(db, redis_client, make_debtor, tmp_path):
    make_debtor("CO-1", phone=PHONE)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "RECOBRA_METRICS_TOKEN": TOKEN, "RECOBRA_LOG_FORMAT": "json"}
    log_path = tmp_path / "web.log"
    with open(log_path, "wb") as log:
        web = subprocess.Popen(
            [sys.executable, "-m", "bot", "web", "--port", str(port), "--workers", "2"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert web.poll() is None and time.monotonic() < deadline, log_path.read_text()[-2000:]
            time.sleep(0.2)
        before = queued(base)
        sids = []

        def post(_: int) -> int:
            params = inbound_params(PHONE, "hola")
            sids.append(params["MessageSid"])
            path = "/webhooks/twilio/messages"
            return requests.post(
                base + path,
                data=urlencode(params),
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Twilio-Signature": sign(PUBLIC_BASE_URL + path, params),
                },
                timeout=10,
            ).status_code

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(post, range(12))) == {200}
        # whichever process answers the scrape, it reports all of them
        assert [queued(base) for _ in range(4)] == [before + 12] * 4
        folder = Path(os.environ["RECOBRA_VAR_DIR"]) / "prometheus" / f"web-{port}"
        assert list(folder.glob("counter_*.db")), "no multiprocess files: each process would count alone"
    finally:
        web.terminate()
        web.wait(15)
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    webhook_lines = [line for line in lines if line.get("logger") == "bot.web.webhooks"]
    assert {line["message_sid"] for line in webhook_lines} >= set(sids)
    assert any(
        line.get("logger") == "gunicorn.access" and "/webhooks/twilio/messages" in line["event"] for line in lines
    )
    text = log_path.read_text()
    assert PHONE not in text and PHONE[1:] not in text
