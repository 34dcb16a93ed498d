"""The ``recobra`` channel inside a real ``rasa run`` with a trained model (marked ``rasa``; skipped
when no model is there: ``models/*.tar.gz``, or RECOBRA_TEST_MODEL naming one). Rasa runs on its own runtime;
these tests, and the worker's Rasa client they use, on the service's."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.rasa_model import trained_model
from tests.runtimes import rasa_python

ROOT = Path(__file__).resolve().parents[2]
SECRET = "rasa-test-secret"


pytestmark = [
    pytest.mark.rasa,
    pytest.mark.slow,
    pytest.mark.skipif(trained_model() is None, reason="no trained Rasa model in models/ (make model)"),
]


def test_a_turn_through_real_rasa_and_its_replay(tmp_path):
    """No action server here: an empty endpoints file (else the channel rightly answers 503 until one is up)."""
    import requests

    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, RASA_CHANNEL_SECRET=SECRET, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.Popen(
        [
            rasa_python(),  # the Rasa runtime, as the launcher starts Rasa
            "-m",
            "rasa",
            "run",
            "--model",
            trained_model(),
            "--credentials",
            str(ROOT / "credentials.yml"),
            "--endpoints",
            str(endpoints),
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/webhooks/recobra"
    try:
        deadline = time.monotonic() + 280
        payload = {
            "sender": "+573001112233",
            "message": "hola",
            "metadata": {"channel": "whatsapp", "message_id": "SMrasa1", "locale": "es-CO"},
        }
        headers = {"X-Recobra-Secret": SECRET}
        while True:
            try:
                r = requests.post(base + "/webhook", json=payload, headers=headers, timeout=60)
                if r.status_code != 503:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "rasa did not come up"
            assert proc.poll() is None, "rasa exited"
            time.sleep(1)
        assert r.status_code == 200, r.text
        first = r.json()
        assert first["replayed"] is False
        assert first["parse"]["intent"] and 0 <= first["parse"]["confidence"] <= 1
        assert isinstance(first["messages"], list)
        again = requests.post(base + "/webhook", json=payload, headers=headers, timeout=60).json()
        assert again["replayed"] is True
        assert [m.get("text") for m in again["messages"]] == [m.get("text") for m in first["messages"]]
        assert (
            requests.post(base + "/webhook", json=payload, headers={"X-Recobra-Secret": "no"}, timeout=10).status_code
            == 401
        )
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_readiness_and_json_lines_against_real_rasa(tmp_path, monkeypatch):
    """As `make run` starts Rasa (channels.rasa_server, its API behind a token and a JWT secret): the readiness
    probe's ``GET /status`` with the worker's JWT answers once the model is loaded, and in JSON mode the channel
    writes the turn's line with the ids the worker sent (bot/platform/logs.py)."""
    import json

    import requests

    from bot.conversation import rasa_client
    from bot.platform.config import reset_settings

    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    secrets = {"RASA_CHANNEL_SECRET": SECRET, "RASA_AUTH_TOKEN": "rasa-api-token", "RASA_JWT_SECRET": "rasa-jwt-secret"}
    env = dict(os.environ, **secrets, RECOBRA_LOG_FORMAT="json", TF_CPP_MIN_LOG_LEVEL="2")
    log_path = tmp_path / "rasa.err"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [rasa_python(), "-m", "channels.rasa_server", "run", "--enable-api", "--model", trained_model(),
             "--credentials", str(ROOT / "credentials.yml"), "--endpoints", str(endpoints),
             "-i", "127.0.0.1", "-p", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    for name, value in {**secrets, "RASA_URL": f"http://127.0.0.1:{port}"}.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    try:
        deadline = time.monotonic() + 280
        while True:
            try:
                rasa_client.ping(5)
                break
            except (requests.RequestException, ConnectionError):
                assert time.monotonic() < deadline, "rasa did not come up"
                assert proc.poll() is None, "rasa exited: " + log_path.read_text()[-2000:]
                time.sleep(1)
        payload = {
            "sender": "+573001112233",
            "message": "hola",
            "metadata": {
                "channel": "whatsapp",
                "message_id": "SMjson1",
                "message_sid": "SMjson1",
                "conversation_id": 77,
            },
        }
        r = requests.post(
            f"http://127.0.0.1:{port}/webhooks/recobra/webhook",
            json=payload,
            headers={"X-Recobra-Secret": SECRET},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        time.sleep(0.5)
        monkeypatch.setenv("RASA_JWT_SECRET", "not-the-secret")
        reset_settings()
        with pytest.raises(ConnectionError):
            rasa_client.ping(5)  # a JWT Rasa did not sign for is refused: the probe fails
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        reset_settings()
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith('{"event"')]
    [turn] = [line for line in lines if "recobra turn" in line["event"]]
    assert turn["conversation_id"] == 77 and turn["message_sid"] == "SMjson1" and turn["process"] == "rasa"
    assert "3001112233" not in turn["event"]
