"""HTTP doubles and fixtures for the messaging edge: a fake Rasa ``recobra`` channel, a fake Twilio
Messages API (the real twilio SDK talks to it), signed webhook helpers, and a running queue worker.

Import the fixtures into a test module (``from tests.worker.doubles import rasa_double, ...``).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest

CHANNEL_SECRET = "test-channel-secret"
TWILIO_TOKEN = "test-twilio-token"
PUBLIC_BASE_URL = "http://localhost:8000"


class HttpDouble:
    """A tiny threaded HTTP server on 127.0.0.1; ``handle(method, path, headers, body) -> (status, dict)``."""

    def __init__(self, handle: Callable[[str, str, dict, bytes], tuple[int, Any]]) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _do(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, payload = outer.handle(self.command, self.path, dict(self.headers), body)
                data = json.dumps(payload, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the caller gave up (a killed worker): nothing to tell it

            do_GET = do_POST = _do

            def log_message(self, *args: Any) -> None:
                pass

        self.handle = handle
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        # shutdown() waits for the loop's next poll: 0.05 s, not the default 0.5 s after every test
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeRasa:
    """Rasa's ``recobra`` channel as the worker sees it: echoes, records calls, can be 'down'."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[dict] = []
        self.started: list[dict] = []
        self.turns: dict[str, dict] = {}
        self.down = False
        self.refused = 0
        self.reject: set[str] = set()  # messages answered 400 (a persistent, non-transient failure)
        self.delay = delay
        self.status_delay = 0.0  # how long GET /status takes (a Rasa too slow for the readiness probe)
        self.lock = threading.Lock()
        self.http = HttpDouble(self._handle)
        self.url = self.http.url
        self.reply: Callable[[dict], list[dict]] = lambda p: [
            {"recipient_id": p["sender"], "text": f"eco: {p['message']}"}
        ]

    def _handle(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, Any]:
        if path == "/status" and method == "GET":  # readiness (bot/conversation/rasa_client.ping): the API's JWT
            if not headers.get("Authorization", "").startswith("Bearer "):
                return 401, {"error": "unauthorized"}
            if self.status_delay:
                time.sleep(self.status_delay)
            return (503, {"error": "down"}) if self.down else (200, {"model_file": "fake.tar.gz"})
        if path != "/webhooks/recobra/webhook" or method != "POST":
            return 404, {"error": "not found"}
        if headers.get("X-Recobra-Secret") != CHANNEL_SECRET:
            return 401, {"error": {"code": "unauthorized"}}
        if self.down:
            self.refused += 1
            return 503, {"error": {"code": "action_server_unavailable"}}
        payload = json.loads(body)
        if payload.get("message") in self.reject:
            return 400, {"error": {"code": "bad_request", "message": "rejected"}}
        message_id = (payload.get("metadata") or {}).get("message_id")
        with self.lock:
            self.started.append(payload)
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.calls.append(payload)
            if message_id in self.turns:  # like the real channel: a turn already run is replayed
                return 200, {**self.turns[message_id], "replayed": True}
            result = {
                "messages": self.reply(payload),
                "parse": {
                    "intent": "greet",
                    "confidence": 0.93,
                    "entities": [{"entity": "date", "value": "2026-12-01", "start": 0, "end": 3}],
                },
            }
            if message_id:
                self.turns[message_id] = result
        return 200, {**result, "replayed": False}

    def close(self) -> None:
        self.http.close()


