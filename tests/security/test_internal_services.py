"""The internal services reached without their secrets: the action server, Rasa's API and the bundled Redis
refuse, and nothing runs. Each is started as the real process `make run` starts."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
import requests

from tests.environment import free_port
from tests.rasa_model import trained_model
from tests.runtimes import in_rasa_runtime, rasa_python

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-action-server-token-0123456789"
PHONE = "+573001112233"


def listening_addresses(port: int) -> set[str]:
    """The local addresses a TCP socket listens on for ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port and state == "0A":
                found.add(address)
    return found


LOOPBACK = {"0100007F", "00000000000000000000000001000000"}


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the process exited"
        try:
            requests.get(url, timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not come up")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture()
def action_server(db, redis_url, tmp_path):
    port = free_port()
    env = dict(os.environ, ACTION_SERVER_TOKEN=TOKEN, ACTION_SERVER_MAX_BYTES=str(256 * 1024))
    env.pop("ACTION_SERVER_HOST", None)
    log = (tmp_path / "actions.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "actions.server", "-p", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc)
        yield f"http://127.0.0.1:{port}", port
    finally:
        stop(proc)
        log.close()


def opt_out_call(phone: str) -> dict:
    """What Rasa would post for `action_opt_out`, with a tracker that claims to be verified."""
    from tests.actions.conftest import load_domain

    latest = {
        "text": "no me escriban más",
        "intent": {"name": "opt_out", "confidence": 0.99},
        "entities": [],
        "metadata": {"channel": "whatsapp"},
    }
    tracker = {
        "sender_id": phone,
        "slots": {"verified": True},
        "latest_message": latest,
        "events": [{"event": "user", "text": latest["text"], "parse_data": latest}],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }
    return {
        "next_action": "action_opt_out",
        "sender_id": phone,
        "tracker": tracker,
        "domain": load_domain(),
        "version": "3.6.21",
    }


def opted_out(session, external_id: str) -> bool:
    from bot.billing import debtors

    session.expire_all()
    return bool(debtors.get_by_external_id(session, external_id).opted_out)


@pytest.mark.slow
def test_action_server_runs_nothing_without_its_token(action_server, make_debtor, session):
    url, _port = action_server
    make_debtor("CO-1", phone=PHONE)
    call = opt_out_call(PHONE)
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": TOKEN},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
    ):
        r = requests.post(f"{url}/webhook", json=call, headers=headers, timeout=30)
        assert r.status_code == 401, (headers, r.text)
        assert not opted_out(session, "CO-1")
    assert requests.get(f"{url}/actions", timeout=10).status_code == 401
    # the same call with the token runs: the refusal above was the token's doing
    r = requests.post(f"{url}/webhook", json=call, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert r.status_code == 200, r.text
    assert opted_out(session, "CO-1")
    # /metrics (loopback; no RECOBRA_METRICS_TOKEN set here) times the one action that ran, and runs nothing
    metrics = requests.get(f"{url}/metrics", timeout=10)
    assert metrics.status_code == 200
    assert 'recobra_action_seconds_count{action="action_opt_out",outcome="ok"} 1.0' in metrics.text


@pytest.mark.slow
def test_action_server_refuses_large_and_inflating_bodies(action_server, make_debtor, session):
    url, _port = action_server
    make_debtor("CO-1", phone=PHONE)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    big = json.dumps(opt_out_call(PHONE) | {"padding": "x" * (300 * 1024)}).encode()
    r = requests.post(f"{url}/webhook", data=big, headers=auth | {"Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 413
    # a deflate bomb: 6 KB on the wire, 6 MB inflated
    bomb = zlib.compress(json.dumps(opt_out_call(PHONE) | {"padding": " " * (6 * 1024 * 1024)}).encode(), 9)
    assert len(bomb) < 256 * 1024
    r = requests.post(
        f"{url}/webhook",
        data=bomb,
        timeout=30,
        headers=auth | {"Content-Type": "application/json", "Content-Encoding": "deflate"},
    )
    assert r.status_code == 413
    assert not opted_out(session, "CO-1")
    # a small deflated call (Rasa compresses large trackers) still works
    r = requests.post(
        f"{url}/webhook",
        data=zlib.compress(json.dumps(opt_out_call(PHONE)).encode()),
        timeout=30,
        headers=auth | {"Content-Type": "application/json", "Content-Encoding": "deflate"},
    )
    assert r.status_code == 200 and opted_out(session, "CO-1")


@pytest.mark.slow
def test_action_server_listens_on_loopback_only(action_server):
    _url, port = action_server
    addresses = listening_addresses(port)
    assert addresses and addresses <= LOOPBACK, addresses


READ_ACTION_ENDPOINT = """
import json, sys
from rasa.utils.endpoints import read_endpoint_config
e = read_endpoint_config(sys.argv[1], "action_endpoint")
print(json.dumps({"url": e.url, "headers": e.headers, "token": e.token}))
"""


def test_rasa_sends_the_token_from_its_environment_not_from_a_file_or_url(tmp_path, monkeypatch):
    """The endpoints file names the secret; Rasa's own reader expands it into a header (never a URL)."""
    from bot.platform.config import get_settings, reset_settings
    from bot.platform.launcher import write_endpoints

    monkeypatch.setenv("ACTION_SERVER_TOKEN", TOKEN)
    reset_settings()
    try:
        path = write_endpoints(tmp_path / "endpoints.yml")
        text = path.read_text()
        assert TOKEN not in text and "${ACTION_SERVER_TOKEN}" in text
        assert path.stat().st_mode & 0o777 == 0o600
        endpoint = in_rasa_runtime(READ_ACTION_ENDPOINT, str(path))  # the Rasa that reads it, on its own Python
        assert endpoint["headers"] == {"Authorization": f"Bearer {TOKEN}"}
        assert endpoint["token"] is None and TOKEN not in endpoint["url"]
        assert get_settings().action_server_token == TOKEN
    finally:
        reset_settings()


def test_no_secret_in_any_process_arguments(tmp_path, monkeypatch):
    """`ps` shows every local user a process's arguments: the Procfile carries no secret, not even by name."""
    from bot.platform.config import get_settings, reset_settings
    from bot.platform.launcher import procfile

    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("REDIS_PASSWORD", "redis-password-abcdef")
    monkeypatch.setenv("ACTION_SERVER_TOKEN", TOKEN)
    reset_settings()
    try:
        text = procfile(tmp_path)
        s = get_settings()
        for secret in (
            s.rasa_auth_token,
            s.rasa_jwt_secret,
            s.action_server_token,
            s.rasa_channel_secret,
            s.redis_password,
            s.api_key,
            s.secret_key,
            s.twilio_auth_token,
        ):
            assert secret and secret not in text
        assert "--auth-token" not in text and "$RASA_AUTH_TOKEN" not in text and "requirepass" not in text
        assert "-m actions.server" in text and "run actions" not in text
    finally:
        reset_settings()


def test_rest_channel_only_in_the_demo(tmp_path, monkeypatch):
    """Rasa's `rest` channel checks no credential: not in the committed credentials, not outside the demo."""
    import yaml

    from bot.platform.config import reset_settings
    from bot.platform.launcher import write_credentials

    assert "rest" not in (yaml.safe_load((ROOT / "credentials.yml").read_text()) or {})
    try:
        reset_settings()
        demo = yaml.safe_load(write_credentials(tmp_path / "demo.yml").read_text())
        assert "rest" in demo
        monkeypatch.setenv("RECOBRA_ENV", "production")
        reset_settings()
        production = yaml.safe_load(write_credentials(tmp_path / "production.yml").read_text())
        assert "rest" not in production and "channels.recobra_input.RecobraInput" in production
        monkeypatch.setenv("RECOBRA_ENV", "demo")
        monkeypatch.setenv("MESSAGING_PROVIDER", "twilio")
        reset_settings()
        assert "rest" not in yaml.safe_load(write_credentials(tmp_path / "real.yml").read_text())
    finally:
        reset_settings()


def test_bundled_redis_refuses_clients_without_its_password(tmp_path, monkeypatch):
    import redis

    from bot.platform.config import reset_settings
    from bot.platform.launcher import redis_server_binary, write_redis_config
    from bot.platform.redis_client import redis_url

    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("REDIS_PASSWORD", "bundled-redis-password")
    reset_settings()
    port = free_port()
    try:
        config = write_redis_config(tmp_path / "redis.conf", tmp_path / "redis", port=port)
        assert config.stat().st_mode & 0o777 == 0o600
        url = redis_url()
        assert ":bundled-redis-password@127.0.0.1:" in url
    finally:
        reset_settings()
    proc = subprocess.Popen([redis_server_binary(), str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        anonymous = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=2)
        for _ in range(100):
            try:
                anonymous.ping()
                pytest.fail("Redis answered a client without the password")
            except redis.AuthenticationError:
                break
            except redis.ConnectionError as exc:
                if "NOAUTH" in str(exc) or "Authentication" in str(exc):
                    break
                time.sleep(0.05)
        with pytest.raises((redis.AuthenticationError, redis.ResponseError)):
            anonymous.set("k", "v")
        assert redis.Redis.from_url(url.replace(":6390/", f":{port}/")).ping() is True
        assert listening_addresses(port) <= LOOPBACK
    finally:
        stop(proc)


@pytest.mark.rasa
@pytest.mark.slow
@pytest.mark.skipif(trained_model() is None, reason="no trained Rasa model in models/ (make model)")
def test_rasa_api_refuses_calls_without_its_token_and_hides_it_from_ps(tmp_path):
    port = free_port()
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("")
    token = "rasa-api-token-for-this-test"
    env = dict(
        os.environ,
        RASA_AUTH_TOKEN=token,
        RASA_JWT_SECRET="rasa-jwt-secret-for-this-test",
        RASA_CHANNEL_SECRET="x",
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    proc = subprocess.Popen(
        [
            rasa_python(),  # as the launcher starts it: on the Rasa runtime
            "-m",
            "channels.rasa_server",
            "run",
            "--enable-api",
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "--model",
            trained_model(),
            "--endpoints",
            str(endpoints),
            "--credentials",
            str(ROOT / "credentials.yml"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert token not in Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode(errors="replace")
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/", proc, timeout=280)
        tracker = f"{base}/conversations/{PHONE.replace('+', '%2B')}/tracker"
        assert requests.get(tracker, timeout=30).status_code == 401
        assert requests.get(tracker, params={"token": "wrong"}, timeout=30).status_code == 401
        event = [{"event": "slot", "name": "verified", "value": True}]
        assert requests.post(tracker.replace("/tracker", "/tracker/events"), json=event, timeout=30).status_code == 401
        ok = requests.get(tracker, params={"token": token}, timeout=60)
        assert ok.status_code == 200 and ok.json()["slots"].get("verified") in (None, False)
        # the worker's way: a short-lived JWT in a header, no token in the URL
        from bot.conversation.rasa_client import auth_headers
        from bot.platform.config import get_settings

        settings = dataclasses.replace(get_settings(), rasa_jwt_secret="rasa-jwt-secret-for-this-test")
        assert requests.get(tracker, headers=auth_headers(settings), timeout=60).status_code == 200
        forged = dataclasses.replace(settings, rasa_jwt_secret="another-secret")
        assert requests.get(tracker, headers=auth_headers(forged), timeout=60).status_code == 401
        expired = auth_headers(settings, now=time.time() - 3600)
        assert requests.get(tracker, headers=expired, timeout=60).status_code == 401
        assert listening_addresses(port) <= LOOPBACK
    finally:
        stop(proc)