class FakeTwilio:
    """Twilio's Messages API: ``POST`` (create) and ``GET`` (list) ``/2010-04-01/Accounts/{sid}/Messages.json``.

    ``script`` holds what to do with the next creates: an HTTP status (``429``, ``(400, {"code": 21211})``),
    ``"hang"`` (accept the message, then answer too late: the client times out) or ``"lost"`` (time out
    without accepting it); then 201 forever.
    """

    def __init__(self, hang_seconds: float = 1.5) -> None:
        self.requests: list[dict[str, list[str]]] = []
        self.created: list[dict[str, Any]] = []
        self.lists = 0
        self.script: list[Any] = []
        self.contents: list[dict[str, Any]] = []  # what the Content API was asked to create (JSON bodies)
        self.content_script: list[Any] = []  # statuses for the next content creates, then 201
        self.hang_seconds = hang_seconds
        self.lock = threading.Lock()
        self.http = HttpDouble(self._handle)
        self.url = self.http.url

    def _handle(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, Any]:
        if path.split("?")[0] == "/v1/Content" and method == "POST":  # content.twilio.com, rebased like the API
            return self._create_content(json.loads(body or b"{}"))
        if not path.split("?")[0].endswith("/Messages.json"):
            return 404, {"code": 20404, "message": "not found", "status": 404}
        if method == "GET":
            return self._list(path)
        form = parse_qs(body.decode(), keep_blank_values=True)
        with self.lock:
            self.requests.append(form)
            step = self.script.pop(0) if self.script else 201
        if step in ("hang", "lost"):
            if step == "hang":
                self._create(form)
            time.sleep(self.hang_seconds)
            return 500, {"code": 20500, "message": "too late", "status": 500}
        status, extra = step if isinstance(step, tuple) else (step, {})
        if status >= 400:
            code = extra.get("code", 20429 if status == 429 else 20500)
            return status, {
                "code": code,
                "message": extra.get("message", "error"),
                "status": status,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
            }
        return 201, self._create(form)

    def _create_content(self, request: dict[str, Any]) -> tuple[int, Any]:
        with self.lock:
            self.contents.append(request)
            step = self.content_script.pop(0) if self.content_script else 201
        if step >= 400:
            return step, {"code": 20001 if step < 500 else 20500, "message": "refused", "status": step}
        return 201, {"sid": "HX" + secrets.token_hex(16), "friendly_name": request.get("friendly_name")}

    def _create(self, form: dict[str, list[str]]) -> dict[str, Any]:
        from datetime import datetime, timezone
        from email.utils import format_datetime

        message = {
            "sid": "SM" + secrets.token_hex(16),
            "status": "queued",
            "to": form.get("To", [""])[0],
            "from": form.get("From", [""])[0],
            "body": form.get("Body", [None])[0],
            "error_code": None,
            "error_message": None,
            "num_segments": "1",
            "direction": "outbound-api",
            "date_created": format_datetime(datetime.now(timezone.utc)),
        }
        with self.lock:
            self.created.append(message)
        return message

    def _list(self, path: str) -> tuple[int, Any]:
        query = parse_qs(path.partition("?")[2])
        with self.lock:
            self.lists += 1
            found = [
                m
                for m in reversed(self.created)
                if m["to"] == query.get("To", [m["to"]])[0] and m["from"] == query.get("From", [m["from"]])[0]
            ]
        return 200, {
            "messages": found,
            "first_page_uri": path,
            "next_page_uri": None,
            "previous_page_uri": None,
            "page": 0,
            "page_size": 50,
            "start": 0,
            "end": len(found),
            "uri": path,
        }

    def close(self) -> None:
        self.http.close()


def sign(url: str, params: dict[str, str], token: str = TWILIO_TOKEN) -> str:
    from twilio.request_validator import RequestValidator

    return RequestValidator(token).compute_signature(url, params)


def inbound_params(
    phone: str, body: str, channel: str = "whatsapp", sid: str | None = None, media: list[tuple[str, str]] | None = None
) -> dict[str, str]:
    sid = sid or "SM" + secrets.token_hex(16)
    frm = f"whatsapp:{phone}" if channel == "whatsapp" else phone
    to = "whatsapp:+15005550006" if channel == "whatsapp" else "+15005550006"
    params = {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": "AC" + "1" * 32,
        "From": frm,
        "To": to,
        "Body": body,
        "NumMedia": str(len(media or [])),
    }
    for i, (url, ctype) in enumerate(media or []):
        params[f"MediaUrl{i}"] = url
        params[f"MediaContentType{i}"] = ctype
    return params


def post_inbound(client, params: dict[str, str], signature: str | None = None, path: str = "/webhooks/twilio/messages"):
    signature = signature if signature is not None else sign(PUBLIC_BASE_URL + path, params)
    return client.post(
        path,
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )


def set_env(**values: str | None) -> None:
    from bot.platform.config import reset_settings

    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    reset_settings()


@pytest.fixture()
def rasa_double() -> Iterator[FakeRasa]:
    rasa = FakeRasa()
    previous = os.environ.get("RASA_URL")
    set_env(RASA_URL=rasa.url)
    yield rasa
    set_env(RASA_URL=previous)
    rasa.close()


@pytest.fixture()
def twilio_double() -> Iterator[FakeTwilio]:
    twilio = FakeTwilio()
    yield twilio
    twilio.close()


@pytest.fixture()
def sandbox_provider(redis_client):
    """The sandbox provider with fast status callbacks, used for every send in the test."""
    from bot.providers.factory import set_messaging_provider
    from bot.providers.sandbox_messaging import SandboxMessaging

    provider = SandboxMessaging(delays=(0.05, 0.1, 0.15))
    set_messaging_provider(provider)
    yield provider
    set_messaging_provider(None)


@pytest.fixture()
def run_worker(redis_client):
    """Start a queue worker (threads, one per partition) running the real job handlers."""
    from bot.platform.queue import QueueWorker
    from bot.platform.redis_client import get_queue
    from bot.worker import jobs

    jobs.load_handlers()
    workers = []

    def start(consumer: str = "test-worker", lease_ms: int = 2_000) -> QueueWorker:
        worker = QueueWorker(get_queue(), jobs.dispatch, consumer=consumer, lease_ms=lease_ms, block_ms=100)
        worker.start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop(5)


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout}s")
